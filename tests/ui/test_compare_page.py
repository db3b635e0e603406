"""The comparison page's callbacks through Dash's HTTP endpoint, as the browser calls them: one
service call answers at once from stored prices, or starts a background job when a fetch is due."""

from __future__ import annotations

import pytest

from dashapp import context_of
from dashapp.services.comparison import cached_comparison
from dashapp.services.comparison_requests import parse_request
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.portfolios import rename_portfolio
from tests.dash_client import DashClient

ASK = "compare-message.children"


@pytest.fixture
def demo_id(app) -> int:
    context = context_of(app)
    portfolio_id = seed_demo_portfolio(context)
    warm_demo_cache(context, portfolio_id)
    return portfolio_id


def ask(client: DashClient, portfolio_id: int, benchmarks: list[str]) -> dict:
    return client.call(
        ASK,
        {
            "compare-run.n_clicks": 1,
            "compare-portfolio.value": portfolio_id,
            "compare-period.value": "1Y",
            "compare-benchmarks.value": benchmarks,
            "compare-dates.start_date": None,
            "compare-dates.end_date": None,
        },
        changed=["compare-run.n_clicks"],
    )


def test_stored_prices_answer_at_once_without_a_job(app, demo_id):
    response = ask(DashClient(app), demo_id, ["SPY", "QQQ"])
    result = response["compare-result"]["data"]
    assert "compare-job" not in response  # no background job was started
    assert list(result["series"]["benchmarks"]) == ["SPY", "QQQ"]
    assert response["compare-message"]["children"] == (
        f"Compared {result['start']} to {result['end']}."
    )
    request = parse_request(demo_id, ["SPY", "QQQ"], "1Y")
    assert cached_comparison(context_of(app), request) == result


def test_a_benchmark_without_prices_starts_a_background_job(app, demo_id):
    response = ask(DashClient(app), demo_id, ["SPY", "^GSPC"])
    assert response["compare-job"]["data"]["benchmarks"] == ["SPY", "^GSPC"]
    assert response["compare-message"]["children"] == "Computing in the background…"
    assert response["compare-result"]["data"] == {"warnings": ["Computing in the background…"]}


def test_every_symbol_the_ledger_takes_can_be_added(app, demo_id):
    response = DashClient(app).call(
        "compare-extra-feedback.children",
        {"compare-extra.value": "^gspc, eurusd=x brk-b"},
        {"compare-benchmarks.value": ["SPY"], "compare-benchmarks.options": []},
    )
    assert response["compare-benchmarks"]["value"] == ["SPY", "^GSPC", "EURUSD=X", "BRK-B"]
    assert response["compare-extra"]["invalid"] is False


def test_a_portfolio_name_with_markup_is_drawn_as_text_in_the_chart_legend(app, demo_id):
    # Plotly turns `<a href>` in a trace name into a live link: the name must arrive escaped.
    name = '<a href="https://phish.invalid/">x</a>'
    rename_portfolio(context_of(app), demo_id, name)
    client = DashClient(app)
    result = ask(client, demo_id, ["SPY"])["compare-result"]["data"]
    assert result["portfolio"]["name"] == name
    drawn = client.call(
        "compare-chart.figure",
        {"compare-result.data": result, "compare-view.value": "value"},
        changed=["compare-result.data"],
    )
    legend = [trace["name"] for trace in drawn["compare-chart"]["figure"]["data"]]
    assert legend[0] == '&lt;a href="https://phish.invalid/"&gt;x&lt;/a&gt;'
    assert not any("<" in label for label in legend)
