"""A person compares the demo portfolio with ETFs in Chromium."""

from __future__ import annotations

import pytest

from dashapp import context_of
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.performance import cached_comparison, parse_request

pytestmark = pytest.mark.browser

LEGEND_SHOWS = "(name) => (document.querySelector('#compare-chart') || {innerText: ''}).innerText.includes(name)"

# Records whether the progress bar is ever made visible while the page lives.
PROGRESS_WATCHER = """
window.progressShown = false;
new MutationObserver(() => {
  const bar = document.querySelector('#compare-progress');
  if (bar && bar.style.visibility === 'visible') window.progressShown = true;
}).observe(document, {subtree: true, attributes: true, childList: true});
"""


def test_warm_prices_draw_at_once_and_a_new_benchmark_is_fetched_with_progress(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    portfolio_id = seed_demo_portfolio(context)
    warm_demo_cache(context, portfolio_id)
    url = live_apps.serve(app)
    page.add_init_script(PROGRESS_WATCHER)

    page.goto(f"{url}/compare")
    page.wait_for_selector("#metrics-table", timeout=15_000)
    assert page.inner_text("#compare-message").startswith("Compared 2023-12-04 to 2024-12-04")
    assert page.evaluate("window.progressShown") is False  # every price was cached
    assert page.locator("#compare-chart .scatterlayer .trace").count() == 4
    # dcc.Loading blanks the chart while a callback updates it: wait for the drawn legend.
    page.wait_for_function(LEGEND_SHOWS, arg="Your money in SPY", timeout=10_000)

    # IWM is not cached: a background job fetches it, showing its progress, then draws it.
    page.fill("#compare-extra", "iwm")
    page.press("#compare-extra", "Enter")
    page.wait_for_function(
        "document.querySelectorAll('#compare-chart .scatterlayer .trace').length === 5",
        timeout=30_000,
    )
    page.wait_for_function(LEGEND_SHOWS, arg="Your money in IWM", timeout=10_000)
    assert page.evaluate("window.progressShown") is True  # however briefly, the bar ran
    page.wait_for_selector("#compare-progress[style*='hidden']", state="attached", timeout=10_000)

    # The job ran in another process; its result sits in the cache the web process reads.
    asked = parse_request(portfolio_id, ["SPY", "QQQ", "VTI", "IWM"], "1Y")
    assert cached_comparison(context, asked) is not None

    page.click("text=Drawdown")
    page.wait_for_function(
        "document.querySelector('#compare-chart').innerText.includes('Drawdown')"
    )
