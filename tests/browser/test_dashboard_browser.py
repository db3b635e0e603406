"""A person opens the demo dashboard in Chromium: holdings with freshness badges at once, charts
from the cache at once or after their progress bars, and a grid whose headers read whole."""

from __future__ import annotations

import json

import pytest

from dashapp import context_of
from dashapp.services.dashboard_panels import benchmark_panel
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.portfolios import rename_portfolio
from tests.browser.pages import AXE_SCRIPT

pytestmark = pytest.mark.browser


def test_demo_dashboard_shows_holdings_with_badges(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    warm_demo_cache(context, seed_demo_portfolio(context))
    url = live_apps.serve(app)

    page.goto(url)
    page.wait_for_selector("#holdings-table .holding-row", timeout=15_000)

    rows = page.locator("#holdings-table .holding-row")
    assert rows.count() == 12
    assert page.locator("#holdings-table .freshness-fresh").count() == 12
    nvda = rows.filter(has_text="NVDA")
    badge_hover = nvda.locator(".freshness").get_attribute("title")
    assert "as of 2024-12-04 21:00 UTC" in badge_hover
    assert "source: demo" in badge_hover
    assert page.locator(".demo-label").first.is_visible()
    assert page.locator("#card-market-value").inner_text().startswith("$")


def test_empty_app_offers_the_demo_and_loads_it(live_apps, page):
    url = live_apps.serve(live_apps.build())
    page.goto(url)
    page.wait_for_selector("#no-portfolios", timeout=15_000)
    page.click("#load-demo-button")
    # The demo ledger is there at once; its prices arrive through the background refresh.
    page.wait_for_selector("#holdings-table .holding-row", timeout=15_000)
    assert page.locator("#holdings-table .holding-row").count() == 12
    page.wait_for_selector("#holdings-table .freshness-fresh", timeout=30_000)
    page.wait_for_function(
        "document.querySelectorAll('#holdings-table .freshness-fresh').length === 12",
        timeout=30_000,
    )


DASH_CALLBACKS = "**/_dash-update-component*"
BENCHMARK_LINES = "#benchmark-chart .scatterlayer .trace"
ALLOCATION_BARS = "#allocation-chart .bar-row"
MOVER_BARS = "#movers-chart .bar-row"


class HeldCallbacks:
    """Keeps every callback request unanswered until `release`: what shows meanwhile came with
    the page itself."""

    def __init__(self, page) -> None:
        self.held: list = []
        self.released = False
        page.route(DASH_CALLBACKS, self._handle)

    def _handle(self, route) -> None:
        if self.released:
            route.continue_()
        else:
            self.held.append(route)

    def release(self) -> None:
        self.released = True
        for route in self.held:
            route.continue_()


def test_holdings_and_cached_charts_need_no_callback(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    portfolio_id = seed_demo_portfolio(context)
    warm_demo_cache(context, portfolio_id)
    benchmark_panel(context, portfolio_id, ("SPY",), "1Y")
    url = live_apps.serve(app)
    held = HeldCallbacks(page)

    page.goto(url)
    page.wait_for_selector("#holdings-table .holding-row", timeout=15_000)
    assert page.locator("#holdings-table .holding-row").count() == 12
    # The only request after the layout is the router's, which finds its page drawn already.
    assert [json.loads(route.request.post_data)["output"] for route in held.held] == [
        "..page-content.children...rendered-path.data.."
    ]
    assert page.locator("#card-market-value").inner_text().startswith("$")
    # Every chart is drawn from the caches with no progress bar, while no callback is answered.
    page.wait_for_selector(BENCHMARK_LINES, timeout=15_000)
    assert page.locator(BENCHMARK_LINES).count() == 2  # the portfolio and SPY
    page.wait_for_selector(ALLOCATION_BARS, timeout=15_000)
    page.wait_for_selector(MOVER_BARS, timeout=15_000)
    for bar in ("#benchmark-progress", "#allocation-progress", "#movers-progress"):
        assert not page.locator(bar).is_visible()
    assert "Same money in SPY" in page.locator("#benchmark-chart").inner_text()
    assert page.locator("a[href='/compare']").count() >= 1
    held.release()


def test_charts_fill_in_after_their_progress_bars_when_prices_must_be_fetched(live_apps, page):
    app = live_apps.build()
    seed_demo_portfolio(context_of(app))  # a ledger, and not one price stored
    url = live_apps.serve(app)
    held = HeldCallbacks(page)

    page.goto(url)
    page.wait_for_selector("#holdings-table .holding-row", timeout=15_000)
    assert page.locator("#holdings-table .freshness-missing").count() == 12
    for bar in ("#benchmark-progress", "#allocation-progress", "#movers-progress"):
        assert page.locator(bar).is_visible()
    assert page.locator(BENCHMARK_LINES).count() == 0
    assert page.locator(ALLOCATION_BARS).count() == 0

    held.release()
    page.wait_for_selector(BENCHMARK_LINES, timeout=60_000)
    page.wait_for_selector(ALLOCATION_BARS, timeout=60_000)
    page.wait_for_selector(MOVER_BARS, timeout=60_000)
    page.wait_for_selector("#benchmark-progress", state="hidden", timeout=15_000)
    page.wait_for_selector("#allocation-progress", state="hidden", timeout=15_000)
    assert page.locator("#holdings-table .freshness-fresh").count() == 12


def test_chosen_benchmarks_are_kept_for_the_portfolio(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    warm_demo_cache(context, seed_demo_portfolio(context))
    url = live_apps.serve(app)

    page.goto(url)
    page.wait_for_selector(BENCHMARK_LINES, timeout=30_000)
    page.click("#panel-benchmarks")
    page.click(".dash-dropdown-option:has-text('QQQ')")
    page.keyboard.press("Escape")
    page.wait_for_function(
        "document.querySelectorAll('#benchmark-chart .scatterlayer .trace').length === 3",
        timeout=30_000,
    )
    page.click("#panel-period label:has-text('3M')")
    page.wait_for_function(
        "document.querySelector('#benchmark-message').innerText.includes('2024-09')",
        timeout=30_000,
    )

    page.reload()
    page.wait_for_selector(BENCHMARK_LINES, timeout=30_000)
    chosen = page.locator("#panel-benchmarks").inner_text()
    assert "SPY" in chosen and "QQQ" in chosen


def test_empty_dashboard_says_nothing_before_the_user_acts(live_apps, page):
    url = live_apps.serve(live_apps.build())
    page.goto(url)
    page.wait_for_selector("#no-portfolios", timeout=15_000)
    page.wait_for_load_state("networkidle")
    assert page.locator("#create-portfolio-feedback").inner_text() == ""

    page.click("#create-portfolio-button")
    page.wait_for_selector("#create-portfolio-feedback .alert", timeout=15_000)
    assert "a portfolio needs a name" in page.locator("#create-portfolio-feedback").inner_text()


def test_grid_headers_are_whole_and_number_columns_show_no_stray_icons(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    warm_demo_cache(context, seed_demo_portfolio(context))
    url = live_apps.serve(app)

    page.goto(url)
    page.wait_for_selector("#holdings-table .holding-row", timeout=15_000)
    cut_off = page.evaluate(
        """Array.from(document.querySelectorAll('#holdings-table .ag-header-cell-text'))
            .filter(el => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
            .map(el => el.innerText)"""
    )
    assert cut_off == []
    assert page.locator(
        "#holdings-table .ag-header-cell-text", has_text="Market value"
    ).is_visible()
    icons = page.evaluate(
        """Array.from(document.querySelectorAll(
              '#holdings-table .ag-right-aligned-header .ag-header-icon, '
              + '#holdings-table .ag-right-aligned-header .ag-header-cell-filter-button'))
            .filter(el => el.offsetWidth > 0 && getComputedStyle(el).visibility !== 'hidden')
            .length"""
    )
    assert icons == 0
    # Filtering stays possible where it means something: the tickers, through a labelled box.
    page.locator("#holdings-table .ag-floating-filter input").first.fill("NV")
    page.wait_for_function(
        "document.querySelectorAll('#holdings-table .holding-row').length === 1", timeout=10_000
    )


FIRST_PAINT_ROWS = "#first-paint .holding-row"
# Watches the page from its first byte: whether a row of the copy and a row of the real grid were
# ever visible at once, and where each table's top was (the page must not jump when they swap).
SWAP_WATCH = """
window.__swap = {both: false, copyTop: null, gridTop: null};
const visible = (selector) => Array.from(document.querySelectorAll(selector)).some(
  (row) => row.checkVisibility({opacityProperty: true, visibilityProperty: true}));
new MutationObserver(() => {
  const copy = document.querySelector('#first-paint .first-paint-grid');
  const grid = document.querySelector('#holdings-table');
  if (copy) window.__swap.copyTop = copy.getBoundingClientRect().top;
  if (grid && visible('#holdings-table .holding-row')) {
    window.__swap.gridTop = grid.getBoundingClientRect().top;
  }
  if (visible('#first-paint .holding-row') && visible('#holdings-table .holding-row')) {
    window.__swap.both = true;
  }
}).observe(document, {childList: true, subtree: true, attributes: true});
"""


def test_holdings_are_on_screen_before_the_renderer_has_the_layout(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    warm_demo_cache(context, seed_demo_portfolio(context))
    url = live_apps.serve(app)
    page.route("**/_dash-layout", lambda route: None)  # never answered

    page.goto(url)
    page.wait_for_selector(FIRST_PAINT_ROWS, timeout=15_000)
    rows = page.locator(FIRST_PAINT_ROWS)
    assert rows.count() == 12
    assert rows.first.locator("td").first.inner_text() == "NVDA"  # largest market value first
    badge = rows.filter(has_text="NVDA").locator(".freshness")
    assert badge.inner_text() == "fresh"
    assert "source: demo" in badge.get_attribute("title")
    assert page.locator("#first-paint .portfolio-title").inner_text().startswith("Demo portfolio")
    assert page.locator("#first-paint-panels .bar-row").first.is_visible()
    # The renderer's own tree ("Loading...") stays out of sight, and out of the tab order.
    assert not page.locator("._dash-loading").is_visible()
    assert page.locator("#react-entry-point").get_attribute("inert") is not None
    if AXE_SCRIPT.exists():  # test_accessibility_browser.py fails when it is missing
        page.add_script_tag(path=str(AXE_SCRIPT))
        found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        assert [
            rule["id"] for rule in found["violations"] if rule["impact"] in ("serious", "critical")
        ] == []


def test_a_typed_name_in_the_first_paint_is_text(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    portfolio_id = seed_demo_portfolio(context)
    warm_demo_cache(context, portfolio_id)
    rename_portfolio(context, portfolio_id, "<b>Bold</b> & co")
    url = live_apps.serve(app)
    page.route("**/_dash-layout", lambda route: None)

    page.goto(url)
    page.wait_for_selector(FIRST_PAINT_ROWS, timeout=15_000)
    title = page.locator("#first-paint .portfolio-title")
    assert title.inner_text().startswith("<b>Bold</b> & co")
    assert title.locator("b").count() == 0


def test_the_real_grid_takes_over_in_place_and_sorts(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    warm_demo_cache(context, seed_demo_portfolio(context))
    url = live_apps.serve(app)
    page.add_init_script(SWAP_WATCH)

    page.goto(url)
    page.wait_for_selector("#holdings-table .holding-row", timeout=15_000)
    page.wait_for_selector("#first-paint-panels", state="detached", timeout=15_000)
    assert page.locator("#first-paint").count() == 0
    swap = page.evaluate("window.__swap")
    assert not swap["both"]  # never two tables of holdings on screen
    assert abs(swap["copyTop"] - swap["gridTop"]) <= 2
    ids = page.evaluate("Array.from(document.querySelectorAll('[id]'), (element) => element.id)")
    assert len(ids) == len(set(ids))
    assert page.locator("#react-entry-point").get_attribute("inert") is None

    # The grid works: a click on a header sorts its rows.
    page.click("#holdings-table .ag-header-cell[col-id='ticker'] .ag-header-cell-label")
    page.wait_for_function(
        "document.querySelector('#holdings-table .ag-row[row-index=\"0\"]').innerText"
        ".startsWith('AAPL')",
        timeout=10_000,
    )
