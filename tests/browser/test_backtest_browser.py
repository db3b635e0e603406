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
    page.wait_for_function(
        "document.querySelectorAll('#backtest-equity .scatterlayer .trace').length === 3",
        timeout=10_000,
    )
    # The job ran in another process; its result sits in the cache the web process reads.
    assert cached_backtest(context, parse_backtest_request({"ticker": "IWM"})) is not None


def open_backtest(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    warm_demo_cache(context, seed_demo_portfolio(context))
    url = live_apps.serve(app)
    page.goto(f"{url}/backtest")
    page.wait_for_selector("#backtest-run", timeout=15_000)
    return context


def test_a_ticker_without_prices_says_only_that_and_the_last_results_leave(live_apps, page):
    open_backtest(live_apps, page)
    page.fill("#backtest-ticker", "aapl")
    page.click("#backtest-run")
    page.wait_for_selector("#backtest-metrics-table", timeout=15_000)
    page.wait_for_function(LEGEND_SHOWS, arg="Benchmark SPY", timeout=20_000)

    page.fill("#backtest-ticker", "ZZZZ")
    page.click("#backtest-run")
    page.wait_for_selector("#backtest-warnings", timeout=30_000)
    message = page.inner_text("#backtest-message")
    assert message.startswith("ZZZZ: no prices stored"), message
    assert "Backtested" not in message
    assert "UnknownTicker" not in message
    # AAPL's chart, metrics and trades are gone: they answered another question.
    assert page.locator("#backtest-equity .scatterlayer .trace").count() == 0
    assert page.locator("#backtest-metrics-table").count() == 0
    assert page.locator("#backtest-trades .ag-row").count() == 0


def test_switching_to_a_portfolio_says_why_the_strategy_was_cleared(live_apps, page):
    open_backtest(live_apps, page)
    assert page.inner_text("#backtest-strategy") == "SMA crossover"
    page.click('#backtest-subject label:has-text("A portfolio\'s holdings")')
    page.wait_for_function(
        "document.querySelector('#backtest-strategy-note').innerText.length > 0", timeout=20_000
    )
    assert page.inner_text("#backtest-strategy-note") == (
        "SMA crossover runs on a single ticker: choose Buy and hold or Rebalance the basket."
    )
    assert page.inner_text("#backtest-strategy") == "Choose a strategy"
    page.click("#backtest-run")
    page.wait_for_selector("#backtest-error", timeout=20_000)
    assert page.inner_text("#backtest-error") == "Strategy: choose a strategy"


def test_only_the_strategys_controls_show_and_no_label_wraps_or_is_cut(live_apps, page):
    open_backtest(live_apps, page)
    page.wait_for_selector("#backtest-frequency-field", state="hidden", timeout=20_000)
    for shown in ("ticker", "fast", "slow", "sweep", "cash", "commission", "fixed-fee"):
        assert page.is_visible(f"#backtest-{shown}-field"), shown
    for hidden in ("portfolio", "frequency", "amount", "dates", "metric", "fast-windows"):
        assert page.is_hidden(f"#backtest-{hidden}-field"), hidden

    page.click("#backtest-strategy")
    page.click(".dash-dropdown-option:has-text('Dollar-cost averaging')")
    page.wait_for_selector("#backtest-amount-field", state="visible", timeout=20_000)
    assert page.is_hidden("#backtest-fast-field") and page.is_hidden("#backtest-cash-field")

    for width in (1280, 1024, 800, 390):
        page.set_viewport_size({"width": width, "height": 900})
        bad = page.evaluate(
            """() => [...document.querySelectorAll('#page-content .form-label')]
                .filter((label) => label.offsetParent !== null)
                .filter((label) => {
                  const lines = label.getClientRects().length;
                  const tall = label.offsetHeight > 1.6 * parseFloat(getComputedStyle(label).lineHeight);
                  const cut = label.scrollWidth > label.parentElement.clientWidth;
                  return lines > 1 || tall || cut;
                })
                .map((label) => label.innerText)"""
        )
        assert bad == [], (width, bad)
