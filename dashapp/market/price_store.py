"""The price cache: daily bars and quotes in the database, filled from a provider only where it has gaps.

Reads (`read_bars`, `latest_prices`, `coverage`) never touch the network and are what pages use.
Fills (`get_history`, `refresh_quotes`) run in background work: they compute the gaps from
`price_coverage` and the XNYS calendar, fetch them in batched calls grouped by range under a
single-flight lock, validate, and upsert bars together with their coverage in one transaction.
A failing provider never raises out of a fill: the tickers concerned keep what they had and
carry the error, which the freshness badge then reports.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashapp.clock import Clock
from dashapp.db.engine import Database
from dashapp.db.models import PriceBar, PriceCoverage
from dashapp.db.models import Quote as QuoteRow
from dashapp.market.bars import BAR_COLUMNS, PRICE_COLUMNS, HistoryBatch, Quote
from dashapp.market.calendar import MarketCalendar
from dashapp.market.errors import Failure, FailureKind, ProviderError
from dashapp.market.fetch_lock import FetchLocks
from dashapp.market.freshness import Freshness, FreshnessPolicy
from dashapp.market.gaps import CoverageState, Gap, find_gaps, group_by_range
from dashapp.market.providers import MarketDataProvider
from dashapp.telemetry.counters import Counters

log = logging.getLogger(__name__)

# A quote's previous close this far from our stored close means the history was re-based (split).
CORPORATE_ACTION_TOLERANCE = 0.2
PROVISIONAL_FOR = timedelta(days=1)
UPSERT_CHUNK = 5_000


@dataclass(frozen=True)
class CoverageRow:
    ticker: str
    first_date: date | None
    last_date: date | None
    split_basis: date | None
    fetched_at: datetime | None
    source: str
    last_error: str | None
    consecutive_errors: int
    data_version: int

    @property
    def failure(self) -> Failure | None:
        """The last fetch's failure with its kind (`last_error` is its stored text)."""
        return Failure.parse(self.last_error) if self.last_error else None


# Pages ask for coverage several times per request: plain rows, not ORM objects, from a
# statement built once (building it again each time cost more than running it).
COVERAGE_QUERY = select(
    *(getattr(PriceCoverage, column.name) for column in fields(CoverageRow))
).where(PriceCoverage.ticker.in_(bindparam("tickers", expanding=True)))


@dataclass
class HistoryResult:
    """Bars for the asked range plus each ticker's freshness and any fetch error."""

    bars: pd.DataFrame
    freshness: dict[str, Freshness]
    errors: dict[str, Failure] = field(default_factory=dict)


@dataclass
class FillReport:
    """The tickers a fetch stored, and each failed one's failure: its stored text, with its kind."""

    fetched: list[str] = field(default_factory=list)
    errors: dict[str, Failure] = field(default_factory=dict)


def normalize_tickers(tickers: Iterable[str]) -> list[str]:
    """Upper-cased, stripped, de-duplicated, in first-seen order."""
    return list(dict.fromkeys(t.strip().upper() for t in tickers if t and t.strip()))


