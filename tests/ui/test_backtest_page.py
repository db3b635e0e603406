"""The backtest page's callbacks through Dash's HTTP endpoint, as the browser calls them."""

from __future__ import annotations

import json
import re
import time
from datetime import date

import pytest

from dashapp import context_of
from dashapp.db.models import Transaction
from dashapp.services.backtest_requests import parse_backtest_request
from dashapp.services.backtests import cached_backtest
from dashapp.services.portfolios import create_portfolio
from dashapp.ui.backtest import (
    CLEARED,
    COMPUTING,
    FORM_FIELDS,
    TOGGLED_FIELDS,
    form_request,
    in_words,
    shown_fields,
)
from tests.dash_client import DashClient

FORM = {
    "subject": "ticker",
    "ticker": "aapl",
    "portfolio": None,
    "strategy": "sma_crossover",
    "fast": 10,
    "slow": 30,
    "frequency": "monthly",
    "amount": 1000,
    "period": "CUSTOM",
    "dates-start": "2024-01-02",
    "dates-end": "2024-11-29",
    "cash": 100_000,
    "commission": 0.001,
    "fixed-fee": 0,
    "fill": "next_open",
    "whole-shares": ["whole"],
    "contributions": "lump",
    "benchmark": "SPY",
    "sweep": [],
    "metric": "total_return",
    "fast-windows": [2, 100],
    "slow-windows": [2, 100],
}
ASK = "backtest-message.children"


def state_of(form: dict) -> dict:
    return {f"{component}.{prop}": form[name] for name, (component, prop) in FORM_FIELDS.items()}


def ask(client: DashClient, **changes: object) -> dict:
    return client.call(
        ASK,
        {"backtest-run.n_clicks": 1},
        state_of({**FORM, **changes}),
        changed=["backtest-run.n_clicks"],
    )


@pytest.fixture
def cached(app):
    context = context_of(app)
    context.store.fill(["AAPL", "SPY"], date(2023, 6, 1), date(2024, 12, 4))
    return context


def test_the_page_is_reachable_from_the_navigation(app):
    client = DashClient(app)
    shell = json.dumps(client.http.get("/_dash-layout").get_json())
    assert '"href": "/backtest"' in shell
    page = json.dumps(client.call("page-content.children", {"url.pathname": "/backtest"}))
    for part in ("Backtest a strategy", "backtest-run", "backtest-trades", "backtest-progress"):
        assert part in page


def test_cached_prices_answer_at_once_without_a_job(app, cached):
    response = ask(DashClient(app))
    result = response["backtest-result"]["data"]
    assert "backtest-job" not in response  # no background job was started
    assert response["backtest-message"]["children"] == (
        "Backtested AAPL from 2024-01-02 to 2024-11-29."
    )
    assert result["subject"]["name"] == "AAPL"
    assert result["series"]["dates"][-1] == "2024-11-29"
    # The answer was cached: the same question is now a cache read.
    raw = form_request(FORM)
    assert cached_backtest(cached, parse_backtest_request(raw)) == result


def test_an_invalid_field_is_named_in_an_alert(app):
    response = ask(DashClient(app), fast=50, slow=20)
    alert = response["backtest-message"]["children"]
    assert alert["type"] == "Alert"
    # The alert names the field by the label the user sees on the form.
    assert alert["props"]["children"] == (
        "Fast SMA: the fast window must be shorter than the slow one"
    )
    # The last run's results leave the page: they do not answer this form.
    assert response["backtest-result"]["data"] == CLEARED


def test_a_number_out_of_range_is_named_by_its_label(app):
    alert = ask(DashClient(app), **{"fixed-fee": -3})["backtest-message"]["children"]
    assert alert["props"]["children"] == "Fee per order: must be between 0 and 10,000"


def test_an_empty_number_box_the_strategy_uses_is_named(app, cached):
    alert = ask(DashClient(app), cash=None)["backtest-message"]["children"]
    assert alert["props"]["children"] == "Cash: enter a number"
    # A browser gives no value for 2.5 in a box of whole sessions either.
    alert = ask(DashClient(app), fast=None)["backtest-message"]["children"]
    assert alert["props"]["children"] == "Fast SMA: enter a number (a whole number of sessions)"
    # DCA invests its monthly amount, not the cash: an empty cash box does not matter to it.
    answer = ask(DashClient(app), cash=None, strategy="dca")["backtest-message"]["children"]
    assert answer == "Backtested AAPL from 2024-01-02 to 2024-11-29."


def test_a_portfolio_subject_without_a_portfolio_asks_for_one(app):
    alert = ask(DashClient(app), subject="portfolio", portfolio=None, strategy="buy_and_hold")[
        "backtest-message"
    ]["children"]
    assert alert["props"]["children"] == "Portfolio: choose a portfolio"


