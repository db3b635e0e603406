"""The Yahoo adapter through yfinance's real code, against Yahoo-shaped answers served offline."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pandas as pd
import pytest
import yfinance
import yfinance.base
import yfinance.cache
from yfinance.config import YfConfig
from yfinance.data import SingletonMeta, YfData

from dashapp.clock import FrozenClock
from dashapp.market.errors import ProviderError, RateLimited, UnknownTicker
from dashapp.market.providers import MemoryRecorder
from dashapp.market.yahoo import YahooMarket, configure_yfinance
from dashapp.services.context import build_context
from tests.conftest import make_settings
from tests.market.fake_yahoo import ChartBar, FakeYahoo, FakeYahooSession, quote_item


@pytest.fixture(autouse=True)
def fresh_yfinance(tmp_path):
    """yfinance keeps a process-wide session, response cache and on-disk caches: start clean."""
    SingletonMeta._instances.pop(YfData, None)
    YfData.cache_get.cache_clear()
    yfinance.cache._TzDBManager.close_db()
    yfinance.cache._CookieDBManager.close_db()
    # yfinance asks quoteSummary for a missing timezone only twice per process.
    yfinance.base._tz_info_fetch_ctr = 0
    yield
    SingletonMeta._instances.pop(YfData, None)
    YfData.cache_get.cache_clear()


def week(closes: list[float | None], **events: dict) -> list[ChartBar]:
    days = [
        date(2024, 12, 2),
        date(2024, 12, 3),
        date(2024, 12, 4),
        date(2024, 12, 5),
        date(2024, 12, 6),
    ]
    bars = []
    for day, close in zip(days, closes, strict=True):
        bar = ChartBar(day, close and close - 1, close and close + 1, close and close - 2, close)
        if day in events.get("dividends", {}):
            bar.dividend = events["dividends"][day]
        if day in events.get("splits", {}):
            bar.split = events["splits"][day]
        bars.append(bar)
    return bars


@pytest.fixture
def yahoo_world() -> FakeYahoo:
    return FakeYahoo(
        charts={
            "AAPL": week([240.0, 241.0, 242.0, 243.0, 244.0]),
            "KO": week([62.0, 62.5, 63.0, 63.5, 64.0], dividends={date(2024, 12, 3): 0.485}),
            "NVDA": week(
                [1400.0, 1410.0, 141.5, 142.0, 143.0], splits={date(2024, 12, 4): (10.0, 1.0)}
            ),
            "GAP": week([10.0, None, 10.2, 10.3, 10.4]),
            "BUSY": week([5.0, 5.0, 5.0, 5.0, 5.0]),
        },
        quotes={
            "AAPL": quote_item("AAPL", 244.0, 243.0, datetime(2024, 12, 6, 21, 0, tzinfo=UTC)),
            "KO": quote_item("KO", 64.0, 63.5, datetime(2024, 12, 6, 21, 0, 1, tzinfo=UTC)),
            "NVDA": quote_item("NVDA", 143.0, 142.0, datetime(2024, 12, 6, 21, 0, tzinfo=UTC)),
        },
        rate_limited={"BUSY"},
    )


def yahoo_market(tmp_path, world: FakeYahoo, recorder: MemoryRecorder) -> YahooMarket:
    configure_yfinance(tmp_path / "yf")  # what the entry point does (dashapp.process)
    return YahooMarket(
        FrozenClock(datetime(2024, 12, 7, 12, 0, tzinfo=UTC)),
        recorder,
        session_factory=lambda: FakeYahooSession(world),
        max_workers=2,
    )


@pytest.fixture
def yahoo(tmp_path, yahoo_world):
    recorder = MemoryRecorder()
    return yahoo_market(tmp_path, yahoo_world, recorder), recorder


def test_history_of_several_tickers_in_our_bar_shape(yahoo):
    market, _ = yahoo
    batch = market.history(["aapl", "KO"], date(2024, 12, 2), date(2024, 12, 6))
    assert batch.errors == {}
    aapl = batch.bars[batch.bars["ticker"] == "AAPL"]
    assert aapl["date"].tolist() == list(
        pd.to_datetime(["2024-12-02", "2024-12-03", "2024-12-04", "2024-12-05", "2024-12-06"])
    )
    assert aapl["close"].tolist() == [240.0, 241.0, 242.0, 243.0, 244.0]
    assert aapl["split_ratio"].tolist() == [1.0] * 5
    assert str(batch.bars["date"].dtype) == "datetime64[ns]"


def test_end_date_is_inclusive(yahoo):
    market, _ = yahoo
    batch = market.history(["AAPL"], date(2024, 12, 3), date(2024, 12, 5))
    assert batch.bars["date"].dt.day.tolist() == [3, 4, 5]


def test_dividend_on_its_ex_date(yahoo):
    market, _ = yahoo
    ko = market.history(["KO"], date(2024, 12, 2), date(2024, 12, 6)).bars.set_index("date")
    assert ko.loc["2024-12-03", "dividend"] == 0.485
    assert ko["dividend"].sum() == 0.485


def test_split_ratio_on_the_split_date(yahoo):
    market, _ = yahoo
    nvda = market.history(["NVDA"], date(2024, 12, 2), date(2024, 12, 6)).bars.set_index("date")
    assert nvda.loc["2024-12-04", "split_ratio"] == 10.0
    assert (nvda.drop(pd.Timestamp("2024-12-04"))["split_ratio"] == 1.0).all()


def test_unknown_ticker_is_an_error_for_it_alone(yahoo):
    market, _ = yahoo
    batch = market.history(["AAPL", "ZZZZQ"], date(2024, 12, 2), date(2024, 12, 6))
    assert isinstance(batch.errors["ZZZZQ"], UnknownTicker)
    assert set(batch.bars["ticker"]) == {"AAPL"}


def test_rate_limited_ticker_is_a_rate_limit_error(yahoo):
    market, _ = yahoo
    batch = market.history(["BUSY", "AAPL"], date(2024, 12, 2), date(2024, 12, 6))
    assert isinstance(batch.errors["BUSY"], RateLimited)
    assert set(batch.bars["ticker"]) == {"AAPL"}


def test_row_without_prices_reaches_the_store_which_ends_coverage_before_it(tmp_path, yahoo):
    market, _ = yahoo
    gap = market.history(["GAP"], date(2024, 12, 2), date(2024, 12, 6)).bars.set_index("date")
    assert len(gap) == 5
    assert gap.loc["2024-12-03", ["open", "high", "low", "close"]].isna().all()

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'gap.db'}")
    context = build_context(
        settings, clock=FrozenClock(datetime(2024, 12, 7, 12, 0, tzinfo=UTC)), provider=market
    )
    try:
        context.store.fill(["GAP"], date(2024, 12, 2), date(2024, 12, 6))
        stored = context.store.read_bars(["GAP"], date(2024, 12, 2), date(2024, 12, 6))
        coverage = context.store.coverage(["GAP"])["GAP"]
    finally:
        context.close()
    assert stored["date"].dt.day.tolist() == [2, 4, 5, 6]
    # Coverage must not claim 12-03, which has no stored bar: the next fill asks again from it.
    assert coverage.last_date == date(2024, 12, 2)


def test_window_without_sessions_is_empty_not_unknown(yahoo):
    market, _ = yahoo
    batch = market.history(["AAPL"], date(2024, 12, 7), date(2024, 12, 8))  # a weekend
    assert batch.errors == {}
    assert batch.bars.empty


def test_retry_of_a_past_window_reaches_yahoo_again(yahoo, yahoo_world):
    market, recorder = yahoo
    # Both the request and yfinance's own retry with the other cookie strategy fail.
    yahoo_world.failures["AAPL"] = [503, 503]
    first = market.history(["AAPL"], date(2024, 12, 2), date(2024, 12, 6))
    assert isinstance(first.errors["AAPL"], ProviderError)
    assert first.errors["AAPL"].transient
    charts_before = sum(1 for r in recorder.drain() if r.kind == "history")

    second = market.history(["AAPL"], date(2024, 12, 2), date(2024, 12, 6))
    assert second.errors == {}
    assert second.bars["close"].tolist() == [240.0, 241.0, 242.0, 243.0, 244.0]
    assert charts_before == 2
    assert sum(1 for r in recorder.drain() if r.kind == "history") >= 1


def test_server_error_during_timezone_lookup_is_transient_not_unknown(yahoo, yahoo_world):
    market, _ = yahoo
    yahoo_world.failures["KO"] = [500, 500]
    batch = market.history(["KO", "AAPL"], date(2024, 12, 2), date(2024, 12, 6))
    error = batch.errors["KO"]
    assert not isinstance(error, UnknownTicker)
    assert isinstance(error, ProviderError) and error.transient
    assert "http_500" in str(error)
    assert set(batch.bars["ticker"]) == {"AAPL"}
    # The failed requests were the timezone lookups (range=1d), not a history window.
    ko_charts = [u for u in yahoo_world.requests if "/chart/KO" in u]
    assert len(ko_charts) == 2


def test_symbol_yfinance_cannot_even_construct_fails_alone(yahoo):
    market, _ = yahoo
    # A string shaped like an ISIN makes yf.Ticker() search Yahoo, which finds nothing.
    batch = market.history(["US0000000001", "AAPL"], date(2024, 12, 2), date(2024, 12, 6))
    assert isinstance(batch.errors["US0000000001"], UnknownTicker)
    assert set(batch.bars["ticker"]) == {"AAPL"}


def test_requests_are_attributed_to_the_market_whose_call_sent_them(tmp_path, yahoo_world):
    first_recorder, second_recorder = MemoryRecorder(), MemoryRecorder()
    first = yahoo_market(tmp_path / "a", yahoo_world, first_recorder)
    second = yahoo_market(tmp_path / "b", yahoo_world, second_recorder)
    # A symbol no other test asks for, so that its timezone is looked up first.
    yahoo_world.charts["MSFT"] = week([420.0, 421.0, 422.0, 423.0, 424.0])
    switched = threading.Event()

    def other_market_takes_the_session(url: str) -> None:
        # While the first market is mid-call, the second installs its session in yfinance's
        # process-wide singleton, as it does when it starts a call on another thread.
        if "/chart/MSFT" in url and not switched.is_set():
            switched.set()
            YfData(session=second._shared_session())

    yahoo_world.on_request = other_market_takes_the_session
    batch = first.history(["MSFT"], date(2024, 12, 2), date(2024, 12, 6))
    assert batch.errors == {}
    assert switched.is_set()
    first_charts = [r for r in first_recorder.drain() if r.kind == "history"]
    assert len(first_charts) == 2  # the timezone lookup, then the window via the other session
    assert {r.tickers for r in first_charts} == {("MSFT",)}
    assert second_recorder.drain() == []


def test_batch_quote_prices_three_symbols_in_one_request(yahoo, yahoo_world):
    market, recorder = yahoo
    batch = market.quotes(["AAPL", "KO", "NVDA", "ZZZZQ"])
    assert set(batch.quotes) == {"AAPL", "KO", "NVDA"}
    assert isinstance(batch.errors["ZZZZQ"], UnknownTicker)
    aapl = batch.quotes["AAPL"]
    assert (aapl.price, aapl.previous_close) == (244.0, 243.0)
    assert aapl.as_of == datetime(2024, 12, 6, 21, 0, tzinfo=UTC)
    assert aapl.source == "yahoo"
    kinds = [request.kind for request in recorder.drain()]
    assert kinds.count("quote") == 1  # one request for four symbols
    assert set(kinds) <= {"quote", "auth"}


def test_batch_quote_falls_back_to_history_when_yfinance_internals_move(
    yahoo, yahoo_world, monkeypatch
):
    market, recorder = yahoo
    # What an upgrade that renamed YfData's raw JSON call would look like to the adapter.
    monkeypatch.delattr(YfData, "get_raw_json")
    batch = market.quotes(["AAPL", "KO"])
    assert batch.errors == {}
    aapl = batch.quotes["AAPL"]
    assert (aapl.price, aapl.previous_close) == (244.0, 243.0)
    assert aapl.as_of == datetime(2024, 12, 6, 21, 0, tzinfo=UTC)  # the close, 16:00 in New York
    kinds = [request.kind for request in recorder.drain()]
    assert "quote" not in kinds
    assert kinds.count("history") >= 2  # one history window per ticker


def test_every_http_request_is_recorded(yahoo, yahoo_world):
    market, recorder = yahoo
    market.history(["AAPL", "KO", "BUSY"], date(2024, 12, 2), date(2024, 12, 6))
    recorded = recorder.drain()
    assert len(recorded) == len(yahoo_world.requests)
    history = [request for request in recorded if request.kind == "history"]
    assert {request.tickers for request in history} == {("AAPL",), ("KO",), ("BUSY",)}
    assert any(request.outcome == "http_429" for request in history)


def test_fake_yahoo_refuses_unknown_urls(yahoo_world):
    session = FakeYahooSession(yahoo_world)
    with pytest.raises(AssertionError, match="does not serve"):
        session.request("GET", "https://example.com/")


def test_a_market_built_changes_no_yfinance_global_and_refuses_to_fetch_unconfigured(
    yahoo_world,
):
    """Library globals are the entry point's (dashapp.process): a constructor leaves them, and
    fetching with yfinance still swallowing its exceptions is a clear error, not wrong data."""
    configured = YfConfig.debug.hide_exceptions
    YfConfig.debug.hide_exceptions = True  # yfinance's own default
    try:
        market = YahooMarket(
            FrozenClock(datetime(2024, 12, 7, 12, 0, tzinfo=UTC)),
            MemoryRecorder(),
            session_factory=lambda: FakeYahooSession(yahoo_world),
        )
        assert YfConfig.debug.hide_exceptions is True
        with pytest.raises(RuntimeError, match="configure_yfinance"):
            market.history(["AAPL"], date(2024, 12, 2), date(2024, 12, 6))
    finally:
        YfConfig.debug.hide_exceptions = configured
