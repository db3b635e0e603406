"""A person opens the comparison page: a progress bar moves, then the chart and metrics appear."""

from __future__ import annotations

import pytest

from dashapp import context_of
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.performance import cached_comparison, parse_request

pytestmark = pytest.mark.browser

# Records whether the progress bar is ever made visible while the page lives.
PROGRESS_WATCHER = """
window.progressShown = false;
new MutationObserver(() => {
  const bar = document.querySelector('#compare-progress');
  if (bar && bar.style.visibility === 'visible') window.progressShown = true;
}).observe(document, {subtree: true, attributes: true, childList: true});
"""


def test_comparison_shows_progress_then_chart_then_answers_from_cache(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    portfolio_id = seed_demo_portfolio(context)
    warm_demo_cache(context, portfolio_id)
    url = live_apps.serve(app)

    page.goto(f"{url}/compare")
    # The background job shows its bar while it runs, and the holdings page stays reachable.
    page.wait_for_selector("#compare-progress[style*='visible']", timeout=15_000)
    page.wait_for_selector("#metrics-table", timeout=30_000)
    assert page.locator("#compare-progress[style*='hidden']").count() == 1
    lines = page.locator("#compare-chart .scatterlayer .trace")
    assert lines.count() == 4  # the portfolio and SPY, QQQ, VTI
    assert "Your money in SPY" in page.inner_text("#compare-chart")
    assert "Total return" in page.inner_text("#metrics-table")

    page.click("text=Drawdown")
    page.wait_for_function(
        "document.querySelector('#compare-chart').innerText.includes('Drawdown')"
    )

    # The job ran in another process; its result is in the cache the web process reads.
    request = parse_request(portfolio_id, "SPY,QQQ,VTI", "1Y")
    assert cached_comparison(context, request) is not None

    # Same question, same prices: answered from the cache, no background job, no progress bar.
    page.add_init_script(PROGRESS_WATCHER)
    page.goto(f"{url}/compare")
    page.wait_for_selector("#metrics-table", timeout=10_000)
    assert page.inner_text("#compare-message").startswith("Compared 2023-12-04 to 2024-12-04")
    assert page.evaluate("window.progressShown") is False