class PriceStore:
    def __init__(
        self,
        db: Database,
        provider: MarketDataProvider,
        calendar: MarketCalendar,
        clock: Clock,
        policy: FreshnessPolicy,
        locks: FetchLocks,
        counters: Counters,
        heal_sessions: int = 3,
    ) -> None:
        self.db = db
        self.provider = provider
        self.calendar = calendar
        self.clock = clock
        self.policy = policy
        self.locks = locks
        self.counters = counters
        self.heal_sessions = heal_sessions

    # ----- reads: database only, safe on the request path -------------------------------------

    def coverage(self, tickers: Iterable[str]) -> dict[str, CoverageRow]:
        names = normalize_tickers(tickers)
        if not names:
            return {}
        with self.db.engine.connect() as connection:
            rows = connection.execute(COVERAGE_QUERY, {"tickers": names}).all()
        return {row.ticker: CoverageRow(*row) for row in rows}

    def read_bars(self, tickers: Iterable[str], start: date, end: date) -> pd.DataFrame:
        """Stored bars of `tickers` from `start` to `end` inclusive, long form, sorted."""
        names = normalize_tickers(tickers)
        columns = [getattr(PriceBar, name) for name in (*BAR_COLUMNS, "provisional")]
        query = (
            select(*columns)
            .where(PriceBar.ticker.in_(names), PriceBar.date >= start, PriceBar.date <= end)
            .order_by(PriceBar.ticker, PriceBar.date)
        )
        with self.db.engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = _frame(rows, columns=[*BAR_COLUMNS, "provisional"])
        frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
        return frame

    def latest_prices(self, tickers: Iterable[str]) -> pd.DataFrame:
        """The latest stored price of each ticker with provenance and freshness.

        Columns: price, previous_close, as_of, fetched_at, source, state, reason, last_error.
        A quote newer than the last stored close wins; otherwise the last close, with the close
        before it as previous close. Tickers with nothing stored get NaN prices and `missing`.
        """
        names = normalize_tickers(tickers)
        index = pd.Index(names, name="ticker", dtype="object")
        with self.db.engine.connect() as connection:
            quotes = connection.execute(
                select(
                    QuoteRow.ticker,
                    QuoteRow.price,
                    QuoteRow.previous_close,
                    QuoteRow.as_of,
                    QuoteRow.fetched_at,
                    QuoteRow.source,
                ).where(QuoteRow.ticker.in_(names))
            ).all()
            coverage = connection.execute(
                select(
                    PriceCoverage.ticker,
                    PriceCoverage.last_date,
                    PriceCoverage.fetched_at,
                    PriceCoverage.source,
                    PriceCoverage.last_error,
                ).where(PriceCoverage.ticker.in_(names))
            ).all()
            last_dates = {row.last_date for row in coverage if row.last_date is not None}
            # The last stored close and the session's before it: a handful of distinct dates.
            wanted_dates = last_dates | {self.calendar.previous_session(day) for day in last_dates}
            recent_bars = connection.execute(
                select(PriceBar.ticker, PriceBar.date, PriceBar.close).where(
                    PriceBar.ticker.in_(names), PriceBar.date.in_(sorted(wanted_dates))
                )
            ).all()
        quote_frame = _frame(
            quotes,
            columns=[
                "ticker",
                "quote_price",
                "quote_previous",
                "quote_as_of",
                "quote_fetched",
                "quote_source",
            ],
        ).set_index("ticker")
        coverage_frame = _frame(
            coverage, columns=["ticker", "last_date", "bar_fetched", "bar_source", "last_error"]
        ).set_index("ticker")
        bars = _frame(recent_bars, columns=["ticker", "date", "close"])
        bars = bars.sort_values(["ticker", "date"])
        last_two = bars.groupby("ticker").tail(2)
        last_close = last_two.groupby("ticker").nth(-1).set_index("ticker")
        previous_close = last_two.groupby("ticker").nth(-2).set_index("ticker")["close"]

        frame = pd.DataFrame(index=index)
        frame = frame.join(quote_frame).join(coverage_frame)
        frame["bar_close"] = last_close["close"].reindex(index)
        frame["bar_date"] = last_close["date"].reindex(index)
        frame["bar_previous"] = previous_close.reindex(index)
        bar_as_of = self._close_times(frame["bar_date"])
        quote_as_of = pd.to_datetime(frame["quote_as_of"], utc=True)
        use_quote = quote_as_of.notna() & (bar_as_of.isna() | (quote_as_of >= bar_as_of))
        quote_is_newer_session = use_quote & (quote_as_of > bar_as_of)
        result = pd.DataFrame(index=index)
        result["price"] = (
            frame["quote_price"].where(use_quote, frame["bar_close"]).astype("float64")
        )
        result["previous_close"] = (
            frame["quote_previous"]
            .where(use_quote & frame["quote_previous"].notna(), np.nan)
            .fillna(frame["bar_close"].where(quote_is_newer_session))
            .fillna(frame["bar_previous"])
            .astype("float64")
        )
        result["as_of"] = quote_as_of.where(use_quote, bar_as_of)
        result["fetched_at"] = pd.to_datetime(
            frame["quote_fetched"].where(use_quote, frame["bar_fetched"]), utc=True
        )
        result["source"] = frame["quote_source"].where(use_quote, frame["bar_source"])
        result["last_error"] = frame["last_error"]
        badges = self.policy.latest_prices(self.clock.now(), result)
        return result.join(badges)

    def price_data_version(self, tickers: Iterable[str]) -> str:
        """A short digest that changes whenever stored prices of any of `tickers` change."""
        coverage = self.coverage(tickers)
        parts = [
            f"{ticker}:{row.data_version}:{row.last_date}"
            for ticker, row in sorted(coverage.items())
        ]
        return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]

    def history_freshness(self, tickers: Iterable[str]) -> dict[str, Freshness]:
        now = self.clock.now()
        coverage = self.coverage(tickers)
        result = {}
        for ticker in normalize_tickers(tickers):
            row = coverage.get(ticker)
            result[ticker] = self.policy.history(
                now,
                row.last_date if row else None,
                row.fetched_at if row else None,
                row.source if row else None,
                row.last_error if row else None,
            )
        return result

    def tickers_with_gaps(self, tickers: Iterable[str], start: date, end: date) -> list[str]:
        """Which of `tickers` a fill of [start, end] would fetch (a database read, no network)."""
        return sorted({gap.ticker for gap in self._gaps(normalize_tickers(tickers), start, end)})

    # ----- fills: may call the provider; run in background work ------------------------------

    def get_history(self, tickers: Iterable[str], start: date, end: date) -> HistoryResult:
        """Bars for [start, end], fetching only the gaps; never raises for a provider failure."""
        names = normalize_tickers(tickers)
        report = self.fill(names, start, end)
        return HistoryResult(
            bars=self.read_bars(names, start, end),
            freshness=self.history_freshness(names),
            errors=report.errors,
        )

    def fill(self, tickers: Sequence[str], start: date, end: date) -> FillReport:
        """Fetch whatever of [start, end] the cache lacks for `tickers` (single flight)."""
        names = normalize_tickers(tickers)
        gaps = self._gaps(names, start, end)
        missing = {gap.ticker for gap in gaps}
        self.counters.add("cache_hits", len(names) - len(missing))
        if not gaps:
            return FillReport()
        with self.locks.hold(missing):
            # Another thread or process may have filled these while we waited for the lock.
            gaps = self._gaps(sorted(missing), start, end)
            self.counters.add("cache_misses", len({gap.ticker for gap in gaps}))
            self.counters.add("cache_hits", len(missing) - len({gap.ticker for gap in gaps}))
            if not gaps:
                return FillReport()
            return self._fetch_gaps(gaps)

    def refresh_quotes(self, tickers: Iterable[str]) -> FillReport:
        """Fetch the latest quote of every ticker (one batched call) and store them."""
        names = normalize_tickers(tickers)
        report = FillReport()
        if not names:
            return report
        try:
            batch = self.provider.quotes(names)
        except ProviderError as error:
            report.errors = dict.fromkeys(names, Failure.of(error))
            self._record_errors(report.errors)
            return report
        quotes = [quote for quote in batch.quotes.values() if _valid_quote(quote)]
        invalid = {
            ticker: Failure(FailureKind.BAD_UPSTREAM_DATA, "provider returned an invalid price")
            for ticker, quote in batch.quotes.items()
            if not _valid_quote(quote)
        }
        with self.db.session() as session:
            self._upsert_quotes(session, quotes)
        report.fetched = [quote.ticker for quote in quotes]
        report.errors = {**{t: Failure.of(e) for t, e in batch.errors.items()}, **invalid}
        self._record_errors(report.errors)
        return report

    def evict(self, ticker: str) -> None:
        """Forget everything stored about `ticker`; the next fill fetches it from scratch."""
        name = normalize_tickers([ticker])[0]
        with self.locks.hold([name]), self.db.session() as session:
            session.execute(delete(PriceBar).where(PriceBar.ticker == name))
            session.execute(delete(PriceCoverage).where(PriceCoverage.ticker == name))
            session.execute(delete(QuoteRow).where(QuoteRow.ticker == name))

    # ----- internals -------------------------------------------------------------------------

    def _gaps(self, tickers: Sequence[str], start: date, end: date) -> list[Gap]:
        states = self._coverage_states(tickers)
        return find_gaps(
            tickers, states, start, end, self.calendar, self.clock.now(), self.heal_sessions
        )

    def _coverage_states(self, tickers: Sequence[str]) -> dict[str, CoverageState]:
        if not tickers:
            return {}
        with self.db.engine.connect() as connection:
            coverage = connection.execute(
                select(
                    PriceCoverage.ticker, PriceCoverage.first_date, PriceCoverage.last_date
                ).where(PriceCoverage.ticker.in_(tickers), PriceCoverage.last_date.is_not(None))
            ).all()
            provisional = connection.execute(
                select(PriceBar.ticker, PriceBar.date)
                .where(PriceBar.ticker.in_(tickers), PriceBar.provisional.is_(True))
                .order_by(PriceBar.date)
            ).all()
        oldest: dict[str, date] = {}
        for ticker, day in provisional:
            oldest.setdefault(ticker, day)
        return {
            ticker: CoverageState(first, last, oldest.get(ticker))
            for ticker, first, last in coverage
        }

    def _fetch_gaps(self, gaps: list[Gap]) -> FillReport:
        report = FillReport()
        by_quote = [gap for gap in gaps if gap.kind == "tail" and gap.single_session]
        by_history = [gap for gap in gaps if gap not in by_quote]
        if by_quote:
            by_history.extend(self._fill_from_quotes(by_quote, report))
        for (start, end), group in group_by_range(by_history).items():
            self._fill_from_history(group, start, end, report, replace=False)
        return report

    def _fill_from_history(
        self, tickers: list[str], start: date, end: date, report: FillReport, *, replace: bool
    ) -> None:
        try:
            batch = self.provider.history(tickers, start, end)
        except ProviderError as error:
            errors = dict.fromkeys(tickers, Failure.of(error))
            report.errors.update(errors)
            self._record_errors(errors)
            return
        rebased = [] if replace else self._rebased_by_split(batch)
        if rebased:
            # History of these tickers moved to a new split basis: refetch all of it, one request each.
            coverage = self.coverage(rebased)
            for ticker in rebased:
                first = coverage[ticker].first_date or start
                self._fill_from_history([ticker], first, end, report, replace=True)
            batch.bars = batch.bars[~batch.bars["ticker"].isin(rebased)]
        written = self._store_history(
            batch, [t for t in tickers if t not in rebased], start, end, replace
        )
        report.fetched.extend(written)
        errors = {ticker: Failure.of(error) for ticker, error in batch.errors.items()}
        no_bars = Failure(FailureKind.BAD_UPSTREAM_DATA, "provider returned no valid bars")
        for ticker in tickers:
            if ticker not in written and ticker not in errors and ticker not in rebased:
                errors[ticker] = no_bars
        report.errors.update(errors)
        self._record_errors(errors)

    def _rebased_by_split(self, batch: HistoryBatch) -> list[str]:
        """Tickers whose fetched bars hold a split newer than their stored split basis."""
        splits = batch.bars[batch.bars["split_ratio"] != 1.0]
        if splits.empty:
            return []
        coverage = self.coverage(splits["ticker"].unique())
        newest = splits.groupby("ticker")["date"].max()
        rebased = []
        for ticker, split_day in newest.items():
            row = coverage.get(ticker)
            if row is None or row.last_date is None:
                continue
            if row.split_basis is None or split_day.date() > row.split_basis:
                rebased.append(str(ticker))
        return rebased

    def _fill_from_quotes(self, gaps: list[Gap], report: FillReport) -> list[Gap]:
        """Fill one-session tail gaps from a batch quote; returns the gaps it could not fill."""
        tickers = [gap.ticker for gap in gaps]
        try:
            batch = self.provider.quotes(tickers)
        except ProviderError as error:
            log.info("batch quote failed (%s); falling back to history", error)
            return gaps
        coverage = self.coverage(tickers)
        last_closes = self._last_closes(tickers)
        now = self.clock.now()
        rows, quotes, leftovers = [], [], []
        for gap in gaps:
            quote = batch.quotes.get(gap.ticker)
            if quote is None or not _valid_quote(quote) or not self._quote_closes(quote, gap.end):
                leftovers.append(gap)
                continue
            quotes.append(quote)
            stored_close = last_closes.get(gap.ticker)
            if (
                stored_close is not None
                and quote.previous_close
                and abs(stored_close / quote.previous_close - 1.0) > CORPORATE_ACTION_TOLERANCE
            ):
                # A re-based previous close means a split we have not stored: refetch it all.
                first = coverage[gap.ticker].first_date or gap.start
                self._fill_from_history([gap.ticker], first, gap.end, report, replace=True)
                continue
            rows.append(_bar_from_quote(quote, gap.end))
        if rows:
            bars = pd.DataFrame(rows, columns=list(BAR_COLUMNS))
            with self.db.session() as session:
                self._upsert_quotes(session, quotes)
                self._write_bars(
                    session, bars, provisional_after=now - PROVISIONAL_FOR, force_provisional=True
                )
                for row in rows:
                    self._advance_coverage(
                        session, row["ticker"], row["date"].date(), row["date"].date(), now
                    )
            report.fetched.extend(row["ticker"] for row in rows)
        return leftovers

    def _quote_closes(self, quote: Quote, session_day: date) -> bool:
        """True when `quote` is the final price of `session_day` (taken at or after its close)."""
        close = self.calendar.session_close(session_day)
        stamp = pd.Timestamp(quote.as_of)
        return quote.market_state != "REGULAR" and close - pd.Timedelta(
            minutes=1
        ) <= stamp < close + pd.Timedelta(hours=8)

    def _last_closes(self, tickers: list[str]) -> dict[str, float]:
        coverage = self.coverage(tickers)
        pairs = [(t, row.last_date) for t, row in coverage.items() if row.last_date is not None]
        if not pairs:
            return {}
        with self.db.engine.connect() as connection:
            rows = connection.execute(
                select(PriceBar.ticker, PriceBar.date, PriceBar.close).where(
                    PriceBar.ticker.in_([t for t, _ in pairs]),
                    PriceBar.date >= min(day for _, day in pairs),
                )
            ).all()
        wanted = dict(pairs)
        return {ticker: close for ticker, day, close in rows if wanted.get(ticker) == day}

    def _store_history(
        self, batch: HistoryBatch, tickers: list[str], start: date, end: date, replace: bool
    ) -> list[str]:
        """Validate and write bars plus coverage in one transaction; returns the tickers written."""
        bars, first_bad = validate_bars(batch.bars[batch.bars["ticker"].isin(tickers)])
        now = self.clock.now()
        written = sorted(set(bars["ticker"]))
        if not written:
            return []
        with self.db.session() as session:
            if replace:
                session.execute(delete(PriceBar).where(PriceBar.ticker.in_(written)))
                session.execute(
                    update(PriceCoverage)
                    .where(PriceCoverage.ticker.in_(written))
                    .values(first_date=None, last_date=None, split_basis=None)
                )
            self._write_bars(session, bars, provisional_after=now - PROVISIONAL_FOR)
            last_seen = bars.groupby("ticker")["date"].max()
            newest_split = bars[bars["split_ratio"] != 1.0].groupby("ticker")["date"].max()
            for ticker in written:
                covered_to = min(end, last_seen[ticker].date())
                if ticker in first_bad:
                    covered_to = min(covered_to, self.calendar.previous_session(first_bad[ticker]))
                split_day = newest_split.get(ticker)
                self._advance_coverage(
                    session,
                    ticker,
                    start,
                    covered_to,
                    now,
                    split_basis=split_day.date() if split_day is not None else None,
                )
        return written

    def _write_bars(
        self,
        session: Session,
        bars: pd.DataFrame,
        provisional_after: datetime,
        force_provisional: bool = False,
    ) -> None:
        if bars.empty:
            return
        closes = self._close_times(bars["date"])
        records = bars.assign(
            date=bars["date"].dt.date,
            provisional=True if force_provisional else (closes > provisional_after).to_numpy(),
        )[[*BAR_COLUMNS, "provisional"]].to_dict("records")
        statement = self._insert(PriceBar)
        upsert = statement.on_conflict_do_update(
            index_elements=["ticker", "date"],
            set_={
                name: getattr(statement.excluded, name)
                for name in (*BAR_COLUMNS[2:], "provisional")
            },
        )
        for offset in range(0, len(records), UPSERT_CHUNK):
            session.execute(upsert, records[offset : offset + UPSERT_CHUNK])

    def _advance_coverage(
        self,
        session: Session,
        ticker: str,
        start: date,
        covered_to: date,
        now: datetime,
        split_basis: date | None = None,
    ) -> None:
        row = session.get(PriceCoverage, ticker)
        if row is None:
            row = PriceCoverage(ticker=ticker, consecutive_errors=0, data_version=0)
            session.add(row)
        row.first_date = start if row.first_date is None else min(row.first_date, start)
        row.last_date = covered_to if row.last_date is None else max(row.last_date, covered_to)
        if split_basis is not None and (row.split_basis is None or split_basis > row.split_basis):
            row.split_basis = split_basis
        row.fetched_at = now
        row.source = self.provider.name
        row.last_error = None
        row.consecutive_errors = 0
        row.data_version = (row.data_version or 0) + 1

    def _record_errors(self, errors: dict[str, Failure]) -> None:
        if not errors:
            return
        now = self.clock.now()
        with self.db.session() as session:
            for ticker, reason in errors.items():
                row = session.get(PriceCoverage, ticker)
                if row is None:
                    row = PriceCoverage(
                        ticker=ticker,
                        source=self.provider.name,
                        consecutive_errors=0,
                        data_version=0,
                    )
                    session.add(row)
                row.last_error = reason[:500]
                row.last_error_at = now
                row.consecutive_errors = (row.consecutive_errors or 0) + 1

    def _upsert_quotes(self, session: Session, quotes: list[Quote]) -> None:
        if not quotes:
            return
        records = [
            {
                "ticker": quote.ticker,
                "price": quote.price,
                "previous_close": quote.previous_close,
                "open": quote.open,
                "high": quote.high,
                "low": quote.low,
                "volume": quote.volume,
                "as_of": quote.as_of,
                "fetched_at": quote.fetched_at,
                "source": quote.source,
                "market_state": quote.market_state,
            }
            for quote in quotes
        ]
        statement = self._insert(QuoteRow)
        upsert = statement.on_conflict_do_update(
            index_elements=["ticker"],
            set_={
                name: getattr(statement.excluded, name) for name in records[0] if name != "ticker"
            },
        )
        session.execute(upsert, records)

    def _insert(self, table: type) -> sqlite.Insert | postgresql.Insert:
        dialect_insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table)

    def _close_times(self, dates: pd.Series) -> pd.Series:
        """The UTC close instant of each session date (early closes included); NaT stays NaT."""
        as_dates = pd.to_datetime(dates)
        unique = as_dates.dropna().unique()
        closes = {day: self.calendar.session_close(day) for day in unique}
        return pd.to_datetime(as_dates.map(closes), utc=True)


