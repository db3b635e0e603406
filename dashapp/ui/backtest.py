"""The backtest page (`/backtest`): would a simple rule have done better than buy-and-hold?

A result for the same question and prices comes straight from the cache, and one whose prices
are all cached is computed at once (milliseconds). When prices must be fetched first, a
background callback fetches and computes, moving a progress bar; it can be cancelled. The
equity curve is drawn against buy-and-hold of the same asset and the same money in a benchmark
ETF; a sweep draws a heatmap of the chosen metric over the window grid.
"""

from __future__ import annotations

import re
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp.services.answers import Ready
from dashapp.services.backtest_requests import (
    BASKET_STRATEGIES,
    PERIOD_CHOICES,
    SWEEP_METRICS,
    TICKER_STRATEGIES,
    parse_backtest_request,
)
from dashapp.services.backtests import LOWER_IS_BETTER, answer, run_backtest
from dashapp.services.context import AppContext
from dashapp.services.portfolios import InvalidInput, PortfolioNotFound, list_portfolios
from dashapp.ui.components import field_label, period_buttons

STRATEGY_LABELS = {
    "sma_crossover": "SMA crossover",
    "buy_and_hold": "Buy and hold",
    "rebalance": "Rebalance the basket",
    "dca": "Dollar-cost averaging",
}
METRIC_LABELS = {
    "total_return": "Total return",
    "cagr": "CAGR",
    "volatility": "Volatility",
    "sharpe": "Sharpe",
    "sortino": "Sortino",
    "max_drawdown": "Max drawdown",
    "calmar": "Calmar",
    "trades": "Trades",
    "invested": "Money put in",
    "final_equity": "Final equity",
}
PERCENT_METRICS = {"total_return", "cagr", "volatility", "max_drawdown"}
MONEY_METRICS = {"invested", "final_equity"}
# The form's label of each request field, so that an error names what the user sees.
FIELD_LABELS = {
    "ticker": "Ticker",
    "portfolio_id": "Portfolio",
    "strategy": "Strategy",
    "fast": "Fast SMA",
    "slow": "Slow SMA",
    "frequency": "Rebalance",
    "amount": "Monthly amount",
    "period": "Period",
    "start": "Custom dates",
    "end": "Custom dates",
    "cash": "Cash",
    "commission": "Commission (fraction)",
    "fixed_fee": "Fee per order",
    "fill": "Orders fill at",
    "whole_shares": "Shares",
    "contributions": "Money",
    "benchmark": "Benchmark ETF",
    "sweep": "Sweep",
    "metric": "Heatmap of",
    "fast_windows": "Fast windows",
    "slow_windows": "Slow windows",
}
# Internal names a service message may hold -> the words the form uses for them.
WORDS = {
    **{key: label for key, label in STRATEGY_LABELS.items()},
    "the portfolio_id": "the portfolio",
    "a portfolio_id": "a portfolio",
    "portfolio_id": "portfolio",
    "'mine'": "'my contributions'",
    "'lump'": "'lump sum'",
    "fast_windows": "fast windows",
    "slow_windows": "slow windows",
    "next_open": "next open",
}
INTERNAL_NAMES = re.compile("|".join(re.escape(name) for name in WORDS))
# Form value name -> (component id, property) the run callback reads.
FORM_FIELDS = {
    "subject": ("backtest-subject", "value"),
    "ticker": ("backtest-ticker", "value"),
    "portfolio": ("backtest-portfolio", "value"),
    "strategy": ("backtest-strategy", "value"),
    "fast": ("backtest-fast", "value"),
    "slow": ("backtest-slow", "value"),
    "frequency": ("backtest-frequency", "value"),
    "amount": ("backtest-amount", "value"),
    "period": ("backtest-period", "value"),
    "dates-start": ("backtest-dates", "start_date"),
    "dates-end": ("backtest-dates", "end_date"),
    "cash": ("backtest-cash", "value"),
    "commission": ("backtest-commission", "value"),
    "fixed-fee": ("backtest-fixed-fee", "value"),
    "fill": ("backtest-fill", "value"),
    "whole-shares": ("backtest-whole-shares", "value"),
    "contributions": ("backtest-contributions", "value"),
    "benchmark": ("backtest-benchmark", "value"),
    "sweep": ("backtest-sweep", "value"),
    "metric": ("backtest-metric", "value"),
    "fast-windows": ("backtest-fast-windows", "value"),
    "slow-windows": ("backtest-slow-windows", "value"),
}


