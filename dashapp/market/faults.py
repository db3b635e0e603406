"""A provider wrapper that misbehaves on purpose, like Yahoo on a bad day, for tests and benchmarks.

Faults are drawn from a seeded generator, so a run is repeatable. Requests are charged the way
Yahoo charges them, one per ticker for history and one per 50 symbols for quotes, and never
twice: a call that fails (outcome http_429, timeout or error) is recorded here without reaching
the inner provider; a call that answers, even with missing tickers, bad prices or nothing at
all, went through the inner provider, which recorded it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from dashapp.clock import Clock
from dashapp.market.bars import HistoryBatch, QuoteBatch, empty_bars
from dashapp.market.errors import ProviderError, RateLimited, UpstreamTimeout
from dashapp.market.providers import (
    QUOTE_CHUNK,
    MarketDataProvider,
    RequestRecorder,
    UpstreamRequest,
)

BAD_PRICES = (np.nan, np.inf, 0.0, -1.0)


def too_many_requests() -> RateLimited:
    return RateLimited("HTTP 429 Too Many Requests")


@dataclass
class FaultRates:
    """Probabilities per call (per row or quote for bad prices), each between 0 and 1.

    A drawn rate limit lasts `rate_limit_burst` calls, as Yahoo keeps answering 429 for a while.
    """

    error: float = 0.0
    timeout: float = 0.0
    rate_limit: float = 0.0
    rate_limit_burst: int = 1
    partial: float = 0.0
    bad_price: float = 0.0
    empty: float = 0.0


class FaultyProvider:
    """Wraps any provider: the same interface and name, with faults, latency and honest charging."""

    def __init__(
        self,
        inner: MarketDataProvider,
        clock: Clock,
        recorder: RequestRecorder | None = None,
        *,
        rates: FaultRates | None = None,
        latency_s: float = 0.0,
        max_workers: int = 4,
        seed: int = 7,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.clock = clock
        self.recorder = recorder
        self.rates = rates or FaultRates()
        self.latency_s = latency_s
        self.max_workers = max_workers
        self._random = np.random.default_rng(seed)
        self._sleep = sleep
        self._scheduled: deque[ProviderError] = deque()
        self.calls = 0

    def fail_next(self, count: int, error: Callable[[], ProviderError] = too_many_requests) -> None:
        """Make exactly the next `count` calls raise `error()` (a rate limit unless told)."""
        self._scheduled.extend(error() for _ in range(count))

    def history(self, tickers: Sequence[str], start: date, end: date) -> HistoryBatch:
        names = list(tickers)
        self._before_call("history", names, charged=len(names))
        batch = self.inner.history(names, start, end)
        if self._chance(self.rates.empty):
            return HistoryBatch(empty_bars())
        missing = self._missing(names)
        if missing:
            batch.bars = batch.bars[~batch.bars["ticker"].isin(missing)].reset_index(drop=True)
            batch.errors = {t: e for t, e in batch.errors.items() if t not in missing}
        if self.rates.bad_price and not batch.bars.empty:
            batch.bars = self._corrupt(batch.bars)
        return batch

    def quotes(self, tickers: Sequence[str]) -> QuoteBatch:
        names = list(tickers)
        self._before_call("quote", names, charged=math.ceil(len(names) / QUOTE_CHUNK))
        batch = self.inner.quotes(names)
        if self._chance(self.rates.empty):
            return QuoteBatch()
        missing = self._missing(names)
        batch.quotes = {t: q for t, q in batch.quotes.items() if t not in missing}
        batch.errors = {t: e for t, e in batch.errors.items() if t not in missing}
        if self.rates.bad_price:
            for ticker, quote in batch.quotes.items():
                if self._chance(self.rates.bad_price):
                    bad = float(self._random.choice(BAD_PRICES))
                    batch.quotes[ticker] = dataclasses.replace(quote, price=bad)
        return batch

    def _before_call(self, kind: str, tickers: list[str], charged: int) -> None:
        self.calls += 1
        # Yahoo answers a batch through a few parallel connections: latency per round of them.
        if self.latency_s:
            self._sleep(self.latency_s * math.ceil(max(charged, 1) / self.max_workers))
        failure = self._scheduled.popleft() if self._scheduled else self._random_failure()
        if failure is None:
            return
        if isinstance(failure, RateLimited):
            outcome = "http_429"
        elif isinstance(failure, UpstreamTimeout):
            outcome = "timeout"
        else:
            outcome = "error"
        self._charge(kind, tickers, outcome)
        raise failure

    def _random_failure(self) -> ProviderError | None:
        draw = self._random.random()
        if draw < self.rates.rate_limit:
            self.fail_next(self.rates.rate_limit_burst - 1)
            return too_many_requests()
        draw -= self.rates.rate_limit
        if draw < self.rates.timeout:
            return UpstreamTimeout("read timed out")
        draw -= self.rates.timeout
        if draw < self.rates.error:
            return ProviderError("HTTP 502 Bad Gateway")
        return None

    def _missing(self, tickers: list[str]) -> set[str]:
        """A partial answer: about half the tickers (never the first) silently absent."""
        if len(tickers) < 2 or not self._chance(self.rates.partial):
            return set()
        dropped = self._random.random(len(tickers)) < 0.5
        dropped[0] = False
        return {ticker for ticker, drop in zip(tickers, dropped, strict=True) if drop}

    def _corrupt(self, bars: pd.DataFrame) -> pd.DataFrame:
        hit = self._random.random(len(bars)) < self.rates.bad_price
        replacement = self._random.choice(BAD_PRICES, size=int(hit.sum()))
        corrupted = bars.copy()
        corrupted.loc[hit, "close"] = replacement
        return corrupted

    def _chance(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate

    def _charge(self, kind: str, tickers: list[str], outcome: str) -> None:
        if self.recorder is None:
            return
        groups = (
            [(ticker,) for ticker in tickers]
            if kind == "history"
            else [
                tuple(tickers[offset : offset + QUOTE_CHUNK])
                for offset in range(0, len(tickers), QUOTE_CHUNK)
            ]
        )
        for group in groups:
            self.recorder.record(
                UpstreamRequest(self.name, kind, group, self.clock.now(), 0.0, outcome)
            )
