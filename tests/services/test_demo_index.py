"""In the demo, an index is a benchmark like any ETF: the demo market has `^GSPC`, price only."""

from __future__ import annotations

from dashapp.rules import price_only_warning
from dashapp.services.comparison import compare
from dashapp.services.comparison_requests import parse_request
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache


def test_the_demo_compares_with_the_sp500_index_once_its_prices_are_fetched(app_context):
    portfolio_id = seed_demo_portfolio(app_context)
    warm_demo_cache(app_context, portfolio_id)
    # The background work a page queues for a benchmark that is not stored yet.
    result = compare(app_context, parse_request(portfolio_id, "^GSPC,SPY", "1Y"), fetch=True)
    assert list(result["series"]["benchmarks"]) == ["^GSPC", "SPY"]
    assert not any(warning.startswith("^GSPC: no prices") for warning in result["warnings"])
    assert price_only_warning("^GSPC") in result["warnings"]
    assert result["provenance"]["^GSPC"]["price_only"] is True
    assert result["breakdown"]["^GSPC"]["dividends"] == 0.0
    assert result["breakdown"]["SPY"]["dividends"] > 0.0
