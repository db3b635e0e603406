"""What the web processes publish so that a worker or clock of the same deployment can follow
it: their market-data setting.

A Celery worker or clock started without the web's MARKET_DATA would serve the site from
another market (Yahoo for a demo site, or made-up prices for a real one) without a word. So
the web publishes its setting where the others look: the shared diskcache under CACHE_DIR
(every process of a host) and Redis when REDIS_URL is set (every host, and the queue Celery
workers take jobs from). A worker or clock whose setting differs refuses to start.
"""

from __future__ import annotations

import json
import logging

import redis

from dashapp.services.context import AppContext

PUBLISHED_KEY = "stocktracker:deployment:market_data"
# A published setting is only a guard: Redis that does not answer must not hold a start-up.
REDIS_TIMEOUT_SECONDS = 2.0

log = logging.getLogger(__name__)


class MarketDataMismatch(RuntimeError):
    """This process's MARKET_DATA differs from the one the web processes published."""


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
