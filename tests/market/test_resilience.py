"""Retries, circuit breaker, request budget and timeouts in front of a misbehaving provider."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import diskcache
import pandas as pd
import pytest
import redis

from dashapp.clock import FrozenClock
from dashapp.market.bars import BAR_COLUMNS, HistoryBatch, Quote, QuoteBatch, empty_bars
from dashapp.market.demo import DemoMarket
from dashapp.market.errors import (
    CircuitOpen,
    ProviderError,
    RateLimited,
    UnknownTicker,
    UpstreamTimeout,
)
from dashapp.market.faults import FaultyProvider
from dashapp.market.providers import MemoryRecorder
from dashapp.market.request_budget import BudgetExhausted
from dashapp.market.resilience import ResilientProvider
from tests.conftest import TEST_REDIS_URL

NOW = datetime(2024, 12, 7, 12, 0, tzinfo=UTC)
START, END = date(2024, 12, 2), date(2024, 12, 6)  # five weekdays


class ScriptedProvider:
    """Five deterministic bars for any ticker (ZZZZ* are unknown); whole calls or single tickers
    fail as a test scripts it, and `before_answer` lets a test hold the call."""

    name = "scripted"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.whole_call_errors: list[Exception] = []
        self.ticker_errors: dict[str, list[Exception]] = {}
        self.before_answer = lambda: None

    def history(self, tickers: Sequence[str], start: date, end: date) -> HistoryBatch:
        self._start_call(tickers)
        errors = self._ticker_errors(tickers)
        frames = [_bars(t, start, end) for t in tickers if t not in errors]
        return HistoryBatch(
            pd.concat(frames, ignore_index=True) if frames else empty_bars(), errors
        )

    def quotes(self, tickers: Sequence[str]) -> QuoteBatch:
        self._start_call(tickers)
        errors = self._ticker_errors(tickers)
        quotes = {t: Quote(t, 100.0, 99.0, NOW, NOW, self.name) for t in tickers if t not in errors}
        return QuoteBatch(quotes, errors)

    def _start_call(self, tickers: Sequence[str]) -> None:
        self.calls.append(list(tickers))
        self.before_answer()
        if self.whole_call_errors:
            raise self.whole_call_errors.pop(0)

    def _ticker_errors(self, tickers: Sequence[str]) -> dict[str, Exception]:
        errors = {t: self.ticker_errors[t].pop(0) for t in tickers if self.ticker_errors.get(t)}
        for ticker in tickers:
            if ticker.startswith("ZZZZ"):
                errors[ticker] = UnknownTicker(f"{ticker}: not found", (ticker,))
        return errors


def _bars(ticker: str, start: date, end: date) -> pd.DataFrame:
    dates = pd.bdate_range(start, end)
    closes = [100.0 + i for i in range(len(dates))]
    return pd.DataFrame(
        {
            "ticker": ticker,
            "date": dates,
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "volume": 1000.0,
            "dividend": 0.0,
            "split_ratio": 1.0,
        },
        columns=list(BAR_COLUMNS),
    )


@pytest.fixture
def state_cache(tmp_path):
    cache = diskcache.Cache(str(tmp_path / "state"))
    yield cache
    cache.close()


@pytest.fixture
def clock():
    return FrozenClock(NOW)


def resilient(inner, state_cache, clock=None, waits=None, **options) -> ResilientProvider:
    return ResilientProvider(
        inner,
        clock or FrozenClock(NOW),
        state_cache=state_cache,
        sleep=(waits.append if waits is not None else lambda seconds: None),
        **options,
    )


def fail_calls(provider: ResilientProvider, count: int) -> None:
    for _ in range(count):
        with pytest.raises(ProviderError):
            provider.history(["SPY"], START, END)


# Retries


def test_name_is_the_inner_providers(state_cache):
    assert resilient(ScriptedProvider(), state_cache).name == "scripted"


def test_transient_failures_are_retried_until_an_answer(state_cache):
    inner, waits = ScriptedProvider(), []
    inner.whole_call_errors = [RateLimited("429"), UpstreamTimeout("slow")]
    batch = resilient(inner, state_cache, waits=waits).history(["SPY"], START, END)
    assert len(inner.calls) == 3
    assert len(batch.bars) == 5
    assert len(waits) == 2


def test_waits_are_exponential_with_full_jitter_capped_at_backoff_max(state_cache, monkeypatch):
    # tenacity draws each wait with random.uniform(low, high); record the interval it draws from.
    intervals = []
    monkeypatch.setattr("random.uniform", lambda low, high: intervals.append((low, high)) or high)
    inner, waits = ScriptedProvider(), []
    inner.whole_call_errors = [RateLimited("429")] * 6
    provider = resilient(
        inner,
        state_cache,
        waits=waits,
        max_attempts=7,
        max_retry_seconds=1000.0,
        backoff_base=0.5,
        backoff_max=8.0,
        failure_threshold=100,
    )
    provider.history(["SPY"], START, END)
    # Full jitter: every wait is drawn from [0, min(backoff_max, base * 2**retry)].
    assert intervals == [(0, 0.5), (0, 1.0), (0, 2.0), (0, 4.0), (0, 8.0), (0, 8.0)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_retries_stop_after_max_attempts_and_raise_the_last_error(state_cache):
    inner, waits = ScriptedProvider(), []
    inner.whole_call_errors = [RateLimited("429")] * 10
    provider = resilient(inner, state_cache, waits=waits, max_attempts=4, failure_threshold=100)
    with pytest.raises(RateLimited):
        provider.history(["SPY"], START, END)
    assert len(inner.calls) == 4
    assert len(waits) == 3


def test_no_retry_starts_once_waiting_would_pass_max_retry_seconds(state_cache, monkeypatch):
    monkeypatch.setattr("random.uniform", lambda low, high: high)
    inner, waits = ScriptedProvider(), []
    inner.whole_call_errors = [UpstreamTimeout("slow")] * 50
    provider = resilient(
        inner,
        state_cache,
        waits=waits,
        max_attempts=50,
        max_retry_seconds=9.0,
        backoff_base=2.0,
        backoff_max=4.0,
        failure_threshold=100,
    )
    with pytest.raises(UpstreamTimeout):
        provider.history(["SPY"], START, END)
    # 2 + 4 = 6 s slept; a third wait of 4 s would reach 10 s > 9 s, so it stops there.
    assert waits == [2.0, 4.0]
    assert len(inner.calls) == 3


def test_unknown_ticker_in_a_batch_is_not_retried(state_cache):
    inner = ScriptedProvider()
    batch = resilient(inner, state_cache).history(["SPY", "ZZZZQ"], START, END)
    assert inner.calls == [["SPY", "ZZZZQ"]]
    assert isinstance(batch.errors["ZZZZQ"], UnknownTicker)
    assert set(batch.bars["ticker"]) == {"SPY"}


def test_unknown_ticker_raised_for_the_whole_call_is_not_retried(state_cache):
    inner = ScriptedProvider()
    inner.whole_call_errors = [UnknownTicker("delisted")]
    with pytest.raises(UnknownTicker):
        resilient(inner, state_cache).history(["OLD"], START, END)
    assert len(inner.calls) == 1


def test_only_transiently_failed_tickers_are_asked_again(state_cache):
    inner = ScriptedProvider()
    inner.ticker_errors = {"QQQ": [RateLimited("429")], "VTI": [UpstreamTimeout("slow")]}
    batch = resilient(inner, state_cache).history(["SPY", "QQQ", "VTI", "ZZZZQ"], START, END)
    assert inner.calls == [["SPY", "QQQ", "VTI", "ZZZZQ"], ["QQQ", "VTI"]]
    assert list(batch.errors) == ["ZZZZQ"]
    assert sorted(batch.bars["ticker"].unique()) == ["QQQ", "SPY", "VTI"]
    assert len(batch.bars) == 15


def test_a_ticker_failing_every_attempt_is_reported_not_raised(state_cache):
    inner = ScriptedProvider()
    inner.ticker_errors = {"QQQ": [RateLimited("429")] * 5}
    batch = resilient(inner, state_cache, max_attempts=3).history(["SPY", "QQQ"], START, END)
    assert len(inner.calls) == 3
    assert isinstance(batch.errors["QQQ"], RateLimited)
    assert set(batch.bars["ticker"]) == {"SPY"}


def test_answered_tickers_survive_a_later_whole_call_failure(state_cache):
    inner = ScriptedProvider()
    inner.ticker_errors = {"QQQ": [RateLimited("429")]}
    provider = resilient(inner, state_cache, max_attempts=2)
    # The retry of QQQ alone fails as a whole call.
    inner.before_answer = lambda: (
        inner.whole_call_errors.append(UpstreamTimeout("slow")) if len(inner.calls) == 2 else None
    )
    batch = provider.history(["SPY", "QQQ"], START, END)
    assert set(batch.bars["ticker"]) == {"SPY"}
    assert isinstance(batch.errors["QQQ"], UpstreamTimeout)


def test_empty_request_asks_nobody(state_cache):
    inner = ScriptedProvider()
    provider = resilient(inner, state_cache)
    assert provider.history([], START, END).bars.empty
    assert provider.quotes([]).quotes == {}
    assert inner.calls == []


def test_quotes_go_through_the_same_retries(state_cache):
    inner = ScriptedProvider()
    inner.whole_call_errors = [RateLimited("429")]
    inner.ticker_errors = {"QQQ": [UpstreamTimeout("slow")]}
    batch = resilient(inner, state_cache).quotes(["SPY", "QQQ"])
    assert set(batch.quotes) == {"SPY", "QQQ"}
    assert inner.calls == [["SPY", "QQQ"], ["SPY", "QQQ"], ["QQQ"]]


# Circuit breaker


def test_breaker_opens_after_the_threshold_and_fails_fast(state_cache, clock):
    inner = ScriptedProvider()
    inner.whole_call_errors = [ProviderError("502")] * 3
    provider = resilient(
        inner, state_cache, clock, max_attempts=1, failure_threshold=3, reset_seconds=60
    )
    fail_calls(provider, 2)
    assert provider.breaker_status()["state"] == "closed"
    assert provider.breaker_status()["failures"] == 2
    fail_calls(provider, 1)
    assert provider.breaker_status() == {
        "provider": "scripted",
        "state": "open",
        "failures": 3,
        "failure_threshold": 3,
        "opened_at": NOW,
        "seconds_until_half_open": 60.0,
    }
    with pytest.raises(CircuitOpen):
        provider.history(["SPY"], START, END)
    with pytest.raises(CircuitOpen):
        provider.quotes(["SPY"])
    assert len(inner.calls) == 3  # nothing sent upstream while open


def test_open_breaker_half_opens_after_reset_seconds_and_closes_on_success(state_cache, clock):
    inner = ScriptedProvider()
    inner.whole_call_errors = [ProviderError("502")] * 2
    provider = resilient(
        inner, state_cache, clock, max_attempts=1, failure_threshold=2, reset_seconds=60
    )
    fail_calls(provider, 2)
    clock.advance(timedelta(seconds=59))
    assert provider.breaker_status()["seconds_until_half_open"] == 1.0
    with pytest.raises(CircuitOpen):
        provider.history(["SPY"], START, END)
    clock.advance(timedelta(seconds=1))
    assert provider.breaker_status()["state"] == "half-open"
    assert len(provider.history(["SPY"], START, END).bars) == 5
    status = provider.breaker_status()
    assert (status["state"], status["failures"], status["opened_at"]) == ("closed", 0, None)


def test_failure_while_half_open_reopens_for_another_reset_period(state_cache, clock):
    inner = ScriptedProvider()
    inner.whole_call_errors = [ProviderError("502")] * 3
    provider = resilient(
        inner, state_cache, clock, max_attempts=1, failure_threshold=2, reset_seconds=60
    )
    fail_calls(provider, 2)
    clock.advance(timedelta(seconds=61))
    fail_calls(provider, 1)  # the trial call
    status = provider.breaker_status()
    assert status["state"] == "open"
    assert status["opened_at"] == NOW + timedelta(seconds=61)
    assert status["seconds_until_half_open"] == 60.0
    with pytest.raises(CircuitOpen):
        provider.history(["SPY"], START, END)
    assert len(inner.calls) == 3


def test_batch_where_every_ticker_failed_transiently_counts_as_a_failure(state_cache):
    inner = ScriptedProvider()
    inner.ticker_errors = {"SPY": [RateLimited("429")] * 9, "QQQ": [RateLimited("429")] * 9}
    provider = resilient(inner, state_cache, max_attempts=1, failure_threshold=2)
    provider.history(["SPY", "QQQ"], START, END)
    assert provider.breaker_status()["failures"] == 1
    batch = provider.history(["SPY", "QQQ"], START, END)
    assert set(batch.errors) == {"SPY", "QQQ"}
    assert provider.breaker_status()["state"] == "open"


def test_batch_with_any_answer_counts_as_a_success(state_cache):
    inner = ScriptedProvider()
    inner.whole_call_errors = [ProviderError("502")]
    inner.ticker_errors = {"QQQ": [RateLimited("429")]}
    provider = resilient(inner, state_cache, max_attempts=1, failure_threshold=2)
    fail_calls(provider, 1)
    assert provider.breaker_status()["failures"] == 1
    provider.history(["SPY", "QQQ"], START, END)
    assert provider.breaker_status()["failures"] == 0


def test_unknown_tickers_never_trip_the_breaker(state_cache):
    inner = ScriptedProvider()
    inner.whole_call_errors = [UnknownTicker("delisted")] * 3
    provider = resilient(inner, state_cache, max_attempts=1, failure_threshold=1)
    for _ in range(3):
        with pytest.raises(UnknownTicker):
            provider.history(["OLD"], START, END)
    for _ in range(3):
        provider.history(["ZZZZQ"], START, END)
    assert provider.breaker_status()["state"] == "closed"
    assert provider.breaker_status()["failures"] == 0


def test_breaker_state_is_shared_by_providers_on_one_cache_dir(tmp_path, clock):
    first_cache = diskcache.Cache(str(tmp_path / "shared"))
    second_cache = diskcache.Cache(str(tmp_path / "shared"))
    failing, healthy = ScriptedProvider(), ScriptedProvider()
    failing.whole_call_errors = [ProviderError("502")] * 2
    options = {"max_attempts": 1, "failure_threshold": 2, "reset_seconds": 60}
    first = resilient(failing, first_cache, clock, **options)
    second = resilient(healthy, second_cache, clock, **options)
    fail_calls(first, 1)
    assert second.breaker_status()["failures"] == 1
    fail_calls(first, 1)
    with pytest.raises(CircuitOpen):
        second.history(["SPY"], START, END)
    assert healthy.calls == []
    # The other process's successful trial closes the breaker for both.
    clock.advance(timedelta(seconds=60))
    second.history(["SPY"], START, END)
    assert first.breaker_status()["state"] == "closed"
    first_cache.close()
    second_cache.close()


def _trip_breaker_in_another_process(directory: str) -> None:
    inner = ScriptedProvider()
    inner.whole_call_errors = [ProviderError("502")] * 2
    with diskcache.Cache(directory) as cache:
        provider = resilient(inner, cache, max_attempts=1, failure_threshold=2)
        for _ in range(2):
            with contextlib.suppress(ProviderError):
                provider.history(["SPY"], START, END)


def test_breaker_opened_by_another_process_stops_this_one(tmp_path, state_cache):
    child = multiprocessing.get_context("spawn").Process(
        target=_trip_breaker_in_another_process, args=(str(tmp_path / "state"),)
    )
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    inner = ScriptedProvider()
    provider = resilient(inner, state_cache, max_attempts=1, failure_threshold=2)
    with pytest.raises(CircuitOpen):
        provider.history(["SPY"], START, END)
    assert inner.calls == []
    assert provider.breaker_status()["state"] == "open"


def test_calls_from_two_threads_are_not_serialised_by_the_breaker(state_cache):
    # Each call waits for the other inside the provider: it only finishes if both run at once.
    inner, both_inside = ScriptedProvider(), threading.Barrier(2, timeout=5)
    inner.before_answer = both_inside.wait
    provider = resilient(inner, state_cache, max_attempts=1)
    results: list[object] = []

    def fetch(ticker: str) -> None:
        try:
            results.append(len(provider.history([ticker], START, END).bars))
        except Exception as error:
            results.append(error)

    threads = [threading.Thread(target=fetch, args=(t,)) for t in ("SPY", "QQQ")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == [5, 5]


# Request budget


def test_budget_refuses_beyond_capacity_and_refills_with_the_clock(state_cache, clock):
    inner = ScriptedProvider()
    provider = resilient(
        inner, state_cache, clock, requests_per_minute=4, max_budget_wait=0.0, max_attempts=3
    )
    provider.history(["SPY", "QQQ", "VTI"], START, END)
    assert provider.budget_status() == {"tokens_left": 1.0, "capacity": 4.0}
    with pytest.raises(BudgetExhausted, match=r"request budget exhausted, retry in 15 s"):
        provider.history(["IWM", "DIA"], START, END)
    assert len(inner.calls) == 1  # refused without asking upstream, and not retried
    clock.advance(timedelta(seconds=15))  # one more token
    provider.history(["IWM", "DIA"], START, END)
    assert provider.budget_status()["tokens_left"] == 0.0
    clock.advance(timedelta(minutes=10))
    assert provider.budget_status()["tokens_left"] == 4.0  # never more than capacity


def test_quotes_cost_one_request_per_fifty_symbols(state_cache, clock):
    provider = resilient(ScriptedProvider(), state_cache, clock, requests_per_minute=10)
    provider.quotes([f"T{i:03d}" for i in range(120)])
    assert provider.budget_status()["tokens_left"] == 7.0


def test_budget_exhaustion_is_not_retried_within_the_call(state_cache, clock):
    inner, waits = ScriptedProvider(), []
    inner.whole_call_errors = [RateLimited("429")]
    provider = resilient(
        inner, state_cache, clock, waits, requests_per_minute=1, max_budget_wait=0.0
    )
    with pytest.raises(BudgetExhausted):
        provider.history(["SPY"], START, END)
    assert len(inner.calls) == 1
    assert len(waits) == 1  # one backoff before the retry that found the budget spent


def test_budget_waits_for_tokens_when_the_wait_is_short(state_cache, clock):
    inner, waits = ScriptedProvider(), []
    provider = resilient(
        inner, state_cache, clock, waits, requests_per_minute=60, max_budget_wait=30.0
    )
    provider.history([f"T{i:02d}" for i in range(60)], START, END)
    with pytest.raises(BudgetExhausted):
        # The clock is frozen, so the promised tokens never come: it must refuse, not spin.
        provider.history(["SPY", "QQQ"], START, END)
    assert waits == [2.0]


def test_budget_is_shared_by_providers_on_one_cache_dir(tmp_path, clock):
    first_cache = diskcache.Cache(str(tmp_path / "shared"))
    second_cache = diskcache.Cache(str(tmp_path / "shared"))
    options = {"requests_per_minute": 5, "max_budget_wait": 0.0}
    first = resilient(ScriptedProvider(), first_cache, clock, **options)
    second = resilient(ScriptedProvider(), second_cache, clock, **options)
    first.history(["SPY", "QQQ", "VTI"], START, END)
    assert second.budget_status()["tokens_left"] == 2.0
    with pytest.raises(BudgetExhausted):
        second.history(["SPY", "QQQ", "VTI"], START, END)
    first_cache.close()
    second_cache.close()


# Timeout


def test_slow_provider_times_out_and_counts_against_the_breaker(state_cache):
    inner, release = ScriptedProvider(), threading.Event()
    inner.before_answer = lambda: release.wait(5)
    provider = resilient(inner, state_cache, max_attempts=1, timeout=0.05)
    try:
        with pytest.raises(UpstreamTimeout, match=r"no answer within 0\.05 s"):
            provider.history(["SPY"], START, END)
    finally:
        release.set()
    assert provider.breaker_status()["failures"] == 1


def _history_in_child(provider: ResilientProvider, results) -> None:
    results.put(len(provider.history(["QQQ"], START, END).bars))


def test_provider_used_before_a_fork_still_works_in_the_child(state_cache):
    # Background callbacks run in forked processes after the web process has used the provider.
    provider = resilient(ScriptedProvider(), state_cache, timeout=10.0)
    provider.history(["SPY"], START, END)
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    child = fork.Process(target=_history_in_child, args=(provider, results))
    child.start()
    child.join(timeout=20)
    assert child.exitcode == 0
    assert results.get(timeout=1) == 5


# With the demo market and the fault injector


def test_demo_market_behind_faults_is_answered_after_retries(state_cache, clock):
    recorder, waits = MemoryRecorder(), []
    faulty = FaultyProvider(DemoMarket(clock, recorder=recorder), clock, recorder)
    faulty.fail_next(2)
    provider = resilient(faulty, state_cache, clock, waits, max_attempts=3)
    batch = provider.history(["SPY", "QQQ"], START, END)
    assert provider.name == "demo"
    assert sorted(batch.bars["ticker"].unique()) == ["QQQ", "SPY"]
    assert [r.outcome for r in recorder.drain()] == ["http_429"] * 4 + ["ok"] * 2
    assert provider.budget_status()["tokens_left"] == 120.0 - 6
    assert len(waits) == 2


@pytest.mark.redis
@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set")
def test_breaker_and_budget_are_shared_through_redis_across_hosts(state_cache, tmp_path, clock):
    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    failing, healthy = ScriptedProvider(), ScriptedProvider()
    failing.whole_call_errors = [ProviderError("502")] * 2
    options = {
        "max_attempts": 1,
        "failure_threshold": 2,
        "requests_per_minute": 3,
        "max_budget_wait": 0.0,
    }
    # Two "hosts": separate diskcache directories, one Redis.
    first = resilient(failing, state_cache, clock, redis_client=client, **options)
    other_cache = diskcache.Cache(str(tmp_path / "other-host"))
    second = resilient(healthy, other_cache, clock, redis_client=client, **options)
    second.history(["SPY", "QQQ"], START, END)
    assert first.budget_status()["tokens_left"] == 1.0
    with pytest.raises(BudgetExhausted):
        first.history(["SPY", "QQQ"], START, END)
    client.delete("stocktracker:budget:scripted")
    fail_calls(first, 2)
    with pytest.raises(CircuitOpen):
        second.history(["SPY"], START, END)
    assert second.breaker_status()["state"] == "open"
    clock.advance(timedelta(seconds=60))
    second.history(["SPY"], START, END)
    assert first.breaker_status()["state"] == "closed"
    other_cache.close()
    client.flushdb()
