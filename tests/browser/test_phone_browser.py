"""Every page of the demo is usable on a phone (390 px wide): the page itself never scrolls
sideways (grids and tables may scroll inside their own box) and form controls stack."""

from __future__ import annotations

import itertools

import pytest

from tests.browser.pages import DEMO_PAGES, open_ready

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

# The elements that stick out past the right edge, to name them when the page is too wide.
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > 391)
  .filter((el) => !el.closest('.ag-root-wrapper, .table-responsive, .period-scroll'))
  .slice(0, 8)
  .map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' +
       String(el.className).split(' ').slice(0, 2).join('.'))"""


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.mark.parametrize("path", list(DEMO_PAGES))
def test_no_page_scrolls_sideways_at_390_px(demo, phone, path):
    url, portfolio_id = demo
    open_ready(phone, url, path, portfolio_id)
    width = phone.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], (width, phone.evaluate(WIDER_THAN_SCREEN))


@pytest.mark.parametrize(
    ("path", "controls"),
    [
        ("/compare", ["#compare-portfolio", "#compare-extra"]),
        ("/backtest", ["#backtest-ticker", "#backtest-strategy", "#backtest-benchmark"]),
        ("/portfolios", ["#portfolios-new-name", "#portfolios-new-currency"]),
    ],
)
def test_form_controls_stack_at_390_px(demo, phone, path, controls):
    url, portfolio_id = demo
    open_ready(phone, url, path, portfolio_id)
    boxes = [phone.locator(selector).bounding_box() for selector in controls]
    for above, below in itertools.pairwise(boxes):
        assert below["y"] >= above["y"] + above["height"], (path, boxes)
    for box in boxes:
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (path, box)
