"""Reads of the price cache: coverage, stored bars and latest prices, from the database only.

They never touch the network, so pages may call them on the request path. Tickers come in
normalized (`price_store.normalize_tickers`); freshness badges are the store's to add.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, select

from dashapp.db.engine import Database
from dashapp.db.models import PriceBar, PriceCoverage
from dashapp.db.models import Quote as QuoteRow
from dashapp.market.bars import BAR_COLUMNS
from dashapp.market.calendar import MarketCalendar
from dashapp.market.errors import Failure
from dashapp.market.gaps import CoverageState


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


def read_coverage(db: Database, names: Sequence[str]) -> dict[str, CoverageRow]:
    """The coverage rows of `names` (non-empty) that exist, by ticker."""
    with db.engine.connect() as connection:
        rows = connection.execute(COVERAGE_QUERY, {"tickers": list(names)}).all()
    return {row.ticker: CoverageRow(*row) for row in rows}


def read_bars(db: Database, names: Sequence[str], start: date, end: date) -> pd.DataFrame:
    """Stored bars of `names` from `start` to `end` inclusive, long form, sorted."""
    columns = [getattr(PriceBar, name) for name in (*BAR_COLUMNS, "provisional")]
    query = (
        select(*columns)
        .where(PriceBar.ticker.in_(names), PriceBar.date >= start, PriceBar.date <= end)
        .order_by(PriceBar.ticker, PriceBar.date)
    )
    with db.engine.connect() as connection:
        rows = connection.execute(query).all()
    frame = _frame(rows, columns=[*BAR_COLUMNS, "provisional"])
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    return frame


def latest_prices(db: Database, calendar: MarketCalendar, names: Sequence[str]) -> pd.DataFrame:
    """The latest stored price of each of `names` with its provenance.

    Columns: price, previous_close, as_of, fetched_at, source, last_error. A quote newer than
    the last stored close wins; otherwise the last close, with the close before it as previous
    close. Tickers with nothing stored get NaN prices.
    """
    index = pd.Index(names, name="ticker", dtype="object")
    with db.engine.connect() as connection:
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
        wanted_dates = last_dates | {calendar.previous_session(day) for day in last_dates}
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
    bar_as_of = session_close_times(calendar, frame["bar_date"])
    quote_as_of = pd.to_datetime(frame["quote_as_of"], utc=True)
    use_quote = quote_as_of.notna() & (bar_as_of.isna() | (quote_as_of >= bar_as_of))
    quote_is_newer_session = use_quote & (quote_as_of > bar_as_of)
    result = pd.DataFrame(index=index)
    result["price"] = frame["quote_price"].where(use_quote, frame["bar_close"]).astype("float64")
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
    return result


def coverage_states(db: Database, tickers: Sequence[str]) -> dict[str, CoverageState]:
    """What gap finding needs of each covered ticker: its range and its oldest provisional bar."""
    if not tickers:
        return {}
    with db.engine.connect() as connection:
        coverage = connection.execute(
            select(PriceCoverage.ticker, PriceCoverage.first_date, PriceCoverage.last_date).where(
                PriceCoverage.ticker.in_(tickers), PriceCoverage.last_date.is_not(None)
            )
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
        ticker: CoverageState(first, last, oldest.get(ticker)) for ticker, first, last in coverage
    }


def last_closes(db: Database, coverage: dict[str, CoverageRow]) -> dict[str, float]:
    """The close stored for each covered ticker's last covered date."""
    pairs = [(t, row.last_date) for t, row in coverage.items() if row.last_date is not None]
    if not pairs:
        return {}
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(PriceBar.ticker, PriceBar.date, PriceBar.close).where(
                PriceBar.ticker.in_([t for t, _ in pairs]),
                PriceBar.date >= min(day for _, day in pairs),
            )
        ).all()
    wanted = dict(pairs)
    return {ticker: close for ticker, day, close in rows if wanted.get(ticker) == day}


def session_close_times(calendar: MarketCalendar, dates: pd.Series) -> pd.Series:
    """The UTC close instant of each session date (early closes included); NaT stays NaT."""
    as_dates = pd.to_datetime(dates)
    unique = as_dates.dropna().unique()
    closes = {day: calendar.session_close(day) for day in unique}
    return pd.to_datetime(as_dates.map(closes), utc=True)


def _frame(rows: Sequence[object], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame from result rows. Rows are made plain tuples first: pandas probes each
    SQLAlchemy Row for namedtuple attributes, which costs an exception per probe."""
    return pd.DataFrame([tuple(row) for row in rows], columns=list(columns))
