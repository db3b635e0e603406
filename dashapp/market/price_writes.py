"""Writes of the price cache: upserts of bars and quotes, and the coverage that says what is stored.

Each takes the caller's session, so that bars and their coverage commit in one transaction;
upserts use the database's own ON CONFLICT (PostgreSQL or SQLite).
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashapp.db.engine import Database
from dashapp.db.models import PriceBar, PriceCoverage
from dashapp.db.models import Quote as QuoteRow
from dashapp.market.bars import BAR_COLUMNS, Quote
from dashapp.market.errors import Failure

UPSERT_CHUNK = 5_000


def write_bars(
    session: Session, dialect: str, bars: pd.DataFrame, provisional: bool | np.ndarray
) -> None:
    """Upsert `bars`, flagged provisional as one flag for all or one per bar."""
    if bars.empty:
        return
    records = bars.assign(date=bars["date"].dt.date, provisional=provisional)[
        [*BAR_COLUMNS, "provisional"]
    ].to_dict("records")
    statement = _insert(dialect, PriceBar)
    upsert = statement.on_conflict_do_update(
        index_elements=["ticker", "date"],
        set_={
            name: getattr(statement.excluded, name) for name in (*BAR_COLUMNS[2:], "provisional")
        },
    )
    for offset in range(0, len(records), UPSERT_CHUNK):
        session.execute(upsert, records[offset : offset + UPSERT_CHUNK])


def upsert_quotes(session: Session, dialect: str, quotes: list[Quote]) -> None:
    """Store each ticker's latest quote, replacing the one it had."""
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
    statement = _insert(dialect, QuoteRow)
    upsert = statement.on_conflict_do_update(
        index_elements=["ticker"],
        set_={name: getattr(statement.excluded, name) for name in records[0] if name != "ticker"},
    )
    session.execute(upsert, records)


def advance_coverage(
    session: Session,
    ticker: str,
    start: date,
    covered_to: date,
    now: datetime,
    source: str,
    split_basis: date | None = None,
) -> None:
    """Widen `ticker`'s covered range to [start, covered_to], clear its error, bump its version."""
    row = session.get(PriceCoverage, ticker)
    if row is None:
        row = PriceCoverage(ticker=ticker, consecutive_errors=0, data_version=0)
        session.add(row)
    row.first_date = start if row.first_date is None else min(row.first_date, start)
    row.last_date = covered_to if row.last_date is None else max(row.last_date, covered_to)
    if split_basis is not None and (row.split_basis is None or split_basis > row.split_basis):
        row.split_basis = split_basis
    row.fetched_at = now
    row.source = source
    row.last_error = None
    row.consecutive_errors = 0
    row.data_version = (row.data_version or 0) + 1


def clear_history(session: Session, tickers: list[str]) -> None:
    """Delete the bars of `tickers` and their covered range, before a refetch on a new basis."""
    session.execute(delete(PriceBar).where(PriceBar.ticker.in_(tickers)))
    session.execute(
        update(PriceCoverage)
        .where(PriceCoverage.ticker.in_(tickers))
        .values(first_date=None, last_date=None, split_basis=None)
    )


def record_errors(db: Database, errors: dict[str, Failure], now: datetime, source: str) -> None:
    """Keep each failed ticker's failure text and count its consecutive failures."""
    if not errors:
        return
    with db.session() as session:
        for ticker, reason in errors.items():
            row = session.get(PriceCoverage, ticker)
            if row is None:
                row = PriceCoverage(
                    ticker=ticker, source=source, consecutive_errors=0, data_version=0
                )
                session.add(row)
            row.last_error = reason[:500]
            row.last_error_at = now
            row.consecutive_errors = (row.consecutive_errors or 0) + 1


def forget(session: Session, ticker: str) -> None:
    """Delete everything stored about `ticker`: bars, coverage and quote."""
    session.execute(delete(PriceBar).where(PriceBar.ticker == ticker))
    session.execute(delete(PriceCoverage).where(PriceCoverage.ticker == ticker))
    session.execute(delete(QuoteRow).where(QuoteRow.ticker == ticker))


def _insert(dialect: str, table: type) -> sqlite.Insert | postgresql.Insert:
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return dialect_insert(table)
