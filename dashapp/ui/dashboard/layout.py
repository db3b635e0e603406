"""The dashboard's layout: the portfolio bar, the portfolio (or the empty state) and the block of
chart panels and request stores that is mounted once the holdings are on screen.

The layout itself carries the numbers, from the read-model cache (services/dashboard.py);
`validation_states` draws every state of the page without data, for `app.validation_layout`.
"""

from __future__ import annotations

import json

import dash_bootstrap_components as dbc
from dash import dcc, html
from plotly.io.json import to_json_plotly

from dashapp.services.context import AppContext
from dashapp.services.dashboard import DashboardPage, dashboard_page
from dashapp.services.portfolios import PortfolioSummary
from dashapp.ui.dashboard import ids
from dashapp.ui.dashboard.background import benchmark_job, refresh_request, slot
from dashapp.ui.dashboard.holdings import render_view
from dashapp.ui.dashboard.panels import HIDDEN, panels

DEFAULT_PERIOD = "1Y"


def layout(app_context: AppContext) -> html.Div:
    return page_layout(dashboard_page(app_context, period=DEFAULT_PERIOD))


def page_layout(page: DashboardPage) -> html.Div:
    """The page for what `dashboard_page` read: the first portfolio, or the empty state."""
    snapshot = page.snapshot
    selected = snapshot.holdings.portfolio.id if snapshot else None
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id=ids.PORTFOLIO_SELECT,
                            options=options(list(page.portfolios)),
                            value=selected,
                            clearable=False,
                            placeholder="No portfolios yet",
                        ),
                        md=5,
                    ),
                    dbc.Col(
                        [
                            dbc.Button(
                                "Refresh prices",
                                id=ids.REFRESH_BUTTON,
                                color="outline-primary",
                                size="sm",
                                className="me-2",
                            ),
                            dbc.Button(
                                "Cancel",
                                id=ids.REFRESH_CANCEL,
                                color="link",
                                size="sm",
                                disabled=True,
                            ),
                            dbc.Progress(
                                id=ids.REFRESH_PROGRESS,
                                value=0,
                                striped=True,
                                animated=True,
                                className="mt-1 refresh-progress",
                                style=HIDDEN,
                            ),
                        ],
                        md=7,
                        className="text-end",
                    ),
                ],
                className="mb-3 align-items-center",
            ),
            html.Div(id=ids.REFRESH_STATUS, className="small text-muted mb-2"),
            html.Div(
                id=ids.DASHBOARD_BODY,
                children=render_view(snapshot.holdings) if snapshot else empty_state(),
            ),
            dcc.Store(id=ids.AUTO_REFRESHED, data=[]),
            # The charts and the background requests, mounted once the holdings are on screen.
            html.Div(id=ids.PANELS_SLOT),
            dcc.Store(
                id=ids.PANELS_BLOCK,
                data=_as_json(
                    _panels_block(
                        page,
                        slot(ids.REFRESH_REQUEST, refresh_request(snapshot)),
                        slot(ids.BENCHMARK_REQUEST, benchmark_job(page)),
                    )
                ),
            ),
        ]
    )


def validation_states() -> list[html.Div]:
    """Every state of the page drawn without data, for `app.validation_layout`: the page with no
    portfolio (its empty state's form), and the mounted panels block with both request stores,
    which the page carries only as data. Nothing is read: no database, cache or provider."""
    blank = DashboardPage((), None, (), DEFAULT_PERIOD, None)
    return [
        page_layout(blank),
        _panels_block(
            blank, [dcc.Store(id=ids.REFRESH_REQUEST)], [dcc.Store(id=ids.BENCHMARK_REQUEST)]
        ),
    ]


def _panels_block(page: DashboardPage, refresh: list, benchmark: list) -> html.Div:
    """The chart panels and the slots of the two request stores."""
    return html.Div(
        [
            panels(page),
            html.Div(refresh, id=ids.REFRESH_SLOT),
            html.Div(benchmark, id=ids.BENCHMARK_SLOT),
        ]
    )


def _as_json(component: object) -> dict:
    """A component tree as the JSON the renderer mounts (what a callback would send)."""
    return json.loads(to_json_plotly(component))


def empty_state() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H4("No portfolios yet", id=ids.NO_PORTFOLIOS),
                html.P("Create an empty portfolio, or load the demo portfolio to look around."),
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.Input(id=ids.NEW_PORTFOLIO_NAME, placeholder="Portfolio name"),
                            md=5,
                        ),
                        dbc.Col(
                            dbc.Input(id=ids.NEW_PORTFOLIO_CURRENCY, value="USD", maxLength=3),
                            md=2,
                        ),
                        dbc.Col(dbc.Button("Create", id=ids.CREATE_PORTFOLIO_BUTTON), md="auto"),
                        dbc.Col(
                            dbc.Button(
                                "Load demo portfolio", id=ids.LOAD_DEMO_BUTTON, color="secondary"
                            ),
                            md="auto",
                        ),
                    ],
                    className="g-2",
                ),
                html.Div(id=ids.CREATE_PORTFOLIO_FEEDBACK, className="mt-2"),
            ]
        ),
        id=ids.EMPTY_STATE,
    )


def options(portfolios: list[PortfolioSummary]) -> list[dict]:
    return [{"label": portfolio.name, "value": portfolio.id} for portfolio in portfolios]
