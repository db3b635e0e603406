"""The JSON API under AUTH=accounts as a script with a personal token meets it: 401 without
one, read or write scope, only its own user's portfolios, and /metrics for administrators."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from dash import Dash
from flask.testing import FlaskClient

from dashapp import context_of, create_app
from dashapp.accounts.tokens import create_token, list_tokens, revoke_token
from dashapp.accounts.users import create_user
from dashapp.db.models import Portfolio
from dashapp.services.ownership import Actor, acting_as
from dashapp.services.portfolios import create_portfolio
from tests.conftest import make_settings

METRICS_TOKEN = "scrape-this-please-0123456789"


@dataclass(frozen=True)
class Team:
    """Alice (admin) and Bob, each with one portfolio and tokens of both scopes."""

    alice_id: int
    bob_id: int
    alice_portfolio: int
    bob_portfolio: int
    alice_read: str
    alice_write: str
    bob_read: str
    bob_write: str


@pytest.fixture
def app(tmp_path, database_url, clock) -> Iterator[Dash]:
    settings = make_settings(tmp_path, database_url, auth="accounts", metrics_token=METRICS_TOKEN)
    application = create_app(settings, clock=clock)
    yield application
    context_of(application).close()


@pytest.fixture
def team(app, clock) -> Team:
    ctx = context_of(app)
    alice = create_user(ctx.db, "alice", "alice's long password")
    bob = create_user(ctx.db, "bob", "bob's long password")
    with acting_as(Actor(alice.id)):
        alice_portfolio = create_portfolio(ctx, "Alice growth").id
    with acting_as(Actor(bob.id)):
        bob_portfolio = create_portfolio(ctx, "Bob income").id
    tokens = {
        (name, scope): create_token(ctx.db, name, scope, clock.now())
        for name in ("alice", "bob")
        for scope in ("read", "write")
    }
    return Team(
        alice.id,
        bob.id,
        alice_portfolio,
        bob_portfolio,
        tokens["alice", "read"],
        tokens["alice", "write"],
        tokens["bob", "read"],
        tokens["bob", "write"],
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def owners(app: Dash) -> dict[str, int]:
    with context_of(app).db.session() as session:
        return {p.name: p.user_id for p in session.query(Portfolio)}


def assert_unauthorized(response) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.is_json and response.get_json()["error"]


def test_without_credentials_the_api_answers_401_as_json(app, client: FlaskClient, team):
    assert_unauthorized(client.get("/api/portfolios"))
    assert_unauthorized(client.get(f"/api/portfolios/{team.alice_portfolio}"))
    assert_unauthorized(client.post("/api/portfolios", json={"name": "Mine now"}))
    assert_unauthorized(client.delete(f"/api/portfolios/{team.alice_portfolio}"))
    assert owners(app) == {"Alice growth": team.alice_id, "Bob income": team.bob_id}


def test_a_read_token_lists_only_its_users_portfolios(client, team):
    response = client.get("/api/portfolios", headers=bearer(team.alice_read))
    assert response.status_code == 200
    assert [p["name"] for p in response.get_json()] == ["Alice growth"]
    response = client.get("/api/portfolios", headers=bearer(team.bob_read))
    assert [p["name"] for p in response.get_json()] == ["Bob income"]


def test_a_read_token_cannot_change_anything(app, client, team):
    response = client.post(
        "/api/portfolios", json={"name": "Sneaky"}, headers=bearer(team.alice_read)
    )
    assert response.status_code == 403
    assert "read" in response.get_json()["error"]
    deleted = client.delete(
        f"/api/portfolios/{team.alice_portfolio}", headers=bearer(team.alice_read)
    )
    assert deleted.status_code == 403
    assert owners(app) == {"Alice growth": team.alice_id, "Bob income": team.bob_id}


def test_a_write_token_creates_a_portfolio_that_belongs_to_its_user(app, client, team):
    response = client.post(
        "/api/portfolios", json={"name": "Bob's new"}, headers=bearer(team.bob_write)
    )
    assert response.status_code == 201
    created = response.get_json()
    assert owners(app)["Bob's new"] == team.bob_id
    assert (
        client.get(f"/api/portfolios/{created['id']}", headers=bearer(team.bob_read)).status_code
        == 200
    )
    assert (
        client.get(f"/api/portfolios/{created['id']}", headers=bearer(team.alice_read)).status_code
        == 404
    )


def test_a_revoked_or_made_up_token_is_refused(app, client, clock, team):
    db = context_of(app).db
    [alice_read] = [t for t in list_tokens(db, "alice") if t.prefix == team.alice_read[:10]]
    revoke_token(db, alice_read.id, clock.now())

    assert_unauthorized(client.get("/api/portfolios", headers=bearer(team.alice_read)))
    assert_unauthorized(client.get("/api/portfolios", headers=bearer("st_" + "A" * 43)))
    assert_unauthorized(client.get("/api/portfolios", headers=bearer("not-even-ours")))
    # Alice's other token still works.
    assert client.get("/api/portfolios", headers=bearer(team.alice_write)).status_code == 200


def test_another_users_portfolio_answers_exactly_as_a_missing_one(client, team):
    missing = team.bob_portfolio + 1000
    for path in ("", "/transactions", "/holdings", "/export.csv"):
        theirs = client.get(
            f"/api/portfolios/{team.alice_portfolio}{path}", headers=bearer(team.bob_read)
        )
        absent = client.get(f"/api/portfolios/{missing}{path}", headers=bearer(team.bob_read))
        assert (theirs.status_code, absent.status_code) == (404, 404), path
        assert theirs.get_data(as_text=True).replace(
            str(team.alice_portfolio), "<id>"
        ) == absent.get_data(as_text=True).replace(str(missing), "<id>"), path
        assert set(theirs.headers.keys()) == set(absent.headers.keys()), path
        assert theirs.content_type == absent.content_type


def test_another_users_portfolio_cannot_be_renamed_or_deleted(app, client, team):
    renamed = client.patch(
        f"/api/portfolios/{team.alice_portfolio}",
        json={"name": "Bob's now"},
        headers=bearer(team.bob_write),
    )
    deleted = client.delete(
        f"/api/portfolios/{team.alice_portfolio}", headers=bearer(team.bob_write)
    )
    assert (renamed.status_code, deleted.status_code) == (404, 404)
    assert owners(app) == {"Alice growth": team.alice_id, "Bob income": team.bob_id}


def test_metrics_need_an_admin_token_or_the_scrape_token(client, team):
    assert_unauthorized(client.get("/metrics"))
    refused = client.get("/metrics", headers=bearer(team.bob_read))
    assert refused.status_code == 403
    assert "administrators" in refused.get_json()["error"]
    assert client.get("/metrics", headers=bearer(team.alice_read)).status_code == 200
    scraped = client.get("/metrics", headers=bearer(METRICS_TOKEN))
    assert scraped.status_code == 200
    assert "# TYPE" in scraped.get_data(as_text=True)