def test_missing_prices_start_a_background_job(app):
    response = ask(DashClient(app), ticker="MSFT")
    assert response["backtest-job"]["data"]["ticker"] == "MSFT"
    assert response["backtest-message"]["children"].startswith("Fetching prices")
    assert response["backtest-result"]["data"] == COMPUTING  # the last results leave the page


def test_the_result_draws_equity_drawdown_metrics_and_trades(app, cached):
    result = ask(DashClient(app))["backtest-result"]["data"]
    drawn = DashClient(app).call("backtest-equity.figure", {"backtest-result.data": result})
    equity = drawn["backtest-equity"]["figure"]["data"]
    assert [trace["name"] for trace in equity] == ["SMA crossover", "Buy and hold", "Benchmark SPY"]
    assert equity[0]["y"] == result["series"]["strategy"]
    layout = drawn["backtest-equity"]["figure"]["layout"]
    assert layout["title"]["text"] == "Equity · SMA crossover 10/30 · demo data"
    assert layout["yaxis"]["hoverformat"] == ",.2f"
    drawdown = drawn["backtest-drawdown"]["figure"]["data"]
    assert drawdown[0]["y"] == result["series"]["drawdown"]["strategy"]
    assert drawn["backtest-drawdown"]["figure"]["layout"]["yaxis"]["hoverformat"] == ".2%"
    assert drawn["backtest-drawdown"]["style"] == {"height": "280px"}
    assert drawn["backtest-trades"]["rowData"] == result["trades"] != []
    assert drawn["backtest-heatmap"]["style"] == {"display": "none"}
    table = json.dumps(drawn["backtest-metrics"]["children"])
    assert "Total return" in table and "Final equity" in table


def test_a_sweep_draws_a_heatmap_of_the_metric(app, cached):
    result = ask(
        DashClient(app),
        sweep=["sweep"],
        metric="sharpe",
        **{"fast-windows": [5, 10], "slow-windows": [20, 30]},
    )["backtest-result"]["data"]
    drawn = DashClient(app).call("backtest-equity.figure", {"backtest-result.data": result})
    heatmap, ring = drawn["backtest-heatmap"]["figure"]["data"]
    assert heatmap["type"] == "heatmap"
    assert heatmap["y"] == [5, 6, 7, 8, 9, 10] and heatmap["x"] == list(range(20, 31))
    assert heatmap["z"] == result["sweep"]["values"]
    # Colours turn at buy-and-hold's Sharpe ratio; the blank half (fast >= slow) has no hover.
    assert heatmap["zmid"] == result["metrics"]["buy_and_hold"]["sharpe"]
    assert heatmap["hoverongaps"] is False
    assert "Sharpe %{z:,.2f}" in heatmap["hovertemplate"]
    best = result["sweep"]["best"]
    assert (ring["x"], ring["y"]) == ([best["slow"]], [best["fast"]])
    assert drawn["backtest-heatmap"]["style"] == {"display": "block"}


def test_a_return_heatmap_reads_in_percent(app, cached):
    result = ask(
        DashClient(app),
        sweep=["sweep"],
        **{"fast-windows": [5, 6], "slow-windows": [20, 21]},
    )["backtest-result"]["data"]
    drawn = DashClient(app).call("backtest-equity.figure", {"backtest-result.data": result})
    heatmap = drawn["backtest-heatmap"]["figure"]["data"][0]
    assert heatmap["colorbar"]["tickformat"] == ".0%"
    assert "Total return %{z:.2%}" in heatmap["hovertemplate"]


def test_before_a_run_the_drawdown_chart_is_hidden(app):
    drawn = DashClient(app).call("backtest-equity.figure", {"backtest-result.data": None})
    assert drawn["backtest-drawdown"]["style"] == {"display": "none"}
    annotation = drawn["backtest-equity"]["figure"]["layout"]["annotations"][0]
    assert annotation["text"] == "Press Run backtest"


def test_a_portfolio_name_reaches_the_page_as_text(app, cached):
    context = context_of(app)
    portfolio = create_portfolio(context, "<img src=x onerror=alert(1)>")
    with context.db.session() as session:
        session.add(
            Transaction(
                portfolio_id=portfolio.id,
                trade_date=date(2023, 6, 5),
                kind="BUY",
                ticker="AAPL",
                quantity=10,
                price=180.0,
                fees=0.0,
            )
        )
    response = ask(
        DashClient(app),
        subject="portfolio",
        portfolio=portfolio.id,
        strategy="buy_and_hold",
    )
    message = response["backtest-message"]["children"]
    # A string child is rendered by React as a text node, never as markup.
    assert message == "Backtested <img src=x onerror=alert(1)> from 2024-01-02 to 2024-11-29."


