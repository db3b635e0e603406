"""The ledger file formats an import reads, and how a data row of each becomes a transaction
draft or a row skipped with its reason. Formats are told apart by their header row:

- `stocktracker`, our own (what `ledger_export.export_csv` writes):
  `date,type,ticker,quantity,price,fees,currency,note`; date YYYY-MM-DD, type one of BUY,
  SELL, DIVIDEND, SPLIT, DEPOSIT, WITHDRAWAL, FEE, amounts as in `analytics.holdings`. fees,
  currency and note may be left out (0, the base currency, empty).
- `yahoo`, Yahoo Finance's portfolio export: Symbol, Current Price, Date, Time, Change, Open,
  High, Low, Volume, Trade Date, Purchase Price, Quantity, Commission, High Limit, Low Limit,
  Comment. Every lot is a BUY: date = Trade Date (YYYYMMDD), ticker = Symbol, quantity =
  Quantity, price = Purchase Price, fees = Commission, note = Comment; the currency is the
  portfolio's. Rows without a Trade Date or Quantity are watchlist rows and are skipped, and
  so are Yahoo's cash rows (symbols starting with $$); the preview lists each skipped row.
- `ghostfolio`, Ghostfolio's activities CSV: Date, Code, DataSource, Currency, Price, Quantity,
  Action (or Type), Fee, Note. Date is YYYY-MM-DD (an ISO timestamp's date part),
  DD-MM-YYYY, DD/MM/YYYY, DD.MM.YYYY or YYYYMMDD; Action buy, sell, dividend (quantity =
  shares, price = per share) and fee (a FEE; quantity and price 0 make it a fee of Fee) map
  to BUY, SELL, DIVIDEND and FEE, interest to a DEPOSIT of quantity x price; liability and
  item rows have no equivalent and are skipped. ticker = Code (for fee and interest rows Code
  is a description: it goes into the note), currency = Currency, fees = Fee.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dashapp.rules import LEDGER_FIELDS as FIELDS
from dashapp.services.ledger_fields import TransactionDraft
from dashapp.services.ledger_files import unneutralise

DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class SkippedRow:
    """A data row that is no transaction (a watchlist or cash row), with the reason shown."""

    row: int
    reason: str


@dataclass(frozen=True)
class LedgerFormat:
    """A file format: the header names that identify it, its number columns (where a decimal
    comma shows), the header each field is read from (for messages) and its row reader."""

    name: str
    label: str
    required: frozenset[str]
    numeric: tuple[str, ...]
    labels: dict[str, str]
    to_draft: Callable[[dict[str, str], int], TransactionDraft | SkippedRow]

    def matches(self, header: set[str]) -> bool:
        return self.required <= header


def _stocktracker_draft(values: dict[str, str], row: int) -> TransactionDraft:
    return TransactionDraft(
        trade_date=values.get("date", values.get("trade_date", "")).strip(),
        kind=unneutralise(values.get("type", values.get("kind", ""))),
        ticker=unneutralise(values.get("ticker", "")),
        quantity=values.get("quantity", ""),
        price=values.get("price", ""),
        fees=values.get("fees", ""),
        currency=unneutralise(values.get("currency", "")),
        note=unneutralise(values.get("note", "")),
    )


def _yahoo_draft(values: dict[str, str], row: int) -> TransactionDraft | SkippedRow:
    symbol = unneutralise(values.get("symbol", "")).strip()
    if symbol.startswith("$$"):
        return SkippedRow(row, f"{symbol} is a Yahoo cash row, not a transaction")
    trade_date = values.get("trade date", "").strip()
    if not trade_date or not values.get("quantity", "").strip():
        return SkippedRow(
            row, f"{symbol or 'this row'} has no Trade Date or Quantity: a watchlist row"
        )
    return TransactionDraft(
        trade_date=_compact_date(trade_date),
        kind="BUY",
        ticker=symbol,
        quantity=values.get("quantity", ""),
        price=values.get("purchase price", ""),
        fees=values.get("commission", ""),
        note=unneutralise(values.get("comment", "")),
    )


GHOSTFOLIO_KINDS = {
    "buy": "BUY",
    "sell": "SELL",
    "dividend": "DIVIDEND",
    "fee": "FEE",
    "interest": "DEPOSIT",
}


def _ghostfolio_draft(values: dict[str, str], row: int) -> TransactionDraft | SkippedRow:
    action = unneutralise(values.get("action", values.get("type", ""))).strip()
    kind = GHOSTFOLIO_KINDS.get(action.lower(), action)
    if action.lower() in ("liability", "item"):
        return SkippedRow(row, f"a Ghostfolio {action.upper()} has no equivalent in a ledger")
    code = unneutralise(values.get("code", "")).strip()
    note = unneutralise(values.get("note", "")).strip()
    ticker: str | None = code
    if kind in ("FEE", "DEPOSIT"):
        ticker = None
        note = " ".join(part for part in (code, note) if part)
    return TransactionDraft(
        trade_date=_ghostfolio_date(values.get("date", "")),
        kind=kind,
        ticker=ticker,
        quantity=values.get("quantity", ""),
        price=values.get("price", ""),
        fees=values.get("fee", ""),
        currency=unneutralise(values.get("currency", "")),
        note=note,
    )


FORMATS = (
    LedgerFormat(
        "stocktracker",
        "StockTracker CSV",
        frozenset({"date", "type", "ticker", "quantity", "price"}),
        ("quantity", "price", "fees"),
        {
            "trade_date": "date",
            "kind": "type",
            **{name: name for name in FIELDS if name not in ("trade_date", "kind")},
        },
        _stocktracker_draft,
    ),
    LedgerFormat(
        "yahoo",
        "Yahoo Finance portfolio export",
        frozenset({"symbol", "trade date", "purchase price", "quantity"}),
        ("quantity", "purchase price", "commission"),
        {
            "trade_date": "Trade Date",
            "ticker": "Symbol",
            "quantity": "Quantity",
            "price": "Purchase Price",
            "fees": "Commission",
            "note": "Comment",
        },
        _yahoo_draft,
    ),
    LedgerFormat(
        "ghostfolio",
        "Ghostfolio activities CSV",
        frozenset({"date", "code", "price", "quantity"}),
        ("quantity", "price", "fee"),
        {
            "trade_date": "Date",
            "kind": "Action",
            "ticker": "Code",
            "quantity": "Quantity",
            "price": "Price",
            "fees": "Fee",
            "currency": "Currency",
            "note": "Note",
        },
        _ghostfolio_draft,
    ),
)


def detect_format(header_line: str) -> tuple[str, LedgerFormat | None]:
    """The delimiter under which the header names a known format (the most frequent first)."""
    for delimiter in sorted(DELIMITERS, key=lambda d: -header_line.count(d)):
        try:
            cells = next(csv.reader([header_line], delimiter=delimiter), [])
        except csv.Error:
            continue
        fmt = _format_of([header_name(cell) for cell in cells])
        if fmt is not None:
            return delimiter, fmt
    return ",", None


def _format_of(names: Sequence[str]) -> LedgerFormat | None:
    header = set(names)
    return next((fmt for fmt in FORMATS if fmt.matches(header)), None)


def header_name(cell: str) -> str:
    """A header cell as the formats name columns: lower case, without quotes or spaces around."""
    return cell.strip().strip('"').strip().lower()


def unknown_header(header_line: str) -> str:
    """Why a file whose header names no known format is refused, and what would be read."""
    shown = header_line.strip()[:120]
    return (
        f"the header row '{shown}' is not one we know: use our format "
        "(date,type,ticker,quantity,price,fees,currency,note), a Yahoo Finance portfolio "
        "export or a Ghostfolio activities CSV"
    )


def _compact_date(text: str) -> str:
    """YYYYMMDD as YYYY-MM-DD; anything else unchanged, for the validation to report."""
    if re.fullmatch(r"\d{8}", text, re.ASCII):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def _ghostfolio_date(raw: str) -> str:
    text = raw.strip()
    iso = re.match(r"^(\d{4}-\d{2}-\d{2})(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$", text, re.ASCII)
    if iso:
        return iso.group(1)
    day_first = re.fullmatch(r"(\d{2})[-/.](\d{2})[-/.](\d{4})", text, re.ASCII)
    if day_first:
        day, month, year = day_first.groups()
        return f"{year}-{month}-{day}"
    return _compact_date(text)
