"""The app's cache for read models (holdings snapshots, dashboard panels, API GET answers).

A Flask-Caching backend: `FileSystemCache` under CACHE_DIR on one host, `RedisCache` when
REDIS_URL is set, so every worker and the background-callback threads see one store (Flask-Caching's
per-process SimpleCache would not; dash.md). Keys name everything a value depends on (portfolio
version, price-data version, the freshness minute), so a hit is right without a guessed TTL; the
timeout only frees space. The cache is an accelerator: when it fails, the value is computed and
the failure logged, never shown to the user.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from flask_caching.backends import FileSystemCache, RedisCache
from flask_caching.backends.base import BaseCache

from dashapp.services.context import AppContext
from dashapp.settings import Settings

log = logging.getLogger(__name__)

# Long enough that a page revisited the next day is still a hit; keys change with the data.
READ_MODEL_SECONDS = 2 * 86_400
# Files kept before the filesystem backend prunes: snapshots of many portfolios and their panels.
FILE_THRESHOLD = 5_000
# A cache that does not answer quickly is skipped: computing is never slower than a dead cache.
REDIS_TIMEOUT_SECONDS = 1.0
KEY_PREFIX = "stocktracker:read-model:"

T = TypeVar("T")

_backends: dict[tuple[str, str | None], BaseCache] = {}
_backends_lock = threading.Lock()


def cache_config(settings: Settings) -> dict[str, Any]:
    """Flask-Caching configuration of the read-model cache for `settings`."""
    if settings.redis_url:
        return {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": settings.redis_url,
            "CACHE_KEY_PREFIX": KEY_PREFIX,
            "CACHE_DEFAULT_TIMEOUT": READ_MODEL_SECONDS,
            "CACHE_OPTIONS": {
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            },
        }
    return {
        "CACHE_TYPE": "FileSystemCache",
        "CACHE_DIR": str(settings.cache_dir / "read-models"),
        "CACHE_THRESHOLD": FILE_THRESHOLD,
        "CACHE_DEFAULT_TIMEOUT": READ_MODEL_SECONDS,
    }


def read_model_cache(settings: Settings) -> BaseCache:
    """The backend for `settings`, built once per process (one per cache directory or Redis URL)."""
    identity = (str(settings.cache_dir), settings.redis_url)
    with _backends_lock:
        backend = _backends.get(identity)
        if backend is None:
            backend = _build(settings)
            _backends[identity] = backend
        return backend


def cached(ctx: AppContext, key: str, compute: Callable[[], T]) -> T:
    """The value stored under `key`, else `compute()`'s, stored for the next reader.

    Two workers missing the same key at once both compute it: read models are cheap enough
    that a lock would cost more than the rare double work.
    """
    hit = lookup(ctx, key)
    if hit is not None:
        return hit
    value = compute()
    store(ctx, key, value)
    return value


def lookup(ctx: AppContext, key: str) -> Any:
    """The value under `key`, or None on a miss or when the cache cannot answer."""
    try:
        return read_model_cache(ctx.settings).get(key)
    except (OSError, redis.RedisError):
        log.warning("read-model cache unavailable for get %s", key, exc_info=True)
        return None


def store(ctx: AppContext, key: str, value: Any) -> None:
    try:
        read_model_cache(ctx.settings).set(key, value)
    except (OSError, redis.RedisError):
        log.warning("read-model cache unavailable for set %s", key, exc_info=True)


def digest(*parts: object) -> str:
    """A short stable key fragment of JSON-able parts."""
    raw = json.dumps(parts, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _build(settings: Settings) -> BaseCache:
    if settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        return RedisCache(host=client, key_prefix=KEY_PREFIX, default_timeout=READ_MODEL_SECONDS)
    return FileSystemCache(
        str(settings.cache_dir / "read-models"),
        threshold=FILE_THRESHOLD,
        default_timeout=READ_MODEL_SECONDS,
    )
