"""The typed values the services hand the pages and the API hold exactly the keys their types
name (issue 16, step 3): a key added to a result without its type, or the other way round,
fails here rather than in a page that reads it."""

from __future__ import annotations

from typing import get_type_hints

import pytest

from dashapp.rules import FreshnessState
from dashapp.services.backtest_requests import parse_backtest_request
from dashapp.services.backtest_results import BacktestResult, BacktestSeries, PriceProvenance
from dashapp.services.backtests import run_backtest
from dashapp.services.comparison import compare
from dashapp.services.comparison_parts import BenchmarkLine, Breakdown, PortfolioLine
from dashapp.services.comparison_requests import parse_request
from dashapp.services.comparison_results import ComparisonResult, ComparisonSeries
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.portfolios import HOLDING_COLUMNS, HoldingsTotals, holdings_view


@pytest.fixture
def demo(app_context) -> int:
    portfolio_id = seed_demo_portfolio(app_context)
    warm_demo_cache(app_context, portfolio_id)
    return portfolio_id


def keys(typed: type) -> set[str]:
    return set(typed.__required_keys__ | typed.__optional_keys__)


def test_holdings_rows_and_totals_have_their_types_keys(app_context, demo):
    view = holdings_view(app_context, demo)
    assert set(view.totals) == keys(HoldingsTotals)
    rows = view.rows()
    assert rows and all(tuple(row) == HOLDING_COLUMNS for row in rows)
    assert all(isinstance(row["freshness"], str) for row in rows)
    assert {row["freshness"] for row in rows} <= set(FreshnessState)


def test_a_comparison_has_its_types_keys(app_context, demo):
    result = compare(app_context, parse_request(demo, "SPY,QQQ", "1Y"))
    assert set(result) == keys(ComparisonResult)
    assert set(result["series"]) == keys(ComparisonSeries)
    assert set(result["series"]["portfolio"]) == keys(PortfolioLine)
    assert set(result["series"]["benchmarks"]["SPY"]) == keys(BenchmarkLine)
    assert all(set(part) == keys(Breakdown) for part in result["breakdown"].values())


def test_a_backtest_has_its_types_keys(app_context, demo):
    request = parse_backtest_request({"ticker": "AAPL", "strategy": "sma_crossover"})
    result = run_backtest(app_context, request, fetch=False)
    assert set(result) == keys(BacktestResult)
    assert set(result["series"]) == keys(BacktestSeries)
    provenance = result["provenance"]["AAPL"]
    assert set(provenance) == keys(PriceProvenance)
    assert get_type_hints(PriceProvenance)["state"] is FreshnessState
