"""A person opens the demo portfolio's reports in Chromium: monthly income bars over several
years, a realized year that opens onto its sales, and the lot method changing the figures."""

from __future__ import annotations

import re

import pytest

from dashapp import context_of
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache

pytestmark = pytest.mark.browser


def test_demo_reports_show_income_and_a_realized_sale(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    portfolio_id = seed_demo_portfolio(context)
    warm_demo_cache(context, portfolio_id)
    url = live_apps.serve(app)

    page.goto(f"{url}/portfolios/{portfolio_id}/reports")
    page.wait_for_selector("#income-chart .trace.bars path", timeout=20_000)
    # One bar trace per paying holding, stacked, over the months since 2019.
    assert page.locator("#income-chart .trace.bars").count() >= 8
    legend = page.locator("#income-chart .legendtext").all_text_contents()
    assert {"AAPL", "KO", "SCHD", "BND"} <= set(legend)
    assert "JNJ" not in legend  # the demo leaves JNJ's dividends unrecorded
    years = page.locator("#income-years tbody tr")
    assert years.count() == 6  # 2019 to 2024
    assert years.first.inner_text().startswith("2019")
    assert page.locator("#income-ttm").inner_text().startswith("$")
    assert page.locator("#income-current-yield").inner_text().endswith("%")

    sales = page.locator("#realized-2024 .realized-lot")
    assert not sales.first.is_visible()  # closed until the year is opened
    page.click("#realized-2024 summary")
    assert sales.count() == 3  # JNJ's sale, and AAPL's over two lots
    aapl = sales.filter(has_text="AAPL")
    assert aapl.count() == 2
    assert "long term" in aapl.first.inner_text()
    assert "short term" in aapl.last.inner_text()

    fifo_total = page.locator("#realized-total").inner_text()
    assert "FIFO" in fifo_total
    page.get_by_label("Average cost").check()
    page.wait_for_function(
        "document.querySelector('#realized-total').innerText.includes('Average cost')",
        timeout=15_000,
    )
    average_total = page.locator("#realized-total").inner_text()
    assert _amount(average_total) != _amount(fifo_total)
    assert page.locator("#realized-csv").get_attribute("href").endswith("method=average")


def test_the_navbar_leads_to_each_portfolios_reports(live_apps, page):
    app = live_apps.build()
    portfolio_id = seed_demo_portfolio(context_of(app))
    url = live_apps.serve(app)
    page.goto(url)
    page.click("nav >> text=Reports")
    page.click("#reports-portfolios >> text=Demo portfolio")
    page.wait_for_selector("#income-chart", timeout=15_000)
    assert page.url.endswith(f"/portfolios/{portfolio_id}/reports")


def _amount(text: str) -> str:
    return re.search(r"[-+]?\$[\d,]+\.\d\d", text).group(0)
