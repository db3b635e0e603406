"""What a run leaves behind: equity, cash and positions per session, the trades and the metrics.

Returns for the metrics: r[t] = equity[t] / equity[t-1] - 1 (`equity.pct_change()`); with
contributions the session's flow is taken out first, r[t] = (equity[t] - flow[t]) / equity[t-1] - 1
(NaN while equity[t-1] <= 0). Trades: pnl = sale proceeds - purchase costs, commissions and fees
included, dividends not; return_pct = pnl / purchase costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashapp.analytics import metrics
from dashapp.analytics.backtest.engine import Ledger, paths

TRADE_COLUMNS = [
    "ticker",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "size",
    "pnl",
    "return_pct",
]

SUMMARY_METRICS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
)

METRICS = (*SUMMARY_METRICS, "trades", "final_equity", "invested")


@dataclass(frozen=True)
class BacktestResult:
    """One run: equity and cash per session, shares per session x ticker, the trades (columns
    TRADE_COLUMNS) and the metrics (names METRICS)."""

    equity: pd.Series
    trades: pd.DataFrame
    metrics: dict[str, float]
    cash: pd.Series
    positions: pd.DataFrame


def _returns(equity: pd.Series, flows: np.ndarray, contributed: bool) -> pd.Series:
    """Daily returns from the second session on (the first has none)."""
    values = equity.to_numpy()
    previous = values[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if contributed:
            returns = np.where(previous > 0, (values[1:] - flows[1:]) / previous - 1.0, np.nan)
        else:
            returns = values[1:] / previous - 1.0  # equity.pct_change(), without its overhead
    return pd.Series(returns)


def result_metrics(
    equity: pd.Series, flows: np.ndarray, contributed: bool, trades: int
) -> dict[str, float]:
    summary = metrics.summary(_returns(equity, flows, contributed))
    return summary | {
        "trades": float(trades),
        "final_equity": float(equity.iloc[-1]),
        "invested": float(flows.sum()),
    }


def single_result(
    ledger: Ledger,
    index: pd.DatetimeIndex,
    closes: np.ndarray,
    dividends_paid: np.ndarray,
    flows: np.ndarray,
    contributed: bool,
    ticker: str,
    round_trips: bool,
) -> BacktestResult:
    count = len(ledger.sessions)
    cash, shares, equity = paths(
        ledger.sessions,
        np.zeros(count, dtype=np.int64),
        ledger.cash,
        ledger.shares,
        1,
        closes,
        dividends_paid,
        np.cumsum(flows),
    )
    equity_series = pd.Series(equity[:, 0], index=index, name="equity")
    trades = (_round_trips if round_trips else _order_rows)(ledger, index, ticker)
    trade_count = len(trades) if round_trips else len(ledger.orders)
    return BacktestResult(
        equity=equity_series,
        trades=trades,
        metrics=result_metrics(equity_series, flows, contributed, trade_count),
        cash=pd.Series(cash[:, 0], index=index, name="cash"),
        positions=pd.DataFrame({ticker: shares[:, 0]}, index=index),
    )


def _order_rows(ledger: Ledger, index: pd.DatetimeIndex, ticker: str) -> pd.DataFrame:
    """One row per order (buy-and-hold, DCA)."""
    session, size, price, *_ = _order_columns(ledger)
    count = len(session)
    return trade_frame(
        ticker,
        index.take(session),
        price,
        _no_times(count, index),
        np.full(count, np.nan),
        size,
        np.full(count, np.nan),
    )


def _order_columns(ledger: Ledger) -> tuple[np.ndarray, ...]:
    """session, size, price, cash change, shares after: one array per field of the orders."""
    if not ledger.orders:
        return np.zeros(0, dtype=np.int64), *(np.zeros(0) for _ in range(4))
    columns = np.array(ledger.orders, dtype=np.float64).T
    return columns[0].astype(np.int64), *columns[1:]


def _no_times(count: int, index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """`count` NaT of the sessions' dtype."""
    return index[:1].take(np.zeros(count, dtype=np.int64)).where(np.zeros(count, dtype=bool))


def _round_trips(ledger: Ledger, index: pd.DatetimeIndex, ticker: str) -> pd.DataFrame:
    """One row per round trip: from the buy that opens a position to the sale that empties it.

    entry_price is the share-weighted price of its purchases and size the shares bought."""
    session, size, price, change, held = _order_columns(ledger)
    emptied = held == 0
    opens = np.concatenate(([True], emptied[:-1]))[: len(emptied)]
    trip = np.cumsum(opens) - 1
    trips = int(opens.sum())
    buying = size > 0
    bought = np.bincount(trip, weights=np.where(buying, size, 0.0), minlength=trips)
    spent = np.bincount(trip, weights=np.where(buying, size * price, 0.0), minlength=trips)
    costs = np.bincount(trip, weights=np.where(buying, -change, 0.0), minlength=trips)
    proceeds = np.bincount(trip, weights=np.where(buying, 0.0, change), minlength=trips)
    closed = np.zeros(trips, dtype=bool)
    closed[trip[emptied]] = True
    exit_price = np.full(trips, np.nan)
    exit_price[closed] = price[emptied]
    exit_session = np.zeros(trips, dtype=np.int64)
    exit_session[closed] = session[emptied]
    exit_time = index.take(exit_session).where(closed)
    pnl = np.where(closed, proceeds - costs, np.nan)
    return trade_frame(
        ticker,
        index.take(session[opens]),
        spent / bought,
        exit_time,
        exit_price,
        bought,
        pnl,
        costs,
    )


def trade_frame(
    ticker: str | Sequence[str],
    entry_time: pd.DatetimeIndex,
    entry_price: Sequence[float],
    exit_time: pd.DatetimeIndex,
    exit_price: np.ndarray,
    size: Sequence[float],
    pnl: np.ndarray,
    purchase_costs: np.ndarray | None = None,
) -> pd.DataFrame:
    count = len(entry_time)
    return pd.DataFrame(
        {
            "ticker": np.full(count, ticker, dtype=object)
            if isinstance(ticker, str)
            else np.asarray(ticker, dtype=object),
            "entry_time": entry_time,
            "entry_price": np.asarray(entry_price, dtype=np.float64),
            "exit_time": exit_time,
            "exit_price": np.asarray(exit_price, dtype=np.float64),
            "size": np.asarray(size, dtype=np.float64),
            "pnl": np.asarray(pnl, dtype=np.float64),
            "return_pct": np.asarray(pnl, dtype=np.float64) / purchase_costs
            if purchase_costs is not None
            else np.full(count, np.nan),
        },
        columns=TRADE_COLUMNS,
    )
