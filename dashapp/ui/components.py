"""Small view pieces shared by pages: number formats and the freshness badge.

Dash escapes text children, so user-typed names and tickers placed as children reach the page
as text, never as markup; nothing here builds raw HTML.
"""

from __future__ import annotations

import math
from datetime import datetime

from dash import html

BADGE_COLORS = {"fresh": "success", "cached": "info", "stale": "warning", "missing": "secondary"}
NO_VALUE = "—"


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def money(value: object, currency: str = "USD", signed: bool = False) -> str:
    if not is_number(value):
        return NO_VALUE
    symbol = "$" if currency == "USD" else f"{currency} "
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    return f"{sign}{symbol}{abs(value):,.2f}"


def percent(value: object, signed: bool = True) -> str:
    if not is_number(value):
        return NO_VALUE
    sign = "+" if signed and value > 0 else ""
    return f"{sign}{value * 100:,.2f}%"


def quantity(value: object) -> str:
    if not is_number(value):
        return NO_VALUE
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def change_class(value: object) -> str:
    if not is_number(value) or value == 0:
        return ""
    return "text-success" if value > 0 else "text-danger"


def timestamp(value: object) -> str:
    if not isinstance(value, datetime):
        return "unknown"
    return value.strftime("%Y-%m-%d %H:%M UTC")


def freshness_badge(
    state: str,
    reason: str,
    as_of: object = None,
    fetched_at: object = None,
    source: object = None,
    badge_id: str | None = None,
) -> html.Span:
    """A coloured badge whose hover text tells as-of time, fetch time, source and why."""
    hover = (
        f"{state}: {reason}\nas of {timestamp(as_of)}\nfetched {timestamp(fetched_at)}"
        f"\nsource: {source if isinstance(source, str) and source else 'none'}"
    )
    props = {"id": badge_id} if badge_id else {}
    return html.Span(
        state,
        className=f"badge rounded-pill text-bg-{BADGE_COLORS.get(state, 'secondary')} "
        f"freshness freshness-{state} ms-1",
        title=hover,
        **props,
    )


def demo_label() -> html.Span:
    return html.Span(
        "demo data",
        className="badge text-bg-dark ms-2 demo-label",
        title="Prices come from the offline demo market, not from a real exchange.",
    )
