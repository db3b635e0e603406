"""Long browser caching for files whose address carries their version.

Dash serves `assets/` files as `/assets/<name>?m=<modification time>` and its default icon as
`/_favicon.ico?v=<dash version>`, but with `Cache-Control: no-cache`: every page load asked the
server again for each stylesheet and script before it could paint (a round trip per file, and
the render-blocking stylesheets first). A changed file gets a new address, so such an answer
may be kept for a year without asking.
"""

from __future__ import annotations

from flask import Flask, Response, request

ONE_YEAR = 365 * 24 * 3600
VERSION_ARGUMENT = {"/assets/": "m", "/_favicon.ico": "v"}


def cache_versioned_files(server: Flask) -> None:
    """Mark GET answers for versioned asset addresses as immutable for a year."""

    @server.after_request
    def keep_versioned_files(response: Response) -> Response:
        if request.method == "GET" and response.status_code in (200, 304) and _versioned():
            response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
        return response


def _versioned() -> bool:
    return any(
        request.path.startswith(prefix) and argument in request.args
        for prefix, argument in VERSION_ARGUMENT.items()
    )
