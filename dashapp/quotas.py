"""Per-user quotas on the work that costs upstream requests or seconds of CPU: refreshes, warms,
backtests, sweeps, comparisons that fetch prices, and ledger files read (imports and previews).

One quota per kind and user, counted with Flask-Limiter's storage and strategy from code
(`limiter.limiter.hit`), so the JSON API and the Dash pages draw on the same allowance: the API
answers 429 with `Retry-After`; a Dash callback, whose 429 the renderer would drop, shows
`OverQuota.message` in the page instead, and starts nothing.

- Key: the acting user's id (`services/ownership.py`), never an address: two users behind one
  proxy are two quotas, and one user's browser and API tokens share one. An anonymous request
  has a quota of zero (AUTH=accounts refuses it at the gate anyway).
- Admins get the same quotas. What the quotas protect, the shared Yahoo budget and the web
  processes' CPU, is drained by an admin's clicks just as much; a deployment that wants more
  raises the limits. The deployment's own jobs (the clock's refresh and warm) are not counted.
- Window: a moving window (the last minute, not "this calendar minute"), so "N in the last
  minute" in the message is exact and the retry time is when the oldest start leaves it.
- Storage: Redis when REDIS_URL is set (every host counts together). Otherwise a diskcache
  directory under CACHE_DIR, through a small limits storage (`HostStorage`): limits has no
  diskcache backend, and its "memory://" counts per process, so gunicorn's two workers would
  each allow the full quota, doubling it. The diskcache is shared by every process of the host,
  like the breaker and request budget are.
- A failing storage (Redis down, broken cache directory) lets the work through, logged: a
  quota guards against abuse, and refusing everybody while Redis blips would take the pages
  down with it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import quote, unquote, urlsplit

from flask import Blueprint, Flask, Response, jsonify
from flask_limiter import Limiter
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MovingWindowSupport, Storage

from dashapp.services.ownership import NOBODY, actor
from dashapp.services.shared_cache import CACHE_FAULTS, SharedCache
from dashapp.settings import Settings

log = logging.getLogger(__name__)

Kind = Literal["refresh", "warm", "sweep", "backtest", "comparison", "import"]

# How the messages name each kind, in the plural.
NOUNS: Mapping[Kind, str] = {
    "refresh": "refreshes",
    "warm": "warms",
    "sweep": "sweeps",
    "backtest": "backtests",
    "comparison": "comparisons that fetch prices",
    "import": "ledger imports or previews",
}

EXTENSION_KEY = "stocktracker-quotas"
HOST_SCHEME = "stocktracker-diskcache"
# Keys in a Redis that Celery and the price budget share.
REDIS_PREFIX = "stocktracker-quota"


class OverQuota(Exception):
    """Starting this would exceed the acting user's quota (status 429, with the seconds to wait),
    or nobody signed in (status 401). `message` is meant for the user."""

    def __init__(self, message: str, *, status: int = 429, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


class Quotas:
    """The quotas of one app: each kind's limit, counted in its Flask-Limiter's storage."""

    def __init__(self, limiter: Limiter, limits: Mapping[Kind, str]) -> None:
        self.limiter = limiter
        self.items: dict[Kind, RateLimitItem] = {kind: parse(text) for kind, text in limits.items()}

    def charge(self, kind: Kind) -> None:
        """Count one start of `kind` for the acting user, or raise OverQuota and count nothing."""
        self._admit(kind, count=True)

    def check(self, kind: Kind) -> None:
        """Raise OverQuota if one more start of `kind` would exceed the quota; counts nothing
        (for a page that must know before it computes, and charges once it knows the cost)."""
        self._admit(kind, count=False)

    def _admit(self, kind: Kind, *, count: bool) -> None:
        item, identifiers = self._item(kind)
        strategy = self.limiter.limiter
        try:
            if (strategy.hit if count else strategy.test)(item, *identifiers):
                return
            reset_at = strategy.get_window_stats(item, *identifiers).reset_time
        except StorageError:
            unseen = "uncounted" if count else "unchecked"
            log.warning(
                "the quota storage failed: one %s let through %s", kind, unseen, exc_info=True
            )
            return
        raise _over(kind, item, reset_at)

    def _item(self, kind: Kind) -> tuple[RateLimitItem, tuple[str, ...]]:
        user_id = actor().user_id
        if user_id == NOBODY:
            raise OverQuota(
                f"Sign in first: only a signed-in user may start {NOUNS[kind]}.", status=401
            )
        return self.items[kind], (kind, f"user:{user_id}")


def backtest_quota(sweep: bool) -> Kind:
    """The quota a backtest takes: a sweep, which runs dozens, has its own smaller one."""
    return "sweep" if sweep else "backtest"


def configured_limits(settings: Settings) -> dict[Kind, str]:
    """Each kind's limit as the QUOTA_* settings give it (README: Configuration)."""
    return {
        "refresh": settings.quota_refreshes,
        "warm": settings.quota_warms,
        "sweep": settings.quota_sweeps,
        "backtest": settings.quota_backtests,
        "comparison": settings.quota_comparisons,
        "import": settings.quota_imports,
    }


