"""The shapes market data travels in between providers, the price store and services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")
BAR_COLUMNS = ("ticker", "date", *PRICE_COLUMNS, "volume", "dividend", "split_ratio")
"""Daily bars in long form. Prices are split-adjusted as of the fetch (as Yahoo reports `Close`),
not dividend-adjusted; `dividend` is the cash amount per share on the ex-date (0.0 elsewhere);
`split_ratio` is new shares per old share on the split date (1.0 elsewhere). `date` holds
tz-naive midnight timestamps of XNYS sessions."""


def empty_bars() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="float64") for column in BAR_COLUMNS})
    frame["ticker"] = frame["ticker"].astype("object")
    frame["date"] = pd.Series(dtype="datetime64[ns]")
    return frame


@dataclass(frozen=True)
class Quote:
    """The latest price of one ticker and where it came from."""

    ticker: str
    price: float
    previous_close: float | None
    as_of: datetime
    fetched_at: datetime
    source: str
    market_state: str = "CLOSED"
    open: float | None = None
    high: float | None = None
    low: float | None = None
    volume: float | None = None


@dataclass
class HistoryBatch:
    """What one history call returned: bars for the tickers that worked, a reason for each that did not."""

    bars: pd.DataFrame
    errors: dict[str, Exception] = field(default_factory=dict)


@dataclass
class QuoteBatch:
    quotes: dict[str, Quote] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)
