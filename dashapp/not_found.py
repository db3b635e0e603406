"""The /api namespace's edges: malformed ids, unknown addresses, wrong methods.

Ids in API paths are checked before any request hook or view runs: a hook that reads the
database by id (the read-model cache does) would otherwise send PostgreSQL an id past 2**31
(an error there, not "no such row") or read '１' as 1. A malformed id answers the same 400 the
view would give, from the view's blueprint.

Unknown addresses: JSON under /api, the app's not-found page with status 404 elsewhere.

Dash serves its index page for every path it does not know (a `/<path:path>` catch-all), so a
typo'd API call got 200 and HTML, and a mistyped page address 200 too. Under /api that
catch-all answers 404 JSON instead, and a path that exists with other methods 405 JSON with
`Allow`. Outside /api, a path that is not one of the app's pages still gets the index (the
router then shows "Nothing lives at this address"), with status 404.
"""

from __future__ import annotations

import re

from dash import Dash
from flask import Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from dashapp.api.errors import log_client_error
from dashapp.api.validation import path_id

API_PREFIX = "/api"
# The pages ui/shell.py routes; a trailing slash is the same page there.
PAGES = frozenset({"/", "/compare", "/backtest", "/portfolios", "/cache", "/reports"})
PORTFOLIO_PAGE = re.compile(r"/portfolios/[0-9]{1,18}(/reports)?")
# Path parameters that are ids, and the field a 400 names for each (what the views name).
ID_FIELDS = {"portfolio_id": "id", "transaction_id": "transaction_id"}


def is_page(path: str) -> bool:
    normal = path.rstrip("/") or "/"
    return normal in PAGES or PORTFOLIO_PAGE.fullmatch(normal) is not None


def in_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def register_not_found(app: Dash) -> None:
    server = app.server
    catch_all = app.config.routes_pathname_prefix + "<path:path>"

    @server.before_request
    def malformed_ids() -> None:
        """Raises the views' BadRequest, which the blueprint's handlers answer."""
        if in_api(request.path):
            for name, field in ID_FIELDS.items():
                if name in (request.view_args or {}):
                    path_id(request.view_args[name], field)

    @server.before_request
    def unknown_address() -> ResponseReturnValue | None:
        rule = request.url_rule
        if rule is None or rule.rule != catch_all or is_page(request.path):
            return None
        if in_api(request.path):
            return _json_error(404, "no such API endpoint; see /api/openapi.json")
        return Response(app.index(), status=404, content_type="text/html; charset=utf-8")

    def routing_error(error: HTTPException) -> ResponseReturnValue:
        if not in_api(request.path):
            return error
        if isinstance(error, MethodNotAllowed) and _only_the_catch_all(catch_all):
            # Only Dash's GET catch-all matched this path: nothing of the API lives here.
            return _json_error(404, "no such API endpoint; see /api/openapi.json")
        answer = _json_error(error.code or 404, str(error.description))
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            answer.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return answer

    server.register_error_handler(NotFound, routing_error)
    server.register_error_handler(MethodNotAllowed, routing_error)


def _only_the_catch_all(catch_all: str) -> bool:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        rule, _ = adapter.match(method="GET", return_rule=True)
    except HTTPException:
        return False
    return rule.rule == catch_all


def _json_error(status: int, message: str) -> Response:
    log_client_error(status, message)
    response = jsonify({"error": message})
    response.status_code = status
    return response
