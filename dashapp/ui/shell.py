"""The frame around every page: navigation bar, URL router and the page container.

The layout already holds the page of the address the browser opened: the renderer fetches
`/_dash-layout` from that page, so the request's Referer names it. The router callback then
only answers later navigation; on the first load it sees the page it would draw is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import dash_bootstrap_components as dbc
import flask
from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashapp.accounts.csrf import TOKEN_FIELD, csrf_token
from dashapp.accounts.web import SIGN_OUT_PATH, signed_in_name
from dashapp.services.context import AppContext
from dashapp.ui import backtest, cache, compare, dashboard, portfolios, reports, transactions
from dashapp.ui.components import demo_label

# The frame's component ids: the address, the page's container and the path it holds.
URL = "url"
PAGE_CONTENT = "page-content"
RENDERED_PATH = "rendered-path"
# The navigation bar's links: text, address, and how the address marks the link active.
NAV_LINKS = (
    ("Dashboard", "/", "exact"),
    ("Compare with ETFs", "/compare", "exact"),
    ("Backtest", "/backtest", "exact"),
    ("Portfolios", "/portfolios", "partial"),
    ("Reports", "/reports", "exact"),
    ("Cache", "/cache", "exact"),
)


def layout(app_context: AppContext) -> html.Div:
    path = _opened_path()
    page = None if path is None else render_page(app_context, path)
    return frame(app_context.is_demo_data, path, page, signed_in_name())


def frame(is_demo: bool, path: str | None, page: object, signed_in: str | None = None) -> html.Div:
    """The navigation bar and the container holding `page`, drawn for the address `path`;
    with `signed_in`, the user's name and a sign-out button (AUTH=accounts)."""
    brand = [html.Span("StockTracker"), demo_label() if is_demo else None]
    return html.Div(
        [
            dcc.Location(id=URL),
            dbc.Navbar(
                dbc.Container(
                    [
                        dbc.NavbarBrand(brand, href="/"),
                        dbc.Nav(
                            [
                                dbc.NavLink(text, href=href, active=active)
                                for text, href, active in NAV_LINKS
                            ],
                            navbar=True,
                        ),
                        None if signed_in is None else _account_menu(signed_in),
                    ]
                ),
                color="dark",
                dark=True,
                className="mb-3",
            ),
            dbc.Container(
                html.Div(id=PAGE_CONTENT, children=page),
                fluid="xxl",
            ),
            dcc.Store(id=RENDERED_PATH, data=path),
        ]
    )


def _account_menu(username: str) -> html.Div:
    """Who is signed in, and a sign-out form: a POST from this page with the session's token."""
    return html.Div(
        [
            html.Span(f"Signed in as {username}", className="navbar-text me-2"),
            html.Form(
                [
                    dcc.Input(type="hidden", name=TOKEN_FIELD, value=csrf_token()),
                    html.Button(
                        "Sign out", type="submit", className="btn btn-outline-light btn-sm"
                    ),
                ],
                action=SIGN_OUT_PATH,
                method="POST",
                className="d-inline",
            ),
        ],
        id="account-menu",
        className="ms-auto d-flex align-items-center",
    )


def render_page(app_context: AppContext, pathname: str | None) -> object:
    path = _normalized(pathname)
    page = _pages().get(path)
    if page is not None:
        return page(app_context)
    portfolio_id = transactions.portfolio_id_in(path)
    if portfolio_id is not None:
        return transactions.layout(app_context, portfolio_id)
    reports_of = reports.portfolio_id_in(path)
    if reports_of is not None:
        return reports.layout(app_context, reports_of)
    return dbc.Alert(
        ["Nothing lives at this address. ", dcc.Link("Go to the dashboard", href="/")],
        color="warning",
    )


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output(PAGE_CONTENT, "children"),
        Output(RENDERED_PATH, "data"),
        Input(URL, "pathname"),
        State(RENDERED_PATH, "data"),
    )
    def route(pathname, rendered_path):
        if pathname is None:
            raise PreventUpdate  # dcc.Location reports the address once it is mounted
        path = _normalized(pathname)
        if rendered_path is not None and path == _normalized(rendered_path):
            raise PreventUpdate  # the layout drew this page already
        return render_page(app_context, path), path

    dashboard.register_callbacks(app, app_context)
    compare.register_callbacks(app, app_context)
    backtest.register_callbacks(app, app_context)
    portfolios.register_callbacks(app, app_context)
    transactions.register_callbacks(app, app_context)
    cache.register_callbacks(app, app_context)
    reports.register_callbacks(app, app_context)


def _pages() -> dict[str, Callable[[AppContext], object]]:
    return {
        "/": dashboard.layout,
        "/compare": compare.layout,
        "/backtest": backtest.layout,
        "/portfolios": portfolios.layout,
        "/cache": cache.layout,
        "/reports": reports.index_layout,
    }


def _normalized(pathname: str | None) -> str:
    return (pathname or "/").rstrip("/") or "/"


def _opened_path() -> str | None:
    """The address the browser opened, when the layout is built for it; None when unknown
    (no request, or a layout request without a Referer), and the router draws the page."""
    if not flask.has_request_context():
        return None
    request = flask.request
    if not request.path.endswith("/_dash-layout"):
        return None
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    return _normalized(parts.path)
