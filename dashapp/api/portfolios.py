"""JSON API over portfolios: a Flask blueprint whose views parse, call one service, and format."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd
from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from dashapp.services.context import AppContext
from dashapp.services.performance import compare, parse_request
from dashapp.services.portfolios import (
    InvalidInput,
    PortfolioNotFound,
    holdings_view,
    list_portfolios,
)

HOLDING_FIELDS = (
    "ticker",
    "quantity",
    "average_cost",
    "price",
    "previous_close",
    "market_value",
    "unrealized_gain",
    "weight",
    "as_of",
    "fetched_at",
    "source",
    "freshness",
)


def api_blueprint(app_context: AppContext) -> Blueprint:
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/portfolios")
    def portfolios() -> ResponseReturnValue:
        return jsonify(
            [
                {"id": p.id, "name": p.name, "base_currency": p.base_currency, "version": p.version}
                for p in list_portfolios(app_context)
            ]
        )

    @api.get("/portfolios/<portfolio_id>/holdings")
    def holdings(portfolio_id: str) -> ResponseReturnValue:
        view = holdings_view(app_context, parse_id(portfolio_id))
        return jsonify(
            {
                "portfolio": {
                    "id": view.portfolio.id,
                    "name": view.portfolio.name,
                    "base_currency": view.portfolio.base_currency,
                    "version": view.portfolio.version,
                },
                "as_of": json_value(view.as_of),
                "demo_data": view.is_demo,
                "holdings": [
                    {name: json_value(record[name]) for name in HOLDING_FIELDS}
                    | {"freshness_reason": record["freshness_reason"]}
                    for record in view.holdings.to_dict("records")
                ],
                "totals": {name: json_value(value) for name, value in view.totals.items()},
            }
        )

    @api.get("/portfolios/<portfolio_id>/performance")
    def performance(portfolio_id: str) -> ResponseReturnValue:
        """From the cache only: what is stale or missing says so in `provenance` and `warnings`."""
        try:
            comparison = parse_request(
                parse_id(portfolio_id),
                request.args.get("benchmarks"),
                request.args.get("period"),
                request.args.get("start"),
                request.args.get("end"),
            )
        except InvalidInput as error:
            raise BadRequest(error.field, error.reason) from None
        return jsonify(compare(app_context, comparison, fetch=False))

    @api.errorhandler(BadRequest)
    def bad_request(error: BadRequest) -> ResponseReturnValue:
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
        current_app.logger.exception("unhandled error in the JSON API")
        return jsonify({"error": "internal error"}), 500

    return api


class BadRequest(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_id(raw: str, field: str = "id") -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(field, f"{field} must be a positive whole number")
    return int(raw)


def json_value(value: Any) -> Any:
    """A value JSON can carry: NaN and missing become null, instants become ISO 8601 UTC."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):
        return json_value(value.item())
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value
