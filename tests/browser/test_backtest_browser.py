"""A person backtests an SMA crossover on the demo data in Chromium."""

from __future__ import annotations

import pytest

from dashapp import context_of
from dashapp.services.backtest_requests import parse_backtest_request
from dashapp.services.backtests import cached_backtest
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache

pytestmark = pytest.mark.browser

# Records whether the progress bar is ever made visible while the page lives.
PROGRESS_WATCHER = """
window.progressShown = false;
new MutationObserver(() => {
  const bar = document.querySelector('#backtest-progress');
  if (bar && bar.style.visibility === 'visible') window.progressShown = true;
}).observe(document, {subtree: true, attributes: true, childList: true});
"""
LEGEND_SHOWS = (
    "(name) => (document.querySelector('#backtest-equity') || {innerText: ''})"
    ".innerText.includes(name)"
)


def test_sma_crossover_draws_equity_and_trades_and_fetches_with_progress(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    warm_demo_cache(context, seed_demo_portfolio(context))
    url = live_apps.serve(app)
    page.add_init_script(PROGRESS_WATCHER)
    page.goto(f"{url}/backtest")

    # AAPL is cached since 2019: SMA 50/200 over five years is answered at once.
    page.fill("#backtest-ticker", "aapl")
    page.click("#backtest-run")
    page.wait_for_selector("#backtest-metrics-table", timeout=15_000)
    assert page.inner_text("#backtest-message") == "Backtested AAPL from 2019-12-04 to 2024-12-04."
    assert page.evaluate("window.progressShown") is False
    page.wait_for_function(LEGEND_SHOWS, arg="Benchmark SPY", timeout=10_000)
    assert page.locator("#backtest-equity .scatterlayer .trace").count() == 3
    page.wait_for_selector("#backtest-trades .ag-row", timeout=10_000)
    first_entry = page.inner_text("#backtest-trades .ag-row [col-id='entry_time']")
    assert first_entry.startswith("20")

    # IWM is not cached: a background job fetches it, showing its progress, then draws it.
    page.fill("#backtest-ticker", "IWM")
    page.click("#backtest-run")
    page.wait_for_function(
        "document.querySelector('#backtest-message').innerText.startsWith('Backtested IWM')",
        timeout=30_000,
    )
    assert page.evaluate("window.progressShown") is True
    page.wait_for_selector("#backtest-progress[style*='hidden']", state="attached", timeout=10_000)
    assert page.locator("#backtest-equity .scatterlayer .trace").count() == 3
    # The job ran in another process; its result sits in the cache the web process reads.
    assert cached_backtest(context, parse_backtest_request({"ticker": "IWM"})) is not None
