"""A backtest request from a form or a JSON body, validated field by field.

`parse_backtest_request` turns a mapping of plain values into a `BacktestRequest` or raises
InvalidInput naming the first field at fault (the API answers 400 with it, the page shows it in
an alert). `canonical_request` is the request with only the fields its strategy uses: the part
of a backtest's cache identity that comes from the question.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

from dashapp.analytics import backtest as engine
from dashapp.analytics.periods import PERIODS
from dashapp.services.portfolios import InvalidInput

STRATEGIES = ("buy_and_hold", "sma_crossover", "rebalance", "dca")
BASKET_STRATEGIES = ("buy_and_hold", "rebalance")
TICKER_STRATEGIES = ("sma_crossover", "buy_and_hold", "dca")
FILLS = engine.FILLS
FREQUENCIES = engine.FREQUENCIES
CONTRIBUTIONS = ("lump", "mine")
SWEEP_METRICS = (*engine.SUMMARY_METRICS, "final_equity")
PERIOD_CHOICES = (*PERIODS, "CUSTOM")
TICKER_PATTERN = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
MIN_WINDOW, MAX_WINDOW = 2, 1000
MAX_SWEEP_PAIRS = 20_000
MAX_CASH = 1e12
MAX_COMMISSION = 0.1
MAX_FIXED_FEE = 10_000.0


@dataclass(frozen=True)
class BacktestRequest:
    """What to backtest. The subject is `ticker` when given, else the basket of `portfolio_id`;
    `portfolio_id` is also where "mine" contributions come from."""

    ticker: str | None = None
    portfolio_id: int | None = None
    strategy: str = "sma_crossover"
    fast: int = 50
    slow: int = 200
    frequency: str = "monthly"
    amount: float = 1_000.0
    period: str = "5Y"
    start: date | None = None
    end: date | None = None
    cash: float = 100_000.0
    commission: float = 0.0
    fixed_fee: float = 0.0
    fill: str = "next_open"
    whole_shares: bool = True
    contributions: str = "lump"
    benchmark: str = "SPY"
    sweep: bool = False
    metric: str = "total_return"
    fast_windows: tuple[int, int] = (2, 100)
    slow_windows: tuple[int, int] = (2, 100)


FIELDS = tuple(item.name for item in fields(BacktestRequest))


def parse_backtest_request(raw: Mapping[str, Any]) -> BacktestRequest:
    """Validate a request from a form or a JSON body; InvalidInput names the field at fault."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("body", "the request must be a JSON object")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise InvalidInput(str(unknown[0])[:40], "unknown field")
    defaults = BacktestRequest()
    ticker = _ticker(raw.get("ticker"), "ticker")
    portfolio_id = _portfolio_id(raw.get("portfolio_id"))
    if ticker is None and portfolio_id is None:
        raise InvalidInput("ticker", "give a ticker or a portfolio_id")
    strategy = _choice(raw, "strategy", STRATEGIES, defaults.strategy)
    if ticker is None and strategy not in BASKET_STRATEGIES:
        raise InvalidInput(
            "strategy", f"a portfolio's basket runs {' or '.join(BASKET_STRATEGIES)}"
        )
    if ticker is not None and strategy not in TICKER_STRATEGIES:
        raise InvalidInput("strategy", f"{strategy} needs a portfolio's basket, not a ticker")
    fast = _integer(raw, "fast", defaults.fast, MIN_WINDOW, MAX_WINDOW)
    slow = _integer(raw, "slow", defaults.slow, MIN_WINDOW, MAX_WINDOW)
    if strategy == "sma_crossover" and fast >= slow:
        raise InvalidInput("fast", "the fast window must be shorter than the slow one")
    start = _day(raw.get("start"), "start")
    end = _day(raw.get("end"), "end")
    if start and end and start >= end:
        raise InvalidInput("start", "must be before the end date")
    period = str(raw.get("period") or ("CUSTOM" if start else defaults.period)).strip().upper()
    if period not in PERIOD_CHOICES:
        raise InvalidInput("period", f"must be one of {', '.join(PERIOD_CHOICES)}")
    if period == "CUSTOM" and start is None:
        raise InvalidInput("start", "a custom period needs a start date")
    contributions = _choice(raw, "contributions", CONTRIBUTIONS, defaults.contributions)
    if contributions == "mine" and portfolio_id is None:
        raise InvalidInput("contributions", "'mine' needs the portfolio_id whose flows to use")
    sweep = _flag(raw, "sweep", defaults.sweep)
    if sweep and strategy != "sma_crossover":
        raise InvalidInput("sweep", "a sweep varies the windows of sma_crossover")
    if sweep and contributions != "lump":
        raise InvalidInput("sweep", "a sweep invests a lump sum")
    fast_windows = _window_range(raw, "fast_windows", defaults.fast_windows)
    slow_windows = _window_range(raw, "slow_windows", defaults.slow_windows)
    if sweep and _pair_count(fast_windows, slow_windows) == 0:
        raise InvalidInput("fast_windows", "no fast window is shorter than a slow one")
    if sweep and _pair_count(fast_windows, slow_windows) > MAX_SWEEP_PAIRS:
        raise InvalidInput("slow_windows", f"at most {MAX_SWEEP_PAIRS:,} window pairs")
    return BacktestRequest(
        ticker=ticker,
        portfolio_id=portfolio_id,
        strategy=strategy,
        fast=fast,
        slow=slow,
        frequency=_choice(raw, "frequency", FREQUENCIES, defaults.frequency),
        amount=_number(raw, "amount", defaults.amount, 0.0, MAX_CASH, positive=True),
        period=period,
        start=start,
        end=end,
        cash=_number(raw, "cash", defaults.cash, 0.0, MAX_CASH, positive=True),
        commission=_number(raw, "commission", defaults.commission, 0.0, MAX_COMMISSION),
        fixed_fee=_number(raw, "fixed_fee", defaults.fixed_fee, 0.0, MAX_FIXED_FEE),
        fill=_choice(raw, "fill", FILLS, defaults.fill),
        whole_shares=_flag(raw, "whole_shares", defaults.whole_shares),
        contributions=contributions,
        benchmark=_ticker(raw.get("benchmark"), "benchmark") or defaults.benchmark,
        sweep=sweep,
        metric=_choice(raw, "metric", SWEEP_METRICS, defaults.metric),
        fast_windows=fast_windows,
        slow_windows=slow_windows,
    )


