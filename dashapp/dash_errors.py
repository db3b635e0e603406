"""Client mistakes on Dash's own endpoints: 400 or 404 with a short message and one log line.

Dash trusts the renderer: a callback request of the wrong shape (a list for an object, a number
for an output name, too few inputs), an input of the wrong type reaching `int(...)` in a
callback, or a file name under `/_dash-component-suites/` that no library has, each answered
500 with a full traceback in the log. Here:

- `POST /_dash-update-component` is read before Dash sees it: JSON nested at most MAX_DEPTH
  deep, without NaN or Infinity; `output` a callback of this app; inputs and state lists as
  long as the callback's and made of {id, property, value} items; whole numbers within
  +-MAX_SAFE_INTEGER; and a number or id written with digits other than ASCII 0-9 ("１",
  "١٢٣") is refused rather than read by `int()` as the number it looks like.
- A callback that fails on its inputs' types or values (TypeError, ValueError, KeyError,
  IndexError, AttributeError, or a value the database column cannot hold) answers 400. Its
  traceback is logged at DEBUG, so a genuine bug can still be traced with LOG_LEVEL=DEBUG.
- An unknown component-suite path answers 404 in plain text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from dash import Dash
from dash.exceptions import DependencyException
from flask import Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DataError

from dashapp.api.errors import log_client_error

MAX_DEPTH = 32
# Whole numbers a browser's JavaScript holds exactly: every id, count and amount we use.
MAX_SAFE_INTEGER = 2**53 - 1
# What a callback raises when its inputs are not what the page sends.
INPUT_FAILURES = (TypeError, ValueError, KeyError, IndexError, AttributeError, DataError)


class PayloadError(ValueError):
    """A callback request that is not what Dash's renderer sends."""


def register_dash_client_errors(app: Dash) -> None:
    server = app.server
    update_path = app.config.routes_pathname_prefix + "_dash-update-component"

    @server.before_request
    def check_callback_request() -> ResponseReturnValue | None:
        if request.path != update_path or request.method != "POST":
            return None
        try:
            check_callback_payload(request.get_data(cache=True), app.callback_map)
        except PayloadError as error:
            return _refused(400, str(error))
        return None

    _guard_callback_view(app, update_path)

    def unknown_component_file(error: DependencyException) -> ResponseReturnValue:
        log_client_error(404, str(error).splitlines()[0])
        return Response("no such file\n", status=404, content_type="text/plain; charset=utf-8")

    server.register_error_handler(DependencyException, unknown_component_file)


def check_callback_payload(raw: bytes, callback_map: dict[str, dict[str, Any]]) -> None:
    """Raise PayloadError saying what is wrong with a callback request body."""
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise PayloadError(f"the JSON is nested more than {MAX_DEPTH} deep") from None
    except ValueError:
        raise PayloadError("the body is not JSON") from None
    _check_values(body)
    if not isinstance(body, dict):
        raise PayloadError("the body must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        raise PayloadError("output: no callback of this app has that output")
    spec = callback_map[output]
    if not isinstance(body.get("outputs"), dict | list):
        raise PayloadError("outputs: must be an object or a list")
    for part, declared in (("inputs", spec["inputs"]), ("state", spec.get("state", []))):
        items = body.get(part, [])
        if not isinstance(items, list) or len(items) != len(declared):
            raise PayloadError(f"{part}: this callback takes a list of {len(declared)}")
        for item in items:
            for entry in item if isinstance(item, list) else [item]:
                _check_dependency(part, entry)
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(name, str) for name in changed):
        raise PayloadError("changedPropIds: must be a list of names")


def _check_dependency(part: str, entry: object) -> None:
    if (
        not isinstance(entry, dict)
        or not isinstance(entry.get("id"), str | dict)
        or not isinstance(entry.get("property"), str)
    ):
        raise PayloadError(f"{part}: each item must be an object with an id and a property")


def _check_values(body: object) -> None:
    """Depth, number range and ASCII digits of every value, without recursion."""
    pending: list[tuple[object, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise PayloadError(f"the JSON is nested more than {MAX_DEPTH} deep")
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
            pending.extend((key, depth + 1) for key in value)
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_SAFE_INTEGER:
                raise PayloadError(f"numbers must lie within +-{MAX_SAFE_INTEGER:,}")
        elif isinstance(value, str):
            text = value.strip()
            if text.isdecimal() and not text.isascii():
                raise PayloadError(
                    f"numbers and ids are written with the digits 0-9, not {text[:20]!r}"
                )


def _guard_callback_view(app: Dash, update_path: str) -> None:
    """Wrap Dash's callback view: a callback failing on its inputs answers 400."""
    server = app.server
    endpoints = [rule.endpoint for rule in server.url_map.iter_rules() if rule.rule == update_path]
    for endpoint in endpoints:
        server.view_functions[endpoint] = _answering_400(server.view_functions[endpoint])


def _answering_400(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except INPUT_FAILURES as error:
            current_app.logger.debug("callback failed on its inputs", exc_info=True)
            reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            return _refused(400, f"this callback cannot take these inputs ({reason[:120]})")

    return guarded


def _refused(status: int, message: str) -> ResponseReturnValue:
    log_client_error(status, message)
    return jsonify({"error": message}), status


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not JSON")
