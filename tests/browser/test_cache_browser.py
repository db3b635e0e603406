"""An operator opens the cache page in Chromium, sees what is stored, and uses its actions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from dashapp import context_of
from dashapp.db.models import JobRun
from dashapp.market.errors import ProviderError
from dashapp.services.cache_status import INTERNAL_ROUTES
from dashapp.services.comparison_requests import SUGGESTED_BENCHMARKS
from dashapp.services.upkeep import run_job

pytestmark = pytest.mark.browser

ROWS = "#cache-grid .cache-row"


class GatedProvider:
    """The app's provider, with history requests held until the test opens the gate."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.gate = threading.Event()

    def history(self, *args: Any, **kwargs: Any) -> Any:
        assert self.gate.wait(60), "the test never opened the gate"
        return self.inner.history(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def cell(page, ticker: str, column: str):
    return page.locator(f"#cache-grid .cache-row[row-id='{ticker}'] [col-id='{column}']")


def test_cache_page_shows_stored_tickers_and_its_actions_work(live_apps, page, clock):
    app = live_apps.build()
    context = context_of(app)
    run_job(context, "warm", trigger="test")
    url = live_apps.serve(app)

    page.goto(f"{url}/cache")
    page.wait_for_selector(ROWS, timeout=15_000)
    assert page.locator(ROWS).count() == len(SUGGESTED_BENCHMARKS)
    assert cell(page, "SPY", "last_date").inner_text() == "2024-12-04"
    assert cell(page, "SPY", "first_date").inner_text() == "2019-12-05"
    assert cell(page, "SPY", "source").inner_text() == "demo"
    assert cell(page, "SPY", "state").inner_text() == "fresh"
    assert cell(page, "QQQ", "last_fetched").inner_text() == "2024-12-04 22:00 UTC"
    assert page.inner_text("#cache-breaker") == "demo: closed"
    assert page.inner_text("#cache-hit-day").startswith("0.0% (0 hits, 10 misses)")
    assert "warm" in page.inner_text("#cache-jobs-table")
    assert page.locator("#cache-upstream-chart .trace").count() == 1

    # A ticker the cache does not hold: nothing to confirm, nothing removed.
    page.fill("#cache-ticker", "nope")
    page.click("#cache-evict")
    page.wait_for_function(
        "document.querySelector('#cache-message').innerText.includes('nothing to evict')",
        timeout=10_000,
    )
    assert page.inner_text("#cache-message") == "NOPE is not in the cache: nothing to evict."
    assert not page.is_visible("#cache-evict-question")

    # Evict SPY, chosen by clicking its row, after confirming in the dialog.
    cell(page, "SPY", "ticker").click()
    page.wait_for_function("document.querySelector('#cache-ticker').value === 'SPY'")
    page.click("#cache-evict")
    page.wait_for_selector("#cache-evict-question", state="visible", timeout=10_000)
    assert "SPY" in page.inner_text("#cache-evict-question")
    page.click("#cache-evict-confirm")
    page.wait_for_selector("#cache-evict-question", state="detached", timeout=10_000)
    page.wait_for_function(
        f"document.querySelectorAll('{ROWS}').length === {len(SUGGESTED_BENCHMARKS) - 1}",
        timeout=10_000,
    )
    assert page.locator(f"{ROWS}[row-id='SPY']").count() == 0
    assert context.store.coverage(["SPY"]) == {}

    # An hour later, refreshing QQQ fetches its quote: the row's last fetched time moves.
    clock.set(datetime(2024, 12, 4, 23, 0, tzinfo=UTC))
    page.fill("#cache-ticker", "QQQ")
    page.click("#cache-refresh")
    page.wait_for_function(
        "(document.querySelector(\"#cache-grid .cache-row[row-id='QQQ'] [col-id='last_fetched']\")"
        " || {innerText: ''}).innerText === '2024-12-04 23:00 UTC'",
        timeout=30_000,
    )
    assert page.inner_text("#cache-message") == "Refreshed QQQ."

    # Warming everything brings SPY back, with a job run triggered from the page.
    page.click("#cache-warm")
    page.wait_for_function(
        "document.querySelector('#cache-message').innerText.startsWith('Warm succeeded')",
        timeout=60_000,
    )
    page.wait_for_selector(f"{ROWS}[row-id='SPY']", timeout=10_000)
    with context.db.session() as session:
        triggers = [
            run.detail["trigger"] for run in session.scalars(select(JobRun).order_by(JobRun.id))
        ]
    assert triggers == ["test", "page"]


def test_cancelling_a_warm_from_the_page_stops_it_and_records_it_cancelled(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    gated = GatedProvider(context.store.provider)
    context.store.provider = gated
    url = live_apps.serve(app)

    page.goto(f"{url}/cache")
    page.wait_for_selector("#cache-warm", timeout=15_000)
    page.click("#cache-warm")
    # The warm holds its lock and waits on its first fetch: the progress bar and Cancel show.
    page.wait_for_selector("#cache-warm-progress", state="visible", timeout=15_000)
    page.wait_for_function("!document.querySelector('#cache-warm-cancel').disabled", timeout=15_000)
    page.wait_for_function(
        "document.querySelector('#cache-warm-progress').innerText.startsWith('starting')",
        timeout=15_000,
    )
    page.click("#cache-warm-cancel")
    page.wait_for_function(
        "document.querySelector('#cache-message').innerText.startsWith('Warm cancelled')",
        timeout=15_000,
    )
    gated.gate.set()

    # The bars already asked for arrive; the warm stops before its backtests.
    page.wait_for_function(
        "document.querySelector('#cache-jobs-table .job-cancelled') !== null", timeout=30_000
    )
    with context.db.session() as session:
        [run] = session.scalars(select(JobRun)).all()
    assert (run.job, run.status, run.detail["trigger"]) == ("warm", "cancelled", "page")
    assert run.detail["stage"] == "cancelled"
    assert page.inner_text("#cache-warm") == "Warm everything now"
    assert page.is_enabled("#cache-warm")


class UnreachableMarket:
    """Yahoo with the network down: every call fails as curl does when DNS cannot resolve."""

    name = "yahoo"

    def history(self, tickers, start, end):
        raise ProviderError("ConnectionError: Failed to perform, curl: (6) Could not resolve host")

    def quotes(self, tickers):
        raise ProviderError("ConnectionError: Failed to perform, curl: (6) Could not resolve host")


def test_upstream_failures_are_said_in_words_and_the_latency_table_groups_internals(
    live_apps, page
):
    app = live_apps.build(provider=UnreachableMarket())
    context = context_of(app)
    run_job(context, "warm", trigger="test")
    url = live_apps.serve(app)
    page.goto(f"{url}/cache")
    page.wait_for_selector(ROWS, timeout=15_000)
    unreachable = "Yahoo Finance is unreachable"
    error_text = cell(page, "SPY", "last_error").inner_text()
    assert error_text.startswith(unreachable), error_text
    assert "Error" not in error_text and "Circuit" not in error_text

    page.fill("#cache-ticker", "SPY")
    page.click("#cache-refresh")
    page.wait_for_function(
        "document.querySelector('#cache-message').innerText.includes('Could not refresh')",
        timeout=15_000,
    )
    message = page.inner_text("#cache-message")
    assert message.startswith(f"Could not refresh. SPY: {unreachable}"), message
    assert "Error" not in message and "Circuit" not in message and "answered" not in message

    # A second visit: the first one's framework requests are measured by now.
    page.reload()
    page.wait_for_selector("#cache-latency-table", timeout=15_000)
    routes = page.locator("#cache-latency-table tbody tr td:first-child").all_inner_texts()
    assert routes.count(INTERNAL_ROUTES) == 1, routes
    assert not [route for route in routes if route.startswith("/_dash")], routes
    # Numeric headers stand right over their numbers.
    edges = page.evaluate(
        """() => {
          const table = document.querySelector('#cache-latency-table');
          const heads = [...table.querySelectorAll('thead th')];
          const cells = [...table.querySelector('tbody tr').querySelectorAll('td')];
          return heads.map((th, i) => [
            getComputedStyle(th).textAlign,
            Math.round(th.getBoundingClientRect().right - cells[i].getBoundingClientRect().right),
          ]);
        }"""
    )
    assert [align for align, _ in edges[1:]] == ["right"] * 4, edges
    assert all(offset == 0 for _, offset in edges), edges
