"""The backtest page (`/backtest`): would a simple rule have done better than buy-and-hold?

A result for the same question and prices comes straight from the cache, and one whose prices
are all cached is computed at once (milliseconds). When prices must be fetched first, a
background callback fetches and computes, moving a progress bar; it can be cancelled. The
equity curve is drawn against buy-and-hold of the same asset and the same money in a benchmark
ETF; a sweep draws a heatmap of the chosen metric over the window grid.

`ids` names the components, `layout` places them, `form` reads the form into a request,
`callbacks` answers it, `figures` draws the result and `messages` and `words` say it in words.
The shell and the page's tests import from here.
"""

from dashapp.ui.backtest.callbacks import register_callbacks
from dashapp.ui.backtest.form import FORM_FIELDS, TOGGLED_FIELDS, form_request, shown_fields
from dashapp.ui.backtest.layout import layout, validation_state
from dashapp.ui.backtest.messages import CLEARED, COMPUTING
from dashapp.ui.backtest.words import in_words

__all__ = [
    "CLEARED",
    "COMPUTING",
    "FORM_FIELDS",
    "TOGGLED_FIELDS",
    "form_request",
    "in_words",
    "layout",
    "register_callbacks",
    "shown_fields",
    "validation_state",
]
