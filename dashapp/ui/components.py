"""Small view pieces shared by pages: number formats, timestamps and the demo-data label.

Dash escapes text children, so user-typed names and tickers placed as children reach the page
as text, never as markup; nothing here builds raw HTML.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
from dash import html

NO_VALUE = "—"


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def money(value: object, currency: str = "USD", signed: bool = False) -> str:
    if not is_number(value):
        return NO_VALUE
    symbol = "$" if currency == "USD" else f"{currency} "
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    return f"{sign}{symbol}{abs(value):,.2f}"


def change_class(value: object) -> str:
    if not is_number(value) or value == 0:
        return ""
    return "text-success" if value > 0 else "text-danger"


def timestamp(value: object) -> str:
    """An instant as the badges show it; NaT and None are "unknown"."""
    if not isinstance(value, datetime) or value is pd.NaT:
        return "unknown"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def demo_label() -> html.Span:
    return html.Span(
        "demo data",
        className="badge text-bg-dark ms-2 demo-label",
        title="Prices come from the offline demo market, not from a real exchange.",
    )
