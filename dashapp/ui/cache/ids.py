"""Every Dash component id of the cache page, so that the layout and the callbacks reading it
cannot drift apart by a typo. The page's tests name the same strings, as a browser sees them.
"""

from __future__ import annotations

# The overview cards.
OVERVIEW = "cache-overview"
HIT_HOUR = "cache-hit-hour"
HIT_DAY = "cache-hit-day"
BREAKER = "cache-breaker"
BUDGET = "cache-budget"

# The upkeep actions on one ticker or on everything, and what they say.
TICKER = "cache-ticker"
REFRESH = "cache-refresh"
EVICT = "cache-evict"
WARM = "cache-warm"
WARM_CANCEL = "cache-warm-cancel"
WARM_PROGRESS = "cache-warm-progress"
MESSAGE = "cache-message"
# Why a user who is not an admin finds Evict and Warm disabled.
READ_ONLY_NOTE = "cache-read-only-note"

# Asking before an evict.
EVICT_MODAL = "cache-evict-modal"
EVICT_QUESTION = "cache-evict-question"
EVICT_CANCEL = "cache-evict-cancel"
EVICT_CONFIRM = "cache-evict-confirm"

# What the cache holds and how it has been doing.
GRID = "cache-grid"
UPSTREAM_CHART = "cache-upstream-chart"
JOBS = "cache-jobs"
JOBS_TABLE = "cache-jobs-table"
LATENCY = "cache-latency"
LATENCY_TABLE = "cache-latency-table"

# Redrawing: every REFRESH_EVERY_MS, and after an action changed the cache (a counter).
TICK = "cache-tick"
VERSION = "cache-version"
