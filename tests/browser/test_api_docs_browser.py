"""A script author opens /api/docs in Chromium; a mistyped address shows the not-found page."""

from __future__ import annotations

import pytest

from dashapp.api.openapi import OPERATIONS

pytestmark = pytest.mark.browser


def test_api_docs_render_every_operation_and_link_their_schemas(live_apps, page):
    url = live_apps.serve(live_apps.build())
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("response", lambda answer: failed.append(answer.url) if answer.status >= 400 else None)

    response = page.goto(f"{url}/api/docs")
    assert response is not None and response.status == 200
    assert page.title() == "StockTracker JSON API"
    for op in OPERATIONS:
        section = page.get_by_role("region", name=f"{op.method.upper()} {op.path}", exact=True)
        assert section.is_visible(), op.operation_id
    create = page.get_by_role("region", name="POST /api/portfolios", exact=True)
    assert "Create a portfolio" in create.inner_text()

    # A schema named in an answer is a link to that schema's description on the same page.
    create.get_by_role("link", name="PortfolioCreate").click()
    page.wait_for_url("**#schema-PortfolioCreate")
    schema = page.locator("#schema-PortfolioCreate")
    assert schema.is_visible() and '"maxLength": 120' in schema.inner_text()
    assert (
        page.evaluate(
            "document.querySelector('#schema-PortfolioCreate').getBoundingClientRect().top"
        )
        < 100
    )

    assert failed == []
    assert errors == []

    # (Chromium then asks for /favicon.ico, which is no address of the app: a 404 is right.)
    page.get_by_role("link", name="openapi.json").click()
    page.wait_for_url("**/api/openapi.json")
    assert '"openapi":"3.1.0"' in page.inner_text("body").replace(" ", "")


def test_a_mistyped_page_shows_the_not_found_message_with_status_404(live_apps, page):
    url = live_apps.serve(live_apps.build())
    response = page.goto(f"{url}/no/such/page")
    assert response is not None and response.status == 404
    page.get_by_text("Nothing lives at this address").wait_for(timeout=15_000)
    page.get_by_role("link", name="Go to the dashboard").click()
    page.wait_for_url(f"{url}/")
    page.get_by_text("Nothing lives at this address").wait_for(state="detached", timeout=15_000)
