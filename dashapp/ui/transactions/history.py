"""The transactions page's history card: who changed this ledger or its name, when, and what the
change did, newest first (`services.audit`).

The page is drawn with the latest HISTORY_SHOWN changes; "Show older changes" appends the next
OLDER_PAGE, and the list is read again whatever changes the ledger on the page (each change
redraws the grid). Everything a user typed (tickers, notes, file and portfolio names) reaches
the browser as a component's text, which React escapes: no markdown, no raw HTML.

Its component ids are here rather than in `ids`, with the card they belong to.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, Patch, State, dcc, html
from dash.exceptions import PreventUpdate

from dashapp.services.audit import Change, HistoryPage, history
from dashapp.services.context import AppContext
from dashapp.services.portfolios import PortfolioNotFound, PortfolioSummary, get_portfolio
from dashapp.ui.components import timestamp
from dashapp.ui.transactions import ids

HISTORY = "ledger-history"
HISTORY_ROWS = "ledger-history-rows"
HISTORY_OLDER = "ledger-history-older"
# The `before` of the next older page, None when every change is shown.
HISTORY_CURSOR = "ledger-history-cursor"
# A change's row in the table, as the tests find it.
CHANGE_CLASS = "ledger-change"

HISTORY_SHOWN = 10
OLDER_PAGE = 50
NO_CHANGES = "No change recorded yet."


def history_card(page: HistoryPage) -> dbc.Card:
    """The card of the portfolio's history with `page`, its latest changes, in its table."""
    rows, older_class, cursor = history_parts(page)
    return dbc.Card(
        dbc.CardBody(
            [
                html.Strong("History"),
                html.Span(" · newest first, times in UTC", className="small text-muted"),
                dcc.Store(id=HISTORY_CURSOR, data=cursor),
                dbc.Table(
                    [
                        html.Thead(html.Tr([html.Th("When"), html.Th("Who"), html.Th("What")])),
                        html.Tbody(rows, id=HISTORY_ROWS),
                    ],
                    size="sm",
                    className="small mt-2 mb-1",
                ),
                dbc.Button(
                    "Show older changes",
                    id=HISTORY_OLDER,
                    color="link",
                    size="sm",
                    className=older_class,
                ),
            ]
        ),
        id=HISTORY,
        className="mt-3",
    )


def history_parts(page: HistoryPage) -> tuple[list[html.Tr], str, int | None]:
    """The table's rows, the class of the "older" button (hidden at the end) and the cursor."""
    rows = change_rows(page.changes) or [html.Tr(html.Td(NO_CHANGES, colSpan=3))]
    return rows, _older_class(page), page.older


def change_rows(changes: list[Change]) -> list[html.Tr]:
    return [
        html.Tr(
            [
                html.Td(timestamp(change.at), className="text-nowrap"),
                html.Td(change.who),
                html.Td(change.summary),
            ],
            className=CHANGE_CLASS,
        )
        for change in changes
    ]


def latest_changes(app_context: AppContext, portfolio: PortfolioSummary) -> HistoryPage:
    """What the page is drawn with."""
    return history(app_context, portfolio, HISTORY_SHOWN)


def register_history_callbacks(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output(HISTORY_ROWS, "children"),
        Output(HISTORY_OLDER, "className"),
        Output(HISTORY_CURSOR, "data"),
        Input(ids.GRID, "rowData"),
        State(ids.PORTFOLIO, "data"),
        prevent_initial_call=True,
    )
    def reread(_rows, portfolio_id):
        """Every change on the page redraws the grid: read the latest changes again."""
        try:
            portfolio = get_portfolio(app_context, portfolio_id)
        except PortfolioNotFound:
            return history_parts(HistoryPage([], None))
        return history_parts(latest_changes(app_context, portfolio))

    @app.callback(
        Output(HISTORY_ROWS, "children", allow_duplicate=True),
        Output(HISTORY_OLDER, "className", allow_duplicate=True),
        Output(HISTORY_CURSOR, "data", allow_duplicate=True),
        Input(HISTORY_OLDER, "n_clicks"),
        State(ids.PORTFOLIO, "data"),
        State(HISTORY_CURSOR, "data"),
        prevent_initial_call=True,
    )
    def show_older(_clicks, portfolio_id, cursor):
        """Append the next OLDER_PAGE changes below those shown."""
        # The cursor comes back from the browser: anything but a change id asks for nothing.
        if not isinstance(cursor, int):
            raise PreventUpdate
        try:
            portfolio = get_portfolio(app_context, portfolio_id)
        except PortfolioNotFound:
            raise PreventUpdate from None
        page = history(app_context, portfolio, OLDER_PAGE, before=cursor)
        shown = Patch()
        shown.extend(change_rows(page.changes))
        return shown, _older_class(page), page.older


def _older_class(page: HistoryPage) -> str:
    return "p-0" if page.older is not None else "d-none"
