"""The frame around every page: navigation bar, URL router and the page container."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

from dashapp.services.context import AppContext
from dashapp.ui import compare, dashboard
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
    pages = {"/": dashboard.layout, "/compare": compare.layout}

    @app.callback(Output("page-content", "children"), Input("url", "pathname"))
    def route(pathname):
        page = pages.get(pathname or "/")
        if page is None:
            return dbc.Alert(
                ["Nothing lives at this address. ", dcc.Link("Go to the dashboard", href="/")],
                color="warning",
            )
        return page(app_context)

    dashboard.register_callbacks(app, app_context)
    compare.register_callbacks(app, app_context)
