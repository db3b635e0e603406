"""A ledger file over the import limit is refused in the browser, with a message, before a byte
of it is read or sent; a file within the limit still previews."""

from __future__ import annotations

import pytest

from dashapp import context_of
from dashapp.services.portfolios import create_portfolio

pytestmark = pytest.mark.browser

HEADER = b"date,type,ticker,quantity,price,fees,currency,note\r\n"
ROW = b"2024-12-02,BUY,MSFT,3,420,1,USD,a note to make the file longer\r\n"


def test_a_file_over_the_limit_is_refused_in_the_page(live_apps, page):
    app = live_apps.build(max_import_bytes=1_000)
    portfolio = create_portfolio(context_of(app), "Limits")
    base = live_apps.serve(app)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    page.goto(f"{base}/portfolios/{portfolio.id}")
    page.wait_for_selector("#ledger-upload input[type=file]", state="attached", timeout=30_000)

    too_large = HEADER + ROW * 40
    callbacks_before = sum("_dash-update-component" in url for url in sent)
    page.set_input_files(
        "#ledger-upload input[type=file]",
        files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": too_large}],
    )
    refused = page.locator("#ledger-upload-refused")
    refused.wait_for(state="visible", timeout=10_000)
    assert refused.inner_text() == (
        "big.csv is 0.0 MB; a ledger file may be at most 0.001 MB. Nothing was read or imported."
    )
    page.wait_for_timeout(500)
    assert sum("_dash-update-component" in url for url in sent) == callbacks_before
    assert page.locator("#ledger-preview-table").count() == 0

    page.set_input_files(
        "#ledger-upload input[type=file]",
        files=[{"name": "small.csv", "mimeType": "text/csv", "buffer": HEADER + ROW}],
    )
    page.wait_for_selector("#ledger-preview-table", timeout=15_000)
    assert refused.inner_text() == ""
