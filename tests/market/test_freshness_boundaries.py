"""Freshness at the exact edges of the policy, and on quotes whose UTC and New York dates differ
(issue 17). Times are UTC; New York is UTC-5 in December."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from dashapp.market.calendar import MarketCalendar
from dashapp.market.errors import failure_in_words
from dashapp.market.freshness import Freshness, FreshnessPolicy


@pytest.fixture(scope="module")
def policy() -> FreshnessPolicy:
    return FreshnessPolicy(MarketCalendar(), fresh_intraday_seconds=300)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def classify(policy, now, as_of, fetched_at, last_error=None):
    frame = pd.DataFrame(
        {"as_of": [pd.Timestamp(as_of)], "fetched_at": [pd.Timestamp(fetched_at)]},
        index=["SPY"],
    ).assign(last_error=[last_error])
    row = policy.latest_prices(now, frame).loc["SPY"]
    return row["state"], row["reason"]


def test_a_quote_is_fresh_until_exactly_the_policy_age(policy):
    now = at("2024-12-05 16:00:00")
    assert classify(policy, now, at("2024-12-05 15:55:01"), at("2024-12-05 15:55:01")) == (
        "fresh",
        "live quote, 299 s old",
    )
    assert classify(policy, now, at("2024-12-05 15:55:00"), at("2024-12-05 15:55:00")) == (
        "stale",
        "quote is 5 min old; refresh due",
    )


def test_quote_age_is_rounded_to_whole_seconds_and_minutes_round_down(policy):
    now = at("2024-12-05 16:00:00")
    fetched = pd.Timestamp("2024-12-05 15:59:00.4", tz="UTC")
    assert classify(policy, now, fetched, fetched) == ("fresh", "live quote, 60 s old")
    fetched = pd.Timestamp("2024-12-05 15:58:59.6", tz="UTC")
    assert classify(policy, now, fetched, fetched) == ("fresh", "live quote, 60 s old")
    stale = at("2024-12-05 15:50:01")  # 9 min 59 s
    assert classify(policy, now, stale, stale) == ("stale", "quote is 9 min old; refresh due")


def test_a_close_fetched_exactly_at_the_close_is_fresh(policy):
    # Thursday 2024-12-05 closes at 16:00 New York, 21:00 UTC.
    now = at("2024-12-05 23:00")
    close = at("2024-12-05 21:00")
    assert classify(policy, now, close, close) == ("fresh", "close of 2024-12-05")
    before = at("2024-12-05 20:59:59")
    assert classify(policy, now, before, before) == (
        "stale",
        "intraday price of 2024-12-05; final close not fetched yet",
    )


def test_an_evening_quote_belongs_to_its_new_york_day(policy):
    # 01:30 UTC on 12-06 is 20:30 New York on 12-05: the 12-05 close, fetched after it.
    now = at("2024-12-06 02:00")
    state, reason = classify(policy, now, at("2024-12-06 01:30"), at("2024-12-06 01:30"))
    assert (state, reason) == ("fresh", "close of 2024-12-05")
    # The day before's close is stale then, and named by its New York date.
    state, reason = classify(policy, now, at("2024-12-05 01:30"), at("2024-12-05 01:35"))
    assert state == "stale"
    assert reason == "last price is the 2024-12-04 close; 2024-12-05 not fetched yet"


def test_during_a_session_a_quote_from_the_new_york_evening_before_is_stale(policy):
    # 15:00 UTC on 12-05 is in the session; 00:30 UTC 12-05 was 19:30 New York on 12-04.
    now = at("2024-12-05 15:00")
    state, reason = classify(policy, now, at("2024-12-05 00:30"), at("2024-12-05 14:59"))
    assert state == "stale"
    assert reason == "last price is the 2024-12-04 close; refresh due"


def test_a_failed_refresh_is_told_after_a_stale_reason(policy):
    now = at("2024-12-05 16:00")
    error = "UpstreamTimeout: no answer in 5 s"
    state, reason = classify(policy, now, at("2024-12-04 21:00"), at("2024-12-04 21:05"), error)
    assert state == "stale"
    # Older prices are there to show: the words say the cached ones are shown.
    assert reason == "last price is the 2024-12-04 close; refresh due. " + failure_in_words(
        error, cached=True
    )
    assert "Showing cached prices" in reason
    state, reason = classify(policy, now, at("2024-12-05 15:59"), at("2024-12-05 15:59"), "")
    assert (state, reason) == ("fresh", "live quote, 60 s old")


def test_a_failure_with_nothing_stored_says_nothing_is_cached(policy):
    now = at("2024-12-05 16:00")
    error = "UpstreamTimeout: no answer in 5 s"
    frame = pd.DataFrame(
        {"as_of": [pd.NaT], "fetched_at": [pd.NaT], "last_error": [error]}, index=["SPY"]
    )
    reason = policy.latest_prices(now, frame).loc["SPY", "reason"]
    assert reason == "no price stored yet. " + failure_in_words(error, cached=False)
    assert "No price is cached" in reason


def test_a_fresh_quote_does_not_repeat_an_old_failure(policy):
    now = at("2024-12-07 12:00")
    state, reason = classify(
        policy, now, at("2024-12-06 21:00"), at("2024-12-06 21:30"), "timeout after 5 s"
    )
    assert (state, reason) == ("fresh", "close of 2024-12-06")


def test_several_tickers_in_one_call_keep_their_own_rows(policy):
    now = at("2024-12-05 16:00")
    frame = pd.DataFrame(
        {
            "as_of": [at("2024-12-05 15:59"), pd.NaT, at("2024-12-04 21:00")],
            "fetched_at": [at("2024-12-05 15:59"), pd.NaT, at("2024-12-04 21:10")],
            "last_error": [None, None, None],
        },
        index=["AAA", "BBB", "CCC"],
    )
    result = policy.latest_prices(now, frame)
    assert result["state"].to_dict() == {"AAA": "fresh", "BBB": "missing", "CCC": "stale"}
    assert result.loc["BBB", "reason"] == "no price stored yet"


def test_history_keeps_when_it_was_fetched_and_from_where(policy):
    now = at("2024-12-07 12:00")
    fetched = at("2024-12-06 22:15")
    cached = policy.history(now, date(2024, 12, 6), fetched, "yahoo")
    assert cached == Freshness(
        "cached", "daily closes through 2024-12-06", at("2024-12-06 21:00"), fetched, "yahoo"
    )
    stale = policy.history(now, date(2024, 12, 5), fetched, "yahoo")
    assert stale == Freshness(
        "stale",
        "daily closes end 2024-12-05; 2024-12-06 due",
        at("2024-12-05 21:00"),
        fetched,
        "yahoo",
    )


def test_history_through_a_later_session_than_the_last_completed_is_cached(policy):
    # During the 12-06 session the last completed one is 12-05; a bar for 12-06 already stored.
    now = at("2024-12-06 15:00")
    result = policy.history(now, date(2024, 12, 6), now, "demo")
    assert result.state == "cached"
    assert result.reason == "daily closes through 2024-12-06"


def test_missing_history_says_why_the_refresh_failed(policy):
    now = at("2024-12-07 12:00")
    error = "UpstreamTimeout: no answer in 5 s"
    missing = policy.history(now, None, None, None, error)
    assert missing == Freshness(
        "missing", "no history stored yet. " + failure_in_words(error, cached=False)
    )
    assert policy.history(now, None, None, None) == Freshness("missing", "no history stored yet")
    stale = policy.history(now, date(2024, 12, 5), now, "yahoo", error)
    assert stale.reason == (
        "daily closes end 2024-12-05; 2024-12-06 due. " + failure_in_words(error, cached=True)
    )


def test_the_default_policy_keeps_a_quote_fresh_for_five_minutes():
    default = FreshnessPolicy(MarketCalendar())
    now = at("2024-12-05 16:00:00")
    assert (
        classify(default, now, at("2024-12-05 15:55:01"), at("2024-12-05 15:55:01"))[0] == "fresh"
    )
    assert (
        classify(default, now, at("2024-12-05 15:55:00"), at("2024-12-05 15:55:00"))[0] == "stale"
    )


def test_a_price_without_a_fetch_time_counts_as_missing(policy):
    now = at("2024-12-05 16:00")
    frame = pd.DataFrame(
        {
            "as_of": [at("2024-12-05 15:59"), pd.NaT],
            "fetched_at": [pd.NaT, at("2024-12-05 15:59")],
            "last_error": [None, None],
        },
        index=["AAA", "BBB"],
    )
    result = policy.latest_prices(now, frame)
    assert result["state"].tolist() == ["missing", "missing"]
    assert result["reason"].tolist() == ["no price stored yet"] * 2


def test_a_blank_or_nan_error_adds_no_failure_words(policy):
    now = at("2024-12-05 16:00")
    frame = pd.DataFrame(
        {
            "as_of": [at("2024-12-04 21:00")] * 2,
            "fetched_at": [at("2024-12-04 21:05")] * 2,
            "last_error": [np.nan, ""],
        },
        index=["AAA", "BBB"],
    )
    reasons = policy.latest_prices(now, frame)["reason"].tolist()
    assert reasons == ["last price is the 2024-12-04 close; refresh due"] * 2
