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

Every HTTP request the session sends is timed and recorded for `fetch_log`.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
from yfinance.exceptions import YFPricesMissingError, YFRateLimitError, YFTzMissingError

from dashapp.clock import Clock
from dashapp.market.bars import BAR_COLUMNS, HistoryBatch, Quote, QuoteBatch, empty_bars
from dashapp.market.errors import ProviderError, RateLimited, UnknownTicker, UpstreamTimeout
from dashapp.market.providers import RequestRecorder, UpstreamRequest

QUOTE_URL = "https://query1.finance.yahoo.com/v7/finance/quote"
# Yahoo's words when a symbol does not exist (chart error description or yfinance's message).
TZ_CACHE_ATTEMPTS = 5
LOCKED_CACHE_ERRORS = (sqlite3.OperationalError, peewee.OperationalError)
UNKNOWN_SYMBOL_HINTS = ("delisted", "not found", "no timezone found")
SessionFactory = Callable[[], curl_cffi.requests.Session]


class YahooMarket:
    name = "yahoo"

    def __init__(
        self,
        clock: Clock,
        recorder: RequestRecorder,
        *,
        session_factory: SessionFactory | None = None,
        chunk_size: int = 50,
        max_workers: int = 4,
        timeout: float = 10.0,
        tz_cache_dir: Path | None = None,
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
        if tz_cache_dir is not None:
            # One timezone cache per instance dir: processes sharing yfinance's default file
            # have hit "database is locked".
            tz_cache_dir.mkdir(parents=True, exist_ok=True)
            yf.set_tz_cache_location(str(tz_cache_dir))
        YfConfig.debug.hide_exceptions = False

    def history(self, tickers: Sequence[str], start: date, end: date) -> HistoryBatch:
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
        data = YfData(session=self._shared_session())
        params = {
            "symbols": ",".join(chunk),
            "formatted": "false",
            "lang": YfConfig.locale.lang,
            "region": YfConfig.locale.region,
        }
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
                as_of=pd.Timestamp(last_day).tz_localize("America/New_York").to_pydatetime(),
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
        ticker = yf.Ticker(symbol, session=self._shared_session())
        try:
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
        except YFPricesMissingError as error:
            if _says_unknown(error):
                return None, UnknownTicker(str(error), (symbol,))
            return empty_bars(), None  # a valid symbol with no session in the range
        except LOCKED_CACHE_ERRORS:
            raise
        except Exception as error:
            return None, _classify(error, (symbol,))
        return _normalize_history(symbol, frame), None

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
    """Wrap a session's `request` so each HTTP request becomes one UpstreamRequest."""

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        started_at, started = clock.now(), time.perf_counter()
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
            recorder.record(
                UpstreamRequest(
                    provider=YahooMarket.name,
                    kind=kind,
                    tickers=tickers,
                    started_at=started_at,
                    duration_s=time.perf_counter() - started,
                    outcome=outcome,
                )
            )

    return request


def _describe_url(url: str, params: dict[str, Any] | None) -> tuple[str, tuple[str, ...]]:
    parsed = urlparse(url)
    if "/v8/finance/chart/" in parsed.path:
        return "history", (parsed.path.rsplit("/", 1)[-1].upper(),)
    if "/v7/finance/quote" in parsed.path:
        symbols = (params or {}).get("symbols") or parse_qs(parsed.query).get("symbols", [""])[0]
        return "quote", tuple(s for s in str(symbols).split(",") if s)
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
    # Rows where Yahoo sent no prices at all carry nothing worth storing.
    return bars.dropna(subset=["open", "high", "low", "close"], how="all").reset_index(drop=True)


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


def _says_unknown(error: Exception) -> bool:
    text = str(error).lower()
    return any(hint in text for hint in UNKNOWN_SYMBOL_HINTS)


def _classify(error: Exception, tickers: tuple[str, ...]) -> ProviderError:
    """Our exception for what yfinance or curl raised."""
    if isinstance(error, ProviderError):
        return error
    if isinstance(error, YFRateLimitError):
        return RateLimited(str(error), tickers)
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, YFTzMissingError) or status == 404 or _says_unknown(error):
        # yfinance asks quoteSummary when a chart has no timezone: Yahoo answers 404 there.
        return UnknownTicker(str(error), tickers)
    if isinstance(error, curl_cffi.requests.exceptions.Timeout | TimeoutError):
        return UpstreamTimeout(str(error), tickers)
    return ProviderError(f"{type(error).__name__}: {error}", tickers)


def _normalize(tickers: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().upper() for t in tickers if t and t.strip()))
