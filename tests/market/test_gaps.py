"""Gap computation in XNYS sessions: weekends, holidays, early closes and unfinished sessions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dashapp.market.calendar import MarketCalendar
from dashapp.market.gaps import CoverageState, Gap, find_gaps, group_by_range


@pytest.fixture(scope="module")
def calendar() -> MarketCalendar:
    return MarketCalendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_cold_ticker_gets_the_whole_range_clipped_to_sessions(calendar):
    gaps = find_gaps(
        ["SPY"], {}, date(2024, 11, 30), date(2024, 12, 8), calendar, at("2024-12-09 12:00")
    )
    # 2024-11-30 is a Saturday and 12-07/08 a weekend: the range is Monday 12-02 to Friday 12-06.
    assert gaps == [Gap("SPY", date(2024, 12, 2), date(2024, 12, 6), "cold")]


def test_fully_covered_ticker_has_no_gap(calendar):
    coverage = {"SPY": CoverageState(date(2024, 1, 2), date(2024, 12, 6))}
    gaps = find_gaps(
        ["SPY"], coverage, date(2024, 3, 1), date(2024, 12, 8), calendar, at("2024-12-08 12:00")
    )
    assert gaps == []


def test_weekend_after_friday_close_is_not_a_gap(calendar):
    coverage = {"SPY": CoverageState(date(2024, 1, 2), date(2024, 12, 6))}
    monday_morning = at("2024-12-09 14:00")  # 09:00 New York, before the open
    assert (
        find_gaps(["SPY"], coverage, date(2024, 1, 2), date(2024, 12, 9), calendar, monday_morning)
        == []
    )


def test_session_still_trading_is_not_a_gap(calendar):
    coverage = {"SPY": CoverageState(date(2024, 1, 2), date(2024, 12, 6))}
    monday_noon = at("2024-12-09 17:00")  # 12:00 New York, market open
    assert (
        find_gaps(["SPY"], coverage, date(2024, 1, 2), date(2024, 12, 9), calendar, monday_noon)
        == []
    )


def test_thanksgiving_is_skipped_and_the_early_close_counts_once_closed(calendar):
    coverage = {"SPY": CoverageState(date(2024, 1, 2), date(2024, 11, 27))}
    # Black Friday 2024-11-29 closes at 13:00 New York (18:00 UTC).
    before_early_close = at("2024-11-29 17:30")
    after_early_close = at("2024-11-29 18:05")
    assert (
        find_gaps(
            ["SPY"], coverage, date(2024, 1, 2), date(2024, 11, 29), calendar, before_early_close
        )
        == []
    )
    gaps = find_gaps(
        ["SPY"], coverage, date(2024, 1, 2), date(2024, 11, 29), calendar, after_early_close
    )
    assert gaps == [Gap("SPY", date(2024, 11, 29), date(2024, 11, 29), "tail")]
    assert gaps[0].single_session


def test_tail_of_several_sessions_rereads_the_last_three_stored(calendar):
    coverage = {"SPY": CoverageState(date(2024, 1, 2), date(2024, 12, 2))}
    gaps = find_gaps(
        ["SPY"], coverage, date(2024, 1, 2), date(2024, 12, 6), calendar, at("2024-12-07 12:00"), 3
    )
    # Stored through Monday 12-02; the three stored sessions ending there start Wednesday 11-27.
    assert gaps == [Gap("SPY", date(2024, 11, 27), date(2024, 12, 6), "tail")]


def test_head_gap_before_first_stored_session(calendar):
    coverage = {"SPY": CoverageState(date(2024, 6, 3), date(2024, 12, 6))}
    gaps = find_gaps(
        ["SPY"], coverage, date(2024, 1, 1), date(2024, 12, 6), calendar, at("2024-12-07 12:00")
    )
    # New Year's Day is a holiday: the head gap starts on 2024-01-02 and ends the Friday before 06-03.
    assert gaps == [Gap("SPY", date(2024, 1, 2), date(2024, 5, 31), "head")]


def test_old_provisional_bars_are_healed_even_without_new_sessions(calendar):
    young = {
        "SPY": CoverageState(
            date(2024, 1, 2), date(2024, 12, 6), oldest_provisional=date(2024, 12, 5)
        )
    }
    old = {
        "SPY": CoverageState(
            date(2024, 1, 2), date(2024, 12, 6), oldest_provisional=date(2024, 12, 2)
        )
    }
    now = at("2024-12-07 12:00")
    assert find_gaps(["SPY"], young, date(2024, 1, 2), date(2024, 12, 6), calendar, now, 3) == []
    healed = find_gaps(["SPY"], old, date(2024, 1, 2), date(2024, 12, 6), calendar, now, 3)
    assert healed == [Gap("SPY", date(2024, 12, 2), date(2024, 12, 6), "heal")]


def test_tickers_with_the_same_range_share_one_call(calendar):
    gaps = [
        Gap("AAA", date(2024, 1, 2), date(2024, 2, 1), "cold"),
        Gap("BBB", date(2024, 1, 2), date(2024, 2, 1), "cold"),
        Gap("CCC", date(2024, 2, 1), date(2024, 2, 1), "tail"),
    ]
    assert group_by_range(gaps) == {
        (date(2024, 1, 2), date(2024, 2, 1)): ["AAA", "BBB"],
        (date(2024, 2, 1), date(2024, 2, 1)): ["CCC"],
    }
