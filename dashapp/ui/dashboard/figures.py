"""The dashboard's charts: value against benchmarks, allocation, the day's movers.

Allocation and movers are bars of plain HTML whose numbers are text: they draw with the page,
before Plotly's 4.6 MB script has even loaded, and read the same to a screen reader. The value
chart needs Plotly; its figure is a plain JSON dict, not a `go.Figure`: validating a figure and
deep-copying its template cost about 40 ms each. Plotly sets labels as text except for a few
HTML-like tags, so names a user typed pass through `components.chart_text` first; Dash renders
text children as text.
"""

from __future__ import annotations

from typing import Any

from dash import html

from dashapp.services.dashboard import Allocation, Mover
from dashapp.services.dashboard_panels import BenchmarkPanel
from dashapp.ui.components import chart_text

Figure = dict[str, Any]
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 30}
HEIGHT = 320
GRID = "#ebf0f8"


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
            "name": chart_text(panel.portfolio_name),
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


def allocation_bars(allocation: Allocation, by: str) -> html.Div:
    """Share of market value per holding (or currency) as bars whose numbers are text."""
    slices = allocation.by_currency if by == "currency" else allocation.by_holding
    if not slices:
        return bar_placeholder("No priced holdings yet")
    widest = max(part.weight for part in slices) or 1.0
    return html.Div(
        [
            _bar(part.label, part.weight / widest, f"{part.weight:.1%}", "bar-fill")
            for part in slices
        ],
        className="bar-chart",
        title="Share of market value",
    )


def movers_bars(movers: tuple[Mover, ...]) -> html.Div:
    """The day's change of each mover, gains green and losses red, the percentage as text."""
    if not movers:
        return bar_placeholder("No price moved today, or no previous close is stored")
    widest = max(abs(mover.day_change_pct) for mover in movers) or 1.0
    return html.Div(
        [
            _bar(
                mover.ticker,
                abs(mover.day_change_pct) / widest,
                f"{mover.day_change_pct:+.2%}",
                "bar-fill gain" if mover.day_change_pct > 0 else "bar-fill loss",
            )
            for mover in movers
        ],
        className="bar-chart",
        title="Change since the previous close",
    )


def bar_placeholder(message: str) -> html.Div:
    return html.Div(message, className="bar-placeholder text-muted small")


def _bar(label: str, share: float, text: str, fill_class: str) -> html.Div:
    return html.Div(
        [
            html.Span(label, className="bar-label"),
            html.Span(
                html.Span(className=fill_class, style={"width": f"{max(share, 0.0) * 100:.1f}%"}),
                className="bar-track",
            ),
            html.Span(text, className="bar-value"),
        ],
        className="bar-row",
    )


def placeholder(message: str) -> Figure:
    return {
        "data": [],
        "layout": _layout(
            annotations=[{"text": chart_text(message), "showarrow": False, "font": {"size": 14}}],
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
