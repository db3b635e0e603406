"""The parameter sweep: a metric of `sma_crossover` for every (fast, slow) pair at once.

The moving averages of all windows are computed once; the crossover states of all pairs that
share a fast window are one array. Cash then moves through the k-th trade of every pair at once,
with the arithmetic of `engine.simulate` in the same order, so a cell equals the single run's
final equity and trade count to the last bit. Metrics that need a whole equity path rebuild the
paths in chunks of pairs and measure them with the formulas of `analytics.metrics`:
total return = final equity / cash - 1, CAGR = (1 + total return)^(252 / sessions) - 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashapp.analytics.backtest.engine import paths
from dashapp.analytics.backtest.inputs import (
    Costs,
    Fill,
    InvalidBacktest,
    bars_of,
    check_fill,
    check_window,
    dividends_by_session,
    fill_prices,
    parse_costs,
    starting_cash,
)
from dashapp.analytics.backtest.results import METRICS
from dashapp.analytics.backtest.signals import crossover_holding, moving_averages
from dashapp.analytics.metrics import SESSIONS_PER_YEAR


@dataclass(frozen=True)
class _SweepTrades:
    """The round trips of every pair, ordered by pair then time (exit -1 while open)."""

    pair: np.ndarray
    entry: np.ndarray
    exit: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True)
class _SweepFills:
    """Cash and shares after each entry and exit of `_SweepTrades`, and each pair's last equity."""

    shares: np.ndarray
    cash_after_entry: np.ndarray
    cash_after_exit: np.ndarray
    final_equity: np.ndarray
    trades: np.ndarray


def sma_sweep(
    ohlc: pd.DataFrame,
    fast_windows: Sequence[int],
    slow_windows: Sequence[int],
    *,
    metric: str = "total_return",
    cash: float | None = None,
    fill: Fill = "next_open",
    commission: float = 0.0,
    fixed_fee: float = 0.0,
    whole_shares: bool = True,
    dividends: pd.Series | None = None,
) -> pd.DataFrame:
    """`metric` of `sma_crossover` for every (fast, slow) pair: index the fast windows, columns
    the slow windows (each sorted, duplicates dropped), NaN where fast >= slow. Every pair is computed at once; a cell equals the single run's metric
    (final equity and trade count to the last bit, ratios to rounding)."""
    index, opens, closes = bars_of(ohlc)
    fasts = _windows(fast_windows, "fast_windows", len(index))
    slows = _windows(slow_windows, "slow_windows", len(index))
    if metric not in METRICS:
        raise InvalidBacktest("metric", f"must be one of {', '.join(METRICS)}")
    check_fill(fill)
    costs = parse_costs(commission, fixed_fee, whole_shares)
    starting = starting_cash(cash, None)
    pairs = [(fast, slow) for fast in fasts for slow in slows if fast < slow]
    if not pairs:
        raise InvalidBacktest("slow_windows", "no pair with fast < slow")
    paid = np.cumsum(dividends_by_session(dividends, index))
    trades = _sweep_signals(closes, fasts, slows, fill)
    fills = _sweep_trades(trades, fill_prices(opens, closes, fill), closes, paid, starting, costs)
    if metric in ("final_equity", "trades", "invested"):
        values = {
            "final_equity": fills.final_equity,
            "trades": fills.trades.astype(np.float64),
            "invested": np.full(len(pairs), starting),
        }[metric]
    elif metric in ("total_return", "cagr"):
        values = _growth_metric(fills.final_equity / starting - 1.0, len(index) - 1, metric)
    else:
        values = _path_metric(trades, fills, closes, paid, starting, metric)
    grid = np.full((len(fasts), len(slows)), np.nan)
    grid[[fasts.index(fast) for fast, _ in pairs], [slows.index(slow) for _, slow in pairs]] = (
        values
    )
    return pd.DataFrame(
        grid, index=pd.Index(fasts, name="fast"), columns=pd.Index(slows, name="slow")
    )


