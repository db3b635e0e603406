"""The engine's runs behind one backtest (`analytics.backtest`): the strategy's equity line, the
same money bought and held in the same asset, the same money in the benchmark ETF, and the sweep
of SMA windows.

Each line keeps the external money put in per session beside its equity, so its drawdown and the
metrics of a summed basket are those of the flow-adjusted returns, as the engine computes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import pandas as pd

from dashapp.analytics import backtest as engine
from dashapp.analytics import metrics
from dashapp.market.price_matrix import FIELDS, PriceMatrix
from dashapp.services.backtest_plans import BacktestPlan
from dashapp.services.backtest_requests import BacktestRequest
from dashapp.services.portfolios import InvalidInput

# The sweep's metrics where the lowest value is the best; for every other, the highest is.
LOWER_IS_BETTER = frozenset({"volatility"})


class CostArgs(TypedDict):
    """The engine's cost arguments, as the request sets them."""

    fill: engine.Fill
    commission: float
    fixed_fee: float
    whole_shares: bool


class MoneyArgs(TypedDict, total=False):
    """The engine's money arguments: a lump `cash`, or the dated flows as `contributions`."""

    cash: float
    contributions: pd.Series


class SweepBest(TypedDict):
    """The (fast, slow) pair with the best metric, and that metric."""

    fast: int
    slow: int
    value: float


class Sweep(TypedDict):
    """The chosen metric for every (fast, slow) pair: `values[i][j]` is fast[i] x slow[j], None
    where the pair has no finite value."""

    metric: str
    fast: list[int]
    slow: list[int]
    values: list[list[float | None]]
    best: SweepBest | None


@dataclass(frozen=True)
class Line:
    """One equity curve with its trades, metrics and the external money put in per session."""

    equity: pd.Series
    trades: pd.DataFrame
    metrics: dict[str, float]
    flows: pd.Series


@dataclass(frozen=True)
class Prices:
    """Opens, highs, lows, closes and dividends per share, sessions x tickers, without gaps."""

    opens: pd.DataFrame
    highs: pd.DataFrame
    lows: pd.DataFrame
    closes: pd.DataFrame
    dividends: pd.DataFrame

    @property
    def sessions(self) -> pd.DatetimeIndex:
        return self.closes.index

    def ohlc(self, ticker: str) -> pd.DataFrame:
        """One ticker's bars in the engine's layout."""
        return pd.DataFrame(
            {
                "Open": self.opens[ticker],
                "High": self.highs[ticker],
                "Low": self.lows[ticker],
                "Close": self.closes[ticker],
            }
        )


def price_tables(bars: PriceMatrix, tickers: Sequence[str]) -> tuple[Prices, list[tuple[str, str]]]:
    """The tickers' prices from the first session all of them have, and which started late.

    A session one ticker lacks keeps its last close, and opens at it (the price did not move).
    """
    closes = bars.frame("close", tickers)
    # The sessions any of the tickers has a bar on (the matrix also holds the benchmark's).
    closes = closes[closes.notna().any(axis=1)].ffill()
    starts = closes.apply(pd.Series.first_valid_index)
    late = [(t, day.strftime("%Y-%m-%d")) for t, day in starts.items() if day > starts.min()]
    closes = closes.loc[starts.max() :]

    def part(column: str) -> pd.DataFrame:
        return bars.frame(column, tickers).reindex(index=closes.index)

    prices = Prices(
        part("open").fillna(closes),
        part("high").fillna(closes),
        part("low").fillna(closes),
        closes,
        part("dividend").fillna(0.0),
    )
    return prices, late


def benchmark_prices(bars: PriceMatrix, ticker: str, sessions: pd.DatetimeIndex) -> Prices:
    """The benchmark on the subject's sessions: a missing close keeps the last one (or, before
    its first, that first one), and opens, highs and lows at it."""
    own = {name: bars.frame(name, [ticker])[ticker].reindex(sessions) for name in FIELDS}
    closes = own["close"].ffill().bfill()
    return Prices(
        own["open"].fillna(closes).to_frame(ticker),
        own["high"].fillna(closes).to_frame(ticker),
        own["low"].fillna(closes).to_frame(ticker),
        closes.to_frame(ticker),
        own["dividend"].fillna(0.0).to_frame(ticker),
    )


