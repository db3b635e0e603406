"""The JSON API as a contract: its OpenAPI document, its own /api namespace, and client mistakes
that answer 400 naming the field (with one log line), never a 500."""

from __future__ import annotations

import logging
import re

import pytest
from openapi_spec_validator import validate

from dashapp.api.openapi import OPERATIONS

PORTFOLIO_ROW = {"trade_date": "2024-03-01", "kind": "BUY", "ticker": "AAPL", "price": 1}


@pytest.fixture
def portfolio_id(client) -> int:
    return client.post("/api/portfolios", json={"name": "Contract"}).get_json()["id"]


def test_the_document_validates_as_openapi_3_1(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_the_document_covers_every_api_route(app):
    """Every rule of the API blueprints is an operation of the document, and nothing more."""
    routes = {
        (method.lower(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.server.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == {(op.method, op.path) for op in OPERATIONS}


def test_every_readme_endpoint_is_documented(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for method, path in [
        ("get", "/api/portfolios"),
        ("post", "/api/portfolios"),
        ("patch", "/api/portfolios/{portfolio_id}"),
        ("put", "/api/portfolios/{portfolio_id}/transactions/{transaction_id}"),
        ("post", "/api/portfolios/{portfolio_id}/import"),
        ("get", "/api/portfolios/{portfolio_id}/export.csv"),
        ("post", "/api/portfolios/{portfolio_id}/corporate-actions/{key}/accept"),
        ("get", "/api/portfolios/{portfolio_id}/holdings"),
        ("get", "/api/portfolios/{portfolio_id}/performance"),
        ("post", "/api/backtests"),
        ("get", "/api/portfolios/{portfolio_id}/income"),
        ("get", "/api/portfolios/{portfolio_id}/realized"),
    ]:
        assert method in paths[path], (method, path)


def test_docs_page_lists_every_operation(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    for op in OPERATIONS:
        assert f'id="{op.operation_id}"' in page
    assert "<script" not in page


def test_unknown_api_path_is_a_json_404(client):
    for path in ("/api/nothing", "/api", "/api/", "/api/portfolios/1/nothing"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.is_json and "error" in response.get_json()
    assert client.post("/api/nothing").status_code == 404


def test_unknown_method_is_a_json_405_with_allow(client):
    response = client.delete("/api/portfolios")
    assert response.status_code == 405
    assert response.is_json and "error" in response.get_json()
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert client.put("/api/portfolios/1").status_code == 405


def test_unknown_page_shows_the_app_with_status_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
    # Dash's index page: the router then shows "Nothing lives at this address".
    assert 'id="_dash-config"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    ["/", "/compare", "/backtest", "/portfolios", "/portfolios/", "/cache", "/portfolios/7"],
)
def test_known_pages_answer_200(client, path):
    assert client.get(path).status_code == 200


def test_a_transactions_page_with_unicode_digits_is_not_a_page(client):
    assert client.get("/portfolios/\uff11").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("get", "/api/portfolios/\uff11/holdings", None, "id"),
        ("get", "/api/portfolios/\u0661\u0662\u0663", None, "id"),
        ("get", f"/api/portfolios/{2**31}", None, "id"),
        ("delete", "/api/portfolios/{pid}/transactions/99999999999", None, "transaction_id"),
        ("get", "/api/portfolios/{pid}/performance?period=\uff11Y", None, "period"),
        (
            "get",
            "/api/portfolios/{pid}/performance?start=\uff12\uff10\uff12\uff14-01-02",
            None,
            "start",
        ),
        ("get", "/api/portfolios/{pid}/realized?year=\uff12\uff10\uff12\uff14", None, "year"),
        ("get", "/api/portfolios/{pid}/income?by=week", None, "by"),
        ("post", "/api/portfolios", {"name": ["x"]}, "name"),
        ("post", "/api/portfolios", {"name": "X", "base_currency": 1}, "base_currency"),
        ("patch", "/api/portfolios/{pid}", {"name": {"deep": 1}}, "name"),
        (
            "post",
            "/api/portfolios/{pid}/transactions",
            PORTFOLIO_ROW | {"quantity": 10**400},
            "quantity",
        ),
        (
            "post",
            "/api/portfolios/{pid}/transactions",
            PORTFOLIO_ROW | {"quantity": "\uff11"},
            "quantity",
        ),
        (
            "post",
            "/api/portfolios/{pid}/transactions",
            PORTFOLIO_ROW | {"price": "\u0661\u0662\u0663"},
            "price",
        ),
        (
            "post",
            "/api/portfolios/{pid}/transactions",
            PORTFOLIO_ROW | {"fees": -(10**400)},
            "fees",
        ),
        ("post", "/api/portfolios/{pid}/transactions", PORTFOLIO_ROW | {"note": ["a"]}, "note"),
        ("post", "/api/backtests", {"ticker": "SPY", "cash": 10**400}, "cash"),
        ("post", "/api/backtests", {"ticker": "SPY", "fast": 10**400}, "fast"),
        ("post", "/api/backtests", {"ticker": "SPY", "fast": "\u0661\u0662"}, "fast"),
        (
            "post",
            "/api/backtests",
            {"portfolio_id": 2**31, "strategy": "rebalance"},
            "portfolio_id",
        ),
        (
            "post",
            "/api/backtests",
            {"portfolio_id": "\uff11", "strategy": "rebalance"},
            "portfolio_id",
        ),
        ("post", "/api/backtests", {"ticker": "SPY", "start": 20240102}, "start"),
        ("post", "/api/backtests", {"ticker": "SPY", "whole_shares": "yes"}, "whole_shares"),
    ],
)
def test_client_mistakes_are_a_400_naming_the_field(
    client, portfolio_id, caplog, method, path, body, field
):
    url = path.replace("{pid}", str(portfolio_id))
    with caplog.at_level(logging.INFO):
        response = getattr(client, method)(url, json=body)
    assert response.status_code == 400
    answer = response.get_json()
    assert answer["field"] == field and answer["error"]
    [line] = [r for r in caplog.records if "client error 400" in r.getMessage()]
    assert line.exc_info is None and "\n" not in line.getMessage()


@pytest.mark.parametrize("depth", [50, 5_000, 30_000])
@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/api/portfolios", "name"),
        ("/api/portfolios/{pid}/transactions", "trade_date"),
        ("/api/backtests", "ticker"),
    ],
)
def test_deeply_nested_json_is_a_400_naming_the_body_or_field(
    client, portfolio_id, path, key, depth
):
    url = path.replace("{pid}", str(portfolio_id))
    nested = f'{{"{key}": ' + "[" * depth + "]" * depth + "}"
    response = client.post(url, data=nested, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["field"] == ("body" if depth > 500 else key)


@pytest.mark.parametrize("text", ["NaN", "Infinity", '{"name": NaN}', "{not json", "1" * 5000])
def test_what_is_not_json_is_a_400(client, text):
    response = client.post("/api/portfolios", data=text, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["field"] in ("body", "name")


def test_an_oversized_json_body_is_a_413(client):
    response = client.post(
        "/api/portfolios", data='{"name": "' + "x" * 70_000 + '"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert "error" in response.get_json()


def test_the_largest_id_is_a_404_and_the_next_a_400(client, portfolio_id):
    """On PostgreSQL an INTEGER compared with 2**31 is an error, not 'no such row'."""
    largest = 2**31 - 1
    assert client.get(f"/api/portfolios/{largest}/holdings").status_code == 404
    transaction = f"/api/portfolios/{portfolio_id}/transactions/{largest}"
    assert client.delete(transaction).status_code == 404
    assert client.get(f"/api/portfolios/{largest + 1}/holdings").status_code == 400
