"""The dashboard's component ids: one name each, for the layout, the callbacks and the tests.

Some components exist only in one state of the page: the empty state's form, a portfolio's
cards and grid, and the chart panels with their request slots (mounted after the holdings).
`layout.validation_states` draws, without data, the states whose ids the callbacks name.
"""

from __future__ import annotations

# The bar above the portfolio.
PORTFOLIO_SELECT = "portfolio-select"
REFRESH_BUTTON = "refresh-button"
REFRESH_CANCEL = "refresh-cancel"
REFRESH_PROGRESS = "refresh-progress"
REFRESH_STATUS = "refresh-status"
# The portfolio, or the empty state, and what it has refreshed by itself.
DASHBOARD_BODY = "dashboard-body"
AUTO_REFRESHED = "auto-refreshed"

# The empty state: no portfolio yet.
EMPTY_STATE = "empty-state"
NO_PORTFOLIOS = "no-portfolios"
NEW_PORTFOLIO_NAME = "new-portfolio-name"
NEW_PORTFOLIO_CURRENCY = "new-portfolio-currency"
CREATE_PORTFOLIO_BUTTON = "create-portfolio-button"
LOAD_DEMO_BUTTON = "load-demo-button"
CREATE_PORTFOLIO_FEEDBACK = "create-portfolio-feedback"

# One portfolio: its cards and holdings, or the note that it holds nothing.
EMPTY_PORTFOLIO = "empty-portfolio"
CARD_MARKET_VALUE = "card-market-value"
CARD_DAY_CHANGE = "card-day-change"
CARD_TOTAL_GAIN = "card-total-gain"
CARD_UNREALIZED_GAIN = "card-unrealized-gain"
CARD_CASH = "card-cash"
TOTALS_NOTE = "totals-note"
HOLDINGS_TABLE = "holdings-table"

# The chart panels and the background requests, carried as data and mounted after the holdings.
PANELS_SLOT = "dashboard-panels-slot"
PANELS_BLOCK = "dashboard-panels-block"
PANELS = "dashboard-panels"
PANEL_BENCHMARK = "panel-benchmark"
PANEL_BENCHMARKS = "panel-benchmarks"
PANEL_PERIOD = "panel-period"
BENCHMARK_PROGRESS = "benchmark-progress"
BENCHMARK_CHART = "benchmark-chart"
BENCHMARK_MESSAGE = "benchmark-message"
PANEL_ALLOCATION = "panel-allocation"
ALLOCATION_BY = "allocation-by"
ALLOCATION_PROGRESS = "allocation-progress"
ALLOCATION_CHART = "allocation-chart"
ALLOCATION_NOTE = "allocation-note"
PANEL_MOVERS = "panel-movers"
MOVERS_PROGRESS = "movers-progress"
MOVERS_CHART = "movers-chart"
# A request store appears in its slot only when there is work for its background callback.
REFRESH_SLOT = "refresh-slot"
REFRESH_REQUEST = "refresh-request"
BENCHMARK_SLOT = "benchmark-slot"
BENCHMARK_REQUEST = "benchmark-request"
