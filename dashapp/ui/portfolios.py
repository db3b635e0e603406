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
from dashapp.ui.components import confirm_modal, field_label

# The page's component ids. A checked box also has `<id>-label` and `<id>-feedback` (`_checked`).
NEW_NAME = "portfolios-new-name"
NEW_CURRENCY = "portfolios-new-currency"
CREATE = "portfolios-create"
FEEDBACK = "portfolios-feedback"
DONE = "portfolios-done"
TABLE = "portfolios-table"
LIST = "portfolios-list"
TARGET = "portfolios-target"
RENAME_MODAL = "portfolios-rename-modal"
RENAME_NAME = "portfolios-rename-name"
RENAME_SAVE = "portfolios-rename-save"
DELETE_MODAL = "portfolios-delete-modal"
DELETE_TEXT = "portfolios-delete-text"
DELETE_CANCEL = "portfolios-delete-cancel"
DELETE_CONFIRM = "portfolios-delete-confirm"
# Each row's buttons: pattern-matching ids {"type": ..., "index": portfolio id}.
RENAME_BUTTON = "portfolio-rename"
DELETE_BUTTON = "portfolio-delete"

# The boxes a refused change can be marked at, and which one each (button, field) names.
CHECKED_FIELDS = (NEW_NAME, NEW_CURRENCY, RENAME_NAME)
FIELD_OF = {
    (CREATE, "name"): NEW_NAME,
    (CREATE, "base_currency"): NEW_CURRENCY,
    (RENAME_SAVE, "name"): RENAME_NAME,
}


def layout(app_context: AppContext) -> html.Div:
    return page(list_portfolios(app_context))


def validation_state() -> html.Div:
    """The page drawn without reading anything, for `app.validation_layout`: one blank row, so
    that its pattern-matching buttons are there too."""
    return page([PortfolioSummary(id=0, name="", base_currency="", version=0)])


def page(portfolios: list[PortfolioSummary]) -> html.Div:
    return html.Div(
        [
            html.H4("Portfolios", className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        _checked(
                            "New portfolio's name",
                            dbc.Input(id=NEW_NAME, placeholder="e.g. Retirement"),
                        ),
                        xs=12,
                        md=4,
                    ),
                    dbc.Col(
                        _checked(
                            "Currency",
                            dbc.Input(
                                id=NEW_CURRENCY,
                                value="USD",
                                maxLength=3,
                                placeholder="USD",
                            ),
                        ),
                        xs=12,
                        md=2,
                    ),
                    dbc.Col(
                        dbc.Button("Create", id=CREATE, color="primary"),
                        xs=12,
                        md="auto",
                        className="create-button",
                    ),
                ],
                className="g-2 mb-2 align-items-start",
            ),
            html.Div(id=FEEDBACK),
            html.Div(id=TABLE, children=_table(portfolios)),
            dcc.Store(id=TARGET),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle("Rename portfolio")),
                    dbc.ModalBody(_checked("New name", dbc.Input(id=RENAME_NAME))),
                    dbc.ModalFooter(dbc.Button("Save", id=RENAME_SAVE, color="primary")),
                ],
                id=RENAME_MODAL,
                is_open=False,
            ),
            confirm_modal(
                DELETE_MODAL,
                "Delete portfolio?",
                DELETE_TEXT,
                keep="Keep it",
                keep_id=DELETE_CANCEL,
                confirm="Delete",
                confirm_id=DELETE_CONFIRM,
            ),
        ]
    )


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output(RENAME_MODAL, "is_open"),
        Output(DELETE_MODAL, "is_open"),
        Output(TARGET, "data"),
        Output(RENAME_NAME, "value"),
        Output(DELETE_TEXT, "children"),
        Input({"type": RENAME_BUTTON, "index": ALL}, "n_clicks"),
        Input({"type": DELETE_BUTTON, "index": ALL}, "n_clicks"),
        Input(DELETE_CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )
    def ask(_rename_clicks, _delete_clicks, _cancel_clicks):
        trigger = ctx.triggered_id
        if trigger == DELETE_CANCEL:
            return False, False, None, no_update, no_update
        # Redrawing the table re-creates the buttons with n_clicks None: not a click.
        if not isinstance(trigger, dict) or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        try:
            portfolio = get_portfolio(app_context, int(trigger["index"]))
        except PortfolioNotFound:
            raise PreventUpdate from None
        if trigger["type"] == RENAME_BUTTON:
            return True, False, portfolio.id, portfolio.name, no_update
        return False, True, portfolio.id, no_update, _deletion_warning(app_context, portfolio.id)

    @app.callback(
        Output(TABLE, "children"),
        Output(FEEDBACK, "children"),
        Output(RENAME_MODAL, "is_open", allow_duplicate=True),
        Output(DELETE_MODAL, "is_open", allow_duplicate=True),
        *(Output(field, "invalid") for field in CHECKED_FIELDS),
        *(Output(f"{field}-feedback", "children") for field in CHECKED_FIELDS),
        Input(CREATE, "n_clicks"),
        Input(RENAME_SAVE, "n_clicks"),
        Input(DELETE_CONFIRM, "n_clicks"),
        State(NEW_NAME, "value"),
        State(NEW_CURRENCY, "value"),
        State(RENAME_NAME, "value"),
        State(TARGET, "data"),
        prevent_initial_call=True,
    )
    def change(_create, _save, _confirm, new_name, new_currency, renamed_to, target):
        trigger = ctx.triggered_id
        try:
            if trigger == CREATE:
                created = create_portfolio(app_context, new_name or "", new_currency or "")
                message = f"Created {created.name}."
            elif trigger == RENAME_SAVE and target is not None:
                renamed = rename_portfolio(app_context, int(target), renamed_to or "")
                message = f"Renamed to {renamed.name}."
            elif trigger == DELETE_CONFIRM and target is not None:
                gone = get_portfolio(app_context, int(target))
                delete_portfolio(app_context, gone.id)
                message = f"Deleted {gone.name} and its transactions."
            else:
                raise PreventUpdate
        except InvalidInput as error:
            # Said under the field at fault, as for any other field; nothing else changes.
            field = FIELD_OF.get((trigger, error.field), NEW_NAME)
            marks = [name == field for name in CHECKED_FIELDS]
            sentence = error.reason[:1].upper() + error.reason[1:] + "."
            said = [sentence if name == field else "" for name in CHECKED_FIELDS]
            return no_update, None, no_update, no_update, *marks, *said
        except PortfolioNotFound:
            message = "That portfolio no longer exists."
        feedback = dbc.Alert(message, color="success", className="py-1", id=DONE)
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
                            id={"type": RENAME_BUTTON, "index": p.id},
                            size="sm",
                            color="outline-secondary",
                            className="me-2",
                        ),
                        dbc.Button(
                            "Delete",
                            id={"type": DELETE_BUTTON, "index": p.id},
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
    return dbc.Table([header, html.Tbody(rows)], hover=True, size="sm", responsive=True, id=LIST)
