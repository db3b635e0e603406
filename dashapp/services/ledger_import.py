"""CSV import of a ledger: detect the file's format, preview what it holds, then import all or none.

Formats, told apart by their header row:

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

Any file a spreadsheet writes is read: UTF-8 with or without BOM, UTF-16 or UTF-32 with BOM,
else cp1252 (latin-1 as last resort). A file that mixes UTF-8 rows with rows in another
encoding is refused at the row of its first byte that is not UTF-8, never decoded as mojibake;
cells separated by , ; or tab (found from the header; an
Excel `sep=` first line is honoured); CRLF or LF line ends. A ';' file whose numbers contain a
decimal comma ("12,5") is read with decimal commas and '.' thousands separators. A column
named twice in the header, and a quote that is never closed (which would swallow the rows
after it into one cell), are errors that name the columns or the row. Binary data
(NUL bytes, more than one control character in a hundred) is refused with a message, never
an exception; a stray control character is reported by the field it is in. A leading
apostrophe that `export_csv` put before a cell starting with = + - @ tab or CR (formula
neutralising) is removed again, so export -> import gives back the same ledger.

Row numbers in messages are those a spreadsheet shows: the header is row 1 (when the file
starts with it) and the first data row is row 2. Limits: `settings.max_import_bytes` and
`settings.max_import_rows` (data rows).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dashapp.rules import LEDGER_FIELDS as FIELDS
from dashapp.services.context import AppContext
from dashapp.services.ledger_fields import CleanTransaction, LedgerError, RowError, TransactionDraft
from dashapp.services.ledger_numbers import (
    COMMA_DECIMALS,
    POINT_DECIMALS,
    NumberStyle,
    format_number,
)
from dashapp.services.transactions import (
    TransactionRow,
    add_transactions,
    stored_ledger,
    ticker_statuses,
    validate_additions,
)

DELIMITERS = (",", ";", "\t")
NEUTRALISED = re.compile(r"^'+[=+\-@\t\r]")
# A well-formed UTF-8 sequence of a character past ASCII (2 to 4 bytes).
UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


@dataclass(frozen=True)
class ImportRow:
    """One data row of the file as the transaction it becomes; `row` is its spreadsheet row."""

    row: int
    draft: TransactionDraft


@dataclass(frozen=True)
class SkippedRow:
    row: int
    reason: str


@dataclass(frozen=True)
class ImportPreview:
    """What an import of the file would do. `errors` non-empty means it would import nothing.

    format is "stocktracker", "yahoo", "ghostfolio" or "" when not recognised; warnings
    (duplicates of stored transactions, tickers the provider does not know) do not stop it.
    `tickers` are the file's symbols, for a background `check_tickers`.
    """

    filename: str
    format: str
    format_label: str
    rows: tuple[ImportRow, ...]
    skipped: tuple[SkippedRow, ...]
    errors: tuple[RowError, ...]
    warnings: tuple[RowError, ...]
    tickers: tuple[str, ...]

    @property
    def can_import(self) -> bool:
        return not self.errors and bool(self.rows)


@dataclass(frozen=True)
class ImportResult:
    format: str
    imported: int
    skipped: tuple[SkippedRow, ...]
    version: int


class ImportTooLarge(LedgerError):
    """The file exceeds the size or row limit (the API answers 413)."""


@dataclass
class ParsedFile:
    """A decoded file in one of the formats: drafts with row numbers, skipped rows, and how
    its numbers are written and its columns named."""

    format: str
    label: str
    rows: list[ImportRow] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    style: NumberStyle = POINT_DECIMALS
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Format:
    name: str
    label: str
    required: frozenset[str]
    numeric: tuple[str, ...]
    labels: dict[str, str]
    to_draft: Callable[[dict[str, str], int], TransactionDraft | SkippedRow]

    def matches(self, header: set[str]) -> bool:
        return self.required <= header


# ----- public use cases ------------------------------------------------------------------------


def preview_import(ctx: AppContext, portfolio_id: int, raw: bytes, filename: str) -> ImportPreview:
    """Parse and validate the file against the portfolio's ledger without storing anything.

    Problems with the file itself come back in `errors` (nothing is raised for them); raises
    PortfolioNotFound for a missing portfolio.
    """
    stored = stored_ledger(ctx, portfolio_id)
    try:
        parsed = parse_ledger_file(raw, ctx.settings.max_import_bytes, ctx.settings.max_import_rows)
    except LedgerError as error:
        return ImportPreview(filename, "", "", (), (), tuple(error.errors), (), ())
    drafts = [(item.row, item.draft) for item in parsed.rows]
    tickers = tuple(sorted({d.ticker.strip().upper() for _, d in drafts if d.ticker}))
    errors: tuple[RowError, ...] = ()
    warnings: list[RowError] = []
    try:
        cleaned = validate_additions(ctx, stored, drafts, parsed.style, parsed.labels)
    except LedgerError as error:
        errors = tuple(error.errors)
    else:
        warnings.extend(_duplicates(stored.rows, cleaned))
    if not parsed.rows and not errors:
        errors = (RowError(None, "file", "file: there are no transactions in it"),)
    statuses = ticker_statuses(ctx, tickers)
    warnings.extend(
        RowError(None, "ticker", f"ticker: the market data provider does not know {ticker}")
        for ticker in tickers
        if statuses.get(ticker) == "unknown"
    )
    return ImportPreview(
        filename=filename,
        format=parsed.format,
        format_label=parsed.label,
        rows=tuple(parsed.rows),
        skipped=tuple(parsed.skipped),
        errors=errors,
        warnings=tuple(warnings),
        tickers=tickers,
    )


def import_transactions(
    ctx: AppContext, portfolio_id: int, raw: bytes, filename: str
) -> ImportResult:
    """Import every transaction of the file or none, in one database transaction that also
    bumps the portfolio's version. The whole ledger (stored plus imported) is validated,
    oversells included. Raises LedgerError (ImportTooLarge past the limits) listing each bad
    row's number, column and reason; PortfolioNotFound for a missing portfolio."""
    parsed = parse_ledger_file(raw, ctx.settings.max_import_bytes, ctx.settings.max_import_rows)
    if not parsed.rows:
        raise LedgerError([RowError(None, "file", "file: there are no transactions in it")])
    version = add_transactions(
        ctx,
        portfolio_id,
        [(item.row, item.draft) for item in parsed.rows],
        parsed.style,
        parsed.labels,
    )
    return ImportResult(parsed.format, len(parsed.rows), tuple(parsed.skipped), version)


