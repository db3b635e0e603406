"""The rules every layer shares: what a ticker, a currency and a ledger row are, the named
periods, the freshness states and the exchange's time zone.

One copy of each, so the ledger, the comparison, the backtest, the pages and the JSON API cannot
disagree (a ledger holding `^GSPC` that no benchmark form accepted was such a disagreement).
It is a leaf like `settings`: it imports nothing of ours, so `analytics`, `market`, `services`,
`ui`, `api` and `jobs` may all import it without an arrow running against DESIGN.md's direction.
"""

from __future__ import annotations

import re
from enum import StrEnum
from zoneinfo import ZoneInfo

# A Yahoo symbol, upper-cased: letters, digits and `.` (BRK.B, 7203.T), `-` (BRK-B), `^` (an
# index, ^GSPC) and `=` (currency pairs EURUSD=X, futures ES=F); up to 15 characters.
TICKER_PATTERN = re.compile(r"^[A-Z0-9.^=-]{1,15}$")
TICKER_RULE = "up to 15 of A-Z, 0-9 and . ^ = -"
# Yahoo's prefix of an index: it has prices only, no dividends, so its "total return" is its
# price return, and everything that shows one says so.
INDEX_PREFIX = "^"
# An ISO 4217 code such as USD.
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")

# The ledger: a transaction's kinds and fields (the conventions are `analytics.holdings`').
KINDS = ("BUY", "SELL", "DIVIDEND", "SPLIT", "DEPOSIT", "WITHDRAWAL", "FEE")
LEDGER_FIELDS = ("trade_date", "kind", "ticker", "quantity", "price", "fees", "currency", "note")

# Named periods ending on a given day (`analytics.periods.period_range`); "CUSTOM" is start/end.
PERIODS = ("1M", "3M", "YTD", "1Y", "3Y", "5Y", "MAX")
# What a period form offers: the named periods, then start and end dates of one's own.
PERIOD_CHOICES = (*PERIODS, "CUSTOM")


class FreshnessState(StrEnum):
    """A value's freshness (DESIGN.md, Freshness), decided by `market.freshness`.

    A `str` enum: it is stored, compared and sent as JSON as its plain value ("stale"), so
    pandas columns, the JSON API and the pages read the same word.
    """

    FRESH = "fresh"
    CACHED = "cached"
    STALE = "stale"
    MISSING = "missing"


FRESH = FreshnessState.FRESH
CACHED = FreshnessState.CACHED
STALE = FreshnessState.STALE
MISSING = FreshnessState.MISSING
STATES = tuple(state.value for state in FreshnessState)
# States that ask for a refresh: the dashboard refreshes itself while any price is in one.
NEEDS_REFRESH = (STALE, MISSING)

# The exchange whose calendar the ledger and the prices follow (XNYS): "today" is its date.
EXCHANGE_TIMEZONE = ZoneInfo("America/New_York")


def ticker_symbol(raw: object) -> str | None:
    """`raw` stripped and upper-cased when it is a ticker symbol, else None."""
    if not isinstance(raw, str):
        return None
    symbol = raw.strip().upper()
    return symbol if TICKER_PATTERN.match(symbol) else None


def is_index(ticker: str) -> bool:
    """True for an index (`^GSPC`): prices only, no dividends."""
    return ticker.startswith(INDEX_PREFIX)


def price_only_warning(ticker: str) -> str:
    """What a result using an index says about it (its provenance also says `price_only`)."""
    return f"{ticker}: an index, prices only: its return leaves out its members' dividends"
