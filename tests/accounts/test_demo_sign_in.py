"""`--demo` signs its demo user in by itself, in either AUTH mode."""

from __future__ import annotations

import pytest

from dashapp import context_of, create_app
from dashapp.services.demo import seed_demo_portfolio
from tests.conftest import make_settings


@pytest.mark.parametrize("auth", ["local", "accounts"])
def test_the_demo_opens_on_its_portfolio_without_a_sign_in(tmp_path, sqlite_url, clock, auth):
    app = create_app(make_settings(tmp_path, sqlite_url, auth=auth, demo=True), clock=clock)
    try:
        seed_demo_portfolio(context_of(app))
        client = app.server.test_client()
        page = client.get("/")
        assert page.status_code == 200
        [portfolio] = client.get("/api/portfolios").get_json()
        assert portfolio["name"] == "Demo portfolio"
    finally:
        context_of(app).close()


def test_without_the_demo_accounts_mode_asks_who_you_are(tmp_path, sqlite_url, clock):
    app = create_app(make_settings(tmp_path, sqlite_url, auth="accounts"), clock=clock)
    try:
        seed_demo_portfolio(context_of(app))
        client = app.server.test_client()
        assert client.get("/").headers["Location"].startswith("/signin")
        assert client.get("/api/portfolios").status_code == 401
    finally:
        context_of(app).close()
