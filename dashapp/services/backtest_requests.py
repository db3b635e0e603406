"""A backtest request from a form or a JSON body, validated field by field.

`parse_backtest_request` turns a mapping of plain values into a `BacktestRequest` or raises
InvalidInput naming the first field at fault (the API answers 400 with it, the page shows it in
an alert). `canonical_request` is the request with only the fields its strategy uses: the part
of a backtest's cache identity that comes from the question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from dashapp.analytics import backtest as engine
from dashapp.rules import PERIOD_CHOICES, TICKER_PATTERN, TICKER_RULE
from dashapp.services.input_errors import MAX_ID, first_invalid_input
from dashapp.services.portfolios import InvalidInput

STRATEGIES = ("buy_and_hold", "sma_crossover", "rebalance", "dca")
BASKET_STRATEGIES = ("buy_and_hold", "rebalance")
TICKER_STRATEGIES = ("sma_crossover", "buy_and_hold", "dca")
FILLS = engine.FILLS
FREQUENCIES = engine.FREQUENCIES
CONTRIBUTIONS = ("lump", "mine")
SWEEP_METRICS = (*engine.SUMMARY_METRICS, "final_equity")
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
_DEFAULTS = BacktestRequest()


def _blank_is_default(raw: object) -> object:
    """A form's empty input (None or "") means "use the default": drop it before validation."""
    if not isinstance(raw, Mapping):
        raise PydanticCustomError("body", "the request must be a JSON object")
    return {key: value for key, value in raw.items() if value is not None and value != ""}


def _ticker_text(raw: object) -> object:
    if not isinstance(raw, str):
        raise PydanticCustomError("ticker", "a ticker symbol is text, like SPY")
    symbol = raw.strip().upper()
    if not TICKER_PATTERN.match(symbol):
        raise PydanticCustomError(
            "ticker",
            "{symbol} is not a ticker symbol ({rule})",
            {"symbol": repr(symbol[:20]), "rule": TICKER_RULE},
        )
    return symbol


def _choice_text(raw: object) -> object:
    return raw.strip().lower() if isinstance(raw, str) else raw


def _upper(raw: object) -> object:
    return raw.strip().upper() if isinstance(raw, str) else raw


def _not_a_flag(raw: object) -> object:
    """JSON true is not the number 1 here (pydantic's lax mode would take it as one)."""
    if isinstance(raw, bool):
        raise PydanticCustomError("number", "must be a number")
    return raw


def _date_text(raw: object) -> object:
    if not isinstance(raw, str):
        raise PydanticCustomError("date", "must be a date like 2024-01-31")
    # A date picker may send a midnight timestamp: its date part is the day.
    return raw.split("T")[0]


def _window_pair(raw: object) -> object:
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise PydanticCustomError("windows", "must be [shortest, longest]")
    return raw


# Constraints come before the validators in each Annotated: pydantic then writes them into the
# JSON schema as minimum/maximum/pattern (after a BeforeValidator it cannot).
Ticker = Annotated[
    str,
    Field(pattern=TICKER_PATTERN.pattern, description="a symbol, upper-cased on arrival"),
    BeforeValidator(_ticker_text),
]
Choice = BeforeValidator(_choice_text)
Window = Annotated[int, Field(ge=MIN_WINDOW, le=MAX_WINDOW), BeforeValidator(_not_a_flag)]
Money = Annotated[
    float, Field(gt=0, le=MAX_CASH, allow_inf_nan=False), BeforeValidator(_not_a_flag)
]
Day = Annotated[date, BeforeValidator(_date_text)]
WindowRange = Annotated[tuple[Window, Window], BeforeValidator(_window_pair)]


