"""Engine and session factory for SQLite (default) and PostgreSQL, with the same code path.

Every wait on the database is bounded, so a slow, dead or frozen server is an error within
seconds and a worker thread is never stuck on it:
- connecting: libpq's `connect_timeout`; a connection from a full pool: `pool_timeout`;
- a statement: the server's `statement_timeout` (and `lock_timeout`) cancels it cleanly;
- a server that stops answering altogether (a frozen host, a dead network path) cannot cancel
  anything, so each client-side wait also has a deadline a little past the statement timeout,
  after which the connection is closed and SQLAlchemy drops it from the pool.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as psycopg_errors
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

# How much longer than the statement timeout the client waits for a server that stopped
# answering: the server's own cancel, when it can still send one, arrives first.
CLIENT_DEADLINE_MARGIN_SECONDS = 2.0


def make_engine(
    database_url: str,
    *,
    connect_timeout: float = 5.0,
    statement_timeout: float = 10.0,
    **engine_options: Any,
) -> Engine:
    """An engine for `database_url`; SQLite gets WAL and a busy timeout so workers can share it,
    PostgreSQL the timeouts of this module's docstring."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": statement_timeout, "check_same_thread": False},
            **engine_options,
        )
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    engine_options.setdefault("pool_pre_ping", True)
    engine_options.setdefault("pool_timeout", connect_timeout)
    engine = create_engine(
        _with_server_timeouts(url, statement_timeout),
        # libpq counts whole seconds, and at least 2.
        connect_args={"connect_timeout": max(2, round(connect_timeout))},
        **engine_options,
    )
    if url.get_driver_name() == "psycopg":
        deadline = statement_timeout + CLIENT_DEADLINE_MARGIN_SECONDS
        connection_class = type(
            "DeadlineConnection", (DeadlineConnection,), {"deadline_seconds": deadline}
        )

        @event.listens_for(engine, "do_connect")
        def _connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
            return connection_class.connect(*cargs, **cparams)

    return engine


def _with_server_timeouts(url: URL, statement_timeout: float) -> URL:
    """`url` with statement and lock timeouts in libpq's `options`, after any options it has
    (a search_path, say)."""
    milliseconds = max(1, round(statement_timeout * 1000))
    timeouts = f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}"
    given = url.query.get("options")
    given = " ".join(given) if isinstance(given, tuple) else given
    return url.update_query_dict({"options": f"{given} {timeouts}" if given else timeouts})


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server ends after `deadline_seconds`.

    On expiry the connection is closed (it is mid-protocol, unusable) and the error is an
    OperationalError, which SQLAlchemy treats as a disconnect because the connection is closed.
    """

    deadline_seconds: float = 12.0

    def wait(self, gen: Any, interval: float | None = None, timeout: float | None = None) -> Any:
        options = {} if interval is None else {"interval": interval}
        try:
            limit = self.deadline_seconds if timeout is None else timeout
            return super().wait(gen, timeout=limit, **options)
        except psycopg_errors._WaitTimeout:
            if timeout is not None:
                raise
            self.close()
            raise psycopg.OperationalError(
                f"the database did not answer within {self.deadline_seconds:g} s"
            ) from None


# How often a waiter asks for an advisory lock that another session holds.
ADVISORY_POLL_SECONDS = 0.2


def wait_for_advisory_lock(connection: Connection, key: int) -> None:
    """Take PostgreSQL advisory lock `key` for the session, waiting as long as its holder needs.

    `pg_advisory_lock` would wait inside one statement, which the statement, lock and client
    timeouts above cut short (a fetch or a migration may hold a lock longer); asking with
    `pg_try_advisory_lock` until it is granted keeps every statement short, so a dead server
    is still noticed within seconds while a live holder is waited for.
    """
    lock = text("SELECT pg_try_advisory_lock(:key)")
    while not connection.execute(lock, {"key": key}).scalar():
        time.sleep(ADVISORY_POLL_SECONDS)


def _forget_pool(engine_ref: weakref.ref[Engine]) -> None:
    engine = engine_ref()
    if engine is not None:
        engine.dispose(close=False)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    """An engine plus its session factory; `session()` is a unit of work that commits or rolls back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # A forked process (Celery's prefork workers, the jobs' process tests) must open its own
        # connections instead of sharing the parent's sockets and SQLite handles.
        engine_ref = weakref.ref(engine)
        os.register_at_fork(after_in_child=lambda: _forget_pool(engine_ref))

    @classmethod
    def from_url(cls, database_url: str, **engine_options: Any) -> Database:
        """`engine_options` go to `make_engine` (its timeouts) and on to SQLAlchemy."""
        return cls(make_engine(database_url, **engine_options))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
