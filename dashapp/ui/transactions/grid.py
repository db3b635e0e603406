"""The ledger grid: its columns, and transactions as its rows.

A row carries its ticker's symbol check ("known", "unknown", "unchecked"), which the caller reads
from `services.transactions.ticker_statuses`: formatting a row reads nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict

import dash_ag_grid as dag

from dashapp.services.transactions import TransactionRow
from dashapp.ui.transactions import ids

# The grid's symbol check in words (services.transactions.ticker_statuses says which).
SYMBOL_WORDS = {
    "known": "prices cached",
    "unknown": "unknown symbol",
    "unchecked": "not checked yet",
}
GRID_FIELDS = (
    "id",
    "trade_date",
    "kind",
    "ticker",
    "ticker_status",
    "quantity",
    "price",
    "fees",
    "currency",
    "note",
)


def ledger_grid(rows: list[dict]) -> dag.AgGrid:
    """The sortable, filterable grid of the ledger; selecting a row loads it into the form."""
    return dag.AgGrid(
        id=ids.GRID,
        rowData=rows,
        columnDefs=column_defs(),
        defaultColDef={"sortable": True, "filter": True, "resizable": True},
        getRowId="`${params.data.id}`",
        rowClass="ledger-row",
        dashGridOptions={
            "rowSelection": {"mode": "singleRow", "enableClickSelection": True},
            "domLayout": "autoHeight",
            "animateRows": False,
            "pagination": True,
            "paginationPageSize": 50,
            "paginationPageSizeSelector": [25, 50, 100, 500],
        },
        columnSize="responsiveSizeToFit",
        style={"width": "100%"},
    )


def grid_rows(rows: list[TransactionRow], statuses: Mapping[str, str]) -> list[dict]:
    """The grid's records of `rows`, each with its ticker's status from `statuses`."""
    records = []
    for row in rows:
        record = asdict(row)
        record["trade_date"] = row.trade_date.isoformat()
        record["ticker_status"] = statuses.get(row.ticker, "") if row.ticker else ""
        records.append({name: record[name] for name in GRID_FIELDS})
    return records


def unconfirmed(grid: list[dict], tickers: list[str]) -> list[str]:
    """The tickers whose prices or quote the cache does not hold yet: only those are worth a
    provider request."""
    known = {row["ticker"] for row in grid if row["ticker_status"] == "known"}
    return sorted({ticker for ticker in tickers if ticker not in known})


def column_defs() -> list[dict]:
    number = {
        "type": "numericColumn",
        "valueFormatter": {"function": "formatQuantity(params.value)"},
    }
    return [
        {"field": "trade_date", "headerName": "Date", "sort": "desc", "minWidth": 120},
        {"field": "kind", "headerName": "Type", "minWidth": 110},
        {"field": "ticker", "headerName": "Ticker", "cellClass": "fw-bold", "minWidth": 100},
        {
            "field": "ticker_status",
            "headerName": "Symbol check",
            "headerTooltip": "Whether Yahoo Finance knows the ticker: checked when a ticker is "
            "first used; 'prices cached' means the app holds its prices.",
            "valueFormatter": {"function": f"({json.dumps(SYMBOL_WORDS)})[params.value] || ''"},
            "minWidth": 150,
        },
        {"field": "quantity", "headerName": "Quantity", **number},
        {"field": "price", "headerName": "Price", **number},
        {"field": "fees", "headerName": "Fees", **number},
        {"field": "currency", "headerName": "Currency", "minWidth": 90},
        {"field": "note", "headerName": "Note", "minWidth": 160},
    ]
