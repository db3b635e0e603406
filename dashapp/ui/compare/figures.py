"""The comparison page's chart: the portfolio against its shadow portfolios in the chosen view
(value, growth of 10,000 or drawdown), and the blank chart that says why nothing is drawn."""

from __future__ import annotations

import plotly.graph_objects as go

from dashapp.rules import STALE
from dashapp.services.comparison_results import ComparisonResult
from dashapp.ui.components import chart_text

VIEWS = {
    "value": "Value vs shadow portfolios",
    "growth": "Growth of 10,000",
    "drawdown": "Drawdown",
}


def figure(result: ComparisonResult, view: str, currency: str = "USD") -> go.Figure:
    """Lines of the chosen view; a benchmark with stale prices is dashed and named so."""
    series = result["series"]
    dates = series["dates"]
    keys = {
        "value": ("value", "shadow_value"),
        "growth": ("growth", "growth"),
        "drawdown": ("drawdown", "drawdown"),
    }
    own, theirs = keys.get(view, keys["value"])
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=series["portfolio"][own],
            name=chart_text(result["portfolio"]["name"]),
            line={"width": 3},
        )
    )
    for name, part in series["benchmarks"].items():
        stale = result["provenance"].get(name, {}).get("state") == STALE
        label = (
            f"{name} (stale)" if stale else (f"Your money in {name}" if view == "value" else name)
        )
        fig.add_trace(
            go.Scatter(
                x=dates, y=part[theirs], name=label, line={"dash": "dash" if stale else "solid"}
            )
        )
    fig.update_layout(
        title=VIEWS.get(view, VIEWS["value"]) + (" · demo data" if result.get("demo_data") else ""),
        margin={"l": 70, "r": 10, "t": 50, "b": 30},
        legend={"orientation": "h"},
        yaxis={
            "title": {"text": _axis_title(view, currency)},
            "tickformat": ".0%" if view == "drawdown" else ",.0f",
        },
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def _axis_title(view: str, currency: str) -> str:
    if view == "drawdown":
        return "Below the peak"
    if view == "growth":
        return f"Growth of 10,000 ({currency})"
    return f"Value ({currency})"


def blank_figure(message: str) -> go.Figure:
    """A chart without axes that says why nothing is drawn."""
    fig = go.Figure()
    fig.update_layout(
        annotations=[{"text": message, "showarrow": False, "font": {"size": 16}}],
        xaxis={"visible": False},
        yaxis={"visible": False},
        template="plotly_white",
    )
    return fig
