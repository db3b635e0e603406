"""Cache hits and misses per five minutes in the shared diskcache, so hit rates survive processes.

Every process of a host adds to the same buckets (`Cache.incr` is one SQLite transaction), and a
restarted process finds them still there; the cache page sums the last hour and the last day.
"""

from __future__ import annotations

from dataclasses import dataclass

import diskcache

from dashapp.clock import Clock

BUCKET_SECONDS = 300
KEEP_SECONDS = 2 * 86_400
TALLIED = ("cache_hits", "cache_misses")


@dataclass(frozen=True)
class HitRate:
    hits: int
    misses: int

    @property
    def rate(self) -> float | None:
        """hits / (hits + misses); None when nothing was asked."""
        total = self.hits + self.misses
        return None if total == 0 else self.hits / total


class HourlyTally:
    """Counts of cache hits and misses in five-minute buckets, kept for two days."""

    def __init__(self, cache: diskcache.Cache, clock: Clock) -> None:
        self._cache = cache
        self._clock = clock

    def record(self, name: str, amount: int) -> None:
        """A Counters listener: adds `amount` to the current bucket of `name` (others ignored)."""
        if name not in TALLIED or amount <= 0:
            return
        key = self._key(name, self._bucket())
        if self._cache.incr(key, amount, default=0) == amount:
            self._cache.touch(key, expire=KEEP_SECONDS)

    def over(self, seconds: int) -> HitRate:
        """Hits and misses of the buckets that end within the last `seconds` (the current
        bucket included), i.e. the last `seconds` to within one bucket."""
        newest = self._bucket()
        buckets = range(newest - seconds // BUCKET_SECONDS + 1, newest + 1)
        totals = {
            name: sum(int(self._cache.get(self._key(name, bucket), 0)) for bucket in buckets)
            for name in TALLIED
        }
        return HitRate(hits=totals["cache_hits"], misses=totals["cache_misses"])

    def _bucket(self) -> int:
        return int(self._clock.now().timestamp()) // BUCKET_SECONDS

    @staticmethod
    def _key(name: str, bucket: int) -> str:
        return f"tally:{name}:{bucket}"