def _windows(windows: Sequence[int], field: str, sessions: int) -> list[int]:
    chosen = sorted({check_window(window, field, sessions) for window in windows})
    if not chosen:
        raise InvalidBacktest(field, "no window")
    return chosen


def _sweep_signals(
    closes: np.ndarray, fasts: list[int], slows: list[int], fill: Fill
) -> _SweepTrades:
    """Entries and exits of every pair: moving averages of all windows once, then one
    sessions x slow-windows array of crossover states per fast window."""
    windows = sorted(set(fasts) | set(slows))
    averages = moving_averages(closes, windows)
    column = {window: position for position, window in enumerate(windows)}
    pair_ids, entries, exits, counts = [], [], [], []
    pairs_so_far = 0
    for fast in fasts:
        partners = [column[slow] for slow in slows if slow > fast]
        if not partners:
            continue
        holding = crossover_holding(
            averages[:, [column[fast]]], averages[:, partners], fill
        ).T  # pairs x sessions, so that nonzero() orders by pair, then session
        before = np.zeros_like(holding)
        before[:, 1:] = holding[:, :-1]
        entry_pair, entry_session = np.nonzero(holding & ~before)
        exit_pair, exit_session = np.nonzero(before & ~holding)
        entry_count = np.bincount(entry_pair, minlength=len(partners))
        exit_count = np.bincount(exit_pair, minlength=len(partners))
        # The k-th exit of a pair closes its k-th entry; only the last entry may lack one.
        rank = np.arange(len(entry_pair)) - np.repeat(
            np.cumsum(entry_count) - entry_count, entry_count
        )
        exit_start = np.cumsum(exit_count) - exit_count
        closed = rank < exit_count[entry_pair]
        matched = np.full(len(entry_pair), -1, dtype=np.int64)
        matched[closed] = exit_session[exit_start[entry_pair[closed]] + rank[closed]]
        pair_ids.append(entry_pair + pairs_so_far)
        entries.append(entry_session)
        exits.append(matched)
        counts.append(entry_count)
        pairs_so_far += len(partners)
    return _SweepTrades(
        pair=np.concatenate(pair_ids),
        entry=np.concatenate(entries).astype(np.int64),
        exit=np.concatenate(exits),
        counts=np.concatenate(counts),
    )


def _sweep_trades(
    trades: _SweepTrades,
    prices: np.ndarray,
    closes: np.ndarray,
    dividends_paid: np.ndarray,
    starting: float,
    costs: Costs,
) -> _SweepFills:
    """All pairs' cash through their trades, one step per trade index k for every pair that has a
    k-th trade. The same arithmetic, in the same order, as `simulate`."""
    commission, fee = costs.commission, costs.fixed_fee
    closed = trades.exit >= 0
    exit_or_last = np.where(closed, trades.exit, len(closes) - 1)
    unit = prices[trades.entry] * (1.0 + commission)
    sell_unit = prices[exit_or_last] * (1.0 - commission)
    dividends = dividends_paid[exit_or_last] - dividends_paid[trades.entry]
    starts = np.cumsum(trades.counts) - trades.counts
    order = np.argsort(-trades.counts, kind="stable")
    counts = trades.counts[order]
    first_trade = starts[order]
    cash = np.full(len(order), starting)
    shares = np.zeros(len(trades.entry))
    after_entry = np.zeros(len(trades.entry))
    after_exit = np.zeros(len(trades.entry))
    for k in range(int(counts.max(initial=0))):
        active = int(np.searchsorted(-counts, -k, side="left"))
        trade = first_trade[:active] + k
        held = cash[:active]
        bought = (held - fee) / unit[trade]
        if costs.whole_shares:
            bought = np.floor(bought)
        traded = bought > 0
        bought = np.where(traded, bought, 0.0)
        entered = np.where(traded, held + -(bought * unit[trade] + fee), held)
        left = np.where(
            traded,
            entered + bought * dividends[trade] + (bought * sell_unit[trade] - fee),
            entered,
        )
        shares[trade] = bought
        after_entry[trade] = entered
        after_exit[trade] = left
        cash[:active] = left
    last = starts + trades.counts - 1
    has_trades = trades.counts > 0
    last = np.where(has_trades, last, 0)
    final = np.full(len(trades.counts), starting)
    if len(trades.entry):
        held_to_end = has_trades & ~closed[last]
        final = np.where(has_trades, after_exit[last], starting)
        final = np.where(
            held_to_end,
            after_entry[last] + shares[last] * dividends[last] + shares[last] * closes[-1],
            final,
        )
    made = np.bincount(trades.pair, weights=shares > 0, minlength=len(trades.counts))
    return _SweepFills(shares, after_entry, after_exit, final, made.astype(np.int64))


