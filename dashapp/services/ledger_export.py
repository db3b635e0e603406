"""Export of a portfolio's ledger as CSV in our import format, and as JSON.

The CSV is safe to open in a spreadsheet: a cell that starts with = + - @ tab or CR would be
read as a formula (CSV injection), so it gets a leading apostrophe, which spreadsheets show as
text and the import removes again (`ledger_files.unneutralise`). A cell that already starts
with apostrophes before such a character gets one more, so the import gives back exactly what
was stored. Numbers are written in the shortest form that reads back as the same float, and
are never negative.
"""

from __future__ import annotations

import csv
import io
import json
import re

from dashapp.services.context import AppContext
from dashapp.services.portfolios import get_portfolio
from dashapp.services.transactions import TransactionRow, list_transactions

CSV_HEADER = ("date", "type", "ticker", "quantity", "price", "fees", "currency", "note")
FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")
JSON_FORMAT = "stocktracker-ledger"
JSON_FORMAT_VERSION = 1


def export_csv(ctx: AppContext, portfolio_id: int) -> str:
    """The ledger in ledger order, in our documented CSV format with CRLF line ends."""
    return ledger_csv(list_transactions(ctx, portfolio_id))


def ledger_csv(rows: list[TransactionRow]) -> str:
    """Ledger rows, already read, as export_csv writes them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(_csv_cells(row) for row in rows)
    return buffer.getvalue()


def export_warning(ctx: AppContext, rows: list[TransactionRow]) -> str | None:
    """import_limit_warning for the export of these ledger rows, for a page that has read them."""
    return import_limit_warning(ctx, ledger_csv(rows))


def import_limit_warning(ctx: AppContext, exported_csv: str) -> str | None:
    """A sentence for the user when the exported CSV is more than one import takes
    (`max_import_rows` data rows, `max_import_bytes` bytes as downloaded, BOM included), so
    the file they download is not silently one that its own import refuses; else None."""
    settings = ctx.settings
    rows = sum(1 for _ in csv.reader(io.StringIO(exported_csv, newline=""))) - 1
    size = len(exported_csv.encode("utf-8-sig"))
    if rows > settings.max_import_rows:
        excess = f"{rows:,} transactions, more than the {settings.max_import_rows:,} rows"
    elif size > settings.max_import_bytes:
        excess = f"{size:,} bytes, more than the {settings.max_import_bytes:,} bytes"
    else:
        return None
    return (
        f"This export holds {excess} one import takes: to import it again, split it into "
        "smaller files (keep the header row in each)."
    )


def export_json(ctx: AppContext, portfolio_id: int) -> str:
    """The portfolio and its ledger as a JSON document:
    {"format", "format_version", "portfolio": {"name", "base_currency", "version"},
    "transactions": [{"id", "trade_date", "kind", "ticker", "quantity", "price", "fees",
    "currency", "note"}]}. JSON needs no formula neutralising: values are written as they are."""
    portfolio = get_portfolio(ctx, portfolio_id)
    document = {
        "format": JSON_FORMAT,
        "format_version": JSON_FORMAT_VERSION,
        "portfolio": {
            "name": portfolio.name,
            "base_currency": portfolio.base_currency,
            "version": portfolio.version,
        },
        "transactions": [transaction_json(row) for row in list_transactions(ctx, portfolio_id)],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)


def transaction_json(row: TransactionRow) -> dict[str, object]:
    """One transaction as the JSON API and the JSON export carry it."""
    return {
        "id": row.id,
        "trade_date": row.trade_date.isoformat(),
        "kind": row.kind,
        "ticker": row.ticker,
        "quantity": row.quantity,
        "price": row.price,
        "fees": row.fees,
        "currency": row.currency,
        "note": row.note,
    }


def neutralise(cell: str) -> str:
    """`cell` with a leading apostrophe when a spreadsheet would otherwise run it as a formula."""
    return f"'{cell}" if FORMULA_START.match(cell) else cell


def csv_number(value: float) -> str:
    """The shortest text that reads back as the same float: 10, 0.1, 1e-07."""
    text = repr(float(value))
    return text.removesuffix(".0")


def export_filename(ctx: AppContext, portfolio_id: int, extension: str) -> str:
    """A download name from the portfolio's name, reduced to safe characters."""
    name = get_portfolio(ctx, portfolio_id).name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:60] or "portfolio"
    return f"{stem}-transactions.{extension}"


def _csv_cells(row: TransactionRow) -> list[str]:
    return [
        row.trade_date.isoformat(),
        row.kind,
        neutralise(row.ticker or ""),
        csv_number(row.quantity),
        csv_number(row.price),
        csv_number(row.fees),
        neutralise(row.currency),
        neutralise(row.note),
    ]
