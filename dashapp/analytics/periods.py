"""Named periods (1M, 3M, YTD, 1Y, 3Y, 5Y, Max) as date ranges ending on a given day."""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashapp.rules import PERIODS

_OFFSETS = {
    "1M": pd.DateOffset(months=1),
    "3M": pd.DateOffset(months=3),
    "1Y": pd.DateOffset(years=1),
    "3Y": pd.DateOffset(years=3),
    "5Y": pd.DateOffset(years=5),
}


class UnknownPeriod(ValueError):
    pass


def period_range(period: str, end: date, first: date) -> tuple[date, date]:
    """[start, end] of `period` ending on `end`; MAX starts at `first`; never before `first`."""
    name = period.strip().upper()
    if name == "MAX":
        start = first
    elif name == "YTD":
        start = date(end.year, 1, 1)
    elif name in _OFFSETS:
        start = (pd.Timestamp(end) - _OFFSETS[name]).date()
    else:
        raise UnknownPeriod(f"period must be one of {', '.join(PERIODS)}")
    return max(start, first), end
