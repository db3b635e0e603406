"""The strategies: SMA crossover, buy-and-hold, dollar-cost averaging and a rebalanced basket.

Each one checks its inputs, decides on which sessions it fills and whether it is long there, and
hands that to the engine; the trading rules they share are in the package docstring.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from dashapp.analytics.backtest.engine import rebalance_fills, simulate
from dashapp.analytics.backtest.inputs import (
    Costs,
    Fill,
    Frequency,
    InvalidBacktest,
    as_number,
    bars_of,
    check_fill,
    check_weights,
    check_window,
    dividends_by_session,
    fill_prices,
    flows_by_session,
    parse_costs,
    period_starts,
    prices_of,
    sessions_of,
    starting_cash,
)
from dashapp.analytics.backtest.results import (
    BacktestResult,
    result_metrics,
    single_result,
    trade_frame,
)
from dashapp.analytics.backtest.signals import crossover_holding, moving_averages


def sma_crossover(
    ohlc: pd.DataFrame,
    fast: int,
    slow: int,
    *,
    cash: float | None = None,
    fill: Fill = "next_open",
    commission: float = 0.0,
    fixed_fee: float = 0.0,
    whole_shares: bool = True,
    dividends: pd.Series | None = None,
    contributions: pd.Series | None = None,
    ticker: str = "asset",
) -> BacktestResult:
    """Long while SMA(fast) last crossed above SMA(slow), flat after it crossed below.

    `cash` defaults to 100,000, or to 0 when `contributions` are given."""
    index, opens, closes = bars_of(ohlc)
    fast = check_window(fast, "fast", len(index))
    slow = check_window(slow, "slow", len(index))
    if fast >= slow:
        raise InvalidBacktest("fast", "must be shorter than slow")
    check_fill(fill)
    costs = parse_costs(commission, fixed_fee, whole_shares)
    flows = flows_by_session(starting_cash(cash, contributions), contributions, index)
    per_share = dividends_by_session(dividends, index)
    averages = moving_averages(closes, (fast, slow))
    holding = crossover_holding(averages[:, 0], averages[:, 1], fill)
    changes = holding != np.concatenate(([False], holding[:-1]))
    if contributions is not None:
        changes = changes | (flows != 0)
    sessions = np.flatnonzero(changes)
    paid = np.cumsum(per_share)
    ledger = simulate(
        fill_prices(opens, closes, fill),
        paid,
        np.cumsum(flows),
        sessions,
        holding[sessions],
        costs,
    )
    return single_result(
        ledger, index, closes, paid, flows, contributions is not None, ticker, round_trips=True
    )


def buy_and_hold(
    ohlc: pd.DataFrame,
    *,
    cash: float | None = None,
    fill: Fill = "next_open",
    commission: float = 0.0,
    fixed_fee: float = 0.0,
    whole_shares: bool = True,
    dividends: pd.Series | None = None,
    contributions: pd.Series | None = None,
    ticker: str = "asset",
) -> BacktestResult:
    """All cash invested at the first session's fill, and every contribution at its own fill.

    `cash` defaults to 100,000, or to 0 when `contributions` are given."""
    index, opens, closes = bars_of(ohlc)
    check_fill(fill)
    costs = parse_costs(commission, fixed_fee, whole_shares)
    flows = flows_by_session(starting_cash(cash, contributions), contributions, index)
    return _invest_flows(
        index, opens, closes, flows, fill, costs, dividends, contributions is not None, ticker
    )


def dollar_cost_average(
    ohlc: pd.DataFrame,
    amount: float,
    *,
    fill: Fill = "next_open",
    commission: float = 0.0,
    fixed_fee: float = 0.0,
    whole_shares: bool = True,
    dividends: pd.Series | None = None,
    contributions: pd.Series | None = None,
    ticker: str = "asset",
) -> BacktestResult:
    """`amount` deposited and invested (with any cash left over) on the first session of every
    month, the first session of the data included; `contributions`, when given, replace the
    monthly amount and are invested at their own fills."""
    index, opens, closes = bars_of(ohlc)
    check_fill(fill)
    costs = parse_costs(commission, fixed_fee, whole_shares)
    if contributions is None:
        amount = as_number(amount, "amount")
        if amount <= 0:
            raise InvalidBacktest("amount", "must be positive")
        flows = np.where(period_starts(index, "monthly"), amount, 0.0)
    else:
        flows = flows_by_session(0.0, contributions, index)
    return _invest_flows(index, opens, closes, flows, fill, costs, dividends, True, ticker)


def _invest_flows(
    index: pd.DatetimeIndex,
    opens: np.ndarray,
    closes: np.ndarray,
    flows: np.ndarray,
    fill: Fill,
    costs: Costs,
    dividends: pd.Series | None,
    contributed: bool,
    ticker: str,
) -> BacktestResult:
    paid = np.cumsum(dividends_by_session(dividends, index))
    sessions = np.flatnonzero(flows != 0)
    ledger = simulate(
        fill_prices(opens, closes, fill),
        paid,
        np.cumsum(flows),
        sessions,
        np.ones(len(sessions), dtype=bool),
        costs,
    )
    return single_result(ledger, index, closes, paid, flows, contributed, ticker, round_trips=False)


def rebalance(
    opens: pd.DataFrame,
    closes: pd.DataFrame,
    weights: Mapping[str, float],
    frequency: Frequency,
    *,
    cash: float | None = None,
    fill: Fill = "next_open",
    commission: float = 0.0,
    fixed_fee: float = 0.0,
    whole_shares: bool = True,
    dividends: pd.DataFrame | None = None,
    contributions: pd.Series | None = None,
) -> BacktestResult:
    """A basket brought back to `weights` on the first session of each month, quarter or year
    (the first session of the data included) and at every contribution's fill.

    At a rebalance, value = cash + shares x fill price; each ticker's target is weight x value /
    price shares (floored for whole shares). Sales come first; then purchases, scaled down pro
    rata (and floored again) when commissions and fees would cost more than the cash at hand.
    `cash` defaults to 100,000, or to 0 when `contributions` are given."""
    index = sessions_of(closes, "closes")
    if not isinstance(opens, pd.DataFrame) or not opens.index.equals(index):
        raise InvalidBacktest("opens", "must have the same sessions as closes")
    tickers, target = check_weights(weights, opens, closes)
    open_prices = prices_of(opens, tickers, "opens")
    close_prices = prices_of(closes, tickers, "closes")
    check_fill(fill)
    costs = parse_costs(commission, fixed_fee, whole_shares)
    starts = period_starts(index, frequency)
    flows = flows_by_session(starting_cash(cash, contributions), contributions, index)
    if dividends is None:
        per_share = np.zeros(close_prices.shape)
    elif not isinstance(dividends, pd.DataFrame):
        raise InvalidBacktest("dividends", "must be a DataFrame of sessions x tickers")
    else:
        per_share = np.column_stack(
            [dividends_by_session(dividends.get(ticker), index) for ticker in tickers]
        )
    paid = np.cumsum(per_share, axis=0)
    flows_in = np.cumsum(flows)
    sessions = np.flatnonzero(starts | (flows != 0))
    prices = open_prices if fill == "next_open" else close_prices
    cash_after, shares_after, orders = rebalance_fills(
        prices, paid, flows_in, sessions, target, costs
    )
    last = np.searchsorted(sessions, np.arange(len(index)), side="right") - 1
    since = sessions[last]
    shares = shares_after[last]
    cash_path = (
        cash_after[last]
        + np.sum(shares * (paid - paid[since]), axis=1)
        + (flows_in - flows_in[since])
    )
    equity = pd.Series(
        cash_path + np.sum(shares * close_prices, axis=1), index=index, name="equity"
    )
    trades = trade_frame(
        [tickers[column] for _, column, _, _ in orders],
        index.take([session for session, *_ in orders]),
        [price for *_, price in orders],
        pd.DatetimeIndex([pd.NaT] * len(orders), dtype=index.dtype),
        np.full(len(orders), np.nan),
        [size for _, _, size, _ in orders],
        np.full(len(orders), np.nan),
    )
    return BacktestResult(
        equity=equity,
        trades=trades,
        metrics=result_metrics(equity, flows, contributions is not None, len(orders)),
        cash=pd.Series(cash_path, index=index, name="cash"),
        positions=pd.DataFrame(shares, index=index, columns=tickers),
    )
