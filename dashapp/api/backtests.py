"""`POST /api/backtests`: a strategy backtest as JSON, from cached prices only (like the
performance API): equity, trades, metrics, provenance of the prices used and warnings.

Each valid request takes one from the user's backtest quota (a sweep from the sweep quota), the
same quotas the backtest page draws on; over it the answer is 429 with Retry-After."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from dashapp.api.errors import register_json_errors
from dashapp.api.validation import json_object
from dashapp.quotas import answer_over_quota, backtest_quota, quotas_of
from dashapp.services.backtest_requests import parse_backtest_request
from dashapp.services.backtests import run_backtest
from dashapp.services.context import AppContext
from dashapp.services.portfolios import PortfolioNotFound


def backtest_blueprint(app_context: AppContext) -> Blueprint:
    api = Blueprint("backtests_api", __name__, url_prefix="/api")

    @api.post("/backtests")
    def backtests() -> ResponseReturnValue:
        """The body is validated by `BacktestBody` inside `parse_backtest_request` (the page's
        form goes through it too); its InvalidInput answers 400 "field: reason"."""
        backtest = parse_backtest_request(json_object())
        quotas_of(current_app).charge(backtest_quota(backtest.sweep))
        return jsonify(run_backtest(app_context, backtest, fetch=False))

    register_json_errors(api, not_found=(PortfolioNotFound,), field_in_error=True)
    answer_over_quota(api)
    return api
