"""Job times follow the XNYS calendar: holidays, early closes and both DST switches of 2024.

Instants are UTC. New York is UTC-5 in winter (open 14:30, close 21:00) and UTC-4 in summer
(open 13:30, close 20:00); early closes are at 13:00 New York time. Refreshes run every 300 s
from the open, warms 600 s after the close.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashapp.jobs.schedule import next_refresh, next_warm, refresh_due, warm_due
from dashapp.market.calendar import MarketCalendar

INTERVAL = 300
DELAY = 600


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture(scope="module")
def calendar() -> MarketCalendar:
    return MarketCalendar()


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Mid-session: the next step of the five-minute grid from the 14:30 open.
        (utc(2024, 12, 4, 15, 2, 10), utc(2024, 12, 4, 15, 5)),
        (utc(2024, 12, 4, 15, 5), utc(2024, 12, 4, 15, 10)),
        # Before the open: the open itself.
        (utc(2024, 12, 4, 9, 0), utc(2024, 12, 4, 14, 30)),
        # The last step before the close, then nothing until the next open.
        (utc(2024, 12, 4, 20, 52), utc(2024, 12, 4, 20, 55)),
        (utc(2024, 12, 4, 20, 56), utc(2024, 12, 5, 14, 30)),
        # Day after Thanksgiving closes at 18:00 UTC: 18:00 is no refresh; Monday's open is.
        (utc(2024, 11, 29, 17, 57), utc(2024, 12, 2, 14, 30)),
        # Christmas Eve closes early and Christmas is a holiday.
        (utc(2024, 12, 24, 17, 58), utc(2024, 12, 26, 14, 30)),
        # Thanksgiving itself is a holiday: Wednesday evening waits for Friday.
        (utc(2024, 11, 27, 21, 30), utc(2024, 11, 29, 14, 30)),
        # Clocks sprang forward on Sunday 2024-03-10: Monday opens at 13:30 UTC.
        (utc(2024, 3, 8, 22, 0), utc(2024, 3, 11, 13, 30)),
        (utc(2024, 3, 11, 13, 31), utc(2024, 3, 11, 13, 35)),
        # Clocks fell back on Sunday 2024-11-03: Friday closed at 20:00, Monday opens at 14:30.
        (utc(2024, 11, 1, 20, 30), utc(2024, 11, 4, 14, 30)),
    ],
)
def test_next_refresh(calendar, now, expected):
    assert next_refresh(calendar, now, INTERVAL) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2024, 12, 4, 15, 0), utc(2024, 12, 4, 21, 10)),
        # Inside the delay after the close: still today's warm.
        (utc(2024, 12, 4, 21, 5), utc(2024, 12, 4, 21, 10)),
        # At the warm instant itself: the next one (strictly after).
        (utc(2024, 12, 4, 21, 10), utc(2024, 12, 5, 21, 10)),
        # Friday's warm after a Wednesday evening: Thanksgiving has no session, Friday closes early.
        (utc(2024, 11, 27, 21, 30), utc(2024, 11, 29, 18, 10)),
        (utc(2024, 12, 24, 15, 0), utc(2024, 12, 24, 18, 10)),
        (utc(2024, 12, 24, 18, 30), utc(2024, 12, 26, 21, 10)),
        # Across the DST switches: Monday closes at 20:00 UTC in March, 21:00 UTC in November.
        (utc(2024, 3, 8, 22, 0), utc(2024, 3, 11, 20, 10)),
        (utc(2024, 11, 1, 20, 30), utc(2024, 11, 4, 21, 10)),
    ],
)
def test_next_warm(calendar, now, expected):
    assert next_warm(calendar, now, DELAY) == expected


def test_a_clock_started_mid_session_refreshes_at_once(calendar):
    now = utc(2024, 12, 4, 15, 2, 10)
    assert refresh_due(calendar, now, INTERVAL, None) == now
    assert refresh_due(calendar, now, INTERVAL, utc(2024, 12, 4, 14, 57)) == now
    # A refresh two minutes ago is recent enough: wait for the grid.
    assert refresh_due(calendar, now, INTERVAL, utc(2024, 12, 4, 15, 0)) == utc(2024, 12, 4, 15, 5)
    # Outside a session nothing is due before the open.
    assert refresh_due(calendar, utc(2024, 12, 7, 12, 0), INTERVAL, None) == utc(
        2024, 12, 9, 14, 30
    )


def test_a_clock_that_missed_a_warm_catches_up(calendar):
    # Saturday morning with no warm since Friday's close: warm now.
    now = utc(2024, 12, 7, 9, 0)
    assert warm_due(calendar, now, DELAY, None) == now
    assert warm_due(calendar, now, DELAY, utc(2024, 12, 5, 21, 10)) == now
    # Friday's warm ran: the next one is Monday's.
    assert warm_due(calendar, now, DELAY, utc(2024, 12, 6, 21, 10)) == utc(2024, 12, 9, 21, 10)
    # Within the delay after the close there is nothing to catch up yet.
    assert warm_due(calendar, utc(2024, 12, 6, 21, 5), DELAY, utc(2024, 12, 5, 21, 10)) == utc(
        2024, 12, 6, 21, 10
    )
