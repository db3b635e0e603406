"""The JSON API's OpenAPI 3.1 document, generated from the pydantic models of `api/models.py`.

Plain pydantic and this table rather than spectree or flask-openapi3: those replace the
blueprints' routing or wrap every view in decorators, while the views here already read their
input through the models (`api/validation.py`). `model_json_schema` gives JSON Schema 2020-12,
which OpenAPI 3.1 uses as it is, so the document is the models' schemas under
`components/schemas` plus one entry per operation below. `/api/openapi.json` serves it and
`/api/docs` renders it as one self-contained HTML page (no scripts, no CDN: the app runs
offline too).

`OPERATIONS` must list every route of the API blueprints: a test compares it with Flask's URL
map, and schemathesis calls every operation and checks each answer against its schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dashapp.api import models
from dashapp.api.docs_page import render_docs
from dashapp.api.history import HistoryAnswer, HistoryQuery
from dashapp.api.validation import MAX_JSON_BYTES
from dashapp.services.backtest_requests import BacktestBody
from dashapp.services.input_errors import MAX_ID

OPENAPI_VERSION = "3.1.0"
# The API's own version: minor for additions (see the README's versioning policy).
API_VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
JSON = "application/json"


@dataclass(frozen=True)
class Reply:
    """One documented answer: a model, a list of a model, a raw schema, or no body."""

    description: str
    model: type[BaseModel] | None = None
    many: bool = False
    schema: Mapping[str, Any] | None = None
    media: str = JSON
    alternatives: tuple[type[BaseModel], ...] = ()


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    summary: str
    tag: str
    responses: Mapping[int, Reply]
    body: type[BaseModel] | None = None
    body_media: str = JSON
    query: type[BaseModel] | None = None
    links: Mapping[int, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)


NOT_FOUND = Reply("unknown portfolio (or transaction, or proposal)", models.Error)
BAD_ID = Reply("a malformed id or parameter, naming the field", models.FieldError)
# The ledger export and every report's CSV download.
CSV_FILE = Reply("the file", schema={"type": "string"}, media="text/csv")
LEDGER_REFUSED = Reply(
    "a malformed id or body (naming the field), or a change the ledger refuses (listing its "
    "errors)",
    models.FieldError,
    alternatives=(models.LedgerErrors,),
)
OVER_QUOTA = Reply(
    "over the user's quota (QUOTA_* settings); the Retry-After header says when to try again",
    models.Error,
)
TOO_LARGE = Reply(f"a JSON body over {MAX_JSON_BYTES:,} bytes", models.Error)
PORTFOLIO = "/api/portfolios/{portfolio_id}"
# Links make schemathesis's stateful run chain calls the way a script does: create a
# portfolio, add transactions, read holdings, delete.
FROM_CREATED_PORTFOLIO = {"portfolio_id": "$response.body#/id"}
FROM_REQUEST_PORTFOLIO = {"portfolio_id": "$request.path.portfolio_id"}
AFTER_PORTFOLIO = {
    name: {"operationId": name, "parameters": FROM_CREATED_PORTFOLIO}
    for name in (
        "getPortfolio",
        "renamePortfolio",
        "deletePortfolio",
        "listTransactions",
        "addTransaction",
        "importTransactions",
        "getHoldings",
        "getPerformance",
        "getIncome",
        "getRealized",
        "listCorporateActions",
        "exportCsv",
        "exportJson",
        "getHistory",
    )
}
AFTER_TRANSACTION = {
    name: {
        "operationId": name,
        "parameters": FROM_REQUEST_PORTFOLIO | {"transaction_id": "$response.body#/id"},
    }
    for name in ("replaceTransaction", "deleteTransaction")
} | {
    name: {"operationId": name, "parameters": FROM_REQUEST_PORTFOLIO}
    for name in ("getHoldings", "listTransactions", "deletePortfolio")
}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "listPortfolios",
        "get",
        "/api/portfolios",
        "List portfolios",
        "portfolios",
        {200: Reply("every portfolio", models.Portfolio, many=True)},
    ),
    Operation(
        "createPortfolio",
        "post",
        "/api/portfolios",
        "Create a portfolio",
        "portfolios",
        {
            201: Reply("the new portfolio", models.Portfolio),
            400: BAD_ID,
            413: TOO_LARGE,
        },
        body=models.PortfolioCreate,
        links={201: AFTER_PORTFOLIO},
    ),
    Operation(
        "getPortfolio",
        "get",
        PORTFOLIO,
        "One portfolio",
        "portfolios",
        {200: Reply("the portfolio", models.Portfolio), 400: BAD_ID, 404: NOT_FOUND},
    ),
    Operation(
        "renamePortfolio",
        "patch",
        PORTFOLIO,
        "Rename a portfolio",
        "portfolios",
        {
            200: Reply("the renamed portfolio", models.Portfolio),
            400: BAD_ID,
            404: NOT_FOUND,
            413: TOO_LARGE,
        },
        body=models.PortfolioRename,
    ),
    Operation(
        "deletePortfolio",
        "delete",
        PORTFOLIO,
        "Delete a portfolio with its transactions",
        "portfolios",
        {204: Reply("deleted"), 400: BAD_ID, 404: NOT_FOUND},
    ),
    Operation(
        "listTransactions",
        "get",
        f"{PORTFOLIO}/transactions",
        "The ledger, in ledger order",
        "transactions",
        {
            200: Reply("every transaction", models.Transaction, many=True),
            400: BAD_ID,
            404: NOT_FOUND,
        },
    ),
    Operation(
        "addTransaction",
        "post",
        f"{PORTFOLIO}/transactions",
        "Add one transaction, checked against the whole ledger",
        "transactions",
        {
            201: Reply("the stored transaction", models.Transaction),
            400: LEDGER_REFUSED,
            404: NOT_FOUND,
            413: TOO_LARGE,
        },
        body=models.TransactionBody,
        links={201: AFTER_TRANSACTION},
    ),
    Operation(
        "replaceTransaction",
        "put",
        f"{PORTFOLIO}/transactions/{{transaction_id}}",
        "Replace one transaction",
        "transactions",
        {
            200: Reply("the stored transaction", models.Transaction),
            400: LEDGER_REFUSED,
            404: NOT_FOUND,
            413: TOO_LARGE,
        },
        body=models.TransactionBody,
    ),
    Operation(
        "deleteTransaction",
        "delete",
        f"{PORTFOLIO}/transactions/{{transaction_id}}",
        "Delete one transaction unless a later sell then oversells",
        "transactions",
        {204: Reply("deleted"), 400: LEDGER_REFUSED, 404: NOT_FOUND},
    ),
    Operation(
        "importTransactions",
        "post",
        f"{PORTFOLIO}/import",
        "Import a CSV: every row or none (preview=1 stores nothing)",
        "transactions",
        {
            200: Reply("the preview: what an import would do", models.ImportPreview),
            201: Reply("imported", models.ImportResult),
            400: LEDGER_REFUSED,
            404: NOT_FOUND,
            413: Reply(
                "the file is over MAX_IMPORT_BYTES or MAX_IMPORT_ROWS (`errors`), or the whole"
                " request over the body limit, refused unread (`error`)",
                models.LedgerErrors,
                alternatives=(models.Error,),
            ),
            429: OVER_QUOTA,
        },
        body=models.ImportUpload,
        body_media="multipart/form-data",
        query=models.ImportQuery,
    ),
    Operation(
        "exportCsv",
        "get",
        f"{PORTFOLIO}/export.csv",
        "The ledger as CSV (UTF-8 with BOM), as the import reads it. When one import would"
        " refuse the file (more than MAX_IMPORT_ROWS rows or MAX_IMPORT_BYTES bytes), the"
        " X-Import-Limit-Warning header says so in words.",
        "transactions",
        {200: CSV_FILE, 400: BAD_ID, 404: NOT_FOUND},
    ),
    Operation(
        "exportJson",
        "get",
        f"{PORTFOLIO}/export.json",
        "The ledger as a JSON file",
        "transactions",
        {200: Reply("the file", schema={"type": "object"}), 400: BAD_ID, 404: NOT_FOUND},
    ),
    Operation(
        "listCorporateActions",
        "get",
        f"{PORTFOLIO}/corporate-actions",
        "Splits and dividends the prices show but the ledger lacks",
        "transactions",
        {
            200: Reply("proposed rows", models.CorporateAction, many=True),
            400: BAD_ID,
            404: NOT_FOUND,
        },
    ),
    Operation(
        "acceptCorporateAction",
        "post",
        f"{PORTFOLIO}/corporate-actions/{{key}}/accept",
        "Add a proposed split or dividend to the ledger",
        "transactions",
        {
            201: Reply("the stored transaction", models.Transaction),
            400: LEDGER_REFUSED,
            404: NOT_FOUND,
        },
    ),
    Operation(
        "getHoldings",
        "get",
        f"{PORTFOLIO}/holdings",
        "Holdings with values, weights and each price's provenance",
        "analysis",
        {200: Reply("holdings and totals", models.Holdings), 400: BAD_ID, 404: NOT_FOUND},
    ),
    Operation(
        "getPerformance",
        "get",
        f"{PORTFOLIO}/performance",
        "The portfolio against ETFs, from cached prices",
        "analysis",
        {200: Reply("series and metrics", models.Performance), 400: BAD_ID, 404: NOT_FOUND},
        query=models.PerformanceQuery,
    ),
    Operation(
        "getIncome",
        "get",
        f"{PORTFOLIO}/income",
        "Dividend income by month, year or holding, with the trailing twelve months",
        "reports",
        {200: Reply("the income report", models.IncomeReport), 400: BAD_ID, 404: NOT_FOUND},
        query=models.IncomeQuery,
    ),
    Operation(
        "getIncomeCsv",
        "get",
        f"{PORTFOLIO}/income.csv",
        "The income report as CSV",
        "reports",
        {200: CSV_FILE, 400: BAD_ID, 404: NOT_FOUND},
        query=models.IncomeQuery,
    ),
    Operation(
        "getRealized",
        "get",
        f"{PORTFOLIO}/realized",
        "Realized gains per sale and lot (FIFO or average cost)",
        "reports",
        {200: Reply("the realized gains", models.RealizedReport), 400: BAD_ID, 404: NOT_FOUND},
        query=models.RealizedQuery,
    ),
    Operation(
        "getRealizedCsv",
        "get",
        f"{PORTFOLIO}/realized.csv",
        "The realized gains as CSV",
        "reports",
        {200: CSV_FILE, 400: BAD_ID, 404: NOT_FOUND},
        query=models.RealizedQuery,
    ),
    Operation(
        "getHistory",
        "get",
        f"{PORTFOLIO}/history",
        "Who changed the ledger or the name, when and what, newest first",
        "portfolios",
        {200: Reply("a page of changes", HistoryAnswer), 400: BAD_ID, 404: NOT_FOUND},
        query=HistoryQuery,
    ),
    Operation(
        "runBacktest",
        "post",
        "/api/backtests",
        "A strategy backtest from cached prices",
        "analysis",
        {
            200: Reply("equity, trades and metrics", models.BacktestResult),
            400: Reply("a malformed field, named as 'field: reason'", models.FieldError),
            404: Reply("unknown portfolio", models.Error),
            413: TOO_LARGE,
            429: OVER_QUOTA,
        },
        body=BacktestBody,
    ),
    Operation(
        "getOpenapi",
        "get",
        "/api/openapi.json",
        "This document",
        "about",
        {200: Reply("the OpenAPI 3.1 document", schema={"type": "object"})},
    ),
    Operation(
        "getDocs",
        "get",
        "/api/docs",
        "This document as a web page",
        "about",
        {200: Reply("an HTML page", schema={"type": "string"}, media="text/html")},
    ),
)

PATH_PARAMETERS = {
    "portfolio_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "transaction_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "key": {"type": "string", "minLength": 1, "maxLength": 200},
}


@cache
def openapi_document() -> dict[str, Any]:
    """The whole document (built once per process: it depends on code only)."""
    requests = {op.body for op in OPERATIONS if op.body} | {
        op.query for op in OPERATIONS if op.query
    }
    replies = {
        model
        for op in OPERATIONS
        for reply in op.responses.values()
        for model in (reply.model, *reply.alternatives)
        if model is not None
    }
    schemas = [(model, "validation") for model in sorted(requests, key=_name)]
    schemas += [(model, "serialization") for model in sorted(replies, key=_name)]
    keys, definitions = models_json_schema(schemas, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, keys, definitions)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "StockTracker JSON API",
            "version": API_VERSION,
            "description": (
                "Portfolios, transactions, holdings, performance against ETFs and backtests. "
                "Changes within /api are additive only: fields and operations are added, never "
                "renamed or removed. A 400 names the `field` at fault (or lists `errors` per "
                "ledger row); an unknown id answers 404 and an unknown path or method 404 or "
                "405, always as JSON."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": name} for name in dict.fromkeys(op.tag for op in OPERATIONS)],
        "paths": paths,
        "components": {"schemas": definitions.get("$defs", {})},
    }


def _operation(
    op: Operation, keys: Mapping[Any, Any], definitions: Mapping[str, Any]
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {
            str(status): _response(reply, keys, op.links.get(status))
            for status, reply in sorted(op.responses.items())
        },
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query, keys, definitions)
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {op.body_media: {"schema": keys[(op.body, "validation")]}},
        }
    return operation


def _response(
    reply: Reply, keys: Mapping[Any, Any], links: Mapping[str, Any] | None
) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": reply.description}
    if reply.model is not None:
        schema = keys[(reply.model, "serialization")]
        if reply.alternatives:
            others = [keys[(model, "serialization")] for model in reply.alternatives]
            schema = {"anyOf": [schema, *others]}
        if reply.many:
            schema = {"type": "array", "items": schema}
        answer["content"] = {reply.media: {"schema": schema}}
    elif reply.schema is not None:
        answer["content"] = {reply.media: {"schema": dict(reply.schema)}}
    if links:
        answer["links"] = dict(links)
    return answer


def _query_parameters(
    model: type[BaseModel], keys: Mapping[Any, Any], definitions: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One parameter per field of `model`, its schema without the null a query cannot send."""
    reference = keys[(model, "validation")]["$ref"].rsplit("/", 1)[-1]
    properties = definitions["$defs"][reference]["properties"]
    parameters = []
    for name, schema in properties.items():
        options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
        plain = options[0] if len(options) == 1 else {"anyOf": options}
        extra = {key: schema[key] for key in ("description", "title") if key in schema}
        parameters.append({"name": name, "in": "query", "required": False, "schema": extra | plain})
    return parameters


def _name(model: type[BaseModel]) -> str:
    return model.__name__


def openapi_blueprint() -> Blueprint:
    api = Blueprint("openapi", __name__, url_prefix="/api")

    @api.get("/openapi.json")
    def document() -> ResponseReturnValue:
        return jsonify(openapi_document())

    @api.get("/docs")
    def docs() -> ResponseReturnValue:
        return Response(render_docs(openapi_document()), content_type="text/html; charset=utf-8")

    return api
