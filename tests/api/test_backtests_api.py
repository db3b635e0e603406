"""`POST /api/backtests` as a script would use it: a result from cached prices, clean errors."""

from __future__ import annotations

import math
from datetime import date

import pytest

from dashapp import context_of
from dashapp.rules import price_only_warning
from tests.indices import store_index

REQUEST = {
    "ticker": "AAPL",
    "strategy": "sma_crossover",
    "fast": 10,
    "slow": 30,
    "start": "2024-01-02",
    "end": "2024-11-29",
    "commission": 0.001,
}


@pytest.fixture
def cached(app):
    context = context_of(app)
    context.store.fill(["AAPL", "SPY", "QQQ"], date(2023, 6, 1), date(2024, 12, 4))
    return context


def test_a_backtest_returns_equity_trades_metrics_and_provenance(client, cached):
    response = client.post("/api/backtests", json=REQUEST)
    assert response.status_code == 200
    body = response.get_json()
    series = body["series"]
    assert series["dates"][0] == "2024-01-02" and series["dates"][-1] == "2024-11-29"
    for line in ("strategy", "buy_and_hold", "benchmark"):
        assert len(series[line]) == len(series["dates"])
        assert len(series["drawdown"][line]) == len(series["dates"])
        assert set(body["metrics"][line]) >= {
            "total_return",
            "cagr",
            "sharpe",
            "max_drawdown",
            "final_equity",
            "invested",
        }
    assert body["metrics"]["strategy"]["final_equity"] == series["strategy"][-1]
    assert body["metrics"]["strategy"]["trades"] == len(body["trades"]) > 0
    first = body["trades"][0]
    assert set(first) == {
        "ticker",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "size",
        "pnl",
        "return_pct",
    }
    assert first["ticker"] == "AAPL" and first["size"] == math.floor(first["size"])
    assert body["provenance"]["AAPL"]["source"] == "demo"
    assert body["provenance"]["SPY"]["last_date"] == "2024-11-29"
    assert body["warnings"] == [] and body["missing"] == []
    assert body["demo_data"] is True


def test_the_benchmark_is_chosen_by_the_request(client, cached):
    body = client.post("/api/backtests", json={**REQUEST, "benchmark": "qqq"}).get_json()
    assert set(body["provenance"]) == {"AAPL", "QQQ"}
    assert body["request"]["benchmark"] == "QQQ"


def test_prices_come_from_the_cache_only(client, app):
    body = client.post("/api/backtests", json={**REQUEST, "ticker": "NEWCO"}).get_json()
    assert body["series"] is None
    assert body["missing"] == ["NEWCO", "SPY"]
    assert body["warnings"][0].startswith("NEWCO: no prices stored")
    assert context_of(app).store.coverage(["NEWCO", "SPY"]) == {}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ticker": None}, "ticker"),
        ({"ticker": "<script>"}, "ticker"),
        ({"strategy": "martingale"}, "strategy"),
        ({"fast": 30, "slow": 10}, "fast"),
        ({"slow": "long"}, "slow"),
        ({"period": "10Y", "start": None, "end": None}, "period"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2023-01-01"}, "start"),
        ({"cash": 0}, "cash"),
        ({"commission": 1.5}, "commission"),
        ({"fixed_fee": "free"}, "fixed_fee"),
        ({"fill": "midday"}, "fill"),
        ({"whole_shares": 1}, "whole_shares"),
        ({"contributions": "mine"}, "contributions"),
        ({"benchmark": "S&P"}, "benchmark"),
        ({"sweep": True, "metric": "luck"}, "metric"),
        ({"sweep": True, "slow_windows": [2]}, "slow_windows"),
        ({"portfolio_id": -3}, "portfolio_id"),
        ({"typo": 1}, "typo"),
    ],
)
def test_a_bad_field_answers_400_naming_it(client, change, field):
    body = {**REQUEST, **change}
    response = client.post("/api/backtests", json={k: v for k, v in body.items() if v is not None})
    assert response.status_code == 400
    answer = response.get_json()
    assert answer["field"] == field
    assert answer["error"].startswith(f"{field}: ")


def test_a_window_longer_than_the_data_names_the_window(client, cached):
    response = client.post(
        "/api/backtests", json={**REQUEST, "start": "2024-11-01", "fast": 10, "slow": 100}
    )
    assert response.status_code == 400
    assert response.get_json()["field"] == "slow"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("ticker=AAPL", "application/x-www-form-urlencoded"), ("{not json", "application/json")],
)
def test_a_body_that_is_not_json_answers_400(client, data, content_type):
    response = client.post("/api/backtests", data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["field"] == "body"


def test_a_json_list_is_not_a_request(client):
    response = client.post("/api/backtests", json=[REQUEST])
    assert response.status_code == 400
    assert response.get_json()["field"] == "body"


def test_an_unknown_portfolio_answers_404(client):
    response = client.post("/api/backtests", json={"portfolio_id": 999, "strategy": "rebalance"})
    assert response.status_code == 404
    assert response.get_json() == {"error": "portfolio 999 does not exist"}


def test_a_backtest_against_an_index_says_prices_only(client, cached):
    store_index(cached, "^GSPC", "SPY", date(2023, 6, 1), date(2024, 12, 4))
    response = client.post("/api/backtests", json=REQUEST | {"benchmark": "^gspc"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["request"]["benchmark"] == "^GSPC"
    assert len(body["series"]["benchmark"]) == len(body["series"]["dates"])
    assert body["provenance"]["^GSPC"]["price_only"] is True
    assert body["warnings"] == [price_only_warning("^GSPC")]
