"""The backtest page (`/backtest`): would a simple rule have done better than buy-and-hold?

A result for the same question and prices comes straight from the cache, and one whose prices
are all cached is computed at once (milliseconds). When prices must be fetched first, a
background callback fetches and computes, moving a progress bar; it can be cancelled. The
equity curve is drawn against buy-and-hold of the same asset and the same money in a benchmark
ETF; a sweep draws a heatmap of the chosen metric over the window grid.
"""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp.services.backtests import (
    BASKET_STRATEGIES,
    PERIOD_CHOICES,
    SWEEP_METRICS,
    TICKER_STRATEGIES,
    cached_backtest,
    needs_fetch,
    parse_backtest_request,
    run_backtest,
)
from dashapp.services.context import AppContext
from dashapp.services.portfolios import InvalidInput, PortfolioNotFound, list_portfolios

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
                    _field(
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
                        md=3,
                    ),
                    _field(
                        "Ticker",
                        dbc.Input(id="backtest-ticker", value="SPY", placeholder="e.g. AAPL"),
                        md=2,
                    ),
                    _field(
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
                        "Strategy",
                        dcc.Dropdown(
                            id="backtest-strategy",
                            options=[{"label": v, "value": k} for k, v in STRATEGY_LABELS.items()],
                            value="sma_crossover",
                            clearable=False,
                        ),
                        md=2,
                    ),
                    _field(
                        "Benchmark ETF",
                        dbc.Input(id="backtest-benchmark", value="SPY"),
                        md=2,
                    ),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    _field("Fast SMA", _number("backtest-fast", 50, step=1), md=1),
                    _field("Slow SMA", _number("backtest-slow", 200, step=1), md=1),
                    _field(
                        "Rebalance",
                        dcc.Dropdown(
                            id="backtest-frequency",
                            options=["monthly", "quarterly", "yearly"],
                            value="monthly",
                            clearable=False,
                        ),
                        md=2,
                    ),
                    _field("Monthly amount", _number("backtest-amount", 1000), md=2),
                    _field("Cash", _number("backtest-cash", 100_000), md=2),
                    _field(
                        "Commission (fraction)",
                        _number("backtest-commission", 0, step=0.0005),
                        md=2,
                    ),
                    _field("Fee per order", _number("backtest-fixed-fee", 0), md=2),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    _field(
                        "Period",
                        dbc.RadioItems(
                            id="backtest-period",
                            options=[
                                {"label": p.title() if p != "CUSTOM" else "Custom", "value": p}
                                for p in PERIOD_CHOICES
                            ],
                            value="5Y",
                            inline=True,
                        ),
                        md=4,
                    ),
                    _field(
                        "Custom dates",
                        dcc.DatePickerRange(id="backtest-dates", display_format="YYYY-MM-DD"),
                        md=3,
                    ),
                    _field(
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
                        md=2,
                    ),
                    _field(
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
                        md=2,
                    ),
                    _field(
                        "Shares",
                        dbc.Checklist(
                            id="backtest-whole-shares",
                            options=[{"label": "whole shares", "value": "whole"}],
                            value=["whole"],
                            switch=True,
                        ),
                        md=1,
                    ),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    _field(
                        "Sweep",
                        dbc.Checklist(
                            id="backtest-sweep",
                            options=[{"label": "sweep the SMA windows", "value": "sweep"}],
                            value=[],
                            switch=True,
                        ),
                        md=2,
                    ),
                    _field(
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
                    _field("Fast windows", _window_slider("backtest-fast-windows"), md=4),
                    _field("Slow windows", _window_slider("backtest-slow-windows"), md=4),
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
            html.Div(id="backtest-message", className="small mb-2"),
            dcc.Graph(id="backtest-equity", figure=blank_figure("Press Run backtest")),
            dcc.Graph(id="backtest-drawdown", figure=blank_figure(""), style={"height": "280px"}),
            dcc.Graph(id="backtest-heatmap", figure=blank_figure(""), style={"display": "none"}),
            html.Div(id="backtest-metrics", className="mt-3"),
            html.H6("Trades", className="mt-3"),
            dag.AgGrid(
                id="backtest-trades",
                rowData=[],
                columnDefs=TRADE_COLUMNS,
                defaultColDef={"sortable": True, "resizable": True, "filter": True},
                dashGridOptions={"pagination": True, "paginationPageSize": 20},
                columnSize="responsiveSizeToFit",
                csvExportParams={"fileName": "backtest-trades.csv"},
            ),
            html.Div(id="backtest-provenance", className="small text-muted mt-2"),
            dcc.Store(id="backtest-result"),
            dcc.Store(id="backtest-job"),
        ]
    )


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


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    form_states = [State(component, prop) for component, prop in FORM_FIELDS.values()]

    @app.callback(
        Output("backtest-ticker", "disabled"),
        Output("backtest-strategy", "options"),
        Output("backtest-strategy", "value"),
        Input("backtest-subject", "value"),
        State("backtest-strategy", "value"),
    )
    def choose_subject(subject, strategy):
        """A ticker runs SMA, buy-and-hold or DCA; a portfolio's basket is held or rebalanced."""
        allowed = BASKET_STRATEGIES if subject == "portfolio" else TICKER_STRATEGIES
        options = [{"label": STRATEGY_LABELS[name], "value": name} for name in allowed]
        return subject == "portfolio", options, strategy if strategy in allowed else allowed[0]

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
        raw = form_request(dict(zip(FORM_FIELDS, values, strict=True)))
        try:
            request = parse_backtest_request(raw)
            cached = cached_backtest(app_context, request)
            if cached is not None:
                return cached, no_update, summary(cached)
            if not needs_fetch(app_context, request):
                result = run_backtest(app_context, request, fetch=False)
                return result, no_update, summary(result)
        except InvalidInput as error:
            return no_update, no_update, invalid(error)
        except PortfolioNotFound:
            return None, no_update, "This portfolio no longer exists."
        return no_update, raw, "Fetching prices and computing in the background…"

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
                blank_figure(""),
                {"display": "none"},
                None,
                [],
                provenance_text(result) if result else None,
            )
        sweep = result.get("sweep")
        return (
            equity_figure(result),
            drawdown_figure(result),
            heatmap_figure(sweep) if sweep else blank_figure(""),
            {"display": "block"} if sweep else {"display": "none"},
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
    fig.update_layout(
        title="Equity" + (" · demo data" if result.get("demo_data") else ""),
        margin={"l": 40, "r": 10, "t": 50, "b": 30},
        legend={"orientation": "h"},
        yaxis={"tickformat": ",.0f"},
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
        margin={"l": 40, "r": 10, "t": 40, "b": 30},
        legend={"orientation": "h"},
        yaxis={"tickformat": ".0%"},
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def heatmap_figure(sweep: dict) -> go.Figure:
    """The chosen metric for every (fast, slow) pair; blank where fast >= slow."""
    label = METRIC_LABELS.get(sweep["metric"], sweep["metric"])
    fig = go.Figure(
        go.Heatmap(
            z=sweep["values"],
            x=sweep["slow"],
            y=sweep["fast"],
            colorscale="RdYlGn",
            colorbar={"title": {"text": label}},
            hovertemplate="fast %{y} · slow %{x}<br>%{z:.4f}<extra></extra>",
        )
    )
    best = sweep.get("best")
    title = f"{label} over the SMA windows"
    if best:
        title += f" · best fast {best['fast']}, slow {best['slow']}"
    fig.update_layout(
        title=title,
        xaxis={"title": {"text": "slow window"}},
        yaxis={"title": {"text": "fast window"}},
        margin={"l": 50, "r": 10, "t": 50, "b": 40},
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
    """The line above the chart: what ran over which sessions, or the warnings in an alert."""
    subject = result.get("subject") or {}
    ran = f"Backtested {subject.get('name', '')} from {result.get('start')} to {result.get('end')}."
    warnings = result.get("warnings") or []
    if not warnings:
        return ran
    return dbc.Alert(
        [html.Div(ran), *(html.Div(text) for text in warnings)],
        color="warning",
        className="py-1 mb-0",
    )


def provenance_text(result: dict) -> list[html.Div]:
    return [
        html.Div(
            f"{ticker}: {p['first_date'] or '—'} to {p['last_date'] or '—'}, "
            f"{p['state']} ({p['reason']}), source {p['source'] or 'none'}"
        )
        for ticker, p in (result.get("provenance") or {}).items()
    ]


def invalid(error: InvalidInput) -> dbc.Alert:
    return dbc.Alert(
        f"{error.field}: {error.reason}",
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


def _field(label: str, control: object, md: int) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small mb-0"), control], md=md)


def _number(component_id: str, value: float, step: float = 1) -> dbc.Input:
    return dbc.Input(id=component_id, type="number", value=value, step=step, min=0, size="sm")


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
