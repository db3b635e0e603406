"""The backtest page's layout: the form (subject, strategy, costs, period, sweep), the run and
cancel buttons with the progress bar, and the places the result is drawn into."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.rules import PERIOD_CHOICES
from dashapp.services.backtest_requests import SWEEP_METRICS
from dashapp.services.context import AppContext
from dashapp.services.portfolios import PortfolioSummary, list_portfolios
from dashapp.ui.backtest import ids
from dashapp.ui.backtest.figures import TRADE_COLUMNS, blank_figure
from dashapp.ui.backtest.words import METRIC_LABELS, STRATEGY_LABELS
from dashapp.ui.components import custom_dates, field_label, period_buttons
from dashapp.ui.job_controls import job_buttons, progress_bar

HIDDEN = {"display": "none"}
DRAWDOWN_STYLE = {"height": "280px"}


def layout(app_context: AppContext) -> html.Div:
    return page(list_portfolios(app_context))


def validation_state() -> html.Div:
    """The page drawn without reading anything, for `app.validation_layout`: its result is
    drawn into places that are there from the start, so no portfolio is needed."""
    return page([])


def page(portfolios: list[PortfolioSummary]) -> html.Div:
    """The page for a user with these portfolios, the first one chosen."""
    return html.Div(
        [
            html.H4("Backtest a strategy", className="mb-3"),
            dbc.Row(
                [
                    _choice(
                        ids.SUBJECT,
                        "Backtest",
                        {"ticker": "A ticker", "portfolio": "A portfolio's holdings"},
                        "ticker",
                    ),
                    _field(
                        ids.TICKER,
                        "Ticker",
                        dbc.Input(id=ids.TICKER, value="SPY", placeholder="e.g. AAPL"),
                        md=2,
                    ),
                    _field(
                        ids.PORTFOLIO,
                        "Portfolio",
                        dcc.Dropdown(
                            id=ids.PORTFOLIO,
                            options=[{"label": p.name, "value": p.id} for p in portfolios],
                            value=portfolios[0].id if portfolios else None,
                            placeholder="No portfolios yet",
                        ),
                        md=3,
                    ),
                    _field(
                        ids.STRATEGY,
                        "Strategy",
                        [
                            dcc.Dropdown(
                                id=ids.STRATEGY,
                                options=[
                                    {"label": v, "value": k} for k, v in STRATEGY_LABELS.items()
                                ],
                                value="sma_crossover",
                                clearable=False,
                                placeholder="Choose a strategy",
                            ),
                            html.Div(
                                id=ids.STRATEGY_NOTE,
                                className="small text-danger",
                                role="status",
                            ),
                        ],
                        md=3,
                    ),
                    _field(
                        ids.BENCHMARK,
                        "Benchmark ETF",
                        dbc.Input(id=ids.BENCHMARK, value="SPY"),
                        md=2,
                    ),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    _field(ids.FAST, "Fast SMA", _number(ids.FAST, 50, step=1), md=4, lg=2),
                    _field(ids.SLOW, "Slow SMA", _number(ids.SLOW, 200, step=1), md=4, lg=2),
                    _field(
                        ids.FREQUENCY,
                        "Rebalance",
                        dcc.Dropdown(
                            id=ids.FREQUENCY,
                            options=["monthly", "quarterly", "yearly"],
                            value="monthly",
                            clearable=False,
                        ),
                        md=4,
                        lg=2,
                    ),
                    _field(ids.AMOUNT, "Monthly amount", _number(ids.AMOUNT, 1000), md=4, lg=2),
                    _field(ids.CASH, "Cash", _number(ids.CASH, 100_000), md=4, lg=2),
                    _field(
                        ids.COMMISSION,
                        "Commission (fraction)",
                        _number(ids.COMMISSION, 0),
                        md=4,
                        lg=2,
                    ),
                    _field(ids.FIXED_FEE, "Fee per order", _number(ids.FIXED_FEE, 0), md=4, lg=2),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    _group(
                        ids.PERIOD,
                        "Period",
                        period_buttons(ids.PERIOD, PERIOD_CHOICES, "5Y"),
                        md="auto",
                    ),
                    _group(
                        ids.DATES,
                        "Custom dates (YYYY-MM-DD)",
                        custom_dates(ids.DATES),
                        md="auto",
                    ),
                    _choice(
                        ids.FILL,
                        "Orders fill at",
                        {"next_open": "next open", "close": "close"},
                        "next_open",
                    ),
                    _choice(
                        ids.CONTRIBUTIONS,
                        "Money",
                        {"lump": "lump sum", "mine": "my contributions"},
                        "lump",
                    ),
                    _switch(ids.WHOLE_SHARES, "Shares", "whole", "whole shares", on=True),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    _switch(ids.SWEEP, "Sweep", "sweep", "sweep the SMA windows", on=False),
                    _field(
                        ids.METRIC,
                        "Heatmap of",
                        dcc.Dropdown(
                            id=ids.METRIC,
                            options=[
                                {"label": METRIC_LABELS[m], "value": m} for m in SWEEP_METRICS
                            ],
                            value="total_return",
                            clearable=False,
                        ),
                        md=2,
                    ),
                    _group(
                        ids.FAST_WINDOWS,
                        "Fast windows",
                        _window_slider(ids.FAST_WINDOWS),
                        md=4,
                    ),
                    _group(
                        ids.SLOW_WINDOWS,
                        "Slow windows",
                        _window_slider(ids.SLOW_WINDOWS),
                        md=4,
                    ),
                ],
                className="g-2 mb-2",
            ),
            html.Div(job_buttons("Run backtest", ids.RUN, ids.CANCEL), className="mb-2"),
            progress_bar(ids.PROGRESS),
            html.Div(id=ids.MESSAGE, className="small mb-2", role="status"),
            dcc.Graph(id=ids.EQUITY, figure=blank_figure("Press Run backtest")),
            dcc.Graph(id=ids.DRAWDOWN, figure=blank_figure(""), style=HIDDEN),
            dcc.Graph(id=ids.HEATMAP, figure=blank_figure(""), style={"display": "none"}),
            html.Div(id=ids.METRICS, className="mt-3"),
            html.H5("Trades", className="h6 mt-3"),
            dag.AgGrid(
                id=ids.TRADES,
                rowData=[],
                columnDefs=TRADE_COLUMNS,
                defaultColDef={"sortable": True, "resizable": True, "filter": True},
                dashGridOptions={
                    "pagination": True,
                    "paginationPageSize": 20,
                    "domLayout": "autoHeight",
                    "localeText": {"noRowsToShow": "No trades to show"},
                },
                columnSize="responsiveSizeToFit",
                csvExportParams={"fileName": "backtest-trades.csv"},
            ),
            html.Div(id=ids.PROVENANCE, className="small text-muted mt-2"),
            dcc.Store(id=ids.RESULT),
            dcc.Store(id=ids.JOB),
        ]
    )


def _field(
    control: str, label: str, content: object, md: int | str, lg: int | None = None
) -> dbc.Col:
    """A labelled control in the column `ids.field(control)`; the label is bound to the control
    (a text box, a number box or a dropdown's button)."""
    contents = content if isinstance(content, list) else [content]
    return dbc.Col(
        [field_label(label, control), *contents],
        id=ids.field(control),
        xs=12,
        sm=6,
        md=md,
        lg=lg or md,
    )


def _group(control: str, label: str, content: object, md: int | str) -> dbc.Col:
    """A labelled group of radio buttons, switches or sliders, named by its label."""
    return dbc.Col(
        [
            html.Div(label, id=ids.label(control), className="form-label small mb-0"),
            html.Div(content, role="group", **{"aria-labelledby": ids.label(control)}),
        ],
        id=ids.field(control),
        xs=12,
        md=md,
    )


def _choice(control: str, label: str, options: dict[str, str], value: str) -> dbc.Col:
    """A labelled row of radio buttons; `options` maps each value to the words it shows."""
    return _group(
        control,
        label,
        dbc.RadioItems(
            id=control,
            options=[{"label": words, "value": key} for key, words in options.items()],
            value=value,
            inline=True,
        ),
        md="auto",
    )


def _switch(control: str, label: str, value: str, words: str, *, on: bool) -> dbc.Col:
    """A labelled switch; its value is `[value]` when on, `[]` when off."""
    return _group(
        control,
        label,
        dbc.Checklist(
            id=control,
            options=[{"label": words, "value": value}],
            value=[value] if on else [],
            switch=True,
        ),
        md="auto",
    )


def _number(component_id: str, value: float, step: float | str = "any") -> dbc.Input:
    # No min and any step for money: a browser hands Dash no value at all for a number below
    # the min or off the step (cash of 1234.56 with step 1), and the service's message for a
    # negative number is the one to show.
    return dbc.Input(id=component_id, type="number", value=value, step=step, size="sm")


def _window_slider(component_id: str) -> dcc.RangeSlider:
    return dcc.RangeSlider(
        id=component_id,
        min=2,
        max=250,
        step=1,
        value=[2, 100],
        marks={2: "2", 50: "50", 100: "100", 150: "150", 200: "200", 250: "250"},
        tooltip={"placement": "bottom"},
    )
