"""A comparison is assembled from cached parts: the portfolio's figures over a window, shared
by every benchmark set, and each benchmark's figures against that window, shared by every set
that holds it. An assembled answer equals one computed from nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashapp.services import comparison, comparison_requests, comparison_results
from dashapp.services.answers import Ready
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache


@pytest.fixture
def demo(app_context) -> int:
    portfolio_id = seed_demo_portfolio(app_context)
    warm_demo_cache(app_context, portfolio_id)
    return portfolio_id


@pytest.fixture
def computed_parts(monkeypatch) -> list[str]:
    """The parts computed (not read from the cache): "portfolio" or a benchmark's ticker."""
    names: list[str] = []
    own, benchmark = comparison_results.portfolio_part, comparison_results.benchmark_part

    def portfolio_part(*args):
        names.append("portfolio")
        return own(*args)

    def benchmark_part(flows, returns, closes, *args):
        names.append(closes.columns[0])
        return benchmark(flows, returns, closes, *args)

    monkeypatch.setattr(comparison_results, "portfolio_part", portfolio_part)
    monkeypatch.setattr(comparison_results, "benchmark_part", benchmark_part)
    return names


def answered(ctx, portfolio_id: int, benchmarks: str, period: str) -> dict:
    result = comparison.answer(
        ctx, comparison_requests.parse_request(portfolio_id, benchmarks, period)
    )
    assert isinstance(result, Ready)
    return result.result


def test_a_new_benchmark_set_computes_only_the_benchmark_not_seen_before(
    app_context, demo, computed_parts
):
    answered(app_context, demo, "SPY,QQQ", "1Y")
    assembled = answered(app_context, demo, "QQQ,VTI", "1Y")
    assert computed_parts == ["portfolio", "SPY", "QQQ", "VTI"]
    app_context.cache.clear()
    assert answered(app_context, demo, "QQQ,VTI", "1Y") == assembled


def test_another_period_computes_its_own_parts(app_context, demo, computed_parts):
    answered(app_context, demo, "SPY", "1Y")
    three_years = answered(app_context, demo, "SPY", "3Y")
    assert computed_parts == ["portfolio", "SPY", "portfolio", "SPY"]
    assert three_years["start"] < "2022-01-01"


def test_a_new_bar_makes_the_parts_new(app_context, demo, computed_parts):
    request = comparison_requests.parse_request(demo, "SPY", "1Y")
    comparison.compare(app_context, request)
    app_context.clock.advance(timedelta(days=1))  # 2024-12-05 evening: a new bar arrives
    later = comparison.compare(app_context, request)
    assert computed_parts == ["portfolio", "SPY", "portfolio", "SPY"]
    assert later["end"] == "2024-12-05"
    assert later["series"]["dates"][-1] == "2024-12-05"
