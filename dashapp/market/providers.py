"""The interface every market-data provider implements, and how each upstream request is recorded."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from dashapp.market.bars import HistoryBatch, QuoteBatch

# Yahoo answers latest quotes for up to this many symbols per request: the batch every
# provider splits a quote request into, and the unit the request budget charges.
QUOTE_CHUNK = 50


@dataclass(frozen=True)
class UpstreamRequest:
    """One HTTP request (or its simulated equivalent) sent to a provider: a row of `fetch_log`."""

    provider: str
    kind: str
    tickers: tuple[str, ...]
    started_at: datetime
    duration_s: float
    outcome: str


class RequestRecorder(Protocol):
    def record(self, request: UpstreamRequest) -> None: ...


class MemoryRecorder:
    """Collects requests in memory (thread-safe) until someone persists or counts them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[UpstreamRequest] = []

    def record(self, request: UpstreamRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def drain(self) -> list[UpstreamRequest]:
        with self._lock:
            drained, self._requests = self._requests, []
        return drained

    def __len__(self) -> int:
        with self._lock:
            return len(self._requests)


class MarketDataProvider(Protocol):
    """A source of daily bars and latest quotes.

    Implementations never raise for a single bad ticker: it goes into the batch's `errors`.
    They raise ProviderError subclasses only when the whole call failed.
    """

    name: str

    def history(self, tickers: Sequence[str], start: date, end: date) -> HistoryBatch:
        """Daily bars (see `bars.BAR_COLUMNS`) for sessions from `start` to `end`, both inclusive."""
        ...

    def quotes(self, tickers: Sequence[str]) -> QuoteBatch:
        """The latest price of each ticker."""
        ...
