"""Adding, editing and deleting a portfolio's transactions, each validated against the whole ledger.

A change is refused with a `LedgerError` listing every `RowError` found (row, column, message),
never half-applied. Field rules follow the conventions of `dashapp.analytics.holdings`:

- kind: one of BUY, SELL, DIVIDEND, SPLIT, DEPOSIT, WITHDRAWAL, FEE (any letter case).
- trade_date: YYYY-MM-DD, from 1900-01-01, not after today in New York (by the app's clock).
  A BUY or SELL must fall on an XNYS session; on a weekend or holiday it is refused with the
  session it would map to (the next one, when the order would have executed).
- ticker: a Yahoo symbol, upper-cased, matching `rules.TICKER_PATTERN`; required for BUY, SELL,
  DIVIDEND and SPLIT. Whether the provider knows it is never checked here (that would block on
  the network): `ticker_status` reads the cache, `check_tickers` asks the provider in the
  background.
- quantity > 0 for BUY, SELL, DIVIDEND and SPLIT (the ratio), >= 0 otherwise; price > 0 for
  BUY, SELL, DIVIDEND, DEPOSIT and WITHDRAWAL (a zero there records nothing or a wrong cost
  basis), >= 0 for SPLIT and FEE; fees >= 0 and none on a SPLIT; each at most MAX_AMOUNT. Numbers are plain decimals with
  an optional thousands comma ("1,234.5"); the import passes decimal-comma files converted.
- currency: empty means the portfolio's base currency; any other currency is refused, since
  the ledger holds amounts in the base currency only.
- The whole ledger with the change must apply (`analytics.holdings.positions`): a SELL may not
  exceed the shares held on its date, and neither may editing or deleting an earlier row make
  a later SELL exceed them.

Every accepted change bumps `Portfolio.version` in the same database transaction.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from dashapp.analytics.holdings import InvalidTransaction, positions
from dashapp.db.models import Portfolio, PriceCoverage, Quote, Transaction
from dashapp.market.calendar import MarketCalendar
from dashapp.market.errors import failed_as_unknown
from dashapp.rules import (
    CURRENCY_PATTERN,
    EXCHANGE_TIMEZONE,
    KINDS,
    TICKER_PATTERN,
    TICKER_RULE,
)
from dashapp.rules import LEDGER_FIELDS as FIELDS
from dashapp.services.context import AppContext
from dashapp.services.portfolios import PortfolioNotFound, bump_version

TickerStatus = Literal["known", "unknown", "unchecked"]
# re.ASCII: \d would also match digits such as "١٢٣" or "１", which float() then reads.
NUMBER_PATTERN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$", re.ASCII)
THOUSANDS_PATTERN = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$", re.ASCII)
EARLIEST_DATE = date(1900, 1, 1)
MAX_AMOUNT = 1e12
MAX_NOTE_LENGTH = 1000
MAX_LEDGER_ERRORS = 50
NEED_TICKER = ("BUY", "SELL", "DIVIDEND", "SPLIT")
NEED_SESSION = ("BUY", "SELL")
NEED_PRICE = ("BUY", "SELL", "DIVIDEND", "DEPOSIT", "WITHDRAWAL")
# Rows where an empty quantity or price means 0 rather than a missing value.
ZERO_WHEN_EMPTY = {"quantity": ("FEE",), "price": ("FEE", "SPLIT")}


@dataclass(frozen=True)
class RowError:
    """One reason a row cannot be accepted. `row` is the spreadsheet row of an import (header
    is row 1) or None for a single transaction; `column` names the field (or the file's column
    header on an import); `message` is the sentence to show, starting with the column."""

    row: int | None
    column: str
    message: str


class LedgerError(ValueError):
    """A change or an import refused as a whole; `errors` lists every reason found."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(error.message for error in self.errors))


class TransactionNotFound(LookupError):
    def __init__(self, portfolio_id: int, transaction_id: int) -> None:
        super().__init__(f"transaction {transaction_id} does not exist in portfolio {portfolio_id}")
        self.portfolio_id = portfolio_id
        self.transaction_id = transaction_id


@dataclass(frozen=True)
class TransactionDraft:
    """A transaction as the user typed it: strings from a form or file, or plain values; None
    or "" is an empty field (fees then 0, currency the base currency)."""

    trade_date: str | date | None
    kind: str | None
    ticker: str | None = None
    quantity: str | float | None = ""
    price: str | float | None = ""
    fees: str | float | None = ""
    currency: str | None = ""
    note: str | None = ""


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


