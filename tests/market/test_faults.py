"""The fault injector misbehaves as asked, charges like Yahoo, and the price store stays truthful."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from dashapp.clock import FrozenClock
from dashapp.db.models import PriceBar, PriceCoverage
from dashapp.market.demo import DemoMarket
from dashapp.market.errors import ProviderError, RateLimited, UpstreamTimeout
from dashapp.market.faults import FaultRates, FaultyProvider
from dashapp.market.fetch_log import FetchLogRecorder
from dashapp.market.providers import MemoryRecorder
from dashapp.services.context import build_context

NOW = datetime(2024, 12, 7, 12, 0, tzinfo=UTC)
START, END = date(2024, 11, 1), date(2024, 12, 6)


def faulty(rates: FaultRates | None = None, **options) -> tuple[FaultyProvider, MemoryRecorder]:
    clock, recorder = FrozenClock(NOW), MemoryRecorder()
    inner = DemoMarket(clock, recorder=recorder)
    return FaultyProvider(inner, clock, recorder, rates=rates, **options), recorder


def test_scheduled_failures_happen_exactly_and_are_charged():
    provider, recorder = faulty()
    provider.fail_next(2, lambda: RateLimited("HTTP 429"))
    for _ in range(2):
        with pytest.raises(RateLimited):
            provider.history(["SPY", "QQQ"], START, END)
    assert [r.outcome for r in recorder.drain()] == ["http_429"] * 4
    provider.history(["SPY", "QQQ"], START, END)
    assert [r.outcome for r in recorder.drain()] == ["ok", "ok"]


def test_random_faults_are_repeatable_for_a_seed():
    outcomes = []
    for _ in range(2):
        provider, _ = faulty(FaultRates(error=0.3, timeout=0.2, rate_limit=0.2), seed=11)
        run = []
        for _ in range(30):
            try:
                provider.quotes(["SPY"])
                run.append("ok")
            except (ProviderError, UpstreamTimeout) as error:
                run.append(type(error).__name__)
        outcomes.append(run)
    assert outcomes[0] == outcomes[1]
    assert {"ok", "RateLimited", "UpstreamTimeout", "ProviderError"} <= set(outcomes[0])


def test_quote_failures_charge_one_request_per_fifty_symbols():
    provider, recorder = faulty()
    provider.fail_next(1, lambda: UpstreamTimeout("read timed out"))
    with pytest.raises(UpstreamTimeout):
        provider.quotes([f"T{i:03d}" for i in range(120)])
    assert [(len(r.tickers), r.outcome) for r in recorder.drain()] == [
        (50, "timeout"),
        (50, "timeout"),
        (20, "timeout"),
    ]


def test_partial_empty_and_bad_prices():
    partial, _ = faulty(FaultRates(partial=1.0), seed=3)
    tickers = [f"T{i:02d}" for i in range(20)]
    answered = set(partial.history(tickers, START, END).bars["ticker"])
    assert 0 < len(answered) < 20
    empty, _ = faulty(FaultRates(empty=1.0))
    assert empty.history(["SPY"], START, END).bars.empty
    corrupt, _ = faulty(FaultRates(bad_price=0.2), seed=5)
    closes = corrupt.history(["SPY", "QQQ"], START, END).bars["close"]
    assert (~np.isfinite(closes) | (closes <= 0)).any()


def test_latency_is_paid_per_round_of_parallel_requests():
    slept = []
    provider, _ = faulty(latency_s=0.15, max_workers=4, sleep=slept.append)
    provider.history([f"T{i}" for i in range(10)], START, END)
    provider.quotes([f"T{i}" for i in range(10)])
    assert slept == [pytest.approx(0.45), pytest.approx(0.15)]


def test_price_store_under_faults_stores_only_truth(settings):
    clock = FrozenClock(NOW - timedelta(days=30))
    demo = DemoMarket(clock)
    provider = FaultyProvider(
        demo,
        clock,
        rates=FaultRates(error=0.2, rate_limit=0.1, partial=0.3, bad_price=0.02, empty=0.1),
        seed=42,
    )
    context = build_context(settings, clock=clock, provider=provider)
    demo.recorder = provider.recorder = FetchLogRecorder(context.db)
    tickers = [f"F{i:02d}" for i in range(12)]
    for _ in range(20):
        context.store.fill(tickers, START, clock.now().date())
        clock.advance(timedelta(days=1))
    with context.db.session() as session:
        bars = pd.DataFrame(
            session.execute(
                select(PriceBar.ticker, PriceBar.date, PriceBar.close, PriceBar.low, PriceBar.high)
            ).all(),
            columns=["ticker", "date", "close", "low", "high"],
        )
        coverage = session.scalars(select(PriceCoverage)).all()
    assert np.isfinite(bars["close"]).all() and (bars["close"] > 0).all()
    assert (bars["low"] <= bars["close"]).all() and (bars["close"] <= bars["high"]).all()
    sessions = context.calendar
    for row in coverage:
        if row.last_date is None:
            continue
        stored = set(bars.loc[bars["ticker"] == row.ticker, "date"])
        first_stored = min(stored)
        claimed = {d.date() for d in sessions.sessions(first_stored, row.last_date)}
        # Coverage never claims a session whose bar is not stored.
        assert claimed <= stored, (row.ticker, sorted(claimed - stored)[:3])
    context.close()
