"""Who a web request acts for, decided before any view runs.

AUTH=local: every request is the first user's (the app only listens on loopback).
AUTH=accounts: a bearer token (`Authorization: Bearer st_...`) or a signed-in session
(Flask-Login, a signed HttpOnly SameSite=Lax cookie, Secure over HTTPS). Without either, the
JSON API and Dash's callbacks answer 401 and pages send the browser to the sign-in page. The
demo app signs its one user in by itself in either mode.

Then the CSRF rule (csrf.py) for sessions, and the acting user is set for the services
(services/ownership.py) until the request ends.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, jsonify, redirect, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from markupsafe import escape
from werkzeug.middleware.proxy_fix import ProxyFix

from dashapp.accounts.csrf import TOKEN_FIELD, CrossSiteRequest, check_same_origin, csrf_token
from dashapp.accounts.tokens import holder_of
from dashapp.accounts.users import Account, end_sessions, find_user, first_user, sign_in
from dashapp.services.context import AppContext
from dashapp.services.ownership import ANONYMOUS, Actor, start_acting, stop_acting

SIGN_IN_PATH = "/signin"
SIGN_OUT_PATH = "/signout"
SESSION_DAYS = 14
# Anyone may fetch these: the sign-in page, health, and the files every page loads.
PUBLIC_PREFIXES = (
    SIGN_IN_PATH,
    "/healthz",
    "/assets/",
    "/_dash-component-suites/",
    "/_favicon.ico",
    "/favicon.ico",
    "/api/openapi.json",
    "/api/docs",
)
# Answered with a 401 JSON body rather than the sign-in page.
MACHINE_PREFIXES = ("/api/", "/_dash-", "/_reload-hash", "/metrics")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignedInUser(UserMixin):
    """The session remembers "<user id>:<session stamp>": a new password or a sign-out changes
    the stamp, and every cookie signed with the old one, copies included, stops working."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.id = f"{account.id}:{account.session_stamp}"