def install_quotas(
    server: Flask, settings: Settings, limits: Mapping[Kind, str] | None = None
) -> Quotas:
    """Flask-Limiter on `server`, with Redis storage when REDIS_URL is set, else the host's
    diskcache under CACHE_DIR; the quotas are then `quotas_of(server)`. `limits` defaults to
    the settings'."""
    if settings.redis_url:
        uri = settings.redis_url
        timeout = settings.redis_timeout_seconds
        options: dict[str, Any] = {
            "key_prefix": REDIS_PREFIX,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
        }
    else:
        uri = f"{HOST_SCHEME}://{quote(str(Path(settings.cache_dir) / 'quotas'))}"
        options = {"timeout": settings.cache_timeout_seconds}
    limiter = Limiter(
        _acting_user_key,
        app=server,
        storage_uri=uri,
        storage_options={**options, "wrap_exceptions": True},
        strategy="moving-window",
    )
    quotas = Quotas(limiter, configured_limits(settings) if limits is None else limits)
    server.extensions[EXTENSION_KEY] = quotas
    return quotas


def quotas_of(server: Flask) -> Quotas:
    return server.extensions[EXTENSION_KEY]


def answer_over_quota(api: Blueprint) -> None:
    """Answer OverQuota raised in `api`'s views as JSON with its status and Retry-After
    (registered on the blueprint: its own catch-all handler would otherwise answer 500)."""
    api.register_error_handler(OverQuota, too_many)


def too_many(refusal: OverQuota) -> Response:
    answer = jsonify(error=refusal.message)
    answer.status_code = refusal.status
    if refusal.retry_after is not None:
        answer.headers["Retry-After"] = str(refusal.retry_after)
    return answer


class HostStorage(Storage, MovingWindowSupport):
    """A limits storage in a diskcache shared by every process of one host (see the module
    docstring); moving window only. Each key holds its starts' times, newest first."""

    STORAGE_SCHEME: ClassVar[list[str]] = [HOST_SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, timeout: float = 5.0) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        # SharedCache degrades a broken directory to an empty cache: quotas then let work through.
        self.cache = SharedCache(unquote(urlsplit(uri).path), timeout=timeout)

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return CACHE_FAULTS

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        # One transaction: two workers cannot both take the last place.
        with self.cache.transact():
            now = time.time()
            starts = self._starts(key, now, expiry)
            if len(starts) + amount > limit:
                return False
            self.cache.set(key, [now] * amount + starts, expire=expiry)
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        starts = self._starts(key, now, expiry)
        return (starts[-1], len(starts)) if starts else (now, 0)

    def _starts(self, key: str, now: float, expiry: int) -> list[float]:
        return [at for at in self.cache.get(key, []) if at >= now - expiry]

    # The counter operations below are what limits' Storage interface requires of every storage
    # (the fixed-window strategies use them); the moving window does not.

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self.cache.transact():
            self.cache.add(key, 0, expire=expiry)
            return self.cache.incr(key, amount)

    def get(self, key: str) -> int:
        return self.cache.get(key, 0)

    def get_expiry(self, key: str) -> float:
        _value, expires = self.cache.get(key, expire_time=True)
        return expires or time.time()

    def check(self) -> bool:
        return self.cache.recent_fault() is None

    def reset(self) -> int | None:
        return self.cache.clear()

    def clear(self, key: str) -> None:
        self.cache.delete(key)


def _over(kind: Kind, item: RateLimitItem, reset_at: float) -> OverQuota:
    # limits times its windows with time.time(), so the retry time is told in that clock too.
    wait = max(1, math.ceil(reset_at - time.time()))
    at = datetime.fromtimestamp(reset_at, UTC)
    return OverQuota(
        f"You have started {item.amount} {NOUNS[kind]} in the last {_window(item)};"
        f" try again in {wait} s (at {at:%H:%M:%S} UTC).",
        retry_after=wait,
    )


def _window(item: RateLimitItem) -> str:
    """ "minute", "10 minutes", "hour": the span of the limit in words."""
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"


def _acting_user_key() -> str:
    """Flask-Limiter's key for any limit declared on a route: the acting user, never an address."""
    return f"user:{actor().user_id}"
