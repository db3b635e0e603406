"""Start-up checks: can this process reach what its settings name, within seconds?

Every entry point (the web app, `python -m dashapp.jobs`, the Celery worker) builds its context
through `build_context`, which calls `check_dependencies` first: an unreachable database or
Redis, or a cache directory that cannot be written, stops start-up within the configured
connect timeouts with one line naming the setting and the host, not a hang and a traceback.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import text
from sqlalchemy.engine import make_url

from dashapp.db.engine import make_engine
from dashapp.settings import Settings, SettingsError


class StartupError(SettingsError):
    """A dependency named by a setting cannot be used; the message names setting and host."""


def redis_client(url: str, timeout: float, *, retries: int = 1) -> redis.Redis:
    """A Redis client whose connects and commands give up after `timeout` seconds, retried
    `retries` times at once (a connection the server dropped is retried on a fresh one).

    redis-py's default retries three times with backoff: a frozen server would block a
    request for four timeouts.
    """
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), retries),
    )


def check_dependencies(settings: Settings) -> None:
    """Raise StartupError for the first dependency that cannot be used."""
    _check_cache_dir(settings.cache_dir)
    _check_database(settings)
    if settings.redis_url:
        _check_redis(settings.redis_url, settings.redis_timeout_seconds)


def _check_cache_dir(directory: Path) -> None:
    probe = directory / f".probe-{uuid.uuid4().hex}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise StartupError("CACHE_DIR", f"cannot write to {directory} ({error.strerror})") from None


def _check_database(settings: Settings) -> None:
    url = make_url(settings.database_url)
    where = (
        url.database or ":memory:"
        if url.get_backend_name() == "sqlite"
        else f"{url.host or 'localhost'}:{url.port or 5432}"
    )
    engine = make_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )

    def select_one() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        _within(settings.database_connect_timeout_seconds, select_one)
    except Exception as error:
        raise StartupError(
            "DATABASE_URL", f"cannot connect to {where} ({_first_line(error)})"
        ) from None
    finally:
        engine.dispose()


def _check_redis(url: str, timeout: float) -> None:
    parts = make_url(url.replace("rediss://", "redis://", 1))
    where = f"{parts.host or 'localhost'}:{parts.port or 6379}"
    client = redis_client(url, timeout, retries=0)
    try:
        _within(timeout, client.ping)
    except (redis.RedisError, TimeoutError) as error:
        raise StartupError(
            "REDIS_URL", f"cannot connect to {where} ({_first_line(error)})"
        ) from None
    finally:
        client.close()


def _within(seconds: float, check: Callable[[], object]) -> None:
    """Run `check`, raising TimeoutError when it has not finished after `seconds` (+1 s).

    Drivers apply a connect timeout per attempt, and libpq makes two for sslmode=prefer
    (with SSL, then without): a bound on the whole check keeps start-up within its promise.
    The abandoned thread is a daemon and ends with its own timeouts.
    """
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            check()
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, name="startup-check", daemon=True)
    thread.start()
    thread.join(seconds + 1.0)
    if not outcome:
        raise TimeoutError(f"no answer within {seconds + 1.0:g} s")
    if outcome[0] is not None:
        raise outcome[0]


def _first_line(error: BaseException) -> str:
    """The driver's own message (SQLAlchemy's wrapper adds a link and the statement)."""
    cause = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return (lines[0] if lines else type(cause).__name__)[:200]


__all__ = ["StartupError", "check_dependencies", "redis_client"]
