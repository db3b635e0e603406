"""Signing in and out over HTTP (AUTH=accounts): what a wrong password, a throttled account, a
`next` pointing elsewhere and a sign-out from another site each get, and the session cookie's
flags. The helpers here sign a test client in as a browser does (the form's token, our Origin)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import quote

import pytest
from dash import Dash
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dashapp import context_of, create_app
from dashapp.accounts.users import FIRST_LOCK_SECONDS, FREE_FAILURES, create_user
from dashapp.clock import FrozenClock
from tests.conftest import make_settings

# The test client's own origin: what a browser on one of our pages sends as Origin.
OWN_ORIGIN = "http://localhost"
PASSWORD = "correct horse battery staple"
SESSION_COOKIE = "stocktracker_session"
TOKEN_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(
    client: FlaskClient, username: str, password: str = PASSWORD, next_path: str = "/"
) -> TestResponse:
    """Open the sign-in page and submit its form, token and all, as a browser would."""
    page = client.get(f"/signin?next={quote(next_path, safe='')}")
    assert page.status_code == 200, page.text
    token = TOKEN_INPUT.search(page.text).group(1)
    return client.post(
        "/signin",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        headers={"Origin": OWN_ORIGIN},
    )


def signed_in_client(app: Dash, username: str, password: str = PASSWORD) -> FlaskClient:
    client = app.server.test_client()
    answer = sign_in(client, username, password)
    assert answer.status_code == 302, answer.text
    return client


def session_token(client: FlaskClient) -> str:
    """The CSRF token of the client's session, as the pages it is shown carry it."""
    assert client.get("/_dash-layout", headers={"Referer": f"{OWN_ORIGIN}/"}).status_code == 200
    with client.session_transaction() as session:
        return session["csrf_token"]


@pytest.fixture
def accounts_app(tmp_path, sqlite_url, clock) -> Iterator[Dash]:
    application = create_app(make_settings(tmp_path, sqlite_url, auth="accounts"), clock=clock)
    db = context_of(application).db
    create_user(db, "admin", PASSWORD, admin=True)
    create_user(db, "alice", PASSWORD)
    yield application
    context_of(application).close()


