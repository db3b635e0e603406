"""The dashboard's charts: value against benchmarks, allocation, the day's movers.

Figures are plain Plotly JSON dicts, not `go.Figure` objects: validating a figure and deep-copying
its template cost about 40 ms each, which made the layout that carries the charts four times
slower to build. Plotly sets labels as text except for a few HTML-like tags, so names a user
typed pass through `_plain` first.
"""

from __future__ import annotations

import html as html_text
from typing import Any

from dashapp.services.dashboard import Allocation, Mover
from dashapp.services.dashboard_panels import BenchmarkPanel

Figure = dict[str, Any]
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 30}
HEIGHT = 320
GRID = "#ebf0f8"
GAIN_COLOR = "#198754"
LOSS_COLOR = "#dc3545"
BAR_COLOR = "#636efa"


def benchmark_figure(panel: BenchmarkPanel) -> Figure:
    """The portfolio's value and, per ETF, the value the same deposits would have there."""
    if not panel.drawable:
        return placeholder(panel.warnings[0] if panel.warnings else "Nothing to compare yet")
    dates = list(panel.dates)
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": dates,
            "y": list(panel.portfolio),
            "name": _plain(panel.portfolio_name),
            "line": {"width": 3},
        }
    ]
    for name, values in panel.shadows.items():
        stale = name in panel.stale
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": dates,
                "y": list(values),
                "name": f"Same money in {name}" + (" (stale prices)" if stale else ""),
                "line": {"dash": "dash" if stale else "solid"},
            }
        )
    return {
        "data": traces,
        "layout": _layout(
            legend={"orientation": "h", "y": -0.15},
            yaxis=_axis(tickformat=",.0f", title={"text": panel.currency}),
            xaxis=_axis(),
            hovermode="x unified",
        ),
    }


def allocation_figure(allocation: Allocation, by: str) -> Figure:
    slices = allocation.by_currency if by == "currency" else allocation.by_holding
    if not slices:
        return placeholder("No priced holdings yet")
    ordered = list(reversed(slices))
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": [part.weight for part in ordered],
        "y": [_plain(part.label) for part in ordered],
        "text": [f"{part.weight:.1%}" for part in ordered],
        "textposition": "auto",
        "marker": {"color": BAR_COLOR},
        "hovertemplate": "%{y}: %{x:.1%}<extra></extra>",
    }
    return {
        "data": [bars],
        "layout": _layout(
            xaxis=_axis(tickformat=".0%", title={"text": "Share of market value"}),
            yaxis={"automargin": True},
        ),
    }


def movers_figure(movers: tuple[Mover, ...]) -> Figure:
    if not movers:
        return placeholder("No price moved today, or no previous close is stored")
    ordered = sorted(movers, key=lambda mover: mover.day_change_pct)
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": [mover.day_change_pct for mover in ordered],
        "y": [mover.ticker for mover in ordered],
        "marker": {
            "color": [GAIN_COLOR if mover.day_change_pct > 0 else LOSS_COLOR for mover in ordered]
        },
        "text": [f"{mover.day_change_pct:+.2%}" for mover in ordered],
        "textposition": "auto",
        "hovertemplate": "%{y}: %{x:+.2%}<extra></extra>",
    }
    return {
        "data": [bars],
        "layout": _layout(
            xaxis=_axis(tickformat="+.1%", title={"text": "Change since the previous close"}),
            yaxis={"automargin": True},
        ),
    }


def placeholder(message: str) -> Figure:
    return {
        "data": [],
        "layout": _layout(
            annotations=[{"text": _plain(message), "showarrow": False, "font": {"size": 14}}],
            xaxis={"visible": False},
            yaxis={"visible": False},
        ),
    }


def _layout(**parts: Any) -> dict[str, Any]:
    """A white chart with light grid lines (Plotly's `plotly_white`, without its 10 kB template)."""
    return {
        "margin": MARGIN,
        "height": HEIGHT,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#2a3f5f"},
        **parts,
    }


def _axis(**parts: Any) -> dict[str, Any]:
    return {"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True, **parts}


def _plain(text: str) -> str:
    """Plotly interprets a few HTML-like tags in labels; escaping keeps a typed name as text."""
    return html_text.escape(text, quote=False)
