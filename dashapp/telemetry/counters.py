"""Process-local counters (cache hits and misses, upstream requests) that benchmarks and pages read.

Listeners subscribed with `Counters.subscribe` see every addition too: that is how the counts
reach the persisted hourly tally and prometheus_client without the counting code knowing them.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

log = logging.getLogger(__name__)

CounterListener = Callable[[str, int], None]


class Counters:
    """A thread-safe bag of named integer counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: Counter[str] = Counter()
        self._listeners: list[CounterListener] = []

    def subscribe(self, listener: CounterListener) -> None:
        """Call `listener(name, amount)` after every non-zero `add`."""
        with self._lock:
            self._listeners.append(listener)

    def add(self, name: str, amount: int = 1) -> None:
        if not amount:
            return
        with self._lock:
            self._values[name] += amount
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(name, amount)
            except Exception:
                # A failing sink (a full disk, say) must not fail the fill that counted.
                log.exception("counter listener failed for %s", name)

    def get(self, name: str) -> int:
        with self._lock:
            return self._values[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        with self._lock:
            self._values.clear()