@dataclass(frozen=True)
class CleanTransaction:
    """A draft that passed the field rules, ready to be checked against the ledger."""

    trade_date: date
    kind: str
    ticker: str | None
    quantity: float
    price: float
    fees: float
    currency: str
    note: str

    def values(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in FIELDS}


@dataclass(frozen=True)
class NumberStyle:
    """How numbers are written: '.' decimals with optional ',' thousands, or ',' decimals with
    optional '.' thousands (European spreadsheets, which then separate cells with ';')."""

    decimal_comma: bool = False


POINT_DECIMALS = NumberStyle()
COMMA_DECIMALS = NumberStyle(decimal_comma=True)


@dataclass
class _Labels:
    """The column name to show for each field (an import shows the file's own headers)."""

    names: dict[str, str] = field(default_factory=dict)

    def __call__(self, name: str) -> str:
        return self.names.get(name, name)


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
        _portfolio(session, portfolio_id)
        return _stored_rows(session, portfolio_id)


def stored_ledger(ctx: AppContext, portfolio_id: int) -> StoredLedger:
    """The portfolio and its ledger (two statements). Raises PortfolioNotFound."""
    with ctx.db.session() as session:
        return _stored_ledger(session, portfolio_id)


def get_transaction(ctx: AppContext, portfolio_id: int, transaction_id: int) -> TransactionRow:
    with ctx.db.session() as session:
        _portfolio(session, portfolio_id)
        return _row(_transaction(session, portfolio_id, transaction_id))


def add_transaction(ctx: AppContext, portfolio_id: int, draft: TransactionDraft) -> TransactionRow:
    """Validate `draft` against the field rules and the whole ledger, store it, bump the version.

    Raises LedgerError (rows None) or PortfolioNotFound.
    """
    with ctx.db.session() as session:
        bump_version(session, portfolio_id)
        portfolio = _portfolio(session, portfolio_id)
        clean = _clean_one(ctx, draft, portfolio.base_currency)
        proposed = _NEW_ID_BASE + 1
        check_ledger([*_stored_entries(session, portfolio_id), (proposed, clean)], {proposed: None})
        model = Transaction(portfolio_id=portfolio_id, **clean.values())
        session.add(model)
        session.flush()
        return _row(model)


def update_transaction(
    ctx: AppContext, portfolio_id: int, transaction_id: int, draft: TransactionDraft
) -> TransactionRow:
    """Replace every field of one transaction by `draft`, validated like `add_transaction` with
    the edited row in its place (so an edit that oversells a later SELL is refused)."""
    with ctx.db.session() as session:
        bump_version(session, portfolio_id)
        portfolio = _portfolio(session, portfolio_id)
        model = _transaction(session, portfolio_id, transaction_id)
        clean = _clean_one(ctx, draft, portfolio.base_currency)
        others = _stored_entries(session, portfolio_id, without=model.id)
        check_ledger([*others, (model.id, clean)], {model.id: None}, "editing this transaction")
        for name, value in clean.values().items():
            setattr(model, name, value)
        session.flush()
        return _row(model)


def delete_transaction(ctx: AppContext, portfolio_id: int, transaction_id: int) -> None:
    """Delete one transaction unless the ledger without it oversells a later SELL."""
    with ctx.db.session() as session:
        bump_version(session, portfolio_id)
        _portfolio(session, portfolio_id)
        model = _transaction(session, portfolio_id, transaction_id)
        others = _stored_entries(session, portfolio_id, without=model.id)
        check_ledger(others, {}, action="deleting this transaction")
        session.execute(delete(Transaction).where(Transaction.id == model.id))


