"""JSON and CSV reports of a portfolio: dividend income and realized gains.

    GET /api/portfolios/<id>/income?by=month|year|holding  -> {"currency", "total", "rows"}
    GET /api/portfolios/<id>/realized?method=fifo|average[&year=YYYY]
        -> {"currency", "method", "total", "sales": [one per sale and lot]}
    GET /api/portfolios/<id>/income.csv?by=...  and  /realized.csv?method=...&year=...

Amounts are in the portfolio's base currency. A bad `by`, `method` or `year` answers 400
{"error", "field"}; an unknown portfolio 404 {"error"}.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from dashapp.api.errors import register_json_errors
from dashapp.api.models import IncomeQuery, RealizedQuery
from dashapp.api.portfolios import download
from dashapp.api.validation import path_id, query
from dashapp.services.context import AppContext
from dashapp.services.portfolios import PortfolioNotFound
from dashapp.services.reports import (
    IncomeReport,
    RealizedReport,
    income_csv,
    income_report,
    parse_grouping,
    parse_method,
    parse_year,
    realized_csv,
    realized_report,
    report_filename,
    today_in_market,
)


def reports_blueprint(app_context: AppContext) -> Blueprint:
    api = Blueprint("reports_api", __name__, url_prefix="/api")

    @api.get("/portfolios/<portfolio_id>/income")
    def income(portfolio_id: str) -> ResponseReturnValue:
        grouping = parse_grouping(query(IncomeQuery).by)
        report = income_report(app_context, path_id(portfolio_id))
        return jsonify(income_json(report, grouping))

    @api.get("/portfolios/<portfolio_id>/income.csv")
    def income_as_csv(portfolio_id: str) -> ResponseReturnValue:
        grouping = parse_grouping(query(IncomeQuery).by)
        report = income_report(app_context, path_id(portfolio_id))
        return download(
            income_csv(report, grouping).encode("utf-8"),
            "text/csv; charset=utf-8",
            report_filename(report, f"income-by-{grouping}"),
        )

    @api.get("/portfolios/<portfolio_id>/realized")
    def realized(portfolio_id: str) -> ResponseReturnValue:
        return jsonify(realized_json(_realized(portfolio_id)))

    @api.get("/portfolios/<portfolio_id>/realized.csv")
    def realized_as_csv(portfolio_id: str) -> ResponseReturnValue:
        report = _realized(portfolio_id)
        return download(
            realized_csv(report).encode("utf-8"),
            "text/csv; charset=utf-8",
            report_filename(report, "realized"),
        )

    def _realized(portfolio_id: str) -> RealizedReport:
        asked = query(RealizedQuery)
        method = parse_method(asked.method)
        year = parse_year(asked.year, today_in_market(app_context))
        return realized_report(app_context, path_id(portfolio_id), method, year)

    register_json_errors(api, not_found=(PortfolioNotFound,), field_in_error=True)
    return api


def income_json(report: IncomeReport, grouping: str) -> dict[str, object]:
    """`rows`: per month {"month", "amount", "holdings": {ticker: amount}}, per year the same
    with "year", per holding {"ticker", "amount", "ttm", "forward_estimate", "yield_on_cost",
    "current_yield"}; plus the trailing-twelve-month figures, the estimate labelled as one."""
    if grouping == "holding":
        rows: list[dict[str, object]] = [
            {
                "ticker": row.ticker,
                "amount": row.amount,
                "ttm": row.ttm,
                "forward_estimate": row.forward_estimate,
                "yield_on_cost": row.yield_on_cost,
                "current_yield": row.current_yield,
            }
            for row in report.by_holding
        ]
    else:
        periods = report.by_month if grouping == "month" else report.by_year
        rows = [
            {grouping: row.period, "amount": row.amount, "holdings": dict(row.holdings)}
            for row in periods
        ]
    return {
        "currency": report.currency,
        "by": grouping,
        "total": report.total,
        "rows": rows,
        "as_of": report.as_of.isoformat(),
        "ttm": report.ttm,
        "yield_on_cost": report.yield_on_cost,
        "current_yield": report.current_yield,
        "forward_estimate": {
            "amount": report.forward_estimate,
            "estimate": True,
            "basis": "each holding's dividends of the last twelve months, per share held now",
        },
    }


def realized_json(report: RealizedReport) -> dict[str, object]:
    return {
        "currency": report.currency,
        "method": report.method,
        "year": report.year,
        "total": report.total,
        "sales": [
            {
                "sale_id": lot.sale_id,
                "date": lot.date.isoformat(),
                "ticker": lot.ticker,
                "acquired": lot.acquired.isoformat(),
                "quantity": lot.quantity,
                "proceeds": lot.proceeds,
                "cost": lot.cost,
                "gain": lot.gain,
                "holding_days": lot.holding_days,
                "term": "long" if lot.long_term else "short",
            }
            for lot in report.lots
        ],
    }
