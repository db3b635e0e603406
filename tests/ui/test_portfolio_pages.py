"""The portfolios and transactions pages' callbacks over Dash's HTTP endpoint."""

from __future__ import annotations

import base64
import json
from datetime import date

from dashapp import context_of
from dashapp.services.portfolios import create_portfolio, get_portfolio, list_portfolios
from dashapp.services.transactions import TransactionDraft, add_transaction, list_transactions
from tests.dash_client import DashClient

CSV = b"date,type,ticker,quantity,price,fees,currency,note\n2024-12-02,BUY,AAPL,10,100,0,USD,\n"


def route(client: DashClient, path: str) -> str:
    return json.dumps(client.call("page-content.children", {"url.pathname": path}))


def change_portfolios(client: DashClient, trigger: str, **state: object) -> dict:
    states = {
        "portfolios-new-name.value": None,
        "portfolios-new-currency.value": "USD",
        "portfolios-rename-name.value": None,
        "portfolios-target.data": None,
    }
    states.update({f"portfolios-{key.replace('_', '-')}": value for key, value in state.items()})
    return client.call(
        "portfolios-table.children",
        {
            "portfolios-create.n_clicks": 1,
            "portfolios-rename-save.n_clicks": 1,
            "portfolios-delete-confirm.n_clicks": 1,
        },
        states,
        changed=[f"{trigger}.n_clicks"],
    )


def change_ledger(client: DashClient, portfolio_id: int, trigger: str, **fields: object) -> dict:
    form = {"trade_date": "", "kind": "BUY", "ticker": "", "quantity": "", "price": "", "fees": ""}
    form.update(fields)
    states = {f"ledger-{name}.value": value for name, value in form.items()}
    states["ledger-note.value"] = ""
    states["ledger-portfolio.data"] = portfolio_id
    states["ledger-editing.data"] = fields.get("editing")
    return client.call(
        "ledger-grid.rowData",
        {
            "ledger-add.n_clicks": 1,
            "ledger-save.n_clicks": 1,
            "ledger-delete-confirm.n_clicks": 1,
        },
        states,
        changed=[f"{trigger}.n_clicks"],
    )


def test_transactions_page_is_routed_by_portfolio_id(app):
    portfolio = create_portfolio(context_of(app), "Roth IRA")
    client = DashClient(app)
    assert "Roth IRA" in route(client, f"/portfolios/{portfolio.id}")
    assert "does not exist" in route(client, "/portfolios/999")
    assert "Nothing lives at this address" in route(client, "/portfolios/abc")


def test_create_rename_and_delete_a_portfolio(app):
    client = DashClient(app)
    created = change_portfolios(client, "portfolios-create", **{"new-name.value": "Taxable"})
    assert "Created Taxable." in json.dumps(created)
    (portfolio,) = list_portfolios(context_of(app))

    renamed = change_portfolios(
        client,
        "portfolios-rename-save",
        **{"rename-name.value": "Brokerage", "target.data": portfolio.id},
    )
    assert "Renamed to Brokerage." in json.dumps(renamed)
    assert get_portfolio(context_of(app), portfolio.id).name == "Brokerage"

    deleted = change_portfolios(
        client, "portfolios-delete-confirm", **{"target.data": portfolio.id}
    )
    assert "Deleted Brokerage" in json.dumps(deleted)
    assert list_portfolios(context_of(app)) == []


def test_bad_portfolio_name_changes_nothing_and_says_why(app):
    client = DashClient(app)
    answer = change_portfolios(client, "portfolios-create", **{"new-name.value": "   "})
    assert "portfolios-table" not in answer
    assert "name: a portfolio needs a name" in json.dumps(answer["portfolios-feedback"])
    assert list_portfolios(context_of(app)) == []


def test_adding_a_transaction_updates_the_grid_and_the_version(app):
    portfolio = create_portfolio(context_of(app), "Taxable")
    client = DashClient(app)
    answer = change_ledger(
        client,
        portfolio.id,
        "ledger-add",
        trade_date="2024-12-02",
        ticker="aapl",
        quantity="10",
        price="100",
    )
    rows = answer["ledger-grid"]["rowData"]
    assert [(r["trade_date"], r["kind"], r["ticker"], r["quantity"]) for r in rows] == [
        ("2024-12-02", "BUY", "AAPL", 10.0)
    ]
    assert answer["ledger-check"]["data"] == ["AAPL"]  # checked in the background next
    assert get_portfolio(context_of(app), portfolio.id).version == portfolio.version + 1