def parse_ledger_file(raw: bytes, max_bytes: int, max_rows: int) -> ParsedFile:
    """Decode, detect the format from the header and turn each data row into a draft.

    Raises LedgerError for a file that cannot be read (binary, unknown header, malformed
    CSV) and ImportTooLarge past the limits. Field values are not validated here.
    """
    if len(raw) > max_bytes:
        raise ImportTooLarge(
            [
                _file_error(
                    f"the file is larger than the limit of {max_bytes:,} bytes; "
                    "split it into smaller files"
                )
            ]
        )
    text = _without_excel_separator(decode_text(raw))
    header_line = next((line for line in text.splitlines() if line.strip()), None)
    if header_line is None:
        raise LedgerError([_file_error("the file is empty")])
    delimiter, fmt = _detect(header_line)
    if fmt is None:
        raise LedgerError([_file_error(_unknown_header(header_line))])
    records = _records(text, delimiter)
    start = next(i for i, cells in enumerate(records) if any(c.strip() for c in cells))
    header = records[start]
    # A spreadsheet's row number: the record's position, counting from 1.
    data = [
        (start + offset + 2, cells)
        for offset, cells in enumerate(records[start + 1 :])
        if any(cell.strip() for cell in cells)
    ]
    if len(data) > max_rows:
        raise ImportTooLarge(
            [
                _file_error(
                    f"the file has {len(data):,} data rows; the limit is {max_rows:,} rows: "
                    "split it into smaller files"
                )
            ]
        )
    names = [_header_name(cell) for cell in header]
    _refuse_repeated_columns(start + 1, header, names)
    parsed = ParsedFile(fmt.name, fmt.label, labels=dict(fmt.labels))
    width = len(names)
    mapped: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    for row, cells in data:
        extra = [cell for cell in cells[width:] if cell.strip()]
        if extra:
            errors.append(
                RowError(row, "row", f"row: has {len(cells)} cells but the header has {width}")
            )
            continue
        values = dict(zip(names, [*cells, *[""] * (width - len(cells))], strict=False))
        mapped.append((row, values))
    if errors:
        raise LedgerError(errors)
    if delimiter == ";" and _uses_decimal_comma(mapped, fmt.numeric):
        parsed.style = COMMA_DECIMALS
    for row, values in mapped:
        outcome = fmt.to_draft(values, row)
        if isinstance(outcome, SkippedRow):
            parsed.skipped.append(outcome)
        else:
            parsed.rows.append(ImportRow(row, outcome))
    return parsed


