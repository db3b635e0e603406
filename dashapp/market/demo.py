"""An offline, deterministic demo market with the same interface as the Yahoo provider.

Every ticker-like symbol has a price history on XNYS sessions since 2000: a geometric Brownian
motion with per-symbol drift and volatility, seeded by a CRC32 of the symbol so that it is the
same in every process and for every requested window. The usual payers and bond/equity ETFs
pay quarterly dividends; AAPL, NVDA and TSLA split on their real dates. Like Yahoo, prices and
volumes are split-adjusted as of the clock (a split in the clock's future is not applied yet),
and requests are charged as Yahoo would: history one per ticker, quotes one per 50 symbols.
A symbol is ticker-like by the shared rule (`rules.ticker_symbol`), so indices such as ^GSPC are
known too; an index pays no dividends, as on Yahoo, so it is a price-only benchmark here as well.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import numpy as np
import pandas as pd

from dashapp.clock import Clock
from dashapp.market.bars import BAR_COLUMNS, HistoryBatch, Quote, QuoteBatch, empty_bars
from dashapp.market.calendar import MarketCalendar
from dashapp.market.errors import UnknownTicker
from dashapp.market.providers import QUOTE_CHUNK, RequestRecorder, UpstreamRequest
from dashapp.rules import TICKER_PATTERN, is_index

EPOCH = date(2000, 1, 3)
REFERENCE_DAY = date(2024, 6, 28)
TRADING_DAYS = 252
UNKNOWN_PREFIX = "ZZZZ"
UNKNOWN_SYMBOLS = frozenset({"INVALID"})
MARKET_VOLATILITY = 0.16
MIN_OWN_VOLATILITY = 0.05

# Independent random streams per symbol. Each array is one draw from its own stream, so a longer
# calendar (exchange_calendars ends a year after the day the process starts) only appends days
# and never changes the ones already generated. RETURNS = 0 is the symbol's plain CRC32 seed.
RETURNS, OPEN_GAP, HIGH_SPREAD, LOW_SPREAD, VOLUME, INTRADAY = range(6)


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
    # The S&P 500 index: SPY's path in index points, without dividends (an index pays none).
    "^GSPC": SymbolProfile(0.08, 0.17, 5460.0, beta=1.0),
}


@dataclass(frozen=True)
class RawSeries:
    """A symbol's unadjusted daily bars: prices and volumes as traded on the day, before any
    later split; `split_ratio` holds every split, including those in the clock's future."""

    dates: pd.DatetimeIndex
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    dividend: np.ndarray
    split_ratio: np.ndarray

    def split_factor(self, splits_through: date) -> np.ndarray:
        """Per day, the product of the splits after it dated on or before `splits_through`:
        divide a raw price (multiply a raw volume) by it to adjust as of that day."""
        applied = np.where(self.dates <= pd.Timestamp(splits_through), self.split_ratio, 1.0)
        so_far = np.cumprod(applied)
        return so_far[-1] / so_far

    def window(self, start: date, end: date, splits_through: date) -> dict[str, np.ndarray]:
        """The bar columns (all but `ticker`) from `start` to `end`, both inclusive, adjusted for
        the splits dated on or before `splits_through`; later splits are not reported yet."""
        first = self.dates.searchsorted(pd.Timestamp(start))
        last = self.dates.searchsorted(pd.Timestamp(end), side="right")
        rows = slice(first, last)
        factor = self.split_factor(splits_through)[rows]
        reported = self.dates[rows] <= pd.Timestamp(splits_through)
        return {
            "date": self.dates.to_numpy()[rows],
            "open": self.open[rows] / factor,
            "high": self.high[rows] / factor,
            "low": self.low[rows] / factor,
            "close": self.close[rows] / factor,
            "volume": self.volume[rows] * factor,
            "dividend": self.dividend[rows] / factor,
            "split_ratio": np.where(reported, self.split_ratio[rows], 1.0),
        }


