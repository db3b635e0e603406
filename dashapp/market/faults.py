"""A provider wrapper that misbehaves on purpose, like Yahoo on a bad day, for tests and benchmarks.

Faults are drawn from a seeded generator, so a run is repeatable. Requests are charged the way
Yahoo charges them: a call that fails is recorded here (outcome http_429, timeout or error),
one request per ticker for history and one per 50 symbols for quotes, without reaching the
inner provider; a call that goes through is recorded by the inner provider, so nothing is
counted twice.
"""

from __future__ import annotations

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
from dashapp.market.providers import MarketDataProvider, RequestRecorder, UpstreamRequest

QUOTE_CHUNK = 50
BAD_PRICES = (np.nan, np.inf, 0.0, -1.0)


@dataclass
class FaultRates:
    """Probabilities per call (or per row for bad prices), each between 0 and 1."""

    error: float = 0.0
    timeout: float = 0.0
    rate_limit: float = 0.0
    partial: float = 0.0
    bad_price: float = 0.0
    empty: float = 0.0


class FaultyProvider:
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
        self._scheduled: deque[Exception] = deque()
        self.calls = 0

    def fail_next(self, count: int, error: Callable[[], Exception]) -> None:
        """Make exactly the next `count` calls raise `error()`."""
        self._scheduled.extend(error() for _ in range(count))

    def history(self, tickers: Sequence[str], start: date, end: date) -> HistoryBatch:
        names = list(tickers)
        self._before_call("history", names, charged=len(names))
        if self._chance(self.rates.empty):
            return HistoryBatch(empty_bars())
        batch = self.inner.history(self._survivors(names), start, end)
        if self.rates.bad_price and not batch.bars.empty:
            batch.bars = self._corrupt(batch.bars)
        return batch

    def quotes(self, tickers: Sequence[str]) -> QuoteBatch:
        names = list(tickers)
        self._before_call("quote", names, charged=math.ceil(len(names) / QUOTE_CHUNK))
        if self._chance(self.rates.empty):
            return QuoteBatch()
        return self.inner.quotes(self._survivors(names))

    def _before_call(self, kind: str, tickers: list[str], charged: int) -> None:
        self.calls += 1
        # Yahoo answers a batch through a few parallel connections: latency per round of them.
        if self.latency_s:
            self._sleep(self.latency_s * math.ceil(max(charged, 1) / self.max_workers))
        failure = self._scheduled.popleft() if self._scheduled else self._random_failure()
        if failure is None:
            return
        outcome = {RateLimited: "http_429", UpstreamTimeout: "timeout"}.get(type(failure), "error")
        self._charge(kind, tickers, outcome)
        raise failure

    def _random_failure(self) -> Exception | None:
        draw = self._random.random()
        for rate, make in (
            (self.rates.rate_limit, lambda: RateLimited("HTTP 429 Too Many Requests")),
            (self.rates.timeout, lambda: UpstreamTimeout("read timed out")),
            (self.rates.error, lambda: ProviderError("HTTP 502 Bad Gateway")),
        ):
            if draw < rate:
                return make()
            draw -= rate
        return None

    def _survivors(self, tickers: list[str]) -> list[str]:
        """A partial batch: some tickers silently missing from the answer."""
        if len(tickers) < 2 or not self._chance(self.rates.partial):
            return tickers
        keep = self._random.random(len(tickers)) >= 0.5
        keep[0] = True
        return [ticker for ticker, kept in zip(tickers, keep, strict=True) if kept]

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
