"""The backtest page's charts and tables drawn from a result: the equity curve against
buy-and-hold and the benchmark, the drawdown, the sweep's heatmap, the metrics table and the
trades grid's columns."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import html

from dashapp.services.backtest_results import BacktestResult, Windows
from dashapp.services.backtest_runs import LOWER_IS_BETTER, Sweep
from dashapp.ui.backtest import ids
from dashapp.ui.backtest.words import METRIC_LABELS, STRATEGY_LABELS

PERCENT_METRICS = {"total_return", "cagr", "volatility", "max_drawdown"}
MONEY_METRICS = {"invested", "final_equity"}
# What the equity and drawdown charts share, so they read alike: the legend in a row and one
# hover box for all lines of a session.
SESSION_CHART = {
    "legend": {"orientation": "h"},
    "hovermode": "x unified",
    "template": "plotly_white",
}
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


def equity_figure(result: BacktestResult) -> go.Figure:
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
        yaxis={"title": {"text": "Value"}, "tickformat": ",.0f", "hoverformat": ",.2f"},
        **SESSION_CHART,
    )
    return fig


def drawdown_figure(result: BacktestResult) -> go.Figure:
    series = result["series"]
    fig = go.Figure()
    for name, label in _line_labels(result).items():
        fig.add_trace(go.Scatter(x=series["dates"], y=series["drawdown"][name], name=label))
    fig.update_layout(
        title="Drawdown",
        margin={"l": 70, "r": 10, "t": 40, "b": 30},
        yaxis={"title": {"text": "Below the peak"}, "tickformat": ".0%", "hoverformat": ".2%"},
        **SESSION_CHART,
    )
    return fig


def heatmap_figure(sweep: Sweep, held: dict[str, float | None]) -> go.Figure:
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


def metrics_table(result: BacktestResult) -> dbc.Table:
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
    return dbc.Table([header, html.Tbody(rows)], size="sm", striped=True, id=ids.METRICS_TABLE)


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


def _line_labels(result: BacktestResult) -> dict[str, str]:
    """Fixed words and ticker symbols only: plotly reads a few HTML tags in trace names, so no
    user-typed text (a portfolio's name) goes into a figure."""
    labels = {
        "strategy": STRATEGY_LABELS.get(result["request"]["strategy"], "Strategy"),
        "buy_and_hold": "Buy and hold",
    }
    if "benchmark" in result["metrics"]:
        labels["benchmark"] = f"Benchmark {result['request']['benchmark']}"
    return labels


def _strategy_text(request: dict[str, Any], windows: Windows | None) -> str:
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
