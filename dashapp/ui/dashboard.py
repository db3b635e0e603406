"""The dashboard page (`/`): portfolio selector, summary cards and the holdings table.

The first callback renders from the database only. A background callback fills the price cache
when something shown is stale or missing, then asks the first one to render again.
"""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp.services.context import AppContext
from dashapp.services.demo import seed_demo_portfolio
from dashapp.services.portfolios import (
    HoldingsView,
    InvalidInput,
    PortfolioNotFound,
    PortfolioSummary,
    create_portfolio,
    holdings_view,
    list_portfolios,
    refresh_portfolio_prices,
)
from dashapp.ui.components import change_class, demo_label, money, timestamp

GRID_FIELDS = (
    "ticker",
    "quantity",
    "average_cost",
    "price",
    "day_change",
    "day_change_pct",
    "market_value",
    "unrealized_gain",
    "unrealized_gain_pct",
    "weight",
    "freshness",
    "freshness_title",
)


def layout(app_context: AppContext) -> html.Div:
    portfolios = list_portfolios(app_context)
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id="portfolio-select",
                            options=_options(portfolios),
                            value=portfolios[0].id if portfolios else None,
                            clearable=False,
                            placeholder="No portfolios yet",
                        ),
                        md=5,
                    ),
                    dbc.Col(
                        [
                            dbc.Button(
                                "Refresh prices",
                                id="refresh-button",
                                color="outline-primary",
                                size="sm",
                                className="me-2",
                            ),
                            dbc.Button(
                                "Cancel",
                                id="refresh-cancel",
                                color="link",
                                size="sm",
                                disabled=True,
                            ),
                            dbc.Progress(
                                id="refresh-progress",
                                value=0,
                                striped=True,
                                animated=True,
                                className="mt-1 refresh-progress",
                                style={"visibility": "hidden"},
                            ),
                        ],
                        md=7,
                        className="text-end",
                    ),
                ],
                className="mb-3 align-items-center",
            ),
            html.Div(id="refresh-status", className="small text-muted mb-2"),
            html.Div(id="dashboard-body", children=_empty_state() if not portfolios else None),
            dcc.Store(id="refresh-request", data=None),
            dcc.Store(id="auto-refreshed", data=[]),
        ]
    )


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output("dashboard-body", "children"),
        Output("refresh-request", "data"),
        Input("portfolio-select", "value"),
        Input("refresh-button", "n_clicks"),
        State("auto-refreshed", "data"),
    )
    def render_holdings(portfolio_id, _clicks, auto_refreshed):
        if portfolio_id is None:
            return _empty_state(), no_update
        try:
            view = holdings_view(app_context, int(portfolio_id))
        except PortfolioNotFound:
            return dbc.Alert("This portfolio no longer exists.", color="warning"), no_update
        if ctx.triggered_id == "refresh-button":
            request = {"portfolio_id": view.portfolio.id, "manual": True}
        elif _needs_refresh(view) and view.portfolio.id not in (auto_refreshed or []):
            request = {"portfolio_id": view.portfolio.id, "manual": False}
        else:
            request = no_update
        return render_view(view), request

    # The refreshed view is drawn by the job itself: feeding its result back into
    # render_holdings would make a loop of callbacks, which Dash refuses to run.
    @app.callback(
        Output("dashboard-body", "children", allow_duplicate=True),
        Output("refresh-status", "children"),
        Output("auto-refreshed", "data"),
        Input("refresh-request", "data"),
        State("auto-refreshed", "data"),
        background=True,
        interval=300,
        running=[
            (Output("refresh-button", "disabled"), True, False),
            (Output("refresh-cancel", "disabled"), False, True),
            (
                Output("refresh-progress", "style"),
                {"visibility": "visible"},
                {"visibility": "hidden"},
            ),
        ],
        progress=[Output("refresh-progress", "value"), Output("refresh-progress", "label")],
        progress_default=[0, ""],
        cancel=[Input("refresh-cancel", "n_clicks")],
        prevent_initial_call=True,
    )
    def refresh_prices(set_progress, request, auto_refreshed):
        if not request:
            raise PreventUpdate
        portfolio_id = int(request["portfolio_id"])
        set_progress((10, "fetching prices"))
        errors = refresh_portfolio_prices(app_context, portfolio_id)
        set_progress((90, "drawing"))
        view = holdings_view(app_context, portfolio_id)
        attempted = sorted({*(auto_refreshed or []), portfolio_id})
        return render_view(view), _refresh_message(errors), attempted

    @app.callback(
        Output("portfolio-select", "options"),
        Output("portfolio-select", "value"),
        Output("create-portfolio-feedback", "children"),
        Input("create-portfolio-button", "n_clicks"),
        Input("load-demo-button", "n_clicks"),
        State("new-portfolio-name", "value"),
        State("new-portfolio-currency", "value"),
        prevent_initial_call=True,
    )
    def add_portfolio(_create_clicks, _demo_clicks, name, currency):
        if ctx.triggered_id == "load-demo-button":
            portfolio_id = seed_demo_portfolio(app_context)
        else:
            try:
                portfolio_id = create_portfolio(app_context, name or "", currency or "USD").id
            except InvalidInput as error:
                return (
                    no_update,
                    no_update,
                    dbc.Alert(error.reason, color="danger", className="py-1"),
                )
        return _options(list_portfolios(app_context)), portfolio_id, None


