"""The transactions page's callbacks: the editor, the symbol check, the import and the proposals.

Every change goes through `services.transactions`, which validates it against the whole ledger
and refuses it with a message per field, changing nothing. Whether a ticker exists is checked in
a background job after the change, never while the form waits. A file is imported only on the
second click, after its preview, all rows or none.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from dashapp.quotas import OverQuota, quotas_of
from dashapp.services.context import AppContext
from dashapp.services.corporate_actions import (
    ProposalNotFound,
    accept_proposal,
    propose_corporate_actions,
)
from dashapp.services.ledger_import import import_transactions, preview_import
from dashapp.services.portfolios import PortfolioNotFound, get_portfolio
from dashapp.services.transactions import (
    LedgerError,
    TransactionDraft,
    TransactionNotFound,
    TransactionRow,
    add_transaction,
    check_tickers,
    delete_transaction,
    list_transactions,
    ticker_statuses,
    update_transaction,
)
from dashapp.ui.transactions import ids
from dashapp.ui.transactions.form import (
    CLEAN_FIELDS,
    FIELD_IDS,
    FORM_FIELDS,
    FORM_UNCHANGED,
    blank_form,
    describe,
    field_errors,
)
from dashapp.ui.transactions.grid import grid_rows, unconfirmed
from dashapp.ui.transactions.importer import preview_view, uploaded_bytes
from dashapp.ui.transactions.messages import errors_alert, gone
from dashapp.ui.transactions.proposals import proposals_parts, toggle_label


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    _register_editor(app, app_context)
    _register_import(app, app_context)
    _register_proposals(app, app_context)


def _register_editor(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        *(Output(field, "value") for field in FIELD_IDS),
        Output(ids.EDITING, "data"),
        Output(ids.SAVE, "disabled"),
        Output(ids.DELETE, "disabled"),
        # A new row in the form: marks of an earlier refused change no longer apply.
        *(Output(field, "invalid", allow_duplicate=True) for field in FIELD_IDS),
        *(Output(ids.feedback(field), "children", allow_duplicate=True) for field in FIELD_IDS),
        Input(ids.GRID, "selectedRows"),
        Input(ids.CLEAR, "n_clicks"),
        State(ids.EDITING, "data"),
        prevent_initial_call=True,
    )
    def select(selected_rows, _clear, editing_id):
        if ctx.triggered_id == ids.GRID and not selected_rows and editing_id is None:
            # Nothing was being edited (a delete has already cleared the form, in the same
            # answer that removed the row): blanking again would erase what the user has
            # started typing since.
            raise PreventUpdate
        if ctx.triggered_id == ids.CLEAR or not selected_rows:
            return *blank_form(), None, True, True, *CLEAN_FIELDS
        row = selected_rows[0]
        values = [row.get(name) for name in FORM_FIELDS]
        return *values, row["id"], False, False, *CLEAN_FIELDS

    @app.callback(
        Output(ids.DELETE_MODAL, "is_open"),
        Output(ids.DELETE_TEXT, "children"),
        Input(ids.DELETE, "n_clicks"),
        Input(ids.DELETE_CANCEL, "n_clicks"),
        State(ids.GRID, "selectedRows"),
        prevent_initial_call=True,
    )
    def ask_delete(_delete, _cancel, selected_rows):
        if ctx.triggered_id == ids.DELETE_CANCEL or not selected_rows:
            return False, no_update
        row = selected_rows[0]
        described = " ".join(
            str(part) for part in (row["trade_date"], row["kind"], row.get("ticker") or "") if part
        )
        return True, f"Delete {described} (quantity {row['quantity']:g})? This cannot be undone."

    @app.callback(
        Output(ids.GRID, "rowData"),
        Output(ids.FEEDBACK, "children"),
        Output(ids.CHECK, "data"),
        Output(ids.DELETE_MODAL, "is_open", allow_duplicate=True),
        Output(ids.EDITING, "data", allow_duplicate=True),
        *(Output(field, "invalid") for field in FIELD_IDS),
        *(Output(ids.feedback(field), "children") for field in FIELD_IDS),
        # A delete empties the form in the same answer that removes the row.
        *(Output(field, "value", allow_duplicate=True) for field in FIELD_IDS),
        Output(ids.SAVE, "disabled", allow_duplicate=True),
        Output(ids.DELETE, "disabled", allow_duplicate=True),
        Input(ids.ADD, "n_clicks"),
        Input(ids.SAVE, "n_clicks"),
        Input(ids.DELETE_CONFIRM, "n_clicks"),
        State(ids.PORTFOLIO, "data"),
        State(ids.EDITING, "data"),
        *(State(field, "value") for field in FIELD_IDS),
        prevent_initial_call=True,
    )
    def change(_add, _save, _confirm, portfolio_id, editing_id, *values):
        draft = TransactionDraft(
            **{
                name: "" if value is None else value
                for name, value in zip(FORM_FIELDS, values, strict=True)
            }
        )
        trigger = ctx.triggered_id
        try:
            if trigger == ids.ADD:
                row = add_transaction(app_context, portfolio_id, draft)
                message = f"Added {describe(row)}."
            elif trigger == ids.SAVE and editing_id is not None:
                row = update_transaction(app_context, portfolio_id, int(editing_id), draft)
                message = f"Saved {describe(row)}."
            elif trigger == ids.DELETE_CONFIRM and editing_id is not None:
                delete_transaction(app_context, portfolio_id, int(editing_id))
                row, message = None, "Deleted the transaction."
            else:
                raise PreventUpdate
        except LedgerError as error:
            marked, said = field_errors(error)
            return (
                no_update,
                errors_alert(error),
                no_update,
                False,
                no_update,
                *marked,
                *said,
                *FORM_UNCHANGED,
            )
        except (PortfolioNotFound, TransactionNotFound) as error:
            alert = dbc.Alert(str(error), color="warning")
            return no_update, alert, no_update, False, None, *CLEAN_FIELDS, *FORM_UNCHANGED
        grid = _grid_of(app_context, list_transactions(app_context, portfolio_id))
        to_check = unconfirmed(grid, [row.ticker] if row is not None and row.ticker else [])
        feedback = dbc.Alert(message, color="success", className="py-1", id=ids.DONE)
        next_editing = editing_id if trigger == ids.SAVE else None
        form = (*blank_form(), True, True) if trigger == ids.DELETE_CONFIRM else FORM_UNCHANGED
        return grid, feedback, to_check, False, next_editing, *CLEAN_FIELDS, *form

    @app.callback(
        Output(ids.GRID, "rowData", allow_duplicate=True),
        Output(ids.TICKER_NOTE, "children"),
        Input(ids.CHECK, "data"),
        State(ids.PORTFOLIO, "data"),
        background=True,
        prevent_initial_call=True,
    )
    def check(tickers, portfolio_id):
        """Ask the provider about newly used tickers the cache does not know, after the form
        has already answered; an empty list (every ticker known) only clears the note."""
        if tickers is None:
            raise PreventUpdate
        if not tickers:
            return no_update, None
        statuses = check_tickers(app_context, tickers)
        try:
            rows = list_transactions(app_context, portfolio_id)
        except PortfolioNotFound:
            raise PreventUpdate from None
        unknown = sorted(t for t, status in statuses.items() if status == "unknown")
        note = (
            dbc.Alert(
                f"The market data provider does not know {', '.join(unknown)}: "
                "check the symbol (Yahoo Finance spelling, e.g. BRK-B).",
                color="warning",
                className="py-1",
                id=ids.UNKNOWN_TICKER,
            )
            if unknown
            else None
        )
        return _grid_of(app_context, rows), note


def _register_import(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output(ids.PREVIEW, "children"),
        Output(ids.IMPORT, "disabled"),
        Input(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        State(ids.PORTFOLIO, "data"),
        prevent_initial_call=True,
    )
    def preview(contents, filename, portfolio_id):
        if contents is None:  # cleared after an import
            raise PreventUpdate
        try:
            quotas_of(app.server).charge("import")
        except OverQuota as refusal:
            return dbc.Alert(refusal.message, color="warning", className="py-1"), True
        raw = uploaded_bytes(contents)
        if raw is None:
            alert = dbc.Alert("The upload could not be read.", color="danger", className="py-1")
            return alert, True
        try:
            found = preview_import(app_context, portfolio_id, raw, filename or "")
        except PortfolioNotFound as error:
            return gone(error), True
        return preview_view(found), not found.can_import

    @app.callback(
        Output(ids.GRID, "rowData", allow_duplicate=True),
        Output(ids.PREVIEW, "children", allow_duplicate=True),
        Output(ids.IMPORT, "disabled", allow_duplicate=True),
        Output(ids.CHECK, "data", allow_duplicate=True),
        Output(ids.UPLOAD, "contents"),
        Input(ids.IMPORT, "n_clicks"),
        State(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        State(ids.PORTFOLIO, "data"),
        prevent_initial_call=True,
    )
    def import_file(_clicks, contents, filename, portfolio_id):
        """Import the previewed file (the upload's own contents: the preview does not echo a
        copy back to the browser); afterwards the upload is cleared, so choosing the same file
        again previews it again."""
        raw = uploaded_bytes(contents)
        if raw is None:
            raise PreventUpdate
        try:
            quotas_of(app.server).charge("import")
        except OverQuota as refusal:
            said = dbc.Alert(refusal.message, color="warning", className="py-1")
            return no_update, said, True, no_update, no_update
        try:
            result = import_transactions(app_context, portfolio_id, raw, filename or "")
        except LedgerError as error:
            return no_update, errors_alert(error), True, no_update, no_update
        except PortfolioNotFound as error:
            return no_update, gone(error), True, no_update, None
        grid = _grid_of(app_context, list_transactions(app_context, portfolio_id))
        to_check = unconfirmed(grid, [row["ticker"] for row in grid if row["ticker"]])
        done = dbc.Alert(
            f"Imported {result.imported:,} transactions"
            + (f"; skipped {len(result.skipped)} rows." if result.skipped else "."),
            color="success",
            className="py-1",
            id=ids.IMPORTED,
        )
        return grid, done, True, to_check, None


def _register_proposals(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output(ids.PROPOSALS, "className"),
        Output(ids.PROPOSALS_HEAD, "children"),
        Output(ids.PROPOSALS_TOGGLE, "children"),
        Output(ids.PROPOSALS_TOGGLE, "className"),
        Output(ids.PROPOSALS_REST, "children"),
        Input(ids.GRID, "rowData"),
        State(ids.PORTFOLIO, "data"),
        State(ids.PROPOSALS_MORE, "is_open"),
        prevent_initial_call=True,
    )
    def proposals(_rows, portfolio_id, is_open):
        """Re-read the proposals whenever the ledger changed; the disclosure keeps its state."""
        try:
            portfolio = get_portfolio(app_context, portfolio_id)
            found = propose_corporate_actions(app_context, portfolio_id)
        except PortfolioNotFound:
            return proposals_parts([], "", False)
        return proposals_parts(found, portfolio.base_currency, bool(is_open))

    @app.callback(
        Output(ids.PROPOSALS_MORE, "is_open"),
        Output(ids.PROPOSALS_TOGGLE, "children", allow_duplicate=True),
        Input(ids.PROPOSALS_TOGGLE, "n_clicks"),
        State(ids.PROPOSALS_MORE, "is_open"),
        State(ids.PROPOSALS_REST, "children"),
        prevent_initial_call=True,
    )
    def toggle_proposals(_clicks, is_open, rest):
        return not is_open, toggle_label(len(rest or []), not is_open)

    @app.callback(
        Output(ids.GRID, "rowData", allow_duplicate=True),
        Output(ids.FEEDBACK, "children", allow_duplicate=True),
        Input({"type": ids.PROPOSAL, "index": ALL}, "n_clicks"),
        State(ids.PORTFOLIO, "data"),
        prevent_initial_call=True,
    )
    def accept(_clicks, portfolio_id):
        trigger = ctx.triggered_id
        # Re-drawn buttons arrive with n_clicks None: only a real click accepts.
        if not isinstance(trigger, dict) or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        try:
            row = accept_proposal(app_context, portfolio_id, str(trigger["index"]))
        except LedgerError as error:
            return no_update, errors_alert(error)
        except PortfolioNotFound as error:
            return no_update, gone(error)
        except ProposalNotFound:
            gone_now = dbc.Alert(
                "That proposal no longer applies.", color="warning", className="py-1"
            )
            return no_update, gone_now
        done = dbc.Alert(f"Added {describe(row)}.", color="success", className="py-1")
        return _grid_of(app_context, list_transactions(app_context, portfolio_id)), done


def _grid_of(app_context: AppContext, rows: list[TransactionRow]) -> list[dict]:
    """The grid's rows of `rows`, with each ticker's symbol check read from the database."""
    statuses = ticker_statuses(app_context, [row.ticker for row in rows if row.ticker])
    return grid_rows(rows, statuses)
