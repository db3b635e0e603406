"""A backtest's inputs, checked and turned into arrays: prices, costs, fills, windows, cash,
dividends, contributions and basket weights. Every refusal is an `InvalidBacktest` naming the
input at fault, so the service can point at the field.

Flows per session: the starting cash on session 0, plus each contribution on the first session on
or after its date (flows after the last session are ignored). Dividends per share sit on their
ex-date, which must be a session.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Fill = Literal["next_open", "close"]

Frequency = Literal["monthly", "quarterly", "yearly"]

FILLS = ("next_open", "close")

FREQUENCIES = ("monthly", "quarterly", "yearly")

DEFAULT_CASH = 100_000.0

WEIGHT_TOLERANCE = 1e-9


class InvalidBacktest(ValueError):
    """A backtest request that cannot be run; `field` names the input at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Costs:
    """Trading costs: `commission` is a fraction of traded value on each side, `fixed_fee` a
    currency amount per order."""

    commission: float = 0.0
    fixed_fee: float = 0.0
    whole_shares: bool = True


def as_number(value: object, field: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidBacktest(field, "must be a number") from None
    if not math.isfinite(number):
        raise InvalidBacktest(field, "must be finite")
    return number


def parse_costs(commission: float, fixed_fee: float, whole_shares: bool) -> Costs:
    commission = as_number(commission, "commission")
    if commission < 0 or commission >= 1:
        raise InvalidBacktest("commission", "must be a fraction in [0, 1)")
    fixed_fee = as_number(fixed_fee, "fixed_fee")
    if fixed_fee < 0:
        raise InvalidBacktest("fixed_fee", "must not be negative")
    return Costs(commission, fixed_fee, bool(whole_shares))


def check_fill(fill: str) -> None:
    if fill not in FILLS:
        raise InvalidBacktest("fill", f"must be one of {', '.join(FILLS)}")


def sessions_of(frame: pd.DataFrame, field: str) -> pd.DatetimeIndex:
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise InvalidBacktest(field, "no prices")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise InvalidBacktest(field, "index must be a DatetimeIndex of sessions")
    if not frame.index.is_monotonic_increasing or frame.index.has_duplicates:
        raise InvalidBacktest(field, "sessions must be increasing and unique")
    return frame.index


def prices_of(frame: pd.DataFrame, columns: Sequence[str], field: str) -> np.ndarray:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InvalidBacktest(field, f"no prices for {', '.join(map(str, missing))}")
    values = np.column_stack([frame[column].to_numpy(dtype=np.float64) for column in columns])
    if np.isnan(values).any():
        raise InvalidBacktest(field, "NaN prices inside the window")
    if (values <= 0).any():
        raise InvalidBacktest(field, "prices must be positive")
    return values


def bars_of(ohlc: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    index = sessions_of(ohlc, "ohlc")
    values = prices_of(ohlc, ("Open", "Close"), "ohlc")
    return index, np.ascontiguousarray(values[:, 0]), np.ascontiguousarray(values[:, 1])


def check_window(value: int, field: str, sessions: int) -> int:
    if isinstance(value, bool) or as_number(value, field) != int(value) or value < 1:
        raise InvalidBacktest(field, "window must be a whole number of sessions >= 1")
    if value > sessions:
        raise InvalidBacktest(
            field, f"window of {value} sessions is longer than the data ({sessions})"
        )
    return int(value)


def starting_cash(cash: float | None, contributions: pd.Series | None) -> float:
    if cash is None:
        return 0.0 if contributions is not None else DEFAULT_CASH
    cash = as_number(cash, "cash")
    if cash < 0 or (cash == 0 and contributions is None):
        raise InvalidBacktest("cash", "must be positive")
    return cash


def dividends_by_session(dividends: pd.Series | None, index: pd.DatetimeIndex) -> np.ndarray:
    """Dividends per share on each session, validated against the sessions."""
    if dividends is None:
        return np.zeros(len(index))
    if not isinstance(dividends, pd.Series):
        raise InvalidBacktest("dividends", "must be a Series of amounts per share by ex-date")
    stray = dividends.loc[~dividends.index.isin(index)]
    if np.any(stray.fillna(0.0).to_numpy() != 0):
        raise InvalidBacktest("dividends", "ex-dates that are not sessions of the prices")
    values = dividends.reindex(index).fillna(0.0).to_numpy(dtype=np.float64)
    if (values < 0).any() or not np.isfinite(values).all():
        raise InvalidBacktest("dividends", "must be finite and not negative")
    return values


def flows_by_session(
    cash: float, contributions: pd.Series | None, index: pd.DatetimeIndex
) -> np.ndarray:
    """External cash per session: the starting cash on session 0 plus contributions, each on the
    first session on or after its date."""
    flows = np.zeros(len(index))
    flows[0] = cash
    if contributions is None:
        return flows
    if not isinstance(contributions, pd.Series):
        raise InvalidBacktest("contributions", "must be a Series of amounts by date")
    amounts = contributions.to_numpy(dtype=np.float64)
    if not np.isfinite(amounts).all():
        raise InvalidBacktest("contributions", "amounts must be finite")
    try:
        dates = pd.DatetimeIndex(contributions.index)
        positions = index.searchsorted(dates, side="left")
    except (TypeError, ValueError) as error:
        raise InvalidBacktest(
            "contributions", f"dates not comparable to the sessions: {error}"
        ) from error
    inside = positions < len(index)
    np.add.at(flows, positions[inside], amounts[inside])
    return flows


def fill_prices(opens: np.ndarray, closes: np.ndarray, fill: Fill) -> np.ndarray:
    return opens if fill == "next_open" else closes


def period_starts(index: pd.DatetimeIndex, frequency: Frequency) -> np.ndarray:
    """True on the first session of each month, quarter or year (and on the first session)."""
    if frequency not in FREQUENCIES:
        raise InvalidBacktest("frequency", f"must be one of {', '.join(FREQUENCIES)}")
    months = 12 * index.year.to_numpy() + index.month.to_numpy() - 1
    period = {"monthly": months, "quarterly": months // 3, "yearly": months // 12}[frequency]
    return np.concatenate(([True], period[1:] != period[:-1]))


def check_weights(
    weights: Mapping[str, float], opens: pd.DataFrame, closes: pd.DataFrame
) -> tuple[list[str], np.ndarray]:
    if not isinstance(weights, Mapping) or not weights:
        raise InvalidBacktest("weights", "name at least one ticker")
    tickers = list(weights)
    target = np.array([weights[ticker] for ticker in tickers], dtype=np.float64)
    if not np.isfinite(target).all() or (target < 0).any():
        raise InvalidBacktest("weights", "must be finite and not negative")
    if abs(target.sum() - 1.0) > WEIGHT_TOLERANCE:
        raise InvalidBacktest("weights", f"must sum to 1, not {target.sum():g}")
    missing = [ticker for ticker in tickers if ticker not in closes or ticker not in opens]
    if missing:
        raise InvalidBacktest("weights", f"no prices for {', '.join(map(str, missing))}")
    return tickers, target
