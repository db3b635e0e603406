"""Personal API tokens: shown once, stored as a SHA-256, listed by prefix, revocable.

A token is 32 random bytes, so a fast hash is enough: nobody can guess one to match a leaked
hash, and a slow one (argon2) would cost every API request tens of milliseconds.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from dashapp.accounts.users import Account, AccountError, find_user_named
from dashapp.db.engine import Database
from dashapp.db.models import ApiToken, User

TOKEN_PREFIX = "st_"
SCOPES = ("read", "write")
# Shown in lists: the "st_" and the first characters of the random part.
SHOWN_PREFIX_LENGTH = 10
# How precisely a token's last use is kept (see holder_of).
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class TokenHolder:
    """Whose a presented token is, and what it may do."""

    account: Account
    scope: str


def create_token(db: Database, username: str, scope: str, now: datetime) -> str:
    """A new token for `username`; the return value is the only time the token is seen."""
    if scope not in SCOPES:
        raise AccountError(f"a token's scope is one of {', '.join(SCOPES)}")
    account = find_user_named(db, username)
    if account is None:
        raise AccountError(f'no user named "{username}"')
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.session() as session:
        session.add(
            ApiToken(
                user_id=account.id,
                token_hash=token_hash(token),
                prefix=token[:SHOWN_PREFIX_LENGTH],
                scope=scope,
                created_at=now,
            )
        )
    return token


def list_tokens(db: Database, username: str | None = None) -> list[TokenInfo]:
    """Every token, or `username`'s (any case, as usernames are unique regardless of case)."""
    query = (
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.id)
    )
    if username is not None:
        query = query.where(func.lower(User.username) == username.strip().lower())
    with db.session() as session:
        return [
            TokenInfo(
                token.id,
                name,
                token.prefix,
                token.scope,
                token.created_at,
                token.last_used_at,
                token.revoked_at,
            )
            for token, name in session.execute(query)
        ]


def revoke_token(db: Database, token_id: int, now: datetime) -> None:
    with db.session() as session:
        result = session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        if result.rowcount == 0:
            raise AccountError(f"no live token with id {token_id}")


def holder_of(db: Database, token: str, now: datetime) -> TokenHolder | None:
    """The user a live token belongs to; None for an unknown or revoked one.

    Its last use is recorded to the minute: a script's every request need not write, so a read
    with a token is not held up by another process's write (SQLite has one writer at a time).
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    with db.session() as session:
        row = session.execute(
            select(
                ApiToken.id,
                ApiToken.scope,
                ApiToken.last_used_at,
                User.id,
                User.username,
                User.is_admin,
            )
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))
        ).first()
        if row is None:
            return None
        token_id, scope, last_used_at, user_id, username, is_admin = row
        if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
            session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
            )
    return TokenHolder(Account(user_id, username, is_admin, True), scope)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
