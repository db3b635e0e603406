"""The cache page (`/cache`): what the price cache holds, how fresh it is, what the provider has
been answering, how fast each route is, and the upkeep actions.

Reads come from `services.cache_status` (database and shared state only); the upkeep actions go
through `services.upkeep`. Every value reaches the page as text: tickers and error messages are
never rendered as HTML.

`ids` names the components, `layout` places them, `overview` draws the cards, `tables` the
ticker grid, job runs and latencies, `figures` the upstream chart, and `callbacks` redraws them
and runs the actions, each as far as `roles` lets the acting user: admins do everything, others
only refresh what they hold or benchmark. The shell and the tests import from here.
"""

from dashapp.ui.cache.callbacks import register_callbacks
from dashapp.ui.cache.figures import upstream_figure
from dashapp.ui.cache.layout import layout, validation_state

__all__ = ["layout", "register_callbacks", "upstream_figure", "validation_state"]
