"""Every answer carries the security headers, whatever answered it (a page, an asset, the API,
a Dash callback, an error, the sign-in page); the CSP allows exactly the inline scripts Dash
writes; HSTS only over HTTPS; and `python app.py` names no Werkzeug or Python version."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dash import Dash
from flask.testing import FlaskClient

from dashapp import context_of, create_app
from dashapp.accounts.users import create_user
from dashapp.services.demo import seed_demo_portfolio
from dashapp.services.portfolios import create_portfolio
from tests.conftest import make_settings
from tests.dash_client import DashClient
from tests.servers import ROOT, free_port, wait_for_portfolios

EXPECTED_POLICY = {
    "default-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
INLINE_SCRIPT = re.compile(r"<script(?P<attributes>[^>]*)>(?P<body>.*?)</script>", re.DOTALL)


def policy_of(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def assert_security_headers(answer) -> None:
    headers = answer.headers
    policy = policy_of(headers["Content-Security-Policy"])
    assert {name: policy[name] for name in EXPECTED_POLICY} == EXPECTED_POLICY
    assert policy["script-src"][0] == "'self'"
    assert all(source.startswith("'sha256-") for source in policy["script-src"][1:])
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers


def inline_script_hashes(page: str) -> list[str]:
    """The CSP hash of every inline script of `page` a browser runs: not the JSON config, nor
    the Internet Explorer warning inside a conditional comment."""
    page = HTML_COMMENT.sub("", page)
    return [
        "'sha256-"
        + base64.b64encode(hashlib.sha256(match.group("body").encode()).digest()).decode()
        + "'"
        for match in INLINE_SCRIPT.finditer(page)
        if "src=" not in match.group("attributes")
        and "application/json" not in match.group("attributes")
    ]


def build(tmp_path: Path, **overrides: object) -> Dash:
    return create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'test.db'}", **overrides))


@pytest.fixture(scope="module")
def local_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    app = build(tmp_path_factory.mktemp("local"))
    yield app
    context_of(app).close()


@pytest.fixture(scope="module")
def accounts_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    app = build(tmp_path_factory.mktemp("accounts"), auth="accounts")
    yield app
    context_of(app).close()


@pytest.fixture
def client(local_app: Dash) -> FlaskClient:
    return local_app.server.test_client()


def component_script(client: FlaskClient) -> str:
    """The address of one of Dash's own scripts, as the index page names it."""
    page = client.get("/").get_data(as_text=True)
    return re.search(r'src="(/_dash-component-suites/[^"]+\.js[^"]*)"', page).group(1)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/compare", 200),
        ("GET", "/portfolios/1/reports", 200),
        ("GET", "/assets/pages.css", 200),
        ("GET", "/_dash-layout", 200),
        ("GET", "/api/portfolios", 200),
        ("GET", "/api/docs", 200),
        ("GET", "/api/openapi.json", 200),
        ("GET", "/healthz", 200),
        ("GET", "/signin", 302),  # AUTH=local: nobody signs in, on to the page
        ("GET", "/no/such/page", 404),
        ("GET", "/api/portfolios/999999", 404),
        ("GET", "/api/nothing", 404),
        ("DELETE", "/api/portfolios", 405),
        ("POST", "/_dash-update-component", 400),  # not a callback of this app
        ("POST", "/api/portfolios", 413),
    ],
)
def test_every_kind_of_answer_carries_the_headers(client, method, path, status):
    body = b"{}" if status == 400 else b"x" * 3_000_000 if status == 413 else None
    with client.open(path, method=method, data=body, content_type="application/json") as answer:
        assert answer.status_code == status, answer.get_data(as_text=True)[:300]
        assert_security_headers(answer)


def test_dash_component_scripts_carry_the_headers(client):
    with client.get(component_script(client)) as answer:
        assert answer.status_code == 200
        assert answer.mimetype.endswith("javascript")
        assert_security_headers(answer)