def add_transactions(
    ctx: AppContext,
    portfolio_id: int,
    rows: Sequence[tuple[int | None, TransactionDraft]],
    style: NumberStyle = POINT_DECIMALS,
    labels: dict[str, str] | None = None,
) -> int:
    """Add many drafts at once (the import): all of them or none, one version bump.

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
    entries = [(_NEW_ID_BASE + i, clean) for i, (_, clean) in enumerate(cleaned)]
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


# ----- validation: shared by the form, the import and accepted proposals ----------------------


def clean_drafts(
    ctx: AppContext,
    rows: Sequence[tuple[int | None, TransactionDraft]],
    base_currency: str,
    style: NumberStyle = POINT_DECIMALS,
    labels: dict[str, str] | None = None,
) -> list[tuple[int | None, CleanTransaction]]:
    """Apply the field rules to every draft; raises LedgerError listing every bad field of
    every row, each with its row number (`rows` pairs row numbers with drafts)."""
    label = _Labels(labels or {})
    today = exchange_today(ctx)
    sessions = _Sessions(ctx.calendar)
    errors: list[RowError] = []
    cleaned: list[tuple[int | None, CleanTransaction]] = []
    for row, draft in rows:
        clean, problems = _clean_fields(draft, base_currency, today, sessions, style)
        errors.extend(RowError(row, label(name), f"{label(name)}: {why}") for name, why in problems)
        if clean is not None:
            cleaned.append((row, clean))
    if errors:
        # In row order, and within a row in field order (the sort is stable).
        raise LedgerError(sorted(errors, key=lambda error: error.row or 0))
    return cleaned


def exchange_today(ctx: AppContext) -> date:
    """Today's date in New York, where the ledger's dates are trading days."""
    return ctx.clock.now().astimezone(EXCHANGE_TIMEZONE).date()


def check_ledger(
    entries: Sequence[tuple[int, CleanTransaction]],
    changed: dict[int, int | None],
    action: str = "this change",
    labels: dict[str, str] | None = None,
) -> None:
    """Raise LedgerError when the ledger `entries` (id, transaction) does not apply, e.g. a SELL
    exceeds the shares held on its date. `changed` maps the ids of new or edited entries to the
    row number their errors carry; an error on any other entry blames `action`.

    Up to MAX_LEDGER_ERRORS rows are reported: after each refused row the check runs again
    without it.
    """
    frame = ledger_frame(entries)
    label = _Labels(labels or {})
    errors: list[RowError] = []
    while len(errors) < MAX_LEDGER_ERRORS:
        try:
            positions(frame)
        except InvalidTransaction as error:
            errors.append(_ledger_row_error(frame, error, changed, action, label))
            frame = frame[frame["id"] != error.row]
            continue
        break
    if errors:
        raise LedgerError(errors)


def ledger_frame(entries: Sequence[tuple[int, CleanTransaction]]) -> pd.DataFrame:
    """The entries in the column layout of `analytics.holdings`."""
    frame = pd.DataFrame(
        {
            "id": np.array([entry_id for entry_id, _ in entries], dtype="int64"),
            "trade_date": pd.to_datetime(
                pd.Series([clean.trade_date for _, clean in entries], dtype="object")
            ).astype("datetime64[ns]"),
            "kind": pd.Series([clean.kind for _, clean in entries], dtype="object"),
            "ticker": pd.Series([clean.ticker for _, clean in entries], dtype="object"),
        }
    )
    for name in ("quantity", "price", "fees"):
        frame[name] = np.array([getattr(clean, name) for _, clean in entries], dtype="float64")
    return frame


def parse_number(raw: object, style: NumberStyle = POINT_DECIMALS) -> float | None:
    """A finite number from a cell, or None when it is not one: '1234.5', '1,234.5', '1e3';
    with decimal commas '1234,5' and '1.234,5'."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
        return value if math.isfinite(value) else None
    if not isinstance(raw, str):
        return None
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    if style.decimal_comma:
        if re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+(,\d*)?", text):
            text = text.replace(".", "")
        if text.count(".") or text.count(",") > 1:
            return None
        text = text.replace(",", ".")
    elif THOUSANDS_PATTERN.match(text):
        text = text.replace(",", "")
    if not NUMBER_PATTERN.match(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def format_number(value: float) -> str:
    """A number as the messages show it: 10, 10.5, 0.3 (ten significant digits)."""
    return format(value, ".10g")


# ----- internals -------------------------------------------------------------------------------

# Ids given to rows not stored yet; they sort after every stored row of the same date, as the
# ids the database will assign them do.
_NEW_ID_BASE = 2**62


def _clean_one(ctx: AppContext, draft: TransactionDraft, base_currency: str) -> CleanTransaction:
    [(_, clean)] = clean_drafts(ctx, [(None, draft)], base_currency)
    return clean


def _clean_fields(
    draft: TransactionDraft,
    base_currency: str,
    today: date,
    sessions: _Sessions,
    style: NumberStyle,
) -> tuple[CleanTransaction | None, list[tuple[str, str]]]:
    """The draft's values after the field rules, and (field, reason) for each rule broken."""
    problems: list[tuple[str, str]] = []
    kind = _text(draft.kind).strip().upper()
    if kind not in KINDS:
        shown = _text(draft.kind).strip()
        problems.append(
            ("kind", f"'{shown}' is not a transaction type ({', '.join(KINDS)})")
            if shown
            else ("kind", f"missing; one of {', '.join(KINDS)}")
        )
    trade_date = _parse_date(draft.trade_date, today, problems)
    if trade_date is not None and kind in NEED_SESSION:
        off_session = sessions.problem(trade_date)
        if off_session:
            problems.append(("trade_date", off_session))
    ticker = _parse_ticker(draft.ticker, kind, problems)
    amounts = {
        name: _parse_amount(name, getattr(draft, name), kind, style, problems)
        for name in ("quantity", "price", "fees")
    }
    fees = amounts["fees"]
    if kind == "SPLIT" and fees:
        problems.append(("fees", "a SPLIT has no fees; record a FEE transaction"))
    currency = _parse_currency(draft.currency, base_currency, problems)
    note = _parse_note(draft.note, problems)
    quantity, price = amounts["quantity"], amounts["price"]
    if problems or trade_date is None or quantity is None or price is None or fees is None:
        return None, problems
    clean = CleanTransaction(
        trade_date=trade_date,
        kind=kind,
        ticker=ticker,
        quantity=quantity,
        price=price,
        fees=fees,
        currency=currency,
        note=note,
    )
    return clean, []


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _parse_date(
    raw: str | date | None, today: date, problems: list[tuple[str, str]]
) -> date | None:
    if isinstance(raw, datetime):
        day = raw.date()
    elif isinstance(raw, date):
        day = raw
    else:
        text = _text(raw).strip()
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError(text)
            day = date.fromisoformat(text)
        except ValueError:
            problems.append(
                ("trade_date", f"'{text}' is not a date (YYYY-MM-DD)" if text else "missing")
            )
            return None
    if day < EARLIEST_DATE:
        problems.append(("trade_date", f"{day.isoformat()} is before {EARLIEST_DATE.isoformat()}"))
        return None
    if day > today:
        problems.append(
            (
                "trade_date",
                f"{day.isoformat()} is in the future (today is {today.isoformat()} in New York)",
            )
        )
        return None
    return day


def _parse_ticker(raw: str | None, kind: str, problems: list[tuple[str, str]]) -> str | None:
    text = _text(raw).strip()
    if not text:
        if kind in NEED_TICKER:
            problems.append(("ticker", f"missing; a {kind} needs a ticker"))
        return None
    ticker = text.upper()
    if not TICKER_PATTERN.match(ticker):
        problems.append(
            (
                "ticker",
                f"'{text[:40]}' is not a ticker symbol ({TICKER_RULE})",
            )
        )
        return None
    return ticker


def _parse_amount(
    name: str,
    raw: str | float | None,
    kind: str,
    style: NumberStyle,
    problems: list[tuple[str, str]],
) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if name == "fees" or kind in ZERO_WHEN_EMPTY.get(name, ()):
            return 0.0
        problems.append((name, "missing"))
        return None
    value = parse_number(raw, style)
    if value is None:
        problems.append((name, f"'{_text(raw).strip()[:40]}' is not a number"))
        return None
    if name == "quantity" and kind in NEED_TICKER and value <= 0:
        what = (
            "a split ratio (new shares per old share) must be positive"
            if kind == "SPLIT"
            else f"a {kind} needs a positive quantity"
        )
        problems.append((name, f"{what}, not {format_number(value)}"))
        return None
    if value < 0:
        problems.append((name, f"must not be negative, not {format_number(value)}"))
        return None
    if name == "price" and kind in NEED_PRICE and value == 0:
        problems.append((name, f"a {kind} needs a positive price, not 0"))
        return None
    if value > MAX_AMOUNT:
        problems.append((name, f"{format_number(value)} is too large (at most 1e12)"))
        return None
    return value


def _parse_currency(raw: str | None, base_currency: str, problems: list[tuple[str, str]]) -> str:
    currency = _text(raw).strip().upper()
    if not currency:
        return base_currency
    if not CURRENCY_PATTERN.match(currency):
        problems.append(("currency", f"'{_text(raw).strip()[:20]}' is not a three-letter code"))
    elif currency != base_currency:
        problems.append(
            (
                "currency",
                f"{currency} differs from the portfolio's base currency {base_currency}; "
                f"record the amounts in {base_currency}",
            )
        )
    return currency


def _parse_note(raw: str | None, problems: list[tuple[str, str]]) -> str:
    note = _text(raw).strip()
    if len(note) > MAX_NOTE_LENGTH:
        problems.append(("note", f"longer than {MAX_NOTE_LENGTH} characters"))
    elif any(unicodedata.category(char) in ("Cc", "Cs") for char in note if char not in "\t\r\n"):
        problems.append(("note", "contains control characters"))
    return note


class _Sessions:
    """The XNYS sessions, to say whether a trade date is one and which session it maps to."""

    def __init__(self, calendar: MarketCalendar) -> None:
        self.first = calendar.first_session
        self.days = calendar.sessions(self.first, calendar.last_session).to_numpy(
            dtype="datetime64[ns]"
        )

    def problem(self, day: date) -> str | None:
        """None for a session, else why not and the next session (when the order executes)."""
        if day < self.first:
            return (
                f"{day.isoformat()} is before {self.first.isoformat()}, "
                "the first XNYS session this app knows"
            )
        stamp = np.datetime64(day, "ns")
        index = int(np.searchsorted(self.days, stamp))
        if index < len(self.days) and self.days[index] == stamp:
            return None
        weekday = day.strftime("%A")
        what = f"a {weekday}" if day.weekday() >= 5 else f"a market holiday ({weekday})"
        mapped = (
            pd.Timestamp(self.days[index]).date().isoformat()
            if index < len(self.days)
            else "none known yet"
        )
        return (
            f"{day.isoformat()} is {what}, not an XNYS session; the trade maps to session {mapped}"
        )


def _ledger_row_error(
    frame: pd.DataFrame,
    error: InvalidTransaction,
    changed: dict[int, int | None],
    action: str,
    label: _Labels,
) -> RowError:
    """Translate the first row the holdings calculation refused into a sentence."""
    bad = frame[frame["id"] == error.row].iloc[0]
    day = bad["trade_date"].date().isoformat()
    if bad["kind"] == "SELL" and error.column == "quantity":
        earlier = frame[
            (frame["trade_date"] < bad["trade_date"])
            | ((frame["trade_date"] == bad["trade_date"]) & (frame["id"] < bad["id"]))
        ]
        held = positions(earlier)["shares"].get(bad["ticker"], 0.0)
        what = (
            f"sell of {format_number(bad['quantity'])} {bad['ticker']} on {day} exceeds "
            f"the {format_number(held)} shares held then"
        )
    else:
        what = f"{bad['kind']} of {bad['ticker']} on {day}: {error.reason}"
    row_id = int(bad["id"])
    column = label(error.column)
    if row_id in changed:
        return RowError(changed[row_id], column, f"{column}: {what}")
    return RowError(
        None,
        column,
        f"{column}: {action} would leave the {what.replace('exceeds', 'exceeding')} "
        f"(transaction #{row_id})",
    )


def _portfolio(session: Session, portfolio_id: int) -> Portfolio:
    portfolio = session.get(Portfolio, portfolio_id)
    if portfolio is None:
        raise PortfolioNotFound(portfolio_id)
    return portfolio


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
    return [
        TransactionRow(
            id=row.id,
            portfolio_id=row.portfolio_id,
            trade_date=row.trade_date,
            kind=row.kind,
            ticker=row.ticker,
            quantity=row.quantity,
            price=row.price,
            fees=row.fees or 0.0,
            currency=row.currency,
            note=row.note or "",
        )
        for row in session.execute(query)
    ]


def _stored_ledger(session: Session, portfolio_id: int) -> StoredLedger:
    portfolio = _portfolio(session, portfolio_id)
    return StoredLedger(portfolio_id, portfolio.base_currency, _stored_rows(session, portfolio_id))


def _stored_entries(
    session: Session, portfolio_id: int, without: int | None = None
) -> list[tuple[int, CleanTransaction]]:
    """The stored ledger as entries for `check_ledger`, leaving out the row `without`."""
    return _entries(_stored_rows(session, portfolio_id), without)


def _entries(
    rows: Sequence[TransactionRow], without: int | None = None
) -> list[tuple[int, CleanTransaction]]:
    return [
        (
            row.id,
            CleanTransaction(
                trade_date=row.trade_date,
                kind=row.kind,
                ticker=row.ticker,
                quantity=row.quantity,
                price=row.price,
                fees=row.fees,
                currency=row.currency,
                note=row.note,
            ),
        )
        for row in rows
        if row.id != without
    ]


def _row(model: Transaction) -> TransactionRow:
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