def _growth_metric(total: np.ndarray, sessions: int, metric: str) -> np.ndarray:
    """total_return, or cagr = (1 + total return)^(252 / sessions) - 1 (-1 when wiped out)."""
    if metric == "total_return":
        return total
    growth = 1.0 + total
    with np.errstate(invalid="ignore"):
        return np.where(growth > 0, growth ** (SESSIONS_PER_YEAR / sessions) - 1.0, -1.0)


def _path_metric(
    trades: _SweepTrades,
    fills: _SweepFills,
    closes: np.ndarray,
    dividends_paid: np.ndarray,
    starting: float,
    metric: str,
    chunk: int = 256,
) -> np.ndarray:
    """A metric that needs every pair's equity path: the paths are rebuilt by `paths` (as in the
    single run) in chunks of pairs and measured with the formulas of `metrics`."""
    sessions = np.column_stack([trades.entry, np.where(trades.exit >= 0, trades.exit, 0)]).ravel()
    happened = np.column_stack([np.ones(len(trades.entry), dtype=bool), trades.exit >= 0]).ravel()
    cash_after = np.column_stack([fills.cash_after_entry, fills.cash_after_exit]).ravel()
    shares_after = np.column_stack([fills.shares, np.zeros(len(fills.shares))]).ravel()
    pair = np.repeat(trades.pair, 2)
    sessions, cash_after, shares_after, pair = (
        values[happened] for values in (sessions, cash_after, shares_after, pair)
    )
    flows_in = np.full(len(closes), starting)
    pairs = len(trades.counts)
    values = np.empty(pairs)
    for first in range(0, pairs, chunk):
        last = min(first + chunk, pairs)
        mine = (pair >= first) & (pair < last)
        *_, equity = paths(
            sessions[mine],
            pair[mine] - first,
            cash_after[mine],
            shares_after[mine],
            last - first,
            closes,
            dividends_paid,
            flows_in,
        )
        values[first:last] = _column_metric(equity[1:] / equity[:-1] - 1.0, metric)
    return values


def _column_metric(returns: np.ndarray, metric: str) -> np.ndarray:
    """`metrics.summary`'s formulas on each column of daily returns (no NaN)."""
    sessions, columns = returns.shape
    if sessions < 2:
        return np.full(columns, np.nan)
    year = np.sqrt(SESSIONS_PER_YEAR)
    mean = returns.mean(axis=0)
    deviation = returns.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "volatility":
            return deviation * year
        if metric == "sharpe":
            return np.where(deviation > 0, mean / deviation * year, np.nan)
        if metric == "sortino":
            downside = np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2, axis=0))
            return np.where(downside > 0, mean / downside * year, np.nan)
        wealth = np.cumprod(1.0 + returns, axis=0)
        worst = (wealth / np.maximum(np.maximum.accumulate(wealth, axis=0), 1.0) - 1.0).min(axis=0)
        if metric == "max_drawdown":
            return worst
        cagr = _growth_metric(wealth[-1] - 1.0, sessions, "cagr")
        return np.where(worst < 0, cagr / np.abs(worst), np.nan)