class RequestSecureCookies(SecureCookieSessionInterface):
    """The session cookie is Secure exactly when the request came over HTTPS (behind a proxy,
    with FORWARDED_PROXIES set, as the proxy says): a laptop on http:// can still sign in."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


def install_accounts(server: Flask, app_context: AppContext) -> None:
    settings = app_context.settings
    db = app_context.db
    if settings.forwarded_proxies:
        proxies = settings.forwarded_proxies
        server.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            server.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="stocktracker_session",
        PERMANENT_SESSION_LIFETIME=timedelta(days=SESSION_DAYS),
    )
    server.session_interface = RequestSecureCookies()
    logins = LoginManager(server)
    # Flask-Login's own redirect is not used: the gate below answers first.
    logins.session_protection = "basic"
    # AUTH=local's (and the demo's) one user: migration 0004 made it and its id never changes,
    # so it is read once, at the first request (the schema may not exist when this runs).
    local_users: list[Account | None] = []

    @logins.user_loader
    def load_user(remembered: str) -> SignedInUser | None:
        user_id, _, stamp = remembered.partition(":")
        account = find_user(db, int(user_id)) if user_id.isdigit() else None
        if account is None or (not account.can_sign_in and not settings.demo):
            return None
        if not hmac.compare_digest(stamp.encode(), account.session_stamp.encode()):
            return None
        return SignedInUser(account)

    @server.before_request
    def gate() -> Any:
        path = request.path
        if path.startswith(PUBLIC_PREFIXES):
            # Nobody's, and decided without the database: /healthz must answer while it is down.
            g.acting_token = start_acting(ANONYMOUS)
            return _same_origin_or_refusal(server)
        if not local_users:
            local_users.append(first_user(db))
        acting, by_token = _who(app_context, local_users[0])
        if isinstance(acting, Response):
            return acting
        g.acting_token = start_acting(acting)
        if path == "/metrics":
            return _metrics_gate(app_context, acting)
        if acting.user_id == ANONYMOUS.user_id:
            if path.startswith(MACHINE_PREFIXES):
                return _unauthorized("sign in, or send Authorization: Bearer <token>")
            return redirect(f"{SIGN_IN_PATH}?next={quote(_local_path(request.full_path))}")
        return None if by_token else _same_origin_or_refusal(server)

    @server.teardown_request
    def forget(_error: BaseException | None) -> None:
        token = g.pop("acting_token", None)
        if token is not None:
            stop_acting(token)

    @server.route(SIGN_IN_PATH, methods=["GET", "POST"])
    def sign_in_page() -> Any:
        target = _local_path(request.values.get("next", "/"))
        if not settings.accounts:
            return redirect(target)
        if request.method == "GET":
            return _sign_in_form(target)
        answer = sign_in(
            db,
            request.form.get("username", ""),
            request.form.get("password", ""),
            app_context.clock.now(),
            app_context.cache,
        )
        if answer.account is not None:
            session.clear()
            session.permanent = True
            login_user(SignedInUser(answer.account))
            return redirect(target)
        if answer.locked_until is not None and answer.locked_until > app_context.clock.now():
            wait = int((answer.locked_until - app_context.clock.now()).total_seconds()) + 1
            message = (
                f"Too many failed sign-ins for this username. Try again in {wait} s"
                f" (at {answer.locked_until:%H:%M:%S} UTC)."
            )
            return _sign_in_form(target, message, 429, {"Retry-After": str(wait)})
        return _sign_in_form(target, "Wrong username or password.", 401)

    @server.post(SIGN_OUT_PATH)
    def sign_out() -> Any:
        # Ends every copy of the session (the cookie is all there is of it), on every device.
        if current_user.is_authenticated:
            end_sessions(db, current_user.account.id)
        logout_user()
        session.clear()
        return redirect(SIGN_IN_PATH if settings.accounts else "/")


def _same_origin_or_refusal(server: Flask) -> Response | None:
    """None when the request may change state for its session (csrf.py), else the 403."""
    try:
        check_same_origin(request, server.config["SESSION_COOKIE_NAME"])
    except CrossSiteRequest as refused:
        return _refusal(str(refused), 403)
    return None


def signed_in_name() -> str | None:
    """The signed-in user's name for the page's header; None in AUTH=local or signed out."""
    user = current_user
    return user.account.username if getattr(user, "is_authenticated", False) else None


def _who(app_context: AppContext, local_user: Account | None) -> tuple[Actor | Response, bool]:
    """The actor of this request, and whether a bearer token said so."""
    settings = app_context.settings
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        if settings.metrics_token and hmac.compare_digest(
            token.encode(), settings.metrics_token.encode()
        ):
            g.metrics_scraper = True
            return ANONYMOUS, True
        holder = holder_of(app_context.db, token, app_context.clock.now())
        if holder is None:
            return _unauthorized("the API token is unknown or revoked"), True
        if holder.scope == "read" and request.method not in READ_METHODS:
            return _refusal("this API token may only read (scope read)", 403), True
        return Actor(holder.account.id, holder.account.is_admin), True
    if not settings.accounts:
        return Actor(local_user.id, is_admin=True) if local_user else ANONYMOUS, False
    if not current_user.is_authenticated and settings.demo and local_user is not None:
        login_user(SignedInUser(local_user))
    if current_user.is_authenticated:
        account = current_user.account
        return Actor(account.id, account.is_admin), False
    return ANONYMOUS, False


def _metrics_gate(app_context: AppContext, acting: Actor) -> Response | None:
    """/metrics: the configured scrape token, an admin's API token or session, or AUTH=local."""
    if g.get("metrics_scraper") or acting.is_admin:
        return None
    if acting.user_id == ANONYMOUS.user_id:
        return _unauthorized("/metrics needs METRICS_TOKEN or an admin's API token")
    return _refusal("/metrics is for administrators", 403)


def _unauthorized(message: str) -> Response:
    answer = _refusal(message, 401)
    answer.headers["WWW-Authenticate"] = 'Bearer realm="StockTracker"'
    return answer


def _refusal(message: str, status: int) -> Response:
    answer = jsonify(error=message)
    answer.status_code = status
    return answer


def _local_path(target: str) -> str:
    """`target` if it is a path of this site, else "/": never a redirect to another site."""
    parts = urlsplit(target or "/")
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target:
        return "/"
    return target.rstrip("?") or "/"


def _sign_in_form(
    target: str, message: str = "", status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    alert = (
        f'<div class="alert alert-danger" role="alert">{escape(message)}</div>' if message else ""
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · StockTracker</title>
<link rel="stylesheet" href="/assets/vendor/bootstrap-5.3.6.min.css">
</head><body class="bg-light">
<main class="container py-5"><div class="row justify-content-center"><div class="col-sm-8 col-md-5">
<h1 class="h3 mb-4">Sign in to StockTracker</h1>
{alert}
<form method="post" action="{SIGN_IN_PATH}" class="card card-body">
<input type="hidden" name="{TOKEN_FIELD}" value="{escape(csrf_token())}">
<input type="hidden" name="next" value="{escape(target)}">
<label class="form-label" for="username">Username</label>
<input class="form-control mb-3" id="username" name="username" autocomplete="username" required autofocus>
<label class="form-label" for="password">Password</label>
<input class="form-control mb-3" id="password" name="password" type="password"
 autocomplete="current-password" required>
<button class="btn btn-primary" type="submit">Sign in</button>
</form></div></div></main></body></html>"""
    answer = Response(page, status=status, mimetype="text/html")
    answer.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        answer.headers[name] = value
    return answer
