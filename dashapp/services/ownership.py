"""Whose request this is: every read or change of a portfolio, its transactions and what is
computed from them is limited to the acting user's portfolios.

The web layer says who acts for each request (`dashapp/accounts/web.py`), background callbacks
carry it to their thread or Celery worker (`ui/background_jobs.py`), and the service queries
here add it to their WHERE clause, so another user's portfolio is exactly as missing as one
that never existed. Work of the deployment itself (the clock's jobs, start-up, the command
line) acts as nobody in particular: `EVERYONE`, which sees every portfolio. Prices, quotes and
FX belong to no one and are shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Integer, bindparam, func, or_, select
from sqlalchemy.orm import Session

from dashapp.db.models import Portfolio, User

# Not a user id (ids start at 1): the deployment's own work, which sees every portfolio.
EVERYONE = -1
# Not a user id either: a request nobody signed in for, which owns nothing.
NOBODY = 0


@dataclass(frozen=True)
class Actor:
    """Who a request acts for: a user's id (or EVERYONE, NOBODY) and whether they administer."""

    user_id: int
    is_admin: bool = False


DEPLOYMENT = Actor(EVERYONE, is_admin=True)
ANONYMOUS = Actor(NOBODY)

_actor: ContextVar[Actor] = ContextVar("stocktracker_actor", default=DEPLOYMENT)

# For statements built once: `WHERE ... AND (portfolios.user_id = :acting_user OR
# :acting_user = -1)`, with `scope()` as the parameter's value.
ACTING_USER = bindparam("acting_user", type_=Integer)
OWNED_BY_ACTING_USER = or_(Portfolio.user_id == ACTING_USER, ACTING_USER == EVERYONE)


class NotSignedIn(PermissionError):
    """A change that needs an owner was asked for by nobody in particular."""


def actor() -> Actor:
    return _actor.get()


def acting_user() -> int:
    """The id of the user this request acts for; EVERYONE or NOBODY otherwise."""
    return _actor.get().user_id


def scope() -> dict[str, int]:
    """The parameter `OWNED_BY_ACTING_USER` needs."""
    return {"acting_user": _actor.get().user_id}


def owned() -> ColumnElement[bool]:
    """The condition that limits a query of `portfolios` to the acting user's."""
    user_id = _actor.get().user_id
    return Portfolio.user_id == user_id if user_id != EVERYONE else Portfolio.user_id.is_not(None)


def new_owner(connection: Connection | Session) -> int:
    """Who a new portfolio belongs to: the acting user; for the deployment's own work (the demo
    seed, the command line), the first user, who is AUTH=local's one user. Raises NotSignedIn
    for a request nobody signed in for."""
    user_id = _actor.get().user_id
    if user_id == NOBODY:
        raise NotSignedIn("a new portfolio needs an owner: sign in first")
    if user_id == EVERYONE:
        first = connection.execute(select(func.min(User.id))).scalar()
        if first is None:
            raise NotSignedIn("no user exists yet: create one with python -m dashapp.accounts")
        return first
    return user_id


def start_acting(acting: Actor) -> Token[Actor]:
    return _actor.set(acting)


def stop_acting(token: Token[Actor]) -> None:
    _actor.reset(token)


@contextmanager
def acting_as(acting: Actor) -> Iterator[None]:
    """Run the block as `acting` (tests, jobs carried to a worker, the command line)."""
    token = _actor.set(acting)
    try:
        yield
    finally:
        _actor.reset(token)


def owns(connection: Connection | Session, portfolio_id: int) -> bool:
    """True when the portfolio exists and the acting user may see it."""
    found = connection.execute(
        select(Portfolio.id).where(Portfolio.id == portfolio_id, owned())
    ).first()
    return found is not None
