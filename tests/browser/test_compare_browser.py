"""A person compares the demo portfolio with ETFs in Chromium."""

from __future__ import annotations

import re

import pytest

from dashapp import context_of
from dashapp.services.comparison import cached_comparison
from dashapp.services.comparison_requests import parse_request
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache

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


def demo_compare_page(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    warm_demo_cache(context, seed_demo_portfolio(context))
    url = live_apps.serve(app)
    page.goto(f"{url}/compare")
    page.wait_for_selector("#metrics-table", timeout=15_000)
    page.wait_for_function(LEGEND_SHOWS, arg="Your money in SPY", timeout=20_000)
    return context


def test_add_tickers_splits_on_commas_and_spaces_and_names_a_typo_at_the_field(live_apps, page):
    demo_compare_page(live_apps, page)
    chosen = "#compare-benchmarks input:checked"

    def checked() -> list[str]:
        return sorted(page.eval_on_selector_all(chosen, "boxes => boxes.map(b => b.value)"))

    assert checked() == ["QQQ", "SPY", "VTI"]

    page.fill("#compare-extra", "VXUS, DIA")
    page.press("#compare-extra", "Enter")
    page.wait_for_function(f"document.querySelectorAll('{chosen}').length === 5", timeout=20_000)
    assert checked() == ["DIA", "QQQ", "SPY", "VTI", "VXUS"]
    assert page.input_value("#compare-extra") == ""
    # A symbol the page did not offer becomes a box of its own, checked.
    page.fill("#compare-extra", "ewj")
    page.press("#compare-extra", "Enter")
    page.wait_for_selector("#compare-benchmarks input[value='EWJ']:checked", timeout=20_000)

    # A typo is named at the field, marked invalid, and nothing is added.
    page.fill("#compare-extra", "iwm  b@d")
    page.press("#compare-extra", "Enter")
    page.wait_for_selector("#compare-extra.is-invalid", timeout=20_000)
    assert page.inner_text("#compare-extra-feedback") == 'Not a ticker symbol: "b@d".'
    assert page.is_visible("#compare-extra-feedback")
    assert page.locator(chosen).count() == 6


def test_period_buttons_labels_axis_metrics_and_fees_read_as_a_person_expects(live_apps, page):
    demo_compare_page(live_apps, page)
    buttons = page.locator("#compare-period label")
    assert buttons.all_inner_texts() == ["1M", "3M", "YTD", "1Y", "3Y", "5Y", "Max", "Custom"]
    tops = {round(box["y"]) for box in (b.bounding_box() for b in buttons.all())}
    assert len(tops) == 1, "the period buttons wrapped onto more than one line"

    assert page.text_content("#compare-chart .g-ytitle") == "Value (USD)"

    # Each series' own figures, then a labelled block of the portfolio against each ETF.
    own = page.locator("#metrics-table tbody th").all_inner_texts()
    assert "Total return" in own and "Beta" not in own
    relative = page.locator("#relative-metrics-table tbody th").all_inner_texts()
    assert relative == ["Beta", "Alpha", "Correlation", "Tracking error", "Information ratio"]
    assert page.locator("#relative-metrics-table thead th").all_inner_texts()[1:] == [
        "vs SPY",
        "vs QQQ",
        "vs VTI",
    ]
    assert "Your portfolio against each ETF" in page.inner_text("#compare-metrics")

    # Fees are subtracted from the gain, so they read negative, and the row adds up.
    row = page.locator("#breakdown-table tbody tr").first.locator("td").all_inner_texts()
    price, dividends, fees, total = (float(c.replace("$", "").replace(",", "")) for c in row)
    assert fees < 0
    assert abs(price + dividends + fees - total) < 0.02


def test_a_failed_run_clears_the_chart_instead_of_leaving_the_last_answer(live_apps, page):
    demo_compare_page(live_apps, page)
    page.click("#compare-period label:has-text('Custom')")
    page.wait_for_selector("#compare-error", timeout=20_000)
    assert page.inner_text("#compare-error").startswith("Custom dates:")
    page.wait_for_function(
        "document.querySelectorAll('#compare-chart .scatterlayer .trace').length === 0",
        timeout=20_000,
    )
    assert "Nothing to show" in page.inner_text("#compare-chart")
    assert page.locator("#metrics-table").count() == 0


def test_explain_a_number_formats_money_percent_and_dates_under_worded_headers(live_apps, page):
    demo_compare_page(live_apps, page)
    page.click("#explain-series")
    page.click(".dash-dropdown-option:has-text('Portfolio')")
    page.wait_for_selector("#explain-grid .ag-row", timeout=20_000)
    headers = page.locator("#explain-grid .ag-header-cell-text").all_inner_texts()
    assert headers == [
        "Date",
        "Portfolio value",
        "Money in (+) or out (−)",
        "Dividends",
        "Daily return",
        "Growth of 10,000",
    ]
    row = page.locator("#explain-grid .ag-row[row-index='1']")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row.locator("[col-id='date']").inner_text())
    assert re.fullmatch(r"\$[\d,]+\.\d{2}", row.locator("[col-id='value']").inner_text())
    assert re.fullmatch(r"[+-]?[\d,]+\.\d{2}%", row.locator("[col-id='daily_return']").inner_text())