def render_view(view: HoldingsView) -> html.Div:
    """Summary cards and holdings table of one portfolio (or its empty state)."""
    header = html.H4(
        [
            view.portfolio.name,
            demo_label() if view.is_demo else None,
            dcc.Link("Compare with ETFs →", href="/compare", className="fs-6 ms-3"),
            dcc.Link(
                "Transactions →", href=f"/portfolios/{view.portfolio.id}", className="fs-6 ms-3"
            ),
        ],
        className="portfolio-title mb-3",
    )
    if view.holdings.empty:
        return html.Div(
            [
                header,
                dbc.Alert(
                    "This portfolio has no holdings yet. Add a transaction or import a CSV to start.",
                    color="light",
                    id="empty-portfolio",
                ),
            ]
        )
    return html.Div([header, _summary_cards(view), _holdings_table(view)])


def _summary_cards(view: HoldingsView) -> dbc.Row:
    totals = view.totals
    currency = view.portfolio.base_currency
    missing = totals.get("missing_tickers") or []
    note = (
        html.Div(
            f"Totals exclude {len(missing)} holding(s) without a price: {', '.join(missing)}",
            className="small text-warning",
            id="totals-note",
        )
        if missing
        else None
    )
    cards = [
        ("Market value", money(totals["market_value"], currency), None, "card-market-value"),
        (
            "Day change",
            money(totals["day_change"], currency, signed=True),
            totals["day_change"],
            "card-day-change",
        ),
        (
            "Total gain",
            money(totals["total_gain"], currency, signed=True),
            totals["total_gain"],
            "card-total-gain",
        ),
        (
            "Unrealized gain",
            money(totals["unrealized_gain"], currency, signed=True),
            totals["unrealized_gain"],
            "card-unrealized-gain",
        ),
    ]
    if totals.get("cash") is not None:
        cards.append(("Cash", money(totals["cash"], currency), None, "card-cash"))
    return dbc.Row(
        [
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.Div(title, className="text-muted small"),
                            html.Div(text, className=f"fs-4 {change_class(sign)}", id=card_id),
                        ]
                    )
                ),
                md=12 // len(cards),
                className="mb-2",
            )
            for title, text, sign, card_id in cards
        ]
        + [dbc.Col(note, md=12)],
        className="mb-3",
    )


def _holdings_table(view: HoldingsView) -> dag.AgGrid:
    """One grid component with plain row data: a thousand holdings stay one small JSON payload,
    and the browser sorts, filters and virtualises the rows."""
    rows = view.holdings.assign(
        as_of=view.holdings["as_of"].map(timestamp),
        fetched_at=view.holdings["fetched_at"].map(timestamp),
        source=view.holdings["source"].fillna("none"),
    )
    rows["freshness_title"] = (
        rows["freshness"]
        + ": "
        + rows["freshness_reason"]
        + "\nas of "
        + rows["as_of"]
        + "\nfetched "
        + rows["fetched_at"]
        + "\nsource: "
        + rows["source"]
    )
    records = rows[list(GRID_FIELDS)].astype(object).where(rows[list(GRID_FIELDS)].notna(), None)
    return dag.AgGrid(
        id="holdings-table",
        rowData=records.to_dict("records"),
        columnDefs=_column_defs(view.portfolio.base_currency),
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 115},
        rowClass="holding-row",
        getRowId="params.data.ticker",
        dashGridOptions={"domLayout": "autoHeight", "animateRows": False},
        columnSize="responsiveSizeToFit",
        style={"width": "100%"},
    )


