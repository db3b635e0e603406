"""Adding, editing and deleting a portfolio's transactions, each validated against the whole ledger.

A change is refused with a `LedgerError` listing every `RowError` found (row, column, message),
never half-applied: first every field of every new row against the field rules
(`ledger_fields`), then the whole ledger with the change (`ledger_check`), so that a SELL may not
exceed the shares held on its date, and neither may editing or deleting an earlier row make a
later SELL exceed them. Every accepted change bumps `Portfolio.version` and is recorded in the
portfolio's history (`audit`: who, when, the fields before and after) in the same database
transaction, so a refused change leaves no trace and a recorded one was stored.

Whether the market data provider knows a ticker is never asked while validating (that would
block on the network): `ticker_status` reads the cache, `check_tickers` asks the provider in
the background.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.orm import Session

from dashapp.analytics.holdings import LedgerLine
from dashapp.db.models import PriceCoverage, Quote, Transaction
from dashapp.market.errors import failed_as_unknown
from dashapp.rules import LEDGER_FIELDS as FIELDS
from dashapp.services import audit
from dashapp.services.context import AppContext
from dashapp.services.ledger_check import NEW_ID_BASE, check_ledger
from dashapp.services.ledger_fields import (
    CleanTransaction,
    ColumnLabels,
    LedgerError,
    RowError,
    TradingSessions,
    TransactionDraft,
    clean_fields,
    exchange_today,
)
from dashapp.services.ledger_numbers import POINT_DECIMALS, NumberStyle
from dashapp.services.portfolios import bump_version, owned_portfolio

TickerStatus = Literal["known", "unknown", "unchecked"]


class TransactionNotFound(LookupError):
    def __init__(self, portfolio_id: int, transaction_id: int) -> None:
        super().__init__(f"transaction {transaction_id} does not exist in portfolio {portfolio_id}")
        self.portfolio_id = portfolio_id
        self.transaction_id = transaction_id


@dataclass(frozen=True)
class TransactionRow:
    """A stored transaction."""

    id: int
    portfolio_id: int
    trade_date: date
    kind: str
    ticker: str | None
    quantity: float
    price: float
    fees: float
    currency: str
    note: str


# ----- public use cases ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredLedger:
    """A portfolio's base currency and its stored ledger in ledger order, read in one session:
    what an import preview validates against and looks for repeats in."""

    portfolio_id: int
    base_currency: str
    rows: list[TransactionRow]


def list_transactions(ctx: AppContext, portfolio_id: int) -> list[TransactionRow]:
    """The ledger in ledger order (trade_date, id). Raises PortfolioNotFound."""
    with ctx.db.session() as session:
        owned_portfolio(session, portfolio_id)
        return _stored_rows(session, portfolio_id)


def stored_ledger(ctx: AppContext, portfolio_id: int) -> StoredLedger:
    """The portfolio and its ledger (two statements). Raises PortfolioNotFound."""
    with ctx.db.session() as session:
        return _stored_ledger(session, portfolio_id)


def add_transaction(
    ctx: AppContext, portfolio_id: int, draft: TransactionDraft, proposal: str | None = None
) -> TransactionRow:
    """Validate `draft` against the field rules and the whole ledger, store it, bump the version.

    The history records an "add", or the "accept" of the corporate-action `proposal` (its key)
    that the draft is. Raises LedgerError (rows None) or PortfolioNotFound.
    """
    with ctx.db.session() as session:
        bump_version(session, portfolio_id)
        portfolio = owned_portfolio(session, portfolio_id)
        clean = _clean_one(ctx, draft, portfolio.base_currency)
        proposed = NEW_ID_BASE + 1
        check_ledger([*_stored_entries(session, portfolio_id), (proposed, clean)], {proposed: None})
        model = Transaction(portfolio_id=portfolio_id, **clean.values())
        session.add(model)
        session.flush()
        row = _row(model)
        fields = audit.transaction_fields(row)
        if proposal is None:
            audit.record(ctx, session, portfolio_id, "add", {"transaction": fields})
        else:
            detail = {"proposal": proposal, "transaction": fields}
            audit.record(ctx, session, portfolio_id, "accept", detail)
        return row


def update_transaction(
    ctx: AppContext, portfolio_id: int, transaction_id: int, draft: TransactionDraft
) -> TransactionRow:
    """Replace every field of one transaction by `draft`, validated like `add_transaction` with
    the edited row in its place (so an edit that oversells a later SELL is refused)."""
    with ctx.db.session() as session:
        bump_version(session, portfolio_id)
        portfolio = owned_portfolio(session, portfolio_id)
        model = _transaction(session, portfolio_id, transaction_id)
        clean = _clean_one(ctx, draft, portfolio.base_currency)
        others = _stored_entries(session, portfolio_id, without=model.id)
        check_ledger([*others, (model.id, clean)], {model.id: None}, "editing this transaction")
        before = audit.transaction_fields(_row(model))
        for name, value in clean.values().items():
            setattr(model, name, value)
        session.flush()
        row = _row(model)
        detail = {"before": before, "after": audit.transaction_fields(row)}
        audit.record(ctx, session, portfolio_id, "edit", detail)
        return row


def delete_transaction(ctx: AppContext, portfolio_id: int, transaction_id: int) -> None:
    """Delete one transaction unless the ledger without it oversells a later SELL."""
    with ctx.db.session() as session:
        bump_version(session, portfolio_id)
        owned_portfolio(session, portfolio_id)
        model = _transaction(session, portfolio_id, transaction_id)
        others = _stored_entries(session, portfolio_id, without=model.id)
        check_ledger(others, {}, action="deleting this transaction")
        detail = {"transaction": audit.transaction_fields(_row(model))}
        session.execute(delete(Transaction).where(Transaction.id == model.id))
        audit.record(ctx, session, portfolio_id, "delete", detail)


def add_transactions(
    ctx: AppContext,
    portfolio_id: int,
    rows: Sequence[tuple[int | None, TransactionDraft]],
    style: NumberStyle = POINT_DECIMALS,
    labels: dict[str, str] | None = None,
    *,
    source: dict[str, Any],
) -> int:
    """Add many drafts at once (the import): all of them or none, one version bump, and one
    "import" in the history, whose detail is `source` (the file: name, format, rows skipped)
    with the number of rows added.

    `rows` pairs each draft with the row number its errors should carry; `labels` maps field
    names to the column headers the errors should name. Returns the new version. Raises
    LedgerError listing every bad row.
    """
    with ctx.db.session() as session:
        version = bump_version(session, portfolio_id)
        cleaned = validate_additions(
            ctx, _stored_ledger(session, portfolio_id), rows, style, labels
        )
        if cleaned:
            session.execute(
                insert(Transaction),
                [{"portfolio_id": portfolio_id, **clean.values()} for _, clean in cleaned],
            )
        audit.record(ctx, session, portfolio_id, "import", {**source, "rows": len(cleaned)})
        return version


def validate_additions(
    ctx: AppContext,
    stored: StoredLedger,
    rows: Sequence[tuple[int | None, TransactionDraft]],
    style: NumberStyle = POINT_DECIMALS,
    labels: dict[str, str] | None = None,
) -> list[tuple[int | None, CleanTransaction]]:
    """What `add_transactions` would store with `stored` as the ledger, without storing it (the
    import preview; no database read). Raises LedgerError like `add_transactions`."""
    cleaned = clean_drafts(ctx, rows, stored.base_currency, style, labels)
    entries = [(NEW_ID_BASE + i, clean) for i, (_, clean) in enumerate(cleaned)]
    check_ledger(
        [*_entries(stored.rows), *entries],
        {entry_id: row for (entry_id, _), (row, _) in zip(entries, cleaned, strict=True)},
        "this import",
        labels,
    )
    return cleaned


def ticker_status(ctx: AppContext, ticker: str) -> TickerStatus:
    """What the cache knows about `ticker`, without asking the provider: "known" when prices or
    a quote are stored, "unknown" when the provider's last answer was that it does not know the
    symbol, else "unchecked"."""
    return ticker_statuses(ctx, [ticker]).get(_normal_ticker(ticker), "unchecked")


def ticker_statuses(ctx: AppContext, tickers: Sequence[str]) -> dict[str, TickerStatus]:
    """`ticker_status` of many tickers in two queries; keys are the upper-cased tickers."""
    names = sorted({_normal_ticker(t) for t in tickers if t and t.strip()})
    if not names:
        return {}
    with ctx.db.session() as session:
        quoted = set(session.scalars(select(Quote.ticker).where(Quote.ticker.in_(names))))
        coverage = session.execute(
            select(PriceCoverage.ticker, PriceCoverage.last_date, PriceCoverage.last_error).where(
                PriceCoverage.ticker.in_(names)
            )
        ).all()
    status: dict[str, TickerStatus] = dict.fromkeys(names, "unchecked")
    for ticker, last_date, last_error in coverage:
        if failed_as_unknown(last_error):
            status[ticker] = "unknown"
        elif last_date is not None:
            status[ticker] = "known"
    for ticker in quoted:
        if status[ticker] != "unknown":
            status[ticker] = "known"
    return status


def check_tickers(ctx: AppContext, tickers: Sequence[str]) -> dict[str, TickerStatus]:
    """Ask the provider about `tickers` in one batched quote request (background work only:
    this may wait on the network). Stores the quotes it gets; "unknown" for symbols the
    provider reports as unknown, "unchecked" when it could not answer (outage, rate limit)."""
    names = sorted({_normal_ticker(t) for t in tickers if t and t.strip()})
    if not names:
        return {}
    report = ctx.store.refresh_quotes(names)
    status: dict[str, TickerStatus] = dict.fromkeys(names, "unchecked")
    for ticker in report.fetched:
        status[ticker] = "known"
    for ticker, reason in report.errors.items():
        if failed_as_unknown(reason):
            status[ticker] = "unknown"
    return status


def clean_drafts(
    ctx: AppContext,
    rows: Sequence[tuple[int | None, TransactionDraft]],
    base_currency: str,
    style: NumberStyle = POINT_DECIMALS,
    labels: dict[str, str] | None = None,
) -> list[tuple[int | None, CleanTransaction]]:
    """Apply the field rules to every draft; raises LedgerError listing every bad field of
    every row, each with its row number (`rows` pairs row numbers with drafts)."""
    label = ColumnLabels(labels or {})
    today = exchange_today(ctx)
    sessions = TradingSessions(ctx.calendar)
    errors: list[RowError] = []
    cleaned: list[tuple[int | None, CleanTransaction]] = []
    for row, draft in rows:
        clean, problems = clean_fields(draft, base_currency, today, sessions, style)
        errors.extend(RowError(row, label(name), f"{label(name)}: {why}") for name, why in problems)
        if clean is not None:
            cleaned.append((row, clean))
    if errors:
        # In row order, and within a row in field order (the sort is stable).
        raise LedgerError(sorted(errors, key=lambda error: error.row or 0))
    return cleaned


# ----- internals -------------------------------------------------------------------------------


def _clean_one(ctx: AppContext, draft: TransactionDraft, base_currency: str) -> CleanTransaction:
    [(_, clean)] = clean_drafts(ctx, [(None, draft)], base_currency)
    return clean


def _transaction(session: Session, portfolio_id: int, transaction_id: int) -> Transaction:
    model = session.get(Transaction, transaction_id)
    if model is None or model.portfolio_id != portfolio_id:
        raise TransactionNotFound(portfolio_id, transaction_id)
    return model


def _stored_rows(session: Session, portfolio_id: int) -> list[TransactionRow]:
    """The ledger in ledger order, read as plain rows (ORM objects cost ten times more)."""
    query = (
        select(Transaction.id, Transaction.portfolio_id, *(getattr(Transaction, f) for f in FIELDS))
        .where(Transaction.portfolio_id == portfolio_id)
        .order_by(Transaction.trade_date, Transaction.id)
    )
    return [_row(row) for row in session.execute(query)]


def _stored_ledger(session: Session, portfolio_id: int) -> StoredLedger:
    portfolio = owned_portfolio(session, portfolio_id)
    return StoredLedger(portfolio_id, portfolio.base_currency, _stored_rows(session, portfolio_id))


def _stored_entries(
    session: Session, portfolio_id: int, without: int | None = None
) -> list[tuple[int, LedgerLine]]:
    """The stored ledger as entries for `check_ledger`, leaving out the row `without`."""
    return _entries(_stored_rows(session, portfolio_id), without)


def _entries(
    rows: Sequence[TransactionRow], without: int | None = None
) -> list[tuple[int, LedgerLine]]:
    # Stored rows go to the check as they are: it reads the fields they share with a new row.
    return [(row.id, row) for row in rows if row.id != without]


def _row(model: Transaction | Row[Any]) -> TransactionRow:
    """A stored transaction from its ORM object or from a plain row of the same columns."""
    return TransactionRow(
        id=model.id,
        portfolio_id=model.portfolio_id,
        trade_date=model.trade_date,
        kind=model.kind,
        ticker=model.ticker,
        quantity=model.quantity,
        price=model.price,
        fees=model.fees or 0.0,
        currency=model.currency,
        note=model.note or "",
    )


def _normal_ticker(ticker: str) -> str:
    return ticker.strip().upper()
