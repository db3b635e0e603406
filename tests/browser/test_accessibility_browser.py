"""axe-core checks every page of the demo in Chromium, and the pages work from the keyboard.

axe-core is the npm package pinned in package.json (installed by `npm ci`, which
scripts/test.sh runs); its script is loaded into each page as it stands once drawn.
"""

from __future__ import annotations

import os

import pytest

from tests.browser.pages import AXE_SCRIPT, DEMO_PAGES, open_ready

pytestmark = pytest.mark.browser

BLOCKING = ("serious", "critical")


@pytest.fixture
def axe_script() -> str:
    if not AXE_SCRIPT.exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{AXE_SCRIPT} is missing: run `npm ci` at the repository root")
        pytest.skip("axe-core is not installed (npm ci)")
    return str(AXE_SCRIPT)


def blocking_violations(page, axe_script: str) -> list[str]:
    page.add_script_tag(path=axe_script)
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{rule['id']} ({rule['impact']}): {rule['help']} at "
        + ", ".join(str(node["target"]) for node in rule["nodes"][:5])
        for rule in found["violations"]
        if rule["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("path", list(DEMO_PAGES))
def test_no_serious_or_critical_axe_violations(demo, page, axe_script, path):
    url, portfolio_id = demo
    open_ready(page, url, path, portfolio_id)
    assert blocking_violations(page, axe_script) == []


def test_axe_finds_a_violation_when_there_is_one(demo, page, axe_script):
    """The check above can fail: an unlabelled box added to a page is reported."""
    url, portfolio_id = demo
    open_ready(page, url, "/cache", portfolio_id)
    page.evaluate("document.querySelector('#page-content').append(document.createElement('input'))")
    assert any(v.startswith("label (critical)") for v in blocking_violations(page, axe_script))


def test_a_dropdown_opens_and_chooses_from_the_keyboard(demo, page):
    url, portfolio_id = demo
    open_ready(page, url, "/backtest", portfolio_id)
    page.focus("#backtest-ticker")
    page.keyboard.press("Tab")  # the portfolio box is hidden while a ticker is backtested
    # Focus is on the strategy dropdown's own button, never on a hidden element.
    assert page.evaluate("document.activeElement.id") == "backtest-strategy"
    assert page.evaluate("document.activeElement.closest('[aria-hidden=\"true\"]')") is None
    page.keyboard.press("Enter")
    # The open list takes the focus on its chosen option.
    page.wait_for_function(
        "document.activeElement.classList.contains('dash-options-list-option-checkbox')",
        timeout=15_000,
    )
    page.evaluate("window.chosenOption = document.activeElement")
    page.keyboard.press("ArrowDown")
    # Enter chooses what has the focus: wait until the arrow has moved it (a loaded machine
    # handles the keys later than they are sent).
    page.wait_for_function(
        "document.activeElement !== window.chosenOption"
        " && document.activeElement.classList.contains('dash-options-list-option-checkbox')",
        timeout=15_000,
    )
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#backtest-strategy').innerText !== 'SMA crossover'",
        timeout=15_000,
    )


def test_the_compare_page_runs_from_the_keyboard(demo, page):
    url, portfolio_id = demo
    open_ready(page, url, "/compare", portfolio_id)
    # The period buttons are radio inputs: arrow keys move the choice.
    page.focus("#compare-period input[value='1Y']")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "document.querySelector('#compare-period input[value=\"3Y\"]').checked", timeout=15_000
    )
    page.wait_for_function(
        "document.querySelector('#compare-message').innerText.startsWith('Compared')",
        timeout=15_000,
    )
    page.focus("#compare-run")
    page.keyboard.press("Enter")
    page.wait_for_selector("#metrics-table", timeout=15_000)


def test_freshness_badges_carry_their_state_in_words(demo, page):
    """Colour is not the only sign: every badge says its state in text."""
    url, portfolio_id = demo
    open_ready(page, url, "/", portfolio_id)
    badges = page.locator(".freshness")
    assert badges.count() > 0
    for text in badges.all_inner_texts():
        assert text.strip() in ("fresh", "cached", "stale", "missing"), text
