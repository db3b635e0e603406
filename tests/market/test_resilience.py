"""Retries, circuit breaker, request budget and timeouts in front of a misbehaving provider."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import diskcache
import pybreaker
import pytest
import redis

from dashapp.clock import FrozenClock
from dashapp.market.bars import HistoryBatch, QuoteBatch
from dashapp.market.demo import DemoMarket
from dashapp.market.errors import (
    CircuitOpen,
    ProviderError,
    RateLimited,
    UnknownTicker,
    UpstreamTimeout,
)
from dashapp.market.resilience import BudgetExhausted, ResilientProvider
from tests.conftest import TEST_REDIS_URL

NOW = datetime(2024, 12, 7, 12, 0, tzinfo=UTC)
START, END = date(2024, 12, 2), date(2024, 12, 6)


class ScriptedProvider:
    """Answers from the demo market, failing tickers or whole calls as a test scripts it."""

    name = "scripted"

    def __init__(self) -> None:
        self.demo = DemoMarket(FrozenClock(NOW))
        self.calls: list[list[str]] = []
        self.whole_call_errors: list[Exception] = []
        self.ticker_errors: dict[str, list[Exception]] = {}
        self.delay = 0.0

    def history(self, tickers, start, end) -> HistoryBatch:
        self.calls.append(list(tickers))
        time.sleep(self.delay)
        if self.whole_call_errors:
            raise self.whole_call_errors.pop(0)
        failing = {t: self.ticker_errors[t].pop(0) for t in tickers if self.ticker_errors.get(t)}
        batch = self.demo.history([t for t in tickers if t not in failing], start, end)
        batch.errors.update(failing)
        return batch

    def quotes(self, tickers) -> QuoteBatch:
        self.calls.append(list(tickers))
        if self.whole_call_errors:
            raise self.whole_call_errors.pop(0)
        return self.demo.quotes(tickers)


@pytest.fixture
def state_cache(tmp_path):
    cache = diskcache.Cache(str(tmp_path / "state"))
    yield cache
    cache.close()


def resilient(inner, state_cache, waits=None, **options) -> ResilientProvider:
    options.setdefault("max_attempts", 3)
    return ResilientProvider(
        inner,
        FrozenClock(NOW),
        state_cache=state_cache,
        sleep=(waits.append if waits is not None else lambda seconds: None),
        **options,
    )


def test_transient_failures_are_retried_with_bounded_full_jitter(state_cache):
    inner, waits = ScriptedProvider(), []
    inner.whole_call_errors = [RateLimited("429"), UpstreamTimeout("slow")]
    provider = resilient(inner, state_cache, waits, backoff_base=0.5, backoff_max=8.0)
    batch = provider.history(["SPY"], START, END)
    assert len(inner.calls) == 3
    assert len(batch.bars) == 5
    assert len(waits) == 2
    for attempt, wait in enumerate(waits, start=1):
        assert 0.0 <= wait <= min(8.0, 0.5 * 2**attempt)


def test_retries_stop_after_the_attempt_bound_and_raise(state_cache):
    inner, waits = ScriptedProvider(), []
    inner.whole_call_errors = [RateLimited("429")] * 10
    provider = resilient(inner, state_cache, waits, max_attempts=4, failure_threshold=100)
    with pytest.raises(RateLimited):
        provider.history(["SPY"], START, END)
    assert len(inner.calls) == 4
    assert len(waits) == 3


def test_retries_stop_once_the_waits_use_up_the_time_bound(state_cache):
    inner, waits = ScriptedProvider(), []
    inner.whole_call_errors = [UpstreamTimeout("slow")] * 50
    provider = resilient(
        inner,
        state_cache,
        waits,
        max_attempts=50,
        max_retry_seconds=5.0,
        backoff_base=2.0,
        backoff_max=4.0,
        failure_threshold=100,
    )
    with pytest.raises(UpstreamTimeout):
        provider.history(["SPY"], START, END)
    assert sum(waits) < 5.0 + 4.0
    assert len(inner.calls) < 50


def test_unknown_ticker_is_not_retried(state_cache):
    inner = ScriptedProvider()
    provider = resilient(inner, state_cache)
    batch = provider.history(["SPY", "ZZZZQ"], START, END)
    assert len(inner.calls) == 1
    assert isinstance(batch.errors["ZZZZQ"], UnknownTicker)


def test_only_transiently_failed_tickers_are_asked_again(state_cache):
    inner = ScriptedProvider()
    inner.ticker_errors = {"QQQ": [RateLimited("429")]}
    provider = resilient(inner, state_cache)
    batch = provider.history(["SPY", "QQQ", "VTI"], START, END)
    assert inner.calls == [["SPY", "QQQ", "VTI"], ["QQQ"]]
    assert batch.errors == {}
    assert sorted(batch.bars["ticker"].unique()) == ["QQQ", "SPY", "VTI"]


def test_a_ticker_failing_every_attempt_is_reported_not_raised(state_cache):
    inner = ScriptedProvider()
    inner.ticker_errors = {"QQQ": [RateLimited("429")] * 5}
    batch = resilient(inner, state_cache).history(["SPY", "QQQ"], START, END)
    assert isinstance(batch.errors["QQQ"], RateLimited)
    assert set(batch.bars["ticker"]) == {"SPY"}


def test_breaker_opens_fails_fast_and_recovers_through_half_open(state_cache):
    inner = ScriptedProvider()
    inner.whole_call_errors = [ProviderError("502")] * 3
    provider = resilient(inner, state_cache, max_attempts=1, failure_threshold=3, reset_seconds=60)
    for _ in range(3):
        with pytest.raises(ProviderError):
            provider.history(["SPY"], START, END)
    assert provider.breaker_status()["state"] == "open"
    calls = len(inner.calls)
    with pytest.raises(CircuitOpen):
        provider.history(["SPY"], START, END)
    assert len(inner.calls) == calls  # failed fast, nothing sent upstream
    status = provider.breaker_status()
    assert 0 < status["seconds_until_half_open"] <= 60
    # Sixty seconds later one call is let through; it works, so the breaker closes.
    provider._storage.opened_at = datetime.now(UTC) - timedelta(seconds=61)
    assert len(provider.history(["SPY"], START, END).bars) == 5
    assert provider.breaker_status()["state"] == "closed"


def test_failure_in_half_open_reopens(state_cache):
    inner = ScriptedProvider()
    inner.whole_call_errors = [ProviderError("502")] * 3
    provider = resilient(inner, state_cache, max_attempts=1, failure_threshold=2, reset_seconds=60)
    for _ in range(2):
        with pytest.raises(ProviderError):
            provider.history(["SPY"], START, END)
    provider._storage.opened_at = datetime.now(UTC) - timedelta(seconds=61)
    with pytest.raises(ProviderError):
        provider.history(["SPY"], START, END)
    assert provider.breaker_status()["state"] == pybreaker.STATE_OPEN


def test_batch_where_every_ticker_failed_counts_against_the_breaker(state_cache):
    inner = ScriptedProvider()
    inner.ticker_errors = {"SPY": [RateLimited("429")] * 9, "QQQ": [RateLimited("429")] * 9}
    provider = resilient(inner, state_cache, max_attempts=1, failure_threshold=2)
    provider.history(["SPY", "QQQ"], START, END)
    provider.history(["SPY", "QQQ"], START, END)
    assert provider.breaker_status()["state"] == "open"


def test_unknown_tickers_never_trip_the_breaker(state_cache):
    inner = ScriptedProvider()
    provider = resilient(inner, state_cache, max_attempts=1, failure_threshold=1)
    for _ in range(3):
        provider.history(["ZZZZQ"], START, END)
    assert provider.breaker_status()["state"] == "closed"


def test_breaker_state_is_shared_by_processes_using_one_cache_dir(tmp_path):
    first_cache = diskcache.Cache(str(tmp_path / "shared"))
    second_cache = diskcache.Cache(str(tmp_path / "shared"))
    failing = ScriptedProvider()
    failing.whole_call_errors = [ProviderError("502")] * 2
    first = resilient(failing, first_cache, max_attempts=1, failure_threshold=2)
    other = ScriptedProvider()
    second = resilient(other, second_cache, max_attempts=1, failure_threshold=2)
    for _ in range(2):
        with pytest.raises(ProviderError):
            first.history(["SPY"], START, END)
    with pytest.raises(CircuitOpen):
        second.history(["SPY"], START, END)
    assert other.calls == []
    first_cache.close()
    second_cache.close()


def test_budget_refuses_beyond_capacity_and_refills_with_the_clock(state_cache):
    inner, clock = ScriptedProvider(), FrozenClock(NOW)
    provider = ResilientProvider(
        inner,
        clock,
        state_cache=state_cache,
        requests_per_minute=4,
        max_budget_wait=0.0,
        sleep=lambda seconds: None,
    )
    provider.history(["SPY", "QQQ", "VTI"], START, END)
    assert provider.budget_status()["tokens_left"] == 1.0
    with pytest.raises(BudgetExhausted):
        provider.history(["IWM", "DIA"], START, END)
    assert len(inner.calls) == 1  # refused without asking upstream
    clock.advance(timedelta(seconds=15))  # one more token
    provider.history(["IWM", "DIA"], START, END)
    assert provider.budget_status()["tokens_left"] == 0.0


def test_budget_waits_for_tokens_when_the_wait_is_short(state_cache):
    inner, waits = ScriptedProvider(), []
    provider = resilient(inner, state_cache, waits, requests_per_minute=60, max_budget_wait=30.0)
    provider.history([f"T{i:02d}" for i in range(60)], START, END)
    with pytest.raises(BudgetExhausted):
        # The clock is frozen, so the promised tokens never come: it must refuse, not spin.
        provider.history(["SPY", "QQQ"], START, END)
    assert waits == [2.0]


def test_slow_provider_times_out(state_cache):
    inner = ScriptedProvider()
    inner.delay = 0.5
    provider = resilient(inner, state_cache, max_attempts=1, timeout=0.05)
    with pytest.raises(UpstreamTimeout):
        provider.history(["SPY"], START, END)


def test_quotes_go_through_the_same_guards(state_cache):
    inner = ScriptedProvider()
    inner.whole_call_errors = [RateLimited("429")]
    batch = resilient(inner, state_cache).quotes(["SPY", "QQQ"])
    assert set(batch.quotes) == {"SPY", "QQQ"}
    assert len(inner.calls) == 2


def _history_in_child(provider: ResilientProvider, results) -> None:
    results.put(len(provider.history(["QQQ"], START, END).bars))


def test_provider_used_before_a_fork_still_works_in_the_child(state_cache):
    # Background callbacks run in forked processes after the web process has used the provider.
    import multiprocessing

    provider = resilient(ScriptedProvider(), state_cache, timeout=10.0)
    provider.history(["SPY"], START, END)
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    child = fork.Process(target=_history_in_child, args=(provider, results))
    child.start()
    child.join(timeout=20)
    assert child.exitcode == 0
    assert results.get(timeout=1) == 5


@pytest.mark.redis
@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set")
def test_breaker_and_budget_are_shared_through_redis_across_hosts(state_cache, tmp_path):
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
    first = resilient(failing, state_cache, redis_client=client, **options)
    other_cache = diskcache.Cache(str(tmp_path / "other-host"))
    second = resilient(healthy, other_cache, redis_client=client, **options)
    second.history(["SPY", "QQQ"], START, END)
    assert first.budget_status()["tokens_left"] == 1.0
    with pytest.raises(BudgetExhausted):
        first.history(["SPY", "QQQ"], START, END)
    client.delete("stocktracker:budget:scripted")
    for _ in range(2):
        with pytest.raises(ProviderError):
            first.history(["SPY"], START, END)
    with pytest.raises(CircuitOpen):
        second.history(["SPY"], START, END)
    assert second.breaker_status()["state"] == "open"
    other_cache.close()
    client.flushdb()
