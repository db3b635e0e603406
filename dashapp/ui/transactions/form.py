"""The transaction editor: its fields and buttons, and the form's values as callbacks send them.

A refused change marks the fields it names, each with its reasons under it; anything that loads
a new row into the form clears those marks.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html, no_update

from dashapp.rules import KINDS, LEDGER_FIELDS
from dashapp.services.transactions import LedgerError, TransactionRow
from dashapp.ui.components import field_label
from dashapp.ui.transactions import ids

# The form has no currency field: a transaction is in its portfolio's base currency.
FORM_FIELDS = tuple(name for name in LEDGER_FIELDS if name != "currency")
FIELD_IDS = tuple(ids.FIELDS[name] for name in FORM_FIELDS)
# No field marked invalid, no error line under any.
CLEAN_FIELDS = (*(False for _ in FORM_FIELDS), *("" for _ in FORM_FIELDS))
# The form's values and its Save/Delete buttons, left as they are.
FORM_UNCHANGED = (*(no_update for _ in FORM_FIELDS), no_update, no_update)


def editor(base_currency: str) -> dbc.Card:
    def field(label: str, component) -> dbc.Col:
        """A labelled control with its own error line, shown when the control is marked
        invalid (`ledger-<name>.invalid`)."""
        return dbc.Col(
            [
                field_label(label, component.id),
                component,
                dbc.FormFeedback(id=ids.feedback(component.id), type="invalid"),
            ],
            xs=12,
            sm=6,
            md=True,
        )

    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        field(
                            "Date (YYYY-MM-DD)",
                            # Text, not type="date": the browser would show its locale's
                            # mm/dd/yyyy, and every other date in the app is ISO.
                            dbc.Input(
                                id=ids.FIELDS["trade_date"],
                                type="text",
                                placeholder="2024-12-31",
                                inputMode="numeric",
                                maxLength=10,
                                autoComplete="off",
                            ),
                        ),
                        field(
                            "Type",
                            dbc.Select(
                                id=ids.FIELDS["kind"],
                                options=[{"label": kind, "value": kind} for kind in KINDS],
                                value="BUY",
                            ),
                        ),
                        field("Ticker", dbc.Input(id=ids.FIELDS["ticker"], placeholder="AAPL")),
                        field(
                            "Quantity",
                            dbc.Input(
                                id=ids.FIELDS["quantity"], inputMode="decimal", placeholder="10"
                            ),
                        ),
                        field(
                            "Price",
                            dbc.Input(id=ids.FIELDS["price"], inputMode="decimal", placeholder="0"),
                        ),
                        field(
                            "Fees",
                            dbc.Input(id=ids.FIELDS["fees"], inputMode="decimal", placeholder="0"),
                        ),
                        field("Note", dbc.Input(id=ids.FIELDS["note"], maxLength=1000)),
                    ],
                    className="g-2 mb-2",
                ),
                html.Div(
                    [
                        dbc.Button("Add", id=ids.ADD, color="primary", size="sm"),
                        _row_action("Save changes", ids.SAVE, "outline-primary"),
                        _row_action("Delete", ids.DELETE, "outline-danger"),
                        dbc.Button(
                            "Clear", id=ids.CLEAR, color="link", size="sm", className="ms-2"
                        ),
                        html.Span(
                            "Select a row to edit or delete it. Amounts are in "
                            f"{base_currency}, the portfolio's currency; a deposit of 1,000 is "
                            "quantity 1 at price 1000.",
                            className="small text-muted ms-3",
                        ),
                    ]
                ),
                html.Div(id=ids.TICKER_NOTE, className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def _row_action(label: str, component_id: str, color: str) -> dbc.Button:
    """A button acting on the row chosen in the grid, disabled until one is chosen."""
    return dbc.Button(
        label, id=component_id, color=color, size="sm", disabled=True, className="ms-2"
    )


def blank_form() -> list[object]:
    return ["" if name != "kind" else "BUY" for name in FORM_FIELDS]


def field_errors(error: LedgerError) -> tuple[list[bool], list[str]]:
    """Each form field's `invalid` flag and error line: a refused change marks the fields it
    names (several reasons for one field are joined) and clears the others."""
    said: dict[str, list[str]] = {name: [] for name in FORM_FIELDS}
    for reason in error.errors:
        if reason.column in said:
            said[reason.column].append(reason.message)
    return [bool(said[name]) for name in FORM_FIELDS], [
        " ".join(said[name]) for name in FORM_FIELDS
    ]


def describe(row: TransactionRow) -> str:
    """A transaction in a few words: "2024-12-02 BUY AAPL"."""
    parts = [row.trade_date.isoformat(), row.kind, row.ticker or ""]
    return " ".join(part for part in parts if part)
