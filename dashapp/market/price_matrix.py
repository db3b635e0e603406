"""Stored bars as dates x tickers matrices (a columnar read model), kept in the shared cache.

A comparison or a backtest needs closes, dividends and split ratios (a backtest also opens, highs
and lows) as sessions x tickers. Reading them as long rows and pivoting costs far more than the
arithmetic on them, so the read model keeps them columnar at two levels, both keyed by the
price-data version (coverage `data_version`, `last_date`, `fetched_at`), so a hit is always right:

- a ticker's whole stored history: one array of days and one array per field. A comparison with
  a new benchmark set reads only the tickers it has not read before;
- the matrix of a set of at least SHARED_MATRIX_TICKERS tickers over a window: repeating a
  question is one cache read instead of an assembly.

Each process also keeps the matrices and columns it used last in memory (up to MEMORY_BYTES,
read-only so no caller can change what the next one reads): a process that answered lately
reads nothing at all.

A ticker without a coverage row (bars written outside the store) is read from the database every
time: nothing would tell its cached columns apart from newer ones.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import numpy as np
import pandas as pd

from dashapp.market.price_reads import CoverageRow
from dashapp.market.price_store import PriceStore, normalize_tickers

FIELDS = ("open", "high", "low", "close", "dividend", "split_ratio")
COMPARISON_FIELDS = ("close", "dividend", "split_ratio")
# Bump when the cached layout changes, so an old process's entries are never read as new ones.
LAYOUT = 1
# The expiry only frees space: a new price makes a new key.
CACHE_SECONDS = 7 * 24 * 3600
# Per process: 500 tickers x 25 years of three fields is about 80 MB.
MEMORY_BYTES = 160 * 1024 * 1024
# Assembling a matrix from columns in memory takes about 1 ms for 25 tickers and 150 ms for
# 500: a small set is cheaper to assemble again than to write to and read from the shared cache.
SHARED_MATRIX_TICKERS = 64


class KeyValueCache(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, expire: float | None = None) -> Any: ...


@dataclass(frozen=True)
class TickerColumns:
    """One ticker's stored bars: `days` (int64 days since 1970-01-01, ascending) and `by_field`
    (len(FIELDS) x days, float64)."""

    days: np.ndarray
    by_field: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.days.nbytes + self.by_field.nbytes

    def held_arrays(self) -> tuple[np.ndarray, ...]:
        return self.days, self.by_field


@dataclass(frozen=True)
class PriceMatrix:
    """Bars of `tickers` (sorted; only those with a bar in the window) on `dates` (every day any
    of them has a bar, ascending), one dates x tickers array per field: NaN where a ticker has
    no bar that day, exactly as pivoting the long bars gives."""

    dates: pd.DatetimeIndex
    tickers: tuple[str, ...]
    arrays: dict[str, np.ndarray]

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.arrays.values())

    def held_arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(self.arrays.values())

    @property
    def empty(self) -> bool:
        return not self.tickers

    def frame(self, field: str, tickers: Sequence[str] | None = None) -> pd.DataFrame:
        """The field as a DataFrame (dates x tickers); `tickers` picks and orders columns."""
        # No copy: the arrays are read-only, and pandas copies before any write.
        frame = pd.DataFrame(
            self.arrays[field],
            index=self.dates.rename("date"),
            columns=pd.Index(self.tickers, name="ticker"),
            copy=False,
        )
        return frame if tickers is None else frame[list(tickers)]

    def spans(self) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
        """Each ticker's first and last day with a bar in the window."""
        if self.empty:
            return {}
        present = ~np.isnan(self.arrays["close"])
        first = present.argmax(axis=0)
        last = len(self.dates) - 1 - present[::-1].argmax(axis=0)
        return {
            ticker: (self.dates[first[j]], self.dates[last[j]])
            for j, ticker in enumerate(self.tickers)
        }


def price_matrix(
    store: PriceStore,
    cache: KeyValueCache,
    tickers: Iterable[str],
    start: date,
    end: date,
    fields: Sequence[str] = COMPARISON_FIELDS,
) -> PriceMatrix:
    """The stored bars of `tickers` from `start` to `end` inclusive, as matrices of `fields`."""
    names = sorted(normalize_tickers(tickers))
    coverage = store.coverage(names)
    versions = {ticker: _version(coverage[ticker]) for ticker in names if ticker in coverage}
    matrix_key = None
    if names and len(versions) == len(names):
        raw = json.dumps(
            [LAYOUT, names, [versions[t] for t in names], str(start), str(end), fields]
        )
        matrix_key = "price_matrix:" + hashlib.sha256(raw.encode()).hexdigest()[:32]
        hit = _read_through(cache, matrix_key)
        if hit is not None:
            return hit
    columns: dict[str, TickerColumns] = {}
    for ticker, version in versions.items():
        hit = _read_through(cache, _columns_key(ticker, version))
        if hit is not None:
            columns[ticker] = hit
    missing = [ticker for ticker in names if ticker not in columns]
    if missing:
        read = _read_columns(store, missing)
        for ticker, column in read.items():
            if ticker in versions:
                _write_through(cache, _columns_key(ticker, versions[ticker]), column, share=True)
        columns.update(read)
    matrix = _assemble(names, columns, start, end, fields)
    if matrix_key is not None:
        _write_through(cache, matrix_key, matrix, share=len(names) >= SHARED_MATRIX_TICKERS)
    return matrix