def canonical_request(request: BacktestRequest) -> dict[str, Any]:
    """The request with only the fields its strategy uses, as JSON values (the cache's identity)."""
    unused = set()
    if request.strategy != "sma_crossover":
        unused |= {"fast", "slow", "sweep", "metric", "fast_windows", "slow_windows"}
    elif not request.sweep:
        unused |= {"metric", "fast_windows", "slow_windows"}
    if request.strategy != "rebalance":
        unused.add("frequency")
    if request.strategy != "dca":
        unused.add("amount")
    if request.contributions == "mine" or request.strategy == "dca":
        unused.add("cash")
    if request.ticker is not None and request.contributions == "lump":
        unused.add("portfolio_id")
    return {
        name: _json_field(value) for name, value in asdict(request).items() if name not in unused
    }


def _json_field(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    return list(value) if isinstance(value, tuple) else value


def _ticker(raw: object, name: str) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        raise InvalidInput(name, "a ticker symbol is text, like SPY")
    symbol = raw.strip().upper()
    if not TICKER_PATTERN.match(symbol):
        raise InvalidInput(name, f"{symbol[:20]!r} is not a ticker symbol")
    return symbol


def _portfolio_id(raw: object) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise InvalidInput("portfolio_id", "a positive whole number")
    text = str(raw).strip()
    if not text.isdigit() or len(text) > 18 or int(text) == 0:
        raise InvalidInput("portfolio_id", "a positive whole number")
    return int(text)


def _choice(raw: Mapping[str, Any], name: str, choices: Sequence[str], default: str) -> str:
    value = raw.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value.strip().lower() not in choices:
        raise InvalidInput(name, f"must be one of {', '.join(choices)}")
    return value.strip().lower()


def _number(
    raw: Mapping[str, Any],
    name: str,
    default: float,
    minimum: float,
    maximum: float,
    *,
    positive: bool = False,
) -> float:
    value = raw.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidInput(name, "must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(name, "must be a number") from None
    if not math.isfinite(number) or number < minimum or number > maximum:
        raise InvalidInput(name, f"must be between {minimum:,.10g} and {maximum:,.10g}")
    if positive and number <= 0:
        raise InvalidInput(name, "must be more than 0")
    return number


def _integer(raw: Mapping[str, Any], name: str, default: int, minimum: int, maximum: int) -> int:
    value = raw.get(name)
    if value is None or value == "":
        return default
    number = _number(raw, name, float(default), minimum, maximum)
    if number != int(number):
        raise InvalidInput(name, "must be a whole number of sessions")
    return int(number)


def _flag(raw: Mapping[str, Any], name: str, default: bool) -> bool:
    value = raw.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput(name, "must be true or false")
    return value


def _window_range(raw: Mapping[str, Any], name: str, default: tuple[int, int]) -> tuple[int, int]:
    value = raw.get(name)
    if value is None:
        return default
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise InvalidInput(name, "must be [shortest, longest]")
    low = _integer({name: value[0]}, name, default[0], MIN_WINDOW, MAX_WINDOW)
    high = _integer({name: value[1]}, name, default[1], MIN_WINDOW, MAX_WINDOW)
    if low > high:
        raise InvalidInput(name, "the shortest window comes first")
    return low, high


def _pair_count(fast: tuple[int, int], slow: tuple[int, int]) -> int:
    """How many (f, s) with f in fast, s in slow and f < s."""
    return sum(max(0, slow[1] - max(slow[0], f + 1) + 1) for f in range(fast[0], fast[1] + 1))


def _day(raw: object, name: str) -> date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            # A date picker may send a midnight timestamp: its date part is the day.
            return date.fromisoformat(raw.split("T")[0])
        except ValueError:
            pass
    raise InvalidInput(name, "must be a date like 2024-01-31")
