"""The frame around every page: navigation bar, URL router and the page container."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

from dashapp.services.context import AppContext
from dashapp.ui import backtest, cache, compare, dashboard, portfolios, transactions
from dashapp.ui.components import demo_label


def layout(app_context: AppContext) -> html.Div:
    brand = [html.Span("StockTracker"), demo_label() if app_context.is_demo_data else None]
    return html.Div(
        [
            dcc.Location(id="url"),
            dbc.Navbar(
                dbc.Container(
                    [
                        dbc.NavbarBrand(brand, href="/"),
                        dbc.Nav(
                            [
                                dbc.NavLink("Dashboard", href="/", active="exact"),
                                dbc.NavLink("Compare with ETFs", href="/compare", active="exact"),
                                dbc.NavLink("Backtest", href="/backtest", active="exact"),
                                dbc.NavLink("Portfolios", href="/portfolios", active="partial"),
                                dbc.NavLink("Cache", href="/cache", active="exact"),
                            ],
                            navbar=True,
                        ),
                    ]
                ),
                color="dark",
                dark=True,
                className="mb-3",
            ),
            dbc.Container(html.Div(id="page-content"), fluid="xxl"),
        ]
    )


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    pages = {
        "/": dashboard.layout,
        "/compare": compare.layout,
        "/backtest": backtest.layout,
        "/portfolios": portfolios.layout,
        "/cache": cache.layout,
    }

    @app.callback(Output("page-content", "children"), Input("url", "pathname"))
    def route(pathname):
        path = (pathname or "/").rstrip("/") or "/"
        page = pages.get(path)
        if page is not None:
            return page(app_context)
        portfolio_id = transactions.portfolio_id_in(path)
        if portfolio_id is not None:
            return transactions.layout(app_context, portfolio_id)
        return dbc.Alert(
            ["Nothing lives at this address. ", dcc.Link("Go to the dashboard", href="/")],
            color="warning",
        )

    dashboard.register_callbacks(app, app_context)
    compare.register_callbacks(app, app_context)
    backtest.register_callbacks(app, app_context)
    portfolios.register_callbacks(app, app_context)
    transactions.register_callbacks(app, app_context)
    cache.register_callbacks(app, app_context)