def decode_text(raw: bytes) -> str:
    """The file's text: by its BOM (UTF-8, UTF-16, UTF-32), else UTF-8, else cp1252, else
    latin-1. Raises LedgerError for binary data."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(bom):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                raise LedgerError(
                    [_file_error(f"the file says it is {encoding.upper()} but is not")]
                ) from None
            break
    else:
        if b"\x00" in raw:
            raise LedgerError([_binary_error()])
        text = _single_byte_or_utf8(raw)
    controls = sum(
        1 for char in text if unicodedata.category(char) in ("Cc", "Cs") and char not in "\t\r\n"
    )
    # Text has at most a stray control character; one in a hundred is binary data.
    if "\x00" in text or controls * 100 > len(text):
        raise LedgerError([_binary_error()])
    return text


def unneutralise(cell: str) -> str:
    """Undo `ledger_export.neutralise`: drop one apostrophe before a formula trigger."""
    return cell[1:] if NEUTRALISED.match(cell) else cell


# ----- formats ---------------------------------------------------------------------------------


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
    _Format(
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
    _Format(
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
    _Format(
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


# ----- internals -------------------------------------------------------------------------------


def _records(text: str, delimiter: str | None) -> list[list[str]]:
    """The file's records. Strict quoting: a quote that is never closed, or a closing quote
    followed by more text, would otherwise swallow the following rows into one cell."""
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or ",", strict=True)
    try:
        records.extend(reader)
    except csv.Error as error:
        reason = str(error)
        # The record being read when the reader gave up is the one whose quote opened.
        row = len(records) + 1
        if reason == "unexpected end of data":
            message = "row: a quoted cell starts here and its closing quote never comes"
        elif reason.endswith("expected after '\"'"):
            message = (
                "row: a quoted cell starting here is followed by more text before the next "
                'separator; a quote inside a quoted cell is written twice ("")'
            )
        else:
            raise LedgerError([_file_error(f"not a readable CSV file ({reason})")]) from None
        raise LedgerError([RowError(row, "row", message)]) from None
    return records


def _single_byte_or_utf8(raw: bytes) -> str:
    """UTF-8 when the whole file is UTF-8; else cp1252 (latin-1 as last resort), unless some of
    its bytes are UTF-8 text: then the file mixes encodings (rows pasted from two sources), and
    decoding it either way would turn some of its words into mojibake ("CafÃ©"), so it is
    refused at the row of its first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        first_bad = error.start
    if UTF8_MULTIBYTE.search(raw):
        prefix = raw[:first_bad].decode("utf-8", errors="replace")
        raise LedgerError(
            [
                RowError(
                    _row_of_offset(prefix),
                    "row",
                    f"row: the file is UTF-8 elsewhere but byte 0x{raw[first_bad]:02X} here is "
                    "in another encoding: save the whole file as UTF-8 and import it again",
                )
            ]
        )
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _row_of_offset(prefix: str) -> int:
    """The spreadsheet row in which the text after `prefix` lies (the sep= line is no row)."""
    text = _without_excel_separator(prefix)
    # A sentinel cell makes the partial record at the end count even when `prefix` ends a line.
    return len(list(csv.reader(io.StringIO(text + "x", newline=""))))


