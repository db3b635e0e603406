"""Strategy backtests on daily bars: buy-and-hold, SMA crossover, a rebalanced basket, dollar-cost
averaging, and any of them fed with the portfolio's own dated contributions ("my contributions").

Semantics, exact and shared by every strategy:

- A price signal is computed from the close of session t. Orders fill at the open of session t+1
  (`fill="next_open"`, the default; a signal on the last session never fills) or at the close of
  session t (`fill="close"`).
- SMA(w)[t] = mean(close[t-w+1..t]), defined from session w-1 on. An entry signal at t is
  `fast[t-1] < slow[t-1] and fast[t] > slow[t]`; an exit signal is
  `fast[t-1] > slow[t-1] and fast[t] < slow[t]`. The rule is long from an entry signal to the next
  exit signal (a repeated signal changes nothing). Long only.
- Calendar orders (buy-and-hold's purchase, DCA purchases, rebalances, investing a contribution)
  fill at the open (`next_open`) or the close (`close`) of their own session s. This is the same
  rule, not an exception to it: such an order uses no price, only the calendar and the ledger,
  so it is decided before session s opens (after the close of s-1, "t" = s-1) and its next
  open is the open of s. Waiting one more session would leave buy-and-hold's money idle on
  the first session and every deposit idle for a day, and would stop one deposit on the first
  session from equalling a lump sum; no look-ahead is avoided by it.
- An entry invests all cash: it buys `floor((cash - fixed_fee) / (price * (1 + commission)))`
  whole shares, or `(cash - fixed_fee) / (price * (1 + commission))` with `whole_shares=False`;
  nothing when that is not positive. It costs `shares * price * (1 + commission) + fixed_fee`.
  An exit sells the whole position for `shares * price * (1 - commission) - fixed_fee`.
- Equity is cash plus shares at the close. Idle cash earns nothing. Dividends (per share, on the
  ex-date) are paid in cash on the ex-date: shares held at the previous close x dividend.
- Contributions (positive deposits, negative withdrawals) are added to cash on the first session
  on or after their date (flows after the last session are ignored) and invested at that
  session's fill: buy-and-hold and DCA invest all cash then; the SMA rule invests all cash when it
  is long and keeps the cash otherwise; a rebalance is run. A withdrawal that leaves cash negative
  while long (buy-and-hold and DCA always are) sells the shares needed, whole shares rounded up,
  at that fill. This is not an exit (an exit is a crossover signal and sells everything): the
  money leaves because the ledger says it did, and a long-only account without margin must
  raise it, since cash below zero would be an interest-free loan. The rule stays long with the
  rest. When flat, or when every share is not enough, cash goes below zero as the ledger
  demands; equity may then be <= 0 and the returns of those sessions are NaN.
- Returns for the metrics: `equity.pct_change()`; with contributions, the flow of the session is
  taken out first, r[t] = (equity[t] - flow[t]) / equity[t-1] - 1 (NaN while equity[t-1] <= 0).
- `metrics`: the names of `metrics.summary`, plus `trades` (round trips entered for the SMA rule,
  orders for the others), `final_equity` and `invested` (starting cash plus net contributions).
- Trades: pnl = sale proceeds - purchase costs, commissions and fees included, dividends not;
  return_pct = pnl / purchase costs, as a fraction. Both NaN while a round trip is open and for
  the single orders of buy-and-hold, DCA and rebalancing (size negative for a sale).

Single runs never loop over sessions: signals, positions and equity are array operations, and
the only Python loop is over fills (trades, months, rebalance dates). The sweep evaluates every
(fast, slow) pair at once, looping over fast windows and over the k-th trade of all pairs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from dashapp.analytics import metrics as performance

Fill = Literal["next_open", "close"]
Frequency = Literal["monthly", "quarterly", "yearly"]
FILLS = ("next_open", "close")
FREQUENCIES = ("monthly", "quarterly", "yearly")
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


@dataclass(frozen=True)
class BacktestResult:
    """One run: equity and cash per session, shares per session x ticker, the trades (columns
    TRADE_COLUMNS) and the metrics (names METRICS)."""

    equity: pd.Series
    trades: pd.DataFrame
    metrics: dict[str, float]
    cash: pd.Series
    positions: pd.DataFrame


@dataclass(frozen=True)
class _Ledger:
    """What a run of fills leaves behind: cash and shares after each fill session, the orders."""

    sessions: np.ndarray
    cash: np.ndarray
    shares: np.ndarray
    orders: list[tuple[int, float, float, float, float]]  # session, size, price, cash, shares after


# --- validation -------------------------------------------------------------------------------


def _number(value: object, field: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidBacktest(field, "must be a number") from None
    if not math.isfinite(number):
        raise InvalidBacktest(field, "must be finite")
    return number


def _costs(commission: float, fixed_fee: float, whole_shares: bool) -> Costs:
    commission = _number(commission, "commission")
    if commission < 0 or commission >= 1:
        raise InvalidBacktest("commission", "must be a fraction in [0, 1)")
    fixed_fee = _number(fixed_fee, "fixed_fee")
    if fixed_fee < 0:
        raise InvalidBacktest("fixed_fee", "must not be negative")
    return Costs(commission, fixed_fee, bool(whole_shares))


def _check_fill(fill: str) -> None:
    if fill not in FILLS:
        raise InvalidBacktest("fill", f"must be one of {', '.join(FILLS)}")


def _sessions(frame: pd.DataFrame, field: str) -> pd.DatetimeIndex:
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise InvalidBacktest(field, "no prices")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise InvalidBacktest(field, "index must be a DatetimeIndex of sessions")
    if not frame.index.is_monotonic_increasing or frame.index.has_duplicates:
        raise InvalidBacktest(field, "sessions must be increasing and unique")
    return frame.index


def _prices(frame: pd.DataFrame, columns: Sequence[str], field: str) -> np.ndarray:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InvalidBacktest(field, f"no prices for {', '.join(map(str, missing))}")
    values = np.column_stack([frame[column].to_numpy(dtype=np.float64) for column in columns])
    if np.isnan(values).any():
        raise InvalidBacktest(field, "NaN prices inside the window")
    if (values <= 0).any():
        raise InvalidBacktest(field, "prices must be positive")
    return values


def _bars(ohlc: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    index = _sessions(ohlc, "ohlc")
    values = _prices(ohlc, ("Open", "Close"), "ohlc")
    return index, np.ascontiguousarray(values[:, 0]), np.ascontiguousarray(values[:, 1])


def _window(value: int, field: str, sessions: int) -> int:
    if isinstance(value, bool) or _number(value, field) != int(value) or value < 1:
        raise InvalidBacktest(field, "window must be a whole number of sessions >= 1")
    if value > sessions:
        raise InvalidBacktest(
            field, f"window of {value} sessions is longer than the data ({sessions})"
        )
    return int(value)


def _starting_cash(cash: float | None, contributions: pd.Series | None) -> float:
    if cash is None:
        return 0.0 if contributions is not None else DEFAULT_CASH
    cash = _number(cash, "cash")
    if cash < 0 or (cash == 0 and contributions is None):
        raise InvalidBacktest("cash", "must be positive")
    return cash


def _dividends(dividends: pd.Series | None, index: pd.DatetimeIndex) -> np.ndarray:
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


def _flows(cash: float, contributions: pd.Series | None, index: pd.DatetimeIndex) -> np.ndarray:
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


def _fill_prices(opens: np.ndarray, closes: np.ndarray, fill: Fill) -> np.ndarray:
    return opens if fill == "next_open" else closes


# --- signals ----------------------------------------------------------------------------------


def moving_averages(closes: np.ndarray, windows: Sequence[int]) -> np.ndarray:
    """SMA(w)[t] = (cumsum[t] - cumsum[t-w]) / w for each window, sessions x windows, NaN before w-1."""
    running = np.concatenate(([0.0], np.cumsum(closes)))
    averages = np.full((len(closes), len(windows)), np.nan)
    for column, window in enumerate(windows):
        averages[window - 1 :, column] = (running[window:] - running[:-window]) / window
    return averages


def crossover_holding(fast: np.ndarray, slow: np.ndarray, fill: Fill) -> np.ndarray:
    """Whether the SMA rule holds the asset after the fill of each session (sessions x pairs).

    Signals are the strict crossovers of the module docstring; the state after session t is the
    last signal so far (flat before the first). With `next_open` that state takes effect at the
    fill of session t+1, with `close` at session t."""
    below = fast < slow
    above = fast > slow
    signal = np.zeros(below.shape, dtype=np.int8)
    signal[1:] = (below[:-1] & above[1:]).astype(np.int8) - (above[:-1] & below[1:])
    sessions = np.arange(len(signal)).reshape((-1,) + (1,) * (signal.ndim - 1))
    last = np.maximum.accumulate(np.where(signal != 0, sessions, 0), axis=0)
    state = np.take_along_axis(signal, last, axis=0) == 1
    if fill == "close":
        return state
    holding = np.zeros_like(state)
    holding[1:] = state[:-1]
    return holding


# --- fills ------------------------------------------------------------------------------------


def _simulate(
    prices: np.ndarray,
    dividends_paid: np.ndarray,
    flows_in: np.ndarray,
    sessions: np.ndarray,
    long_at: np.ndarray,
    costs: Costs,
) -> _Ledger:
    """Cash and shares through a sequence of fill sessions of one asset.

    At each fill session, dividends and flows since the previous one are added to cash; then a
    long session invests all cash (or sells to cover negative cash) and a flat one sells all.
    `dividends_paid` and `flows_in` are cumulative sums per session. The arithmetic is written in
    the same order as `_sweep_trades`, so a sweep cell equals the single run to the last bit."""
    commission, fee, whole = costs.commission, costs.fixed_fee, costs.whole_shares
    price_at = prices[sessions].tolist()
    paid_at = dividends_paid[sessions].tolist()
    flow_at = flows_in[sessions].tolist()
    cash = shares = paid = flowed = 0.0
    cash_after = np.empty(len(sessions))
    shares_after = np.empty(len(sessions))
    orders: list[tuple[int, float, float, float, float]] = []
    for position, (session, long) in enumerate(
        zip(sessions.tolist(), long_at.tolist(), strict=True)
    ):
        cash = cash + shares * (paid_at[position] - paid) + (flow_at[position] - flowed)
        paid, flowed = paid_at[position], flow_at[position]
        price = price_at[position]
        if long and cash >= 0:
            unit = price * (1.0 + commission)
            bought = (cash - fee) / unit
            if whole:
                bought = float(math.floor(bought))
            if bought > 0:
                change = -(bought * unit + fee)
                cash = cash + change
                shares = shares + bought
                orders.append((session, bought, price, change, shares))
        elif shares > 0:
            sell_unit = price * (1.0 - commission)
            sold = shares
            if long:
                needed = (fee - cash) / sell_unit
                sold = min(shares, float(math.ceil(needed)) if whole else needed)
            change = sold * sell_unit - fee
            cash = cash + change
            shares = 0.0 if sold == shares else shares - sold
            orders.append((session, -sold, price, change, shares))
        cash_after[position] = cash
        shares_after[position] = shares
    return _Ledger(sessions, cash_after, shares_after, orders)


def _paths(
    event_sessions: np.ndarray,
    event_columns: np.ndarray,
    cash_after: np.ndarray,
    shares_after: np.ndarray,
    columns: int,
    closes: np.ndarray,
    dividends_paid: np.ndarray,
    flows_in: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cash, shares and equity per session (sessions x columns) from the state after each fill.

    Events must be ordered by column, then session. Between fills, cash grows by shares x the
    dividends paid since the fill and by the flows since it; equity = cash + shares x close."""
    length = len(closes)
    flows = np.broadcast_to(flows_in[:, None], (length, columns))
    if len(event_sessions) == 0:
        zeros = np.zeros((length, columns))
        return flows.copy(), zeros, flows + zeros * closes[:, None]
    last = np.full((length, columns), -1, dtype=np.int64)
    last[event_sessions, event_columns] = np.arange(len(event_sessions))
    np.maximum.accumulate(last, axis=0, out=last)
    known = last >= 0
    event = np.where(known, last, 0)
    since = event_sessions[event]
    shares = np.where(known, shares_after[event], 0.0)
    cash = np.where(
        known,
        cash_after[event]
        + shares * (dividends_paid[:, None] - dividends_paid[since])
        + (flows_in[:, None] - flows_in[since]),
        flows,
    )
    return cash, shares, cash + shares * closes[:, None]


