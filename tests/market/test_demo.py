"""The offline demo market: deterministic, calendar-true, split and dividend aware, charged like Yahoo."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from dashapp.clock import FrozenClock
from dashapp.market.demo import DemoMarket
from dashapp.market.errors import UnknownTicker
from dashapp.market.providers import MemoryRecorder


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def market(now: str, recorder: MemoryRecorder | None = None) -> DemoMarket:
    return DemoMarket(FrozenClock(at(now)), recorder=recorder)


def test_same_series_whatever_window_is_asked():
    demo = market("2024-12-07 12:00")
    wide = demo.history(["SPY"], date(2024, 1, 1), date(2024, 12, 6)).bars.set_index("date")
    narrow = demo.history(["SPY"], date(2024, 6, 3), date(2024, 6, 7)).bars.set_index("date")
    pd.testing.assert_frame_equal(narrow, wide.loc[narrow.index])


def test_bars_only_on_xnys_sessions():
    bars = market("2024-12-07 12:00").history(["SPY"], date(2024, 11, 25), date(2024, 12, 6)).bars
    days = set(bars["date"].dt.date)
    assert date(2024, 11, 28) not in days  # Thanksgiving
    assert date(2024, 11, 30) not in days  # Saturday
    assert date(2024, 11, 29) in days  # early close still a session
    assert len(days) == 9


def test_todays_bar_appears_only_after_the_close():
    during = market("2024-12-06 18:00").history(["SPY"], date(2024, 12, 2), date(2024, 12, 6)).bars
    after = market("2024-12-06 21:05").history(["SPY"], date(2024, 12, 2), date(2024, 12, 6)).bars
    assert during["date"].max() == pd.Timestamp("2024-12-05")
    assert after["date"].max() == pd.Timestamp("2024-12-06")


def test_prices_are_consistent_and_positive():
    bars = (
        market("2024-12-07 12:00")
        .history(["SPY", "TSLA", "B0001"], date(2015, 1, 1), date(2024, 12, 6))
        .bars
    )
    assert (bars[["open", "high", "low", "close"]] > 0).all().all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()


def test_split_is_applied_once_it_has_happened_and_value_stays_continuous():
    before = market("2024-06-07 22:00").history(["NVDA"], date(2024, 3, 1), date(2024, 6, 7)).bars
    after = market("2024-06-11 22:00").history(["NVDA"], date(2024, 3, 1), date(2024, 6, 11)).bars
    march_before = before.loc[before["date"] == "2024-03-01", "close"].iloc[0]
    march_after = after.loc[after["date"] == "2024-03-01", "close"].iloc[0]
    assert march_before / march_after == pytest.approx(10.0)
    split_day = after.set_index("date").loc["2024-06-10"]
    assert split_day["split_ratio"] == 10.0
    closes = after.set_index("date")["close"]
    assert closes["2024-06-10"] / closes["2024-06-07"] == pytest.approx(1.0, abs=0.2)
    assert (before["split_ratio"] == 1.0).all()


def test_quarterly_dividends_for_payers_none_for_others():
    bars = (
        market("2024-12-07 12:00")
        .history(["SPY", "AMZN"], date(2024, 1, 1), date(2024, 12, 6))
        .bars
    )
    spy = bars[(bars["ticker"] == "SPY") & (bars["dividend"] > 0)]
    assert spy["date"].dt.month.tolist() == [3, 6, 9, 12]
    assert bars.loc[bars["ticker"] == "AMZN", "dividend"].sum() == 0.0


def test_unknown_ticker_is_reported_not_raised():
    batch = market("2024-12-07 12:00").history(
        ["SPY", "ZZZZQ", "bad symbol!"], date(2024, 12, 2), date(2024, 12, 6)
    )
    assert set(batch.errors) == {"ZZZZQ", "BAD SYMBOL!"}
    assert all(isinstance(error, UnknownTicker) for error in batch.errors.values())
    assert set(batch.bars["ticker"]) == {"SPY"}


def test_quote_moves_during_the_session_and_rests_outside_it():
    first = market("2024-12-05 15:00").quotes(["SPY"]).quotes["SPY"]
    later = market("2024-12-05 17:30").quotes(["SPY"]).quotes["SPY"]
    assert first.market_state == "REGULAR" and first.price != later.price
    assert first.previous_close == later.previous_close
    evening = market("2024-12-05 23:00").quotes(["SPY"]).quotes["SPY"]
    night = market("2024-12-06 03:00").quotes(["SPY"]).quotes["SPY"]
    assert evening.price == night.price
    assert evening.as_of == at("2024-12-05 21:00")
    close = market("2024-12-07 12:00").history(["SPY"], date(2024, 12, 5), date(2024, 12, 5)).bars
    assert evening.price == pytest.approx(float(close["close"].iloc[0]))


def test_requests_are_charged_like_yahoo():
    recorder = MemoryRecorder()
    demo = market("2024-12-07 12:00", recorder)
    demo.history(["SPY", "QQQ", "VTI"], date(2024, 12, 2), date(2024, 12, 6))
    assert [r.tickers for r in recorder.drain()] == [("SPY",), ("QQQ",), ("VTI",)]
    demo.quotes([f"T{i:03d}" for i in range(120)])
    assert [len(r.tickers) for r in recorder.drain()] == [50, 50, 20]


def test_benchmark_etfs_are_known_with_plausible_levels():
    bars = (
        market("2024-07-01 12:00")
        .history(["SPY", "QQQ", "BND", "SCHD"], date(2024, 6, 28), date(2024, 6, 28))
        .bars
    )
    levels = bars.set_index("ticker")["close"]
    assert levels["SPY"] == pytest.approx(545.0)
    assert np.isfinite(levels).all()
