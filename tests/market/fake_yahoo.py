"""Yahoo's HTTP answers, in the shapes Yahoo sends, served to yfinance without a network.

`FakeYahooSession` is a real `curl_cffi.requests.Session` whose `request()` routes by URL and
returns hand-built curl_cffi responses, so yfinance's handshake, parsing and DataFrame assembly
run unchanged. Any URL it does not know fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import curl_cffi.requests
from curl_cffi.requests.models import Response

NEW_YORK = ZoneInfo("America/New_York")


@dataclass
class ChartBar:
    day: date
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    volume: int | None = 1_000_000
    dividend: float = 0.0
    split: tuple[float, float] | None = None  # (numerator, denominator)


@dataclass
class FakeYahoo:
    """What the fake Yahoo knows: chart bars and quotes per symbol, symbols that answer 429, and
    HTTP statuses to answer a symbol's next chart requests with (one popped per request)."""

    charts: dict[str, list[ChartBar]] = field(default_factory=dict)
    quotes: dict[str, dict[str, Any]] = field(default_factory=dict)
    rate_limited: set[str] = field(default_factory=set)
    failures: dict[str, list[int]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    # Called with each URL before it is answered, to interleave other work at that moment.
    on_request: Callable[[str], None] | None = None


class FakeYahooSession(curl_cffi.requests.Session):
    def __init__(self, yahoo: FakeYahoo) -> None:
        super().__init__()
        self.yahoo = yahoo

    def request(self, method: str, url: str, params: dict | None = None, **kwargs: Any) -> Response:
        self.yahoo.requests.append(url)
        if self.yahoo.on_request is not None:
            self.yahoo.on_request(url)
        parsed = urlparse(url)
        query = {key: values[0] for key, values in parse_qs(parsed.query).items()}
        query.update({key: str(value) for key, value in (params or {}).items()})
        if parsed.netloc == "fc.yahoo.com":
            return _response(url, 404, b"<html>not found</html>", "text/html")
        if parsed.netloc == "guce.yahoo.com" and parsed.path == "/consent":
            # yfinance's second cookie strategy, tried after any answer >= 400.
            form = b'<form><input name="csrfToken" value="tok"><input name="sessionId" value="sid"></form>'
            return _response(url, 200, form, "text/html")
        if (parsed.netloc, parsed.path) in {
            ("consent.yahoo.com", "/v2/collectConsent"),
            ("guce.yahoo.com", "/copyConsent"),
        }:
            return _response(url, 200, b"<html>ok</html>", "text/html")
        if parsed.path == "/v1/test/getcrumb":
            return _response(url, 200, b"fake-crumb", "text/plain")
        if parsed.path.startswith("/v8/finance/chart/"):
            return self._chart(url, parsed.path.rsplit("/", 1)[-1], query)
        if parsed.path.startswith("/v10/finance/quoteSummary/"):
            # yfinance asks this when a chart gives no timezone; unknown symbols get a 404.
            symbol = parsed.path.rsplit("/", 1)[-1]
            error = {"code": "Not Found", "description": f"Quote not found for symbol: {symbol}"}
            return _json(url, 404, {"quoteSummary": {"result": None, "error": error}})
        if parsed.path == "/v7/finance/quote":
            return self._quote(url, query)
        if parsed.path == "/v1/finance/search":
            # What Yahoo's search answers for an ISIN it cannot match.
            return _json(url, 200, {"explains": [], "count": 0, "quotes": [], "news": []})
        raise AssertionError(f"the fake Yahoo does not serve {method} {url}")

    def _chart(self, url: str, symbol: str, query: dict[str, str]) -> Response:
        if symbol in self.yahoo.rate_limited:
            return _response(url, 429, b"Too Many Requests", "text/plain")
        if self.yahoo.failures.get(symbol):
            status = self.yahoo.failures[symbol].pop(0)
            return _json(url, status, server_error_chart(status))
        bars = self.yahoo.charts.get(symbol)
        if bars is None:
            return _json(url, 404, not_found_chart())
        if "period1" in query:
            first, last = int(query["period1"]), int(query["period2"])
            bars = [bar for bar in bars if first <= _open_stamp(bar.day) < last]
        else:
            bars = bars[-1:]
        return _json(url, 200, chart_payload(symbol, bars))

    def _quote(self, url: str, query: dict[str, str]) -> Response:
        symbols = query.get("symbols", "").split(",")
        result = [self.yahoo.quotes[s] for s in symbols if s in self.yahoo.quotes]
        return _json(url, 200, {"quoteResponse": {"result": result, "error": None}})


def not_found_chart() -> dict[str, Any]:
    return {
        "chart": {
            "result": None,
            "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
        }
    }


def server_error_chart(status: int) -> dict[str, Any]:
    return {"chart": {"result": None, "error": {"code": str(status), "description": "Error"}}}


def chart_payload(symbol: str, bars: list[ChartBar]) -> dict[str, Any]:
    """A v8 chart answer for daily bars, shaped like Yahoo's (a window without sessions has
    neither timestamps nor prices: an empty quote object)."""
    stamps = [_open_stamp(bar.day) for bar in bars]
    dividends = {
        str(stamp): {"amount": bar.dividend, "date": stamp}
        for stamp, bar in zip(stamps, bars, strict=True)
        if bar.dividend
    }
    splits = {
        str(stamp): {
            "date": stamp,
            "numerator": bar.split[0],
            "denominator": bar.split[1],
            "splitRatio": f"{bar.split[0]:g}:{bar.split[1]:g}",
        }
        for stamp, bar in zip(stamps, bars, strict=True)
        if bar.split
    }
    last = bars[-1] if bars else None
    meta = {
        "currency": "USD",
        "symbol": symbol,
        "exchangeName": "NYQ",
        "fullExchangeName": "NYSE",
        "instrumentType": "EQUITY",
        "firstTradeDate": 345479400,
        "regularMarketTime": stamps[-1] + 23400 if stamps else 0,
        "hasPrePostMarketData": True,
        "gmtoffset": -18000,
        "timezone": "EST",
        "exchangeTimezoneName": "America/New_York",
        "regularMarketPrice": last.close if last else None,
        "chartPreviousClose": bars[0].close if bars else None,
        "priceHint": 2,
        "currentTradingPeriod": {
            "pre": {"timezone": "EST", "start": 0, "end": 0, "gmtoffset": -18000},
            "regular": {"timezone": "EST", "start": 0, "end": 0, "gmtoffset": -18000},
            "post": {"timezone": "EST", "start": 0, "end": 0, "gmtoffset": -18000},
        },
        "dataGranularity": "1d",
        "range": "",
        "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
    }
    if not bars:
        return {
            "chart": {
                "result": [{"meta": meta, "indicators": {"quote": [{}], "adjclose": [{}]}}],
                "error": None,
            }
        }
    result: dict[str, Any] = {
        "meta": meta,
        "timestamp": stamps,
        "indicators": {
            "quote": [
                {
                    "open": [bar.open for bar in bars],
                    "high": [bar.high for bar in bars],
                    "low": [bar.low for bar in bars],
                    "close": [bar.close for bar in bars],
                    "volume": [bar.volume for bar in bars],
                }
            ],
            "adjclose": [{"adjclose": [bar.close for bar in bars]}],
        },
    }
    if dividends or splits:
        result["events"] = {
            key: value for key, value in (("dividends", dividends), ("splits", splits)) if value
        }
    return {"chart": {"result": [result], "error": None}}


def quote_item(
    symbol: str, price: float, previous_close: float, market_time: datetime
) -> dict[str, Any]:
    """One entry of a v7 quote answer (formatted=false)."""
    return {
        "language": "en-US",
        "region": "US",
        "quoteType": "EQUITY",
        "currency": "USD",
        "marketState": "CLOSED",
        "symbol": symbol,
        "regularMarketPrice": price,
        "regularMarketTime": int(market_time.timestamp()),
        "regularMarketPreviousClose": previous_close,
        "regularMarketOpen": previous_close,
        "regularMarketDayHigh": max(price, previous_close),
        "regularMarketDayLow": min(price, previous_close),
        "regularMarketVolume": 1234567,
        "exchangeTimezoneName": "America/New_York",
    }


def _open_stamp(day: date) -> int:
    return int(datetime.combine(day, time(9, 30), NEW_YORK).timestamp())


def _response(url: str, status: int, body: bytes, content_type: str) -> Response:
    response = Response()
    response.url = url
    response.status_code = status
    response.ok = status < 400
    response.reason = "OK" if status < 400 else "Error"
    response.content = body
    response.headers["Content-Type"] = content_type
    return response


def _json(url: str, status: int, payload: dict[str, Any]) -> Response:
    return _response(url, status, json.dumps(payload).encode(), "application/json")