def test_a_callback_answer_carries_the_headers(local_app, client):
    portfolio = create_portfolio(context_of(local_app), "Taxable")
    key = DashClient(local_app).callback_key(
        "ledger-preview.children", {"ledger-upload.contents": None}
    )
    spec = local_app.callback_map[key]
    values = {"ledger-portfolio.data": portfolio.id, "ledger-upload.filename": "a.csv"}
    payload = {
        "output": key,
        "outputs": [
            dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
            for part in key.strip(".").split("...")
        ],
        "inputs": [
            {**item, "value": values.get(f"{item['id']}.{item['property']}")}
            for item in spec["inputs"]
        ],
        "state": [
            {**item, "value": values.get(f"{item['id']}.{item['property']}")}
            for item in spec["state"]
        ],
        "changedPropIds": ["ledger-upload.contents"],
    }
    answer = client.post("/_dash-update-component", json=payload)
    assert answer.status_code in (200, 204), answer.get_data(as_text=True)[:300]
    assert_security_headers(answer)


def test_the_sign_in_page_and_the_refusals_before_it_carry_the_headers(accounts_app):
    client = accounts_app.server.test_client()
    sign_in = client.get("/signin")
    assert sign_in.status_code == 200 and "Sign in to StockTracker" in sign_in.text
    assert_security_headers(sign_in)
    redirected = client.get("/compare")
    assert redirected.status_code == 302 and redirected.location.startswith("/signin")
    assert_security_headers(redirected)
    refused = client.get("/api/portfolios")
    assert refused.status_code == 401
    assert_security_headers(refused)


def test_the_csp_allows_exactly_the_inline_scripts_of_the_index_page(client):
    """Each executable inline script Dash writes is allowed by its hash, and nothing else is:
    a clientside callback registered after the policy was made would fail here."""
    answer = client.get("/backtest")
    text = answer.get_data(as_text=True)
    allowed = policy_of(answer.headers["Content-Security-Policy"])["script-src"]
    assert sorted(allowed[1:]) == sorted(inline_script_hashes(text))
    # The renderer's start and the dashboard's clientside callback.
    assert len(allowed) == 3
    assert "new DashRenderer" in text and "dash_clientside" in text


def test_the_first_paint_adds_no_inline_script(tmp_path):
    """The dashboard answered with its first paint (the demo portfolio's holdings as HTML)
    holds only the scripts the policy allows."""
    app = build(tmp_path)
    try:
        seed_demo_portfolio(context_of(app))
        page = app.server.test_client().get("/")
        text = page.get_data(as_text=True)
        assert 'id="first-paint"' in text
        allowed = policy_of(page.headers["Content-Security-Policy"])["script-src"][1:]
        assert sorted(allowed) == sorted(inline_script_hashes(text))
    finally:
        context_of(app).close()


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    # A client's own X-Forwarded-Proto is not trusted (FORWARDED_PROXIES is 0).
    spoofed = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_behind_a_trusted_proxy_https_gets_hsts(tmp_path):
    app = build(tmp_path, forwarded_proxies=1)
    try:
        answer = app.server.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    finally:
        context_of(app).close()


def test_the_session_cookie_keeps_its_flags_under_talisman(accounts_app):
    """Talisman sets session cookie flags of its own; the accounts module's stand: HttpOnly,
    SameSite=Lax, and Secure exactly over HTTPS (a laptop on http:// can still sign in)."""
    create_user(context_of(accounts_app).db, "ann", "correct horse battery staple")
    plain = accounts_app.server.test_client().get("/signin")
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = accounts_app.server.test_client().get("/signin", base_url="https://localhost")
    assert "Secure" in secure.headers["Set-Cookie"]


def test_the_embedded_server_names_no_versions(tmp_path):
    """`python app.py` over a real socket: one Server header, the app's name, no Werkzeug or
    Python version (Werkzeug's handler writes "Werkzeug/3.x Python/3.x" by default)."""
    port = free_port()
    env = {
        **os.environ,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "headers-test",
    }
    server = subprocess.Popen(
        [sys.executable, "app.py", "--demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_portfolios(f"http://127.0.0.1:{port}")
        for path in ("/", "/api/portfolios", "/no/such/page"):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path)
            answer = connection.getresponse()
            answer.read()
            connection.close()
            assert answer.headers.get_all("Server") == ["StockTracker"], path
            assert_security_headers(answer)
    finally:
        server.terminate()
        server.wait(timeout=30)