def is_known_symbol(symbol: str) -> bool:
    """Ticker-like symbols are known, except a few reserved so tests and demos can ask for an
    unknown one."""
    return (
        bool(TICKER_PATTERN.match(symbol))
        and not symbol.startswith(UNKNOWN_PREFIX)
        and symbol not in UNKNOWN_SYMBOLS
    )


def symbol_seed(symbol: str) -> int:
    """A seed that is the same in every process (unlike hash(), which is salted per process)."""
    return zlib.crc32(symbol.encode())


def _stream(symbol: str, *key: int) -> np.random.Generator:
    return np.random.default_rng([symbol_seed(symbol), *key])


def profile_of(symbol: str) -> SymbolProfile:
    """The named profile, or one drawn from the symbol's seed: 40% of unnamed symbols pay,
    never an index."""
    if symbol in KNOWN_PROFILES:
        return KNOWN_PROFILES[symbol]
    rng = np.random.default_rng(symbol_seed(symbol) ^ 0x5EED)
    pays = rng.random() < 0.4 and not is_index(symbol)
    return SymbolProfile(
        drift=float(rng.uniform(0.02, 0.15)),
        volatility=float(rng.uniform(0.18, 0.45)),
        reference_price=float(round(rng.uniform(20.0, 300.0), 2)),
        dividend_yield=float(rng.uniform(0.01, 0.035)) if pays else 0.0,
        beta=float(rng.uniform(0.6, 1.4)),
    )


@lru_cache(maxsize=4)
def market_shocks(count: int) -> np.ndarray:
    """Daily market log-returns shared by every demo symbol (zero mean, MARKET_VOLATILITY a year)."""
    rng = np.random.default_rng(symbol_seed("demo market factor"))
    return rng.normal(0.0, MARKET_VOLATILITY / math.sqrt(TRADING_DAYS), count)


def simulate(symbol: str, sessions: pd.DatetimeIndex) -> RawSeries:
    """Generate the unadjusted bars of `symbol` on `sessions` (which start at EPOCH), vectorised.

    Log-returns are drift plus beta times the market shock plus the symbol's own shock, with the
    own variance chosen so the total is the profile's volatility (a little more when beta alone
    would reach it, as the own part keeps a floor). A split divides the raw price by its ratio
    while a holder's value (shares times price) carries on unbroken.
    """
    profile = profile_of(symbol)
    count = len(sessions)
    daily_vol = profile.volatility / math.sqrt(TRADING_DAYS)
    own_vol = math.sqrt(
        max(profile.volatility**2 - (profile.beta * MARKET_VOLATILITY) ** 2, MIN_OWN_VOLATILITY**2)
    )
    log_returns = (
        profile.drift / TRADING_DAYS
        - daily_vol**2 / 2.0
        + profile.beta * market_shocks(count)
        + _stream(symbol, RETURNS).normal(0.0, own_vol / math.sqrt(TRADING_DAYS), count)
    )
    log_returns[0] = 0.0

    split_ratio = np.ones(count)
    for split_day, ratio in profile.splits:
        split_ratio[sessions.searchsorted(pd.Timestamp(split_day))] = ratio
    splits_so_far = np.cumprod(split_ratio)
    close = np.exp(np.cumsum(log_returns)) / splits_so_far
    reference = min(sessions.searchsorted(pd.Timestamp(REFERENCE_DAY)), count - 1)
    close *= profile.reference_price / close[reference]

    # The previous close in the units of the day's shares, which is where the day opens from.
    previous_close = np.concatenate(([close[0]], close[:-1] / split_ratio[1:]))
    open_ = previous_close * np.exp(_stream(symbol, OPEN_GAP).normal(0.0, daily_vol / 3.0, count))
    high_spread = np.abs(_stream(symbol, HIGH_SPREAD).normal(0.0, daily_vol / 2.0, count))
    low_spread = np.abs(_stream(symbol, LOW_SPREAD).normal(0.0, daily_vol / 2.0, count))
    high = np.maximum(open_, close) * np.exp(high_spread)
    low = np.minimum(open_, close) * np.exp(-low_spread)
    # Share volume is steady in today's share count, so it was smaller before each split.
    steady_volume = _stream(symbol, VOLUME).lognormal(math.log(5e6), 0.4, count)
    volume = np.maximum(np.round(steady_volume * splits_so_far / splits_so_far[-1]), 1.0)

    dividend = np.zeros(count)
    if profile.dividend_yield > 0:
        # Ex-dates: the first session of March, June, September and December.
        months = sessions.month
        first_of_month = np.concatenate(([True], months[1:] != months[:-1]))
        ex_dates = first_of_month & np.isin(months, (3, 6, 9, 12))
        dividend[ex_dates] = np.round(previous_close[ex_dates] * profile.dividend_yield / 4.0, 4)
    return RawSeries(sessions, open_, high, low, close, volume, dividend, split_ratio)


