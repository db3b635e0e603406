"""Signing in and out in Chromium (AUTH=accounts): a signed-out visitor lands on the sign-in
page, a wrong password and the throttle say so, and a signed-in user sees their own portfolios
only, with names that hold markup shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from dashapp import context_of
from dashapp.accounts.users import FIRST_LOCK_SECONDS, FREE_FAILURES, create_user, find_user_named
from dashapp.services.ownership import Actor, acting_as
from dashapp.services.portfolios import create_portfolio
from dashapp.services.transactions import TransactionDraft, add_transaction
from tests.accounts.test_sign_in import PASSWORD

pytestmark = pytest.mark.browser

A_NAME = "Alice's secret fund"
MARKUP_NAME = "<b>x</b>"
B_NAMES = (MARKUP_NAME, "Bob's second")


@dataclass(frozen=True)
class Served:
    url: str
    a_portfolio: int


@pytest.fixture
def served(live_apps) -> Iterator[Served]:
    app = live_apps.build(auth="accounts")
    context = context_of(app)
    create_user(context.db, "admin", PASSWORD, admin=True)
    ids = {}
    for user, names in (("alice", (A_NAME,)), ("bob", B_NAMES)):
        create_user(context.db, user, PASSWORD)
        with acting_as(Actor(find_user_named(context.db, user).id)):
            for name in names:
                ids[name] = create_portfolio(context, name).id
                add_transaction(
                    context,
                    ids[name],
                    TransactionDraft(
                        trade_date="2024-12-02", kind="BUY", ticker="MSFT", quantity=1, price=400
                    ),
                )
    yield Served(live_apps.serve(app), ids[A_NAME])


def submit(page, username: str, password: str) -> int:
    """Fill and send the sign-in form; the status of the answer."""
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_response(
        lambda answer: (
            answer.url.split("?")[0].endswith("/signin") and answer.request.method == "POST"
        )
    ) as sent:
        page.click("button[type=submit]")
    page.wait_for_load_state()
    return sent.value.status


def test_a_signed_out_visitor_signs_in_and_sees_only_their_own_portfolios(served, page):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{served.url}/")
    assert page.url == f"{served.url}/signin?next=/"
    assert page.inner_text("h1") == "Sign in to StockTracker"

    assert submit(page, "bob", "not bob's password") == 401
    assert page.inner_text("[role=alert]") == "Wrong username or password."

    assert submit(page, "bob", PASSWORD) == 302
    page.wait_for_url(f"{served.url}/", timeout=15_000)
    page.wait_for_selector("#holdings-table .ag-row", timeout=20_000)
    assert "Signed in as bob" in page.inner_text("#account-menu")
    # The first of Bob's portfolios, its name as text: no <b> element made of it.
    header = page.inner_text("#dashboard-body")
    assert MARKUP_NAME in header
    assert page.locator("#page-content b").count() == 0
    page.click("#portfolio-select")
    offered = page.locator("[role=option]")
    offered.first.wait_for(timeout=10_000)
    assert sorted(offered.all_inner_texts()) == sorted(B_NAMES)
    assert A_NAME not in page.content()

    page.goto(f"{served.url}/portfolios")
    page.wait_for_selector("#portfolios-list .portfolio-name", timeout=15_000)
    listed = page.locator("#portfolios-list .portfolio-name").all_inner_texts()
    assert sorted(listed) == sorted(B_NAMES)
    # Alice's portfolio by its address: the page of a portfolio that does not exist.
    page.goto(f"{served.url}/portfolios/{served.a_portfolio}")
    page.wait_for_selector("#page-content .alert", timeout=15_000)
    assert "does not exist" in page.inner_text("#page-content")
    assert A_NAME not in page.content()
    assert dialogs == []

    page.click("#account-menu button[type=submit]")
    page.wait_for_url(f"{served.url}/signin", timeout=15_000)
    page.goto(f"{served.url}/portfolios")
    assert page.url == f"{served.url}/signin?next=/portfolios"


def test_after_five_wrong_passwords_the_page_says_when_to_try_again(served, page):
    page.goto(f"{served.url}/signin")
    for _ in range(FREE_FAILURES - 1):
        assert submit(page, "alice", "a wrong password") == 401
    assert submit(page, "alice", "a wrong password") == 429
    # The clock is frozen: the first wait is FIRST_LOCK_SECONDS, rounded up.
    assert f"Try again in {FIRST_LOCK_SECONDS + 1} s" in page.inner_text("[role=alert]")
    # The right password waits too.
    assert submit(page, "alice", PASSWORD) == 429
    assert "/signin" in page.url


def test_markup_in_the_next_address_stays_text_on_the_sign_in_page(served, page):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f'{served.url}/signin?next=/"><b id="injected">x</b><script>alert(1)</script>')
    assert page.locator("#injected").count() == 0
    assert page.locator("input[name=next]").get_attribute("value").startswith('/"><b')
    assert dialogs == []
    # Another site's address in `next` leads home instead.
    page.goto(f"{served.url}/signin?next=//evil.example/")
    assert submit(page, "alice", PASSWORD) == 302
    page.wait_for_url(f"{served.url}/", timeout=15_000)
