"""What a deployment does once before it serves, and what its workers and clock check before
they start.

Once per deployment (`prepare_deployment`: gunicorn's master, `python app.py`): publish the
market-data setting, bring the schema to head under the migration lock, and in demo mode seed
and warm the demo portfolio. Web workers, Celery workers and the clock never migrate or seed;
the workers and the clock wait for the schema and follow the published setting
(`join_deployment`).

A Celery worker or clock started without the web's MARKET_DATA would serve the site from
another market (Yahoo for a demo site, or made-up prices for a real one) without a word. So
the web publishes its setting where the others look: the shared diskcache under CACHE_DIR
(every process of a host) and Redis when REDIS_URL is set (every host, and the queue Celery
workers take jobs from). A worker or clock whose setting differs refuses to start.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import redis

from dashapp.db.migrate import upgrade_to_head, wait_for_head
from dashapp.services.context import AppContext, build_context
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.settings import Settings

PUBLISHED_KEY = "stocktracker:deployment:market_data"
# A published setting is only a guard: Redis that does not answer must not hold a start-up.
REDIS_TIMEOUT_SECONDS = 2.0

log = logging.getLogger(__name__)


class MarketDataMismatch(RuntimeError):
    """This process's MARKET_DATA differs from the one the web processes published."""


def prepare_deployment(settings: Settings) -> None:
    """Publish MARKET_DATA, migrate, and in demo mode seed and warm the demo portfolio.

    Run once per start of a deployment, before any web worker serves. Idempotent, and safe when
    two hosts start at once (the migration and the seeding each take a lock). Raises
    StartupError (a SettingsError) when the database, Redis or the cache cannot be used.
    """
    ctx = build_context(settings, migrate=False)
    try:
        # Published before migrating: a worker that waited for the schema finds it published.
        publish_market_data(ctx)
        upgrade_to_head(ctx.db.engine, settings.instance_dir)
        if settings.demo:
            warm_demo_cache(ctx, seed_demo_portfolio(ctx))
    finally:
        ctx.close()


def join_deployment(ctx: AppContext, process: str, say: Callable[[str], None]) -> None:
    """Wait for the schema at head, then check MARKET_DATA against the web's: what a Celery
    worker or the clock does before it starts. Raises SchemaNotReady or MarketDataMismatch."""
    wait_for_head(ctx.db.engine, ctx.settings.schema_wait_seconds, say, process=process)
    check_market_data(ctx, process)


def publish_market_data(ctx: AppContext) -> None:
    """Record this web process's market-data setting for workers and clocks to check."""
    entry = json.dumps(
        {"market_data": ctx.settings.market_data, "published_at": ctx.clock.now().isoformat()}
    )
    ctx.cache.set(PUBLISHED_KEY, entry)
    client = _redis(ctx)
    if client is not None:
        try:
            client.set(PUBLISHED_KEY, entry)
        except redis.RedisError as error:
            log.warning("could not publish MARKET_DATA to Redis: %s", error)


def check_market_data(ctx: AppContext, process: str) -> None:
    """Raise MarketDataMismatch, naming both settings, when the web published another one.

    Nothing published yet (no web process has started) lets this process start."""
    for published in _published(ctx):
        theirs = published.get("market_data")
        if theirs and theirs != ctx.settings.market_data:
            raise MarketDataMismatch(
                f"MARKET_DATA is {ctx.settings.market_data!r} here but the web processes of "
                f"this deployment run with {theirs!r} (published "
                f"{published.get('published_at', 'at an unknown time')}): start the {process} "
                f"with MARKET_DATA={theirs}"
                + (" (or --demo / STOCKTRACKER_DEMO=1)" if theirs == "demo" else "")
            )


def _published(ctx: AppContext) -> list[dict[str, str]]:
    entries = [ctx.cache.get(PUBLISHED_KEY)]
    client = _redis(ctx)
    if client is not None:
        try:
            entries.append(client.get(PUBLISHED_KEY))
        except redis.RedisError as error:
            log.warning("could not read the published MARKET_DATA from Redis: %s", error)
    found = []
    for entry in entries:
        if entry:
            try:
                found.append(json.loads(entry))
            except ValueError:
                log.warning("ignoring an unreadable published MARKET_DATA entry")
    return found


def _redis(ctx: AppContext) -> redis.Redis | None:
    if not ctx.settings.redis_url:
        return None
    return redis.Redis.from_url(
        ctx.settings.redis_url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )
