"""The XNYS trading calendar (exchange_calendars): sessions, opens, closes, holidays, early closes."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

CALENDAR_START = "1990-01-02"


@lru_cache(maxsize=4)
def _exchange_calendar(name: str) -> xcals.ExchangeCalendar:
    # Building a calendar takes ~0.5 s; one per process is enough.
    return xcals.get_calendar(name, start=CALENDAR_START)


class MarketCalendar:
    """Questions about trading sessions, answered in exchange time and returned in UTC."""

    def __init__(self, name: str = "XNYS") -> None:
        self.name = name
        self._calendar = _exchange_calendar(name)

    @property
    def first_session(self) -> date:
        return self._calendar.first_session.date()

    @property
    def last_session(self) -> date:
        return self._calendar.last_session.date()

    def sessions(self, start: date, end: date) -> pd.DatetimeIndex:
        """Sessions from `start` to `end`, both inclusive, as tz-naive midnight timestamps."""
        start = max(pd.Timestamp(start), self._calendar.first_session)
        end = min(pd.Timestamp(end), self._calendar.last_session)
        if start > end:
            return pd.DatetimeIndex([], dtype="datetime64[ns]")
        return self._calendar.sessions_in_range(start, end)

    def is_session(self, day: date) -> bool:
        stamp = pd.Timestamp(day)
        if not self._calendar.first_session <= stamp <= self._calendar.last_session:
            return False
        return bool(self._calendar.is_session(stamp))

    def session_open(self, day: date) -> pd.Timestamp:
        return self._calendar.session_open(pd.Timestamp(day))

    def session_close(self, day: date) -> pd.Timestamp:
        return _session_close(self.name, day)

    def next_session(self, day: date) -> date:
        """The first session strictly after `day` (which need not be a session)."""
        return self._calendar.date_to_session(
            pd.Timestamp(day) + pd.Timedelta(days=1), "next"
        ).date()

    def previous_session(self, day: date) -> date:
        """The last session strictly before `day` (which need not be a session)."""
        stamp = pd.Timestamp(day) - pd.Timedelta(days=1)
        return self._calendar.date_to_session(stamp, "previous").date()

    def session_on_or_before(self, day: date) -> date:
        return self._calendar.date_to_session(pd.Timestamp(day), "previous").date()

    def session_on_or_after(self, day: date) -> date:
        return self._calendar.date_to_session(pd.Timestamp(day), "next").date()

    def is_open(self, now: datetime) -> bool:
        """True while a regular session is trading at `now`."""
        return bool(self._calendar.is_open_on_minute(_minute(now), ignore_breaks=True))

    def current_session(self, now: datetime) -> date | None:
        """The session trading at `now`, or None outside session hours."""
        if not self.is_open(now):
            return None
        return self._calendar.minute_to_session(_minute(now), "previous").date()

    def last_completed_session(self, now: datetime) -> date:
        """The latest session whose close is at or before `now`."""
        return _last_completed_session(self.name, _minute(now))

    def next_open(self, now: datetime) -> pd.Timestamp:
        return self._calendar.next_open(_minute(now))

    def next_close(self, now: datetime) -> pd.Timestamp:
        return self._calendar.next_close(_minute(now))


def _minute(now: datetime) -> pd.Timestamp:
    """`now` as a UTC timestamp floored to the minute, the resolution exchange_calendars uses."""
    stamp = pd.Timestamp(now)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.floor("min")


# Freshness asks these for every ticker of every page; exchange_calendars takes ~0.2 ms a call.
# The calendar never changes while the process runs, so an answer holds for good.
@lru_cache(maxsize=16_384)
def _session_close(name: str, day: date) -> pd.Timestamp:
    return _exchange_calendar(name).session_close(pd.Timestamp(day))


@lru_cache(maxsize=64)
def _last_completed_session(name: str, minute: pd.Timestamp) -> date:
    calendar = _exchange_calendar(name)
    close = calendar.previous_close(minute + pd.Timedelta(minutes=1))
    return calendar.minute_to_session(close, "previous").date()
