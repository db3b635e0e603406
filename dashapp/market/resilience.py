"""Calm in front of a flaky provider: retries with full jitter, a shared circuit breaker, a shared
request budget and a timeout on every call.

- Retries: tenacity, exponential backoff with full jitter (`wait_random_exponential`), bounded
  in attempts and in total time (no retry starts once `max_retry_seconds` would be passed).
  Only transient errors are retried, and within a batch only the tickers that failed
  transiently are asked again; unknown tickers never are. Tickers answered by an early attempt
  are kept when a later attempt fails as a whole: that failure becomes the error of the tickers
  still pending.
- Circuit breaker: pybreaker, one per provider, its state kept where every process sees it: a
  diskcache directory on one host, or Redis (REDIS_URL) across hosts. A call counts as a
  failure when it raised a transient error or when every ticker of a batch failed transiently;
  unknown tickers never trip it. pybreaker reads `datetime.now(UTC)` to stamp `opened_at` and
  to decide when an open circuit may half-open; `ClockedBreaker` takes both from our Clock.
- Request budget: a token bucket in the same shared store (diskcache, or Redis through one
  atomic Lua script), charged as Yahoo charges (history one request per ticker, quotes one per
  50 symbols). Background work waits for tokens; a wait longer than `max_budget_wait` refuses
  the call instead, and a refusal is never retried within the same call.
- Timeout: the inner call runs in a worker thread and is abandoned after `timeout` seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, date, datetime, timedelta
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
from dashapp.market.errors import CircuitOpen, ProviderError, RateLimited, UpstreamTimeout
from dashapp.market.providers import MarketDataProvider

QUOTE_CHUNK = 50
Result = TypeVar("Result", HistoryBatch, QuoteBatch)


class BudgetExhausted(RateLimited):
    """Our own request budget is spent: waiting inside this call would only block a worker."""


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


class DiskcacheBreakerStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker state in a diskcache directory, shared by every process on the host.

    Counters change through `Cache.incr`, which diskcache runs in one SQLite transaction, so two
    processes failing at once both count."""

    def __init__(self, cache: diskcache.Cache, name: str) -> None:
        super().__init__(name)
        self._cache = cache
        self._prefix = f"breaker:{name}:"

    def _key(self, field: str) -> str:
        return self._prefix + field

    @property
    def state(self) -> str:
        return self._cache.get(self._key("state"), pybreaker.STATE_CLOSED)

    @state.setter
    def state(self, state: str) -> None:
        self._cache.set(self._key("state"), state)

    def increment_counter(self) -> None:
        self._cache.incr(self._key("counter"), default=0)

    def reset_counter(self) -> None:
        self._cache.set(self._key("counter"), 0)

    def increment_success_counter(self) -> None:
        self._cache.incr(self._key("success"), default=0)

    def reset_success_counter(self) -> None:
        self._cache.set(self._key("success"), 0)

    @property
    def counter(self) -> int:
        return int(self._cache.get(self._key("counter"), 0))

    @property
    def success_counter(self) -> int:
        return int(self._cache.get(self._key("success"), 0))

    @property
    def opened_at(self) -> datetime | None:
        stamp = self._cache.get(self._key("opened_at"))
        return None if stamp is None else datetime.fromtimestamp(stamp, tz=UTC)

    @opened_at.setter
    def opened_at(self, value: datetime) -> None:
        self._cache.set(self._key("opened_at"), value.timestamp())


class ClockedBreaker(pybreaker.CircuitBreaker):
    """pybreaker's breaker with its time taken from our Clock.

    pybreaker stamps `opened_at` with `datetime.now(UTC)` in `open()` and compares against it in
    its open state. Here `open()` stamps the clock's time, and `admit()` makes the open ->
    half-open decision by the clock before each call, so pybreaker's own comparison is reached
    only when another process opens the circuit between `admit()` and the call.
    """

    def __init__(
        self,
        clock: Clock,
        storage: pybreaker.CircuitBreakerStorage,
        *,
        name: str,
        fail_max: int,
        reset_seconds: float,
    ) -> None:
        super().__init__(
            fail_max=fail_max,
            reset_timeout=reset_seconds,
            # A provider that says "no such ticker" is answering: not a sign of an outage.
            exclude=[_is_permanent],
            state_storage=storage,
            name=name,
            # Let the provider's own error through when the breaker trips, not CircuitBreakerError.
            throw_new_error_on_trip=False,
        )
        self.clock = clock
        self.storage = storage

    def open(self) -> bool:
        with self._lock:
            self.storage.opened_at = self.clock.now()
            self.state = self.storage.state = pybreaker.STATE_OPEN
        return False

    def admit(self, tickers: Sequence[str]) -> None:
        """Raise CircuitOpen while the circuit is open; half-open it once `reset_seconds` passed."""
        if self.current_state != pybreaker.STATE_OPEN:
            return
        if self.seconds_until_half_open() > 0:
            raise CircuitOpen(f"{self.name} circuit open after repeated failures", tuple(tickers))
        self.half_open()

    def seconds_until_half_open(self) -> float:
        opened_at = self.storage.opened_at
        if opened_at is None:
            return 0.0
        reopen = opened_at + timedelta(seconds=self.reset_timeout)
        return max(0.0, (reopen - self.clock.now()).total_seconds())

    def status(self) -> dict[str, Any]:
        """State as the next call will find it: an open circuit whose wait is over is half-open."""
        state = self.current_state
        wait = self.seconds_until_half_open() if state == pybreaker.STATE_OPEN else None
        if wait == 0.0:
            state = pybreaker.STATE_HALF_OPEN
        return {
            "state": state,
            "failures": self.fail_counter,
            "failure_threshold": self.fail_max,
            "opened_at": None if state == pybreaker.STATE_CLOSED else self.storage.opened_at,
            "seconds_until_half_open": wait,
        }


