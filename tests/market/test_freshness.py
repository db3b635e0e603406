"""Freshness states from the XNYS calendar and a frozen clock (DESIGN.md, Freshness)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from dashapp.market.calendar import MarketCalendar
from dashapp.market.freshness import FreshnessPolicy


@pytest.fixture(scope="module")
def policy() -> FreshnessPolicy:
    return FreshnessPolicy(MarketCalendar(), fresh_intraday_seconds=300)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def classify(policy, now, as_of, fetched_at, last_error=None):
    frame = pd.DataFrame(
        {
            "as_of": [pd.Timestamp(as_of) if as_of else pd.NaT],
            "fetched_at": [pd.Timestamp(fetched_at) if fetched_at else pd.NaT],
            "last_error": [last_error],
        },
        index=["SPY"],
    )
    row = policy.latest_prices(now, frame).loc["SPY"]
    return row["state"], row["reason"]


def test_quote_fetched_two_minutes_ago_during_session_is_fresh(policy):
    now = at("2024-12-05 16:00")
    state, reason = classify(policy, now, at("2024-12-05 15:58"), at("2024-12-05 15:58"))
    assert state == "fresh"
    assert reason == "live quote, 120 s old"


def test_quote_older_than_policy_during_session_is_stale(policy):
    now = at("2024-12-05 16:00")
    state, reason = classify(policy, now, at("2024-12-05 15:50"), at("2024-12-05 15:50"))
    assert state == "stale"
    assert reason == "quote is 10 min old; refresh due"


def test_yesterdays_close_during_a_session_is_stale(policy):
    now = at("2024-12-05 16:00")
    state, reason = classify(policy, now, at("2024-12-04 21:00"), at("2024-12-04 22:00"))
    assert state == "stale"
    assert reason == "last price is the 2024-12-04 close; refresh due"


def test_last_sessions_close_over_the_weekend_is_fresh(policy):
    saturday = at("2024-12-07 15:00")
    state, reason = classify(policy, saturday, at("2024-12-06 21:00"), at("2024-12-06 21:30"))
    assert (state, reason) == ("fresh", "close of 2024-12-06")


def test_close_fetched_before_the_early_close_is_stale_after_it(policy):
    # Black Friday 2024-11-29 closes at 13:00 New York (18:00 UTC).
    now = at("2024-11-29 19:00")
    state, reason = classify(policy, now, at("2024-11-29 17:50"), at("2024-11-29 17:50"))
    assert state == "stale"
    assert "final close not fetched yet" in reason
    state, _ = classify(policy, now, at("2024-11-29 18:00"), at("2024-11-29 18:20"))
    assert state == "fresh"


def test_thanksgiving_keeps_wednesdays_close_fresh(policy):
    thanksgiving_noon = at("2024-11-28 17:00")
    state, _ = classify(policy, thanksgiving_noon, at("2024-11-27 21:00"), at("2024-11-27 21:10"))
    assert state == "fresh"


def test_dst_change_moves_the_close_in_utc(policy):
    # Before the November DST change New York closes 20:00 UTC, after it 21:00 UTC.
    state, _ = classify(
        policy, at("2024-11-01 20:30"), at("2024-11-01 20:00"), at("2024-11-01 20:10")
    )
    assert state == "fresh"
    state, _ = classify(
        policy, at("2024-11-04 20:30"), at("2024-11-01 20:00"), at("2024-11-01 20:10")
    )
    assert state == "stale"  # 20:30 UTC on Monday 11-04 is 15:30 New York: still trading


def test_nothing_stored_is_missing_and_says_why(policy):
    state, reason = classify(policy, at("2024-12-05 16:00"), None, None, "UnknownTicker: ZZZZ")
    assert state == "missing"
    assert reason == (
        "no price stored yet. Yahoo Finance knows no such symbol (mistyped or delisted);"
        " it is not asked again."
    )


def test_history_through_last_session_is_cached_else_stale(policy):
    now = at("2024-12-07 12:00")
    assert policy.history(now, date(2024, 12, 6), now, "demo").state == "cached"
    stale = policy.history(now, date(2024, 12, 4), now, "demo", "UpstreamTimeout: timeout")
    assert stale.state == "stale"
    assert stale.reason == (
        "daily closes end 2024-12-04; 2024-12-06 due. Yahoo Finance did not answer in time."
        " Showing cached prices; the next refresh tries again."
    )
    assert policy.history(now, None, None, None).state == "missing"
