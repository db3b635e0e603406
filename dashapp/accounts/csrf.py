"""Cross-site request forgery: a browser session's state-changing request must come from the
app's own origin, and a form or multipart body must also carry the session's token.

Hand-written rather than Flask-WTF's CSRFProtect: that one wants a token in every POST, which
Dash's renderer cannot put into its JSON callback requests, and the rule here is two
comparisons. A request authenticated by a bearer token carries no ambient credential, so it is
exempt. A request with neither Origin, Referer nor the session cookie does not come from a
browser (every browser sends Origin with a cross-site POST and cannot be made to leave it
out): a script on the laptop in AUTH=local, say, which needs no token.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Request, session

TOKEN_KEY = "csrf_token"
# Where a page or a script puts the token: a hidden form field, or this header.
TOKEN_FIELD = "csrf_token"
TOKEN_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Bodies a cross-site HTML form can send without asking the server first (CORS "simple").
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


class CrossSiteRequest(PermissionError):
    """Refused: the message says which rule the request broke."""


def csrf_token() -> str:
    """The session's token, made on first use (the session cookie is signed and HttpOnly)."""
    token = session.get(TOKEN_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[TOKEN_KEY] = token
    return token


def check_same_origin(request: Request, session_cookie: str) -> None:
    """Raise CrossSiteRequest unless `request` may change state for its session."""
    if request.method in SAFE_METHODS:
        return
    own = _origin(request.host_url)
    claimed = request.headers.get("Origin")
    if claimed == "null":
        raise CrossSiteRequest("a change from an opaque origin is refused")
    if claimed:
        if claimed.lower() != own:
            raise CrossSiteRequest(_refusal(claimed.lower(), own))
    elif request.referrer and _origin(request.referrer) != own:
        raise CrossSiteRequest("a change from another site is refused")
    from_a_browser = bool(claimed or request.referrer or session_cookie in request.cookies)
    if from_a_browser and request.mimetype in FORM_TYPES:
        sent = request.headers.get(TOKEN_HEADER) or request.form.get(TOKEN_FIELD, "")
        expected = session.get(TOKEN_KEY)
        if not isinstance(expected, str) or not hmac.compare_digest(
            sent.encode(), expected.encode()
        ):
            raise CrossSiteRequest(
                f"a form needs the page's {TOKEN_FIELD}: reload the page and try again"
            )


def _refusal(claimed: str, own: str) -> str:
    """Why a change from `claimed` is refused; when only the scheme differs, the page came over
    HTTPS through a proxy the app was not told to trust."""
    if urlsplit(claimed).netloc == urlsplit(own).netloc:
        return (
            f"a change from {claimed} is refused: this server sees its own address as {own}."
            " Behind an HTTPS proxy, set FORWARDED_PROXIES to the number of proxies in front"
        )
    return f"a change from another site ({claimed}) is refused"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
