"""Export: our CSV format, safe to open in a spreadsheet, and read back into the same ledger."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from dashapp.services.demo import seed_demo_portfolio
from dashapp.services.ledger_export import (
    csv_number,
    export_csv,
    export_json,
    import_limit_warning,
    neutralise,
)
from dashapp.services.ledger_files import unneutralise
from dashapp.services.ledger_import import ImportTooLarge, import_transactions
from dashapp.services.portfolios import create_portfolio
from dashapp.services.transactions import TransactionDraft, add_transaction, list_transactions

TRICKY_NOTES = (
    '=HYPERLINK("http://evil","x")',
    "+1+2",
    "-2 fee refund",
    "@SUM(A1:A9)",
    "'=already quoted",
    "'tis a note",
    'comma, "quotes" and\nnewline',
    "Café <script>alert(1)</script>",
)


def contents(app_context, portfolio_id: int) -> list[tuple]:
    return [
        (t.trade_date, t.kind, t.ticker, t.quantity, t.price, t.fees, t.currency, t.note)
        for t in list_transactions(app_context, portfolio_id)
    ]


@pytest.fixture
def portfolio_id(app_context) -> int:
    portfolio_id = create_portfolio(app_context, "Exported").id
    for draft in (
        TransactionDraft("2024-01-02", "DEPOSIT", None, "1", "10000"),
        TransactionDraft("2024-01-03", "BUY", "BRK-B", "3", "360.1", "0.1", note="=1+2"),
        TransactionDraft("2024-02-01", "SPLIT", "BRK-B", "10"),
        TransactionDraft("2024-03-01", "SELL", "BRK-B", "0.0000001", "36.5", "", note="@me"),
    ):
        add_transaction(app_context, portfolio_id, draft)
    return portfolio_id


def test_csv_is_our_import_format_with_neutralised_formulas(app_context, portfolio_id):
    assert export_csv(app_context, portfolio_id) == (
        "date,type,ticker,quantity,price,fees,currency,note\r\n"
        "2024-01-02,DEPOSIT,,1,10000,0,USD,\r\n"
        "2024-01-03,BUY,BRK-B,3,360.1,0.1,USD,'=1+2\r\n"
        "2024-02-01,SPLIT,BRK-B,10,0,0,USD,\r\n"
        "2024-03-01,SELL,BRK-B,1e-07,36.5,0,USD,'@me\r\n"
    )


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("'=x", "''=x"),
        ("'tis", "'tis"),
        ("AAPL", "AAPL"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_get_an_apostrophe_that_import_removes(cell, safe):
    assert neutralise(cell) == safe
    assert unneutralise(safe) == cell


@pytest.mark.parametrize(
    ("value", "text"), [(10.0, "10"), (0.1, "0.1"), (1e-7, "1e-07"), (1234.5, "1234.5")]
)
def test_numbers_are_written_in_their_shortest_exact_form(value, text):
    assert csv_number(value) == text
    assert float(text) == value


def test_export_then_import_gives_the_same_ledger(app_context, portfolio_id):
    for note in TRICKY_NOTES:
        add_transaction(
            app_context,
            portfolio_id,
            TransactionDraft("2024-03-04", "FEE", None, "0", "0", "1", note=note),
        )
    copy = create_portfolio(app_context, "Copy").id
    raw = export_csv(app_context, portfolio_id).encode()
    result = import_transactions(app_context, copy, raw, "export.csv")
    assert result.imported == 4 + len(TRICKY_NOTES)
    assert contents(app_context, copy) == contents(app_context, portfolio_id)
    assert export_csv(app_context, copy) == export_csv(app_context, portfolio_id)


def test_the_demo_ledger_round_trips_exactly(app_context):
    demo = seed_demo_portfolio(app_context)
    copy = create_portfolio(app_context, "Demo copy").id
    import_transactions(app_context, copy, export_csv(app_context, demo).encode(), "demo.csv")
    assert contents(app_context, copy) == contents(app_context, demo)
    assert len(contents(app_context, demo)) > 40


def test_json_export_carries_the_portfolio_and_every_value(app_context, portfolio_id):
    document = json.loads(export_json(app_context, portfolio_id))
    assert document["format"] == "stocktracker-ledger"
    assert document["portfolio"] == {"name": "Exported", "base_currency": "USD", "version": 5}
    transactions = document["transactions"]
    assert [t["kind"] for t in transactions] == ["DEPOSIT", "BUY", "SPLIT", "SELL"]
    assert transactions[1] | {"id": 0} == {
        "id": 0,
        "trade_date": "2024-01-03",
        "kind": "BUY",
        "ticker": "BRK-B",
        "quantity": 3.0,
        "price": 360.1,
        "fees": 0.1,
        "currency": "USD",
        "note": "=1+2",
    }


def test_an_export_larger_than_one_import_warns_and_one_at_the_limit_does_not(
    app_context, portfolio_id
):
    at_limit = export_csv(app_context, portfolio_id)
    app_context.settings = replace(app_context.settings, max_import_rows=4)
    assert import_limit_warning(app_context, at_limit) is None
    copy = create_portfolio(app_context, "At the limit").id
    assert import_transactions(app_context, copy, at_limit.encode(), "x.csv").imported == 4

    add_transaction(
        app_context, portfolio_id, TransactionDraft("2024-03-04", "FEE", None, "0", "0", "1")
    )
    over = export_csv(app_context, portfolio_id)
    assert import_limit_warning(app_context, over) == (
        "This export holds 5 transactions, more than the 4 rows one import takes: to import it "
        "again, split it into smaller files (keep the header row in each)."
    )
    with pytest.raises(ImportTooLarge):
        import_transactions(app_context, copy, over.encode(), "x.csv")


def test_an_export_over_the_byte_limit_warns(app_context, portfolio_id):
    exported = export_csv(app_context, portfolio_id)
    size = len(exported.encode("utf-8-sig"))
    app_context.settings = replace(app_context.settings, max_import_bytes=size - 1)
    assert import_limit_warning(app_context, exported) == (
        f"This export holds {size:,} bytes, more than the {size - 1:,} bytes one import takes: "
        "to import it again, split it into smaller files (keep the header row in each)."
    )
