"""The demo with its Content-Security-Policy on, in Chromium: every page draws, with no console
error and no CSP violation, and a page's answer carries the security headers.

Violations are caught twice: by a `securitypolicyviolation` listener that Playwright installs
before any page script runs (CDP's init scripts are not subject to the page's CSP), and by the
console, where Chromium reports each refusal as an error naming the Content Security Policy.

Pages are awaited with selectors only: Playwright's `wait_for_function` evaluates its
predicate with `eval` inside the page, which this very policy refuses ('unsafe-eval').
"""

from __future__ import annotations

import time

import pytest

from tests.browser.pages import DEMO_PAGES

pytestmark = pytest.mark.browser

LISTEN_FOR_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""
# DEMO_PAGES and two more: path ("{id}" is the demo portfolio's) -> what it shows once drawn.
PAGES = {
    **DEMO_PAGES,
    "/portfolios/{id}/reports": "#income-chart .trace.bars path",
    "/api/docs": "section.operation",
}


@pytest.fixture
def watched_page(browser):
    """A page whose console errors, script errors and CSP violations are recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(LISTEN_FOR_VIOLATIONS)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda message: _record_console(page, message))
    page.on("pageerror", lambda error: page.errors.append(f"page error: {error}"))
    yield page
    context.close()


def _record_console(page, message) -> None:
    if message.type == "error" or "Content Security Policy" in message.text:
        page.errors.append(f"console {message.type}: {message.text}")


def faults(page) -> list[str]:
    return page.errors + page.evaluate("window.cspViolations")


def open_drawn(page, base: str, path: str, portfolio_id: int) -> None:
    """Open `path`, wait until it is drawn and Dash has no callback pending."""
    page.goto(base + path.format(id=portfolio_id))
    page.wait_for_selector(PAGES[path], timeout=20_000)
    page.wait_for_selector('[data-dash-is-loading="true"]', state="detached", timeout=20_000)


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_draws_under_the_csp_without_errors(demo, watched_page, path):
    url, portfolio_id = demo
    open_drawn(watched_page, url, path, portfolio_id)
    # A chart draws its SVG with Plotly's inserted styles; give late refusals time to arrive.
    watched_page.wait_for_timeout(500)
    assert faults(watched_page) == []


def test_the_dashboard_draws_its_grid_and_charts_under_the_csp(demo, watched_page):
    url, portfolio_id = demo
    open_drawn(watched_page, url, "/", portfolio_id)
    # Plotly's charts (mounted after the holdings by the clientside callback the policy allows
    # by its hash) and AG Grid's rows are drawn, not only the static first paint.
    watched_page.wait_for_selector("#page-content .js-plotly-plot .main-svg", timeout=20_000)
    assert watched_page.locator("#page-content .ag-row").count() > 0
    assert watched_page.locator("#first-paint").count() == 0
    assert faults(watched_page) == []


def test_a_page_answer_carries_the_security_headers(demo, watched_page):
    url, portfolio_id = demo
    answer = watched_page.goto(f"{url}/portfolios/{portfolio_id}")
    headers = answer.headers
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-eval'" not in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_an_inline_script_that_the_policy_does_not_allow_is_reported(demo, watched_page):
    """The listener above can fail: a script element written into the page is refused, and
    the refusal is recorded."""
    url, portfolio_id = demo
    open_drawn(watched_page, url, "/cache", portfolio_id)
    watched_page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.ran = true'; document.body.append(s); }"
    )
    deadline = time.monotonic() + 5
    while not watched_page.evaluate("window.cspViolations.length") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert watched_page.evaluate("window.ran === undefined")
    assert any("script-src" in fault for fault in faults(watched_page))
