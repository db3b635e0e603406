"""`app.validation_layout`: the shell and every page in each of its states, drawn once without
data, so that every id a callback names can be looked up in one tree.

Some ids exist only in one state of a page (the dashboard's empty-state form, its chart panels
mounted from data, a table's row buttons); each page's `validation_state(s)` draws those states
from blank values, so building this reads nothing: no database, cache or provider.
tests/ui/test_callback_ids.py checks each callback's ids against this tree.
"""

from __future__ import annotations

from dash import html

from dashapp.ui import backtest, cache, compare, dashboard, portfolios, reports, shell, transactions


def validation_layout() -> html.Div:
    pages = [
        *dashboard.validation_states(),
        portfolios.validation_state(),
        *reports.validation_states(),
        compare.validation_state(),
        backtest.validation_state(),
        cache.validation_state(),
        transactions.validation_state(),
    ]
    return shell.frame(is_demo=False, path=None, page=pages)
