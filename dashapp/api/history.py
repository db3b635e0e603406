"""A portfolio's history as JSON: who changed its ledger or its name, when, and what it did.

    GET /api/portfolios/<id>/history[?limit=1..500][&before=<change id>]
        -> {"portfolio_id", "changes": [newest first], "older", "next"}

Each change is {"id", "at" (ISO 8601, UTC), "user" (null for the deployment's own work),
"action", "summary" (the change in words), "detail" (`services.audit` lists its keys)}.
`older` is the `before` that asks for the next, older page, and `next` that page's address;
both are null on the last page. Another user's portfolio answers 404 exactly as a missing one;
a malformed `limit` or `before` answers 400 {"error", "field"}.
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from dashapp.api.errors import BadRequest, register_json_errors
from dashapp.api.models import Body
from dashapp.api.validation import path_id, query
from dashapp.services.audit import DEFAULT_LIMIT, MAX_LIMIT, Change, HistoryPage, history
from dashapp.services.context import AppContext
from dashapp.services.portfolios import PortfolioNotFound, get_portfolio

ASCII_NUMBER = r"^[0-9]{1,10}$"


class HistoryQuery(Body):
    limit: Annotated[str, Field(pattern=ASCII_NUMBER)] | None = Field(
        None, description=f"changes per page, 1 to {MAX_LIMIT}; {DEFAULT_LIMIT} when left out"
    )
    before: Annotated[str, Field(pattern=ASCII_NUMBER)] | None = Field(
        None, description="only changes older than this change id (the previous page's `older`)"
    )


class HistoryChange(BaseModel):
    id: int
    at: str = Field(description="when, ISO 8601 in UTC")
    user: str | None = Field(description="who: a username, null for the deployment's own work")
    action: str = Field(description="add, edit, delete, import, accept, create or rename")
    summary: str = Field(description="the change in words")
    detail: dict[str, Any]


class HistoryAnswer(BaseModel):
    portfolio_id: int
    changes: list[HistoryChange] = Field(description="newest first")
    older: int | None = Field(description="`before` of the next, older page; null on the last")
    next: str | None = Field(description="the next page's address; null on the last")


def history_blueprint(app_context: AppContext) -> Blueprint:
    api = Blueprint("history_api", __name__, url_prefix="/api")

    @api.get("/portfolios/<portfolio_id>/history")
    def portfolio_history(portfolio_id: str) -> ResponseReturnValue:
        asked = query(HistoryQuery)
        limit = DEFAULT_LIMIT if asked.limit is None else int(asked.limit)
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest("limit", f"limit must be from 1 to {MAX_LIMIT}")
        before = None if asked.before is None else path_id(asked.before, "before")
        # get_portfolio is limited to the acting user's portfolios: another's is a 404 here.
        portfolio = get_portfolio(app_context, path_id(portfolio_id))
        page = history(app_context, portfolio, limit, before)
        return jsonify(history_json(portfolio.id, page, limit))

    register_json_errors(api, not_found=(PortfolioNotFound,))
    return api


def history_json(portfolio_id: int, page: HistoryPage, limit: int) -> dict[str, object]:
    following = (
        None
        if page.older is None
        else f"/api/portfolios/{portfolio_id}/history?limit={limit}&before={page.older}"
    )
    return {
        "portfolio_id": portfolio_id,
        "changes": [change_json(change) for change in page.changes],
        "older": page.older,
        "next": following,
    }


def change_json(change: Change) -> dict[str, object]:
    return {
        "id": change.id,
        "at": change.at.isoformat(),
        "user": change.username,
        "action": change.action,
        "summary": change.summary,
        "detail": change.detail,
    }
