"""The JSON API as a script would use it: lists, holdings with provenance, clean errors."""

from __future__ import annotations

import math
from datetime import date

import pytest

from dashapp import context_of
from dashapp.api.models import Holding
from dashapp.db.models import Transaction
from dashapp.rules import STATES, price_only_warning
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.portfolios import create_portfolio
from tests.indices import store_index


@pytest.fixture
def demo_id(app) -> int:
    context = context_of(app)
    portfolio_id = seed_demo_portfolio(context)
    warm_demo_cache(context, portfolio_id)
    return portfolio_id


def test_empty_database_lists_no_portfolios(client):
    response = client.get("/api/portfolios")
    assert response.status_code == 200
    assert response.get_json() == []


def test_lists_portfolios_with_their_version(client, demo_id):
    assert client.get("/api/portfolios").get_json() == [
        {"id": demo_id, "name": "Demo portfolio", "base_currency": "USD", "version": 1}
    ]


def test_holdings_carry_values_and_provenance(client, demo_id):
    body = client.get(f"/api/portfolios/{demo_id}/holdings").get_json()
    holdings = body["holdings"]
    assert body["portfolio"]["id"] == demo_id
    # 12 demo tickers traded by 2024-12-04 (COST comes in 2025); JNJ is partly sold.
    assert len(holdings) == 12
    for holding in holdings:
        assert holding["freshness"] in STATES
        assert holding["source"] == "demo"
        assert holding["as_of"] and holding["fetched_at"]
        assert math.isclose(
            holding["market_value"], holding["quantity"] * holding["price"], rel_tol=1e-9
        )
    assert math.isclose(sum(h["weight"] for h in holdings), 1.0, rel_tol=1e-9)
    assert math.isclose(
        body["totals"]["market_value"], sum(h["market_value"] for h in holdings), rel_tol=1e-9
    )
    assert body["demo_data"] is True


def test_after_close_with_warm_cache_every_price_is_fresh(client, demo_id):
    holdings = client.get(f"/api/portfolios/{demo_id}/holdings").get_json()["holdings"]
    assert {h["freshness"] for h in holdings} == {"fresh"}


def test_holding_without_price_is_null_and_missing_not_zero(client, app):
    context = context_of(app)
    portfolio = create_portfolio(context, "Unpriced")
    with context.db.session() as session:
        session.add(
            Transaction(
                portfolio_id=portfolio.id,
                trade_date=context.clock.now().date(),
                kind="BUY",
                ticker="NEWCO",
                quantity=10,
                price=5.0,
                fees=0.0,
            )
        )
    body = client.get(f"/api/portfolios/{portfolio.id}/holdings").get_json()
    [holding] = body["holdings"]
    # The response sends exactly the model's fields (Flask sorts keys, so names are compared).
    assert set(holding) == set(Holding.model_fields)
    assert holding["price"] is None
    assert holding["market_value"] is None
    assert holding["freshness"] == "missing"
    assert body["totals"]["missing_count"] == 1
    assert body["totals"]["market_value"] is None


@pytest.mark.parametrize("bad_id", ["abc", "-1", "1.5", "9" * 40])
def test_malformed_id_is_a_400_json_error(client, bad_id):
    response = client.get(f"/api/portfolios/{bad_id}/holdings")
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_unknown_id_is_a_404_json_error(client):
    response = client.get("/api/portfolios/424242/holdings")
    assert response.status_code == 404
    assert response.get_json() == {"error": "portfolio 424242 does not exist"}


def test_performance_returns_series_metrics_and_provenance(client, demo_id):
    body = client.get(
        f"/api/portfolios/{demo_id}/performance?benchmarks=SPY,QQQ&period=1Y"
    ).get_json()
    series = body["series"]
    assert (
        len(series["dates"]) == len(series["portfolio"]["value"]) == len(series["portfolio"]["twr"])
    )
    assert set(series["benchmarks"]) == {"SPY", "QQQ"}
    assert set(series["benchmarks"]["SPY"]) >= {"shadow_value", "daily_return"}
    assert set(body["metrics"]) == {"portfolio", "SPY", "QQQ"}
    assert body["metrics"]["QQQ"]["beta"] is not None
    assert body["provenance"]["SPY"]["state"] == "cached"


def test_performance_against_an_index_says_prices_only(client, app, demo_id):
    store_index(context_of(app), "^GSPC", "SPY", date(2023, 11, 1), date(2024, 12, 4))
    response = client.get(f"/api/portfolios/{demo_id}/performance?benchmarks=%5EGSPC&period=1Y")
    assert response.status_code == 200
    body = response.get_json()
    assert list(body["series"]["benchmarks"]) == ["^GSPC"]
    assert body["metrics"]["^GSPC"]["beta"] is not None
    assert body["provenance"]["^GSPC"]["price_only"] is True
    assert body["warnings"] == [price_only_warning("^GSPC")]


def test_performance_with_custom_dates(client, demo_id):
    body = client.get(
        f"/api/portfolios/{demo_id}/performance?benchmarks=SPY&start=2024-01-02&end=2024-06-28"
    ).get_json()
    assert body["start"] == "2024-01-02" and body["end"] == "2024-06-28"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=2W", "period"),
        ("benchmarks=%3Cscript%3E", "benchmarks"),
        ("start=yesterday", "start"),
    ],
)
def test_performance_bad_parameter_is_a_400_naming_it(client, demo_id, query, field):
    response = client.get(f"/api/portfolios/{demo_id}/performance?{query}")
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_performance_of_unknown_portfolio_is_404(client):
    assert client.get("/api/portfolios/999/performance").status_code == 404
