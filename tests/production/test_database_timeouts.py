"""PostgreSQL waits are bounded (dashapp/db/engine.py), except a lock's holder, which is waited
for as long as it holds the lock. Real PostgreSQL, frozen through a proxy this test starts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from dashapp.db.engine import CLIENT_DEADLINE_MARGIN_SECONDS, Database, make_engine
from dashapp.market.fetch_lock import ADVISORY_KEY_BASE, FetchLocks, stripe_of
from tests.conftest import TEST_DATABASE_URL
from tests.tcp_proxy import TcpProxy

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
]
STATEMENT_SECONDS = 1.0


def test_a_slow_statement_is_cancelled_by_the_server():
    engine = make_engine(TEST_DATABASE_URL, statement_timeout=STATEMENT_SECONDS)
    try:
        with engine.connect() as connection, pytest.raises(OperationalError) as raised:
            connection.execute(text("SELECT pg_sleep(30)"))
        assert "statement timeout" in str(raised.value.orig)
        with engine.connect() as connection:  # the pool still works
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_a_frozen_server_is_given_up_and_its_connection_dropped():
    with TcpProxy("127.0.0.1", 5432) as proxy:
        engine = make_engine(
            proxy.url_for(TEST_DATABASE_URL), connect_timeout=2, statement_timeout=STATEMENT_SECONDS
        )
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT 1")).scalar() == 1
                proxy.freeze()
                started = time.monotonic()
                with pytest.raises(DBAPIError) as raised:
                    connection.execute(text("SELECT 1"))
                waited = time.monotonic() - started
            assert raised.value.connection_invalidated
            assert "did not answer within" in str(raised.value.orig)
            # About the deadline (a hang detector, not a benchmark).
            assert waited < (STATEMENT_SECONDS + CLIENT_DEADLINE_MARGIN_SECONDS) * 5
            proxy.restore()
            with engine.connect() as connection:
                assert connection.execute(text("SELECT 1")).scalar() == 1
        finally:
            engine.dispose()


def test_a_fetch_lock_held_past_the_timeouts_is_waited_for(tmp_path: Path):
    db = Database.from_url(TEST_DATABASE_URL, statement_timeout=STATEMENT_SECONDS)
    locks = FetchLocks(db, tmp_path)
    held = STATEMENT_SECONDS + CLIENT_DEADLINE_MARGIN_SECONDS + 1
    outcome: list[object] = []

    def second_fetch() -> None:
        try:
            with locks.hold(["SPY"]):
                outcome.append(time.monotonic())
        except Exception as error:
            outcome.append(error)

    try:
        with db.engine.connect() as holder:
            key = ADVISORY_KEY_BASE + stripe_of("SPY")
            assert holder.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            waiter = threading.Thread(target=second_fetch)
            waiter.start()
            time.sleep(held)
            assert outcome == [], "the lock was taken while held"
            released = time.monotonic()
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            holder.commit()
            waiter.join(timeout=30)
        assert len(outcome) == 1 and isinstance(outcome[0], float), outcome
        assert outcome[0] >= released
    finally:
        db.dispose()
