"""The JSON error answers every API blueprint shares: 400 naming the field, 404, and never a
stack trace for anything unexpected.

A client's mistake is logged as one line (method, path, status, field and reason), never with a
traceback: a traceback in the log means a bug of ours.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from dashapp.services.portfolios import InvalidInput


class BadRequest(ValueError):
    """A 400 whose `error` is the reason alone (the field is in `field`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def log_client_error(status: int, message: str) -> None:
    current_app.logger.info(
        "client error %s %s %s: %s", status, request.method, request.path, message[:200]
    )


def field_error(field: str, message: str) -> ResponseReturnValue:
    log_client_error(400, f"{field}: {message}")
    return jsonify({"error": message, "field": field}), 400


def register_json_errors(
    api: Blueprint, not_found: tuple[type[LookupError], ...], *, field_in_error: bool = False
) -> None:
    """BadRequest -> 400 {"error", "field"} (the error reading "field: reason" when
    `field_in_error`, as InvalidInput's do: the backtest and report blueprints have always
    answered so); each of `not_found` -> 404; an HTTP error keeps its code; anything else
    -> 500 {"error": "internal error"}, logged with its traceback."""

    def bad_request(error: BadRequest) -> ResponseReturnValue:
        message = f"{error.field}: {error}" if field_in_error else str(error)
        return field_error(error.field, message)

    def invalid(error: InvalidInput) -> ResponseReturnValue:
        log_client_error(400, str(error))
        return jsonify({"error": str(error), "field": error.field}), 400

    def missing(error: LookupError) -> ResponseReturnValue:
        log_client_error(404, str(error))
        return jsonify({"error": str(error)}), 404

    def http_error(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        if status < 500:
            log_client_error(status, str(error.description))
        return jsonify({"error": error.description}), status

    def unexpected(error: Exception) -> ResponseReturnValue:
        current_app.logger.exception("unhandled error in the JSON API (%s)", api.name)
        return jsonify({"error": "internal error"}), 500

    api.register_error_handler(BadRequest, bad_request)
    api.register_error_handler(InvalidInput, invalid)
    for kind in not_found:
        api.register_error_handler(kind, missing)
    api.register_error_handler(HTTPException, http_error)
    api.register_error_handler(Exception, unexpected)
