"""Calm in front of a flaky provider: retries with full jitter, a shared circuit breaker, a shared
request budget and a timeout on every call.

- Retries: tenacity, exponential backoff with full jitter (`wait_random_exponential`), bounded
  in attempts and in total time (no retry starts once `max_retry_seconds` would be passed).
  Only transient errors are retried, and within a batch only the tickers that failed
  transiently are asked again; unknown tickers never are. Tickers answered by an early attempt
  are kept when a later attempt fails as a whole: that failure becomes the error of the tickers
  still pending.
- Circuit breaker (`breaker.py`), one per provider, shared by every process. Besides a raised
  transient error, a batch in which every ticker failed transiently counts as a failure.
- Request budget (`request_budget.py`), shared by every process, charged as Yahoo charges
  (history one request per ticker, quotes one per 50 symbols). A refusal is never retried
  within the same call.
- Timeout: the inner call runs in a worker thread and is abandoned after `timeout` seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date
from typing import Any, TypeVar

import diskcache
import pandas as pd
import pybreaker
import redis
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from dashapp.clock import Clock
from dashapp.market.bars import HistoryBatch, QuoteBatch, empty_bars
from dashapp.market.breaker import ClockedBreaker, DiskcacheBreakerStorage
from dashapp.market.errors import CircuitOpen, ProviderError, UpstreamTimeout
from dashapp.market.providers import QUOTE_CHUNK, MarketDataProvider
from dashapp.market.request_budget import BudgetExhausted, RedisRequestBudget, RequestBudget

Result = TypeVar("Result", HistoryBatch, QuoteBatch)


class PartialFailure(ProviderError):
    """Some tickers of a batch failed transiently; they are worth one more try."""

    def __init__(self, errors: dict[str, Exception]) -> None:
        super().__init__(f"{len(errors)} ticker(s) failed transiently", tuple(errors))
        self.errors = errors


class AllFailed(ProviderError):
    """Every ticker of a batch failed transiently: for the breaker, the provider is failing."""

    def __init__(self, batch: HistoryBatch | QuoteBatch) -> None:
        super().__init__("every ticker failed transiently", tuple(batch.errors))
        self.batch = batch


class ResilientProvider:
    """A MarketDataProvider that wraps another with retries, a breaker, a budget and timeouts."""

    def __init__(
        self,
        inner: MarketDataProvider,
        clock: Clock,
        *,
        state_cache: diskcache.Cache,
        redis_client: redis.Redis | None = None,
        max_attempts: int = 3,
        max_retry_seconds: float = 20.0,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        failure_threshold: int = 5,
        reset_seconds: float = 60.0,
        requests_per_minute: int = 120,
        max_budget_wait: float = 60.0,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.clock = clock
        self.timeout = timeout
        storage: pybreaker.CircuitBreakerStorage = (
            pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED, redis_client, namespace=f"stocktracker:{inner.name}"
            )
            if redis_client is not None
            else DiskcacheBreakerStorage(state_cache, inner.name)
        )
        self.breaker = ClockedBreaker(
            clock,
            storage,
            name=inner.name,
            fail_max=failure_threshold,
            reset_seconds=reset_seconds,
        )
        self.budget = (
            RedisRequestBudget(
                redis_client,
                inner.name,
                requests_per_minute,
                clock,
                sleep=sleep,
                max_wait=max_budget_wait,
            )
            if redis_client is not None
            else RequestBudget(
                state_cache, inner.name, requests_per_minute, clock, sleep, max_budget_wait
            )
        )
        self._retry_policy = {
            # stop_before_delay bounds real time; the idle bound also counts an injected sleep.
            "stop": stop_after_attempt(max_attempts)
            | stop_before_delay(max_retry_seconds)
            | _stop_before_idling(max_retry_seconds),
            "wait": wait_random_exponential(multiplier=backoff_base, max=backoff_max),
            "retry": retry_if_exception(_worth_retrying),
            "sleep": sleep,
        }

    def history(self, tickers: Sequence[str], start: date, end: date) -> HistoryBatch:
        return self._resilient(
            list(tickers),
            lambda pending: self.inner.history(pending, start, end),
            cost=len,
            merge=_merge_history,
            empty=lambda: HistoryBatch(empty_bars()),
        )

    def quotes(self, tickers: Sequence[str]) -> QuoteBatch:
        return self._resilient(
            list(tickers),
            self.inner.quotes,
            cost=lambda pending: math.ceil(len(pending) / QUOTE_CHUNK),
            merge=_merge_quotes,
            empty=QuoteBatch,
        )

    def breaker_status(self) -> dict[str, Any]:
        """For the cache page: state, consecutive failures, when it opened, seconds to half-open."""
        return {"provider": self.name, **self.breaker.status()}

    def budget_status(self) -> dict[str, float]:
        return self.budget.status()

    def _resilient(
        self,
        tickers: list[str],
        fetch: Callable[[list[str]], Result],
        *,
        cost: Callable[[list[str]], int],
        merge: Callable[[Result, Result], None],
        empty: Callable[[], Result],
    ) -> Result:
        merged, pending = empty(), tickers
        if not tickers:
            return merged
        try:
            for attempt in Retrying(reraise=True, **self._retry_policy):
                with attempt:
                    batch = self._guarded(pending, fetch, cost)
                    transient = {t: e for t, e in batch.errors.items() if _worth_retrying(e)}
                    batch.errors = {t: e for t, e in batch.errors.items() if t not in transient}
                    merge(merged, batch)
                    if transient:
                        pending = list(transient)
                        raise PartialFailure(transient)
        except PartialFailure as failure:
            merged.errors.update(failure.errors)
        except ProviderError as error:
            if pending is tickers:
                raise  # nothing was answered: the whole call failed
            merged.errors.update(dict.fromkeys(pending, error))
        return merged

    def _guarded(
        self,
        tickers: list[str],
        fetch: Callable[[list[str]], Result],
        cost: Callable[[list[str]], int],
    ) -> Result:
        # Refuse before spending budget; pybreaker itself would refuse only inside the call.
        self.breaker.admit(tickers)
        self.budget.take(cost(tickers))
        try:
            # calling() holds pybreaker's lock only to check and update the state, not for the
            # whole upstream call (call() would), so threads of one process are not serialised.
            with self.breaker.calling():
                return self._call_with_timeout(fetch, tickers)
        except AllFailed as failure:
            return failure.batch
        except pybreaker.CircuitBreakerError as error:
            raise CircuitOpen(str(error), tuple(tickers)) from error

    def _call_with_timeout(
        self, fetch: Callable[[list[str]], Result], tickers: list[str]
    ) -> Result:
        # A pool per call, not per provider: a pool made before a fork (Celery's prefork
        # workers) has no threads in the child and would never run the task.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-call")
        future = pool.submit(fetch, tickers)
        try:
            batch = future.result(timeout=self.timeout)
        except FutureTimeout:
            raise UpstreamTimeout(f"no answer within {self.timeout:g} s", tuple(tickers)) from None
        finally:
            # Never wait for a call that timed out; its thread ends when the provider gives up.
            pool.shutdown(wait=False)
        if len(batch.errors) == len(tickers) and all(
            _worth_retrying(error) for error in batch.errors.values()
        ):
            raise AllFailed(batch)
        return batch


def _stop_before_idling(seconds: float) -> Callable[[RetryCallState], bool]:
    """Stop when the next wait would bring the time slept past `seconds` (injected sleeps too)."""

    def stop(retry_state: RetryCallState) -> bool:
        return retry_state.idle_for + retry_state.upcoming_sleep >= seconds

    return stop


def _worth_retrying(error: BaseException) -> bool:
    return (
        isinstance(error, ProviderError)
        and error.transient
        and not isinstance(error, BudgetExhausted | CircuitOpen)
    )


def _merge_history(into: HistoryBatch, batch: HistoryBatch) -> None:
    frames = [frame for frame in (into.bars, batch.bars) if not frame.empty]
    into.bars = pd.concat(frames, ignore_index=True) if frames else empty_bars()
    into.errors.update(batch.errors)


def _merge_quotes(into: QuoteBatch, batch: QuoteBatch) -> None:
    into.quotes.update(batch.quotes)
    into.errors.update(batch.errors)
