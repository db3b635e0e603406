"""The Yahoo adapter through yfinance's real code, against Yahoo-shaped answers served offline."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
import yfinance.cache
from yfinance.data import SingletonMeta, YfData

from dashapp.clock import FrozenClock
from dashapp.market.errors import RateLimited, UnknownTicker
from dashapp.market.providers import MemoryRecorder
from dashapp.market.yahoo import YahooMarket
from tests.market.fake_yahoo import ChartBar, FakeYahoo, FakeYahooSession, quote_item


@pytest.fixture(autouse=True)
def fresh_yfinance(tmp_path):
    """yfinance keeps a process-wide session, response cache and on-disk caches: start clean."""
    SingletonMeta._instances.pop(YfData, None)
    YfData.cache_get.cache_clear()
    yfinance.cache._TzDBManager.close_db()
    yfinance.cache._CookieDBManager.close_db()
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


@pytest.fixture
def yahoo(tmp_path, yahoo_world):
    recorder = MemoryRecorder()
    market = YahooMarket(
        FrozenClock(datetime(2024, 12, 7, 12, 0, tzinfo=UTC)),
        recorder,
        session_factory=lambda: FakeYahooSession(yahoo_world),
        max_workers=2,
        tz_cache_dir=tmp_path / "yf",
    )
    return market, recorder


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


def test_row_without_prices_is_dropped(yahoo):
    market, _ = yahoo
    gap = market.history(["GAP"], date(2024, 12, 2), date(2024, 12, 6)).bars
    assert pd.Timestamp("2024-12-03") not in set(gap["date"])
    assert len(gap) == 4


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
