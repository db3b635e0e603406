"""Security headers on every answer (pages, assets, API, Dash callbacks, errors, the sign-in
page), and a Server header that names no versions.

flask-talisman writes them from one after-request hook, which Flask runs for error answers
and for answers a before-request hook gave (the sign-in redirect, a 401, a 413) as well:

- Content-Security-Policy: scripts only from this origin, plus the inline scripts Dash writes
  into its index page, each allowed by its hash (`Dash.csp_hashes()`: the renderer's start and
  the inline clientside callbacks). No 'unsafe-eval': the libraries' `new Function` uses are
  guarded fallbacks (bundlers' globalThis probe) or AG Grid's string expressions, which our
  column definitions do not use (their formatters are named functions in assets/).
  tests/browser/test_csp_browser.py opens every page under this policy and fails on any
  violation.
- style-src allows 'unsafe-inline': Plotly.js and AG Grid insert <style> elements at run time,
  and the dashboard's first paint (ui/templates) carries style attributes. Inline CSS cannot run
  script, and the usual way to abuse it, leaking page text through url() requests, is closed
  by img-src, and by font-src and connect-src (default-src), allowing only this origin (and
  data: images).
- frame-ancestors 'none' and X-Frame-Options DENY (for browsers without CSP level 2): no page
  can be framed, so no Delete button can be clicked through a decoy.
- Referrer-Policy same-origin: other sites learn nothing of our paths (they hold portfolio
  ids), while our own requests keep their Referer, which the CSRF check (accounts/csrf.py)
  falls back to when a browser sends no Origin.
- HSTS only on an HTTPS request, as `request.is_secure` sees it (through ProxyFix when
  FORWARDED_PROXIES is set). Talisman's own HSTS and HTTPS redirect are off: both trust an
  X-Forwarded-Proto header from any client, and the redirect would break the laptop mode,
  which serves plain http on 127.0.0.1 (TLS, when there is one, ends at the proxy).
"""

from __future__ import annotations

from dash import Dash
from flask import Flask, Response, request
from flask_talisman import Talisman
from werkzeug.serving import WSGIRequestHandler

# What the embedded server's Server header says instead of "Werkzeug/3.x Python/3.x".
SERVER_NAME = "StockTracker"
# One year; no includeSubDomains: the app does not own the other hosts of its domain.
HSTS_VALUE = "max-age=31536000"
REFERRER_POLICY = "same-origin"


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's development-server handler (`python app.py`), whose Server header names the
    app but neither the Werkzeug nor the Python version.

    The header is written by the server, not the app, so an after-request hook cannot change
    it (it would send a second Server header). gunicorn says `Server: gunicorn` without a
    version; that stays, as hiding the product name tells an attacker nothing they could not
    learn from the answers themselves.
    """

    def version_string(self) -> str:
        return SERVER_NAME


def content_security_policy(app: Dash) -> dict[str, str | list[str]]:
    """The policy of every answer. Call it once every clientside callback is registered:
    each one is an inline script of the index page, allowed by its hash."""
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *app.csp_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def install_security_headers(app: Dash) -> Talisman:
    server = app.server
    talisman = Talisman(
        server,
        content_security_policy=content_security_policy(app),
        frame_options="DENY",
        referrer_policy=REFERRER_POLICY,
        force_https=False,
        strict_transport_security=False,
        # The session cookie is accounts/web.py's: Secure exactly on HTTPS requests, SameSite
        # as it set it. Talisman would otherwise overwrite both settings.
        session_cookie_secure=False,
        session_cookie_samesite=server.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
    )
    _add_hsts_over_https(server)
    return talisman


def _add_hsts_over_https(server: Flask) -> None:
    @server.after_request
    def strict_transport_security(response: Response) -> Response:
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS_VALUE
        return response


__all__ = ["QuietRequestHandler", "content_security_policy", "install_security_headers"]
