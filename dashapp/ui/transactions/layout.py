"""The transactions page's frame: title, export links, proposals, editor, importer, the ledger
grid, its history and the delete confirmation, drawn for the portfolio of the address."""

from __future__ import annotations

import re
from datetime import date

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.services.audit import HistoryPage
from dashapp.services.context import AppContext
from dashapp.services.corporate_actions import Proposal, propose_corporate_actions
from dashapp.services.ledger_export import export_warning
from dashapp.services.portfolios import PortfolioNotFound, PortfolioSummary, get_portfolio
from dashapp.services.transactions import list_transactions, ticker_statuses
from dashapp.ui.components import confirm_modal
from dashapp.ui.transactions import ids
from dashapp.ui.transactions.form import editor
from dashapp.ui.transactions.grid import grid_rows, ledger_grid
from dashapp.ui.transactions.history import history_card, latest_changes
from dashapp.ui.transactions.importer import importer
from dashapp.ui.transactions.proposals import proposals_card

PATH_PATTERN = re.compile(r"^/portfolios/([0-9]{1,18})$")


def portfolio_id_in(path: str) -> int | None:
    """The portfolio id of a transactions page address, or None for any other address."""
    match = PATH_PATTERN.match(path)
    return int(match.group(1)) if match else None


def layout(app_context: AppContext, portfolio_id: int) -> html.Div:
    try:
        portfolio = get_portfolio(app_context, portfolio_id)
    except PortfolioNotFound:
        return dbc.Alert(
            ["This portfolio does not exist. ", dcc.Link("See all portfolios", href="/portfolios")],
            color="warning",
        )
    transactions = list_transactions(app_context, portfolio.id)
    statuses = ticker_statuses(app_context, [row.ticker for row in transactions if row.ticker])
    return page(
        portfolio,
        grid_rows(transactions, statuses),
        export_warning(app_context, transactions),
        propose_corporate_actions(app_context, portfolio.id),
        app_context.settings.max_import_bytes,
        latest_changes(app_context, portfolio),
    )


def validation_state() -> html.Div:
    """The page drawn without reading anything, for `app.validation_layout`: a blank portfolio
    with one blank proposal, so that the proposals' pattern-matching Add button is there too."""
    blank = PortfolioSummary(id=0, name="", base_currency="", version=0)
    proposal = Proposal("", "SPLIT", "", date.min, 0.0, 0.0, 0.0, "")
    return page(blank, [], None, [proposal], 0, HistoryPage([], None))


def page(
    portfolio: PortfolioSummary,
    rows: list[dict],
    warning: str | None,
    proposals: list[Proposal],
    max_import_bytes: int,
    history: HistoryPage,
) -> html.Div:
    """The page of a portfolio whose ledger has these grid rows, this export warning (None for
    none), these proposed corporate actions and these latest changes."""
    return html.Div(
        [
            dcc.Store(id=ids.PORTFOLIO, data=portfolio.id),
            dcc.Store(id=ids.EDITING, data=None),
            dcc.Store(id=ids.CHECK, data=None),
            html.H4(
                [
                    html.Span(portfolio.name, id=ids.TITLE),
                    html.Span(" · transactions", className="text-muted"),
                    dcc.Link("← all portfolios", href="/portfolios", className="fs-6 ms-3"),
                    dcc.Link(
                        "income and gains →",
                        href=f"/portfolios/{portfolio.id}/reports",
                        className="fs-6 ms-3",
                        id=ids.REPORTS_LINK,
                    ),
                ],
                className="mb-3",
            ),
            _export_links(portfolio.id, warning),
            proposals_card(proposals, portfolio.base_currency),
            editor(portfolio.base_currency),
            importer(max_import_bytes),
            html.Div(id=ids.FEEDBACK, className="mb-2"),
            ledger_grid(rows),
            history_card(history),
            _delete_modal(),
        ]
    )


def _export_links(portfolio_id: int, warning: str | None) -> html.Div:
    return html.Div(
        [
            html.A(
                "Export CSV",
                href=f"/api/portfolios/{portfolio_id}/export.csv",
                className="btn btn-sm btn-outline-secondary me-2",
                id=ids.EXPORT_CSV,
            ),
            html.A(
                "Export JSON",
                href=f"/api/portfolios/{portfolio_id}/export.json",
                className="btn btn-sm btn-outline-secondary",
                id=ids.EXPORT_JSON,
            ),
            html.Div(warning, id=ids.EXPORT_WARNING, className="small text-warning-emphasis")
            if warning
            else None,
        ],
        className="mb-3",
    )


def _delete_modal() -> dbc.Modal:
    return confirm_modal(
        ids.DELETE_MODAL,
        "Delete transaction?",
        ids.DELETE_TEXT,
        keep="Keep it",
        keep_id=ids.DELETE_CANCEL,
        confirm="Delete",
        confirm_id=ids.DELETE_CONFIRM,
    )