def test_an_oversell_is_refused_with_the_shares_held(app):
    context = context_of(app)
    portfolio = create_portfolio(context, "Taxable")
    add_transaction(
        context, portfolio.id, TransactionDraft("2024-12-02", "BUY", "AAPL", "10", "100")
    )
    client = DashClient(app)
    answer = change_ledger(
        client,
        portfolio.id,
        "ledger-add",
        trade_date="2024-12-03",
        kind="SELL",
        ticker="AAPL",
        quantity="15",
        price="110",
    )
    assert "ledger-grid" not in answer
    errors = json.dumps(answer["ledger-feedback"])
    assert "Nothing was changed" in errors and "10" in errors
    assert len(list_transactions(context, portfolio.id)) == 1


def test_upload_is_previewed_before_anything_is_imported(app):
    context = context_of(app)
    portfolio = create_portfolio(context, "Taxable")
    client = DashClient(app)
    contents = "data:text/csv;base64," + base64.b64encode(CSV).decode()
    answer = client.call(
        "ledger-preview.children",
        {"ledger-upload.contents": contents},
        {"ledger-upload.filename": "mine.csv", "ledger-portfolio.data": portfolio.id},
    )
    assert answer["ledger-import"]["disabled"] is False
    assert "1 transactions" in json.dumps(answer["ledger-preview"])
    assert list_transactions(context, portfolio.id) == []

    imported = client.call(
        "ledger-grid.rowData",
        {"ledger-import.n_clicks": 1},
        {
            "ledger-upload-file.data": {"contents": contents, "filename": "mine.csv"},
            "ledger-portfolio.data": portfolio.id,
        },
    )
    assert [r["ticker"] for r in imported["ledger-grid"]["rowData"]] == ["AAPL"]
    assert len(list_transactions(context, portfolio.id)) == 1


def test_random_bytes_upload_gets_an_error_and_no_import_button(app):
    portfolio = create_portfolio(context_of(app), "Taxable")
    client = DashClient(app)
    contents = (
        "data:application/octet-stream;base64," + base64.b64encode(bytes(range(256))).decode()
    )
    answer = client.call(
        "ledger-preview.children",
        {"ledger-upload.contents": contents},
        {"ledger-upload.filename": "noise.bin", "ledger-portfolio.data": portfolio.id},
    )
    assert answer["ledger-import"]["disabled"] is True
    assert "Nothing will be imported" in json.dumps(answer["ledger-preview"])


def test_a_split_in_the_price_data_is_proposed_and_added_on_one_click(app):
    context = context_of(app)
    portfolio = create_portfolio(context, "Taxable")
    add_transaction(
        context, portfolio.id, TransactionDraft("2020-08-03", "BUY", "AAPL", "10", "400")
    )
    context.store.fill(["AAPL"], date(2020, 8, 3), date(2024, 12, 4))
    client = DashClient(app)
    page = route(client, f"/portfolios/{portfolio.id}")
    assert "SPLIT:AAPL:2020-08-31" in page
    assert list_transactions(context, portfolio.id)[-1].kind == "BUY"  # nothing added yet

    button = {"index": "SPLIT:AAPL:2020-08-31", "type": "ledger-proposal"}
    answer = client.call(
        "ledger-grid.rowData",
        {'{"index":["ALL"],"type":"ledger-proposal"}.n_clicks': [(button, 1)]},
        {"ledger-portfolio.data": portfolio.id},
        changed=['{"index":"SPLIT:AAPL:2020-08-31","type":"ledger-proposal"}.n_clicks'],
    )
    assert "Added 2020-08-31 SPLIT AAPL." in json.dumps(answer["ledger-feedback"])
    splits = [row for row in list_transactions(context, portfolio.id) if row.kind == "SPLIT"]
    assert [(s.trade_date, s.ticker, s.quantity) for s in splits] == [
        (date(2020, 8, 31), "AAPL", 4.0)
    ]
