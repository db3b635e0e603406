"""A person manages portfolios and their transactions in Chromium: create, edit, import, delete."""

from __future__ import annotations

from datetime import date

import pytest

from dashapp import context_of
from dashapp.db.models import PriceBar
from dashapp.services.portfolios import create_portfolio
from dashapp.services.transactions import TransactionDraft, add_transaction, list_transactions

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert(1)</script>"


def fill_transaction(page, trade_date: str, kind: str, ticker: str, quantity: str, price: str):
    page.fill("#ledger-trade_date", trade_date)
    page.select_option("#ledger-kind", kind)
    page.fill("#ledger-ticker", ticker)
    page.fill("#ledger-quantity", quantity)
    page.fill("#ledger-price", price)


def test_names_and_tickers_with_markup_are_shown_as_text(live_apps, page):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    url = live_apps.serve(live_apps.build())

    page.goto(f"{url}/portfolios")
    page.fill("#portfolios-new-name", SCRIPT)
    page.click("#portfolios-create")
    page.wait_for_selector("#portfolios-list .portfolio-name", timeout=15_000)
    assert page.locator("#portfolios-list .portfolio-name").inner_text() == SCRIPT

    page.click("#portfolios-list .portfolio-name")
    page.wait_for_selector("#ledger-title", timeout=15_000)
    assert page.locator("#ledger-title").inner_text() == SCRIPT

    fill_transaction(page, "2024-12-02", "BUY", f"<img src=x onerror=alert(2)>{SCRIPT}", "1", "1")
    page.click("#ledger-add")
    page.wait_for_selector("#ledger-errors", timeout=15_000)
    assert "ticker" in page.locator("#ledger-errors").inner_text()
    assert page.locator("#page-content script").count() == 0
    assert page.locator("#page-content img").count() == 0
    assert dialogs == []


def test_add_refuse_edit_delete_and_import_transactions(live_apps, page):
    url = live_apps.serve(live_apps.build())
    page.goto(f"{url}/portfolios")
    page.fill("#portfolios-new-name", "Taxable")
    page.click("#portfolios-create")
    page.click("#portfolios-list .portfolio-name")
    page.wait_for_selector("#ledger-add", timeout=15_000)

    fill_transaction(page, "2024-12-02", "BUY", "aapl", "10", "100")
    page.click("#ledger-add")
    page.wait_for_selector("#ledger-grid .ledger-row", timeout=15_000)
    row = page.locator("#ledger-grid .ledger-row")
    assert row.count() == 1
    assert "AAPL" in row.inner_text()
    # The symbol is checked with the provider in the background, after the form answered.
    page.wait_for_function(
        "document.querySelector('#ledger-grid .ledger-row').innerText.includes('prices cached')",
        timeout=30_000,
    )

    fill_transaction(page, "2024-12-03", "SELL", "AAPL", "15", "110")
    page.click("#ledger-add")
    page.wait_for_selector("#ledger-errors", timeout=15_000)
    assert "10" in page.locator("#ledger-errors").inner_text()
    assert page.locator("#ledger-grid .ledger-row").count() == 1

    # Select the buy, change its quantity, save.
    page.locator("#ledger-grid .ledger-row").first.click()
    page.wait_for_function(
        "document.querySelector('#ledger-quantity').value === '10'", timeout=15_000
    )
    page.fill("#ledger-quantity", "12")
    page.click("#ledger-save")
    page.wait_for_selector("#ledger-done", timeout=15_000)
    page.wait_for_function(
        "document.querySelector('#ledger-grid .ledger-row').innerText.includes('12')",
        timeout=15_000,
    )

    # Delete it, after confirming.
    page.locator("#ledger-grid .ledger-row").first.click()
    page.wait_for_function("!document.querySelector('#ledger-delete').disabled", timeout=15_000)
    page.click("#ledger-delete")
    page.wait_for_selector("#ledger-delete-confirm", state="visible", timeout=15_000)
    page.click("#ledger-delete-confirm")
    page.wait_for_function(
        "document.querySelectorAll('#ledger-grid .ledger-row').length === 0", timeout=15_000
    )
    # The same answer emptied the form; nothing empties it again while the next row is typed.
    assert page.input_value("#ledger-trade_date") == ""
    assert page.input_value("#ledger-quantity") == ""
    assert page.is_disabled("#ledger-delete")

    fill_transaction(page, "2024-12-02", "BUY", "ZZZZQ", "1", "5")
    page.wait_for_timeout(500)
    assert page.input_value("#ledger-trade_date") == "2024-12-02"
    page.click("#ledger-add")
    page.wait_for_selector("#ledger-unknown-ticker", timeout=30_000)
    assert "ZZZZQ" in page.locator("#ledger-unknown-ticker").inner_text()
    page.locator("#ledger-grid .ledger-row").first.click()
    page.click("#ledger-delete")
    page.wait_for_selector("#ledger-delete-confirm", state="visible", timeout=15_000)
    page.click("#ledger-delete-confirm")
    page.wait_for_function(
        "document.querySelectorAll('#ledger-grid .ledger-row').length === 0", timeout=15_000
    )

    csv = (
        b"date,type,ticker,quantity,price,fees,currency,note\r\n"
        b"2024-12-02,BUY,MSFT,3,420,1,USD,first lot\r\n"
        b"2024-12-03,BUY,KO,10,62.5,0,USD,\r\n"
    )
    page.set_input_files(
        "#ledger-upload input[type=file]",
        files=[{"name": "ledger.csv", "mimeType": "text/csv", "buffer": csv}],
    )
    page.wait_for_selector("#ledger-preview-table", timeout=15_000)
    assert "2 transactions" in page.locator("#ledger-preview-summary").inner_text()
    assert page.locator("#ledger-grid .ledger-row").count() == 0  # nothing stored yet
    page.click("#ledger-import")
    page.wait_for_selector("#ledger-imported", timeout=15_000)
    page.wait_for_function(
        "document.querySelectorAll('#ledger-grid .ledger-row').length === 2", timeout=15_000
    )

    # Choosing the same file again previews it again: it would repeat the stored rows.
    page.set_input_files(
        "#ledger-upload input[type=file]",
        files=[{"name": "ledger.csv", "mimeType": "text/csv", "buffer": csv}],
    )
    page.wait_for_selector("#ledger-preview-table", timeout=15_000)
    assert "repeats transaction" in page.locator("#ledger-preview").inner_text()


