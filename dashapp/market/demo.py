"""An offline, deterministic demo market with the same interface as the Yahoo provider.

Every ticker-like symbol has a price history on XNYS sessions since 2000: a geometric Brownian
motion with per-symbol drift and volatility, seeded by a CRC32 of the symbol so that it is the
same in every process and for every requested window. The usual payers and bond/equity ETFs
pay quarterly dividends; AAPL, NVDA and TSLA split on their real dates. Like Yahoo, prices are
split-adjusted as of the clock's today (a split in the clock's future is not applied yet), and
requests are charged as Yahoo would: history one per ticker, quotes one per 50 symbols.
"""

from __future__ import annotations

import math
import re
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from dashapp.clock import Clock
from dashapp.market.bars import BAR_COLUMNS, HistoryBatch, Quote, QuoteBatch, empty_bars
from dashapp.market.calendar import MarketCalendar
from dashapp.market.errors import UnknownTicker
from dashapp.market.providers import RequestRecorder, UpstreamRequest

EPOCH = date(2000, 1, 3)
REFERENCE_DAY = date(2024, 6, 28)
QUOTE_CHUNK = 50
SESSION_MINUTES = 390
SYMBOL_PATTERN = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
UNKNOWN_PREFIXES = ("ZZZZ", "INVALID")


MARKET_VOLATILITY = 0.16


@dataclass(frozen=True)
class SymbolProfile:
    """How one demo symbol behaves: annual drift and volatility, price level, dividends, splits,
    and beta to a common market factor (so the demo's stocks move together, as real ones do)."""

    drift: float
    volatility: float
    reference_price: float
    dividend_yield: float = 0.0
    splits: tuple[tuple[date, float], ...] = ()
    beta: float = 1.0


# Reference prices are the raw price on REFERENCE_DAY, roughly where each traded in mid-2024.
KNOWN_PROFILES: dict[str, SymbolProfile] = {
    "SPY": SymbolProfile(0.08, 0.17, 545.0, 0.013, beta=1.0),
    "VOO": SymbolProfile(0.08, 0.17, 500.0, 0.013, beta=1.0),
    "VTI": SymbolProfile(0.08, 0.18, 267.0, 0.014, beta=1.02),
    "QQQ": SymbolProfile(0.12, 0.23, 480.0, 0.006, beta=1.15),
    "IWM": SymbolProfile(0.06, 0.23, 203.0, 0.012, beta=1.2),
    "DIA": SymbolProfile(0.07, 0.16, 391.0, 0.016, beta=0.9),
    "VXUS": SymbolProfile(0.04, 0.16, 60.0, 0.031, beta=0.8),
    "BND": SymbolProfile(0.01, 0.05, 72.0, 0.033, beta=0.05),
    "AGG": SymbolProfile(0.01, 0.05, 97.0, 0.033, beta=0.05),
    "SCHD": SymbolProfile(0.07, 0.15, 77.0, 0.035, beta=0.85),
    "AAPL": SymbolProfile(0.18, 0.30, 210.0, 0.005, ((date(2020, 8, 31), 4.0),), beta=1.2),
    "MSFT": SymbolProfile(0.16, 0.27, 447.0, 0.007, beta=1.1),
    "NVDA": SymbolProfile(0.30, 0.50, 124.0, 0.0003, ((date(2024, 6, 10), 10.0),), beta=1.7),
    "TSLA": SymbolProfile(0.25, 0.60, 197.0, 0.0, ((date(2022, 8, 25), 3.0),), beta=1.9),
    "AMZN": SymbolProfile(0.17, 0.33, 193.0, beta=1.3),
    "KO": SymbolProfile(0.05, 0.16, 63.0, 0.030, beta=0.6),
    "JNJ": SymbolProfile(0.05, 0.16, 146.0, 0.032, beta=0.55),
    "PG": SymbolProfile(0.06, 0.17, 165.0, 0.024, beta=0.5),
    "JPM": SymbolProfile(0.09, 0.26, 202.0, 0.023, beta=1.1),
    "XOM": SymbolProfile(0.05, 0.27, 115.0, 0.033, beta=0.8),
    "COST": SymbolProfile(0.15, 0.22, 850.0, 0.005, beta=0.8),
}


@dataclass(frozen=True)
class RawSeries:
    """A symbol's unadjusted daily bars on every session from EPOCH to the calendar's end."""

    dates: pd.DatetimeIndex
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    dividend: np.ndarray
    split_ratio: np.ndarray


