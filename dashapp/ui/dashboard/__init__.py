"""The dashboard page (`/`): portfolio selector, summary cards, holdings and three chart panels.

The layout itself carries the numbers: holdings, cards, badges, allocation and movers come from
the read-model cache (services/dashboard.py) when the page is built, and so does the benchmark
panel when a finished one is cached. No callback stands between navigation and the numbers;
callbacks only answer the user's choices and background work fills what the cache lacks:
- a refresh (background) fetches stale or missing prices, then redraws holdings and charts;
- the benchmark panel (background) fetches history the comparison lacks, then draws.
A background callback starts when its request store appears on the page: the layout (or a
later callback) puts the store into its slot only when there is work, so a page whose caches
are warm sends no callback at all, not even one that would find nothing to do. The charts and
those stores travel in the layout as data and are mounted right after the holdings (see
callbacks.MOUNT_AFTER_HOLDINGS), so loading Plotly never delays the numbers. Even before the
renderer has this layout, the index page shows the same numbers as static HTML
(ui/first_paint.py), which these components replace in place once drawn.

Where things are: `ids` (every component id), `layout` (the page and its states), `holdings`
(cards and grid), `panels` (the chart panels), `figures` (how each chart is drawn), `background`
(the request stores of background work) and `callbacks`.
"""

from dashapp.ui.dashboard.callbacks import register_callbacks
from dashapp.ui.dashboard.layout import layout, validation_states

__all__ = ["layout", "register_callbacks", "validation_states"]
