"""Accounts as the database keeps them: argon2id password hashes, the sign-in throttle, the
first account taking over AUTH=local's user, and API tokens stored only as a SHA-256."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from threading import Barrier

import pytest
from argon2 import PasswordHasher, Type
from argon2.exceptions import VerifyMismatchError
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from dashapp.accounts import users
from dashapp.accounts.tokens import create_token, holder_of, list_tokens, revoke_token
from dashapp.accounts.users import (
    FREE_FAILURES,
    AccountError,
    create_user,
    list_users,
    set_password,
    sign_in,
)
from dashapp.db.engine import Database
from dashapp.db.models import Portfolio, User
from dashapp.services.ownership import Actor, acting_as
from dashapp.services.portfolios import (
    PortfolioNotFound,
    create_portfolio,
    get_portfolio,
    list_portfolios,
)

PASSWORD = "correct horse battery"
WRONG = "incorrect horse battery"


def stored_hash(app_context, username: str) -> str:
    with app_context.db.session() as session:
        return session.execute(
            select(User.password_hash).where(User.username == username)
        ).scalar_one()


def test_a_password_is_stored_as_an_argon2id_hash_never_as_text(app_context):
    create_user(app_context.db, "alice", PASSWORD)
    stored = stored_hash(app_context, "alice")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    # An independent check of the same hash: argon2id with the stored parameters accepts it.
    assert PasswordHasher(type=Type.ID).verify(stored, PASSWORD)
    with pytest.raises(VerifyMismatchError):
        PasswordHasher(type=Type.ID).verify(stored, WRONG)


def test_the_right_password_signs_in_and_a_wrong_one_or_an_unknown_name_does_not(
    app_context, clock
):
    db = app_context.db
    alice = create_user(db, "alice", PASSWORD)
    assert sign_in(db, "alice", PASSWORD, clock.now()).account == alice
    assert sign_in(db, "ALICE", PASSWORD, clock.now()).account == alice
    assert sign_in(db, "alice", WRONG, clock.now()).account is None
    assert sign_in(db, "nobody", PASSWORD, clock.now()).account is None


def test_after_five_failures_the_right_password_waits_and_each_further_failure_doubles_the_wait(
    app_context, clock
):
    db = app_context.db
    create_user(db, "alice", PASSWORD)
    for _ in range(5):
        assert sign_in(db, "alice", WRONG, clock.now()).account is None
    first_lock = clock.now() + timedelta(seconds=30)

    refused = sign_in(db, "alice", PASSWORD, clock.now())
    assert refused.account is None
    assert refused.locked_until == first_lock
    clock.advance(timedelta(seconds=29))
    assert sign_in(db, "alice", PASSWORD, clock.now()).account is None

    # The wait is over: a sixth wrong password locks for 60 s, twice the first wait.
    clock.advance(timedelta(seconds=1))
    sixth = sign_in(db, "alice", WRONG, clock.now())
    assert sixth.locked_until == clock.now() + timedelta(seconds=60)
    clock.advance(timedelta(seconds=59))
    assert sign_in(db, "alice", PASSWORD, clock.now()).account is None
    clock.advance(timedelta(seconds=1))
    assert sign_in(db, "alice", PASSWORD, clock.now()).account is not None

    # A success starts the count again: four failures lock nothing.
    for _ in range(4):
        sign_in(db, "alice", WRONG, clock.now())
    assert sign_in(db, "alice", PASSWORD, clock.now()).account is not None


def test_a_refused_try_during_the_wait_does_not_lengthen_it(app_context, clock):
    db = app_context.db
    create_user(db, "alice", PASSWORD)
    for _ in range(5):
        sign_in(db, "alice", WRONG, clock.now())
    for _ in range(10):
        assert sign_in(db, "alice", WRONG, clock.now()).locked_until == clock.now() + timedelta(
            seconds=30
        )
    clock.advance(timedelta(seconds=30))
    assert sign_in(db, "alice", PASSWORD, clock.now()).account is not None


def test_a_new_password_replaces_the_old_and_ends_the_wait(app_context, clock):
    db = app_context.db
    create_user(db, "alice", PASSWORD)
    for _ in range(5):
        sign_in(db, "alice", WRONG, clock.now())
    set_password(db, "alice", "a brand new password")
    assert sign_in(db, "alice", PASSWORD, clock.now()).account is None
    assert sign_in(db, "alice", "a brand new password", clock.now()).account is not None


def test_the_first_account_takes_over_the_local_user_and_its_portfolios(app_context):
    db = app_context.db
    [local] = list_users(db)
    assert (local.username, local.can_sign_in) == ("local", False)
    # Made in AUTH=local mode (the deployment acts), so owned by `local`.
    savings = create_portfolio(app_context, "Savings")

    alice = create_user(db, "alice", PASSWORD)

    assert alice.id == local.id
    assert (alice.username, alice.is_admin, alice.can_sign_in) == ("alice", True, True)
    assert [user.username for user in list_users(db)] == ["alice"]
    with db.session() as session:
        assert session.get(Portfolio, savings.id).user_id == alice.id
    with acting_as(Actor(alice.id)):
        assert [p.name for p in list_portfolios(app_context)] == ["Savings"]


def test_a_second_account_takes_over_nothing(app_context):
    db = app_context.db
    savings = create_portfolio(app_context, "Savings")
    alice = create_user(db, "alice", PASSWORD)

    bob = create_user(db, "bob", PASSWORD)

    assert bob.id != alice.id
    assert not bob.is_admin
    assert [(u.username, u.is_admin) for u in list_users(db)] == [
        ("alice", True),
        ("bob", False),
    ]
    with db.session() as session:
        assert session.get(Portfolio, savings.id).user_id == alice.id
    with acting_as(Actor(bob.id)):
        assert list_portfolios(app_context) == []
        with pytest.raises(PortfolioNotFound):
            get_portfolio(app_context, savings.id)


def test_usernames_are_unique_whatever_their_case_and_passwords_have_a_minimum(app_context):
    db = app_context.db
    create_user(db, "alice", PASSWORD)
    with pytest.raises(AccountError, match="exists already"):
        create_user(db, "Alice", PASSWORD)
    with pytest.raises(AccountError, match="at least 10"):
        create_user(db, "bob", "short")
    with pytest.raises(AccountError, match="username"):
        create_user(db, "bob smith", PASSWORD)


def test_only_the_sha256_of_a_token_is_stored(app_context, clock):
    db = app_context.db
    create_user(db, "alice", PASSWORD)

    token = create_token(db, "alice", "read", clock.now())

    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_tokens")).mappings().all()
    assert len(rows) == 1
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    secret_part = token[len("st_") :]
    assert not any(secret_part in str(value) for value in rows[0].values())


def test_a_token_is_listed_by_its_prefix_and_a_revoked_one_is_unknown(app_context, clock):
    db = app_context.db
    alice = create_user(db, "alice", PASSWORD)
    token = create_token(db, "alice", "write", clock.now())
    holder = holder_of(db, token, clock.now())
    assert (holder.account.id, holder.scope) == (alice.id, "write")

    [listed] = list_tokens(db, "ALICE")
    assert (listed.username, listed.prefix, listed.scope) == ("alice", token[:10], "write")
    assert (listed.created_at, listed.last_used_at, listed.revoked_at) == (
        clock.now(),
        clock.now(),
        None,
    )

    clock.advance(timedelta(minutes=5))
    revoke_token(db, listed.id, clock.now())

    assert holder_of(db, token, clock.now()) is None
    assert list_tokens(db)[0].revoked_at == clock.now()
    with pytest.raises(AccountError, match="no live token"):
        revoke_token(db, listed.id, clock.now())


def test_a_made_up_token_or_scope_is_refused(app_context, clock):
    db = app_context.db
    create_user(db, "alice", PASSWORD)
    token = create_token(db, "alice", "read", clock.now())
    assert holder_of(db, token[:-1] + ("A" if token[-1] != "A" else "B"), clock.now()) is None
    assert holder_of(db, "st_" + "x" * 43, clock.now()) is None
    with pytest.raises(AccountError, match="scope"):
        create_token(db, "alice", "admin", clock.now())
    with pytest.raises(AccountError, match="no user"):
        create_token(db, "carol", "read", clock.now())


def side_by_side(count: int, work) -> list:
    """Run `work(i)` in `count` threads at once; the answers in order, or the first error."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(work, range(count)))


