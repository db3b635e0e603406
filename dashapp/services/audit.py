"""A portfolio's history: who changed its ledger or its name, when, and what the change did.

Each change a service makes writes one `ledger_changes` row with `record`, inside the database
transaction of the change itself: a refused change rolls back its record with it, and a record
exists only for a change that was stored. One change is one row whatever its size: an import of
20,000 transactions is one "import" row. Who is the acting user (`services.ownership`); the
deployment's own work (EVERYONE: the command line, start-up, jobs) is stored as NULL and shown
as "deployment". When is the context's clock.

Deleting a portfolio deletes its history with it (ON DELETE CASCADE, migration 0004), so a
deletion is not recorded: the history is read only through the portfolio's own page and API,
which a deleted portfolio no longer has, and whoever deletes a portfolio means its data to go.

`detail` by action (a transaction's fields as `transaction_fields` writes them, dates ISO):

    add     {"transaction": fields}
    edit    {"before": fields, "after": fields}
    delete  {"transaction": fields}
    import  {"rows": n, "skipped": n, "filename": str, "format": str}
    accept  {"proposal": key, "transaction": fields}
    create  {"name": str, "base_currency": str}
    rename  {"before": str, "after": str}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from dashapp.db.models import LedgerChange, User
from dashapp.rules import LEDGER_FIELDS
from dashapp.services.ledger_numbers import format_number
from dashapp.services.ownership import EVERYONE, NOBODY, NotSignedIn, acting_user

if TYPE_CHECKING:
    from dashapp.services.context import AppContext
    from dashapp.services.portfolios import PortfolioSummary
    from dashapp.services.transactions import TransactionRow

Action = Literal["add", "edit", "delete", "import", "accept", "create", "rename"]

# What a page of history holds unless asked otherwise, and at most.
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Who a change of the deployment's own work (no user) is shown as.
DEPLOYMENT_NAME = "deployment"
# A transaction's fields as an edit names them.
FIELD_NAMES = {"trade_date": "date"}
# Kinds whose amount is quantity x price rather than shares at a price (analytics.holdings).
CASH_KINDS = ("DEPOSIT", "WITHDRAWAL", "FEE")


@dataclass(frozen=True)
class Change:
    """One recorded change; `username` is None for the deployment's own work."""

    id: int
    at: datetime
    username: str | None
    action: str
    detail: dict[str, Any]

    @property
    def who(self) -> str:
        return self.username if self.username is not None else DEPLOYMENT_NAME

    @property
    def summary(self) -> str:
        """What the change did, in words: "added BUY 10 AAPL @ 150.00 on 2024-01-02"."""
        return summary(self.action, self.detail)


@dataclass(frozen=True)
class HistoryPage:
    """Changes newest first; `older` is the `before` that asks for the next page, None at the end."""

    changes: list[Change]
    older: int | None


def record(
    ctx: AppContext, session: Session, portfolio_id: int, action: Action, detail: dict[str, Any]
) -> None:
    """Add one change of `portfolio_id` to its history, in `session`'s database transaction: call
    it after the change is validated and before the session commits."""
    session.execute(
        insert(LedgerChange).values(
            portfolio_id=portfolio_id,
            user_id=_who(),
            at=ctx.clock.now(),
            action=action,
            detail=detail,
        )
    )


def transaction_fields(row: TransactionRow) -> dict[str, Any]:
    """A stored transaction as its history keeps it: id and fields, as JSON."""
    fields: dict[str, Any] = {"id": row.id}
    for name in LEDGER_FIELDS:
        value = getattr(row, name)
        fields[name] = value.isoformat() if name == "trade_date" else value
    return fields


def history(
    ctx: AppContext,
    portfolio: PortfolioSummary,
    limit: int = DEFAULT_LIMIT,
    before: int | None = None,
) -> HistoryPage:
    """The portfolio's changes newest first, at most `limit` (1 to MAX_LIMIT) of them, only
    those older than the change `before` when given. `portfolio` comes from
    `portfolios.get_portfolio`, which answers PortfolioNotFound for another user's portfolio
    exactly as for a missing one: that check is the only way here."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be from 1 to {MAX_LIMIT}")
    query = (
        select(
            LedgerChange.id,
            LedgerChange.at,
            User.username,
            LedgerChange.action,
            LedgerChange.detail,
        )
        .outerjoin(User, User.id == LedgerChange.user_id)
        .where(LedgerChange.portfolio_id == portfolio.id)
        # Ids grow with each change; they order a portfolio's changes even when two share a time.
        .order_by(LedgerChange.id.desc())
        # One more than asked tells whether an older page exists.
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(LedgerChange.id < before)
    with ctx.db.engine.connect() as connection:
        rows = connection.execute(query).all()
    changes = [Change(*row) for row in rows[:limit]]
    older = changes[-1].id if len(rows) > limit else None
    return HistoryPage(changes, older)


def summary(action: str, detail: dict[str, Any]) -> str:
    """One change in words, from its action and detail (see the module's docstring)."""
    if action == "add":
        return f"added {_line(detail['transaction'])}"
    if action == "edit":
        return _edit(detail["before"], detail["after"])
    if action == "delete":
        return f"deleted {_line(detail['transaction'])}"
    if action == "import":
        rows, skipped = detail["rows"], detail.get("skipped", 0)
        source = detail["filename"] or "a file"
        plural = "" if rows == 1 else "s"
        return f"imported {rows:,} row{plural} from {source}" + (
            f" (skipped {skipped:,})" if skipped else ""
        )
    if action == "accept":
        return f"accepted the proposed {_line(detail['transaction'])}"
    if action == "create":
        return f'created the portfolio "{detail["name"]}" in {detail["base_currency"]}'
    if action == "rename":
        return f'renamed the portfolio "{detail["before"]}" to "{detail["after"]}"'
    return action


def _who() -> int | None:
    user_id = acting_user()
    if user_id == NOBODY:
        # The services refuse an anonymous change before it gets here; a record must not lie.
        raise NotSignedIn("a change of a ledger needs a signed-in user")
    return None if user_id == EVERYONE else user_id


def _line(fields: dict[str, Any]) -> str:
    """A transaction in a few words: "BUY 10 AAPL @ 150.00 on 2024-01-02"."""
    kind, ticker = fields["kind"], fields.get("ticker") or ""
    quantity, price, fees = fields["quantity"], fields["price"], fields.get("fees") or 0.0
    if kind == "SPLIT":
        what = f"SPLIT {ticker} {format_number(quantity)}-for-1"
    elif kind in CASH_KINDS:
        what = " ".join(part for part in (kind, ticker, _amount(quantity * price)) if part)
    else:
        what = f"{kind} {format_number(quantity)} {ticker} @ {_amount(price)}"
    if fees:
        what += f" (fees {_amount(fees)})"
    return f"{what} on {fields['trade_date']}"


def _edit(before: dict[str, Any], after: dict[str, Any]) -> str:
    changed = [
        f"{FIELD_NAMES.get(name, name)} {_value(name, before.get(name))} → "
        f"{_value(name, after.get(name))}"
        for name in LEDGER_FIELDS
        if before.get(name) != after.get(name)
    ]
    return f"edited {_line(before)}: " + (", ".join(changed) if changed else "nothing changed")


def _value(name: str, value: Any) -> str:
    if name == "note":
        return f'"{value or ""}"'
    if isinstance(value, float):
        return format_number(value)
    return "none" if value is None or value == "" else str(value)


def _amount(value: float) -> str:
    """Money with two decimals, or all of its digits when it has more (a price of 0.0012)."""
    return f"{value:,.2f}" if round(value, 2) == value else format_number(value)
