"""Strategy backtests on daily bars: buy-and-hold, SMA crossover, a rebalanced basket, dollar-cost
averaging, and any of them fed with the portfolio's own dated contributions ("my contributions").

Semantics, exact and shared by every strategy:

- A price signal is computed from the close of session t. Orders fill at the open of session t+1
  (`fill="next_open"`, the default; a signal on the last session never fills) or at the close of
  session t (`fill="close"`).
- SMA(w)[t] = mean(close[t-w+1..t]), defined from session w-1 on. An entry signal at t is
  `fast[t-1] < slow[t-1] and fast[t] > slow[t]`; an exit signal is
  `fast[t-1] > slow[t-1] and fast[t] < slow[t]`. The rule is long from an entry signal to the next
  exit signal (a repeated signal changes nothing). Long only. (`signals.py`)
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

Where each idea lives: `inputs` checks the inputs (every refusal an `InvalidBacktest`), `signals`
computes the SMA crossover, `engine` moves cash and shares through the fills, `results` turns
them into equity, trades and metrics, `strategies` holds the four strategies and `sweep` the
parameter sweep.
"""

from dashapp.analytics.backtest.inputs import (
    DEFAULT_CASH,
    FILLS,
    FREQUENCIES,
    Costs,
    Fill,
    Frequency,
    InvalidBacktest,
)
from dashapp.analytics.backtest.results import (
    METRICS,
    SUMMARY_METRICS,
    TRADE_COLUMNS,
    BacktestResult,
)
from dashapp.analytics.backtest.signals import crossover_holding, moving_averages
from dashapp.analytics.backtest.strategies import (
    buy_and_hold,
    dollar_cost_average,
    rebalance,
    sma_crossover,
)
from dashapp.analytics.backtest.sweep import sma_sweep

__all__ = [
    "DEFAULT_CASH",
    "FILLS",
    "FREQUENCIES",
    "METRICS",
    "SUMMARY_METRICS",
    "TRADE_COLUMNS",
    "BacktestResult",
    "Costs",
    "Fill",
    "Frequency",
    "InvalidBacktest",
    "buy_and_hold",
    "crossover_holding",
    "dollar_cost_average",
    "moving_averages",
    "rebalance",
    "sma_crossover",
    "sma_sweep",
]