def _column_defs(currency: str) -> list[dict]:
    symbol = "$" if currency == "USD" else f"{currency} "
    money_format = {"function": f"formatMoney(params.value, '{symbol}')"}
    signed_money = {"function": f"formatMoney(params.value, '{symbol}', true)"}
    percent_format = {"function": "formatPercent(params.value, true)"}
    change_style = {"function": "changeStyle(params.value)"}
    return [
        {"field": "ticker", "headerName": "Ticker", "cellClass": "fw-bold", "minWidth": 100},
        {
            "field": "quantity",
            "headerName": "Shares",
            "type": "numericColumn",
            "valueFormatter": {"function": "formatQuantity(params.value)"},
        },
        {
            "field": "average_cost",
            "headerName": "Avg cost",
            "type": "numericColumn",
            "valueFormatter": money_format,
        },
        {
            "field": "price",
            "headerName": "Last price",
            "cellRenderer": "PriceWithBadge",
            "cellRendererParams": {"currency": symbol},
            "minWidth": 170,
        },
        {
            "field": "day_change",
            "headerName": "Day change",
            "type": "numericColumn",
            "minWidth": 130,
            "valueFormatter": signed_money,
            "cellStyle": change_style,
        },
        {
            "field": "day_change_pct",
            "headerName": "Day %",
            "type": "numericColumn",
            "valueFormatter": percent_format,
            "cellStyle": change_style,
        },
        {
            "field": "market_value",
            "headerName": "Market value",
            "type": "numericColumn",
            "minWidth": 140,
            "valueFormatter": money_format,
            "sort": "desc",
        },
        {
            "field": "unrealized_gain",
            "headerName": "Unrealized gain",
            "type": "numericColumn",
            "minWidth": 150,
            "valueFormatter": signed_money,
            "cellStyle": change_style,
        },
        {
            "field": "unrealized_gain_pct",
            "headerName": "Gain %",
            "type": "numericColumn",
            "valueFormatter": percent_format,
            "cellStyle": change_style,
        },
        {
            "field": "weight",
            "headerName": "Weight",
            "type": "numericColumn",
            "valueFormatter": {"function": "formatPercent(params.value, false)"},
        },
        {"field": "freshness", "headerName": "Freshness", "hide": True},
    ]


def _empty_state() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H4("No portfolios yet", id="no-portfolios"),
                html.P("Create an empty portfolio, or load the demo portfolio to look around."),
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.Input(id="new-portfolio-name", placeholder="Portfolio name"), md=5
                        ),
                        dbc.Col(
                            dbc.Input(id="new-portfolio-currency", value="USD", maxLength=3), md=2
                        ),
                        dbc.Col(dbc.Button("Create", id="create-portfolio-button"), md="auto"),
                        dbc.Col(
                            dbc.Button(
                                "Load demo portfolio", id="load-demo-button", color="secondary"
                            ),
                            md="auto",
                        ),
                    ],
                    className="g-2",
                ),
                html.Div(id="create-portfolio-feedback", className="mt-2"),
            ]
        ),
        id="empty-state",
    )


def _options(portfolios: list[PortfolioSummary]) -> list[dict]:
    return [{"label": portfolio.name, "value": portfolio.id} for portfolio in portfolios]


def _needs_refresh(view: HoldingsView) -> bool:
    return bool(view.holdings["freshness"].isin(["stale", "missing"]).any())


def _refresh_message(errors: dict[str, str]) -> str:
    if not errors:
        return "Prices refreshed."
    names = ", ".join(sorted(errors)[:5])
    more = f" and {len(errors) - 5} more" if len(errors) > 5 else ""
    return f"Could not refresh {names}{more}; showing cached prices."