def _read_through(cache: KeyValueCache, key: str) -> Any:
    """`key` from this process's memory, else from the shared cache (then kept in memory)."""
    hit = _recent.get(_memory_key(cache, key))
    if hit is None:
        hit = cache.get(key)
        if hit is not None:
            _recent.put(_memory_key(cache, key), hit)
    return hit


def _write_through(
    cache: KeyValueCache, key: str, value: PriceMatrix | TickerColumns, *, share: bool
) -> None:
    if share:
        cache.set(key, value, expire=CACHE_SECONDS)
    _recent.put(_memory_key(cache, key), value)


def _memory_key(cache: KeyValueCache, key: str) -> str:
    """The process's memory holds entries of every cache it has read; a cache's directory tells
    them apart (tests, or a demo and a real site in one process)."""
    return f"{getattr(cache, 'directory', id(cache))}:{key}"


class _RecentArrays:
    """The matrices and ticker columns this process used last, up to a total size; the least
    recently used go first."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.entries: OrderedDict[str, PriceMatrix | TickerColumns] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self.lock:
            matrix = self.entries.get(key)
            if matrix is not None:
                self.entries.move_to_end(key)
            return matrix

    def put(self, key: str, value: PriceMatrix | TickerColumns) -> None:
        for array in value.held_arrays():
            array.flags.writeable = False
        size = value.nbytes
        with self.lock:
            if key in self.entries or size > self.budget:
                return
            self.entries[key] = value
            self.size += size
            while self.size > self.budget:
                _, dropped = self.entries.popitem(last=False)
                self.size -= dropped.nbytes


_recent = _RecentArrays(MEMORY_BYTES)


def _version(row: CoverageRow) -> str:
    return f"{row.data_version}:{row.last_date}:{row.first_date}:{row.fetched_at}"


def _columns_key(ticker: str, version: str) -> str:
    return f"price_columns:{LAYOUT}:{ticker}:{version}"


def _read_columns(store: PriceStore, tickers: list[str]) -> dict[str, TickerColumns]:
    """Every stored bar of `tickers`, in one read, split into each ticker's columns."""
    bars = store.read_bars(tickers, date.min, date.max)
    if bars.empty:
        return {}
    days = bars["date"].to_numpy(dtype="datetime64[D]").astype("int64")
    values = bars[list(FIELDS)].to_numpy(dtype="float64").T
    # read_bars orders by ticker, then date: each ticker is one run of rows.
    names = bars["ticker"].to_numpy(dtype=object)
    starts = np.concatenate([[0], np.flatnonzero(names[1:] != names[:-1]) + 1])
    ends = np.append(starts[1:], len(bars))
    return {
        str(names[lo]): TickerColumns(days[lo:hi].copy(), np.ascontiguousarray(values[:, lo:hi]))
        for lo, hi in zip(starts, ends, strict=True)
    }


def _assemble(
    names: list[str],
    columns: dict[str, TickerColumns],
    start: date,
    end: date,
    fields: Sequence[str],
) -> PriceMatrix:
    first = np.datetime64(start, "D").astype("int64")
    last = np.datetime64(end, "D").astype("int64")
    rows = [FIELDS.index(field) for field in fields]
    kept: list[tuple[str, np.ndarray, np.ndarray]] = []
    for ticker in names:
        column = columns.get(ticker)
        if column is None:
            continue
        lo, hi = np.searchsorted(column.days, [first, last + 1])
        if hi > lo:
            kept.append((ticker, column.days[lo:hi], column.by_field[rows, lo:hi]))
    if not kept:
        empty = np.empty((0, 0))
        return PriceMatrix(
            pd.DatetimeIndex([], dtype="datetime64[ns]"), (), {f: empty for f in fields}
        )
    base = min(days[0] for _, days, _ in kept)
    present = np.zeros(max(days[-1] for _, days, _ in kept) - base + 1, dtype=bool)
    for _, days, _ in kept:
        present[days - base] = True
    union = np.flatnonzero(present) + base
    position = np.cumsum(present) - 1
    # fields x tickers x dates, so each ticker's block is one contiguous write; a field's
    # transpose is then a dates x tickers view with each ticker's column contiguous.
    out = np.full((len(fields), len(kept), len(union)), np.nan)
    for j, (_, days, values) in enumerate(kept):
        at = position[days - base]
        if len(at) == at[-1] - at[0] + 1:
            out[:, j, at[0] : at[-1] + 1] = values
        else:
            out[:, j, at] = values
    dates = pd.DatetimeIndex(union.astype("datetime64[D]").astype("datetime64[ns]"))
    return PriceMatrix(
        dates,
        tuple(ticker for ticker, _, _ in kept),
        {field: out[k].T for k, field in enumerate(fields)},
    )