def is_known_symbol(symbol: str) -> bool:
    return bool(SYMBOL_PATTERN.match(symbol)) and not symbol.startswith(UNKNOWN_PREFIXES)


def symbol_seed(symbol: str) -> int:
    """A seed that is the same in every process (unlike hash(), which is salted per process)."""
    return zlib.crc32(symbol.encode())


def profile_of(symbol: str) -> SymbolProfile:
    if symbol in KNOWN_PROFILES:
        return KNOWN_PROFILES[symbol]
    rng = np.random.default_rng(symbol_seed(symbol) ^ 0x5EED)
    pays = rng.random() < 0.4
    return SymbolProfile(
        drift=float(rng.uniform(0.02, 0.15)),
        volatility=float(rng.uniform(0.18, 0.45)),
        reference_price=float(round(rng.uniform(20.0, 300.0), 2)),
        dividend_yield=float(rng.uniform(0.01, 0.035)) if pays else 0.0,
        beta=float(rng.uniform(0.6, 1.4)),
    )


@lru_cache(maxsize=4)
def market_factor(calendar_name: str = "XNYS") -> np.ndarray:
    """Daily market shocks shared by every demo symbol (zero mean, MARKET_VOLATILITY a year)."""
    calendar = MarketCalendar(calendar_name)
    count = len(calendar.sessions(EPOCH, calendar.last_session))
    rng = np.random.default_rng(symbol_seed("demo market factor"))
    return rng.normal(0.0, MARKET_VOLATILITY / math.sqrt(252.0), count)


@lru_cache(maxsize=2048)
def raw_series(symbol: str, calendar_name: str = "XNYS") -> RawSeries:
    """Generate the whole unadjusted history of `symbol` once per process (vectorised)."""
    calendar = MarketCalendar(calendar_name)
    dates = calendar.sessions(EPOCH, calendar.last_session)
    profile = profile_of(symbol)
    rng = np.random.default_rng(symbol_seed(symbol))
    count = len(dates)
    daily_vol = profile.volatility / math.sqrt(252.0)
    # Total variance = beta^2 x market variance + own variance, so each symbol keeps its volatility.
    own_vol = math.sqrt(
        max(profile.volatility**2 - (profile.beta * MARKET_VOLATILITY) ** 2, 0.05**2)
    )
    log_returns = (
        profile.drift / 252.0
        - daily_vol**2 / 2.0
        + profile.beta * market_factor(calendar_name)
        + rng.normal(0.0, own_vol / math.sqrt(252.0), count)
    )
    log_returns[0] = 0.0
    economic = np.exp(np.cumsum(log_returns))

    split_ratio = np.ones(count)
    for split_day, ratio in profile.splits:
        split_ratio[dates.searchsorted(pd.Timestamp(split_day))] = ratio
    # Raw prices fall by the ratio on a split while a holder's value (shares x price) does not.
    close = economic / np.cumprod(split_ratio)
    reference = min(dates.searchsorted(pd.Timestamp(REFERENCE_DAY)), count - 1)
    close *= profile.reference_price / close[reference]

    gap = rng.normal(0.0, daily_vol / 3.0, count)
    previous_close = np.concatenate(([close[0]], close[:-1] / split_ratio[1:]))
    open_ = previous_close * np.exp(gap)
    spread = np.abs(rng.normal(0.0, daily_vol / 2.0, (2, count)))
    high = np.maximum(open_, close) * np.exp(spread[0])
    low = np.minimum(open_, close) * np.exp(-spread[1])
    volume = np.round(rng.lognormal(math.log(5e6), 0.4, count))

    dividend = np.zeros(count)
    if profile.dividend_yield > 0:
        # Ex-dates: the first session of March, June, September and December.
        months = dates.month
        first_of_month = np.concatenate(([True], months[1:] != months[:-1]))
        ex_dates = first_of_month & np.isin(months, (3, 6, 9, 12))
        dividend[ex_dates] = np.round(previous_close[ex_dates] * profile.dividend_yield / 4.0, 4)
    return RawSeries(dates, open_, high, low, close, volume, dividend, split_ratio)


