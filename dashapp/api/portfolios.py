"""JSON API over portfolios: a Flask blueprint whose views parse, call one service, and format.

Bodies, query strings and ids are read through the models of `api/models.py`
(`api/validation.py`), which is also what the OpenAPI document describes."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd
from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from dashapp.api.errors import BadRequest, log_client_error, register_json_errors
from dashapp.api.models import (
    Holding,
    ImportQuery,
    PerformanceQuery,
    PortfolioCreate,
    PortfolioRename,
    TransactionBody,
)
from dashapp.api.validation import json_body, path_id, query
from dashapp.quotas import answer_over_quota, quotas_of
from dashapp.rules import LEDGER_FIELDS
from dashapp.services.comparison import compare
from dashapp.services.comparison_requests import parse_request
from dashapp.services.context import AppContext
from dashapp.services.corporate_actions import (
    ProposalNotFound,
    accept_proposal,
    propose_corporate_actions,
)
from dashapp.services.ledger_export import (
    export_csv,
    export_filename,
    export_json,
    import_limit_warning,
    transaction_json,
)
from dashapp.services.ledger_import import ImportTooLarge, import_transactions, preview_import
from dashapp.services.portfolios import (
    InvalidInput,
    PortfolioNotFound,
    PortfolioSummary,
    create_portfolio,
    delete_portfolio,
    get_portfolio,
    holdings_view,
    list_portfolios,
    rename_portfolio,
)
from dashapp.services.transactions import (
    LedgerError,
    RowError,
    TransactionDraft,
    TransactionNotFound,
    add_transaction,
    delete_transaction,
    list_transactions,
    update_transaction,
)

# Set on a CSV export that one import would refuse (too many rows or bytes): says so in words.
IMPORT_LIMIT_HEADER = "X-Import-Limit-Warning"


def api_blueprint(app_context: AppContext) -> Blueprint:
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/portfolios")
    def portfolios() -> ResponseReturnValue:
        return jsonify([portfolio_json(p) for p in list_portfolios(app_context)])

    @api.post("/portfolios")
    def new_portfolio() -> ResponseReturnValue:
        body = json_body(PortfolioCreate)
        try:
            created = create_portfolio(app_context, body.name, body.base_currency)
        except InvalidInput as error:
            raise BadRequest(error.field, error.reason) from None
        return jsonify(portfolio_json(created)), 201

    @api.get("/portfolios/<portfolio_id>")
    def portfolio(portfolio_id: str) -> ResponseReturnValue:
        return jsonify(portfolio_json(get_portfolio(app_context, path_id(portfolio_id))))

    @api.patch("/portfolios/<portfolio_id>")
    def rename(portfolio_id: str) -> ResponseReturnValue:
        identifier = path_id(portfolio_id)
        try:
            renamed = rename_portfolio(app_context, identifier, json_body(PortfolioRename).name)
        except InvalidInput as error:
            raise BadRequest(error.field, error.reason) from None
        return jsonify(portfolio_json(renamed))

    @api.delete("/portfolios/<portfolio_id>")
    def remove_portfolio(portfolio_id: str) -> ResponseReturnValue:
        delete_portfolio(app_context, path_id(portfolio_id))
        return "", 204

    @api.get("/portfolios/<portfolio_id>/transactions")
    def transactions(portfolio_id: str) -> ResponseReturnValue:
        rows = list_transactions(app_context, path_id(portfolio_id))
        return jsonify([transaction_json(row) for row in rows])

    @api.post("/portfolios/<portfolio_id>/transactions")
    def new_transaction(portfolio_id: str) -> ResponseReturnValue:
        row = add_transaction(
            app_context, path_id(portfolio_id), draft_from(json_body(TransactionBody))
        )
        return jsonify(transaction_json(row)), 201

    @api.put("/portfolios/<portfolio_id>/transactions/<transaction_id>")
    def edit_transaction(portfolio_id: str, transaction_id: str) -> ResponseReturnValue:
        row = update_transaction(
            app_context,
            path_id(portfolio_id),
            path_id(transaction_id, "transaction_id"),
            draft_from(json_body(TransactionBody)),
        )
        return jsonify(transaction_json(row))

    @api.delete("/portfolios/<portfolio_id>/transactions/<transaction_id>")
    def remove_transaction(portfolio_id: str, transaction_id: str) -> ResponseReturnValue:
        delete_transaction(
            app_context, path_id(portfolio_id), path_id(transaction_id, "transaction_id")
        )
        return "", 204

    @api.post("/portfolios/<portfolio_id>/import")
    def import_file(portfolio_id: str) -> ResponseReturnValue:
        """Multipart upload, field `file`. Reads at most one byte past the size limit, so an
        oversized upload is refused without holding it in memory. With `?preview=1` nothing
        is stored and the answer (200) is what an import would do."""
        identifier = path_id(portfolio_id)
        preview = query(ImportQuery).preview in ("1", "true")
        upload = request.files.get("file")
        if upload is None:
            raise BadRequest("file", "send the CSV as multipart/form-data field 'file'")
        # Previews count too: both parse every row.
        quotas_of(current_app).charge("import")
        raw = upload.stream.read(app_context.settings.max_import_bytes + 1)
        if preview:
            preview = preview_import(app_context, identifier, raw, upload.filename or "")
            return jsonify(
                {
                    "format": preview.format,
                    "rows": [{"row": item.row, **draft_json(item.draft)} for item in preview.rows],
                    "skipped": [{"row": s.row, "reason": s.reason} for s in preview.skipped],
                    "errors": [row_error_json(e) for e in preview.errors],
                    "warnings": [row_error_json(e) for e in preview.warnings],
                }
            )
        result = import_transactions(app_context, identifier, raw, upload.filename or "")
        return jsonify(
            {
                "format": result.format,
                "imported": result.imported,
                "skipped": [{"row": s.row, "reason": s.reason} for s in result.skipped],
                "version": result.version,
            }
        ), 201

    @api.get("/portfolios/<portfolio_id>/export.csv")
    def export_as_csv(portfolio_id: str) -> ResponseReturnValue:
        """Our CSV format, UTF-8 with a BOM so that spreadsheets read non-ASCII notes right."""
        identifier = path_id(portfolio_id)
        exported = export_csv(app_context, identifier)
        response = download(
            exported.encode("utf-8-sig"),
            "text/csv; charset=utf-8",
            export_filename(app_context, identifier, "csv"),
        )
        warning = import_limit_warning(app_context, exported)
        if warning is not None:
            # A script that exports to re-import learns here that one import will not take it.
            response.headers[IMPORT_LIMIT_HEADER] = warning
        return response

    @api.get("/portfolios/<portfolio_id>/export.json")
    def export_as_json(portfolio_id: str) -> ResponseReturnValue:
        identifier = path_id(portfolio_id)
        body = export_json(app_context, identifier).encode("utf-8")
        return download(body, "application/json", export_filename(app_context, identifier, "json"))

    @api.get("/portfolios/<portfolio_id>/corporate-actions")
    def corporate_actions(portfolio_id: str) -> ResponseReturnValue:
        proposals = propose_corporate_actions(app_context, path_id(portfolio_id))
        return jsonify(
            [
                {
                    "key": p.key,
                    "kind": p.kind,
                    "ticker": p.ticker,
                    "trade_date": p.trade_date.isoformat(),
                    "quantity": p.quantity,
                    "price": p.price,
                    "shares_held": p.shares_held,
                    "explanation": p.explanation,
                }
                for p in proposals
            ]
        )

    @api.post("/portfolios/<portfolio_id>/corporate-actions/<path:key>/accept")
    def accept_corporate_action(portfolio_id: str, key: str) -> ResponseReturnValue:
        row = accept_proposal(app_context, path_id(portfolio_id), key)
        return jsonify(transaction_json(row)), 201

    @api.get("/portfolios/<portfolio_id>/holdings")
    def holdings(portfolio_id: str) -> ResponseReturnValue:
        view = holdings_view(app_context, path_id(portfolio_id))
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
                # The model names what is sent: a few of the table's columns stay on the page.
                "holdings": [
                    {name: json_value(record[name]) for name in Holding.model_fields}
                    for record in view.rows()
                ],
                "totals": {name: json_value(value) for name, value in view.totals.items()},
            }
        )

    @api.get("/portfolios/<portfolio_id>/performance")
    def performance(portfolio_id: str) -> ResponseReturnValue:
        """From the cache only: what is stale or missing says so in `provenance` and `warnings`."""
        asked = query(PerformanceQuery)
        try:
            comparison = parse_request(
                path_id(portfolio_id), asked.benchmarks, asked.period, asked.start, asked.end
            )
        except InvalidInput as error:
            raise BadRequest(error.field, error.reason) from None
        return jsonify(compare(app_context, comparison, fetch=False))

    @api.errorhandler(LedgerError)
    def refused(error: LedgerError) -> ResponseReturnValue:
        status = 413 if isinstance(error, ImportTooLarge) else 400
        log_client_error(status, str(error))
        return jsonify(
            {
                "error": error.errors[0].message if error.errors else "refused",
                "errors": [row_error_json(e) for e in error.errors],
            }
        ), status

    register_json_errors(api, not_found=(PortfolioNotFound, TransactionNotFound, ProposalNotFound))
    answer_over_quota(api)

    return api


def portfolio_json(portfolio: PortfolioSummary) -> dict[str, object]:
    return {
        "id": portfolio.id,
        "name": portfolio.name,
        "base_currency": portfolio.base_currency,
        "version": portfolio.version,
    }


def draft_from(body: TransactionBody) -> TransactionDraft:
    """The services' draft of a body: text as sent, numbers as numbers, null as empty."""
    return TransactionDraft(**body.model_dump())


def row_error_json(error: RowError) -> dict[str, object]:
    return {"row": error.row, "column": error.column, "message": error.message}


def draft_json(draft: TransactionDraft) -> dict[str, object]:
    """A draft's values as typed (strings from the file), dates as ISO text."""
    values = {name: getattr(draft, name) for name in LEDGER_FIELDS}
    values["trade_date"] = str(values["trade_date"])
    return values


def download(body: bytes, content_type: str, filename: str) -> Response:
    return Response(
        body,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


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
