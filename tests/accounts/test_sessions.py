"""A session is only as good as the password and the sign-out it was made under."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dash import Dash

from dashapp import context_of, create_app
from dashapp.accounts.users import create_user, set_password
from tests.accounts.test_sign_in import OWN_ORIGIN, PASSWORD, session_token, signed_in_client
from tests.conftest import make_settings


@pytest.fixture
def two_users_app(tmp_path, sqlite_url, clock) -> Iterator[Dash]:
    application = create_app(make_settings(tmp_path, sqlite_url, auth="accounts"), clock=clock)
    create_user(context_of(application).db, "admin", PASSWORD, admin=True)
    create_user(context_of(application).db, "alice", PASSWORD)
    yield application
    context_of(application).close()


def test_a_new_password_ends_the_sessions_made_with_the_old_one(two_users_app):
    client = signed_in_client(two_users_app, "alice")
    assert client.get("/api/portfolios").status_code == 200
    set_password(context_of(two_users_app).db, "alice", "a brand new passphrase")
    assert client.get("/api/portfolios").status_code == 401
    assert client.get("/").headers["Location"].startswith("/signin")


def test_another_users_sign_out_leaves_a_session_alone(two_users_app):
    alice = signed_in_client(two_users_app, "alice")
    admin = signed_in_client(two_users_app, "admin")
    signed_out = admin.post(
        "/signout", data={"csrf_token": session_token(admin)}, headers={"Origin": OWN_ORIGIN}
    )
    assert signed_out.status_code == 302
    assert admin.get("/api/portfolios").status_code == 401
    assert alice.get("/api/portfolios").status_code == 200
