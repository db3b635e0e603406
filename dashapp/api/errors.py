"""The JSON error answers every API blueprint shares: 400 naming the field, 404, and never a
stack trace for anything unexpected."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from dashapp.services.portfolios import InvalidInput


def register_json_errors(api: Blueprint, not_found: tuple[type[LookupError], ...]) -> None:
    """InvalidInput -> 400 {"error", "field"}; each of `not_found` -> 404; an HTTP error keeps
    its code; anything else -> 500 {"error": "internal error"}, logged with its traceback."""

    def invalid(error: InvalidInput) -> ResponseReturnValue:
        return jsonify({"error": str(error), "field": error.field}), 400

    def missing(error: LookupError) -> ResponseReturnValue:
        return jsonify({"error": str(error)}), 404

    def http_error(error: HTTPException) -> ResponseReturnValue:
        return jsonify({"error": error.description}), error.code or 500

    def unexpected(error: Exception) -> ResponseReturnValue:
        current_app.logger.exception("unhandled error in the JSON API (%s)", api.name)
        return jsonify({"error": "internal error"}), 500

    api.register_error_handler(InvalidInput, invalid)
    for kind in not_found:
        api.register_error_handler(kind, missing)
    api.register_error_handler(HTTPException, http_error)
    api.register_error_handler(Exception, unexpected)
