"""The offline demo market: deterministic, calendar-true, split and dividend aware, charged like Yahoo."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from dashapp.clock import FrozenClock
from dashapp.market.bars import BAR_COLUMNS
from dashapp.market.calendar import MarketCalendar
from dashapp.market.demo import DemoMarket, raw_series, simulate
from dashapp.market.errors import UnknownTicker
from dashapp.market.providers import MemoryRecorder

BENCHMARK_ETFS = ("SPY", "QQQ", "VTI", "VOO", "IWM", "DIA", "VXUS", "BND", "AGG", "SCHD")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def market(now: str, recorder: MemoryRecorder | None = None) -> DemoMarket:
    return DemoMarket(FrozenClock(at(now)), recorder=recorder)


def closes(demo: DemoMarket, ticker: str, start: date, end: date) -> pd.Series:
    return demo.history([ticker], start, end).bars.set_index("date")["close"]


def test_same_series_whatever_window_is_asked():
    demo = market("2024-12-07 12:00")
    wide = demo.history(["SPY"], date(2024, 1, 1), date(2024, 12, 6)).bars.set_index("date")
    narrow = demo.history(["SPY"], date(2024, 6, 3), date(2024, 6, 7)).bars.set_index("date")
    pd.testing.assert_frame_equal(narrow, wide.loc[narrow.index])


def test_a_longer_calendar_only_appends_days():
    # exchange_calendars ends a year after the day a process starts, so the generated range grows.
    sessions = MarketCalendar().sessions(date(2000, 1, 3), date(2025, 12, 31))
    short, full = simulate("MSFT", sessions[:-300]), simulate("MSFT", sessions)
    for column in ("open", "high", "low", "close", "volume", "dividend", "split_ratio"):
        np.testing.assert_array_equal(getattr(short, column), getattr(full, column)[:-300])


def test_same_series_in_a_process_with_another_hash_seed():
    script = (
        "from dashapp.market.demo import raw_series; s = raw_series('KO'); "
        "print(repr(float(s.close[5000])), repr(float(s.high[5000])), repr(float(s.volume[5000])))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    printed = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    here = raw_series("KO")
    assert [float(value) for value in printed] == [
        here.close[5000],
        here.high[5000],
        here.volume[5000],
    ]


def test_bars_only_on_xnys_sessions():
    demo = market("2024-12-07 12:00")
    july = demo.history(["SPY"], date(2024, 7, 1), date(2024, 7, 8)).bars
    november = demo.history(["SPY"], date(2024, 11, 25), date(2024, 12, 2)).bars
    assert july["date"].dt.date.tolist() == [
        date(2024, 7, 1),
        date(2024, 7, 2),
        date(2024, 7, 3),  # early close
        date(2024, 7, 5),  # after Independence Day
        date(2024, 7, 8),
    ]
    assert november["date"].dt.date.tolist() == [
        date(2024, 11, 25),
        date(2024, 11, 26),
        date(2024, 11, 27),
        date(2024, 11, 29),  # after Thanksgiving, early close
        date(2024, 12, 2),
    ]


def test_bars_have_the_agreed_columns_and_types():
    bars = market("2024-12-07 12:00").history(["SPY", "KO"], date(2024, 12, 2), date(2024, 12, 6))
    assert tuple(bars.bars.columns) == BAR_COLUMNS
    assert bars.bars["date"].dtype == "datetime64[ns]"
    assert (bars.bars["date"] == bars.bars["date"].dt.normalize()).all()
    assert bars.bars["ticker"].tolist() == ["SPY"] * 5 + ["KO"] * 5


def test_an_empty_window_gives_empty_bars():
    batch = market("2024-12-07 12:00").history(["SPY"], date(2024, 12, 6), date(2024, 12, 2))
    assert batch.bars.empty and tuple(batch.bars.columns) == BAR_COLUMNS and not batch.errors


def test_todays_bar_appears_only_after_the_close():
    during = market("2024-12-06 18:00").history(["SPY"], date(2024, 12, 2), date(2024, 12, 6)).bars
    after = market("2024-12-06 21:00").history(["SPY"], date(2024, 12, 2), date(2024, 12, 6)).bars
    assert during["date"].max() == pd.Timestamp("2024-12-05")
    assert after["date"].max() == pd.Timestamp("2024-12-06")


def test_prices_are_consistent_and_positive():
    bars = (
        market("2024-12-07 12:00")
        .history(["SPY", "TSLA", "BND", "B0001"], date(2015, 1, 1), date(2024, 12, 6))
        .bars
    )
    assert (bars[["open", "high", "low", "close"]] > 0).all().all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["volume"] > 0).all() and (bars["volume"] == bars["volume"].round()).all()


@pytest.mark.parametrize(("ticker", "low", "high"), [("BND", 0.02, 0.09), ("TSLA", 0.4, 0.8)])
def test_volatility_follows_the_kind_of_security(ticker: str, low: float, high: float):
    closes_ = closes(market("2024-12-07 12:00"), ticker, date(2015, 1, 1), date(2024, 12, 6))
    annual = np.log(closes_).diff().std() * np.sqrt(252)
    assert low < annual < high


def test_split_is_applied_once_its_session_has_closed_and_value_stays_continuous():
    before = market("2024-06-07 22:00").history(["NVDA"], date(2024, 3, 1), date(2024, 6, 7)).bars
    after = market("2024-06-11 22:00").history(["NVDA"], date(2024, 3, 1), date(2024, 6, 11)).bars
    before, after = before.set_index("date"), after.set_index("date")
    assert (before["split_ratio"] == 1.0).all()
    assert after.loc["2024-06-10", "split_ratio"] == 10.0
    assert after["split_ratio"].drop(pd.Timestamp("2024-06-10")).eq(1.0).all()
    for column in ("open", "high", "low", "close", "dividend"):
        np.testing.assert_allclose(before[column], after.loc[before.index, column] * 10.0)
    np.testing.assert_allclose(before["volume"], after.loc[before.index, "volume"] / 10.0)
    # A holder's value does not jump: the split day opens where the day before closed.
    assert after.loc["2024-06-10", "open"] / after.loc["2024-06-07", "close"] == pytest.approx(
        1.0, abs=0.05
    )


def test_during_the_split_session_history_waits_and_the_quote_is_in_new_shares():
    demo = market("2024-06-10 15:00")
    history = demo.history(["NVDA"], date(2024, 6, 3), date(2024, 6, 10)).bars
    unadjusted = market("2024-06-08 12:00").history(["NVDA"], date(2024, 6, 3), date(2024, 6, 7))
    pd.testing.assert_frame_equal(history, unadjusted.bars)
    quote = demo.quotes(["NVDA"]).quotes["NVDA"]
    assert quote.previous_close == pytest.approx(history["close"].iloc[-1] / 10.0)
    assert quote.price / quote.previous_close == pytest.approx(1.0, abs=0.1)


def test_quarterly_dividends_for_payers_none_for_others():
    bars = (
        market("2024-12-07 12:00")
        .history(["SPY", "TSLA", "AMZN"], date(2024, 1, 1), date(2024, 12, 6))
        .bars
    )
    spy = bars[(bars["ticker"] == "SPY") & (bars["dividend"] > 0)]
    assert spy["date"].dt.date.tolist() == [
        date(2024, 3, 1),
        date(2024, 6, 3),
        date(2024, 9, 3),
        date(2024, 12, 2),
    ]
    assert bars.loc[bars["ticker"].isin(["TSLA", "AMZN"]), "dividend"].eq(0.0).all()


@pytest.mark.parametrize(
    ("ticker", "annual_yield"), [("SPY", 0.013), ("SCHD", 0.035), ("BND", 0.033), ("KO", 0.03)]
)
def test_dividend_yields_are_realistic(ticker: str, annual_yield: float):
    bars = market("2025-01-02 12:00").history([ticker], date(2024, 1, 1), date(2024, 12, 31)).bars
    paid = bars["dividend"].sum() / bars["close"].mean()
    assert paid == pytest.approx(annual_yield, rel=0.25)


def test_unknown_ticker_is_reported_not_raised():
    batch = market("2024-12-07 12:00").history(
        ["spy", "ZZZZQ", "INVALID", "bad symbol!"], date(2024, 12, 2), date(2024, 12, 6)
    )
    assert set(batch.errors) == {"ZZZZQ", "INVALID", "BAD SYMBOL!"}
    assert all(isinstance(error, UnknownTicker) for error in batch.errors.values())
    assert set(batch.bars["ticker"]) == {"SPY"}
    quotes = market("2024-12-07 12:00").quotes(["SPY", "ZZZZQ"])
    assert set(quotes.quotes) == {"SPY"} and isinstance(quotes.errors["ZZZZQ"], UnknownTicker)


def test_quote_moves_during_the_session_and_rests_outside_it():
    first = market("2024-12-05 15:00").quotes(["SPY"]).quotes["SPY"]
    next_minute = market("2024-12-05 15:01:30").quotes(["SPY"]).quotes["SPY"]
    assert first.market_state == next_minute.market_state == "REGULAR"
    assert first.price != next_minute.price
    assert first.previous_close == next_minute.previous_close
    assert next_minute.as_of == at("2024-12-05 15:01")
    assert next_minute.fetched_at == at("2024-12-05 15:01:30")
    assert next_minute.low <= next_minute.price <= next_minute.high
    evening = market("2024-12-05 23:00").quotes(["SPY"]).quotes["SPY"]
    night = market("2024-12-06 03:00").quotes(["SPY"]).quotes["SPY"]
    assert replace(night, fetched_at=evening.fetched_at) == evening
    assert evening.market_state == "CLOSED" and evening.as_of == at("2024-12-05 21:00")


@pytest.mark.parametrize(
    ("day", "last_minute", "close"),
    [
        ("2024-12-05", "2024-12-05 20:59", "2024-12-05 21:00"),
        ("2024-11-29", "2024-11-29 17:59", "2024-11-29 18:00"),  # early close
    ],
)
def test_the_last_minute_of_a_session_is_its_daily_bar(day: str, last_minute: str, close: str):
    bar = market("2024-12-07 12:00").history(
        ["AAPL"], date.fromisoformat(day), date.fromisoformat(day)
    )
    bar = bar.bars.iloc[0]
    final = market(last_minute).quotes(["AAPL"]).quotes["AAPL"]
    closed = market(close).quotes(["AAPL"]).quotes["AAPL"]
    assert final.market_state == "REGULAR" and closed.market_state == "CLOSED"
    for quote in (final, closed):
        assert (quote.open, quote.high, quote.low, quote.price, quote.volume) == (
            bar["open"],
            bar["high"],
            bar["low"],
            bar["close"],
            bar["volume"],
        )
    assert closed.previous_close == final.previous_close


def test_requests_are_charged_like_yahoo():
    recorder = MemoryRecorder()
    demo = market("2024-12-07 12:00", recorder)
    demo.history(["SPY", "QQQ", "ZZZZQ"], date(2024, 12, 2), date(2024, 12, 6))
    history = recorder.drain()
    assert [(r.kind, r.tickers, r.outcome) for r in history] == [
        ("history", ("SPY",), "ok"),
        ("history", ("QQQ",), "ok"),
        ("history", ("ZZZZQ",), "unknown_ticker"),
    ]
    assert all(r.provider == "demo" and r.started_at == at("2024-12-07 12:00") for r in history)
    demo.quotes([f"T{i:03d}" for i in range(120)])
    quotes = recorder.drain()
    assert [(r.kind, len(r.tickers)) for r in quotes] == [
        ("quote", 50),
        ("quote", 50),
        ("quote", 20),
    ]


def test_benchmark_etfs_are_known_with_plausible_levels():
    bars = market("2024-07-01 12:00").history(BENCHMARK_ETFS, date(2024, 6, 28), date(2024, 6, 28))
    levels = bars.bars.set_index("ticker")["close"]
    assert not bars.errors and set(levels.index) == set(BENCHMARK_ETFS)
    assert levels["SPY"] == pytest.approx(545.0)
    assert levels["QQQ"] == pytest.approx(480.0)
    assert levels["BND"] == pytest.approx(72.0)


def test_the_sp500_index_is_known_priced_in_points_and_pays_no_dividends():
    demo = market("2025-01-02 12:00")
    batch = demo.history(["^gspc", "SPY"], date(2024, 1, 1), date(2024, 12, 31))
    assert not batch.errors
    bars = batch.bars.set_index(["ticker", "date"])
    index, spy = bars.loc["^GSPC"], bars.loc["SPY"]
    assert index.loc[pd.Timestamp("2024-06-28"), "close"] == pytest.approx(5460.0)
    assert index["dividend"].eq(0.0).all() and index["split_ratio"].eq(1.0).all()
    # It moves with the market as SPY does: same sessions, strongly correlated daily returns.
    assert index.index.equals(spy.index)
    assert index["close"].pct_change().corr(spy["close"].pct_change()) > 0.8
    again = market("2025-01-02 12:00").history(["^GSPC"], date(2024, 1, 1), date(2024, 12, 31))
    pd.testing.assert_frame_equal(
        again.bars, batch.bars[batch.bars["ticker"] == "^GSPC"].reset_index(drop=True)
    )
    assert demo.quotes(["^GSPC"]).quotes["^GSPC"].price == index["close"].iloc[-1]


def test_an_unnamed_index_is_known_and_pays_no_dividends():
    bars = market("2025-01-02 12:00").history(["^DJI"], date(2000, 1, 3), date(2024, 12, 31)).bars
    assert len(bars) > 6000 and bars["dividend"].eq(0.0).all()