def test_a_background_job_fetches_then_answers(app):
    """The job path over HTTP: start, poll with the cache key, receive the result."""
    client = DashClient(app)
    page = client.http.get("/backtest").get_data(as_text=True)
    config = json.loads(
        re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page, re.S)
        .group(1)
        .strip()
    )
    end_id = config.get("endId") or config.get("end_id")
    [key] = [
        name
        for name, spec in app.callback_map.items()
        if [item["id"] for item in spec["inputs"]] == ["backtest-job"]
    ]
    outputs = [
        dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
        for part in key.strip(".").split("...")
    ]
    raw = form_request({**FORM, "ticker": "MSFT", "strategy": "buy_and_hold"})
    body = {
        "output": key,
        "outputs": outputs,
        "inputs": [{"id": "backtest-job", "property": "data", "value": raw}],
        "state": [],
        "changedPropIds": ["backtest-job.data"],
    }
    query = f"endId={end_id}" if end_id else ""
    started = client.http.post(f"/_dash-update-component?{query}", json=body).get_json()
    poll = f"/_dash-update-component?{query}&cacheKey={started['cacheKey']}&job={started['job']}"
    deadline, answer = time.monotonic() + 60, None
    while time.monotonic() < deadline and answer is None:
        reply = client.http.post(poll, json=body)
        answer = (reply.get_json() or {}).get("response") if reply.status_code == 200 else None
        if answer is None:
            time.sleep(0.2)
    assert answer is not None, "the background job never answered"
    [result_key] = [name for name in answer if name.startswith("backtest-result")]
    result = answer[result_key]["data"]
    assert result["subject"]["name"] == "MSFT" and result["missing"] == []
    assert cached_backtest(context_of(app), parse_backtest_request(raw)) == result


def test_a_portfolio_subject_offers_the_basket_strategies_and_says_why_one_was_cleared(app):
    client = DashClient(app)
    response = client.call(
        "backtest-strategy.options",
        {"backtest-subject.value": "portfolio", "backtest-strategy.value": "sma_crossover"},
        changed=["backtest-subject.value"],
    )
    assert [o["value"] for o in response["backtest-strategy"]["options"]] == [
        "buy_and_hold",
        "rebalance",
    ]
    # Not silently swapped for another strategy: cleared, with the reason at the field.
    assert response["backtest-strategy"]["value"] is None
    assert response["backtest-strategy-note"]["children"] == (
        "SMA crossover runs on a single ticker: choose Buy and hold or Rebalance the basket."
    )
    kept = client.call(
        "backtest-strategy.options",
        {"backtest-subject.value": "portfolio", "backtest-strategy.value": "buy_and_hold"},
        changed=["backtest-subject.value"],
    )
    assert "value" not in kept["backtest-strategy"]
    assert kept["backtest-strategy-note"]["children"] == ""


def test_an_unchosen_strategy_is_asked_for(app):
    alert = ask(DashClient(app), strategy=None)["backtest-message"]["children"]
    assert alert["props"]["children"] == "Strategy: choose a strategy"


def test_service_messages_use_the_forms_words_not_internal_names():
    for reason, said in [
        (
            "a sweep varies the windows of sma_crossover",
            "a sweep varies the windows of SMA crossover",
        ),
        (
            "a portfolio's basket runs buy_and_hold or rebalance",
            "a portfolio's basket runs Buy and hold or Rebalance the basket",
        ),
        (
            "'mine' needs the portfolio_id whose flows to use",
            "'my contributions' needs the portfolio whose flows to use",
        ),
    ]:
        assert in_words(reason) == said


@pytest.mark.parametrize(
    ("form", "shown"),
    [
        (
            ("ticker", "sma_crossover", False, "5Y", "lump"),
            {"ticker", "fast", "slow", "sweep", "cash"},
        ),
        (
            ("ticker", "sma_crossover", True, "CUSTOM", "lump"),
            {
                "ticker",
                "fast",
                "slow",
                "sweep",
                "metric",
                "fast-windows",
                "slow-windows",
                "cash",
                "dates",
            },
        ),
        (("portfolio", "rebalance", False, "1Y", "lump"), {"portfolio", "frequency", "cash"}),
        (("ticker", "dca", False, "1Y", "lump"), {"ticker", "amount"}),
        (("ticker", "buy_and_hold", False, "1Y", "mine"), {"ticker", "portfolio"}),
    ],
)
def test_only_the_fields_the_strategy_uses_are_shown(app, form, shown):
    assert shown_fields(*form) == shown
    styles = DashClient(app).call(
        "backtest-ticker-field.style",
        dict(
            zip(
                [
                    "backtest-subject.value",
                    "backtest-strategy.value",
                    "backtest-sweep.value",
                    "backtest-period.value",
                    "backtest-contributions.value",
                ],
                [form[0], form[1], ["sweep"] if form[2] else [], form[3], form[4]],
                strict=True,
            )
        ),
    )
    visible = {name for name in TOGGLED_FIELDS if styles[f"backtest-{name}-field"]["style"] is None}
    assert visible == shown
