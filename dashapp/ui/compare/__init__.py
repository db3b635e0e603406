"""The comparison page (`/compare`): did the portfolio beat the ETFs it could have been?

A finished comparison for the same question and prices comes straight from the cache, and one
whose prices are all cached is computed at once (a fraction of a second). When prices must be
fetched first, a background callback loads, fetches, computes and hands the result to the page,
moving a progress bar through those stages; the rest of the app stays usable and the job can be
cancelled. Switching views redraws from the result kept in the browser.

`ids` names the components, `layout` places them, `callbacks` answers the question, `figures`
draws the chart and `tables` the metrics, the breakdown and the daily table. The shell imports
from here.
"""

from dashapp.ui.compare.callbacks import register_callbacks
from dashapp.ui.compare.layout import layout, validation_state

__all__ = ["layout", "register_callbacks", "validation_state"]
