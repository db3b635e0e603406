"""The portfolios page (`/portfolios`): create, rename and delete portfolios.

Deleting asks for confirmation first and names what goes with the portfolio. Names are user
text and reach the page only as text children, which Dash escapes.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp.services.context import AppContext
from dashapp.services.portfolios import (
    InvalidInput,
    PortfolioNotFound,
    PortfolioSummary,
    create_portfolio,
    delete_portfolio,
    get_portfolio,
    list_portfolios,
    rename_portfolio,
)
from dashapp.ui.components import field_label

# The boxes a refused change can be marked at, and which one each (button, field) names.
CHECKED_FIELDS = ("portfolios-new-name", "portfolios-new-currency", "portfolios-rename-name")
FIELD_OF = {
    ("portfolios-create", "name"): "portfolios-new-name",
    ("portfolios-create", "base_currency"): "portfolios-new-currency",
    ("portfolios-rename-save", "name"): "portfolios-rename-name",
}


def layout(app_context: AppContext) -> html.Div:
    return html.Div(
        [
            html.H4("Portfolios", className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        _checked(
                            "New portfolio's name",
                            dbc.Input(id="portfolios-new-name", placeholder="e.g. Retirement"),
                        ),
                        xs=12,
                        md=4,
                    ),
                    dbc.Col(
                        _checked(
                            "Currency",
                            dbc.Input(
                                id="portfolios-new-currency",
                                value="USD",
                                maxLength=3,
                                placeholder="USD",
                            ),
                        ),
                        xs=12,
                        md=2,
                    ),
                    dbc.Col(
                        dbc.Button("Create", id="portfolios-create", color="primary"),
                        xs=12,
                        md="auto",
                        className="create-button",
                    ),
                ],
                className="g-2 mb-2 align-items-start",
            ),
            html.Div(id="portfolios-feedback"),
            html.Div(id="portfolios-table", children=_table(list_portfolios(app_context))),
            dcc.Store(id="portfolios-target"),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle("Rename portfolio")),
                    dbc.ModalBody(_checked("New name", dbc.Input(id="portfolios-rename-name"))),
                    dbc.ModalFooter(
                        dbc.Button("Save", id="portfolios-rename-save", color="primary")
                    ),
                ],
                id="portfolios-rename-modal",
                is_open=False,
            ),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle("Delete portfolio?")),
                    dbc.ModalBody(id="portfolios-delete-text"),
                    dbc.ModalFooter(
                        [
                            dbc.Button("Keep it", id="portfolios-delete-cancel", color="secondary"),
                            dbc.Button("Delete", id="portfolios-delete-confirm", color="danger"),
                        ]
                    ),
                ],
                id="portfolios-delete-modal",
                is_open=False,
            ),
        ]
    )


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output("portfolios-rename-modal", "is_open"),
        Output("portfolios-delete-modal", "is_open"),
        Output("portfolios-target", "data"),
        Output("portfolios-rename-name", "value"),
        Output("portfolios-delete-text", "children"),
        Input({"type": "portfolio-rename", "index": ALL}, "n_clicks"),
        Input({"type": "portfolio-delete", "index": ALL}, "n_clicks"),
        Input("portfolios-delete-cancel", "n_clicks"),
        prevent_initial_call=True,
    )
    def ask(_rename_clicks, _delete_clicks, _cancel_clicks):
        trigger = ctx.triggered_id
        if trigger == "portfolios-delete-cancel":
            return False, False, None, no_update, no_update
        # Redrawing the table re-creates the buttons with n_clicks None: not a click.
        if not isinstance(trigger, dict) or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        try:
            portfolio = get_portfolio(app_context, int(trigger["index"]))
        except PortfolioNotFound:
            raise PreventUpdate from None
        if trigger["type"] == "portfolio-rename":
            return True, False, portfolio.id, portfolio.name, no_update
        return False, True, portfolio.id, no_update, _deletion_warning(app_context, portfolio.id)

    @app.callback(
        Output("portfolios-table", "children"),
        Output("portfolios-feedback", "children"),
        Output("portfolios-rename-modal", "is_open", allow_duplicate=True),
        Output("portfolios-delete-modal", "is_open", allow_duplicate=True),
        *(Output(field, "invalid") for field in CHECKED_FIELDS),
        *(Output(f"{field}-feedback", "children") for field in CHECKED_FIELDS),
        Input("portfolios-create", "n_clicks"),
        Input("portfolios-rename-save", "n_clicks"),
        Input("portfolios-delete-confirm", "n_clicks"),
        State("portfolios-new-name", "value"),
        State("portfolios-new-currency", "value"),
        State("portfolios-rename-name", "value"),
        State("portfolios-target", "data"),
        prevent_initial_call=True,
    )
    def change(_create, _save, _confirm, new_name, new_currency, renamed_to, target):
        trigger = ctx.triggered_id
        try:
            if trigger == "portfolios-create":
                created = create_portfolio(app_context, new_name or "", new_currency or "")
                message = f"Created {created.name}."
            elif trigger == "portfolios-rename-save" and target is not None:
                renamed = rename_portfolio(app_context, int(target), renamed_to or "")
                message = f"Renamed to {renamed.name}."
            elif trigger == "portfolios-delete-confirm" and target is not None:
                gone = get_portfolio(app_context, int(target))
                delete_portfolio(app_context, gone.id)
                message = f"Deleted {gone.name} and its transactions."
            else:
                raise PreventUpdate
        except InvalidInput as error:
            # Said under the field at fault, as for any other field; nothing else changes.
            field = FIELD_OF.get((trigger, error.field), "portfolios-new-name")
            marks = [name == field for name in CHECKED_FIELDS]
            sentence = error.reason[:1].upper() + error.reason[1:] + "."
            said = [sentence if name == field else "" for name in CHECKED_FIELDS]
            return no_update, None, no_update, no_update, *marks, *said
        except PortfolioNotFound:
            message = "That portfolio no longer exists."
        feedback = dbc.Alert(message, color="success", className="py-1", id="portfolios-done")
        clean = (*(False for _ in CHECKED_FIELDS), *("" for _ in CHECKED_FIELDS))
        return _table(list_portfolios(app_context)), feedback, False, False, *clean


def _checked(label: str, control: dbc.Input) -> list:
    """A labelled box with its error line under it, shown when the box is marked invalid."""
    return [
        field_label(label, control.id),
        control,
        dbc.FormFeedback(id=f"{control.id}-feedback", type="invalid"),
    ]


def _deletion_warning(app_context: AppContext, portfolio_id: int) -> list:
    summary = next((p for p in list_portfolios(app_context) if p.id == portfolio_id), None)
    if summary is None:  # deleted meanwhile, in another tab
        return ["That portfolio no longer exists."]
    return [
        "Delete ",
        html.Strong(summary.name),
        f" and its {summary.transaction_count:,} transactions? This cannot be undone; "
        "export it first to keep a copy.",
    ]


def _table(portfolios: list[PortfolioSummary]) -> dbc.Table | dbc.Alert:
    if not portfolios:
        return dbc.Alert("No portfolios yet: create one above.", color="light")
    header = html.Thead(
        html.Tr(
            [
                html.Th("Name", scope="col"),
                html.Th("Currency", scope="col"),
                html.Th("Transactions", scope="col", className="text-end"),
                html.Th(html.Span("Actions", className="visually-hidden"), scope="col"),
            ]
        )
    )
    rows = [
        html.Tr(
            [
                html.Td(dcc.Link(p.name, href=f"/portfolios/{p.id}", className="portfolio-name")),
                html.Td(p.base_currency),
                html.Td(f"{p.transaction_count:,}", className="text-end"),
                html.Td(
                    [
                        dcc.Link(
                            "Transactions",
                            href=f"/portfolios/{p.id}",
                            className="btn btn-sm btn-outline-primary me-2",
                        ),
                        dbc.Button(
                            "Rename",
                            id={"type": "portfolio-rename", "index": p.id},
                            size="sm",
                            color="outline-secondary",
                            className="me-2",
                        ),
                        dbc.Button(
                            "Delete",
                            id={"type": "portfolio-delete", "index": p.id},
                            size="sm",
                            color="outline-danger",
                        ),
                    ],
                    className="text-end",
                ),
            ]
        )
        for p in portfolios
    ]
    return dbc.Table(
        [header, html.Tbody(rows)], hover=True, size="sm", responsive=True, id="portfolios-list"
    )
