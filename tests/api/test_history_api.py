"""A portfolio's history as its clients read it: the JSON API under AUTH=accounts (newest first,
paginated, another user's portfolio a 404 like a missing one) and the transactions page's card."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from dash import Dash
from flask.testing import FlaskClient

from dashapp import context_of, create_app
from dashapp.accounts.tokens import create_token
from dashapp.accounts.users import create_user
from dashapp.services.ownership import Actor, acting_as
from dashapp.services.portfolios import create_portfolio
from dashapp.services.transactions import TransactionDraft, add_transaction
from dashapp.ui.transactions import layout
from dashapp.ui.transactions.history import CHANGE_CLASS, HISTORY_ROWS
from tests.conftest import make_settings

MISSING = 799_999
DEPOSIT = {"trade_date": "2024-01-02", "kind": "DEPOSIT", "quantity": 1, "price": 1000}


@dataclass(frozen=True)
class Team:
    """Alice and Bob with write tokens; Alice has a portfolio, made through the API."""

    alice: dict[str, str]
    bob: dict[str, str]
    portfolio_id: int


@pytest.fixture
def app(tmp_path, database_url, clock) -> Iterator[Dash]:
    application = create_app(make_settings(tmp_path, database_url, auth="accounts"), clock=clock)
    yield application
    context_of(application).close()


@pytest.fixture
def team(app, client, clock) -> Team:
    db = context_of(app).db
    headers = {}
    for name in ("alice", "bob"):
        create_user(db, name, f"{name}'s long password")
        token = create_token(db, name, "write", clock.now())
        headers[name] = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/portfolios", json={"name": "Growth"}, headers=headers["alice"])
    assert made.status_code == 201
    return Team(headers["alice"], headers["bob"], made.get_json()["id"])


def history_of(client: FlaskClient, team: Team, query: str = "") -> dict:
    answer = client.get(f"/api/portfolios/{team.portfolio_id}/history{query}", headers=team.alice)
    assert answer.status_code == 200, answer.text
    return answer.get_json()


def test_changes_are_listed_newest_first_with_who_when_and_what(client, team):
    added = client.post(
        f"/api/portfolios/{team.portfolio_id}/transactions",
        json={**DEPOSIT, "note": "<b>opening</b>"},
        headers=team.alice,
    )
    assert added.status_code == 201
    answer = history_of(client, team)
    assert [(c["user"], c["at"], c["action"], c["summary"]) for c in answer["changes"]] == [
        ("alice", "2024-12-04T22:00:00+00:00", "add", "added DEPOSIT 1,000.00 on 2024-01-02"),
        ("alice", "2024-12-04T22:00:00+00:00", "create", 'created the portfolio "Growth" in USD'),
    ]
    assert answer["changes"][0]["detail"]["transaction"]["note"] == "<b>opening</b>"
    assert (answer["older"], answer["next"]) == (None, None)


def test_a_refused_change_adds_nothing_to_the_history(client, team):
    refused = client.post(
        f"/api/portfolios/{team.portfolio_id}/transactions",
        json={"trade_date": "2024-01-02", "kind": "SELL", "ticker": "AAPL", "quantity": 1},
        headers=team.alice,
    )
    assert refused.status_code == 400
    assert [c["action"] for c in history_of(client, team)["changes"]] == ["create"]


def test_another_users_history_answers_exactly_as_a_missing_one(client, team):
    mine = client.get(f"/api/portfolios/{team.portfolio_id}/history", headers=team.bob)
    missing = client.get(f"/api/portfolios/{MISSING}/history", headers=team.bob)
    assert (mine.status_code, missing.status_code) == (404, 404)
    assert mine.get_json() == {"error": f"portfolio {team.portfolio_id} does not exist"}
    assert missing.get_json() == {"error": f"portfolio {MISSING} does not exist"}
    assert "Growth" not in mine.text


def test_without_credentials_the_history_is_401(client, team):
    answer = client.get(f"/api/portfolios/{team.portfolio_id}/history")
    assert answer.status_code == 401
    assert "Growth" not in answer.text


def test_pages_follow_each_other_to_the_first_change(client, team):
    for amount in range(1, 6):
        client.post(
            f"/api/portfolios/{team.portfolio_id}/transactions",
            json={**DEPOSIT, "price": amount},
            headers=team.alice,
        )
    every = [c["id"] for c in history_of(client, team)["changes"]]
    assert len(every) == 6 and every == sorted(every, reverse=True)
    pages, query = [], "?limit=2"
    while query is not None:
        answer = history_of(client, team, query)
        pages.append([c["id"] for c in answer["changes"]])
        following = answer["next"]
        query = None if following is None else following.split("/history", 1)[1]
    assert pages == [every[0:2], every[2:4], every[4:6]]
    assert history_of(client, team, f"?before={every[3]}")["changes"][0]["id"] == every[4]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=%D9%A5", "limit"),  # an Arabic-Indic five: digits are ASCII here
        ("?before=-1", "before"),
        ("?before=0", "before"),
    ],
)
def test_a_malformed_limit_or_before_is_a_400_naming_it(client, team, query, field):
    answer = client.get(f"/api/portfolios/{team.portfolio_id}/history{query}", headers=team.alice)
    assert answer.status_code == 400
    assert answer.get_json()["field"] == field


def test_the_largest_page_is_500(client, team):
    assert len(history_of(client, team, "?limit=500")["changes"]) == 1


def test_the_transactions_page_lists_the_history(app, clock):
    context = context_of(app)
    alice = create_user(context.db, "alice", "alice's long password")
    with acting_as(Actor(alice.id)):
        portfolio_id = create_portfolio(context, "<i>Growth</i>").id
        add_transaction(
            context,
            portfolio_id,
            TransactionDraft("2024-01-02", "BUY", "AAPL", "10", "150", "", "", "x"),
        )
        drawn = layout(context, portfolio_id)
    rows = find(drawn, HISTORY_ROWS).children
    assert [[cell.children for cell in row.children] for row in rows] == [
        ["2024-12-04 22:00 UTC", "alice", "added BUY 10 AAPL @ 150.00 on 2024-01-02"],
        ["2024-12-04 22:00 UTC", "alice", 'created the portfolio "<i>Growth</i>" in USD'],
    ]
    # The typed name is a cell's plain text (above), which Dash escapes: never markup.
    assert all(row.className == CHANGE_CLASS for row in rows)


def find(component, component_id: str):
    """The component of `component_id` in a layout tree."""
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found = find(child, component_id)
            if found is not None:
                return found
    return None