# --- results ----------------------------------------------------------------------------------


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


def _metrics(
    equity: pd.Series, flows: np.ndarray, contributed: bool, trades: int
) -> dict[str, float]:
    summary = performance.summary(_returns(equity, flows, contributed))
    return summary | {
        "trades": float(trades),
        "final_equity": float(equity.iloc[-1]),
        "invested": float(flows.sum()),
    }


def _order_rows(ledger: _Ledger, index: pd.DatetimeIndex, ticker: str) -> pd.DataFrame:
    """One row per order (buy-and-hold, DCA)."""
    session, size, price, *_ = _order_columns(ledger)
    count = len(session)
    return _trade_frame(
        ticker,
        index.take(session),
        price,
        _no_times(count, index),
        np.full(count, np.nan),
        size,
        np.full(count, np.nan),
    )


def _order_columns(ledger: _Ledger) -> tuple[np.ndarray, ...]:
    """session, size, price, cash change, shares after: one array per field of the orders."""
    if not ledger.orders:
        return np.zeros(0, dtype=np.int64), *(np.zeros(0) for _ in range(4))
    columns = np.array(ledger.orders, dtype=np.float64).T
    return columns[0].astype(np.int64), *columns[1:]


def _no_times(count: int, index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """`count` NaT of the sessions' dtype."""
    return index[:1].take(np.zeros(count, dtype=np.int64)).where(np.zeros(count, dtype=bool))


def _round_trips(ledger: _Ledger, index: pd.DatetimeIndex, ticker: str) -> pd.DataFrame:
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
    return _trade_frame(
        ticker,
        index.take(session[opens]),
        spent / bought,
        exit_time,
        exit_price,
        bought,
        pnl,
        costs,
    )


def _trade_frame(
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


def _single_result(
    ledger: _Ledger,
    index: pd.DatetimeIndex,
    closes: np.ndarray,
    dividends_paid: np.ndarray,
    flows: np.ndarray,
    contributed: bool,
    ticker: str,
    round_trips: bool,
) -> BacktestResult:
    count = len(ledger.sessions)
    cash, shares, equity = _paths(
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
        metrics=_metrics(equity_series, flows, contributed, trade_count),
        cash=pd.Series(cash[:, 0], index=index, name="cash"),
        positions=pd.DataFrame({ticker: shares[:, 0]}, index=index),
    )


# --- strategies -------------------------------------------------------------------------------


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
    index, opens, closes = _bars(ohlc)
    fast = _window(fast, "fast", len(index))
    slow = _window(slow, "slow", len(index))
    if fast >= slow:
        raise InvalidBacktest("fast", "must be shorter than slow")
    _check_fill(fill)
    costs = _costs(commission, fixed_fee, whole_shares)
    flows = _flows(_starting_cash(cash, contributions), contributions, index)
    per_share = _dividends(dividends, index)
    averages = moving_averages(closes, (fast, slow))
    holding = crossover_holding(averages[:, 0], averages[:, 1], fill)
    changes = holding != np.concatenate(([False], holding[:-1]))
    if contributions is not None:
        changes = changes | (flows != 0)
    sessions = np.flatnonzero(changes)
    paid = np.cumsum(per_share)
    ledger = _simulate(
        _fill_prices(opens, closes, fill),
        paid,
        np.cumsum(flows),
        sessions,
        holding[sessions],
        costs,
    )
    return _single_result(
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
    index, opens, closes = _bars(ohlc)
    _check_fill(fill)
    costs = _costs(commission, fixed_fee, whole_shares)
    flows = _flows(_starting_cash(cash, contributions), contributions, index)
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
    index, opens, closes = _bars(ohlc)
    _check_fill(fill)
    costs = _costs(commission, fixed_fee, whole_shares)
    if contributions is None:
        amount = _number(amount, "amount")
        if amount <= 0:
            raise InvalidBacktest("amount", "must be positive")
        flows = np.where(_period_starts(index, "monthly"), amount, 0.0)
    else:
        flows = _flows(0.0, contributions, index)
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
    paid = np.cumsum(_dividends(dividends, index))
    sessions = np.flatnonzero(flows != 0)
    ledger = _simulate(
        _fill_prices(opens, closes, fill),
        paid,
        np.cumsum(flows),
        sessions,
        np.ones(len(sessions), dtype=bool),
        costs,
    )
    return _single_result(
        ledger, index, closes, paid, flows, contributed, ticker, round_trips=False
    )


def _period_starts(index: pd.DatetimeIndex, frequency: Frequency) -> np.ndarray:
    """True on the first session of each month, quarter or year (and on the first session)."""
    if frequency not in FREQUENCIES:
        raise InvalidBacktest("frequency", f"must be one of {', '.join(FREQUENCIES)}")
    months = 12 * index.year.to_numpy() + index.month.to_numpy() - 1
    period = {"monthly": months, "quarterly": months // 3, "yearly": months // 12}[frequency]
    return np.concatenate(([True], period[1:] != period[:-1]))


# --- parameter sweep --------------------------------------------------------------------------


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
    index, opens, closes = _bars(ohlc)
    fasts = _windows(fast_windows, "fast_windows", len(index))
    slows = _windows(slow_windows, "slow_windows", len(index))
    if metric not in METRICS:
        raise InvalidBacktest("metric", f"must be one of {', '.join(METRICS)}")
    _check_fill(fill)
    costs = _costs(commission, fixed_fee, whole_shares)
    starting = _starting_cash(cash, None)
    pairs = [(fast, slow) for fast in fasts for slow in slows if fast < slow]
    if not pairs:
        raise InvalidBacktest("slow_windows", "no pair with fast < slow")
    paid = np.cumsum(_dividends(dividends, index))
    trades = _sweep_signals(closes, fasts, slows, fill)
    fills = _sweep_trades(trades, _fill_prices(opens, closes, fill), closes, paid, starting, costs)
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
    chosen = sorted({_window(window, field, sessions) for window in windows})
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
    k-th trade. The same arithmetic, in the same order, as `_simulate`."""
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
        return np.where(
            growth > 0, growth ** (performance.SESSIONS_PER_YEAR / sessions) - 1.0, -1.0
        )


def _path_metric(
    trades: _SweepTrades,
    fills: _SweepFills,
    closes: np.ndarray,
    dividends_paid: np.ndarray,
    starting: float,
    metric: str,
    chunk: int = 256,
) -> np.ndarray:
    """A metric that needs every pair's equity path: the paths are rebuilt by `_paths` (as in the
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
        *_, equity = _paths(
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
    year = np.sqrt(performance.SESSIONS_PER_YEAR)
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


# --- rebalanced basket ------------------------------------------------------------------------


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
    index = _sessions(closes, "closes")
    if not isinstance(opens, pd.DataFrame) or not opens.index.equals(index):
        raise InvalidBacktest("opens", "must have the same sessions as closes")
    tickers, target = _weights(weights, opens, closes)
    open_prices = _prices(opens, tickers, "opens")
    close_prices = _prices(closes, tickers, "closes")
    _check_fill(fill)
    costs = _costs(commission, fixed_fee, whole_shares)
    starts = _period_starts(index, frequency)
    flows = _flows(_starting_cash(cash, contributions), contributions, index)
    if dividends is None:
        per_share = np.zeros(close_prices.shape)
    elif not isinstance(dividends, pd.DataFrame):
        raise InvalidBacktest("dividends", "must be a DataFrame of sessions x tickers")
    else:
        per_share = np.column_stack(
            [_dividends(dividends.get(ticker), index) for ticker in tickers]
        )
    paid = np.cumsum(per_share, axis=0)
    flows_in = np.cumsum(flows)
    sessions = np.flatnonzero(starts | (flows != 0))
    prices = open_prices if fill == "next_open" else close_prices
    cash_after, shares_after, orders = _rebalance_fills(
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
    trades = _trade_frame(
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
        metrics=_metrics(equity, flows, contributions is not None, len(orders)),
        cash=pd.Series(cash_path, index=index, name="cash"),
        positions=pd.DataFrame(shares, index=index, columns=tickers),
    )


def _weights(
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


def _rebalance_fills(
    prices: np.ndarray,
    dividends_paid: np.ndarray,
    flows_in: np.ndarray,
    sessions: np.ndarray,
    target: np.ndarray,
    costs: Costs,
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, float, float]]]:
    """Cash and shares after each rebalance, and the orders (session, ticker column, size, price)."""
    commission, fee = costs.commission, costs.fixed_fee
    shares = np.zeros(len(target))
    cash = flowed = 0.0
    paid = np.zeros(len(target))
    cash_after = np.empty(len(sessions))
    shares_after = np.empty((len(sessions), len(target)))
    orders: list[tuple[int, int, float, float]] = []
    for position, session in enumerate(sessions.tolist()):
        cash = (
            cash + float(shares @ (dividends_paid[session] - paid)) + (flows_in[session] - flowed)
        )
        paid, flowed = dividends_paid[session], flows_in[session]
        price = prices[session]
        value = cash + float(shares @ price)
        if value > 0:
            wanted = target * value / price
            if costs.whole_shares:
                wanted = np.floor(wanted)
            selling = wanted < shares
            cash = cash + float(
                np.sum((shares[selling] - wanted[selling]) * price[selling] * (1.0 - commission))
                - fee * np.count_nonzero(selling)
            )
            bought = np.where(wanted > shares, wanted - shares, 0.0)
            unit = price * (1.0 + commission)
            budget = cash - fee * np.count_nonzero(bought)
            spend = float(bought @ unit)
            if spend > budget:
                bought = bought * max(budget, 0.0) / spend
                if costs.whole_shares:
                    bought = np.floor(bought)
            cash = cash - float(bought @ unit) - fee * np.count_nonzero(bought)
            orders.extend(
                (session, column, -(shares[column] - wanted[column]), float(price[column]))
                for column in np.flatnonzero(selling).tolist()
            )
            orders.extend(
                (session, column, float(bought[column]), float(price[column]))
                for column in np.flatnonzero(bought).tolist()
            )
            shares = np.where(selling, wanted, shares + bought)
        cash_after[position] = cash
        shares_after[position] = shares
    return cash_after, shares_after, orders
