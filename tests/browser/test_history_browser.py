"""A person reads a portfolio's history in Chromium: each change made on the page appears at the
top of the card as it is made, a refused one does not, typed text stays text, and older changes
come on request."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dashapp import context_of
from dashapp.services.portfolios import create_portfolio
from dashapp.services.transactions import TransactionDraft, add_transaction
from tests.browser.test_ledger_browser import fill_transaction

pytestmark = pytest.mark.browser

ROWS = "#ledger-history-rows .ledger-change"
MARKUP_FILE = "<img src=x onerror=alert(1)>.csv"


def latest_is(page, text: str) -> None:
    # Locator assertions, not wait_for_function: the app's CSP forbids evaluating strings.
    expect(page.locator(ROWS).first).to_contain_text(text, timeout=15_000)


def test_changes_on_the_page_appear_in_its_history(live_apps, page):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    url = live_apps.serve(live_apps.build())
    page.goto(f"{url}/portfolios")
    page.fill("#portfolios-new-name", "Taxable")
    page.click("#portfolios-create")
    page.click("#portfolios-list .portfolio-name")
    page.wait_for_selector(ROWS, timeout=15_000)
    # AUTH=local acts for its one implicit user, "local".
    first = page.locator(ROWS).first.inner_text()
    assert "local" in first and 'created the portfolio "Taxable" in USD' in first

    fill_transaction(page, "2024-12-02", "BUY", "aapl", "10", "100")
    page.click("#ledger-add")
    latest_is(page, "added BUY 10 AAPL @ 100.00 on 2024-12-02")
    assert page.locator(ROWS).count() == 2

    fill_transaction(page, "2024-12-03", "SELL", "AAPL", "15", "110")
    page.click("#ledger-add")
    page.wait_for_selector("#ledger-errors", timeout=15_000)
    assert page.locator(ROWS).count() == 2

    csv = b"date,type,ticker,quantity,price,fees,currency,note\n2024-12-03,BUY,KO,5,60,0,USD,\n"
    page.set_input_files(
        "#ledger-upload input[type=file]",
        files=[{"name": MARKUP_FILE, "mimeType": "text/csv", "buffer": csv}],
    )
    page.wait_for_selector("#ledger-preview-table", timeout=15_000)
    page.click("#ledger-import")
    latest_is(page, f"imported 1 row from {MARKUP_FILE}")
    assert page.locator("#ledger-history img").count() == 0
    assert dialogs == []

    # Drawn again from the database when the page is opened anew.
    page.reload()
    page.wait_for_selector(ROWS, timeout=15_000)
    assert [line.split("\t")[-1] for line in page.locator(ROWS).all_inner_texts()] == [
        f"imported 1 row from {MARKUP_FILE}",
        "added BUY 10 AAPL @ 100.00 on 2024-12-02",
        'created the portfolio "Taxable" in USD',
    ]
    assert page.locator("#ledger-history-older").is_hidden()


def test_older_changes_come_on_request(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    # The deployment's own work, as the command line would do it: no user.
    portfolio_id = create_portfolio(context, "Savings").id
    for day in range(1, 15):
        draft = TransactionDraft(f"2024-11-{day:02d}", "DEPOSIT", "", "1", str(day))
        add_transaction(context, portfolio_id, draft)
    url = live_apps.serve(app)
    page.goto(f"{url}/portfolios/{portfolio_id}")
    page.wait_for_selector(ROWS, timeout=15_000)
    assert page.locator(ROWS).count() == 10
    assert "deployment" in page.locator(ROWS).first.inner_text()
    assert "added DEPOSIT 14.00 on 2024-11-14" in page.locator(ROWS).first.inner_text()

    page.click("#ledger-history-older")
    expect(page.locator(ROWS)).to_have_count(15, timeout=15_000)
    assert 'created the portfolio "Savings"' in page.locator(ROWS).last.inner_text()
    assert page.locator("#ledger-history-older").is_hidden()