def layout(app_context: AppContext) -> html.Div:
    portfolios = list_portfolios(app_context)
    return html.Div(
        [
            html.H4("Backtest a strategy", className="mb-3"),
            dbc.Row(
                [
                    _group(
                        "subject",
                        "Backtest",
                        dbc.RadioItems(
                            id="backtest-subject",
                            options=[
                                {"label": "A ticker", "value": "ticker"},
                                {"label": "A portfolio's holdings", "value": "portfolio"},
                            ],
                            value="ticker",
                            inline=True,
                        ),
                        md="auto",
                    ),
                    _field(
                        "ticker",
                        "Ticker",
                        dbc.Input(id="backtest-ticker", value="SPY", placeholder="e.g. AAPL"),
                        md=2,
                    ),
                    _field(
                        "portfolio",
                        "Portfolio",
                        dcc.Dropdown(
                            id="backtest-portfolio",
                            options=[{"label": p.name, "value": p.id} for p in portfolios],
                            value=portfolios[0].id if portfolios else None,
                            placeholder="No portfolios yet",
                        ),
                        md=3,
                    ),
                    _field(
                        "strategy",
                        "Strategy",
                        [
                            dcc.Dropdown(
                                id="backtest-strategy",
                                options=[
                                    {"label": v, "value": k} for k, v in STRATEGY_LABELS.items()
                                ],
                                value="sma_crossover",
                                clearable=False,
                                placeholder="Choose a strategy",
                            ),
                            html.Div(
                                id="backtest-strategy-note",
                                className="small text-danger",
                                role="status",
                            ),
                        ],
                        md=3,
                    ),
                    _field(
                        "benchmark",
                        "Benchmark ETF",
                        dbc.Input(id="backtest-benchmark", value="SPY"),
                        md=2,
                    ),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    _field("fast", "Fast SMA", _number("backtest-fast", 50, step=1), md=4, lg=2),
                    _field("slow", "Slow SMA", _number("backtest-slow", 200, step=1), md=4, lg=2),
                    _field(
                        "frequency",
                        "Rebalance",
                        dcc.Dropdown(
                            id="backtest-frequency",
                            options=["monthly", "quarterly", "yearly"],
                            value="monthly",
                            clearable=False,
                        ),
                        md=4,
                        lg=2,
                    ),
                    _field(
                        "amount", "Monthly amount", _number("backtest-amount", 1000), md=4, lg=2
                    ),
                    _field("cash", "Cash", _number("backtest-cash", 100_000), md=4, lg=2),
                    _field(
                        "commission",
                        "Commission (fraction)",
                        _number("backtest-commission", 0),
                        md=4,
                        lg=2,
                    ),
                    _field(
                        "fixed-fee", "Fee per order", _number("backtest-fixed-fee", 0), md=4, lg=2
                    ),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    _group(
                        "period",
                        "Period",
                        period_buttons("backtest-period", PERIOD_CHOICES, "5Y"),
                        md="auto",
                    ),
                    _group(
                        "dates",
                        "Custom dates (YYYY-MM-DD)",
                        dcc.DatePickerRange(
                            id="backtest-dates",
                            display_format="YYYY-MM-DD",
                            start_date_placeholder_text="From",
                            end_date_placeholder_text="To",
                        ),
                        md="auto",
                    ),
                    _group(
                        "fill",
                        "Orders fill at",
                        dbc.RadioItems(
                            id="backtest-fill",
                            options=[
                                {"label": "next open", "value": "next_open"},
                                {"label": "close", "value": "close"},
                            ],
                            value="next_open",
                            inline=True,
                        ),
                        md="auto",
                    ),
                    _group(
                        "contributions",
                        "Money",
                        dbc.RadioItems(
                            id="backtest-contributions",
                            options=[
                                {"label": "lump sum", "value": "lump"},
                                {"label": "my contributions", "value": "mine"},
                            ],
                            value="lump",
                            inline=True,
                        ),
                        md="auto",
                    ),
                    _group(
                        "whole-shares",
                        "Shares",
                        dbc.Checklist(
                            id="backtest-whole-shares",
                            options=[{"label": "whole shares", "value": "whole"}],
                            value=["whole"],
                            switch=True,
                        ),
                        md="auto",
                    ),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    _group(
                        "sweep",
                        "Sweep",
                        dbc.Checklist(
                            id="backtest-sweep",
                            options=[{"label": "sweep the SMA windows", "value": "sweep"}],
                            value=[],
                            switch=True,
                        ),
                        md="auto",
                    ),
                    _field(
                        "metric",
                        "Heatmap of",
                        dcc.Dropdown(
                            id="backtest-metric",
                            options=[
                                {"label": METRIC_LABELS[m], "value": m} for m in SWEEP_METRICS
                            ],
                            value="total_return",
                            clearable=False,
                        ),
                        md=2,
                    ),
                    _group(
                        "fast-windows",
                        "Fast windows",
                        _window_slider("backtest-fast-windows"),
                        md=4,
                    ),
                    _group(
                        "slow-windows",
                        "Slow windows",
                        _window_slider("backtest-slow-windows"),
                        md=4,
                    ),
                ],
                className="g-2 mb-2",
            ),
            html.Div(
                [
                    dbc.Button(
                        "Run backtest", id="backtest-run", color="primary", size="sm", n_clicks=0
                    ),
                    dbc.Button(
                        "Cancel",
                        id="backtest-cancel",
                        color="link",
                        size="sm",
                        disabled=True,
                        className="ms-2",
                    ),
                ],
                className="mb-2",
            ),
            dbc.Progress(
                id="backtest-progress",
                value=0,
                striped=True,
                animated=True,
                className="mb-2",
                style={"visibility": "hidden"},
            ),
            html.Div(id="backtest-message", className="small mb-2", role="status"),
            dcc.Graph(id="backtest-equity", figure=blank_figure("Press Run backtest")),
            dcc.Graph(id="backtest-drawdown", figure=blank_figure(""), style=HIDDEN),
            dcc.Graph(id="backtest-heatmap", figure=blank_figure(""), style={"display": "none"}),
            html.Div(id="backtest-metrics", className="mt-3"),
            html.H5("Trades", className="h6 mt-3"),
            dag.AgGrid(
                id="backtest-trades",
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
            html.Div(id="backtest-provenance", className="small text-muted mt-2"),
            dcc.Store(id="backtest-result"),
            dcc.Store(id="backtest-job"),
        ]
    )


# The form's fields, each in a column with the id "backtest-<name>-field" that is shown only
# when the chosen subject and strategy use it (see `shown_fields`).
TOGGLED_FIELDS = (
    "ticker",
    "portfolio",
    "fast",
    "slow",
    "frequency",
    "amount",
    "cash",
    "dates",
    "sweep",
    "metric",
    "fast-windows",
    "slow-windows",
)


def shown_fields(subject, strategy, sweep, period, contributions) -> set[str]:
    """The toggled fields the request would read: a ticker or a portfolio, the SMA windows and
    the sweep for an SMA crossover only, the frequency for rebalancing, the monthly amount for
    DCA, the cash for a lump sum, custom dates for a custom period."""
    shown = {"ticker"} if subject != "portfolio" else {"portfolio"}
    if contributions == "mine":
        shown.add("portfolio")
    if strategy == "sma_crossover":
        shown |= {"fast", "slow", "sweep"}
        if sweep:
            shown |= {"metric", "fast-windows", "slow-windows"}
    if strategy == "rebalance":
        shown.add("frequency")
    if strategy == "dca":
        shown.add("amount")
    elif contributions != "mine":
        shown.add("cash")
    if period == "CUSTOM":
        shown.add("dates")
    return shown


HIDDEN = {"display": "none"}
# What the result store holds while no result answers the form: the chart says why.
CLEARED = {"warnings": ["Nothing to show: see the message above."]}
COMPUTING = {"warnings": ["Computing in the background…"]}
DRAWDOWN_STYLE = {"height": "280px"}
TRADE_COLUMNS = [
    {"field": "ticker"},
    {"field": "entry_time", "headerName": "Entry"},
    {
        "field": "entry_price",
        "headerName": "Entry price",
        "valueFormatter": {"function": "formatMoney(params.value, '')"},
    },
    {"field": "exit_time", "headerName": "Exit"},
    {
        "field": "exit_price",
        "headerName": "Exit price",
        "valueFormatter": {"function": "formatMoney(params.value, '')"},
    },
    {"field": "size", "valueFormatter": {"function": "formatQuantity(params.value)"}},
    {
        "field": "pnl",
        "headerName": "P&L",
        "valueFormatter": {"function": "formatMoney(params.value, '', true)"},
    },
    {
        "field": "return_pct",
        "headerName": "Return",
        "valueFormatter": {"function": "formatPercent(params.value, true)"},
    },
]


def form_request(values: dict[str, Any]) -> dict[str, Any]:
    """The service's request from the form's values (keyed by FORM_FIELDS)."""
    by_ticker = values.get("subject") != "portfolio"
    mine = values.get("contributions") == "mine"
    sweep = bool(values.get("sweep"))
    raw = {
        "ticker": values.get("ticker") if by_ticker else None,
        "portfolio_id": values.get("portfolio") if (mine or not by_ticker) else None,
        "strategy": values.get("strategy"),
        "fast": values.get("fast"),
        "slow": values.get("slow"),
        "frequency": values.get("frequency"),
        "amount": values.get("amount"),
        "period": values.get("period"),
        "start": values.get("dates-start") if values.get("period") == "CUSTOM" else None,
        "end": values.get("dates-end") if values.get("period") == "CUSTOM" else None,
        "cash": values.get("cash"),
        "commission": values.get("commission"),
        "fixed_fee": values.get("fixed-fee"),
        "fill": values.get("fill"),
        "whole_shares": "whole" in (values.get("whole-shares") or []),
        "contributions": values.get("contributions"),
        "benchmark": values.get("benchmark"),
        "sweep": sweep,
    }
    if sweep:
        raw |= {
            "metric": values.get("metric"),
            "fast_windows": values.get("fast-windows"),
            "slow_windows": values.get("slow-windows"),
        }
    return {name: value for name, value in raw.items() if value is not None}


def blank_number(values: dict[str, Any]) -> str | None:
    """The request field of the first number box the strategy uses that is empty: a browser
    gives no value for an empty box or one it cannot read, and the form must not quietly run
    the default instead."""
    used = ["commission", "fixed-fee"]
    if values.get("strategy") == "sma_crossover":
        used += ["fast", "slow"]
    if values.get("strategy") == "dca":
        used.append("amount")
    elif values.get("contributions") != "mine":
        used.append("cash")
    blank = next((name for name in used if values.get(name) is None), None)
    return None if blank is None else blank.replace("-", "_")


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    form_states = [State(component, prop) for component, prop in FORM_FIELDS.values()]

    @app.callback(
        Output("backtest-strategy", "options"),
        Output("backtest-strategy", "value"),
        Output("backtest-strategy-note", "children"),
        Input("backtest-subject", "value"),
        Input("backtest-strategy", "value"),
    )
    def choose_subject(subject, strategy):
        """A ticker runs SMA, buy-and-hold or DCA; a portfolio's basket is held or rebalanced.
        A strategy the new subject cannot run is cleared with a note saying why, never
        swapped for another one behind the user's back."""
        allowed = BASKET_STRATEGIES if subject == "portfolio" else TICKER_STRATEGIES
        options = [{"label": STRATEGY_LABELS[name], "value": name} for name in allowed]
        if strategy is None or strategy in allowed:
            return options, no_update, ""
        return options, None, strategy_note(subject, strategy)

    @app.callback(
        [Output(f"backtest-{name}-field", "style") for name in TOGGLED_FIELDS],
        Input("backtest-subject", "value"),
        Input("backtest-strategy", "value"),
        Input("backtest-sweep", "value"),
        Input("backtest-period", "value"),
        Input("backtest-contributions", "value"),
    )
    def show_fields(subject, strategy, sweep, period, contributions):
        shown = shown_fields(subject, strategy, bool(sweep), period, contributions)
        return [None if name in shown else HIDDEN for name in TOGGLED_FIELDS]

    @app.callback(
        Output("backtest-result", "data"),
        Output("backtest-job", "data"),
        Output("backtest-message", "children"),
        Input("backtest-run", "n_clicks"),
        *form_states,
        prevent_initial_call=True,
    )
    def ask(_clicks, *values):
        """Answer from the cache, or at once when every price is cached; else start a job."""
        form = dict(zip(FORM_FIELDS, values, strict=True))
        # Whatever happens, the last run's results leave the page: they answered another question.
        if form["subject"] == "portfolio" and form["portfolio"] is None:
            return CLEARED, no_update, invalid(InvalidInput("portfolio_id", "choose a portfolio"))
        if form["strategy"] is None:
            return CLEARED, no_update, invalid(InvalidInput("strategy", "choose a strategy"))
        blank = blank_number(form)
        if blank is not None:
            whole = " (a whole number of sessions)" if blank in ("fast", "slow") else ""
            return CLEARED, no_update, invalid(InvalidInput(blank, f"enter a number{whole}"))
        raw = form_request(form)
        try:
            answered = answer(app_context, parse_backtest_request(raw))
        except InvalidInput as error:
            return CLEARED, no_update, invalid(error)
        except PortfolioNotFound:
            return None, no_update, "This portfolio no longer exists."
        if isinstance(answered, Ready):
            return answered.result, no_update, summary(answered.result)
        return COMPUTING, raw, "Fetching prices and computing in the background…"

    @app.callback(
        Output("backtest-result", "data", allow_duplicate=True),
        Output("backtest-message", "children", allow_duplicate=True),
        Input("backtest-job", "data"),
        background=True,
        interval=200,
        running=[
            (Output("backtest-run", "disabled"), True, False),
            (Output("backtest-cancel", "disabled"), False, True),
            (
                Output("backtest-progress", "style"),
                {"visibility": "visible"},
                {"visibility": "hidden"},
            ),
        ],
        progress=[Output("backtest-progress", "value"), Output("backtest-progress", "label")],
        progress_default=[0, ""],
        cancel=[Input("backtest-cancel", "n_clicks")],
        prevent_initial_call=True,
    )
    def run_job(set_progress, raw):
        if not raw:
            raise PreventUpdate
        try:
            result = run_backtest(
                app_context,
                parse_backtest_request(raw),
                fetch=True,
                progress=lambda percent, stage: set_progress((percent, f"{stage} {percent} %")),
            )
        except InvalidInput as error:
            return no_update, invalid(error)
        except PortfolioNotFound:
            return None, "This portfolio no longer exists."
        set_progress((100, "done"))
        return result, summary(result)

    @app.callback(
        Output("backtest-equity", "figure"),
        Output("backtest-drawdown", "figure"),
        Output("backtest-drawdown", "style"),
        Output("backtest-heatmap", "figure"),
        Output("backtest-heatmap", "style"),
        Output("backtest-metrics", "children"),
        Output("backtest-trades", "rowData"),
        Output("backtest-provenance", "children"),
        Input("backtest-result", "data"),
    )
    def draw(result):
        if not result or not result.get("series"):
            message = ((result or {}).get("warnings") or ["Press Run backtest"])[0]
            return (
                blank_figure(message),
                blank_figure(""),
                HIDDEN,
                blank_figure(""),
                HIDDEN,
                None,
                [],
                provenance_text(result) if result else None,
            )
        sweep = result.get("sweep")
        return (
            equity_figure(result),
            drawdown_figure(result),
            DRAWDOWN_STYLE,
            heatmap_figure(sweep, result["metrics"]["buy_and_hold"]) if sweep else blank_figure(""),
            {"display": "block"} if sweep else HIDDEN,
            metrics_table(result),
            result["trades"],
            provenance_text(result),
        )


def equity_figure(result: dict) -> go.Figure:
    """Strategy, buy-and-hold of the same asset and the benchmark, on one set of sessions."""
    series = result["series"]
    fig = go.Figure()
    for name, label in _line_labels(result).items():
        fig.add_trace(
            go.Scatter(
                x=series["dates"],
                y=series[name],
                name=label,
                line={"width": 3 if name == "strategy" else 1.5},
            )
        )
    title = f"Equity · {_strategy_text(result['request'], result.get('windows'))}"
    fig.update_layout(
        title=title + (" · demo data" if result.get("demo_data") else ""),
        margin={"l": 70, "r": 10, "t": 50, "b": 30},
        legend={"orientation": "h"},
        yaxis={"title": {"text": "Value"}, "tickformat": ",.0f", "hoverformat": ",.2f"},
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def drawdown_figure(result: dict) -> go.Figure:
    series = result["series"]
    fig = go.Figure()
    for name, label in _line_labels(result).items():
        fig.add_trace(go.Scatter(x=series["dates"], y=series["drawdown"][name], name=label))
    fig.update_layout(
        title="Drawdown",
        margin={"l": 70, "r": 10, "t": 40, "b": 30},
        legend={"orientation": "h"},
        yaxis={"title": {"text": "Below the peak"}, "tickformat": ".0%", "hoverformat": ".2%"},
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def heatmap_figure(sweep: dict, held: dict[str, float | None]) -> go.Figure:
    """The chosen metric for every (fast, slow) pair, blank where fast >= slow, the best pair
    ringed. The colours turn at buy-and-hold's value of the metric (`held`): green beats holding
    the asset, red does not (volatility's scale is reversed: lower is better)."""
    metric = sweep["metric"]
    label = METRIC_LABELS.get(metric, metric)
    number = _plotly_format(metric)
    reference = held.get(metric)
    fig = go.Figure(
        go.Heatmap(
            z=sweep["values"],
            x=sweep["slow"],
            y=sweep["fast"],
            colorscale="RdYlGn",
            reversescale=metric in LOWER_IS_BETTER,
            zmid=reference,
            hoverongaps=False,
            colorbar={"title": {"text": label}, "tickformat": number.replace(".2%", ".0%")},
            hovertemplate=f"fast %{{y}} · slow %{{x}}<br>{label} %{{z:{number}}}<extra></extra>",
            name=label,
        )
    )
    best = sweep.get("best")
    title = f"{label} over the SMA windows"
    if best:
        title += (
            f" · best fast {best['fast']}, slow {best['slow']}: {_format(metric, best['value'])}"
        )
        fig.add_trace(
            go.Scatter(
                x=[best["slow"]],
                y=[best["fast"]],
                mode="markers",
                marker={
                    "symbol": "circle-open",
                    "size": 14,
                    "color": "black",
                    "line": {"width": 2},
                },
                name="best",
                hovertemplate="best: fast %{y} · slow %{x}<extra></extra>",
                showlegend=False,
            )
        )
    if reference is not None:
        title += f" · buy and hold {_format(metric, reference)}"
    fig.update_layout(
        title=title,
        xaxis={"title": {"text": "slow window (sessions)"}},
        yaxis={"title": {"text": "fast window (sessions)"}},
        margin={"l": 70, "r": 10, "t": 50, "b": 40},
        template="plotly_white",
    )
    return fig


def metrics_table(result: dict) -> dbc.Table:
    labels = _line_labels(result)
    header = html.Thead(html.Tr([html.Th("Metric")] + [html.Th(v) for v in labels.values()]))
    rows = [
        html.Tr(
            [html.Td(label)]
            + [html.Td(_format(key, result["metrics"][name].get(key))) for name in labels]
        )
        for key, label in METRIC_LABELS.items()
        if any(key in result["metrics"][name] for name in labels)
    ]
    return dbc.Table(
        [header, html.Tbody(rows)], size="sm", striped=True, id="backtest-metrics-table"
    )


def summary(result: dict) -> object:
    """The line above the chart: what ran over which sessions, with any warnings in an alert;
    when nothing could be computed (no prices), only the warnings: nothing was backtested."""
    subject = result.get("subject") or {}
    ran = f"Backtested {subject.get('name', '')} from {result.get('start')} to {result.get('end')}."
    warnings = result.get("warnings") or []
    if not warnings:
        return ran
    lines = [ran] if result.get("series") else []
    return dbc.Alert(
        [html.Div(text) for text in [*lines, *warnings]],
        color="warning",
        className="py-1 mb-0",
        id="backtest-warnings",
    )


def strategy_note(subject: str, strategy: str) -> str:
    """Why a strategy was cleared when the subject changed, and what to choose instead."""
    allowed = BASKET_STRATEGIES if subject == "portfolio" else TICKER_STRATEGIES
    choices = " or ".join(STRATEGY_LABELS[name] for name in allowed)
    runs_on = "a single ticker" if subject == "portfolio" else "a portfolio's holdings"
    return f"{STRATEGY_LABELS.get(strategy, 'That strategy')} runs on {runs_on}: choose {choices}."


def in_words(text: str) -> str:
    """A service message with the request's internal names (strategy ids, field names) replaced
    by the words the form shows."""
    return INTERNAL_NAMES.sub(lambda match: WORDS[match.group(0)], text)


def provenance_text(result: dict) -> list[html.Div]:
    return [
        html.Div(
            f"{ticker}: {p['first_date'] or '—'} to {p['last_date'] or '—'}, "
            f"{p['state']} ({p['reason']}), source {p['source'] or 'none'}"
        )
        for ticker, p in (result.get("provenance") or {}).items()
    ]


def invalid(error: InvalidInput) -> dbc.Alert:
    """The error in an alert naming the form's field (the label the user sees)."""
    return dbc.Alert(
        f"{FIELD_LABELS.get(error.field, error.field)}: {in_words(error.reason)}",
        color="danger",
        className="py-1 mb-0",
        id="backtest-error",
    )


def blank_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        annotations=[{"text": message, "showarrow": False, "font": {"size": 16}}]
        if message
        else [],
        xaxis={"visible": False},
        yaxis={"visible": False},
        template="plotly_white",
    )
    return fig


def _line_labels(result: dict) -> dict[str, str]:
    """Fixed words and ticker symbols only: plotly reads a few HTML tags in trace names, so no
    user-typed text (a portfolio's name) goes into a figure."""
    labels = {
        "strategy": STRATEGY_LABELS.get(result["request"]["strategy"], "Strategy"),
        "buy_and_hold": "Buy and hold",
    }
    if "benchmark" in result["metrics"]:
        labels["benchmark"] = f"Benchmark {result['request']['benchmark']}"
    return labels


def _strategy_text(request: dict, windows: dict | None) -> str:
    """The strategy with its parameters, e.g. "SMA crossover 50/200" (validated values only);
    `windows` are the SMA windows the curve was drawn with (a sweep's best pair)."""
    name = STRATEGY_LABELS.get(request["strategy"], "Strategy")
    if request["strategy"] == "sma_crossover":
        used = windows or request
        best = " (best of the sweep)" if request.get("sweep") and windows else ""
        return f"{name} {used['fast']}/{used['slow']}{best}"
    if request["strategy"] == "rebalance":
        return f"{name} {request['frequency']}"
    return name


def _plotly_format(key: str) -> str:
    """The d3 format of a metric, as `_format` writes it."""
    if key in PERCENT_METRICS:
        return ".2%"
    if key in MONEY_METRICS:
        return ",.0f"
    return ",.2f"


def _format(key: str, value: float | None) -> str:
    if value is None:
        return "—"
    if key in PERCENT_METRICS:
        return f"{value * 100:,.2f}%"
    if key in MONEY_METRICS:
        return f"{value:,.2f}"
    if key == "trades":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _field(name: str, label: str, control: object, md: int | str, lg: int | None = None) -> dbc.Col:
    """A labelled control in a column "backtest-<name>-field"; the label is bound to the
    control "backtest-<name>" (a text box, a number box or a dropdown's button)."""
    controls = control if isinstance(control, list) else [control]
    return dbc.Col(
        [field_label(label, f"backtest-{name}"), *controls],
        id=f"backtest-{name}-field",
        xs=12,
        sm=6,
        md=md,
        lg=lg or md,
    )


def _group(name: str, label: str, control: object, md: int | str) -> dbc.Col:
    """A labelled group of radio buttons, switches or sliders, named by its label."""
    return dbc.Col(
        [
            html.Div(label, id=f"backtest-{name}-label", className="form-label small mb-0"),
            html.Div(control, role="group", **{"aria-labelledby": f"backtest-{name}-label"}),
        ],
        id=f"backtest-{name}-field",
        xs=12,
        md=md,
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