@lru_cache(maxsize=4)
def _all_sessions(calendar_name: str) -> pd.DatetimeIndex:
    calendar = MarketCalendar(calendar_name)
    return calendar.sessions(EPOCH, calendar.last_session).astype("datetime64[ns]")


# About 400 kB a symbol: 1,024 symbols bound the cache near 400 MB per process.
@lru_cache(maxsize=1024)
def raw_series(symbol: str, calendar_name: str = "XNYS") -> RawSeries:
    """The whole unadjusted history of `symbol`, generated once per process."""
    return simulate(symbol, _all_sessions(calendar_name))


def intraday_path(
    symbol: str, session: date, bar: tuple[float, float, float, float], minutes: int
) -> np.ndarray:
    """The price at each minute of `session`, from the bar's open to its close.

    A seeded random walk pinned to the open, the high and the low (at two random minutes) and the
    close, then stretched above and below so that its extremes are the bar's high and low: the
    last minute of a session is its daily bar, so a price never jumps at the close.
    """
    open_, high, low, close = (math.log(price) for price in bar)
    rng = _stream(symbol, INTRADAY, session.toordinal())
    knots = np.sort(np.concatenate(([0, minutes - 1], rng.choice(minutes - 2, 2, False) + 1)))
    high_first = rng.random() < 0.5
    levels = [open_, high, low, close] if high_first else [open_, low, high, close]
    minute = np.arange(minutes)
    walk = np.concatenate(([0.0], np.cumsum(rng.normal(0.0, 1.0, minutes - 1))))
    pinned = walk - np.interp(minute, knots, walk[knots])
    path = np.interp(minute, knots, levels) + (high - low) / math.sqrt(minutes) * pinned
    top, bottom = max(open_, close), min(open_, close)
    above, below = path - top, bottom - path
    path = np.where(above > 0, top + above * (high - top) / above.max(), path)
    path = np.where(below > 0, bottom - below * (bottom - low) / below.max(), path)
    prices = np.exp(path)
    # exp(log(x)) may differ from x in the last bit: put the bar's own numbers where they belong.
    prices[[0, path.argmax(), path.argmin(), minutes - 1]] = bar[0], bar[1], bar[2], bar[3]
    return prices


