"""A portfolio's transactions page (`/portfolios/<id>`): the ledger, its editor and its files.

The grid lists every transaction (sortable, filterable); selecting a row loads it into the form
for editing or deletion. Splits and dividends that the stored price data shows for a held
ticker, but the ledger lacks, are proposed with their amounts; each is added only when the user
confirms it. An uploaded CSV is previewed first and imported only on a second click.

`ids` names the components, `layout` places them, `form` is the editor, `grid` the ledger's
rows, `proposals` the proposed corporate actions, `importer` the upload and its preview,
`messages` what a change says, and `callbacks` answers them all. The shell and the tests import
from here.
"""

from dashapp.ui.transactions.callbacks import register_callbacks
from dashapp.ui.transactions.form import FORM_FIELDS
from dashapp.ui.transactions.importer import PREVIEW_FIELDS
from dashapp.ui.transactions.layout import layout, portfolio_id_in, validation_state

__all__ = [
    "FORM_FIELDS",
    "PREVIEW_FIELDS",
    "layout",
    "portfolio_id_in",
    "register_callbacks",
    "validation_state",
]