class DemoMarket:
    """The offline market data provider used by the demo and by the tests."""

    name = "demo"

    def __init__(
        self,
        clock: Clock,
        calendar: MarketCalendar | None = None,
        recorder: RequestRecorder | None = None,
    ) -> None:
        self.clock = clock
        self.calendar = calendar or MarketCalendar()
        self.recorder = recorder

    def history(self, tickers: Sequence[str], start: date, end: date) -> HistoryBatch:
        now = self.clock.now()
        last_closed = self.calendar.last_completed_session(now)
        frames, errors = [], {}
        for symbol in _normalize(tickers):
            started = time.perf_counter()
            if not is_known_symbol(symbol):
                errors[symbol] = UnknownTicker(
                    f"{symbol}: no data found, symbol may be delisted", (symbol,)
                )
                self._charge("history", (symbol,), started, "unknown_ticker")
                continue
            frames.append(self._bars(symbol, start, min(end, last_closed), now.date()))
            self._charge("history", (symbol,), started, "ok")
        bars = pd.concat(frames, ignore_index=True) if frames else empty_bars()
        return HistoryBatch(bars=bars, errors=errors)

    def quotes(self, tickers: Sequence[str]) -> QuoteBatch:
        now = self.clock.now()
        symbols = _normalize(tickers)
        batch = QuoteBatch()
        for offset in range(0, len(symbols), QUOTE_CHUNK):
            chunk = symbols[offset : offset + QUOTE_CHUNK]
            started = time.perf_counter()
            for symbol in chunk:
                if is_known_symbol(symbol):
                    batch.quotes[symbol] = self._quote(symbol, now)
                else:
                    batch.errors[symbol] = UnknownTicker(f"{symbol}: not found", (symbol,))
            self._charge("quote", tuple(chunk), started, "ok")
        return batch

    def _bars(self, symbol: str, start: date, end: date, today: date) -> pd.DataFrame:
        series = raw_series(symbol, self.calendar.name)
        applied = np.where(series.dates <= pd.Timestamp(today), series.split_ratio, 1.0)
        # Prices before a split already applied are divided by every later applied ratio.
        later_splits = np.prod(applied) / np.cumprod(applied)
        window = (series.dates >= pd.Timestamp(start)) & (series.dates <= pd.Timestamp(end))
        factor = later_splits[window]
        return pd.DataFrame(
            {
                "ticker": symbol,
                "date": series.dates[window].astype("datetime64[ns]"),
                "open": series.open[window] / factor,
                "high": series.high[window] / factor,
                "low": series.low[window] / factor,
                "close": series.close[window] / factor,
                "volume": series.volume[window],
                "dividend": series.dividend[window] / factor,
                "split_ratio": applied[window],
            },
            columns=list(BAR_COLUMNS),
        )

    def _quote(self, symbol: str, now: datetime) -> Quote:
        series = raw_series(symbol, self.calendar.name)
        last_closed = self.calendar.last_completed_session(now)
        bars = self._bars(symbol, last_closed - timedelta(days=10), last_closed, now.date())
        last_close, before = float(bars["close"].iloc[-1]), float(bars["close"].iloc[-2])
        session = self.calendar.current_session(now)
        if session is None:
            last = bars.iloc[-1]
            return Quote(
                ticker=symbol,
                price=last_close,
                previous_close=before,
                as_of=self.calendar.session_close(last_closed).to_pydatetime(),
                fetched_at=now,
                source=self.name,
                market_state="CLOSED",
                open=float(last["open"]),
                high=float(last["high"]),
                low=float(last["low"]),
                volume=float(last["volume"]),
            )
        opened = self.calendar.session_open(session)
        minute = int((pd.Timestamp(now) - opened).total_seconds() // 60)
        profile = profile_of(symbol)
        rng = np.random.default_rng([symbol_seed(symbol), session.toordinal()])
        minute_vol = profile.volatility / math.sqrt(252.0 * SESSION_MINUTES)
        path = last_close * np.exp(np.cumsum(rng.normal(0.0, minute_vol, SESSION_MINUTES)))
        so_far = path[: min(max(minute, 0), SESSION_MINUTES - 1) + 1]
        volume = float(np.round(series.volume.mean() * len(so_far) / SESSION_MINUTES))
        return Quote(
            ticker=symbol,
            price=float(so_far[-1]),
            previous_close=last_close,
            as_of=pd.Timestamp(now).floor("min").to_pydatetime(),
            fetched_at=now,
            source=self.name,
            market_state="REGULAR",
            open=float(so_far[0]),
            high=float(so_far.max()),
            low=float(so_far.min()),
            volume=volume,
        )

    def _charge(self, kind: str, tickers: tuple[str, ...], started: float, outcome: str) -> None:
        if self.recorder is not None:
            self.recorder.record(
                UpstreamRequest(
                    provider=self.name,
                    kind=kind,
                    tickers=tickers,
                    started_at=self.clock.now(),
                    duration_s=time.perf_counter() - started,
                    outcome=outcome,
                )
            )


def _normalize(tickers: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().upper() for t in tickers if t and t.strip()))