class DemoMarket:
    """The offline market data provider used by the demo and by the tests.

    History is there from EPOCH (2000-01-03), so the clock must be later than that.
    """

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
        """Bars of the sessions from `start` to `end` that have closed by the clock's now.

        Splits are applied once their session has closed, the moment their bar is reported,
        so a batch never holds prices divided by a split it does not show.
        """
        last_closed = self.calendar.last_completed_session(self.clock.now())
        symbols: list[str] = []
        windows: list[dict[str, np.ndarray]] = []
        errors: dict[str, Exception] = {}
        for symbol in _normalize(tickers):
            started = time.perf_counter()
            if not is_known_symbol(symbol):
                errors[symbol] = UnknownTicker(
                    f"{symbol}: no data found, symbol may be delisted", (symbol,)
                )
                self._charge("history", (symbol,), started, "unknown_ticker")
                continue
            series = raw_series(symbol, self.calendar.name)
            windows.append(series.window(start, min(end, last_closed), last_closed))
            symbols.append(symbol)
            self._charge("history", (symbol,), started, "ok")
        bars = _long_frame(symbols, windows) if symbols else empty_bars()
        return HistoryBatch(bars=bars, errors=errors)

    def quotes(self, tickers: Sequence[str]) -> QuoteBatch:
        """The intraday price during a session, else the last close; one request per 50 symbols."""
        now = self.clock.now()
        session = self.calendar.current_session(now)
        last_closed = self.calendar.last_completed_session(now)
        symbols = _normalize(tickers)
        batch = QuoteBatch()
        for offset in range(0, len(symbols), QUOTE_CHUNK):
            chunk = symbols[offset : offset + QUOTE_CHUNK]
            started = time.perf_counter()
            for symbol in chunk:
                if not is_known_symbol(symbol):
                    batch.errors[symbol] = UnknownTicker(f"{symbol}: not found", (symbol,))
                elif session is None:
                    batch.quotes[symbol] = self._closed_quote(symbol, last_closed, now)
                else:
                    batch.quotes[symbol] = self._session_quote(symbol, session, now)
            # Yahoo answers a chunk with unknown symbols as a success that leaves them out.
            self._charge("quote", tuple(chunk), started, "ok")
        return batch

    def _closed_quote(self, symbol: str, last_closed: date, now: datetime) -> Quote:
        """Outside session hours: the last completed session's bar, as of its close."""
        series = raw_series(symbol, self.calendar.name)
        day = series.dates.get_loc(pd.Timestamp(last_closed))
        factor = series.split_factor(last_closed)
        return Quote(
            ticker=symbol,
            price=float(series.close[day] / factor[day]),
            previous_close=float(series.close[day - 1] / factor[day - 1]) if day else None,
            as_of=self.calendar.session_close(last_closed).to_pydatetime(),
            fetched_at=now,
            source=self.name,
            market_state="CLOSED",
            open=float(series.open[day] / factor[day]),
            high=float(series.high[day] / factor[day]),
            low=float(series.low[day] / factor[day]),
            volume=float(series.volume[day] * factor[day]),
        )

    def _session_quote(self, symbol: str, session: date, now: datetime) -> Quote:
        """During a session: the minute's point on the day's intraday path, in the day's shares
        (on a split's day the previous close is already divided by it, as Yahoo shows it)."""
        series = raw_series(symbol, self.calendar.name)
        day = series.dates.get_loc(pd.Timestamp(session))
        factor = series.split_factor(session)
        opened = self.calendar.session_open(session)
        minutes = int((self.calendar.session_close(session) - opened) / pd.Timedelta(minutes=1))
        bar = (series.open[day], series.high[day], series.low[day], series.close[day])
        path = intraday_path(symbol, session, bar, minutes)
        minute = pd.Timestamp(now).floor("min")
        so_far = path[: int((minute - opened) / pd.Timedelta(minutes=1)) + 1]
        return Quote(
            ticker=symbol,
            price=float(so_far[-1]),
            previous_close=float(series.close[day - 1] / factor[day - 1]) if day else None,
            as_of=minute.to_pydatetime(),
            fetched_at=now,
            source=self.name,
            market_state="REGULAR",
            open=float(so_far[0]),
            high=float(so_far.max()),
            low=float(so_far.min()),
            volume=float(np.round(series.volume[day] * len(so_far) / minutes)),
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


def _long_frame(symbols: list[str], windows: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """One long bars frame built from every symbol's arrays at once (no per-symbol frames)."""
    counts = [len(window["date"]) for window in windows]
    columns = {"ticker": np.repeat(np.array(symbols, dtype=object), counts)}
    columns.update(
        {name: np.concatenate([window[name] for window in windows]) for name in BAR_COLUMNS[1:]}
    )
    return pd.DataFrame(columns, columns=list(BAR_COLUMNS))


def includes_demo_prices(sources: Iterable[object]) -> bool:
    """Whether any of these prices' sources is the demo market: such prices are labelled demo
    data whichever market the reading process is set up for."""
    return any(source == DemoMarket.name for source in sources)


def _normalize(tickers: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().upper() for t in tickers if t and t.strip()))
