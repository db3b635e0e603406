"""The cache page's frame: overview cards, upkeep actions, the ticker grid, the upstream chart,
recent job runs and route latencies, redrawn every REFRESH_EVERY_MS. A user who is not an admin
sees Evict and Warm disabled, with a note saying why (the callbacks refuse them anyway)."""

from __future__ import annotations

from datetime import UTC, datetime

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashapp.services.cache_status import TICKER_COLUMNS, CacheSnapshot, snapshot
from dashapp.services.context import AppContext
from dashapp.telemetry.hit_tally import HitRate
from dashapp.ui.cache import ids
from dashapp.ui.cache.figures import upstream_figure
from dashapp.ui.cache.overview import overview
from dashapp.ui.cache.roles import READ_ONLY_NOTE, administers
from dashapp.ui.cache.tables import job_table, latency_table, ticker_grid
from dashapp.ui.components import confirm_modal
from dashapp.ui.job_controls import job_buttons, progress_bar

REFRESH_EVERY_MS = 15_000


def layout(app_context: AppContext) -> html.Div:
    return page(snapshot(app_context), administers=administers())


def validation_state() -> html.Div:
    """The page drawn without reading anything, for `app.validation_layout`: an empty cache, as
    its callbacks redraw into places that are there from the start."""
    nothing = HitRate(hits=0, misses=0)
    return page(
        CacheSnapshot(
            now=datetime.fromtimestamp(0, UTC),
            tickers=pd.DataFrame(columns=list(TICKER_COLUMNS)),
            hit_rates={"hour": nothing, "day": nothing},
            upstream=pd.DataFrame(columns=["hour", "outcome", "requests"]),
            breakers=[],
            budgets=[],
            job_runs=[],
            latencies=[],
        ),
        administers=True,
    )


def page(view: CacheSnapshot, *, administers: bool) -> html.Div:
    """The page showing what the cache held at one moment, with every action for an admin."""
    return html.Div(
        [
            html.H4("Price cache", className="mb-3"),
            html.Div(overview(view), id=ids.OVERVIEW),
            _actions(administers),
            ticker_grid(view.tickers),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Graph(
                            id=ids.UPSTREAM_CHART,
                            figure=upstream_figure(view.upstream, view.now),
                        ),
                        lg=6,
                    ),
                    dbc.Col(
                        [
                            html.H6("Recent job runs"),
                            html.Div(job_table(view.job_runs), id=ids.JOBS),
                        ],
                        lg=6,
                    ),
                ]
            ),
            html.H6(
                "Latency per route or callback (all processes since they started; "
                "quantiles interpolated within histogram buckets)",
                className="mt-3",
            ),
            html.Div(latency_table(view.latencies), id=ids.LATENCY),
            dcc.Interval(id=ids.TICK, interval=REFRESH_EVERY_MS),
            dcc.Store(id=ids.VERSION, data=0),
            _evict_modal(),
        ]
    )


def _actions(administers: bool) -> html.Div:
    warm, cancel = job_buttons("Warm everything now", ids.WARM, ids.WARM_CANCEL)
    warm.disabled = not administers
    note = (
        []
        if administers
        else [html.Div(READ_ONLY_NOTE, id=ids.READ_ONLY_NOTE, className="small text-muted mb-2")]
    )
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Input(
                            id=ids.TICKER,
                            placeholder="Ticker (click a row or type)",
                            debounce=False,
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Button(
                                "Refresh ticker", id=ids.REFRESH, size="sm", className="me-2"
                            ),
                            dbc.Button(
                                "Evict ticker…",
                                id=ids.EVICT,
                                size="sm",
                                color="outline-danger",
                                className="me-4",
                                disabled=not administers,
                            ),
                            warm,
                            cancel,
                        ],
                        md=9,
                    ),
                ],
                className="g-2 align-items-center mb-2",
            ),
            *note,
            progress_bar(ids.WARM_PROGRESS),
            html.Div(id=ids.MESSAGE, className="small mb-2"),
        ]
    )


def _evict_modal() -> dbc.Modal:
    return confirm_modal(
        ids.EVICT_MODAL,
        "Evict ticker",
        ids.EVICT_QUESTION,
        keep="Cancel",
        keep_id=ids.EVICT_CANCEL,
        confirm="Evict",
        confirm_id=ids.EVICT_CONFIRM,
    )
