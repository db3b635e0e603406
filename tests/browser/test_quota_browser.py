"""A user in Chromium refreshes tickers on the cache page past the refresh quota: the page says
how many they started, and when they may refresh again; nothing more is fetched."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from dashapp import context_of
from dashapp.db.models import FetchLog

pytestmark = pytest.mark.browser

# As many as the default refresh quota (Settings.quota_refreshes, QUOTA_REFRESHES) allows in a minute.
TICKERS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "AMD", "IBM", "KO")


def test_past_the_refresh_quota_the_page_says_when_to_try_again(live_apps, page):
    app = live_apps.build()
    url = live_apps.serve(app)

    def fetches() -> int:
        with context_of(app).db.session() as session:
            return session.scalar(select(func.count()).select_from(FetchLog))

    page.goto(f"{url}/cache")
    page.wait_for_selector("#cache-refresh", timeout=15_000)
    message = page.locator("#cache-message")
    for ticker in TICKERS:
        page.fill("#cache-ticker", ticker)
        page.click("#cache-refresh")
        expect(message).to_have_text(re.compile(f"^Refreshed {ticker}"), timeout=30_000)
    before = fetches()
    page.fill("#cache-ticker", "PEP")
    page.click("#cache-refresh")
    expect(message).to_contain_text("try again in", timeout=30_000)
    said = message.inner_text()
    assert re.fullmatch(
        r"You have started 10 refreshes in the last minute; try again in \d+ s"
        r" \(at \d\d:\d\d:\d\d UTC\)\.",
        said,
    ), said
    assert fetches() == before
    # The button is there to use again once the wait is over.
    assert page.is_enabled("#cache-refresh")
