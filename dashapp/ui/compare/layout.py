"""The comparison page's layout: the question (portfolio, benchmarks, period), the chart's view,
the run and cancel buttons with the progress bar, and the places the result is drawn into."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.rules import PERIOD_CHOICES
from dashapp.services.comparison_requests import DEFAULT_BENCHMARKS, SUGGESTED_BENCHMARKS
from dashapp.services.context import AppContext
from dashapp.services.portfolios import PortfolioSummary, list_portfolios
from dashapp.ui.compare import ids
from dashapp.ui.compare.figures import VIEWS, blank_figure
from dashapp.ui.components import custom_dates, field_label, period_buttons
from dashapp.ui.job_controls import job_buttons, progress_bar


def layout(app_context: AppContext) -> html.Div:
    return page(list_portfolios(app_context))


def validation_state() -> html.Div:
    """The page drawn without reading anything, for `app.validation_layout`: its result is
    drawn into places that are there from the start, so no portfolio is needed."""
    return page([])


def page(portfolios: list[PortfolioSummary]) -> html.Div:
    """The page for a user with these portfolios, the first one chosen."""
    options = [{"label": p.name, "value": p.id} for p in portfolios]
    return html.Div(
        [
            html.H4("Portfolio vs ETFs", className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            field_label("Portfolio", ids.PORTFOLIO),
                            dcc.Dropdown(
                                id=ids.PORTFOLIO,
                                options=options,
                                value=portfolios[0].id if portfolios else None,
                                clearable=False,
                                placeholder="No portfolios yet",
                            ),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            html.Div(
                                "Benchmarks",
                                id=ids.BENCHMARKS_LABEL,
                                className="form-label small mb-0",
                            ),
                            # Check boxes, not a multi-select: every choice is in sight, and each
                            # is a native control with its own name for keyboards and readers.
                            html.Div(
                                dbc.Checklist(
                                    id=ids.BENCHMARKS,
                                    options=[
                                        {"label": t, "value": t} for t in SUGGESTED_BENCHMARKS
                                    ],
                                    value=list(DEFAULT_BENCHMARKS),
                                    inline=True,
                                ),
                                role="group",
                                **{"aria-labelledby": ids.BENCHMARKS_LABEL},
                            ),
                        ],
                        md=5,
                    ),
                    dbc.Col(
                        [
                            field_label("Add tickers", ids.EXTRA),
                            dbc.Input(
                                id=ids.EXTRA,
                                placeholder="e.g. VXUS, DIA",
                                debounce=True,
                                autoComplete="off",
                            ),
                            dbc.FormFeedback(id=ids.EXTRA_FEEDBACK, type="invalid"),
                        ],
                        md=4,
                    ),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div(
                                "Period",
                                className="form-label small mb-0",
                                id=ids.PERIOD_LABEL,
                            ),
                            period_buttons(ids.PERIOD, PERIOD_CHOICES, "1Y"),
                        ],
                        xs=12,
                        md="auto",
                    ),
                    dbc.Col(
                        [
                            html.Div(
                                "Custom dates (YYYY-MM-DD)", className="form-label small mb-0"
                            ),
                            custom_dates(ids.DATES),
                        ],
                        xs=12,
                        md="auto",
                    ),
                ],
                className="g-2 mb-2 align-items-end",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div("Chart", className="form-label small mb-0", id=ids.VIEW_LABEL),
                            dbc.RadioItems(
                                id=ids.VIEW,
                                options=[
                                    {"label": label, "value": key} for key, label in VIEWS.items()
                                ],
                                value="value",
                                inline=True,
                            ),
                        ],
                        xs=12,
                        md="auto",
                    ),
                    dbc.Col(job_buttons("Compare", ids.RUN, ids.CANCEL), xs=12, md="auto"),
                ],
                className="g-2 mb-2 align-items-end",
            ),
            progress_bar(ids.PROGRESS),
            html.Div(id=ids.MESSAGE, className="small mb-2", role="status"),
            dcc.Loading(
                dcc.Graph(
                    id=ids.CHART,
                    figure=blank_figure("Press Compare"),
                    config={"responsive": True},
                ),
                type="dot",
            ),
            html.Div(id=ids.METRICS, className="mt-3"),
            html.Div(id=ids.BREAKDOWN, className="mt-3"),
            dbc.Row(
                [
                    dbc.Col(
                        html.Label(
                            "Explain a number: the daily table of",
                            id=ids.EXPLAIN_SERIES_LABEL,
                            className="fw-bold",
                        ),
                        md="auto",
                    ),
                    dbc.Col(
                        dcc.Dropdown(id=ids.EXPLAIN_SERIES, placeholder="Portfolio or a benchmark"),
                        md=3,
                    ),
                ],
                className="g-2 mt-3 align-items-center",
            ),
            html.Div(id=ids.EXPLAIN_TABLE, className="mt-2"),
            dcc.Store(id=ids.RESULT),
            dcc.Store(id=ids.JOB),
        ]
    )
