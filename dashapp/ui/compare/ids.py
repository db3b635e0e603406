"""Every Dash component id of the comparison page, so that the layout and the callbacks reading
it cannot drift apart by a typo. The page's tests name the same strings, as a browser sees them.
"""

from __future__ import annotations

# The question: which portfolio, against which ETFs, over which period.
PORTFOLIO = "compare-portfolio"
BENCHMARKS = "compare-benchmarks"
BENCHMARKS_LABEL = "compare-benchmarks-label"
EXTRA = "compare-extra"
EXTRA_FEEDBACK = "compare-extra-feedback"
PERIOD = "compare-period"
PERIOD_LABEL = "compare-period-label"
DATES = "compare-dates"
VIEW = "compare-view"
VIEW_LABEL = "compare-view-label"

# Running a comparison.
RUN = "compare-run"
CANCEL = "compare-cancel"
PROGRESS = "compare-progress"
MESSAGE = "compare-message"
ERROR = "compare-error"

# The result and what is drawn from it.
CHART = "compare-chart"
METRICS = "compare-metrics"
METRICS_TABLE = "metrics-table"
RELATIVE_METRICS_TABLE = "relative-metrics-table"
BREAKDOWN = "compare-breakdown"
BREAKDOWN_TABLE = "breakdown-table"
RESULT = "compare-result"
JOB = "compare-job"

# The daily table that explains a series' numbers.
EXPLAIN_SERIES = "explain-series"
EXPLAIN_SERIES_LABEL = "explain-series-label"
EXPLAIN_TABLE = "explain-table"
EXPLAIN_GRID = "explain-grid"
