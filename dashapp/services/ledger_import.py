"""CSV import of a ledger: detect the file's format, preview what it holds, then import all or none.

The file is read as a spreadsheet writes it (`ledger_files`: encoding, delimiter, quoting) in one
of the formats of `ledger_formats` (StockTracker's own CSV, a Yahoo Finance portfolio export, a
Ghostfolio activities CSV), found from its header. A ';' file whose numbers contain a decimal
comma ("12,5") is read with decimal commas and '.' thousands separators. A column named twice
in the header, and a data row with more cells than the header, are errors that name the
columns or the row. Each row's fields are then checked by the same rules as a transaction
typed in (`ledger_fields`), and the whole ledger with the file's rows must apply
(`ledger_check`): the preview lists every problem, the import stores all rows or none.

Row numbers in messages are those a spreadsheet shows: the header is row 1 (when the file
starts with it) and the first data row is row 2. Limits: `settings.max_import_bytes` and
`settings.max_import_rows` (data rows).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from dashapp.services.context import AppContext
from dashapp.services.ledger_fields import CleanTransaction, LedgerError, RowError, TransactionDraft
from dashapp.services.ledger_files import (
    decode_text,
    file_error,
    read_records,
    without_excel_separator,
)
from dashapp.services.ledger_formats import SkippedRow, detect_format, header_name, unknown_header
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


@dataclass(frozen=True)
class ImportRow:
    """One data row of the file as the transaction it becomes; `row` is its spreadsheet row."""

    row: int
    draft: TransactionDraft


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
    bumps the portfolio's version and records one "import" (file name, format, rows) in its
    history. The whole ledger (stored plus imported) is validated,
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
        # A file name longer than any file system's (255) is not one a user chose to keep.
        source={
            "filename": filename[:255],
            "format": parsed.format,
            "skipped": len(parsed.skipped),
        },
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
                file_error(
                    f"the file is larger than the limit of {max_bytes:,} bytes; "
                    "split it into smaller files"
                )
            ]
        )
    text = without_excel_separator(decode_text(raw))
    header_line = next((line for line in text.splitlines() if line.strip()), None)
    if header_line is None:
        raise LedgerError([file_error("the file is empty")])
    delimiter, fmt = detect_format(header_line)
    if fmt is None:
        raise LedgerError([file_error(unknown_header(header_line))])
    records = read_records(text, delimiter)
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
                file_error(
                    f"the file has {len(data):,} data rows; the limit is {max_rows:,} rows: "
                    "split it into smaller files"
                )
            ]
        )
    names = [header_name(cell) for cell in header]
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


def _uses_decimal_comma(rows: list[tuple[int, dict[str, str]]], numeric: Sequence[str]) -> bool:
    return any(re.search(r"\d,\d", values.get(name, "")) for _, values in rows for name in numeric)


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
