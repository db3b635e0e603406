"""Users and their passwords: create, find, and check a sign-in against the throttle."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashapp.db.engine import Database
from dashapp.db.models import User

USERNAME_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
# Failed sign-ins in a row before the next one waits; each further failure doubles the wait.
FREE_FAILURES = 5
FIRST_LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 15 * 60
# argon2id with argon2-cffi's defaults (RFC 9106's second recommendation): slow on purpose.
PASSWORDS = PasswordHasher()
# Checked when the username is unknown, so that a wrong name costs as long as a wrong password.
UNKNOWN_USER_HASH = PASSWORDS.hash("no user has this password")


class AccountError(ValueError):
    """A username or password that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    is_admin: bool
    can_sign_in: bool
    # Changes when the password changes or the user signs out: a session cookie carries the
    # stamp it was signed with and is no longer accepted once they differ.
    session_stamp: str = ""


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in: the account, or why not (and until when it must wait)."""

    account: Account | None
    locked_until: datetime | None = None


def create_user(db: Database, username: str, password: str, *, admin: bool = False) -> Account:
    """A new user with an argon2id password hash.

    The first account made while the only user is migration 0004's passwordless `local` takes
    that user over, and with it every portfolio made in AUTH=local mode; it administers.
    """
    clean_name = check_username(username)
    check_password(password)
    password_hash = PASSWORDS.hash(password)
    try:
        with db.session() as session:
            if _by_name(session, clean_name) is not None:
                raise AccountError(f'a user named "{clean_name}" exists already')
            unclaimed = _unclaimed_user(session)
            if unclaimed is not None and _take_over(session, unclaimed, clean_name, password_hash):
                taken = session.execute(
                    select(User)
                    .where(User.id == unclaimed)
                    .execution_options(populate_existing=True)
                ).scalar_one()
                return _account(taken)
            user = User(
                username=clean_name, password_hash=password_hash, is_admin=admin, failed_signins=0
            )
            session.add(user)
            session.flush()
            return _account(user)
    except IntegrityError:
        # The same name, made by another command between the check above and this one's write.
        raise AccountError(f'a user named "{clean_name}" exists already') from None


def set_password(db: Database, username: str, password: str) -> Account:
    check_password(password)
    with db.session() as session:
        user = _by_name(session, username)
        if user is None:
            raise AccountError(f'no user named "{username}"')
        user.password_hash = PASSWORDS.hash(password)
        user.failed_signins = 0
        user.locked_until = None
        return _account(user)


def list_users(db: Database) -> list[Account]:
    with db.session() as session:
        return [_account(user) for user in session.scalars(select(User).order_by(User.id))]


def find_user(db: Database, user_id: int) -> Account | None:
    with db.engine.connect() as connection:
        row = connection.execute(
            select(
                User.id, User.username, User.is_admin, User.password_hash, User.session_epoch
            ).where(User.id == user_id)
        ).first()
    if row is None:
        return None
    return Account(
        row.id,
        row.username,
        row.is_admin,
        row.password_hash is not None,
        _stamp(row.password_hash, row.session_epoch),
    )


def find_user_named(db: Database, username: str) -> Account | None:
    with db.session() as session:
        user = _by_name(session, username)
        return None if user is None else _account(user)


def first_user(db: Database) -> Account | None:
    """AUTH=local's one user (and the demo's): the user with the smallest id."""
    with db.engine.connect() as connection:
        first_id = connection.execute(select(func.min(User.id))).scalar()
    return None if first_id is None else find_user(db, first_id)


class StrangerFailures(Protocol):
    """Where failed sign-ins under names no account has are counted (a diskcache: the app's
    shared cache). Without it an unknown name would never wait, and five wrong passwords
    would tell a real username from a made-up one."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, expire: float | None = None) -> bool: ...


