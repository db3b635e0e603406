"""The wired-up parts one process needs: database, clock, calendar, provider, price store, caches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import diskcache
import redis

from dashapp.clock import Clock, SystemClock
from dashapp.db.engine import Database
from dashapp.db.migrate import upgrade_to_head
from dashapp.market.calendar import MarketCalendar
from dashapp.market.demo import DemoMarket
from dashapp.market.fetch_lock import FetchLocks
from dashapp.market.fetch_log import FetchLogRecorder
from dashapp.market.freshness import FreshnessPolicy
from dashapp.market.price_store import PriceStore
from dashapp.market.providers import MarketDataProvider, RequestRecorder
from dashapp.market.resilience import ResilientProvider
from dashapp.market.yahoo import YahooMarket
from dashapp.services.dependencies import check_dependencies, redis_client
from dashapp.services.shared_cache import SharedCache
from dashapp.settings import Settings
from dashapp.telemetry.counters import Counters


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    calendar: MarketCalendar
    provider: MarketDataProvider
    store: PriceStore
    counters: Counters
    cache: diskcache.Cache
    # Shared breaker and budget across hosts, when REDIS_URL is set.
    redis: redis.Redis | None = None

    @property
    def is_demo_data(self) -> bool:
        return self.provider.name == "demo"

    def close(self) -> None:
        self.cache.close()
        self.db.dispose()
        if self.redis is not None:
            self.redis.close()


def make_provider(
    settings: Settings,
    clock: Clock,
    recorder: RequestRecorder,
    state_cache: diskcache.Cache,
    redis_client: redis.Redis | None = None,
) -> ResilientProvider:
    """The configured provider behind retries, the shared breaker and budget, and timeouts."""
    source: MarketDataProvider
    if settings.market_data == "demo":
        source = DemoMarket(clock, recorder=recorder)
    else:
        source = YahooMarket(
            clock,
            recorder,
            chunk_size=settings.yahoo_chunk_size,
            max_workers=settings.yahoo_max_workers,
            timeout=settings.upstream_timeout_seconds,
        )
    return ResilientProvider(
        source,
        clock,
        state_cache=state_cache,
        # Across hosts the breaker and the budget must live in Redis, not a host's diskcache.
        redis_client=redis_client,
        failure_threshold=settings.breaker_failure_threshold,
        reset_seconds=settings.breaker_reset_seconds,
        requests_per_minute=settings.upstream_requests_per_minute,
        # One call may carry many chunks of requests; each request has Yahoo's own timeout.
        timeout=settings.upstream_timeout_seconds * 30,
    )


def build_context(
    settings: Settings,
    *,
    clock: Clock | None = None,
    provider: MarketDataProvider | None = None,
    migrate: bool = True,
) -> AppContext:
    """Wire every part from `settings`; tests pass a frozen clock or a faulty provider.

    Raises StartupError (dependencies.py) when the database, Redis or the cache directory
    cannot be used, within the connect timeouts.
    """
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    check_dependencies(settings)
    clock = clock or SystemClock()
    db = Database.from_url(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    if migrate:
        upgrade_to_head(db.engine, settings.instance_dir)
    calendar = MarketCalendar()
    # One diskcache per host for shared state: breaker, request budget, cached results. Its
    # reads and writes count into the request's Server-Timing `cache` part; a broken cache
    # directory makes it an empty cache, never an error (shared_cache.py).
    cache = SharedCache(
        str(Path(settings.cache_dir) / "shared"), timeout=settings.cache_timeout_seconds
    )
    shared_redis = (
        redis_client(settings.redis_url, settings.redis_timeout_seconds)
        if settings.redis_url
        else None
    )
    provider = provider or make_provider(settings, clock, FetchLogRecorder(db), cache, shared_redis)
    counters = Counters()
    store = PriceStore(
        db,
        provider,
        calendar,
        clock,
        FreshnessPolicy(calendar, settings.fresh_intraday_seconds),
        FetchLocks(db, Path(settings.cache_dir) / "locks"),
        counters,
        heal_sessions=settings.self_heal_sessions,
    )
    return AppContext(settings, db, clock, calendar, provider, store, counters, cache, shared_redis)