class BacktestBody(BaseModel):
    """A backtest request as a JSON object or a form sends it: each field's type and limits.
    Null or "" leaves a field at its default. Rules between fields (a ticker or a portfolio,
    fast shorter than slow, what a sweep needs) are checked by `parse_backtest_request`."""

    model_config = ConfigDict(extra="forbid", title="BacktestRequest")

    ticker: Ticker | None = None
    portfolio_id: Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_not_a_flag)] | None = None
    strategy: Annotated[Literal[STRATEGIES], Choice] = _DEFAULTS.strategy
    fast: Window = _DEFAULTS.fast
    slow: Window = _DEFAULTS.slow
    frequency: Annotated[Literal[FREQUENCIES], Choice] = _DEFAULTS.frequency
    amount: Money = _DEFAULTS.amount
    period: Annotated[Literal[PERIOD_CHOICES], BeforeValidator(_upper)] | None = Field(
        None, description="5Y unless a start date is given (then CUSTOM)"
    )
    start: Day | None = None
    end: Day | None = None
    cash: Money = _DEFAULTS.cash
    commission: Annotated[
        float, Field(ge=0, le=MAX_COMMISSION, allow_inf_nan=False), BeforeValidator(_not_a_flag)
    ] = _DEFAULTS.commission
    fixed_fee: Annotated[
        float, Field(ge=0, le=MAX_FIXED_FEE, allow_inf_nan=False), BeforeValidator(_not_a_flag)
    ] = _DEFAULTS.fixed_fee
    fill: Annotated[Literal[FILLS], Choice] = _DEFAULTS.fill
    whole_shares: StrictBool = _DEFAULTS.whole_shares
    contributions: Annotated[Literal[CONTRIBUTIONS], Choice] = _DEFAULTS.contributions
    benchmark: Ticker = _DEFAULTS.benchmark
    sweep: StrictBool = _DEFAULTS.sweep
    metric: Annotated[Literal[SWEEP_METRICS], Choice] = _DEFAULTS.metric
    fast_windows: WindowRange = _DEFAULTS.fast_windows
    slow_windows: WindowRange = _DEFAULTS.slow_windows

    @model_validator(mode="before")
    @classmethod
    def _blanks(cls, raw: object) -> object:
        return _blank_is_default(raw)


def parse_backtest_request(raw: Mapping[str, Any]) -> BacktestRequest:
    """Validate a request from a form or a JSON body; InvalidInput names the field at fault:
    the body's types and limits by `BacktestBody`, then the rules between fields."""
    try:
        body = BacktestBody.model_validate(raw)
    except ValidationError as error:
        raise first_invalid_input(error, BacktestBody) from None
    strategy = body.strategy
    if body.ticker is None and body.portfolio_id is None:
        raise InvalidInput("ticker", "give a ticker or a portfolio_id")
    if body.ticker is None and strategy not in BASKET_STRATEGIES:
        raise InvalidInput(
            "strategy", f"a portfolio's basket runs {' or '.join(BASKET_STRATEGIES)}"
        )
    if body.ticker is not None and strategy not in TICKER_STRATEGIES:
        raise InvalidInput("strategy", f"{strategy} needs a portfolio's basket, not a ticker")
    if strategy == "sma_crossover" and body.fast >= body.slow:
        raise InvalidInput("fast", "the fast window must be shorter than the slow one")
    if body.start and body.end and body.start >= body.end:
        raise InvalidInput("start", "must be before the end date")
    period = body.period or ("CUSTOM" if body.start else _DEFAULTS.period)
    if period == "CUSTOM" and body.start is None:
        raise InvalidInput("start", "a custom period needs a start date")
    if body.contributions == "mine" and body.portfolio_id is None:
        raise InvalidInput("contributions", "'mine' needs the portfolio_id whose flows to use")
    if body.sweep and strategy != "sma_crossover":
        raise InvalidInput("sweep", "a sweep varies the windows of sma_crossover")
    if body.sweep and body.contributions != "lump":
        raise InvalidInput("sweep", "a sweep invests a lump sum")
    for name in ("fast_windows", "slow_windows"):
        low, high = getattr(body, name)
        if low > high:
            raise InvalidInput(name, "the shortest window comes first")
    pairs = _pair_count(body.fast_windows, body.slow_windows)
    if body.sweep and pairs == 0:
        raise InvalidInput("fast_windows", "no fast window is shorter than a slow one")
    if body.sweep and pairs > MAX_SWEEP_PAIRS:
        raise InvalidInput("slow_windows", f"at most {MAX_SWEEP_PAIRS:,} window pairs")
    return BacktestRequest(**(body.model_dump() | {"period": period}))


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


def _pair_count(fast: tuple[int, int], slow: tuple[int, int]) -> int:
    """How many (f, s) with f in fast, s in slow and f < s."""
    return sum(max(0, slow[1] - max(slow[0], f + 1) + 1) for f in range(fast[0], fast[1] + 1))
