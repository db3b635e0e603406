"""Every Dash component id of the backtest page, so that the layout and the callbacks reading it
cannot drift apart by a typo. The page's tests name the same strings, as a browser sees them.
"""

from __future__ import annotations

# The form's controls; each sits in a column `field(control)` with a label `label(control)`.
SUBJECT = "backtest-subject"
TICKER = "backtest-ticker"
PORTFOLIO = "backtest-portfolio"
STRATEGY = "backtest-strategy"
STRATEGY_NOTE = "backtest-strategy-note"
BENCHMARK = "backtest-benchmark"
FAST = "backtest-fast"
SLOW = "backtest-slow"
FREQUENCY = "backtest-frequency"
AMOUNT = "backtest-amount"
CASH = "backtest-cash"
COMMISSION = "backtest-commission"
FIXED_FEE = "backtest-fixed-fee"
PERIOD = "backtest-period"
DATES = "backtest-dates"
FILL = "backtest-fill"
CONTRIBUTIONS = "backtest-contributions"
WHOLE_SHARES = "backtest-whole-shares"
SWEEP = "backtest-sweep"
METRIC = "backtest-metric"
FAST_WINDOWS = "backtest-fast-windows"
SLOW_WINDOWS = "backtest-slow-windows"

# Running a backtest.
RUN = "backtest-run"
CANCEL = "backtest-cancel"
PROGRESS = "backtest-progress"
MESSAGE = "backtest-message"
WARNINGS = "backtest-warnings"
ERROR = "backtest-error"

# The result and what is drawn from it.
EQUITY = "backtest-equity"
DRAWDOWN = "backtest-drawdown"
HEATMAP = "backtest-heatmap"
METRICS = "backtest-metrics"
METRICS_TABLE = "backtest-metrics-table"
TRADES = "backtest-trades"
PROVENANCE = "backtest-provenance"
RESULT = "backtest-result"
JOB = "backtest-job"


def field(control: str) -> str:
    """The column holding a control and its label, shown or hidden as a whole."""
    return f"{control}-field"


def label(control: str) -> str:
    """The label naming a control (the convention of `components.field_label`)."""
    return f"{control}-label"
