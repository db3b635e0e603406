"""The ledger through the JSON API: portfolios, transactions, import and export, with the same
error shapes as the rest of the API and never a 500 for anything a client sends."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashapp import context_of, create_app
from tests.conftest import make_settings

HEADER = "date,type,ticker,quantity,price,fees,currency,note"


@pytest.fixture
def portfolio_id(client) -> int:
    response = client.post("/api/portfolios", json={"name": "API", "base_currency": "usd"})
    assert response.status_code == 201
    return response.get_json()["id"]


def upload(client, portfolio_id: int, raw: bytes, filename: str = "ledger.csv"):
    return client.post(
        f"/api/portfolios/{portfolio_id}/import",
        data={"file": (io.BytesIO(raw), filename)},
        content_type="multipart/form-data",
    )


def ledger(client, portfolio_id: int) -> list[dict]:
    response = client.get(f"/api/portfolios/{portfolio_id}/transactions")
    assert response.status_code == 200
    return response.get_json()


def test_create_portfolio_returns_201_and_lists_it(client):
    response = client.post(
        "/api/portfolios", json={"name": "<script>alert(1)</script>", "base_currency": "EUR"}
    )
    assert response.status_code == 201
    created = response.get_json()
    assert created | {"id": 0} == {
        "id": 0,
        "name": "<script>alert(1)</script>",
        "base_currency": "EUR",
        "version": 1,
    }
    assert client.get("/api/portfolios").get_json() == [created]


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        ({"name": "", "base_currency": "USD"}, "name", "a portfolio needs a name"),
        (
            {"name": "X", "base_currency": "dollars"},
            "base_currency",
            "a three-letter ISO code such as USD",
        ),
        ({"name": 5}, "name", "must be a string"),
        ([1, 2], "body", "send a JSON object (Content-Type: application/json)"),
    ],
)
def test_bad_portfolio_is_a_400_naming_the_field(client, body, field, error):
    response = client.post("/api/portfolios", json=body)
    assert response.status_code == 400
    assert response.get_json() == {"error": error, "field": field}


def test_rename_and_delete_a_portfolio(client, portfolio_id):
    response = client.patch(f"/api/portfolios/{portfolio_id}", json={"name": "Renamed"})
    assert (response.status_code, response.get_json()["name"]) == (200, "Renamed")
    assert client.delete(f"/api/portfolios/{portfolio_id}").status_code == 204
    assert client.get(f"/api/portfolios/{portfolio_id}/transactions").status_code == 404


def test_add_edit_and_delete_a_transaction(client, portfolio_id):
    response = client.post(
        f"/api/portfolios/{portfolio_id}/transactions",
        json={
            "trade_date": "2024-03-01",
            "kind": "BUY",
            "ticker": "aapl",
            "quantity": 10,
            "price": "170.5",
        },
    )
    assert response.status_code == 201
    created = response.get_json()
    assert created | {"id": 0} == {
        "id": 0,
        "trade_date": "2024-03-01",
        "kind": "BUY",
        "ticker": "AAPL",
        "quantity": 10.0,
        "price": 170.5,
        "fees": 0.0,
        "currency": "USD",
        "note": "",
    }
    url = f"/api/portfolios/{portfolio_id}/transactions/{created['id']}"
    edited = client.put(
        url,
        json={
            "date": "2024-03-04",
            "type": "BUY",
            "ticker": "AAPL",
            "quantity": "12",
            "price": 171,
        },
    )
    assert edited.status_code == 200
    assert (edited.get_json()["trade_date"], edited.get_json()["quantity"]) == ("2024-03-04", 12.0)
    assert client.get("/api/portfolios").get_json()[0]["version"] == 3
    assert client.delete(url).status_code == 204
    assert ledger(client, portfolio_id) == []
    assert client.delete(url).status_code == 404


def test_invalid_transaction_is_a_400_listing_each_error(client, portfolio_id):
    response = client.post(
        f"/api/portfolios/{portfolio_id}/transactions",
        json={
            "trade_date": "2024-11-30",
            "kind": "SELL",
            "ticker": "AAPL",
            "quantity": "1,2.3",
            "price": 1,
            "currency": "EUR",
        },
    )
    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        {
            "row": None,
            "column": "trade_date",
            "message": "trade_date: 2024-11-30 is a Saturday, not an XNYS session; "
            "the trade maps to session 2024-12-02",
        },
        {"row": None, "column": "quantity", "message": "quantity: '1,2.3' is not a number"},
        {
            "row": None,
            "column": "currency",
            "message": "currency: EUR differs from the portfolio's base currency USD; "
            "record the amounts in USD",
        },
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"trade_date": "2024-03-01", "kind": "BUY", "ticker": "AAPL", "quantity": [1], "price": 1},
        {"trade_date": "2024-03-01", "kind": "BUY", "ticker": "AAPL", "quantity": True, "price": 1},
        {"trade_date": {"y": 2024}, "kind": "BUY"},
    ],
)
def test_values_of_the_wrong_json_type_are_a_400(client, portfolio_id, body):
    response = client.post(f"/api/portfolios/{portfolio_id}/transactions", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "must be a string or a number"


def test_deleting_the_buy_behind_a_sell_is_refused(client, portfolio_id):
    url = f"/api/portfolios/{portfolio_id}/transactions"
    bought = client.post(
        url,
        json={
            "trade_date": "2024-03-01",
            "kind": "BUY",
            "ticker": "AAPL",
            "quantity": 10,
            "price": 1,
        },
    ).get_json()
    sold = client.post(
        url,
        json={
            "trade_date": "2024-03-04",
            "kind": "SELL",
            "ticker": "AAPL",
            "quantity": 10,
            "price": 1,
        },
    ).get_json()
    response = client.delete(f"{url}/{bought['id']}")
    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        {
            "row": None,
            "column": "quantity",
            "message": "quantity: deleting this transaction would leave the sell of 10 AAPL on "
            f"2024-03-04 exceeding the 0 shares held then (transaction #{sold['id']})",
        }
    ]
    assert len(ledger(client, portfolio_id)) == 2


def test_unknown_portfolio_or_transaction_is_a_404(client, portfolio_id):
    assert client.get("/api/portfolios/999/transactions").status_code == 404
    response = client.put(
        f"/api/portfolios/{portfolio_id}/transactions/77",
        json={"trade_date": "2024-03-01", "kind": "FEE"},
    )
    assert response.status_code == 404
    assert response.get_json() == {
        "error": f"transaction 77 does not exist in portfolio {portfolio_id}"
    }


def test_import_stores_every_row(client, portfolio_id):
    raw = (
        f"{HEADER}\n2024-03-01,BUY,AAPL,10,170,1,USD,\n2024-03-04,SELL,AAPL,4,180,1,USD,\n".encode()
    )
    response = upload(client, portfolio_id, raw)
    assert response.status_code == 201
    assert response.get_json() == {
        "format": "stocktracker",
        "imported": 2,
        "skipped": [],
        "version": 2,
    }
    assert [t["kind"] for t in ledger(client, portfolio_id)] == ["BUY", "SELL"]


def test_import_preview_stores_nothing(client, portfolio_id):
    raw = (
        b"Symbol,Trade Date,Purchase Price,Quantity,Commission,Comment\n"
        b"MSFT,20240102,370.5,3,,<b>lot</b>\nSPY,,,,,\n"
    )
    response = client.post(
        f"/api/portfolios/{portfolio_id}/import?preview=1",
        data={"file": (io.BytesIO(raw), "yahoo.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "format": "yahoo",
        "rows": [
            {
                "row": 2,
                "trade_date": "2024-01-02",
                "kind": "BUY",
                "ticker": "MSFT",
                "quantity": "3",
                "price": "370.5",
                "fees": "",
                "currency": "",
                "note": "<b>lot</b>",
            }
        ],
        "skipped": [{"row": 3, "reason": "SPY has no Trade Date or Quantity: a watchlist row"}],
        "errors": [],
        "warnings": [],
    }
    assert ledger(client, portfolio_id) == []


def test_import_with_a_bad_row_is_a_400_and_imports_nothing(client, portfolio_id):
    rows = [f"2024-03-0{4 + i % 5},BUY,AAPL,1,100,0,USD," for i in range(100)]
    rows[10] = "2024-03-04,SELL,AAPL,500,100,0,USD,"
    response = upload(client, portfolio_id, "\n".join([HEADER, *rows]).encode())
    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        {
            "row": 12,
            "column": "quantity",
            "message": "quantity: sell of 500 AAPL on 2024-03-04 exceeds the 2 shares held then",
        }
    ]
    assert ledger(client, portfolio_id) == []
    assert client.get("/api/portfolios").get_json()[0]["version"] == 1


def test_too_large_upload_is_a_413_with_a_message(app, client, portfolio_id):
    context = context_of(app)
    context.settings = replace(context.settings, max_import_bytes=100)
    response = upload(
        client, portfolio_id, HEADER.encode() + b"\n" + b"2024-03-01,BUY,AAPL,1,1,0,USD,\n" * 20
    )
    assert response.status_code == 413
    assert response.get_json()["errors"] == [
        {
            "row": None,
            "column": "file",
            "message": "file: the file is larger than the limit of 100 bytes; split it into smaller files",
        }
    ]


def test_import_without_a_file_is_a_400(client, portfolio_id):
    response = client.post(f"/api/portfolios/{portfolio_id}/import", data={})
    assert response.status_code == 400
    assert response.get_json()["field"] == "file"


def test_export_csv_downloads_and_imports_back(client, portfolio_id):
    url = f"/api/portfolios/{portfolio_id}/transactions"
    client.post(
        url,
        json={
            "trade_date": "2024-03-01",
            "kind": "BUY",
            "ticker": "AAPL",
            "quantity": 10,
            "price": 1,
            "note": "=cmd|' /C calc'!A0",
        },
    )
    response = client.get(f"/api/portfolios/{portfolio_id}/export.csv")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="API-transactions.csv"'
    assert response.data == (
        b"\xef\xbb\xbfdate,type,ticker,quantity,price,fees,currency,note\r\n"
        b"2024-03-01,BUY,AAPL,10,1,0,USD,'=cmd|' /C calc'!A0\r\n"
    )
    copy = client.post("/api/portfolios", json={"name": "Copy"}).get_json()["id"]
    assert upload(client, copy, response.data).status_code == 201
    assert without_ids(ledger(client, copy)) == without_ids(ledger(client, portfolio_id))


def without_ids(rows: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if key != "id"} for row in rows]


def test_an_export_that_one_import_would_refuse_says_so_in_a_header(app, client, portfolio_id):
    url = f"/api/portfolios/{portfolio_id}/transactions"
    for day in ("2024-03-01", "2024-03-04", "2024-03-05"):
        row = {"trade_date": day, "kind": "BUY", "ticker": "AAPL", "quantity": 1, "price": 1}
        assert client.post(url, json=row).status_code == 201
    export = f"/api/portfolios/{portfolio_id}/export.csv"
    assert "X-Import-Limit-Warning" not in client.get(export).headers

    context = context_of(app)
    context.settings = replace(context.settings, max_import_rows=2)
    response = client.get(export)
    assert response.status_code == 200
    assert response.headers["X-Import-Limit-Warning"] == (
        "This export holds 3 transactions, more than the 2 rows one import takes: to import it "
        "again, split it into smaller files (keep the header row in each)."
    )


def test_export_json_downloads(client, portfolio_id):
    response = client.get(f"/api/portfolios/{portfolio_id}/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="API-transactions.json"'
    assert response.get_json(force=True)["transactions"] == []


def test_corporate_actions_are_listed_and_accepted(app, client, portfolio_id):
    context = context_of(app)
    url = f"/api/portfolios/{portfolio_id}/transactions"
    client.post(
        url,
        json={
            "trade_date": "2020-08-03",
            "kind": "BUY",
            "ticker": "AAPL",
            "quantity": 10,
            "price": 400,
        },
    )
    # The demo market splits AAPL 4:1 on 2020-08-31.
    context.store.fill(["AAPL"], date(2020, 7, 27), context.clock.now().date())
    proposals = client.get(f"/api/portfolios/{portfolio_id}/corporate-actions").get_json()
    split = next(p for p in proposals if p["kind"] == "SPLIT")
    assert (split["key"], split["quantity"], split["shares_held"]) == (
        "SPLIT:AAPL:2020-08-31",
        4.0,
        10.0,
    )
    response = client.post(
        f"/api/portfolios/{portfolio_id}/corporate-actions/{split['key']}/accept"
    )
    assert response.status_code == 201
    assert response.get_json()["kind"] == "SPLIT"
    again = client.post(f"/api/portfolios/{portfolio_id}/corporate-actions/{split['key']}/accept")
    assert again.status_code == 404


@pytest.fixture
def sqlite_client(tmp_path, sqlite_url, clock):
    # Fifty uploads in a row: the per-user import quota is not what this test is about.
    settings = make_settings(tmp_path, sqlite_url, quota_imports="1000/minute")
    application = create_app(settings, clock=clock)
    yield application.server.test_client()
    context_of(application).close()


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prefix=st.sampled_from(
        [
            b"",
            HEADER.encode() + b"\r\n",
            "\ufeffSymbol,Trade Date,Purchase Price,Quantity\n".encode(),
        ]
    ),
    body=st.binary(max_size=300),
)
def test_fuzzed_uploads_never_answer_500(sqlite_client, prefix, body):
    # Portfolio names are unique: each example gets its own.
    name = f"Fuzz {uuid.uuid4().hex}"
    created = sqlite_client.post("/api/portfolios", json={"name": name}).get_json()["id"]
    response = upload(sqlite_client, created, prefix + body, filename="fuzz.bin")
    assert response.status_code in (201, 400)
    transactions = sqlite_client.get(f"/api/portfolios/{created}/transactions").get_json()
    if response.status_code == 400:
        assert transactions == []
        assert all({"row", "column", "message"} <= set(e) for e in response.get_json()["errors"])
    else:
        assert len(transactions) == response.get_json()["imported"]


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(
            ["trade_date", "kind", "ticker", "quantity", "price", "fees", "currency", "note", "x"]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(max_size=10),
            st.lists(st.integers(), max_size=2),
        ),
    )
)
def test_fuzzed_transactions_never_answer_500(sqlite_client, body):
    response = sqlite_client.post("/api/portfolios/1/transactions", json=body)
    if response.status_code == 404:
        sqlite_client.post("/api/portfolios", json={"name": "Fuzz"})
        response = sqlite_client.post("/api/portfolios/1/transactions", json=body)
    assert response.status_code in (201, 400)