def test_a_wrong_password_and_an_unknown_user_get_the_same_page(accounts_app):
    client = accounts_app.server.test_client()
    wrong = sign_in(client, "alice", "not the password at all")
    unknown = sign_in(client, "nobody-here", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password." in wrong.text
    # Nothing tells the two apart but the token in the form.
    assert TOKEN_INPUT.sub("", wrong.text) == TOKEN_INPUT.sub("", unknown.text)
    assert client.get("/api/portfolios").status_code == 401


def test_after_five_failures_the_page_says_when_to_try_again(accounts_app, clock: FrozenClock):
    client = accounts_app.server.test_client()
    for _ in range(FREE_FAILURES - 1):
        assert sign_in(client, "alice", "wrong password here").status_code == 401
    locked = sign_in(client, "alice", "wrong password here")
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == str(FIRST_LOCK_SECONDS + 1)
    assert f"Try again in {FIRST_LOCK_SECONDS + 1} s" in locked.text
    # The right password is not even checked while the wait lasts...
    still = sign_in(client, "alice")
    assert still.status_code == 429 and "Try again in" in still.text
    assert client.get("/api/portfolios").status_code == 401
    # ...and works once it is over.
    clock.advance(timedelta(seconds=FIRST_LOCK_SECONDS + 1))
    assert sign_in(client, "alice").status_code == 302
    assert client.get("/api/portfolios").status_code == 200


def test_the_throttle_does_not_tell_an_existing_user_from_an_unknown_one(accounts_app):
    client = accounts_app.server.test_client()
    answers = {}
    for name in ("alice", "nobody-here"):
        for _ in range(FREE_FAILURES):
            last = sign_in(client, name, "not the password at all")
        answers[name] = (last.status_code, TOKEN_INPUT.sub("", last.text))
    assert answers["alice"] == answers["nobody-here"]


@pytest.mark.parametrize(
    ("asked", "lands_on"),
    [
        ("/portfolios", "/portfolios"),
        ("/reports?x=1", "/reports?x=1"),
        ("//evil.example", "/"),
        ("//evil.example/path", "/"),
        ("https://evil.example", "/"),
        ("https://evil.example/portfolios", "/"),
        ("/\\evil.example", "/"),
        # Browsers drop tabs and newlines from addresses: these are //evil.example to them.
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
    ],
)
def test_next_only_leads_within_the_site(accounts_app, asked, lands_on):
    client = accounts_app.server.test_client()
    answer = sign_in(client, "alice", next_path=asked)
    assert answer.status_code == 302
    assert answer.headers["Location"] == lands_on


def test_a_page_asked_for_signed_out_comes_back_after_signing_in(accounts_app):
    client = accounts_app.server.test_client()
    sent = client.get("/portfolios?tab=2")
    assert sent.status_code == 302
    assert sent.headers["Location"] == "/signin?next=/portfolios%3Ftab%3D2"
    form = client.get(sent.headers["Location"])
    assert 'name="next" value="/portfolios?tab=2"' in form.text
    assert sign_in(client, "alice", next_path="/portfolios?tab=2").headers["Location"] == (
        "/portfolios?tab=2"
    )


def test_the_session_cookie_is_http_only_lax_and_not_secure_over_http(accounts_app):
    client = accounts_app.server.test_client()
    answer = sign_in(client, "alice")
    [header] = [
        value
        for value in answer.headers.get_all("Set-Cookie")
        if value.startswith(f"{SESSION_COOKIE}=")
    ]
    morsel = SimpleCookie(header)[SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert not morsel["secure"]
    # Over HTTPS (a proxy in front) the same cookie is Secure.
    secure_client = accounts_app.server.test_client()
    page = secure_client.get("/signin", base_url="https://localhost")
    token = TOKEN_INPUT.search(page.text).group(1)
    over_https = secure_client.post(
        "/signin",
        base_url="https://localhost",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token, "next": "/"},
        headers={"Origin": "https://localhost"},
    )
    assert over_https.status_code == 302
    [secure_header] = [
        value
        for value in over_https.headers.get_all("Set-Cookie")
        if value.startswith(f"{SESSION_COOKIE}=")
    ]
    assert SimpleCookie(secure_header)[SESSION_COOKIE]["secure"] is True


def test_signing_out_takes_a_post_from_our_own_pages(accounts_app):
    client = signed_in_client(accounts_app, "alice")
    token = session_token(client)
    # A link (GET) does not sign out: it is no address of ours.
    assert client.get("/signout").status_code == 404
    assert client.get("/api/portfolios").status_code == 200
    # Another site's form, even one that somehow had the token, is refused.
    elsewhere = client.post(
        "/signout", data={"csrf_token": token}, headers={"Origin": "http://127.0.0.1:9"}
    )
    assert elsewhere.status_code == 403
    assert "another site" in elsewhere.get_json()["error"]
    # Our own page's form without its token is refused too.
    tokenless = client.post("/signout", data={"go": "1"}, headers={"Origin": OWN_ORIGIN})
    assert tokenless.status_code == 403
    assert client.get("/api/portfolios").status_code == 200
    # The sign-out button of our pages: same origin, the session's token.
    out = client.post("/signout", data={"csrf_token": token}, headers={"Origin": OWN_ORIGIN})
    assert out.status_code == 302 and out.headers["Location"] == "/signin"
    assert client.get("/api/portfolios").status_code == 401
    assert client.get("/").headers["Location"] == "/signin?next=/"


def test_signing_out_ends_every_copy_of_the_session(accounts_app):
    client = signed_in_client(accounts_app, "alice")
    token = session_token(client)
    copied = client.get_cookie(SESSION_COOKIE).value
    out = client.post("/signout", data={"csrf_token": token}, headers={"Origin": OWN_ORIGIN})
    assert out.status_code == 302
    replayed = accounts_app.server.test_client()
    replayed.set_cookie(SESSION_COOKIE, copied)
    assert replayed.get("/api/portfolios").status_code == 401


def test_a_sign_in_form_from_another_site_is_refused(accounts_app):
    """Login CSRF: another site must not sign the browser into the attacker's account."""
    client = accounts_app.server.test_client()
    page = client.get("/signin")
    token = TOKEN_INPUT.search(page.text).group(1)
    forged = client.post(
        "/signin",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token, "next": "/"},
        headers={"Origin": "http://127.0.0.1:9"},
    )
    assert forged.status_code == 403
    assert client.get("/api/portfolios").status_code == 401