def sign_in(
    db: Database,
    username: str,
    password: str,
    now: datetime,
    strangers: StrangerFailures | None = None,
) -> SignIn:
    """Check a password. After FREE_FAILURES wrong ones in a row the account waits 30 s before
    the next try, doubling with each further failure up to 15 minutes; a try during the wait
    is refused unchecked. An unknown name costs one hash check too and answers alike, its
    failures counted in `strangers` with the same waits."""
    with db.session() as session:
        user = _by_name(session, username) if isinstance(username, str) else None
        if user is None or user.password_hash is None:
            _verify(UNKNOWN_USER_HASH, password)
            if strangers is None or not isinstance(username, str):
                return SignIn(None)
            return SignIn(None, _stranger_failed(strangers, username, now))
        if user.locked_until is not None and user.locked_until > now:
            return SignIn(None, user.locked_until)
        if not _verify(user.password_hash, password):
            # Counted by the database, not from the row read above: tries made side by side
            # would each write the same count, and the wait would never start.
            failures = session.execute(
                update(User)
                .where(User.id == user.id)
                .values(failed_signins=User.failed_signins + 1)
                .returning(User.failed_signins)
                .execution_options(synchronize_session=False)
            ).scalar_one()
            extra = failures - FREE_FAILURES
            if extra >= 0:
                wait = min(FIRST_LOCK_SECONDS * 2**extra, MAX_LOCK_SECONDS)
                user.locked_until = now + timedelta(seconds=wait)
            return SignIn(None, user.locked_until)
        user.failed_signins = 0
        user.locked_until = None
        if PASSWORDS.check_needs_rehash(user.password_hash):
            user.password_hash = PASSWORDS.hash(password)
        return SignIn(_account(user))


def _stranger_failed(strangers: StrangerFailures, username: str, now: datetime) -> datetime | None:
    """Count one failure under a name no account has; returns until when it must wait."""
    key = "signin-stranger:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()
    failures, locked_until = strangers.get(key) or (0, None)
    if locked_until is not None and locked_until > now:
        return locked_until
    failures += 1
    extra = failures - FREE_FAILURES
    if extra >= 0:
        wait = min(FIRST_LOCK_SECONDS * 2**extra, MAX_LOCK_SECONDS)
        locked_until = now + timedelta(seconds=wait)
    strangers.set(key, (failures, locked_until), expire=MAX_LOCK_SECONDS * 2)
    return locked_until


def check_username(username: str) -> str:
    clean = (username or "").strip()
    if not USERNAME_PATTERN.match(clean):
        raise AccountError(
            "a username is 1 to 64 letters, digits, dots, dashes or underscores,"
            " starting with a letter or digit"
        )
    return clean


def check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


def _verify(password_hash: str, password: str) -> bool:
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return PASSWORDS.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _unclaimed_user(session: Session) -> int | None:
    """The id of migration 0004's `local` while it is the only user and has no password."""
    users = session.execute(select(User.id, User.password_hash).order_by(User.id).limit(2)).all()
    return users[0].id if len(users) == 1 and users[0].password_hash is None else None


def _take_over(session: Session, user_id: int, username: str, password_hash: str) -> bool:
    """Give the passwordless user a name, a password and the admin role; False if it has a
    password by now. Of two first accounts made at once, the second one's write waits for the
    first and then finds the user taken, instead of renaming the first account."""
    taken = session.execute(
        update(User)
        .where(User.id == user_id, User.password_hash.is_(None))
        .values(username=username, password_hash=password_hash, is_admin=True)
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1


def _by_name(session: Session, username: str) -> User | None:
    return session.execute(
        select(User).where(func.lower(User.username) == username.strip().lower())
    ).scalar_one_or_none()


def end_sessions(db: Database, user_id: int) -> None:
    """Sign the user out everywhere: every session cookie issued so far stops working."""
    with db.session() as session:
        session.execute(
            update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1)
        )


def _stamp(password_hash: str | None, session_epoch: int | None) -> str:
    material = f"{password_hash or ''}:{session_epoch or 0}".encode()
    return hashlib.sha256(material).hexdigest()[:24]


def _account(user: User) -> Account:
    return Account(
        user.id,
        user.username,
        user.is_admin,
        user.password_hash is not None,
        _stamp(user.password_hash, user.session_epoch),
    )