def test_wrong_passwords_tried_side_by_side_all_count_towards_the_wait(
    app_context, clock, monkeypatch
):
    db = app_context.db
    create_user(db, "alice", PASSWORD)
    tries = FREE_FAILURES + 1
    # Every try has read the account before any of them records its failure.
    everyone_read = Barrier(tries, timeout=30)
    check = users._verify

    def verify_when_all_have_read(password_hash: str, password: str) -> bool:
        everyone_read.wait()
        return check(password_hash, password)

    monkeypatch.setattr(users, "_verify", verify_when_all_have_read)

    side_by_side(tries, lambda _: sign_in(db, "alice", WRONG, clock.now()))

    monkeypatch.setattr(users, "_verify", check)
    # Six failures: the first wait (30 s) doubled once.
    refused = sign_in(db, "alice", PASSWORD, clock.now())
    assert refused.account is None
    assert refused.locked_until == clock.now() + timedelta(seconds=60)


def test_two_first_accounts_made_at_once_take_over_local_only_once(app_context, monkeypatch):
    db = app_context.db
    both_looked = Barrier(2, timeout=30)
    look = users._unclaimed_user

    def look_then_wait(session):
        found = look(session)
        both_looked.wait()
        return found

    monkeypatch.setattr(users, "_unclaimed_user", look_then_wait)

    made = side_by_side(2, lambda i: create_user(db, ["alice", "bob"][i], f"{PASSWORD} {i}"))

    assert sorted(account.username for account in made) == ["alice", "bob"]
    assert sorted(user.username for user in list_users(db)) == ["alice", "bob"]
    assert sum(account.is_admin for account in made) == 1
    for i, name in enumerate(["alice", "bob"]):
        assert sign_in(db, name, f"{PASSWORD} {i}", app_context.clock.now()).account


@contextmanager
def another_writer(database_url: str) -> Iterator[None]:
    """Another process in the middle of a write: SQLite's one write lock; on PostgreSQL the
    token rows locked (a revoke or another request recording its use)."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.execute(text("SELECT id FROM api_tokens FOR UPDATE"))
            yield
            connection.rollback()
    finally:
        engine.dispose()


def test_a_token_used_again_within_the_minute_does_not_wait_for_a_writer(
    app_context, clock, database_url
):
    create_user(app_context.db, "alice", PASSWORD)
    token = create_token(app_context.db, "alice", "read", clock.now())
    assert holder_of(app_context.db, token, clock.now()) is not None
    impatient = Database.from_url(database_url, statement_timeout=1.0)
    try:
        with another_writer(database_url):
            clock.advance(timedelta(seconds=59))
            started = time.monotonic()
            assert holder_of(impatient, token, clock.now()).account.username == "alice"
            assert time.monotonic() - started < 0.5
        # Once the minute has passed, the use is recorded again.
        clock.advance(timedelta(seconds=1))
        holder_of(impatient, token, clock.now())
    finally:
        impatient.dispose()
    assert list_tokens(app_context.db)[0].last_used_at == clock.now()