class RequestBudget:
    """A token bucket shared through diskcache: `per_minute` requests a minute, at most a minute's
    worth saved up. A call waits (up to `max_wait` seconds) for the tokens it costs; a batch that
    costs more than a full bucket runs when the bucket is full and leaves it in debt, so the
    average rate holds whatever the batch sizes."""

    def __init__(
        self,
        cache: diskcache.Cache | None,
        name: str,
        per_minute: int,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 60.0,
    ) -> None:
        self._cache = cache
        self._key = f"budget:{name}"
        self.capacity = float(per_minute)
        self._per_second = per_minute / 60.0
        self._clock = clock
        self._sleep = sleep
        self.max_wait = max_wait

    def take(self, cost: int) -> None:
        """Spend `cost` tokens, waiting for them if needed; BudgetExhausted if the wait is too long."""
        wait = self._try_take(cost)
        if wait > 0:
            if wait > self.max_wait:
                raise BudgetExhausted(f"request budget exhausted, retry in {math.ceil(wait)} s")
            self._sleep(wait)
            if self._try_take(cost) > 0:
                raise BudgetExhausted("request budget taken by another process, retry later")

    def _try_take(self, cost: int) -> float:
        """Spend the tokens and return 0, or spend nothing and return the seconds to wait."""
        now = self._clock.now().timestamp()
        needed = min(float(cost), self.capacity)
        with self._cache.transact():
            tokens = self._tokens(now)
            if tokens < needed:
                self._cache.set(self._key, (tokens, now))
                return (needed - tokens) / self._per_second
            self._cache.set(self._key, (tokens - cost, now))
        return 0.0

    def _tokens(self, now: float) -> float:
        tokens, stamp = self._cache.get(self._key, (self.capacity, now))
        return min(self.capacity, tokens + max(0.0, now - stamp) * self._per_second)

    def status(self) -> dict[str, float]:
        return {
            "tokens_left": round(self._tokens(self._clock.now().timestamp()), 1),
            "capacity": self.capacity,
        }


class RedisRequestBudget(RequestBudget):
    """The same token bucket kept in Redis, for processes on several hosts."""

    # Refill, then spend or report the wait, atomically inside Redis.
    TAKE = """
    local capacity, rate, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
    local cost, needed = tonumber(ARGV[4]), tonumber(ARGV[5])
    local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
    local tokens = tonumber(state[1]) or capacity
    local stamp = tonumber(state[2]) or now
    tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
    if tokens < needed then
      redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
      return tostring((needed - tokens) / rate)
    end
    redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - cost), 'stamp', tostring(now))
    return '0'
    """

    def __init__(
        self, client: redis.Redis, name: str, per_minute: int, clock: Clock, **options: Any
    ) -> None:
        super().__init__(None, name, per_minute, clock, **options)
        self._redis = client
        self._key = f"stocktracker:budget:{name}"
        self._take = client.register_script(self.TAKE)

    def _try_take(self, cost: int) -> float:
        now = self._clock.now().timestamp()
        needed = min(float(cost), self.capacity)
        answer = self._take(
            keys=[self._key], args=[self.capacity, self._per_second, now, cost, needed]
        )
        return float(answer)

    def _tokens(self, now: float) -> float:
        tokens, stamp = self._redis.hmget(self._key, "tokens", "stamp")
        if tokens is None:
            return self.capacity
        return min(self.capacity, float(tokens) + max(0.0, now - float(stamp)) * self._per_second)


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


def _is_permanent(error: BaseException) -> bool:
    return isinstance(error, ProviderError) and not error.transient


def _merge_history(into: HistoryBatch, batch: HistoryBatch) -> None:
    frames = [frame for frame in (into.bars, batch.bars) if not frame.empty]
    into.bars = pd.concat(frames, ignore_index=True) if frames else empty_bars()
    into.errors.update(batch.errors)


def _merge_quotes(into: QuoteBatch, batch: QuoteBatch) -> None:
    into.quotes.update(batch.quotes)
    into.errors.update(batch.errors)
