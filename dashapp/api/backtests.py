"""`POST /api/backtests`: a strategy backtest as JSON, from cached prices only (like the
performance API): equity, trades, metrics, provenance of the prices used and warnings."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from dashapp.services.backtests import parse_backtest_request, run_backtest
from dashapp.services.context import AppContext
from dashapp.services.portfolios import InvalidInput, PortfolioNotFound


def backtest_blueprint(app_context: AppContext) -> Blueprint:
    api = Blueprint("backtests_api", __name__, url_prefix="/api")

    @api.post("/backtests")
    def backtests() -> ResponseReturnValue:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InvalidInput("body", "send the request as a JSON object")
        backtest = parse_backtest_request(body)
        return jsonify(run_backtest(app_context, backtest, fetch=False))

    @api.errorhandler(InvalidInput)
    def bad_request(error: InvalidInput) -> ResponseReturnValue:
        return jsonify({"error": str(error), "field": error.field}), 400

    @api.errorhandler(PortfolioNotFound)
    def not_found(error: PortfolioNotFound) -> ResponseReturnValue:
        return jsonify({"error": str(error)}), 404

    @api.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        return jsonify({"error": error.description}), error.code or 500

    @api.errorhandler(Exception)
    def unexpected(error: Exception) -> ResponseReturnValue:
        # Never a stack trace to the client; the log keeps it.
        current_app.logger.exception("unhandled error in the backtest API")
        return jsonify({"error": "internal error"}), 500

    return api