def _without_excel_separator(text: str) -> str:
    """Drop Excel's optional first line `sep=;`: the header detection finds the delimiter
    anyway, and a spreadsheet does not show that line as a row."""
    first, _, rest = text.partition("\n")
    if re.fullmatch(r"\s*sep=[,;\t]\s*", first.rstrip("\r")):
        return rest
    return text


def _detect(header_line: str) -> tuple[str, _Format | None]:
    """The delimiter under which the header names a known format (the most frequent first)."""
    for delimiter in sorted(DELIMITERS, key=lambda d: -header_line.count(d)):
        try:
            cells = next(csv.reader([header_line], delimiter=delimiter), [])
        except csv.Error:
            continue
        fmt = _format_of([_header_name(cell) for cell in cells])
        if fmt is not None:
            return delimiter, fmt
    return ",", None


def _format_of(names: Sequence[str]) -> _Format | None:
    header = set(names)
    return next((fmt for fmt in FORMATS if fmt.matches(header)), None)


def _header_name(cell: str) -> str:
    return cell.strip().strip('"').strip().lower()


def _unknown_header(header_line: str) -> str:
    shown = header_line.strip()[:120]
    return (
        f"the header row '{shown}' is not one we know: use our format "
        "(date,type,ticker,quantity,price,fees,currency,note), a Yahoo Finance portfolio "
        "export or a Ghostfolio activities CSV"
    )


def _uses_decimal_comma(rows: list[tuple[int, dict[str, str]]], numeric: Sequence[str]) -> bool:
    return any(re.search(r"\d,\d", values.get(name, "")) for _, values in rows for name in numeric)


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


def _duplicates(
    rows: Sequence[TransactionRow], cleaned: Sequence[tuple[int | None, CleanTransaction]]
) -> list[RowError]:
    """A warning for each imported row equal to a stored one (date, type, ticker, amounts)."""

    stored = {(t.trade_date, t.kind, t.ticker, t.quantity, t.price, t.fees): t.id for t in rows}
    warnings = []
    for row, clean in cleaned:
        match = stored.get(
            (clean.trade_date, clean.kind, clean.ticker, clean.quantity, clean.price, clean.fees)
        )
        if match is not None:
            what = f"{clean.trade_date.isoformat()} {clean.kind} {format_number(clean.quantity)}"
            warnings.append(
                RowError(
                    row,
                    "row",
                    f"row: repeats transaction #{match} already in the ledger "
                    f"({what} {clean.ticker or ''})".replace(" )", ")"),
                )
            )
    return warnings


def _refuse_repeated_columns(row: int, header: Sequence[str], names: Sequence[str]) -> None:
    """A column named twice would be read from one of its copies only: say which ones."""
    seen: dict[str, int] = {}
    for name in names:
        if name:
            seen[name] = seen.get(name, 0) + 1
    repeated = [name for name, count in seen.items() if count > 1]
    if repeated:
        shown = ", ".join(
            next(cell.strip() for cell, n in zip(header, names, strict=True) if n == name)
            for name in repeated
        )
        raise LedgerError(
            [
                RowError(
                    row,
                    "header",
                    f"header: names {shown} more than once; keep one column of each name",
                )
            ]
        )


def _file_error(reason: str) -> RowError:
    return RowError(None, "file", f"file: {reason}")


def _binary_error() -> RowError:
    return _file_error(
        "it holds binary data, not text: save the spreadsheet as CSV (UTF-8) and try again"
    )
