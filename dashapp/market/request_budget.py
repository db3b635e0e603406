"""A request budget shared by every process: a token bucket charged as Yahoo charges.

The bucket lives in a diskcache directory on one host (`RequestBudget`), or in Redis through
one atomic Lua script across hosts (`RedisRequestBudget`). Background work waits for tokens; a
wait longer than `max_wait` refuses the call with BudgetExhausted instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import diskcache
import redis

from dashapp.clock import Clock
from dashapp.market.errors import FailureKind, RateLimited


class BudgetExhausted(RateLimited):
    """Our own request budget is spent: waiting inside this call would only block a worker."""

    kind = FailureKind.BUDGET_EXHAUSTED


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
