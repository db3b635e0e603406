"""The cache page's chart: upstream requests per hour, stacked by outcome."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import plotly.graph_objects as go

OUTCOME_COLORS = {"ok": "#198754", "empty": "#6c757d", "http_429": "#fd7e14", "timeout": "#ffc107"}
CHART_HOURS = 24
HOUR_MS = 3_600_000


def upstream_figure(upstream: pd.DataFrame, now: datetime) -> go.Figure:
    """Upstream requests per hour over the last CHART_HOURS hours up to `now`, stacked by
    outcome; the x axis always spans those hours, one bar slot per hour."""
    current_hour = pd.Timestamp(now).tz_convert("UTC").floor("h")
    first_hour = current_hour - timedelta(hours=CHART_HOURS - 1)
    fig = go.Figure()
    for outcome, rows in upstream.groupby("outcome", sort=True):
        fig.add_trace(
            go.Bar(
                # A bar covers its hour: centred half an hour after the hour starts.
                x=rows["hour"] + timedelta(minutes=30),
                y=rows["requests"],
                width=HOUR_MS * 0.9,
                name=str(outcome),
                marker_color=OUTCOME_COLORS.get(str(outcome)),
                hovertemplate="%{y} requests, %{x|%H}:00 UTC<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_layout(
        title="Upstream requests per hour (last 24 h, UTC)",
        barmode="stack",
        margin={"l": 40, "r": 10, "t": 50, "b": 30},
        legend={"orientation": "h"},
        template="plotly_white",
        xaxis={
            "type": "date",
            "range": [first_hour, current_hour + timedelta(hours=1)],
            "dtick": 3 * HOUR_MS,
            "tickformat": "%H:%M<br>%b %d",
        },
        yaxis={"title": "requests", "rangemode": "tozero"},
    )
    if upstream.empty:
        fig.add_annotation(text="No upstream requests in the last 24 hours", showarrow=False)
    return fig