def _frame(rows: Sequence[object], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame from result rows. Rows are made plain tuples first: pandas probes each
    SQLAlchemy Row for namedtuple attributes, which costs an exception per probe."""
    return pd.DataFrame([tuple(row) for row in rows], columns=list(columns))


def validate_bars(bars: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, date]]:
    """Drop rows no market can have produced; returns the good rows and each ticker's first bad date.

    A row is bad when a price is NaN, infinite or not positive, or when low/high do not bracket
    the close. Duplicate (ticker, date) rows keep the last one the provider sent.
    """
    if bars.empty:
        return bars, {}
    prices = bars[list(PRICE_COLUMNS)].to_numpy(dtype="float64")
    finite = np.isfinite(prices).all(axis=1) & (prices > 0).all(axis=1)
    with np.errstate(invalid="ignore"):
        bracketed = (bars["low"] <= bars["close"] * (1 + 1e-9)) & (
            bars["close"] <= bars["high"] * (1 + 1e-9)
        )
    good = finite & bracketed.to_numpy()
    bad = bars[~good]
    first_bad = {str(t): d.date() for t, d in bad.groupby("ticker")["date"].min().items()}
    cleaned = bars[good].drop_duplicates(["ticker", "date"], keep="last")
    cleaned = cleaned.assign(
        volume=cleaned["volume"].fillna(0.0),
        dividend=cleaned["dividend"].fillna(0.0),
        split_ratio=cleaned["split_ratio"].replace(0.0, 1.0).fillna(1.0),
    )
    return cleaned, first_bad


def _bar_from_quote(quote: Quote, session_day: date) -> dict[str, object]:
    return {
        "ticker": quote.ticker,
        "date": pd.Timestamp(session_day),
        "open": quote.open or quote.price,
        "high": max(quote.high or quote.price, quote.price),
        "low": min(quote.low or quote.price, quote.price),
        "close": quote.price,
        "volume": quote.volume or 0.0,
        "dividend": 0.0,
        "split_ratio": 1.0,
    }


def _valid_quote(quote: Quote) -> bool:
    return math.isfinite(quote.price) and quote.price > 0
