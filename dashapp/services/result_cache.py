"""Computed results kept in the shared diskcache under exact keys, each computed once per host.

Keys name everything a result depends on (the question, the portfolio version, the price-data
version of every ticker), so a hit is always right and nothing needs a guessed TTL; the expiry
only frees space.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import diskcache

from dashapp.services.context import AppContext

# Longer than any computation; a lock left by a killed process frees itself after this.
LOCK_SECONDS = 300


def cached_or_computed(
    ctx: AppContext,
    key: str,
    compute: Callable[[], dict[str, Any]],
    *,
    expire: float,
    keep: Callable[[dict[str, Any]], bool] = lambda result: True,
) -> tuple[dict[str, Any], bool]:
    """The result stored under `key`, or `compute()`'s (stored when `keep` says so); the flag
    says whether it was computed here. Threads and processes of the host asking for one key at
    the same time compute it once: the others wait on the lock and read the stored result."""
    hit = ctx.cache.get(key)
    if hit is not None:
        return hit, False
    with diskcache.Lock(ctx.cache, f"lock:{key}", expire=LOCK_SECONDS):
        hit = ctx.cache.get(key)
        if hit is not None:
            return hit, False
        result = compute()
        if keep(result):
            ctx.cache.set(key, result, expire=expire)
        return result, True


def digest(value: Any) -> str:
    """A key's fragment naming `value` (JSON-able): a dict's keys are sorted, so one identity
    gives one key whatever order it was built in."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:32]
