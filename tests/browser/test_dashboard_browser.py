"""A person opens the demo dashboard in Chromium and sees holdings with freshness badges."""

from __future__ import annotations

import pytest

from dashapp import context_of
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache

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
