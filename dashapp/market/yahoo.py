"""Yahoo Finance through yfinance 1.7 (pinned: the batch quote below reaches into its internals).

History: one `Ticker.history` call per ticker (unadjusted prices plus dividends and splits), run
in a small bounded pool, chunk after chunk. We do not use `yf.download`: it swallows per-ticker
failures (a 429 becomes NaN columns and a log line), while `Ticker.history` with
`YfConfig.debug.hide_exceptions = False` raises YFRateLimitError, YFTzMissingError or
YFPricesMissingError, so one bad ticker is an error for that ticker only, classified.

Latest prices: yfinance has no public many-symbol quote, but Yahoo's `v7/finance/quote` takes a
comma-separated list. We call it through yfinance's own `YfData` session, which handles the
cookie and crumb, one request per chunk of symbols. If that internal call breaks, quotes fall
back to a five-day history per ticker.

Every HTTP request the session sends is timed and recorded for `fetch_log`, attributed to the
market whose call is running on the sending thread: yfinance keeps one process-wide session
(`YfData` is a singleton), so with two markets in a process the request may leave through the
other's session object.

A ticker's failure is classified from what Yahoo answered its chart requests during the call,
not from yfinance's wording ("possibly delisted" is said of empty windows too): a 404 means the
symbol is unknown, a 200 without rows an empty window, a 429 a rate limit, a 5xx, timeout or
dropped connection a transient error, whichever request (timezone lookup or history) met it.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import curl_cffi.requests
import pandas as pd
import peewee
import yfinance as yf
from yfinance.config import YfConfig
from yfinance.data import YfData
from yfinance.exceptions import YFPricesMissingError, YFRateLimitError

from dashapp.clock import Clock
from dashapp.market.bars import BAR_COLUMNS, HistoryBatch, Quote, QuoteBatch, empty_bars
from dashapp.market.errors import ProviderError, RateLimited, UnknownTicker, UpstreamTimeout
from dashapp.market.providers import QUOTE_CHUNK, RequestRecorder, UpstreamRequest

QUOTE_URL = "https://query1.finance.yahoo.com/v7/finance/quote"
REGULAR_CLOSE = pd.Timedelta(hours=16)
TZ_CACHE_ATTEMPTS = 5
LOCKED_CACHE_ERRORS = (sqlite3.OperationalError, peewee.OperationalError)
SessionFactory = Callable[[], curl_cffi.requests.Session]


@dataclass
class _Call:
    """The market a thread is working for, and the requests it has sent so far in this call."""

    recorder: RequestRecorder
    clock: Clock
    requests: list[UpstreamRequest] = field(default_factory=list)


_current = threading.local()


def configure_yfinance(tz_cache_dir: Path) -> None:
    """yfinance's process-wide settings, made by the entry point (`dashapp.process`).

    Its exceptions raised, not logged and swallowed: the classification of failures per ticker
    depends on them. Its time-zone cache in the instance directory: processes sharing
    yfinance's default file have hit "database is locked".
    """
    tz_cache_dir.mkdir(parents=True, exist_ok=True)
    yf.set_tz_cache_location(str(tz_cache_dir))
    YfConfig.debug.hide_exceptions = False


def _require_configured() -> None:
    if YfConfig.debug.hide_exceptions:
        raise RuntimeError(
            "yfinance is not configured: the entry point must call configure_yfinance() "
            "(dashapp.process.configure_process) before fetching"
        )


class YahooMarket:
    name = "yahoo"

    def __init__(
        self,
        clock: Clock,
        recorder: RequestRecorder,
        *,
        session_factory: SessionFactory | None = None,
        chunk_size: int = QUOTE_CHUNK,
        max_workers: int = 4,
        timeout: float = 10.0,
    ) -> None:
        self.clock = clock
        self.recorder = recorder
        self.chunk_size = chunk_size
        self.max_workers = max_workers
        self.timeout = timeout
        self._session_factory = session_factory or (
            lambda: curl_cffi.requests.Session(impersonate="chrome")
        )
        self._session: curl_cffi.requests.Session | None = None
        self._session_lock = threading.Lock()

    def history(self, tickers: Sequence[str], start: date, end: date) -> HistoryBatch:
        _require_configured()
        symbols = _normalize(tickers)
        frames: list[pd.DataFrame] = []
        errors: dict[str, Exception] = {}
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            for offset in range(0, len(symbols), self.chunk_size):
                chunk = symbols[offset : offset + self.chunk_size]
                results = pool.map(lambda s: self._history_of(s, start, end), chunk)
                for symbol, (frame, error) in zip(chunk, results, strict=True):
                    if error is not None:
                        errors[symbol] = error
                    elif frame is not None:
                        frames.append(frame)
        bars = pd.concat(frames, ignore_index=True) if frames else empty_bars()
        return HistoryBatch(bars=bars, errors=errors)

    def quotes(self, tickers: Sequence[str]) -> QuoteBatch:
        _require_configured()
        symbols = _normalize(tickers)
        batch = QuoteBatch()
        for offset in range(0, len(symbols), self.chunk_size):
            chunk = symbols[offset : offset + self.chunk_size]
            try:
                payload = self._quote_json(chunk)
            except YFRateLimitError as error:
                raise RateLimited(str(error), tuple(chunk)) from error
            except (AttributeError, TypeError):
                # yfinance internals moved: price from daily history instead (one per ticker).
                fallback = self._quotes_from_history(chunk)
                batch.quotes.update(fallback.quotes)
                batch.errors.update(fallback.errors)
                continue
            except Exception as error:
                raise _classify(error, tuple(chunk)) from error
            results = (payload.get("quoteResponse") or {}).get("result") or []
            fetched_at = self.clock.now()
            for item in results:
                quote = _quote_from_json(item, fetched_at)
                if quote is not None:
                    batch.quotes[quote.ticker] = quote
            for symbol in chunk:
                if symbol not in batch.quotes:
                    batch.errors[symbol] = UnknownTicker(f"{symbol}: not in Yahoo's quote response")
        return batch

    def _quote_json(self, chunk: list[str]) -> dict[str, Any]:
        params = {
            "symbols": ",".join(chunk),
            "formatted": "false",
            "lang": YfConfig.locale.lang,
            "region": YfConfig.locale.region,
        }
        with self._attributed():
            data = YfData(session=self._shared_session())
            return data.get_raw_json(QUOTE_URL, params=params, timeout=self.timeout)

    def _quotes_from_history(self, chunk: list[str]) -> QuoteBatch:
        today = self.clock.now().date()
        history = self.history(chunk, today - timedelta(days=7), today)
        batch = QuoteBatch(errors=dict(history.errors))
        for symbol, bars in history.bars.groupby("ticker"):
            closes = bars.sort_values("date")["close"].to_list()
            last_day = bars["date"].max()
            batch.quotes[str(symbol)] = Quote(
                ticker=str(symbol),
                price=closes[-1],
                previous_close=closes[-2] if len(closes) > 1 else None,
                # A daily close describes the session's end (16:00 in New York; an early close
                # is earlier, which the store's quote-close check still accepts).
                as_of=(pd.Timestamp(last_day) + REGULAR_CLOSE)
                .tz_localize("America/New_York")
                .to_pydatetime(),
                fetched_at=self.clock.now(),
                source=self.name,
            )
        return batch

    def _history_of(
        self, symbol: str, start: date, end: date
    ) -> tuple[pd.DataFrame | None, Exception | None]:
        attempt = 1
        while True:
            try:
                return self._history_attempt(symbol, start, end)
            except LOCKED_CACHE_ERRORS as error:
                # yfinance's timezone cache is one SQLite file that parallel lookups can find
                # locked for a moment; the request itself never went out, so just ask again.
                if "locked" not in str(error) or attempt == TZ_CACHE_ATTEMPTS:
                    return None, ProviderError(f"yfinance timezone cache: {error}", (symbol,))
                time.sleep(0.05 * attempt)
                attempt += 1

    def _history_attempt(
        self, symbol: str, start: date, end: date
    ) -> tuple[pd.DataFrame | None, Exception | None]:
        # yfinance answers past windows (and timezone lookups) from a process-wide lru cache,
        # failed answers included: without this a retry would never reach Yahoo again.
        YfData.cache_get.cache_clear()
        with self._attributed() as call:
            try:
                # Inside the try: an odd symbol (an ISIN yfinance resolves by search) can fail
                # here, and that must be this ticker's error, not the batch's.
                ticker = yf.Ticker(symbol, session=self._shared_session())
                frame = ticker.history(
                    start=start.isoformat(),
                    # Our end is inclusive; Yahoo's is exclusive.
                    end=(end + timedelta(days=1)).isoformat(),
                    interval="1d",
                    auto_adjust=False,
                    actions=True,
                    repair=False,
                    timeout=self.timeout,
                )
            except LOCKED_CACHE_ERRORS:
                raise
            except Exception as error:
                return _history_failure(symbol, error, call.requests)
        return _normalize_history(symbol, frame), None

    @contextmanager
    def _attributed(self) -> Iterator[_Call]:
        """Attribute every request this thread sends until the block ends to this market."""
        previous = getattr(_current, "call", None)
        call = _Call(self.recorder, self.clock)
        _current.call = call
        try:
            yield call
        finally:
            _current.call = previous

    def _shared_session(self) -> curl_cffi.requests.Session:
        """One session for all threads (yfinance's YfData is a singleton around it anyway)."""
        with self._session_lock:
            if self._session is None:
                session = self._session_factory()
                session.request = _recording(session.request, self.recorder, self.clock)
                self._session = session
            return self._session


def _recording(
    send: Callable[..., Any], recorder: RequestRecorder, clock: Clock
) -> Callable[..., Any]:
    """Wrap a session's `request` so each HTTP request becomes one UpstreamRequest, recorded for
    the market whose call runs on this thread (the session's own market outside any call)."""

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        call: _Call | None = getattr(_current, "call", None)
        target, timer = (call.recorder, call.clock) if call else (recorder, clock)
        started_at, started = timer.now(), time.perf_counter()
        outcome = "error"
        try:
            response = send(method, url, *args, **kwargs)
            outcome = "ok" if response.status_code < 400 else f"http_{response.status_code}"
            return response
        except curl_cffi.requests.exceptions.Timeout:
            outcome = "timeout"
            raise
        finally:
            kind, tickers = _describe_url(url, kwargs.get("params"))
            sent = UpstreamRequest(
                provider=YahooMarket.name,
                kind=kind,
                tickers=tickers,
                started_at=started_at,
                duration_s=time.perf_counter() - started,
                outcome=outcome,
            )
            target.record(sent)
            if call is not None:
                call.requests.append(sent)

    return request


def _describe_url(url: str, params: dict[str, Any] | None) -> tuple[str, tuple[str, ...]]:
    parsed = urlparse(url)
    if "/v8/finance/chart/" in parsed.path:
        return "history", (parsed.path.rsplit("/", 1)[-1].upper(),)
    if "/v7/finance/quote" in parsed.path:
        symbols = (params or {}).get("symbols") or parse_qs(parsed.query).get("symbols", [""])[0]
        return "quote", tuple(s for s in str(symbols).split(",") if s)
    if "/finance/quoteSummary/" in parsed.path:
        return "info", (parsed.path.rsplit("/", 1)[-1].upper(),)
    if "/finance/search" in parsed.path:
        return "search", ()
    return "auth", ()


def _normalize_history(symbol: str, frame: pd.DataFrame) -> pd.DataFrame:
    """yfinance's frame (tz-aware exchange-time index, capitalised columns) as our long bars."""
    if frame is None or frame.empty:
        return empty_bars()
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    splits = frame.get("Stock Splits", pd.Series(0.0, index=frame.index)).fillna(0.0)
    bars = pd.DataFrame(
        {
            "ticker": symbol,
            "date": index.normalize().astype("datetime64[ns]"),
            "open": frame["Open"].to_numpy(dtype="float64"),
            "high": frame["High"].to_numpy(dtype="float64"),
            "low": frame["Low"].to_numpy(dtype="float64"),
            "close": frame["Close"].to_numpy(dtype="float64"),
            "volume": frame["Volume"].to_numpy(dtype="float64"),
            "dividend": frame.get("Dividends", pd.Series(0.0, index=frame.index))
            .fillna(0.0)
            .to_numpy(dtype="float64"),
            "split_ratio": splits.where(splits > 0, 1.0).to_numpy(dtype="float64"),
        },
        columns=list(BAR_COLUMNS),
    )
    # Rows without prices stay: the price store's validation drops them and ends coverage
    # before them, so coverage never claims a session it holds no bar for.
    return bars


def _quote_from_json(item: dict[str, Any], fetched_at: datetime) -> Quote | None:
    symbol = str(item.get("symbol", "")).upper()
    price = item.get("regularMarketPrice")
    market_time = item.get("regularMarketTime")
    if not symbol or not isinstance(price, int | float) or not isinstance(market_time, int | float):
        return None
    return Quote(
        ticker=symbol,
        price=float(price),
        previous_close=_number(item.get("regularMarketPreviousClose")),
        as_of=datetime.fromtimestamp(market_time, tz=UTC),
        fetched_at=fetched_at,
        source=YahooMarket.name,
        market_state=str(item.get("marketState") or "CLOSED"),
        open=_number(item.get("regularMarketOpen")),
        high=_number(item.get("regularMarketDayHigh")),
        low=_number(item.get("regularMarketDayLow")),
        volume=_number(item.get("regularMarketVolume")),
    )


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _history_failure(
    symbol: str, error: Exception, requests: Sequence[UpstreamRequest]
) -> tuple[pd.DataFrame | None, Exception | None]:
    """What a failed `Ticker.history` call means, judged by Yahoo's answers to its requests.

    Returns empty bars for a window Yahoo answered without rows (yfinance raises "possibly
    delisted" for those too), or the error for this ticker.
    """
    tickers = (symbol,)
    charts = [r.outcome for r in requests if r.kind == "history" and r.tickers == tickers]
    if isinstance(error, YFRateLimitError) or "http_429" in charts:
        return None, RateLimited(f"{symbol}: Yahoo answered 429 Too Many Requests", tickers)
    if "timeout" in charts or isinstance(error, curl_cffi.requests.exceptions.Timeout):
        return None, UpstreamTimeout(f"{symbol}: Yahoo did not answer in time", tickers)
    failed = [o for o in charts if o == "error" or o.startswith("http_5")]
    if failed:
        return None, ProviderError(f"{symbol}: Yahoo answered {failed[-1]}", tickers)
    if charts and charts[-1] == "ok" and isinstance(error, YFPricesMissingError):
        return empty_bars(), None
    if charts and all(outcome == "http_404" for outcome in charts):
        return None, UnknownTicker(f"{symbol}: Yahoo knows no such symbol", tickers)
    searches = [r.outcome for r in requests if r.kind == "search"]
    if not charts and searches and all(outcome == "ok" for outcome in searches):
        return None, UnknownTicker(f"{symbol}: Yahoo's search found no such symbol", tickers)
    return None, _classify(error, tickers)


def _classify(error: Exception, tickers: tuple[str, ...]) -> ProviderError:
    """Our exception for what yfinance or curl raised when no answer of Yahoo's says more.

    Never UnknownTicker: that is permanent, so only a chart's 404 may decide it.
    """
    if isinstance(error, ProviderError):
        return error
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, YFRateLimitError) or status == 429:
        return RateLimited(str(error), tickers)
    if isinstance(error, curl_cffi.requests.exceptions.Timeout | TimeoutError):
        return UpstreamTimeout(str(error), tickers)
    return ProviderError(f"{type(error).__name__}: {error}", tickers)


def _normalize(tickers: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().upper() for t in tickers if t and t.strip()))
