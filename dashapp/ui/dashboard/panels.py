"""The dashboard's three chart panels: value against benchmark ETFs, allocation and the day's
movers, each filled from the caches when drawn and with its own progress bar for the background
work that fills what the caches lack.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.services.comparison_requests import SUGGESTED_BENCHMARKS
from dashapp.services.dashboard import DashboardPage, DashboardSnapshot
from dashapp.services.dashboard_panels import PANEL_PERIODS, BenchmarkPanel
from dashapp.ui.dashboard import ids
from dashapp.ui.dashboard.figures import (
    allocation_bars,
    bar_placeholder,
    benchmark_figure,
    movers_bars,
    placeholder,
)

ALLOCATION_CHOICES = {"holding": "By holding", "currency": "By currency"}
ALLOCATION_NOTE = (
    "Exchange and asset type are not stored for these instruments yet, so allocation shows "
    "holdings and their ledger currency only."
)
SHOWN = {"visibility": "visible"}
HIDDEN = {"visibility": "hidden"}


def panels(page: DashboardPage) -> html.Div:
    """Three chart panels, filled from the caches when the layout is built, each with its own
    progress bar for the background work that fills what the caches lack."""
    snapshot = page.snapshot
    waiting = snapshot is not None and snapshot.prices_missing
    benchmark = page.benchmark_panel
    benchmark_options = sorted({*SUGGESTED_BENCHMARKS, *page.benchmarks})
    return html.Div(
        dbc.Row(
            [
                dbc.Col(
                    _panel_card(
                        "Your money against the same deposits in ETFs",
                        [
                            dbc.Row(
                                [
                                    dbc.Col(
                                        dcc.Dropdown(
                                            id=ids.PANEL_BENCHMARKS,
                                            options=benchmark_options,
                                            value=list(page.benchmarks),
                                            multi=True,
                                            clearable=False,
                                            placeholder="Benchmark ETFs",
                                        ),
                                        md=5,
                                    ),
                                    dbc.Col(
                                        dbc.RadioItems(
                                            id=ids.PANEL_PERIOD,
                                            className="btn-group period-buttons",
                                            inputClassName="btn-check",
                                            labelClassName="btn btn-outline-secondary btn-sm",
                                            labelCheckedClassName="active",
                                            options=[
                                                {"label": period, "value": period}
                                                for period in PANEL_PERIODS
                                            ],
                                            value=page.period,
                                        ),
                                        md=7,
                                        className="text-md-end",
                                    ),
                                ],
                                className="g-2 mb-1 align-items-center",
                            ),
                            _progress(ids.BENCHMARK_PROGRESS, shown=benchmark is None),
                            dcc.Graph(
                                id=ids.BENCHMARK_CHART,
                                figure=benchmark_figure(benchmark)
                                if benchmark
                                else placeholder("Computing…"),
                                config={"displayModeBar": False},
                            ),
                            html.Div(
                                panel_note(benchmark) if benchmark else None,
                                id=ids.BENCHMARK_MESSAGE,
                                className="small",
                            ),
                            dcc.Link("Full comparison with ETFs →", href="/compare"),
                        ],
                        ids.PANEL_BENCHMARK,
                    ),
                    lg=12,
                    className="mb-3",
                ),
                dbc.Col(
                    _panel_card(
                        "Allocation",
                        [
                            dbc.RadioItems(
                                id=ids.ALLOCATION_BY,
                                options=[
                                    {"label": label, "value": key}
                                    for key, label in ALLOCATION_CHOICES.items()
                                ],
                                value="holding",
                                inline=True,
                            ),
                            _progress(ids.ALLOCATION_PROGRESS, shown=waiting),
                            html.Div(
                                allocation_figure(snapshot, "holding"), id=ids.ALLOCATION_CHART
                            ),
                            html.Div(
                                ALLOCATION_NOTE,
                                className="small text-muted",
                                id=ids.ALLOCATION_NOTE,
                            ),
                        ],
                        ids.PANEL_ALLOCATION,
                    ),
                    lg=6,
                    className="mb-3",
                ),
                dbc.Col(
                    _panel_card(
                        "Today's biggest movers",
                        [
                            _progress(ids.MOVERS_PROGRESS, shown=waiting),
                            html.Div(movers_figure(snapshot), id=ids.MOVERS_CHART),
                        ],
                        ids.PANEL_MOVERS,
                    ),
                    lg=6,
                    className="mb-3",
                ),
            ]
        ),
        id=ids.PANELS,
        style={} if snapshot else {"display": "none"},
    )


def _panel_card(title: str, body: list, panel_id: str) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], id=panel_id, className="h-100")


def _progress(progress_id: str, shown: bool) -> dbc.Progress:
    return dbc.Progress(
        id=progress_id,
        value=5 if shown else 0,
        label="waiting for prices" if shown else "",
        striped=True,
        animated=True,
        className="mb-2 panel-progress",
        style=SHOWN if shown else HIDDEN,
    )


def allocation_figure(snapshot: DashboardSnapshot | None, by: str | None) -> html.Div:
    if snapshot is None:
        return bar_placeholder("")
    if snapshot.prices_missing and not snapshot.allocation.by_holding:
        return bar_placeholder("Waiting for prices…")
    return allocation_bars(snapshot.allocation, by or "holding")


def movers_figure(snapshot: DashboardSnapshot | None) -> html.Div:
    if snapshot is None:
        return bar_placeholder("")
    if snapshot.prices_missing and not snapshot.movers:
        return bar_placeholder("Waiting for prices…")
    return movers_bars(snapshot.movers)


def panel_note(panel: BenchmarkPanel) -> object:
    if panel.warnings:
        return dbc.Alert(
            [html.Div(text) for text in panel.warnings], color="warning", className="py-1 mb-1"
        )
    if panel.start and panel.end:
        return html.Span(f"From {panel.start} to {panel.end}.", className="text-muted")
    return None
