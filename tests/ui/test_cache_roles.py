"""Roles on the cache page (AUTH=accounts), through Dash's HTTP endpoint as a browser, or a
hand-made POST, calls it: an admin warms, evicts and refreshes anything; another user sees the
page read-only and may refresh only what they hold or benchmark. The refusals happen on the
server, so a callback POST that no button of theirs could send changes nothing either."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from dash import Dash
from sqlalchemy import func, select

from dashapp import context_of, create_app
from dashapp.accounts.users import create_user
from dashapp.db.models import FetchLog, JobRun
from dashapp.services.ledger_fields import TransactionDraft
from dashapp.services.ownership import Actor, acting_as
from dashapp.services.portfolios import create_portfolio
from dashapp.services.transactions import add_transaction
from dashapp.services.upkeep import is_stored, refresh_ticker
from dashapp.ui.cache import ids
from dashapp.ui.cache.layout import layout
from dashapp.ui.cache.roles import READ_ONLY_NOTE
from tests.conftest import make_settings
from tests.dash_client import DashClient, _outputs, _value

PASSWORD = "a long enough password for the tests"
# The test client's own origin, which a browser on our pages sends.
OWN_ORIGIN = "http://localhost"
TOKEN_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in(app: Dash, username: str) -> DashClient:
    """A Dash client whose requests carry `username`'s session, signed in through the form."""
    client = DashClient(app)
    http = app.server.test_client()
    form = http.get("/signin")
    token = TOKEN_INPUT.search(form.get_data(as_text=True)).group(1)
    answer = http.post(
        "/signin",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        headers={"Origin": OWN_ORIGIN},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    client.http = http
    return client


def run_in_background(
    client: DashClient,
    output: str,
    inputs: dict[str, Any],
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start a background callback over HTTP and poll it, as the renderer does, until it
    answers; returns its outputs by component id."""
    key = client.callback_key(output, inputs)
    spec = client.app.callback_map[key]
    body = {
        "output": key,
        "outputs": _outputs(key),
        "inputs": [_value(item, inputs) for item in spec["inputs"]],
        "state": [_value(item, state or {}) for item in spec.get("state", [])],
        "changedPropIds": list(inputs)[:1],
    }
    started = client.http.post("/_dash-update-component", json=body, headers=_origin())
    assert started.status_code == 200, started.get_data(as_text=True)
    job = started.get_json()
    poll = f"/_dash-update-component?cacheKey={job['cacheKey']}&job={job['job']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reply = client.http.post(poll, json=body, headers=_origin())
        answer = (reply.get_json() or {}).get("response") if reply.status_code == 200 else None
        if answer is not None:
            return answer
        time.sleep(0.1)
    raise AssertionError("the background callback never answered")


def _origin() -> dict[str, str]:
    return {"Origin": OWN_ORIGIN}


def message(answer: dict[str, Any]) -> str:
    """The cache page's message line: the alert's text."""
    return answer[ids.MESSAGE]["children"]["props"]["children"]


def fetches(app: Dash) -> int:
    with context_of(app).db.session() as session:
        return session.scalar(select(func.count()).select_from(FetchLog))


@dataclass(frozen=True)
class Team:
    app: Dash
    admin: DashClient
    alice: DashClient
    alice_id: int


@pytest.fixture
def team(tmp_path, database_url, clock) -> Iterator[Team]:
    """An admin, and Alice, who holds AAPL and benchmarks SPY (her dashboard's default); MSFT
    is in the cache, held by nobody."""
    app = create_app(make_settings(tmp_path, database_url, auth="accounts"), clock=clock)
    ctx = context_of(app)
    create_user(ctx.db, "root", PASSWORD, admin=True)
    alice = create_user(ctx.db, "alice", PASSWORD)
    with acting_as(Actor(alice.id)):
        portfolio = create_portfolio(ctx, "Alice's").id
        add_transaction(ctx, portfolio, TransactionDraft("2024-03-01", "BUY", "AAPL", "3", "170"))
    refresh_ticker(ctx, "MSFT")
    yield Team(app, signed_in(app, "root"), signed_in(app, "alice"), alice.id)
    ctx.close()


def evict(client: DashClient, ticker: str) -> dict[str, Any]:
    return client.call(
        f"{ids.EVICT_MODAL}.is_open",
        {f"{ids.EVICT_CONFIRM}.n_clicks": 1},
        {f"{ids.TICKER}.value": ticker, f"{ids.VERSION}.data": 0},
    )


def refresh(client: DashClient, ticker: str) -> dict[str, Any]:
    return run_in_background(
        client,
        f"{ids.MESSAGE}.children",
        {f"{ids.REFRESH}.n_clicks": 1},
        {f"{ids.TICKER}.value": ticker, f"{ids.VERSION}.data": 0},
    )


def test_a_forged_evict_from_a_user_who_is_not_admin_changes_nothing_and_says_why(team):
    ctx = context_of(team.app)
    refused = evict(team.alice, "MSFT")
    assert message(refused) == "Only an administrator may evict a ticker: nothing was changed."
    assert is_stored(ctx, "MSFT")
    # Asking first is refused the same way: no dialog opens.
    asked = team.alice.call(
        f"{ids.EVICT_MODAL}.is_open",
        {f"{ids.EVICT}.n_clicks": 1, f"{ids.EVICT_CANCEL}.n_clicks": None},
        {f"{ids.TICKER}.value": "MSFT"},
    )
    assert asked[ids.EVICT_MODAL]["is_open"] is False
    # The same callback evicts for an admin.
    assert message(evict(team.admin, "MSFT")) == "Evicted MSFT."
    assert not is_stored(ctx, "MSFT")


def test_a_warm_or_its_cancel_from_a_user_who_is_not_admin_starts_and_stops_nothing(team):
    with context_of(team.app).db.session() as session:
        runs_before = session.scalar(select(func.count()).select_from(JobRun))
    fetched_before = fetches(team.app)
    warm = run_in_background(
        team.alice,
        f"{ids.MESSAGE}.children",
        {f"{ids.WARM}.n_clicks": 1},
        {f"{ids.VERSION}.data": 0},
    )
    assert message(warm) == "Only an administrator may warm the cache: nothing was changed."
    with context_of(team.app).db.session() as session:
        assert session.scalar(select(func.count()).select_from(JobRun)) == runs_before
    assert fetches(team.app) == fetched_before
    cancel = team.alice.call(f"{ids.MESSAGE}.children", {f"{ids.WARM_CANCEL}.n_clicks": 1})
    assert message(cancel) == "Only an administrator may cancel a warm: nothing was changed."


def test_a_user_refreshes_what_they_hold_or_benchmark_and_nothing_else(team):
    before = fetches(team.app)
    refused = refresh(team.alice, "nvda")
    assert message(refused) == (
        "You may refresh only tickers you hold or benchmark, and NVDA is neither:"
        " nothing was fetched."
    )
    assert fetches(team.app) == before
    assert message(refresh(team.alice, "AAPL")).startswith("Refreshed AAPL")
    assert message(refresh(team.alice, "SPY")).startswith("Refreshed SPY")
    assert fetches(team.app) > before
    # An admin refreshes anything.
    assert message(refresh(team.admin, "NVDA")).startswith("Refreshed NVDA")


def test_the_page_is_read_only_for_a_user_who_is_not_admin(team):
    ctx = context_of(team.app)
    with acting_as(Actor(team.alice_id)):
        page = components(layout(ctx))
    assert page[ids.READ_ONLY_NOTE].children == READ_ONLY_NOTE
    assert page[ids.EVICT].disabled and page[ids.WARM].disabled
    assert not getattr(page[ids.REFRESH], "disabled", False)
    with acting_as(Actor(1, is_admin=True)):
        admin_page = components(layout(ctx))
    assert ids.READ_ONLY_NOTE not in admin_page
    assert not admin_page[ids.EVICT].disabled and not admin_page[ids.WARM].disabled


def components(page: Any) -> dict[str, Any]:
    """Every component of a layout that has an id, by id."""
    return {c.id: c for c in page._traverse() if isinstance(getattr(c, "id", None), str)}
