"""Process-local counters (cache hits and misses, upstream requests) that benchmarks and pages read."""

from __future__ import annotations

import threading
from collections import Counter


class Counters:
    """A thread-safe bag of named integer counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        if amount:
            with self._lock:
                self._values[name] += amount

    def get(self, name: str) -> int:
        with self._lock:
            return self._values[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        with self._lock:
            self._values.clear()


def hit_rate(counters: Counters, hits: str = "cache_hits", misses: str = "cache_misses") -> float:
    """hits / (hits + misses); 1.0 when nothing was asked."""
    hit_count, miss_count = counters.get(hits), counters.get(misses)
    total = hit_count + miss_count
    return 1.0 if total == 0 else hit_count / total