def money_of(request: BacktestRequest, plan: BacktestPlan) -> MoneyArgs:
    """The engine's money arguments: a lump `cash`, or the dated flows as `contributions`."""
    if request.contributions == "mine":
        assert plan.flows is not None
        return {"cash": 0.0, "contributions": plan.flows}
    return {"cash": request.cash}


def _session_flows(money: MoneyArgs, sessions: pd.DatetimeIndex) -> pd.Series:
    """External money per session, as the engine books it: the lump sum on the first session,
    each contribution on the first session on or after its date."""
    amounts = np.zeros(len(sessions))
    amounts[0] = money.get("cash") or 0.0
    contributions = money.get("contributions")
    if contributions is not None and len(contributions):
        positions = sessions.searchsorted(pd.DatetimeIndex(contributions.index))
        inside = positions < len(sessions)
        np.add.at(amounts, positions[inside], contributions.to_numpy(dtype="float64")[inside])
    return pd.Series(amounts, index=sessions)


def _dca_flows(amount: float, sessions: pd.DatetimeIndex) -> pd.Series:
    """`amount` on the first session of every month (the first session included)."""
    months = sessions.to_period("M")
    first_of_month = np.r_[True, months[1:] != months[:-1]]
    return pd.Series(np.where(first_of_month, amount, 0.0), index=sessions)


def _line(result: engine.BacktestResult, flows: pd.Series) -> Line:
    return Line(result.equity, result.trades, dict(result.metrics), flows)


def strategy_line(
    request: BacktestRequest,
    plan: BacktestPlan,
    prices: Prices,
    costs: CostArgs,
    money: MoneyArgs,
) -> Line:
    """The requested strategy on the ticker, or on the portfolio's basket (rebalanced, or
    bought and held by weight)."""
    sessions = prices.sessions
    ticker = request.ticker
    if ticker is None:
        if request.strategy == "rebalance":
            result = engine.rebalance(
                prices.opens,
                prices.closes,
                plan.weights,
                request.frequency,
                dividends=prices.dividends,
                **costs,
                **money,
            )
            return _line(result, _session_flows(money, sessions))
        return _basket_hold(plan.weights, prices, costs, money)
    own = {"dividends": prices.dividends[ticker], "ticker": ticker, **costs}
    if request.strategy == "sma_crossover":
        result = engine.sma_crossover(
            prices.ohlc(ticker), request.fast, request.slow, **own, **money
        )
    elif request.strategy == "dca":
        if request.contributions == "mine":
            result = engine.dollar_cost_average(
                prices.ohlc(ticker), request.amount, contributions=plan.flows, **own
            )
            return _line(result, _session_flows(money, sessions))
        result = engine.dollar_cost_average(prices.ohlc(ticker), request.amount, **own)
        return _line(result, _dca_flows(request.amount, sessions))
    else:
        result = engine.buy_and_hold(prices.ohlc(ticker), **own, **money)
    return _line(result, _session_flows(money, sessions))


def _basket_hold(
    weights: Mapping[str, float],
    prices: Prices,
    costs: CostArgs,
    money: MoneyArgs,
) -> Line:
    """Buy-and-hold of a basket: each ticker bought and held with its weight of every flow, so
    the basket's equity is the sum of its parts' equity."""
    parts = [
        engine.buy_and_hold(
            prices.ohlc(ticker),
            dividends=prices.dividends[ticker],
            ticker=ticker,
            **costs,
            **{name: value * weight for name, value in money.items()},
        )
        for ticker, weight in weights.items()
    ]
    equity = sum(part.equity for part in parts).rename("equity")
    trades = pd.concat([part.trades for part in parts], ignore_index=True)
    flows = _session_flows(money, prices.sessions)
    return Line(equity, trades, _metrics_of(equity, flows, len(trades)), flows)


