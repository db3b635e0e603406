"""Small view pieces shared by pages: number formats, timestamps, the demo-data label, form labels,
period buttons with their custom dates, and the dialog that asks before a destructive action.

Dash escapes text children, so user-typed names and tickers placed as children reach the page
as text, never as markup; nothing here builds raw HTML.
"""

from __future__ import annotations

import html as html_text
import math
from datetime import UTC, datetime

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

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


def chart_text(text: str) -> str:
    """A name a user typed, for a Plotly title, legend or hover label: Plotly reads a few
    HTML-like tags there (`<a href>` becomes a live link), so the name is escaped to stay text.
    Dash renders component children as text already; only figures need this."""
    return html_text.escape(text, quote=False)


def demo_label() -> html.Span:
    return html.Span(
        "demo data",
        className="badge text-bg-dark ms-2 demo-label",
        title="Prices come from the offline demo market, not from a real exchange.",
    )


# How a period code reads on a button: "YTD" stays upper-case, words are capitalised.
PERIOD_LABELS = {"MAX": "Max", "CUSTOM": "Custom"}


def field_label(text: str, component_id: str) -> html.Label:
    """A visible label bound to its control (`for`), with the id `<control id>-label` that
    assets/pages.js also uses to name a dropdown's button."""
    return html.Label(
        text, htmlFor=component_id, id=f"{component_id}-label", className="form-label small mb-0"
    )


def period_buttons(component_id: str, choices: tuple[str, ...], value: str) -> html.Div:
    """The period choices as one row of toggle buttons, labelled as a group by the element
    with the id `<component_id>-label`; on a narrow screen the row scrolls, it never wraps."""
    return html.Div(
        dbc.RadioItems(
            id=component_id,
            options=[{"label": PERIOD_LABELS.get(p, p), "value": p} for p in choices],
            value=value,
            className="btn-group period-buttons",
            inputClassName="btn-check",
            labelClassName="btn btn-outline-secondary btn-sm",
            labelCheckedClassName="active",
        ),
        role="radiogroup",
        className="period-scroll",
        **{"aria-labelledby": f"{component_id}-label"},
    )


def custom_dates(component_id: str) -> dcc.DatePickerRange:
    """The "CUSTOM" period's first and last day, typed or picked, shown as ISO dates."""
    return dcc.DatePickerRange(
        id=component_id,
        display_format="YYYY-MM-DD",
        start_date_placeholder_text="From",
        end_date_placeholder_text="To",
    )


def confirm_modal(
    modal_id: str,
    title: str,
    question_id: str,
    *,
    keep: str,
    keep_id: str,
    confirm: str,
    confirm_id: str,
) -> dbc.Modal:
    """A closed dialog that asks before a destructive action: the question (`question_id`, filled
    in by a callback), a button `keep` that leaves things as they are and a red `confirm`."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(title)),
            dbc.ModalBody(id=question_id),
            dbc.ModalFooter(
                [
                    dbc.Button(keep, id=keep_id, color="secondary"),
                    dbc.Button(confirm, id=confirm_id, color="danger"),
                ]
            ),
        ],
        id=modal_id,
        is_open=False,
    )
