"""When the clock process runs each job, from the XNYS calendar (holidays, early closes, DST).

- refresh: during a session, on a grid of `interval` seconds from the open (14:30, 14:35, ...
  in winter), never at or after the close; outside sessions, next at the next open.
- warm: `delay` seconds after each session's close, early closes included, once the
  provider has settled the day's bar.
At start-up a job whose last run is too old is due at once (a clock that was down catches up).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd

from dashapp.market.calendar import MarketCalendar


def next_refresh(calendar: MarketCalendar, now: datetime, interval_seconds: int) -> datetime:
    """The first refresh instant strictly after `now`.

    Inside a session opened at O and closing at C: O + k * interval for the least k with
    O + k * interval > now, if that is before C; otherwise the next session's open.
    """
    session = calendar.current_session(now)
    if session is not None:
        opened = _utc(calendar.session_open(session))
        closes = _utc(calendar.session_close(session))
        steps = math.floor((now - opened).total_seconds() / interval_seconds) + 1
        candidate = opened + timedelta(seconds=steps * interval_seconds)
        if candidate < closes:
            return candidate
    return _utc(calendar.next_open(now))


def next_warm(calendar: MarketCalendar, now: datetime, delay_seconds: int) -> datetime:
    """The first instant strictly after `now` that is `delay` after a session's close."""
    delay = timedelta(seconds=delay_seconds)
    last_close = _utc(calendar.session_close(calendar.last_completed_session(now)))
    if last_close + delay > now:
        return last_close + delay
    return _utc(calendar.next_close(now)) + delay


def refresh_due(
    calendar: MarketCalendar, now: datetime, interval_seconds: int, last_run: datetime | None
) -> datetime:
    """`now` when a session is trading and no refresh ran in the last interval, else the next
    refresh instant."""
    stale = last_run is None or (now - last_run).total_seconds() >= interval_seconds
    if calendar.current_session(now) is not None and stale:
        return now
    return next_refresh(calendar, now, interval_seconds)


def warm_due(
    calendar: MarketCalendar, now: datetime, delay_seconds: int, last_run: datetime | None
) -> datetime:
    """`now` when the latest close is more than `delay` ago and no warm started after it,
    else the next warm instant."""
    last_close = _utc(calendar.session_close(calendar.last_completed_session(now)))
    missed = last_run is None or last_run < last_close
    if missed and now >= last_close + timedelta(seconds=delay_seconds):
        return now
    return next_warm(calendar, now, delay_seconds)


def _utc(stamp: pd.Timestamp) -> datetime:
    return stamp.to_pydatetime().astimezone(UTC)