def _flow_returns(equity: pd.Series, flows: pd.Series) -> pd.Series:
    """The engine's returns: r[t] = (equity[t] - flow[t]) / equity[t-1] - 1, NaN while
    equity[t-1] <= 0, so money put in or taken out is neither a gain nor a loss."""
    previous = equity.shift(1)
    flow = flows.reindex(equity.index, fill_value=0.0)
    return ((equity - flow) / previous - 1.0).where(previous > 0)


def _metrics_of(equity: pd.Series, flows: pd.Series, trades: int) -> dict[str, float]:
    """The engine's metrics of a summed equity: metrics.summary of its flow-adjusted returns."""
    return metrics.summary(_flow_returns(equity, flows)) | {
        "trades": float(trades),
        "final_equity": float(equity.iloc[-1]),
        "invested": float(flows.sum()),
    }


def buy_and_hold_line(
    request: BacktestRequest,
    plan: BacktestPlan,
    prices: Prices,
    costs: CostArgs,
    money: MoneyArgs,
    strategy: Line,
) -> Line:
    """The same money in the same asset, bought and held; DCA is set against the lump sum of
    everything it invested, put in on the first session."""
    if request.strategy == "dca" and request.contributions == "lump":
        money = MoneyArgs(cash=float(strategy.flows.sum()))
    if request.ticker is None:
        return _basket_hold(plan.weights, prices, costs, money)
    result = engine.buy_and_hold(
        prices.ohlc(request.ticker),
        dividends=prices.dividends[request.ticker],
        ticker=request.ticker,
        **costs,
        **money,
    )
    return _line(result, _session_flows(money, prices.sessions))


def benchmark_line(
    request: BacktestRequest,
    benchmark: Prices,
    costs: CostArgs,
    money: MoneyArgs,
) -> Line:
    """The strategy's money put into the benchmark ETF over the same sessions and held (for DCA,
    the same monthly amounts)."""
    ticker = request.benchmark
    own = {"dividends": benchmark.dividends[ticker], "ticker": ticker, **costs}
    if request.strategy == "dca" and request.contributions == "lump":
        result = engine.dollar_cost_average(benchmark.ohlc(ticker), request.amount, **own)
        return _line(result, _dca_flows(request.amount, benchmark.sessions))
    result = engine.buy_and_hold(benchmark.ohlc(ticker), **own, **money)
    return _line(result, _session_flows(money, benchmark.sessions))


def window_sweep(request: BacktestRequest, prices: Prices, costs: CostArgs) -> Sweep:
    """The chosen metric for every (fast, slow) pair of the ranges, and the best pair."""
    # A window cannot be longer than the period: those are left out (and said so).
    sessions = len(prices.sessions)
    fast = list(range(request.fast_windows[0], min(request.fast_windows[1], sessions) + 1))
    slow = list(range(request.slow_windows[0], min(request.slow_windows[1], sessions) + 1))
    if not fast or not slow:
        raise InvalidInput("slow_windows", f"the period has only {sessions} sessions")
    ticker = request.ticker
    grid = engine.sma_sweep(
        prices.ohlc(ticker),
        fast,
        slow,
        metric=request.metric,
        cash=request.cash,
        dividends=prices.dividends[ticker],
        **costs,
    ).reindex(index=fast, columns=slow)
    values = grid.to_numpy(dtype="float64")
    best: SweepBest | None = None
    if np.isfinite(values).any():
        # Higher is better for every metric (drawdowns are negative) except volatility.
        pick = np.nanargmin if request.metric in LOWER_IS_BETTER else np.nanargmax
        row, column = np.unravel_index(pick(values), values.shape)
        best = SweepBest(fast=fast[row], slow=slow[column], value=float(values[row, column]))
    return {
        "metric": request.metric,
        "fast": fast,
        "slow": slow,
        "values": [[float(v) if np.isfinite(v) else None for v in row] for row in values],
        "best": best,
    }


def drawdown_of(line: Line) -> pd.Series:
    """Drawdown of the flow-adjusted returns (0 on the first session)."""
    return metrics.drawdown(_flow_returns(line.equity, line.flows))
