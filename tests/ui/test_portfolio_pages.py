"""The portfolios and transactions pages' callbacks over Dash's HTTP endpoint."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import date

import pytest

from dashapp import context_of
from dashapp.db.models import PriceBar
from dashapp.services.portfolios import (
    create_portfolio,
    delete_portfolio,
    get_portfolio,
    list_portfolios,
)
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
    # Said under the name box, which is marked invalid; no other box is.
    assert answer["portfolios-new-name"]["invalid"] is True
    assert answer["portfolios-new-name-feedback"]["children"] == "A portfolio needs a name."
    assert answer["portfolios-new-currency"]["invalid"] is False
    assert list_portfolios(context_of(app)) == []


def test_a_name_another_portfolio_has_is_refused_at_the_field_on_create_and_rename(app):
    client = DashClient(app)
    create_portfolio(context_of(app), "Retirement")
    other = create_portfolio(context_of(app), "Taxable")
    answer = change_portfolios(client, "portfolios-create", **{"new-name.value": " retirement"})
    assert "portfolios-table" not in answer
    assert answer["portfolios-new-name"]["invalid"] is True
    assert answer["portfolios-new-name-feedback"]["children"] == (
        'A portfolio named "Retirement" exists already.'
    )
    renamed = change_portfolios(
        client,
        "portfolios-rename-save",
        **{"rename-name.value": "RETIREMENT", "target.data": other.id},
    )
    assert renamed["portfolios-rename-name"]["invalid"] is True
    assert "portfolios-rename-modal" not in renamed  # the dialog stays open to fix the name
    assert sorted(p.name for p in list_portfolios(context_of(app))) == ["Retirement", "Taxable"]


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
            "ledger-upload.contents": contents,
            "ledger-upload.filename": "mine.csv",
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


def find(tree: object, component_id: str) -> dict:
    """The component with `component_id` in a layout as Dash serialises it."""
    if isinstance(tree, dict) and tree.get("props", {}).get("id") == component_id:
        return tree
    items = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, list) else []
    for item in items:
        found = find(item, component_id)
        if found:
            return found
    return {}


def proposal_buttons(tree: object) -> list[str]:
    """The keys of the proposal buttons in `tree`, in page order."""
    text = json.dumps(tree)
    marker = '"id": {"type": "ledger-proposal", "index": "'
    return [part.split('"', 1)[0] for part in text.split(marker)[1:]]


@pytest.fixture
def many_proposals(app) -> int:
    """A EUR portfolio holding 10 ACME since January; the price data shows eight monthly
    dividends (0.05 as stored, 0.10 paid before the later 2:1 split) and the split."""
    context = context_of(app)
    portfolio = create_portfolio(context, "Depot", "EUR")
    add_transaction(
        context, portfolio.id, TransactionDraft("2024-01-02", "BUY", "ACME", "10", "20")
    )
    days = {f"2024-{month:02d}-01": (0.05, 1.0) for month in range(2, 10)}
    days["2024-10-01"] = (0.0, 2.0)
    with context.db.session() as session:
        session.add_all(
            PriceBar(
                ticker="ACME",
                date=date.fromisoformat(day),
                open=10.0,
                high=10.0,
                low=10.0,
                close=10.0,
                volume=1.0,
                dividend=dividend,
                split_ratio=ratio,
            )
            for day, (dividend, ratio) in days.items()
        )
    return portfolio.id


def test_many_proposals_show_a_summary_five_buttons_and_the_rest_behind_a_disclosure(
    app, many_proposals
):
    client = DashClient(app)
    page = client.call("page-content.children", {"url.pathname": f"/portfolios/{many_proposals}"})
    card = find(page, "ledger-proposals")
    summary = json.dumps(find(card, "ledger-proposals-summary"))
    # 10 shares x 0.10 on each of eight ex-dates.
    assert "1 split: ACME 1" in summary
    assert "8 dividends, 8.00 EUR in all: ACME 8" in summary
    assert proposal_buttons(find(card, "ledger-proposals-head")) == [
        "SPLIT:ACME:2024-10-01",
        *(f"DIVIDEND:ACME:2024-{month:02d}-01" for month in range(2, 6)),
    ]
    rest = find(card, "ledger-proposals-rest")["props"]["children"]
    assert proposal_buttons(rest) == [f"DIVIDEND:ACME:2024-{m:02d}-01" for m in range(6, 10)]
    assert find(card, "ledger-proposals-more")["props"]["is_open"] is False
    toggle = find(card, "ledger-proposals-toggle")["props"]
    assert toggle["children"] == "Show the other 4 proposals"

    opened = client.call(
        "ledger-proposals-more.is_open",
        {"ledger-proposals-toggle.n_clicks": 1},
        {"ledger-proposals-more.is_open": False, "ledger-proposals-rest.children": rest},
    )
    assert opened["ledger-proposals-more"]["is_open"] is True
    assert opened["ledger-proposals-toggle"]["children"] == "Hide the other 4 proposals"


def test_a_hidden_proposal_is_added_alone_and_the_disclosure_stays_open(app, many_proposals):
    context = context_of(app)
    client = DashClient(app)
    button = {"index": "DIVIDEND:ACME:2024-09-01", "type": "ledger-proposal"}
    client.call(
        "ledger-grid.rowData",
        {'{"index":["ALL"],"type":"ledger-proposal"}.n_clicks': [(button, 1)]},
        {"ledger-portfolio.data": many_proposals},
        changed=['{"index":"DIVIDEND:ACME:2024-09-01","type":"ledger-proposal"}.n_clicks'],
    )
    dividends = [r for r in list_transactions(context, many_proposals) if r.kind == "DIVIDEND"]
    assert [(r.trade_date, r.quantity, r.price, r.currency) for r in dividends] == [
        (date(2024, 9, 1), 10.0, 0.1, "EUR")
    ]

    redrawn = client.call(
        "ledger-proposals.className",
        {"ledger-grid.rowData": []},
        {"ledger-portfolio.data": many_proposals, "ledger-proposals-more.is_open": True},
    )
    assert redrawn["ledger-proposals-toggle"]["children"] == "Hide the other 3 proposals"
    assert "7 dividends, 7.00 EUR in all" in json.dumps(redrawn["ledger-proposals-head"])
    assert "DIVIDEND:ACME:2024-09-01" not in json.dumps(redrawn)


def test_the_proposals_card_is_hidden_when_nothing_is_missing(app):
    portfolio = create_portfolio(context_of(app), "Taxable")
    client = DashClient(app)
    page = client.call("page-content.children", {"url.pathname": f"/portfolios/{portfolio.id}"})
    assert find(page, "ledger-proposals")["props"]["className"] == "d-none"
    assert proposal_buttons(page) == []


def test_the_editor_names_a_non_usd_base_currency_and_rows_carry_it(app):
    context = context_of(app)
    portfolio = create_portfolio(context, "Depot", "EUR")
    client = DashClient(app)
    page = json.dumps(route(client, f"/portfolios/{portfolio.id}"))
    assert "Amounts are in EUR, the portfolio" in page
    answer = change_ledger(
        client,
        portfolio.id,
        "ledger-add",
        trade_date="2024-12-02",
        ticker="SAP.DE",
        quantity="3",
        price="230",
    )
    assert [(r["ticker"], r["currency"]) for r in answer["ledger-grid"]["rowData"]] == [
        ("SAP.DE", "EUR")
    ]


def test_a_ticker_the_cache_knows_is_not_asked_of_the_provider_again(app):
    context = context_of(app)
    portfolio = create_portfolio(context, "Taxable")
    context.store.fill(["AAPL"], date(2024, 11, 1), date(2024, 12, 4))
    client = DashClient(app)
    known = change_ledger(
        client,
        portfolio.id,
        "ledger-add",
        trade_date="2024-12-02",
        ticker="AAPL",
        quantity="1",
        price="100",
    )
    assert known["ledger-check"]["data"] == []
    new = change_ledger(
        client,
        portfolio.id,
        "ledger-add",
        trade_date="2024-12-02",
        ticker="ZZZZ",
        quantity="1",
        price="100",
    )
    assert new["ledger-check"]["data"] == ["ZZZZ"]


def test_a_preview_of_a_file_full_of_errors_lists_the_first_hundred(app):
    portfolio = create_portfolio(context_of(app), "Taxable")
    client = DashClient(app)
    rows = "".join(f"2024-12-02,BUY,AAPL,-{i + 1},100\n" for i in range(250))
    contents = (
        "data:text/csv;base64,"
        + base64.b64encode(("date,type,ticker,quantity,price\n" + rows).encode()).decode()
    )
    answer = client.call(
        "ledger-preview.children",
        {"ledger-upload.contents": contents},
        {"ledger-upload.filename": "bad.csv", "ledger-portfolio.data": portfolio.id},
    )
    errors = find(answer["ledger-preview"]["children"], "ledger-preview-errors")
    items = json.dumps(errors).count('"type": "Li"')
    assert items == 101  # 100 errors and the line saying how many more
    assert "… and 150 more" in json.dumps(errors, ensure_ascii=False)
    assert "row 2: quantity: a BUY needs a positive quantity, not -1" in json.dumps(errors)
    assert answer["ledger-import"]["disabled"] is True


def test_an_upload_to_a_portfolio_deleted_meanwhile_says_so(app):
    context = context_of(app)
    portfolio = create_portfolio(context, "Taxable")
    delete_portfolio(context, portfolio.id)
    client = DashClient(app)
    contents = "data:text/csv;base64," + base64.b64encode(CSV).decode()
    upload = {"ledger-upload.filename": "mine.csv", "ledger-portfolio.data": portfolio.id}
    answer = client.call("ledger-preview.children", {"ledger-upload.contents": contents}, upload)
    assert f"Portfolio {portfolio.id} does not exist: it was deleted." in json.dumps(answer)
    assert answer["ledger-import"]["disabled"] is True
    imported = client.call(
        "ledger-grid.rowData",
        {"ledger-import.n_clicks": 1},
        {
            "ledger-upload.contents": contents,
            "ledger-upload.filename": "mine.csv",
            "ledger-portfolio.data": portfolio.id,
        },
    )
    assert "it was deleted" in json.dumps(imported["ledger-preview"])


def test_the_ledger_page_warns_when_its_export_is_more_than_one_import_takes(app):
    context = context_of(app)
    portfolio = create_portfolio(context, "Big ledger")
    for day in ("2024-03-01", "2024-03-04", "2024-03-05"):
        add_transaction(
            context, portfolio.id, TransactionDraft(day, "BUY", "AAPL", "1", "100", "0")
        )
    client = DashClient(app)
    page = json.loads(route(client, f"/portfolios/{portfolio.id}"))
    assert find(page, "ledger-export-warning") == {}

    context.settings = replace(context.settings, max_import_rows=2)
    page = json.loads(route(client, f"/portfolios/{portfolio.id}"))
    assert find(page, "ledger-export-warning")["props"]["children"] == (
        "This export holds 3 transactions, more than the 2 rows one import takes: to import it "
        "again, split it into smaller files (keep the header row in each)."
    )


def test_a_page_address_with_unicode_digits_is_no_portfolio(app):
    portfolio = create_portfolio(context_of(app), "Only ASCII")
    assert portfolio.id == 1
    client = DashClient(app)
    assert "Nothing lives at this address" in route(client, "/portfolios/１")
    assert "Nothing lives at this address" in route(client, "/portfolios/１/reports")
