"""The dates a request's period covers: a named period counted back from its end, or the custom
dates the user typed, never before the first day there is anything to show."""

from __future__ import annotations

from datetime import date

from dashapp.analytics.periods import UnknownPeriod, period_range
from dashapp.services.portfolios import InvalidInput


def requested_range(period: str, start: date | None, end: date, first: date) -> tuple[date, date]:
    """[start, end] of the request: "CUSTOM" runs from `start` (or `first`) to `end`, any other
    period as `period_range` reads it. Raises InvalidInput("period") for an unknown period."""
    if period == "CUSTOM":
        return max(start or first, first), end
    try:
        return period_range(period, end, first)
    except UnknownPeriod as error:
        raise InvalidInput("period", str(error)) from None
