"""Fills of the price cache: the provider calls that close its gaps, and what they store.

A one-session tail gap is filled from a batch quote taken after that session's close; other gaps
are fetched as history, in batched calls grouped by range. Fetched bars are validated and
written together with their coverage in one transaction. A split newer than a ticker's stored
basis re-bases its whole history, so that history is fetched again from its first date. A failing
provider never raises out of a fill: the tickers concerned keep what they had and carry the
failure, which the freshness badge then reports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from dashapp.clock import Clock
from dashapp.db.engine import Database
from dashapp.market import price_writes
from dashapp.market.bar_validation import valid_quote, validate_bars
from dashapp.market.bars import BAR_COLUMNS, HistoryBatch, Quote
from dashapp.market.calendar import MarketCalendar
from dashapp.market.errors import Failure, FailureKind, ProviderError
from dashapp.market.gaps import Gap, group_by_range
from dashapp.market.price_reads import last_closes, read_coverage, session_close_times
from dashapp.market.providers import MarketDataProvider

log = logging.getLogger(__name__)

# A quote's previous close this far from our stored close means the history was re-based (split).
CORPORATE_ACTION_TOLERANCE = 0.2
PROVISIONAL_FOR = timedelta(days=1)


@dataclass
class FillReport:
    """The tickers a fetch stored, and each failed one's failure: its stored text, with its kind."""

    fetched: list[str] = field(default_factory=list)
    errors: dict[str, Failure] = field(default_factory=dict)


class PriceFill:
    """One fill's provider calls and writes, with the store's database, provider and calendar.

    Tickers come in normalized; the caller holds the single-flight lock where one is needed.
    """

    def __init__(
        self, db: Database, provider: MarketDataProvider, calendar: MarketCalendar, clock: Clock
    ) -> None:
        self.db = db
        self.provider = provider
        self.calendar = calendar
        self.clock = clock

    def gaps(self, gaps: list[Gap]) -> FillReport:
        """Fetch `gaps`: one-session tails from quotes where possible, the rest as history."""
        report = FillReport()
        by_quote = [gap for gap in gaps if gap.kind == "tail" and gap.single_session]
        by_history = [gap for gap in gaps if gap not in by_quote]
        if by_quote:
            by_history.extend(self._fill_from_quotes(by_quote, report))
        for (start, end), group in group_by_range(by_history).items():
            self._fill_from_history(group, start, end, report, replace=False)
        return report

    def quotes(self, names: list[str]) -> FillReport:
        """Fetch the latest quote of every ticker (one batched call) and store them."""
        report = FillReport()
        if not names:
            return report
        try:
            batch = self.provider.quotes(names)
        except ProviderError as error:
            report.errors = dict.fromkeys(names, Failure.of(error))
            self._record_errors(report.errors)
            return report
        quotes = [quote for quote in batch.quotes.values() if valid_quote(quote)]
        invalid = {
            ticker: Failure(FailureKind.BAD_UPSTREAM_DATA, "provider returned an invalid price")
            for ticker, quote in batch.quotes.items()
            if not valid_quote(quote)
        }
        with self.db.session() as session:
            price_writes.upsert_quotes(session, self.db.dialect, quotes)
        report.fetched = [quote.ticker for quote in quotes]
        report.errors = {**{t: Failure.of(e) for t, e in batch.errors.items()}, **invalid}
        self._record_errors(report.errors)
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
            coverage = read_coverage(self.db, rebased)
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
        coverage = read_coverage(self.db, [str(t) for t in splits["ticker"].unique()])
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
        coverage = read_coverage(self.db, tickers)
        stored_closes = last_closes(self.db, coverage)
        now = self.clock.now()
        rows, quotes, leftovers = [], [], []
        for gap in gaps:
            quote = batch.quotes.get(gap.ticker)
            if quote is None or not valid_quote(quote) or not self._quote_closes(quote, gap.end):
                leftovers.append(gap)
                continue
            quotes.append(quote)
            stored_close = stored_closes.get(gap.ticker)
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
                price_writes.upsert_quotes(session, self.db.dialect, quotes)
                price_writes.write_bars(session, self.db.dialect, bars, provisional=True)
                for row in rows:
                    price_writes.advance_coverage(
                        session,
                        row["ticker"],
                        row["date"].date(),
                        row["date"].date(),
                        now,
                        self.provider.name,
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
                price_writes.clear_history(session, written)
            price_writes.write_bars(
                session, self.db.dialect, bars, provisional=self._provisional(bars, now)
            )
            last_seen = bars.groupby("ticker")["date"].max()
            newest_split = bars[bars["split_ratio"] != 1.0].groupby("ticker")["date"].max()
            for ticker in written:
                covered_to = min(end, last_seen[ticker].date())
                if ticker in first_bad:
                    covered_to = min(covered_to, self.calendar.previous_session(first_bad[ticker]))
                split_day = newest_split.get(ticker)
                price_writes.advance_coverage(
                    session,
                    ticker,
                    start,
                    covered_to,
                    now,
                    self.provider.name,
                    split_basis=split_day.date() if split_day is not None else None,
                )
        return written

    def _provisional(self, bars: pd.DataFrame, now: datetime) -> np.ndarray:
        """Bars of sessions that closed less than PROVISIONAL_FOR ago: the provider may still
        correct them, so a later fill fetches them again."""
        closes = session_close_times(self.calendar, bars["date"])
        return (closes > now - PROVISIONAL_FOR).to_numpy()

    def _record_errors(self, errors: dict[str, Failure]) -> None:
        price_writes.record_errors(self.db, errors, self.clock.now(), self.provider.name)


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
