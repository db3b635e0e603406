"""The fault injector misbehaves as asked, charges like Yahoo, and the price store stays truthful."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from dashapp.clock import FrozenClock
from dashapp.db.models import PriceBar, PriceCoverage
from dashapp.market.bars import BAR_COLUMNS, HistoryBatch, Quote, QuoteBatch
from dashapp.market.demo import DemoMarket
from dashapp.market.errors import ProviderError, RateLimited, UpstreamTimeout
from dashapp.market.faults import FaultRates, FaultyProvider
from dashapp.market.fetch_log import FetchLogRecorder
from dashapp.market.providers import MemoryRecorder, RequestRecorder, UpstreamRequest
from dashapp.services.context import build_context

NOW = datetime(2024, 12, 7, 12, 0, tzinfo=UTC)
START, END = date(2024, 11, 1), date(2024, 12, 6)
SESSIONS = pd.bdate_range(START, END)


class ChargingProvider:
    """Deterministic bars and quotes for any ticker, charged as Yahoo charges them: history one
    request per ticker, quotes one per 50 symbols."""

    name = "charging"

    def __init__(self, clock: FrozenClock, recorder: RequestRecorder) -> None:
        self.clock, self.recorder = clock, recorder

    def history(self, tickers: Sequence[str], start: date, end: date) -> HistoryBatch:
        frames = []
        for ticker in tickers:
            self._charge("history", (ticker,))
            closes = np.arange(len(SESSIONS), dtype=float) + 100.0
            frames.append(
                pd.DataFrame(
                    {
                        "ticker": ticker,
                        "date": SESSIONS,
                        **dict.fromkeys(("open", "high", "low", "close"), closes),
                        "volume": 1000.0,
                        "dividend": 0.0,
                        "split_ratio": 1.0,
                    },
                    columns=list(BAR_COLUMNS),
                )
            )
        return HistoryBatch(pd.concat(frames, ignore_index=True))

    def quotes(self, tickers: Sequence[str]) -> QuoteBatch:
        names = list(tickers)
        for offset in range(0, len(names), 50):
            self._charge("quote", tuple(names[offset : offset + 50]))
        now = self.clock.now()
        return QuoteBatch({t: Quote(t, 100.0, 99.0, now, now, self.name) for t in names})

    def _charge(self, kind: str, tickers: tuple[str, ...]) -> None:
        self.recorder.record(UpstreamRequest(self.name, kind, tickers, self.clock.now(), 0.0, "ok"))


def faulty(rates: FaultRates | None = None, **options) -> tuple[FaultyProvider, MemoryRecorder]:
    clock, recorder = FrozenClock(NOW), MemoryRecorder()
    inner = ChargingProvider(clock, recorder)
    return FaultyProvider(inner, clock, recorder, rates=rates, **options), recorder


def outcomes(recorder: MemoryRecorder) -> list[tuple[str, int, str]]:
    return [(r.kind, len(r.tickers), r.outcome) for r in recorder.drain()]


def test_keeps_the_inner_providers_name():
    provider, _ = faulty()
    assert provider.name == "charging"


def test_scheduled_failures_happen_exactly_and_are_charged_once():
    provider, recorder = faulty()
    provider.fail_next(2)
    for _ in range(2):
        with pytest.raises(RateLimited):
            provider.history(["SPY", "QQQ"], START, END)
    assert outcomes(recorder) == [("history", 1, "http_429")] * 4
    provider.history(["SPY", "QQQ"], START, END)
    # The success is charged by the inner provider alone.
    assert outcomes(recorder) == [("history", 1, "ok")] * 2


def test_scheduled_failure_can_be_any_provider_error():
    provider, recorder = faulty()
    provider.fail_next(1, lambda: ProviderError("HTTP 502 Bad Gateway"))
    provider.fail_next(1, lambda: UpstreamTimeout("read timed out"))
    with pytest.raises(ProviderError, match="502"):
        provider.quotes(["SPY"])
    with pytest.raises(UpstreamTimeout):
        provider.quotes(["SPY"])
    assert outcomes(recorder) == [("quote", 1, "error"), ("quote", 1, "timeout")]


def test_quote_failures_charge_one_request_per_fifty_symbols():
    provider, recorder = faulty()
    provider.fail_next(1, lambda: UpstreamTimeout("read timed out"))
    with pytest.raises(UpstreamTimeout):
        provider.quotes([f"T{i:03d}" for i in range(120)])
    assert outcomes(recorder) == [
        ("quote", 50, "timeout"),
        ("quote", 50, "timeout"),
        ("quote", 20, "timeout"),
    ]


@pytest.mark.parametrize(
    ("rates", "error", "outcome"),
    [
        (FaultRates(rate_limit=1.0), RateLimited, "http_429"),
        (FaultRates(timeout=1.0), UpstreamTimeout, "timeout"),
        (FaultRates(error=1.0), ProviderError, "error"),
    ],
)
def test_each_whole_call_fault_raises_and_is_charged(rates, error, outcome):
    provider, recorder = faulty(rates)
    with pytest.raises(error):
        provider.history(["SPY", "QQQ", "VTI"], START, END)
    assert outcomes(recorder) == [("history", 1, outcome)] * 3


def test_a_drawn_rate_limit_lasts_for_its_burst():
    provider, _ = faulty(FaultRates(rate_limit=0.3, rate_limit_burst=3), seed=1)
    results = []
    for _ in range(30):
        try:
            provider.quotes(["SPY"])
            results.append("ok")
        except RateLimited:
            results.append("429")
    first = results.index("429")
    assert results[first : first + 3] == ["429"] * 3
    runs = "".join("x" if r == "429" else "." for r in results).split(".")
    assert all(len(run) >= 3 for run in runs if run)


def test_random_faults_are_repeatable_for_a_seed():
    runs = []
    for _ in range(2):
        provider, _ = faulty(FaultRates(error=0.3, timeout=0.2, rate_limit=0.2), seed=11)
        run = []
        for _ in range(30):
            try:
                provider.quotes(["SPY"])
                run.append("ok")
            except ProviderError as error:
                run.append(type(error).__name__)
        runs.append(run)
    assert runs[0] == runs[1]
    assert {"ok", "RateLimited", "UpstreamTimeout", "ProviderError"} == set(runs[0])


def test_partial_answer_leaves_tickers_out_silently_but_charges_them():
    provider, recorder = faulty(FaultRates(partial=1.0), seed=3)
    tickers = [f"T{i:02d}" for i in range(20)]
    batch = provider.history(tickers, START, END)
    answered = set(batch.bars["ticker"])
    assert "T00" in answered and 0 < len(answered) < 20
    assert batch.errors == {}
    assert outcomes(recorder) == [("history", 1, "ok")] * 20
    quotes = provider.quotes(tickers)
    assert 0 < len(quotes.quotes) < 20 and quotes.errors == {}


def test_empty_answer_is_an_empty_frame_and_still_charged():
    provider, recorder = faulty(FaultRates(empty=1.0))
    batch = provider.history(["SPY", "QQQ"], START, END)
    assert batch.bars.empty and list(batch.bars.columns) == list(BAR_COLUMNS)
    assert batch.errors == {}
    assert provider.quotes(["SPY"]).quotes == {}
    assert outcomes(recorder) == [("history", 1, "ok")] * 2 + [("quote", 1, "ok")]


def test_bad_prices_are_nan_inf_zero_or_negative_closes():
    provider, _ = faulty(FaultRates(bad_price=0.5), seed=5)
    bars = provider.history(["SPY", "QQQ", "VTI"], START, END).bars
    closes = bars["close"]
    assert closes.isna().any()
    assert np.isinf(closes).any()
    assert (closes == 0.0).any()
    assert (closes < 0).any()
    # Only closes are corrupted; the other columns are as the provider answered.
    assert (bars["open"] >= 100.0).all()
    prices = [q.price for q in provider.quotes([f"T{i:02d}" for i in range(40)]).quotes.values()]
    assert not all(np.isfinite(p) and p > 0 for p in prices)


def test_latency_is_paid_per_round_of_parallel_requests():
    slept = []
    provider, _ = faulty(latency_s=0.15, max_workers=4, sleep=slept.append)
    provider.history([f"T{i}" for i in range(10)], START, END)  # 10 requests: 3 rounds
    provider.quotes([f"T{i}" for i in range(10)])  # 1 request: 1 round
    provider.fail_next(1)
    with pytest.raises(RateLimited):
        provider.history(["SPY"], START, END)  # a failure takes its time too
    assert slept == [pytest.approx(0.45), pytest.approx(0.15), pytest.approx(0.15)]


def test_demo_market_behind_faults_charges_each_request_once():
    clock, recorder = FrozenClock(NOW), MemoryRecorder()
    provider = FaultyProvider(DemoMarket(clock, recorder=recorder), clock, recorder)
    provider.fail_next(1)
    with pytest.raises(RateLimited):
        provider.quotes([f"T{i:03d}" for i in range(60)])
    provider.quotes([f"T{i:03d}" for i in range(60)])
    assert [(len(r.tickers), r.outcome) for r in recorder.drain()] == [
        (50, "http_429"),
        (10, "http_429"),
        (50, "ok"),
        (10, "ok"),
    ]


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
