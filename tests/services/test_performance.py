"""The comparison service on the demo portfolio: figures that agree with each other, cached by key."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from dashapp.services.comparison import (
    cache_key,
    cached_comparison,
    compare,
    explain,
)
from dashapp.services.comparison_requests import parse_request
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.portfolios import InvalidInput, holdings_view


@pytest.fixture
def demo(app_context) -> int:
    portfolio_id = seed_demo_portfolio(app_context)
    warm_demo_cache(app_context, portfolio_id)
    return portfolio_id


def test_max_period_total_gain_matches_the_dashboard(app_context, demo):
    result = compare(app_context, parse_request(demo, "SPY,QQQ,VTI", "MAX"))
    totals = holdings_view(app_context, demo).totals
    assert result["breakdown"]["portfolio"]["total_gain"] == pytest.approx(
        totals["total_gain"], abs=0.01
    )
    # Dividends stay in the portfolio as cash: its value is the holdings plus that cash.
    cash = totals["dividends"]
    assert result["series"]["portfolio"]["value"][-1] == pytest.approx(
        totals["market_value"] + cash, abs=0.01
    )
    assert result["breakdown"]["portfolio"]["dividends"] == pytest.approx(cash)


def test_shadow_starts_from_the_same_money(app_context, demo):
    result = compare(app_context, parse_request(demo, "SPY", "3M"))
    first_value = result["series"]["portfolio"]["value"][0]
    assert result["series"]["benchmarks"]["SPY"]["shadow_value"][0] == pytest.approx(first_value)
    assert result["series"]["portfolio"]["growth"][0] == 10_000.0


def test_missing_and_stale_benchmarks_are_drawn_and_marked(app_context, demo):
    app_context.clock.advance(timedelta(days=2))  # 2024-12-06 evening: cache ends 12-04
    result = compare(app_context, parse_request(demo, "SPY,ZZZZQ", "1Y"), fetch=False)
    assert "SPY" in result["series"]["benchmarks"]
    assert result["provenance"]["SPY"]["state"] == "stale"
    assert any(w.startswith("SPY: daily closes end 2024-12-04") for w in result["warnings"])
    assert any(w.startswith("ZZZZQ: no prices stored") for w in result["warnings"])


def test_repeat_is_served_from_cache_and_new_prices_make_a_new_key(app_context, demo):
    request = parse_request(demo, "SPY", "1Y")
    first = compare(app_context, request)
    assert cached_comparison(app_context, request) == first
    compare(app_context, request)
    assert app_context.counters.get("comparisons_computed") == 1
    before = cache_key(app_context, request)
    app_context.clock.advance(timedelta(days=1))  # 2024-12-05 evening: a new bar arrives
    compare(app_context, request)
    assert cache_key(app_context, request) != before
    assert app_context.counters.get("comparisons_computed") == 2


def test_concurrent_requests_compute_once(app_context, demo):
    request = parse_request(demo, "SPY,QQQ", "MAX")
    threads = [threading.Thread(target=compare, args=(app_context, request)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert app_context.counters.get("comparisons_computed") == 1


def test_explain_reproduces_the_return(app_context, demo):
    result = compare(app_context, parse_request(demo, "SPY", "YTD"))
    table = explain(result, "portfolio")
    chained = (1 + table["daily_return"].dropna()).prod() - 1
    assert chained == pytest.approx(result["metrics"]["portfolio"]["total_return"])
    spy = explain(result, "SPY")
    assert spy["growth_of_10000"].iloc[-1] == pytest.approx(
        10_000 * (1 + result["metrics"]["SPY"]["total_return"])
    )


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (("SPY", "2W"), "period"),
        (("S P Y", "1Y"), "benchmarks"),
        ((",".join(f"T{i}" for i in range(11)), "1Y"), "benchmarks"),
        (("SPY", "CUSTOM"), "start"),
    ],
)
def test_bad_parameters_name_the_parameter(arguments, field):
    with pytest.raises(InvalidInput) as raised:
        parse_request(1, *arguments)
    assert raised.value.field == field


def test_custom_dates_are_checked():
    with pytest.raises(InvalidInput) as raised:
        parse_request(1, "SPY", None, "2024-13-01")
    assert raised.value.field == "start"
    with pytest.raises(InvalidInput) as raised:
        parse_request(1, "SPY", None, "2024-06-01", "2024-01-01")
    assert raised.value.field == "start"
    assert parse_request(1, "SPY", None, "2024-01-01").period == "CUSTOM"
