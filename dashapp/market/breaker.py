"""A circuit breaker per provider whose state every process sees, and whose time is our Clock.

pybreaker keeps the state in a diskcache directory on one host (`DiskcacheBreakerStorage`), or
in Redis across hosts (pybreaker's own `CircuitRedisStorage`). A call counts as a failure when it
raised a transient error; unknown tickers never trip it. pybreaker reads `datetime.now(UTC)` to
stamp `opened_at` and to decide when an open circuit may half-open; `ClockedBreaker` takes both
from our Clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import diskcache
import pybreaker

from dashapp.clock import Clock
from dashapp.market.errors import CircuitOpen, ProviderError


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


def _is_permanent(error: BaseException) -> bool:
    return isinstance(error, ProviderError) and not error.transient
