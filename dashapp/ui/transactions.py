"""A portfolio's transactions page (`/portfolios/<id>`): the ledger, its editor and its files.

The grid lists every transaction (sortable, filterable); selecting a row loads it into the form
for editing or deletion. Every change goes through `services.transactions`, which validates it
against the whole ledger and refuses it with a message per field, changing nothing. Whether a
ticker exists is checked in a background job after the change, never while the form waits.

Splits and dividends that the stored price data shows for a held ticker, but the ledger lacks,
are proposed with their amounts; each is added only when the user confirms it. A ledger may
lack a hundred dividends, so the card counts them by kind and ticker, lists the first few and
keeps the rest behind a disclosure that stays open while the user adds them one by one.

An uploaded CSV is previewed first (format found, rows, skipped rows, duplicates, every error
with its row and column) and imported only on a second click, all rows or none.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp.rules import KINDS, LEDGER_FIELDS
from dashapp.services.context import AppContext
from dashapp.services.corporate_actions import (
    Proposal,
    ProposalNotFound,
    accept_proposal,
    proposal_counts,
    propose_corporate_actions,
)
from dashapp.services.ledger_export import export_warning
from dashapp.services.ledger_import import ImportPreview, import_transactions, preview_import
from dashapp.services.portfolios import PortfolioNotFound, get_portfolio
from dashapp.services.transactions import (
    LedgerError,
    RowError,
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
from dashapp.ui.components import field_label

PREVIEW_FIELDS = LEDGER_FIELDS
PREVIEW_ROWS = 200
PROPOSALS_SHOWN = 5
LISTED_LINES = 100
KIND_WORDS = {"SPLIT": ("split", "splits"), "DIVIDEND": ("dividend", "dividends")}
PATH_PATTERN = re.compile(r"^/portfolios/([0-9]{1,18})$")
# The form has no currency field: a transaction is in its portfolio's base currency.
FORM_FIELDS = tuple(name for name in LEDGER_FIELDS if name != "currency")
# No field marked invalid, no error line under any.
CLEAN_FIELDS = (*(False for _ in FORM_FIELDS), *("" for _ in FORM_FIELDS))
# The form's values and its Save/Delete buttons, left as they are.
FORM_UNCHANGED = (*(no_update for _ in FORM_FIELDS), no_update, no_update)
# The grid's symbol check in words (services.transactions.ticker_statuses says which).
SYMBOL_WORDS = {
    "known": "prices cached",
    "unknown": "unknown symbol",
    "unchecked": "not checked yet",
}
GRID_FIELDS = (
    "id",
    "trade_date",
    "kind",
    "ticker",
    "ticker_status",
    "quantity",
    "price",
    "fees",
    "currency",
    "note",
)


def portfolio_id_in(path: str) -> int | None:
    """The portfolio id of a transactions page address, or None for any other address."""
    match = PATH_PATTERN.match(path)
    return int(match.group(1)) if match else None


def layout(app_context: AppContext, portfolio_id: int) -> html.Div:
    try:
        portfolio = get_portfolio(app_context, portfolio_id)
    except PortfolioNotFound:
        return dbc.Alert(
            ["This portfolio does not exist. ", dcc.Link("See all portfolios", href="/portfolios")],
            color="warning",
        )
    transactions = list_transactions(app_context, portfolio.id)
    return html.Div(
        [
            dcc.Store(id="ledger-portfolio", data=portfolio.id),
            dcc.Store(id="ledger-editing", data=None),
            dcc.Store(id="ledger-check", data=None),
            html.H4(
                [
                    html.Span(portfolio.name, id="ledger-title"),
                    html.Span(" · transactions", className="text-muted"),
                    dcc.Link("← all portfolios", href="/portfolios", className="fs-6 ms-3"),
                    dcc.Link(
                        "income and gains →",
                        href=f"/portfolios/{portfolio.id}/reports",
                        className="fs-6 ms-3",
                        id="ledger-reports-link",
                    ),
                ],
                className="mb-3",
            ),
            _export_links(portfolio.id, export_warning(app_context, transactions)),
            _proposals_card(
                propose_corporate_actions(app_context, portfolio.id), portfolio.base_currency
            ),
            _editor(portfolio.base_currency),
            _importer(app_context.settings.max_import_bytes),
            html.Div(id="ledger-feedback", className="mb-2"),
            dag.AgGrid(
                id="ledger-grid",
                rowData=_grid_rows(app_context, transactions),
                columnDefs=_column_defs(),
                defaultColDef={"sortable": True, "filter": True, "resizable": True},
                getRowId="`${params.data.id}`",
                rowClass="ledger-row",
                dashGridOptions={
                    "rowSelection": {"mode": "singleRow", "enableClickSelection": True},
                    "domLayout": "autoHeight",
                    "animateRows": False,
                    "pagination": True,
                    "paginationPageSize": 50,
                    "paginationPageSizeSelector": [25, 50, 100, 500],
                },
                columnSize="responsiveSizeToFit",
                style={"width": "100%"},
            ),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle("Delete transaction?")),
                    dbc.ModalBody(id="ledger-delete-text"),
                    dbc.ModalFooter(
                        [
                            dbc.Button("Keep it", id="ledger-delete-cancel", color="secondary"),
                            dbc.Button("Delete", id="ledger-delete-confirm", color="danger"),
                        ]
                    ),
                ],
                id="ledger-delete-modal",
                is_open=False,
            ),
        ]
    )


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        *(Output(f"ledger-{name}", "value") for name in FORM_FIELDS),
        Output("ledger-editing", "data"),
        Output("ledger-save", "disabled"),
        Output("ledger-delete", "disabled"),
        # A new row in the form: marks of an earlier refused change no longer apply.
        *(Output(f"ledger-{name}", "invalid", allow_duplicate=True) for name in FORM_FIELDS),
        *(
            Output(f"ledger-{name}-feedback", "children", allow_duplicate=True)
            for name in FORM_FIELDS
        ),
        Input("ledger-grid", "selectedRows"),
        Input("ledger-clear", "n_clicks"),
        State("ledger-editing", "data"),
        prevent_initial_call=True,
    )
    def select(selected_rows, _clear, editing_id):
        if ctx.triggered_id == "ledger-grid" and not selected_rows and editing_id is None:
            # Nothing was being edited (a delete has already cleared the form, in the same
            # answer that removed the row): blanking again would erase what the user has
            # started typing since.
            raise PreventUpdate
        if ctx.triggered_id == "ledger-clear" or not selected_rows:
            return *_blank_form(), None, True, True, *CLEAN_FIELDS
        row = selected_rows[0]
        values = [row.get(name) for name in FORM_FIELDS]
        return *values, row["id"], False, False, *CLEAN_FIELDS

    @app.callback(
        Output("ledger-delete-modal", "is_open"),
        Output("ledger-delete-text", "children"),
        Input("ledger-delete", "n_clicks"),
        Input("ledger-delete-cancel", "n_clicks"),
        State("ledger-grid", "selectedRows"),
        prevent_initial_call=True,
    )
    def ask_delete(_delete, _cancel, selected_rows):
        if ctx.triggered_id == "ledger-delete-cancel" or not selected_rows:
            return False, no_update
        row = selected_rows[0]
        described = " ".join(
            str(part) for part in (row["trade_date"], row["kind"], row.get("ticker") or "") if part
        )
        return True, f"Delete {described} (quantity {row['quantity']:g})? This cannot be undone."

    @app.callback(
        Output("ledger-grid", "rowData"),
        Output("ledger-feedback", "children"),
        Output("ledger-check", "data"),
        Output("ledger-delete-modal", "is_open", allow_duplicate=True),
        Output("ledger-editing", "data", allow_duplicate=True),
        *(Output(f"ledger-{name}", "invalid") for name in FORM_FIELDS),
        *(Output(f"ledger-{name}-feedback", "children") for name in FORM_FIELDS),
        # A delete empties the form in the same answer that removes the row.
        *(Output(f"ledger-{name}", "value", allow_duplicate=True) for name in FORM_FIELDS),
        Output("ledger-save", "disabled", allow_duplicate=True),
        Output("ledger-delete", "disabled", allow_duplicate=True),
        Input("ledger-add", "n_clicks"),
        Input("ledger-save", "n_clicks"),
        Input("ledger-delete-confirm", "n_clicks"),
        State("ledger-portfolio", "data"),
        State("ledger-editing", "data"),
        *(State(f"ledger-{name}", "value") for name in FORM_FIELDS),
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
            if trigger == "ledger-add":
                row = add_transaction(app_context, portfolio_id, draft)
                message = f"Added {_describe(row)}."
            elif trigger == "ledger-save" and editing_id is not None:
                row = update_transaction(app_context, portfolio_id, int(editing_id), draft)
                message = f"Saved {_describe(row)}."
            elif trigger == "ledger-delete-confirm" and editing_id is not None:
                delete_transaction(app_context, portfolio_id, int(editing_id))
                row, message = None, "Deleted the transaction."
            else:
                raise PreventUpdate
        except LedgerError as error:
            marked, said = field_errors(error)
            return (
                no_update,
                _errors_alert(error),
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
        grid = _grid_rows(app_context, list_transactions(app_context, portfolio_id))
        to_check = _unconfirmed(grid, [row.ticker] if row is not None and row.ticker else [])
        feedback = dbc.Alert(message, color="success", className="py-1", id="ledger-done")
        next_editing = editing_id if trigger == "ledger-save" else None
        form = (
            (*_blank_form(), True, True) if trigger == "ledger-delete-confirm" else FORM_UNCHANGED
        )
        return grid, feedback, to_check, False, next_editing, *CLEAN_FIELDS, *form

    @app.callback(
        Output("ledger-grid", "rowData", allow_duplicate=True),
        Output("ledger-ticker-note", "children"),
        Input("ledger-check", "data"),
        State("ledger-portfolio", "data"),
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
                id="ledger-unknown-ticker",
            )
            if unknown
            else None
        )
        return _grid_rows(app_context, rows), note

    @app.callback(
        Output("ledger-preview", "children"),
        Output("ledger-import", "disabled"),
        Input("ledger-upload", "contents"),
        State("ledger-upload", "filename"),
        State("ledger-portfolio", "data"),
        prevent_initial_call=True,
    )
    def preview(contents, filename, portfolio_id):
        if contents is None:  # cleared after an import
            raise PreventUpdate
        raw = _uploaded_bytes(contents)
        if raw is None:
            alert = dbc.Alert("The upload could not be read.", color="danger", className="py-1")
            return alert, True
        try:
            found = preview_import(app_context, portfolio_id, raw, filename or "")
        except PortfolioNotFound as error:
            return _gone(error), True
        return _preview_view(found), not found.can_import

    @app.callback(
        Output("ledger-grid", "rowData", allow_duplicate=True),
        Output("ledger-preview", "children", allow_duplicate=True),
        Output("ledger-import", "disabled", allow_duplicate=True),
        Output("ledger-check", "data", allow_duplicate=True),
        Output("ledger-upload", "contents"),
        Input("ledger-import", "n_clicks"),
        State("ledger-upload", "contents"),
        State("ledger-upload", "filename"),
        State("ledger-portfolio", "data"),
        prevent_initial_call=True,
    )
    def import_file(_clicks, contents, filename, portfolio_id):
        """Import the previewed file (the upload's own contents: the preview does not echo a
        copy back to the browser); afterwards the upload is cleared, so choosing the same file
        again previews it again."""
        raw = _uploaded_bytes(contents)
        if raw is None:
            raise PreventUpdate
        try:
            result = import_transactions(app_context, portfolio_id, raw, filename or "")
        except LedgerError as error:
            return no_update, _errors_alert(error), True, no_update, no_update
        except PortfolioNotFound as error:
            return no_update, _gone(error), True, no_update, None
        grid = _grid_rows(app_context, list_transactions(app_context, portfolio_id))
        to_check = _unconfirmed(grid, [row["ticker"] for row in grid if row["ticker"]])
        done = dbc.Alert(
            f"Imported {result.imported:,} transactions"
            + (f"; skipped {len(result.skipped)} rows." if result.skipped else "."),
            color="success",
            className="py-1",
            id="ledger-imported",
        )
        return grid, done, True, to_check, None

    @app.callback(
        Output("ledger-proposals", "className"),
        Output("ledger-proposals-head", "children"),
        Output("ledger-proposals-toggle", "children"),
        Output("ledger-proposals-toggle", "className"),
        Output("ledger-proposals-rest", "children"),
        Input("ledger-grid", "rowData"),
        State("ledger-portfolio", "data"),
        State("ledger-proposals-more", "is_open"),
        prevent_initial_call=True,
    )
    def proposals(_rows, portfolio_id, is_open):
        """Re-read the proposals whenever the ledger changed; the disclosure keeps its state."""
        try:
            portfolio = get_portfolio(app_context, portfolio_id)
            found = propose_corporate_actions(app_context, portfolio_id)
        except PortfolioNotFound:
            return _proposals_parts([], "", False)
        return _proposals_parts(found, portfolio.base_currency, bool(is_open))

    @app.callback(
        Output("ledger-proposals-more", "is_open"),
        Output("ledger-proposals-toggle", "children", allow_duplicate=True),
        Input("ledger-proposals-toggle", "n_clicks"),
        State("ledger-proposals-more", "is_open"),
        State("ledger-proposals-rest", "children"),
        prevent_initial_call=True,
    )
    def toggle_proposals(_clicks, is_open, rest):
        return not is_open, _toggle_label(len(rest or []), not is_open)

    @app.callback(
        Output("ledger-grid", "rowData", allow_duplicate=True),
        Output("ledger-feedback", "children", allow_duplicate=True),
        Input({"type": "ledger-proposal", "index": ALL}, "n_clicks"),
        State("ledger-portfolio", "data"),
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
            return no_update, _errors_alert(error)
        except PortfolioNotFound as error:
            return no_update, _gone(error)
        except ProposalNotFound:
            gone = dbc.Alert("That proposal no longer applies.", color="warning", className="py-1")
            return no_update, gone
        done = dbc.Alert(f"Added {_describe(row)}.", color="success", className="py-1")
        return _grid_rows(app_context, list_transactions(app_context, portfolio_id)), done


def _proposals_card(proposals: list[Proposal], base_currency: str) -> dbc.Card:
    """The proposals: a summary by kind and ticker, the first PROPOSALS_SHOWN with their Add
    buttons, the rest behind a disclosure. Hidden while there are none."""
    card_class, head, toggle_label, toggle_class, rest = _proposals_parts(
        proposals, base_currency, is_open=False
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(head, id="ledger-proposals-head"),
                dbc.Button(
                    toggle_label,
                    id="ledger-proposals-toggle",
                    color="link",
                    size="sm",
                    className=toggle_class,
                ),
                dbc.Collapse(
                    html.Ul(rest, id="ledger-proposals-rest", className="list-unstyled mb-0"),
                    id="ledger-proposals-more",
                    is_open=False,
                ),
            ]
        ),
        id="ledger-proposals",
        className=card_class,
    )


def _proposals_parts(
    proposals: list[Proposal], base_currency: str, is_open: bool
) -> tuple[str, list, str, str, list]:
    """The card's class, head (summary and first proposals), disclosure label and class, and
    the proposals behind the disclosure. Splits come first: they distort returns the most."""
    if not proposals:
        return "d-none", [], "", "d-none", []
    ordered = sorted(proposals, key=lambda proposal: proposal.kind != "SPLIT")
    shown, rest = ordered[:PROPOSALS_SHOWN], ordered[PROPOSALS_SHOWN:]
    head = [
        html.Strong(
            f"The price data shows {len(proposals):,} corporate actions this ledger lacks",
            id="ledger-proposals-title",
        ),
        html.Ul(
            [html.Li(line) for line in _proposal_summary(proposals, base_currency)],
            className="small mb-1 ps-3",
            id="ledger-proposals-summary",
        ),
        html.P(
            "Missing splits and dividends distort returns. Nothing is added until you click; "
            "check each against your broker's statement.",
            className="small text-muted mb-2",
        ),
        html.Ul(_proposal_items(shown), className="list-unstyled mb-0"),
    ]
    toggle = _toggle_label(len(rest), is_open)
    toggle_class = "p-0 mt-1" if rest else "d-none"
    return "mb-3 border-warning", head, toggle, toggle_class, _proposal_items(rest)


def _proposal_summary(proposals: list[Proposal], base_currency: str) -> list[str]:
    """One line per kind: '194 dividends, 5,819.65 USD in all: AAPL 30, MSFT 29, …'."""
    lines = []
    for kind, per_ticker in proposal_counts(proposals).items():
        total = sum(per_ticker.values())
        what = KIND_WORDS[kind][total != 1]
        if kind == "DIVIDEND":
            cash = sum(p.cash for p in proposals if p.kind == kind)
            what += f", {cash:,.2f} {base_currency} in all"
        tickers = ", ".join(f"{ticker} {count}" for ticker, count in per_ticker.items())
        lines.append(f"{total:,} {what}: {tickers}")
    return lines


def _toggle_label(hidden: int, is_open: bool) -> str:
    if not hidden:
        return ""
    return (
        f"Hide the other {hidden:,} proposals"
        if is_open
        else f"Show the other {hidden:,} proposals"
    )


def _proposal_items(proposals: list[Proposal]) -> list[html.Li]:
    return [
        html.Li(
            [
                dbc.Button(
                    f"Add {proposal.kind}",
                    id={"type": "ledger-proposal", "index": proposal.key},
                    size="sm",
                    color="outline-primary",
                    className="me-2 mb-1",
                ),
                proposal.explanation,
                ".",
            ],
            className="ledger-proposal small",
        )
        for proposal in proposals
    ]


def _editor(base_currency: str) -> dbc.Card:
    def field(label: str, component) -> dbc.Col:
        """A labelled control with its own error line, shown when the control is marked
        invalid (`ledger-<name>.invalid`)."""
        return dbc.Col(
            [
                field_label(label, component.id),
                component,
                dbc.FormFeedback(id=f"{component.id}-feedback", type="invalid"),
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
                                id="ledger-trade_date",
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
                                id="ledger-kind",
                                options=[{"label": kind, "value": kind} for kind in KINDS],
                                value="BUY",
                            ),
                        ),
                        field("Ticker", dbc.Input(id="ledger-ticker", placeholder="AAPL")),
                        field(
                            "Quantity",
                            dbc.Input(id="ledger-quantity", inputMode="decimal", placeholder="10"),
                        ),
                        field(
                            "Price",
                            dbc.Input(id="ledger-price", inputMode="decimal", placeholder="0"),
                        ),
                        field(
                            "Fees",
                            dbc.Input(id="ledger-fees", inputMode="decimal", placeholder="0"),
                        ),
                        field("Note", dbc.Input(id="ledger-note", maxLength=1000)),
                    ],
                    className="g-2 mb-2",
                ),
                html.Div(
                    [
                        dbc.Button("Add", id="ledger-add", color="primary", size="sm"),
                        dbc.Button(
                            "Save changes",
                            id="ledger-save",
                            color="outline-primary",
                            size="sm",
                            disabled=True,
                            className="ms-2",
                        ),
                        dbc.Button(
                            "Delete",
                            id="ledger-delete",
                            color="outline-danger",
                            size="sm",
                            disabled=True,
                            className="ms-2",
                        ),
                        dbc.Button(
                            "Clear", id="ledger-clear", color="link", size="sm", className="ms-2"
                        ),
                        html.Span(
                            "Select a row to edit or delete it. Amounts are in "
                            f"{base_currency}, the portfolio's currency; a deposit of 1,000 is "
                            "quantity 1 at price 1000.",
                            className="small text-muted ms-3",
                        ),
                    ]
                ),
                html.Div(id="ledger-ticker-note", className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def _importer(max_bytes: int) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        dbc.Col(
                            dcc.Upload(
                                id="ledger-upload",
                                children=html.Div(
                                    [
                                        "Import a CSV: drop it here or ",
                                        html.A("choose a file", className="link-primary"),
                                        " (ours, Yahoo Finance's portfolio export or "
                                        "Ghostfolio's activities export; up to "
                                        f"{max_bytes / 1e6:g} MB).",
                                    ]
                                ),
                                className="ledger-upload border rounded p-2 small",
                                multiple=False,
                            ),
                        ),
                        dbc.Col(
                            dbc.Button(
                                "Import", id="ledger-import", color="primary", disabled=True
                            ),
                            md="auto",
                        ),
                    ],
                    className="g-2 align-items-center",
                ),
                html.Div(id="ledger-preview", className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def _uploaded_bytes(contents: object) -> bytes | None:
    """The file behind a dcc.Upload data URL ("data:<type>;base64,<data>")."""
    if not isinstance(contents, str) or "," not in contents:
        return None
    try:
        return base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        return None


def _preview_view(preview: ImportPreview) -> html.Div:
    """What the import would do, row by row, before anything is stored."""
    summary = [
        html.Strong(preview.filename or "The file"),
        f": {preview.format_label}, " if preview.format_label else ": ",
        f"{len(preview.rows):,} transactions",
        f", {len(preview.skipped)} rows skipped" if preview.skipped else "",
        ".",
    ]
    parts: list = [html.P(summary, className="mb-1", id="ledger-preview-summary")]
    if preview.errors:
        parts.append(
            dbc.Alert(
                [
                    html.Strong("Nothing will be imported until these are fixed:"),
                    html.Ul(_listed([_error_line(e) for e in preview.errors]), className="mb-0"),
                ],
                color="danger",
                className="py-2",
                id="ledger-preview-errors",
            )
        )
    notes = [f"row {s.row}: skipped, {s.reason}" for s in preview.skipped]
    notes += [_error_line(w) for w in preview.warnings]
    if notes:
        parts.append(html.Ul(_listed(notes), className="small text-muted"))
    if preview.rows:
        head = html.Thead(html.Tr([html.Th(h) for h in ("row", *PREVIEW_FIELDS)]))
        body = html.Tbody(
            [
                html.Tr(
                    [
                        html.Td(item.row),
                        *(html.Td(str(getattr(item.draft, name) or "")) for name in PREVIEW_FIELDS),
                    ]
                )
                for item in preview.rows[:PREVIEW_ROWS]
            ]
        )
        parts.append(
            dbc.Table([head, body], size="sm", className="small", id="ledger-preview-table")
        )
        if len(preview.rows) > PREVIEW_ROWS:
            parts.append(
                html.P(f"… and {len(preview.rows) - PREVIEW_ROWS:,} more.", className="small")
            )
    ready = "import-ready" if preview.can_import else "import-blocked"
    return html.Div(parts, className=ready)


def _listed(lines: list[str]) -> list[html.Li]:
    """The first LISTED_LINES lines as list items, then one saying how many more there are
    (a file of 20,000 bad rows would otherwise send 20,000 items to the browser)."""
    items = [html.Li(line) for line in lines[:LISTED_LINES]]
    if len(lines) > LISTED_LINES:
        more = len(lines) - LISTED_LINES
        items.append(html.Li(f"… and {more:,} more", className="ledger-more-lines"))
    return items


def _error_line(error: RowError) -> str:
    return f"row {error.row}: {error.message}" if error.row is not None else error.message


def _export_links(portfolio_id: int, warning: str | None) -> html.Div:
    return html.Div(
        [
            html.A(
                "Export CSV",
                href=f"/api/portfolios/{portfolio_id}/export.csv",
                className="btn btn-sm btn-outline-secondary me-2",
                id="ledger-export-csv",
            ),
            html.A(
                "Export JSON",
                href=f"/api/portfolios/{portfolio_id}/export.json",
                className="btn btn-sm btn-outline-secondary",
                id="ledger-export-json",
            ),
            html.Div(warning, id="ledger-export-warning", className="small text-warning-emphasis")
            if warning
            else None,
        ],
        className="mb-3",
    )


def _blank_form() -> list[object]:
    return ["" if name != "kind" else "BUY" for name in FORM_FIELDS]


def _grid_rows(app_context: AppContext, rows: list[TransactionRow]) -> list[dict]:
    statuses = ticker_statuses(app_context, [row.ticker for row in rows if row.ticker])
    records = []
    for row in rows:
        record = asdict(row)
        record["trade_date"] = row.trade_date.isoformat()
        record["ticker_status"] = statuses.get(row.ticker, "") if row.ticker else ""
        records.append({name: record[name] for name in GRID_FIELDS})
    return records


def _unconfirmed(grid: list[dict], tickers: list[str]) -> list[str]:
    """The tickers whose prices or quote the cache does not hold yet: only those are worth a
    provider request."""
    known = {row["ticker"] for row in grid if row["ticker_status"] == "known"}
    return sorted({ticker for ticker in tickers if ticker not in known})


def _column_defs() -> list[dict]:
    number = {
        "type": "numericColumn",
        "valueFormatter": {"function": "formatQuantity(params.value)"},
    }
    return [
        {"field": "trade_date", "headerName": "Date", "sort": "desc", "minWidth": 120},
        {"field": "kind", "headerName": "Type", "minWidth": 110},
        {"field": "ticker", "headerName": "Ticker", "cellClass": "fw-bold", "minWidth": 100},
        {
            "field": "ticker_status",
            "headerName": "Symbol check",
            "headerTooltip": "Whether Yahoo Finance knows the ticker: checked when a ticker is "
            "first used; 'prices cached' means the app holds its prices.",
            "valueFormatter": {"function": f"({json.dumps(SYMBOL_WORDS)})[params.value] || ''"},
            "minWidth": 150,
        },
        {"field": "quantity", "headerName": "Quantity", **number},
        {"field": "price", "headerName": "Price", **number},
        {"field": "fees", "headerName": "Fees", **number},
        {"field": "currency", "headerName": "Currency", "minWidth": 90},
        {"field": "note", "headerName": "Note", "minWidth": 160},
    ]


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


def _describe(row: TransactionRow) -> str:
    parts = [row.trade_date.isoformat(), row.kind, row.ticker or ""]
    return " ".join(part for part in parts if part)


def _gone(error: PortfolioNotFound) -> dbc.Alert:
    """A portfolio deleted meanwhile (in another tab, say)."""
    return dbc.Alert(
        [
            f"{str(error).capitalize()}: it was deleted. ",
            dcc.Link("See all portfolios", href="/portfolios"),
        ],
        color="warning",
        className="py-1",
    )


def _errors_alert(error: LedgerError) -> dbc.Alert:
    items = _listed([_error_line(e) for e in error.errors])
    return dbc.Alert(
        [html.Strong("Nothing was changed:"), html.Ul(items, className="mb-0")],
        color="danger",
        className="py-2",
        id="ledger-errors",
    )
