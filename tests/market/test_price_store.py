"""The price cache: gap-only fetches, batch-quote upkeep, self-healing, splits, faults, single flight."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from dashapp.clock import FrozenClock
from dashapp.db.models import FetchLog, PriceBar, PriceCoverage
from dashapp.market.demo import DemoMarket
from dashapp.market.errors import Failure, FailureKind, RateLimited
from dashapp.market.fetch_log import FetchLogRecorder, count_requests
from dashapp.services.context import AppContext, build_context


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class CountingProvider:
    """Wraps the demo market, counting calls and optionally failing or corrupting them."""

    def __init__(self, inner: DemoMarket, delay: float = 0.0) -> None:
        self.inner = inner
        self.name = inner.name
        self.delay = delay
        self.history_calls: list[tuple[tuple[str, ...], date, date]] = []
        self.quote_calls: list[tuple[str, ...]] = []
        self.fail_with: Exception | None = None
        self.corrupt: dict[tuple[str, date], float] = {}

    def history(self, tickers, start, end):
        self.history_calls.append((tuple(tickers), start, end))
        time.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        batch = self.inner.history(tickers, start, end)
        for (ticker, day), value in self.corrupt.items():
            mask = (batch.bars["ticker"] == ticker) & (batch.bars["date"] == pd.Timestamp(day))
            batch.bars.loc[mask, "close"] = value
        return batch

    def quotes(self, tickers):
        self.quote_calls.append(tuple(tickers))
        if self.fail_with is not None:
            raise self.fail_with
        return self.inner.quotes(tickers)


def context_with(
    settings, clock: FrozenClock, delay: float = 0.0
) -> tuple[AppContext, CountingProvider]:
    provider = CountingProvider(DemoMarket(clock), delay)
    context = build_context(settings, clock=clock, provider=provider)
    provider.inner.recorder = FetchLogRecorder(context.db)
    return context, provider


@pytest.fixture
def store_and_provider(settings):
    clock = FrozenClock(at("2024-12-04 22:00"))
    context, provider = context_with(settings, clock)
    yield context, provider, clock
    context.close()


def stored_dates(context: AppContext, ticker: str) -> list[date]:
    with context.db.session() as session:
        return list(
            session.scalars(
                select(PriceBar.date).where(PriceBar.ticker == ticker).order_by(PriceBar.date)
            )
        )


def test_cold_fill_charges_one_request_per_ticker_and_warm_charges_none(store_and_provider):
    context, provider, _ = store_and_provider
    tickers = ["SPY", "QQQ", "AAPL"]
    context.store.fill(tickers, date(2024, 1, 1), date(2024, 12, 4))
    assert count_requests(context.db) == 3
    assert len(provider.history_calls) == 1  # one batched call for the three
    coverage = context.store.coverage(tickers)
    for ticker in tickers:
        dates = stored_dates(context, ticker)
        assert coverage[ticker].first_date == date(2024, 1, 2)
        assert coverage[ticker].last_date == dates[-1] == date(2024, 12, 4)
        assert dates[0] == date(2024, 1, 2)
    context.store.fill(tickers, date(2024, 3, 1), date(2024, 12, 4))
    assert count_requests(context.db) == 3
    assert context.counters.get("cache_hits") == 3


def test_next_day_upkeep_fills_one_session_from_one_batch_quote(store_and_provider):
    context, provider, clock = store_and_provider
    tickers = [f"T{index:03d}" for index in range(120)]
    context.store.fill(tickers, date(2024, 6, 3), date(2024, 12, 4))
    before = count_requests(context.db)
    clock.set(at("2024-12-05 22:00"))
    context.store.fill(tickers, date(2024, 6, 3), date(2024, 12, 5))
    assert count_requests(context.db) - before == 3  # 120 symbols in chunks of 50
    assert len(provider.history_calls) == 1
    with context.db.session() as session:
        bar = session.get(PriceBar, ("T007", date(2024, 12, 5)))
        assert bar is not None and bar.provisional
    expected = provider.inner.history(["T007"], date(2024, 12, 5), date(2024, 12, 5)).bars
    assert bar.close == pytest.approx(float(expected["close"].iloc[0]))


def test_provisional_bars_are_reread_from_history_after_three_sessions(store_and_provider):
    context, provider, clock = store_and_provider
    # Filled an hour after the 12-04 close: that bar is provisional.
    context.store.fill(["SPY"], date(2024, 11, 1), date(2024, 12, 4))
    for evening in ("2024-12-05", "2024-12-06"):
        clock.set(at(f"{evening} 22:00"))
        context.store.fill(["SPY"], date(2024, 11, 1), clock.now().date())
    assert len(provider.history_calls) == 1  # both evenings came from the batch quote
    clock.set(at("2024-12-09 22:00"))
    context.store.fill(["SPY"], date(2024, 11, 1), date(2024, 12, 9))
    # Three sessions after the oldest provisional bar, history re-reads them in one request.
    assert provider.history_calls[-1] == (("SPY",), date(2024, 12, 4), date(2024, 12, 9))
    with context.db.session() as session:
        provisional = session.scalars(
            select(PriceBar.date).where(PriceBar.ticker == "SPY", PriceBar.provisional.is_(True))
        ).all()
    assert provisional == [date(2024, 12, 9)]  # closed an hour before it was read


def test_a_wrong_bar_is_corrected_by_the_self_healing_reread(store_and_provider):
    context, provider, clock = store_and_provider
    context.store.fill(["SPY"], date(2024, 11, 1), date(2024, 11, 29))
    with context.db.session() as session:
        session.get(PriceBar, ("SPY", date(2024, 11, 27))).close = 1.0
    clock.set(at("2024-12-04 22:00"))
    context.store.fill(["SPY"], date(2024, 11, 1), date(2024, 12, 4))
    truth = provider.inner.history(["SPY"], date(2024, 11, 27), date(2024, 11, 27)).bars
    with context.db.session() as session:
        assert session.get(PriceBar, ("SPY", date(2024, 11, 27))).close == pytest.approx(
            float(truth["close"].iloc[0])
        )


def test_a_new_split_refetches_the_whole_history_once(settings):
    clock = FrozenClock(at("2024-06-07 22:00"))
    context, provider = context_with(settings, clock)
    context.store.fill(["NVDA"], date(2024, 1, 2), date(2024, 6, 7))
    pre_split_close = context.store.read_bars(["NVDA"], date(2024, 3, 1), date(2024, 3, 1))[
        "close"
    ].iloc[0]
    clock.set(at("2024-06-10 22:00"))
    context.store.fill(["NVDA"], date(2024, 1, 2), date(2024, 6, 10))
    bars = context.store.read_bars(["NVDA"], date(2024, 1, 2), date(2024, 6, 10))
    march_first = bars.loc[bars["date"] == pd.Timestamp("2024-03-01"), "close"].iloc[0]
    assert march_first == pytest.approx(pre_split_close / 10, rel=1e-9)
    assert provider.history_calls[-1] == (("NVDA",), date(2024, 1, 2), date(2024, 6, 10))
    assert context.store.coverage(["NVDA"])["NVDA"].split_basis == date(2024, 6, 10)
    closes = bars.set_index("date")["close"]
    # No value jump for a holder across the split: the adjusted series is continuous.
    assert closes[pd.Timestamp("2024-06-10")] / closes[pd.Timestamp("2024-06-07")] == pytest.approx(
        1, abs=0.15
    )
    context.close()


def test_provider_failure_keeps_the_cache_and_reports_stale_with_reason(store_and_provider):
    context, provider, clock = store_and_provider
    context.store.fill(["SPY"], date(2024, 11, 1), date(2024, 12, 4))
    context.store.refresh_quotes(["SPY"])
    clock.set(at("2024-12-06 22:00"))
    provider.fail_with = RateLimited("HTTP 429")
    report = context.store.fill(["SPY"], date(2024, 11, 1), date(2024, 12, 6))
    assert report.errors["SPY"].kind is FailureKind.RATE_LIMITED
    coverage = context.store.coverage(["SPY"])["SPY"]
    assert coverage.failure == "RateLimited: HTTP 429"
    assert coverage.failure.kind is FailureKind.RATE_LIMITED
    assert coverage.last_date == date(2024, 12, 4)
    assert coverage.consecutive_errors == 1
    latest = context.store.latest_prices(["SPY"]).loc["SPY"]
    assert latest["state"] == "stale"
    assert latest["reason"].endswith(
        "Yahoo Finance is rate-limiting this app (too many requests). Showing cached prices;"
        " asking again after a pause."
    )
    assert np.isfinite(latest["price"])


@pytest.mark.parametrize("bad_value", [float("nan"), float("inf"), 0.0, -5.0])
def test_impossible_prices_are_never_stored_and_coverage_stops_before_them(
    store_and_provider, bad_value
):
    context, provider, _ = store_and_provider
    provider.corrupt[("SPY", date(2024, 11, 26))] = bad_value
    context.store.fill(["SPY"], date(2024, 11, 1), date(2024, 12, 4))
    dates = stored_dates(context, "SPY")
    assert date(2024, 11, 26) not in dates
    assert context.store.coverage(["SPY"])["SPY"].last_date == date(2024, 11, 25)
    provider.corrupt.clear()
    context.store.fill(["SPY"], date(2024, 11, 1), date(2024, 12, 4))
    assert date(2024, 11, 26) in stored_dates(context, "SPY")


def test_unknown_ticker_fails_alone(store_and_provider):
    context, _, _ = store_and_provider
    report = context.store.fill(["SPY", "ZZZZQ"], date(2024, 11, 1), date(2024, 12, 4))
    assert set(report.errors) == {"ZZZZQ"}
    assert report.errors["ZZZZQ"].kind is FailureKind.UNKNOWN_TICKER
    # Stored as text, read back with its kind.
    assert context.store.coverage(["ZZZZQ"])["ZZZZQ"].failure.kind is FailureKind.UNKNOWN_TICKER
    assert stored_dates(context, "SPY")[-1] == date(2024, 12, 4)
    latest = context.store.latest_prices(["ZZZZQ"]).loc["ZZZZQ"]
    assert latest["state"] == "missing" and np.isnan(latest["price"])


def test_latest_price_prefers_a_newer_quote(store_and_provider):
    context, _, clock = store_and_provider
    context.store.fill(["SPY"], date(2024, 11, 1), date(2024, 12, 4))
    clock.set(at("2024-12-05 16:00"))  # 11:00 New York, during the session
    context.store.refresh_quotes(["SPY"])
    latest = context.store.latest_prices(["SPY"]).loc["SPY"]
    last_close = context.store.read_bars(["SPY"], date(2024, 12, 4), date(2024, 12, 4))[
        "close"
    ].iloc[0]
    assert latest["state"] == "fresh"
    assert latest["previous_close"] == pytest.approx(last_close)
    assert latest["as_of"] == pd.Timestamp("2024-12-05 16:00", tz="UTC")
    clock.set(at("2024-12-05 16:06"))
    assert context.store.latest_prices(["SPY"]).loc["SPY", "state"] == "stale"


def test_threads_asking_for_the_same_tickers_cause_one_fetch(settings):
    clock = FrozenClock(at("2024-12-04 22:00"))
    context, provider = context_with(settings, clock, delay=0.3)
    tickers = ["SPY", "QQQ", "VTI", "BND"]
    threads = [
        threading.Thread(
            target=context.store.fill, args=(tickers, date(2024, 1, 2), date(2024, 12, 4))
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(provider.history_calls) == 1
    assert count_requests(context.db) == 4
    context.close()


def _fill_in_child(settings, barrier) -> None:
    clock = FrozenClock(at("2024-12-04 22:00"))
    context, _ = context_with(settings, clock, delay=0.3)
    barrier.wait()
    context.store.fill(["SPY", "QQQ", "VTI"], date(2024, 1, 2), date(2024, 12, 4))
    context.close()


def test_two_processes_asking_for_the_same_tickers_cause_one_fetch(settings):
    build_context(settings).close()  # migrate once before the race
    fork = multiprocessing.get_context("fork")
    barrier = fork.Barrier(2)
    children = [fork.Process(target=_fill_in_child, args=(settings, barrier)) for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    context = build_context(settings)
    with context.db.session() as session:
        assert session.scalar(select(func.count()).select_from(FetchLog)) == 3
        assert session.scalar(select(func.count()).select_from(PriceCoverage)) == 3
    context.close()


def test_evict_forgets_a_ticker(store_and_provider):
    context, _, _ = store_and_provider
    context.store.fill(["SPY", "QQQ"], date(2024, 11, 1), date(2024, 12, 4))
    context.store.evict("spy")
    assert stored_dates(context, "SPY") == []
    assert "SPY" not in context.store.coverage(["SPY"])
    assert stored_dates(context, "QQQ")


def test_get_history_fills_gaps_and_says_how_fresh_each_ticker_is(store_and_provider):
    context, provider, _ = store_and_provider
    result = context.store.get_history(["SPY", "ZZZZQ"], date(2024, 11, 1), date(2024, 12, 4))
    assert set(result.bars["ticker"]) == {"SPY"}
    assert result.freshness["SPY"].state == "cached"
    assert result.freshness["ZZZZQ"].state == "missing"
    assert result.errors["ZZZZQ"].kind is FailureKind.UNKNOWN_TICKER
    again = context.store.get_history(["SPY"], date(2024, 11, 1), date(2024, 12, 4))
    assert len(provider.history_calls) == 1  # the second answer came from the database
    assert again.bars["close"].tolist() == result.bars["close"].tolist()


def test_a_provider_answering_no_bars_is_recorded_as_bad_upstream_data(store_and_provider):
    context, provider, _ = store_and_provider
    provider.corrupt[("SPY", date(2024, 12, 2))] = float("nan")
    report = context.store.fill(["SPY"], date(2024, 12, 2), date(2024, 12, 2))
    assert report.errors == {"SPY": "BadUpstreamData: provider returned no valid bars"}
    assert report.errors["SPY"].kind is FailureKind.BAD_UPSTREAM_DATA
    stored = context.store.coverage(["SPY"])["SPY"].failure
    assert stored == Failure(FailureKind.BAD_UPSTREAM_DATA, "provider returned no valid bars")
    assert stored.kind is FailureKind.BAD_UPSTREAM_DATA
