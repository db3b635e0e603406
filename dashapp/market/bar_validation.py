"""Which provider rows may be stored: bars and quotes that no market can have produced are dropped
before they reach the cache."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from dashapp.market.bars import PRICE_COLUMNS, Quote


def validate_bars(bars: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, date]]:
    """Drop rows no market can have produced; returns the good rows and each ticker's first bad date.

    A row is bad when a price is NaN, infinite or not positive, or when low/high do not bracket
    the close. Duplicate (ticker, date) rows keep the last one the provider sent.
    """
    if bars.empty:
        return bars, {}
    prices = bars[list(PRICE_COLUMNS)].to_numpy(dtype="float64")
    finite = np.isfinite(prices).all(axis=1) & (prices > 0).all(axis=1)
    with np.errstate(invalid="ignore"):
        bracketed = (bars["low"] <= bars["close"] * (1 + 1e-9)) & (
            bars["close"] <= bars["high"] * (1 + 1e-9)
        )
    good = finite & bracketed.to_numpy()
    bad = bars[~good]
    first_bad = {str(t): d.date() for t, d in bad.groupby("ticker")["date"].min().items()}
    cleaned = bars[good].drop_duplicates(["ticker", "date"], keep="last")
    cleaned = cleaned.assign(
        volume=cleaned["volume"].fillna(0.0),
        dividend=cleaned["dividend"].fillna(0.0),
        split_ratio=cleaned["split_ratio"].replace(0.0, 1.0).fillna(1.0),
    )
    return cleaned, first_bad


def valid_quote(quote: Quote) -> bool:
    """A quote is stored only with a finite, positive price."""
    return math.isfinite(quote.price) and quote.price > 0
