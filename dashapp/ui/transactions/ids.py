"""Every Dash component id of the transactions page, so that the layout and the callbacks reading
it cannot drift apart by a typo. The page's tests name the same strings, as a browser sees them.
"""

from __future__ import annotations

# What the page is about and what the form is doing, kept in the browser.
PORTFOLIO = "ledger-portfolio"
EDITING = "ledger-editing"
# The tickers a change introduced, for the background symbol check.
CHECK = "ledger-check"

# The title line and the export links.
TITLE = "ledger-title"
REPORTS_LINK = "ledger-reports-link"
EXPORT_CSV = "ledger-export-csv"
EXPORT_JSON = "ledger-export-json"
EXPORT_WARNING = "ledger-export-warning"

# The proposed splits and dividends: a card, its head (summary and first proposals) and a
# disclosure with the rest. Each proposal's Add button is {"type": PROPOSAL, "index": key}.
PROPOSALS = "ledger-proposals"
PROPOSALS_HEAD = "ledger-proposals-head"
PROPOSALS_TITLE = "ledger-proposals-title"
PROPOSALS_SUMMARY = "ledger-proposals-summary"
PROPOSALS_TOGGLE = "ledger-proposals-toggle"
PROPOSALS_MORE = "ledger-proposals-more"
PROPOSALS_REST = "ledger-proposals-rest"
PROPOSAL = "ledger-proposal"

# The editor's fields, one per ledger column but the currency (`form.FORM_FIELDS`), by column.
# Each has a label `<id>-label` (components.field_label) and an error line `feedback(<id>)`.
FIELDS = {
    "trade_date": "ledger-trade_date",
    "kind": "ledger-kind",
    "ticker": "ledger-ticker",
    "quantity": "ledger-quantity",
    "price": "ledger-price",
    "fees": "ledger-fees",
    "note": "ledger-note",
}

# The editor's buttons and what it says.
ADD = "ledger-add"
SAVE = "ledger-save"
DELETE = "ledger-delete"
CLEAR = "ledger-clear"
TICKER_NOTE = "ledger-ticker-note"
UNKNOWN_TICKER = "ledger-unknown-ticker"

# Importing a file: the upload, its preview and the second click.
UPLOAD = "ledger-upload"
# Says, in the browser, that a chosen file is over the import limit (assets/ledger_upload.js).
UPLOAD_REFUSED = "ledger-upload-refused"
IMPORT = "ledger-import"
PREVIEW = "ledger-preview"
PREVIEW_SUMMARY = "ledger-preview-summary"
PREVIEW_ERRORS = "ledger-preview-errors"
PREVIEW_TABLE = "ledger-preview-table"

# What a change did: a banner above the grid.
FEEDBACK = "ledger-feedback"
DONE = "ledger-done"
IMPORTED = "ledger-imported"
ERRORS = "ledger-errors"

# The ledger itself.
GRID = "ledger-grid"

# Asking before a delete.
DELETE_MODAL = "ledger-delete-modal"
DELETE_TEXT = "ledger-delete-text"
DELETE_CANCEL = "ledger-delete-cancel"
DELETE_CONFIRM = "ledger-delete-confirm"


def feedback(field_id: str) -> str:
    """The id of the error line under the form field `field_id`."""
    return f"{field_id}-feedback"
