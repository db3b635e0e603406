"""The price cache: daily bars and quotes in the database, filled from a provider only where it has gaps.

`PriceStore` is the one entry point. Reads (`read_bars`, `latest_prices`, `coverage`) never
touch the network and are what pages use (`price_reads`). Fills (`get_history`, `fill`,
`refresh_quotes`) run in background work: they compute the gaps from `price_coverage` and the
XNYS calendar and fetch them under a single-flight lock (`price_fills`), which validates
(`bar_validation`) and upserts bars together with their coverage in one transaction
(`price_writes`). A failing provider never raises out of a fill: the tickers concerned keep what
they had and carry the error, which the freshness badge then reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from dashapp.clock import Clock
from dashapp.db.engine import Database
from dashapp.market import price_reads, price_writes
from dashapp.market.calendar import MarketCalendar
from dashapp.market.errors import Failure
from dashapp.market.fetch_lock import FetchLocks
from dashapp.market.freshness import Freshness, FreshnessPolicy
from dashapp.market.gaps import Gap, find_gaps
from dashapp.market.price_fills import FillReport, PriceFill
from dashapp.market.price_reads import CoverageRow
from dashapp.market.providers import MarketDataProvider
from dashapp.telemetry.counters import Counters


@dataclass
class HistoryResult:
    """Bars for the asked range plus each ticker's freshness and any fetch error."""

    bars: pd.DataFrame
    freshness: dict[str, Freshness]
    errors: dict[str, Failure] = field(default_factory=dict)


def normalize_tickers(tickers: Iterable[str]) -> list[str]:
    """Upper-cased, stripped, de-duplicated, in first-seen order."""
    return list(dict.fromkeys(t.strip().upper() for t in tickers if t and t.strip()))


class PriceStore:
    """The one entry point to stored prices: reads for pages, fills for background work.

    Tickers may come as a user typed them: they are normalized here, once."""

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
        return price_reads.read_coverage(self.db, names)

    def read_bars(self, tickers: Iterable[str], start: date, end: date) -> pd.DataFrame:
        """Stored bars of `tickers` from `start` to `end` inclusive, long form, sorted."""
        return price_reads.read_bars(self.db, normalize_tickers(tickers), start, end)

    def latest_prices(self, tickers: Iterable[str]) -> pd.DataFrame:
        """The latest stored price of each ticker with provenance and freshness.

        Columns: price, previous_close, as_of, fetched_at, source, state, reason, last_error.
        A quote newer than the last stored close wins; otherwise the last close, with the close
        before it as previous close. Tickers with nothing stored get NaN prices and `missing`.
        """
        result = price_reads.latest_prices(self.db, self.calendar, normalize_tickers(tickers))
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
            return self._fill().gaps(gaps)

    def refresh_quotes(self, tickers: Iterable[str]) -> FillReport:
        """Fetch the latest quote of every ticker (one batched call) and store them."""
        return self._fill().quotes(normalize_tickers(tickers))

    def evict(self, ticker: str) -> None:
        """Forget everything stored about `ticker`; the next fill fetches it from scratch."""
        name = normalize_tickers([ticker])[0]
        with self.locks.hold([name]), self.db.session() as session:
            price_writes.forget(session, name)

    # ----- internals -------------------------------------------------------------------------

    def _gaps(self, tickers: Sequence[str], start: date, end: date) -> list[Gap]:
        states = price_reads.coverage_states(self.db, tickers)
        return find_gaps(
            tickers, states, start, end, self.calendar, self.clock.now(), self.heal_sessions
        )

    def _fill(self) -> PriceFill:
        # Built per fill, not once: the app wraps `provider` after the store is made (timing),
        # and tests swap it.
        return PriceFill(self.db, self.provider, self.calendar, self.clock)