def test_a_long_list_of_proposals_is_summarised_and_each_is_added_by_its_own_click(live_apps, page):
    app = live_apps.build()
    context = context_of(app)
    portfolio_id = create_portfolio(context, "Income").id
    add_transaction(context, portfolio_id, TransactionDraft("2023-01-03", "BUY", "KO", "10", "60"))
    # 22 monthly dividends (2023-02 to 2024-11) of 0.50 the ledger lacks, 10 x 0.50 each.
    ex_dates = [date(2023 + (m - 1) // 12, (m - 1) % 12 + 1, 15) for m in range(2, 24)]
    with context.db.session() as session:
        session.add_all(
            PriceBar(
                ticker="KO",
                date=day,
                open=60.0,
                high=60.0,
                low=60.0,
                close=60.0,
                volume=1.0,
                dividend=0.5,
                split_ratio=1.0,
            )
            for day in ex_dates
        )
    url = live_apps.serve(app)
    page.goto(f"{url}/portfolios/{portfolio_id}")
    page.wait_for_selector("#ledger-proposals-summary", timeout=15_000)
    assert "22 dividends, 110.00 USD in all: KO 22" in page.inner_text("#ledger-proposals-summary")
    assert page.locator(".ledger-proposal:visible").count() == 5

    page.click("#ledger-proposals-toggle")
    page.wait_for_function(
        "document.querySelectorAll('.ledger-proposal button').length === 22 && "
        "document.querySelector('#ledger-proposals-toggle').innerText.startsWith('Hide')",
        timeout=15_000,
    )
    # Click once the disclosure has finished opening (Bootstrap's "collapse show"): while it
    # grows, Playwright scrolls the clipping container to the button, which then slides under
    # the pointer, and a mouseup on the next button sends the click to the list instead.
    page.wait_for_selector("#ledger-proposals-more.collapse.show", timeout=15_000)
    page.locator(".ledger-proposal:visible button").nth(20).click()
    page.wait_for_selector("#ledger-grid .ledger-row >> nth=1", timeout=15_000)
    # The disclosure stays open with one proposal fewer; only the clicked one was added.
    page.wait_for_function(
        "document.querySelector('#ledger-proposals-toggle').innerText"
        " === 'Hide the other 16 proposals'",
        timeout=15_000,
    )
    assert page.locator(".ledger-proposal:visible").count() == 21
    dividends = [r for r in list_transactions(context, portfolio_id) if r.kind == "DIVIDEND"]
    assert [(r.trade_date, r.quantity, r.price) for r in dividends] == [(ex_dates[20], 10.0, 0.5)]


def test_dates_are_iso_the_symbol_check_is_worded_and_errors_mark_their_field(live_apps, page):
    app = live_apps.build()
    portfolio = create_portfolio(context_of(app), "Taxable")
    url = live_apps.serve(app)
    page.goto(f"{url}/portfolios/{portfolio.id}")
    page.wait_for_selector("#ledger-add", timeout=15_000)

    # A text box that shows and takes the date as ISO, like every other date in the app.
    assert page.get_attribute("#ledger-trade_date", "type") == "text"
    assert page.inner_text("#ledger-trade_date-label") == "Date (YYYY-MM-DD)"
    fill_transaction(page, "12/02/2024", "BUY", "AAPL", "10", "100")
    page.click("#ledger-add")
    page.wait_for_selector("#ledger-trade_date.is-invalid", timeout=15_000)
    assert page.is_visible("#ledger-trade_date-feedback")
    assert page.inner_text("#ledger-trade_date-feedback") != ""
    assert page.locator(".is-invalid").count() == 1  # only the field at fault

    fill_transaction(page, "2024-12-02", "BUY", "AAPL", "10", "100")
    page.click("#ledger-add")
    page.wait_for_selector("#ledger-grid .ledger-row", timeout=15_000)
    assert page.locator(".is-invalid").count() == 0  # fixed: the mark goes
    date_cell = page.locator("#ledger-grid .ledger-row [col-id='trade_date']").first
    assert date_cell.inner_text() == "2024-12-02"

    # Selling more than is held marks the quantity, next to the box, not only in the banner.
    fill_transaction(page, "2024-12-03", "SELL", "AAPL", "15", "110")
    page.click("#ledger-add")
    page.wait_for_selector("#ledger-quantity.is-invalid", timeout=15_000)
    assert "10" in page.inner_text("#ledger-quantity-feedback")
    quantity_box = page.locator("#ledger-quantity").bounding_box()
    feedback_box = page.locator("#ledger-quantity-feedback").bounding_box()
    assert 0 <= feedback_box["y"] - (quantity_box["y"] + quantity_box["height"]) < 10

    # Clearing the form (or choosing a row to edit) takes the marks away.
    page.click("#ledger-clear")
    page.wait_for_selector("#ledger-quantity.is-invalid", state="detached", timeout=10_000)
    assert page.locator(".is-invalid").count() == 0

    # The symbol column says in words what it checked.
    header = page.locator("#ledger-grid .ag-header-cell[col-id='ticker_status']")
    assert header.inner_text() == "Symbol check"
    page.wait_for_function(
        "document.querySelector(\"#ledger-grid .ledger-row [col-id='ticker_status']\")"
        ".innerText === 'prices cached'",
        timeout=30_000,
    )


def test_a_second_portfolio_with_the_same_name_is_refused_at_the_name_box(live_apps, page):
    url = live_apps.serve(live_apps.build())
    page.goto(f"{url}/portfolios")
    page.fill("#portfolios-new-name", "Taxable")
    page.click("#portfolios-create")
    page.wait_for_selector("#portfolios-done", timeout=15_000)
    page.fill("#portfolios-new-name", " taxable ")
    page.click("#portfolios-create")
    page.wait_for_selector("#portfolios-new-name.is-invalid", timeout=15_000)
    assert page.is_visible("#portfolios-new-name-feedback")
    assert page.inner_text("#portfolios-new-name-feedback") == (
        'A portfolio named "Taxable" exists already.'
    )
    assert page.locator("#portfolios-list .portfolio-name").all_inner_texts() == ["Taxable"]
