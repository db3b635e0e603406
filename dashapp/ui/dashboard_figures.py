"""The dashboard's charts: value against benchmarks, allocation, the day's movers.

Plotly sets every label and hover text as text, never as markup, except where `<b>`-style tags
are interpreted: names a user typed are therefore passed through `_plain` first.
"""

from __future__ import annotations

import html as html_text

import plotly.graph_objects as go

from dashapp.services.dashboard import Allocation, Mover
from dashapp.services.dashboard_panels import BenchmarkPanel

MARGIN = {"l": 10, "r": 10, "t": 30, "b": 30}
GAIN_COLOR = "#198754"
LOSS_COLOR = "#dc3545"


def benchmark_figure(panel: BenchmarkPanel) -> go.Figure:
    """The portfolio's value and, per ETF, the value the same deposits would have there."""
    if not panel.drawable:
        return placeholder(panel.warnings[0] if panel.warnings else "Nothing to compare yet")
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=panel.dates,
            y=panel.portfolio,
            name=_plain(panel.portfolio_name),
            line={"width": 3},
        )
    )
    for name, values in panel.shadows.items():
        stale = name in panel.stale
        fig.add_trace(
            go.Scatter(
                x=panel.dates,
                y=values,
                name=f"Same money in {name}" + (" (stale prices)" if stale else ""),
                line={"dash": "dash" if stale else "solid"},
            )
        )
    fig.update_layout(
        margin=MARGIN,
        legend={"orientation": "h", "y": -0.15},
        yaxis={"tickformat": ",.0f", "title": {"text": panel.currency}},
        hovermode="x unified",
        template="plotly_white",
        height=320,
    )
    return fig


def allocation_figure(allocation: Allocation, by: str) -> go.Figure:
    slices = allocation.by_currency if by == "currency" else allocation.by_holding
    if not slices:
        return placeholder("No priced holdings yet")
    ordered = list(reversed(slices))
    fig = go.Figure(
        go.Bar(
            x=[part.weight for part in ordered],
            y=[part.label for part in ordered],
            orientation="h",
            text=[f"{part.weight:.1%}" for part in ordered],
            textposition="auto",
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        margin=MARGIN,
        xaxis={"tickformat": ".0%", "title": {"text": "Share of market value"}},
        yaxis={"automargin": True},
        template="plotly_white",
        height=320,
    )
    return fig


def movers_figure(movers: tuple[Mover, ...]) -> go.Figure:
    if not movers:
        return placeholder("No price moved today, or no previous close is stored")
    ordered = sorted(movers, key=lambda mover: mover.day_change_pct)
    fig = go.Figure(
        go.Bar(
            x=[mover.day_change_pct for mover in ordered],
            y=[mover.ticker for mover in ordered],
            orientation="h",
            marker={"color": [GAIN_COLOR if m.day_change_pct > 0 else LOSS_COLOR for m in ordered]},
            text=[f"{mover.day_change_pct:+.2%}" for mover in ordered],
            textposition="auto",
            hovertemplate="%{y}: %{x:+.2%}<extra></extra>",
        )
    )
    fig.update_layout(
        margin=MARGIN,
        xaxis={"tickformat": "+.1%", "title": {"text": "Change since the previous close"}},
        yaxis={"automargin": True},
        template="plotly_white",
        height=320,
    )
    return fig


def placeholder(message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        annotations=[{"text": _plain(message), "showarrow": False, "font": {"size": 14}}],
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin=MARGIN,
        template="plotly_white",
        height=320,
    )
    return fig


def _plain(text: str) -> str:
    """Plotly interprets a few HTML-like tags in labels; escaping keeps a typed name as text."""
    return html_text.escape(text, quote=False)
