"""The field rules of one ledger row: a draft as typed becomes a clean transaction or reasons.

Rules follow the conventions of `dashapp.analytics.holdings`:

- kind: one of BUY, SELL, DIVIDEND, SPLIT, DEPOSIT, WITHDRAWAL, FEE (any letter case).
- trade_date: YYYY-MM-DD, from 1900-01-01, not after today in New York (by the app's clock).
  A BUY or SELL must fall on an XNYS session; on a weekend or holiday it is refused with the
  session it would map to (the next one, when the order would have executed).
- ticker: a Yahoo symbol, upper-cased, matching `rules.TICKER_PATTERN`; required for BUY, SELL,
  DIVIDEND and SPLIT. Whether the provider knows it is never checked here (that would block on
  the network): `transactions.ticker_status` reads the cache, `transactions.check_tickers`
  asks the provider in the background.
- quantity > 0 for BUY, SELL, DIVIDEND and SPLIT (the ratio), >= 0 otherwise; price > 0 for
  BUY, SELL, DIVIDEND, DEPOSIT and WITHDRAWAL (a zero there records nothing or a wrong cost
  basis), >= 0 for SPLIT and FEE; fees >= 0 and none on a SPLIT; each at most MAX_AMOUNT.
  Numbers are plain decimals with an optional thousands comma ("1,234.5"); an import of a
  decimal-comma file reads them in that style (`ledger_numbers`).
- currency: empty means the portfolio's base currency; any other currency is refused, since
  the ledger holds amounts in the base currency only.

Every rule a row breaks is reported, as a `RowError` naming the field; whether the whole
ledger still applies with the row is `ledger_check`'s question.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

from dashapp.market.calendar import MarketCalendar
from dashapp.rules import CURRENCY_PATTERN, EXCHANGE_TIMEZONE, KINDS, TICKER_PATTERN, TICKER_RULE
from dashapp.rules import LEDGER_FIELDS as FIELDS
from dashapp.services.context import AppContext
from dashapp.services.ledger_numbers import NumberStyle, format_number, parse_number

EARLIEST_DATE = date(1900, 1, 1)
MAX_AMOUNT = 1e12
MAX_NOTE_LENGTH = 1000
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


@dataclass
class ColumnLabels:
    """The column name to show for each field (an import shows the file's own headers)."""

    names: dict[str, str] = field(default_factory=dict)

    def __call__(self, name: str) -> str:
        return self.names.get(name, name)


def exchange_today(ctx: AppContext) -> date:
    """Today's date in New York, where the ledger's dates are trading days."""
    return ctx.clock.now().astimezone(EXCHANGE_TIMEZONE).date()


class TradingSessions:
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


def clean_fields(
    draft: TransactionDraft,
    base_currency: str,
    today: date,
    sessions: TradingSessions,
    style: NumberStyle,
) -> tuple[CleanTransaction | None, list[tuple[str, str]]]:
    """The draft's values after the field rules, and (field, reason) for each rule broken, in
    field order."""
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
