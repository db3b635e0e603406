"""Compute time of the SMA crossover backtest, single runs and the full parameter sweep, against
backtesting.py and vectorbt under the same semantics.

    python -m venv .venv-backtest && .venv-backtest/bin/pip install -r requirements-bench-backtest.txt
    .venv-backtest/bin/python bench/backtest.py [--runs 7]

Prices are a seeded geometric Brownian motion with Open/High/Low/Close (deterministic). Cases:
SMA(10, 20) on 2,520 and 6,300 sessions with fills at the next open and at the close, 0.1 %
commission, whole shares, 100,000 cash; and the 4,851-pair sweep (windows 2..100, fast < slow)
on 6,300 sessions. In the same run, backtesting.py (trade_on_close for fill=close, the same
commission, exclusive_orders, whole shares by construction) and vectorbt (from_signals with the
same signals, price=open shifted or close, fees, size_granularity=1) run the same single
backtests; ratio_vs_X is their median time over ours, equity_diff the largest absolute difference
in final equity and trades_identical whether entry/exit times, prices and sizes all agree.
metrics_ms is the part of our median spent in analytics.metrics.summary.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashapp.analytics import metrics
from dashapp.analytics.backtest import sma_crossover, sma_sweep

FAST, SLOW = 10, 20
CASH = 100_000.0
COMMISSION = 0.001
SWEEP_WINDOWS = range(2, 101)


def synthetic_bars(sessions: int, seed: int = 11) -> pd.DataFrame:
    """GBM closes (8 %/yr drift, 20 %/yr volatility) with opens gapping from the previous close."""
    rng = np.random.default_rng(seed)
    daily = rng.normal(0.08 / 252, 0.20 / np.sqrt(252), sessions)
    closes = 100.0 * np.exp(np.cumsum(daily))
    opens = np.concatenate(([100.0], closes[:-1])) * np.exp(rng.normal(0, 0.004, sessions))
    spread = np.abs(rng.normal(0, 0.006, sessions))
    return pd.DataFrame(
        {
            "Open": opens,
            "High": np.maximum(opens, closes) * (1 + spread),
            "Low": np.minimum(opens, closes) * (1 - spread),
            "Close": closes,
            "Volume": 1_000_000.0,
        },
        index=pd.bdate_range("2000-01-03", periods=sessions, name="Date"),
    )


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def ours(ohlc: pd.DataFrame, fill: str):
    return sma_crossover(ohlc, FAST, SLOW, cash=CASH, fill=fill, commission=COMMISSION)


def closed_trades(frame: pd.DataFrame) -> pd.DataFrame:
    """entry_time, entry_price, exit_time, exit_price, size of the closed round trips."""
    return frame.loc[
        frame["exit_time"].notna(), ["entry_time", "entry_price", "exit_time", "exit_price", "size"]
    ].reset_index(drop=True)


def identical(mine: pd.DataFrame, theirs: pd.DataFrame) -> bool:
    if len(mine) != len(theirs):
        return False
    times = all(
        (mine[column].to_numpy() == theirs[column].to_numpy()).all()
        for column in ("entry_time", "exit_time", "size")
    )
    prices = all(
        np.allclose(mine[column], theirs[column], rtol=1e-12, atol=0)
        for column in ("entry_price", "exit_price")
    )
    return times and prices


def with_backtesting_py(ohlc: pd.DataFrame, fill: str) -> tuple[float, pd.DataFrame]:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    def sma(values: np.ndarray, window: int) -> pd.Series:
        return pd.Series(values).rolling(window).mean()

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                if not self.position:
                    self.buy()
            elif crossover(self.slow, self.fast) and self.position:
                self.position.close()

    backtest = Backtest(
        ohlc,
        SmaCross,
        cash=CASH,
        commission=COMMISSION,
        trade_on_close=fill == "close",
        exclusive_orders=True,
    )
    stats = backtest.run()
    trades = stats["_trades"]
    frame = pd.DataFrame(
        {
            "entry_time": trades["EntryTime"].to_numpy(),
            "entry_price": trades["EntryPrice"].to_numpy(),
            "exit_time": trades["ExitTime"].to_numpy(),
            "exit_price": trades["ExitPrice"].to_numpy(),
            "size": trades["Size"].to_numpy(dtype=float),
        }
    )
    return float(stats["Equity Final [$]"]), frame


def with_vectorbt(ohlc: pd.DataFrame, fill: str) -> tuple[float, pd.DataFrame]:
    import vectorbt as vbt

    closes = ohlc["Close"]
    fast = closes.rolling(FAST).mean()
    slow = closes.rolling(SLOW).mean()
    entries = (fast.shift(1) < slow.shift(1)) & (fast > slow)
    exits = (fast.shift(1) > slow.shift(1)) & (fast < slow)
    price = closes
    if fill == "next_open":
        entries = entries.shift(1, fill_value=False)
        exits = exits.shift(1, fill_value=False)
        price = ohlc["Open"]
    portfolio = vbt.Portfolio.from_signals(
        closes,
        entries,
        exits,
        price=price,
        fees=COMMISSION,
        init_cash=CASH,
        size=np.inf,
        size_granularity=1.0,
        freq="1D",
    )
    records = portfolio.trades.records_readable
    closed = records[records["Status"] == "Closed"]
    frame = pd.DataFrame(
        {
            "entry_time": closed["Entry Timestamp"].to_numpy(),
            "entry_price": closed["Avg Entry Price"].to_numpy(),
            "exit_time": closed["Exit Timestamp"].to_numpy(),
            "exit_price": closed["Avg Exit Price"].to_numpy(),
            "size": closed["Size"].to_numpy(dtype=float),
        }
    )
    return float(portfolio.final_value()), frame


def compare(
    name: str, runner: Callable, ohlc: pd.DataFrame, fill: str, mine: float, result, runs: int
) -> str:
    try:
        final, trades = runner(ohlc, fill)
    except ImportError as error:
        reason = f"{type(error).__name__}:{error}".replace(" ", "_")
        return f"{name}=unavailable reason={reason}"
    theirs = median_ms(lambda: runner(ohlc, fill), runs)
    same = identical(closed_trades(result.trades), trades)
    return (
        f"ratio_vs_{name}={theirs / mine:.1f} {name}_equity_diff="
        f"{abs(final - result.metrics['final_equity']):.2e} {name}_trades_identical={'yes' if same else 'no'}"
    )


def single(sessions: int, fill: str, runs: int, comparator_runs: int) -> None:
    ohlc = synthetic_bars(sessions)
    mine = median_ms(lambda: ours(ohlc, fill), runs)
    result = ours(ohlc, fill)
    returns = result.equity.pct_change()
    in_metrics = median_ms(lambda: metrics.summary(returns), runs)
    label = f"single_{sessions}" + ("" if fill == "next_open" else "_close")
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")  # progress bars and warnings of the comparators
        comparisons = [
            compare(
                "backtestingpy", with_backtesting_py, ohlc, fill, mine, result, comparator_runs
            ),
            compare("vectorbt", with_vectorbt, ohlc, fill, mine, result, comparator_runs),
        ]
    print(
        f"case={label} median_ms={mine:.2f} metrics_ms={in_metrics:.2f} "
        f"trades={int(result.metrics['trades'])} " + " ".join(comparisons),
        flush=True,
    )


def vectorbt_sweep(ohlc: pd.DataFrame) -> pd.Series:
    """Final equity of every pair with vectorbt: MA.run_combs, crossings, from_signals."""
    import vectorbt as vbt

    fast, slow = vbt.MA.run_combs(
        ohlc["Close"], window=list(SWEEP_WINDOWS), r=2, short_names=["fast", "slow"]
    )
    entries = fast.ma_crossed_above(slow).vbt.fshift(1, fill_value=False)
    exits = fast.ma_crossed_below(slow).vbt.fshift(1, fill_value=False)
    portfolio = vbt.Portfolio.from_signals(
        ohlc["Close"],
        entries,
        exits,
        price=ohlc["Open"],
        fees=COMMISSION,
        init_cash=CASH,
        size=np.inf,
        size_granularity=1.0,
        freq="1D",
    )
    return portfolio.final_value()


def sweep(sessions: int, runs: int, against_vectorbt: bool) -> None:
    ohlc = synthetic_bars(sessions)

    def run() -> pd.DataFrame:
        return sma_sweep(
            ohlc,
            SWEEP_WINDOWS,
            SWEEP_WINDOWS,
            metric="final_equity",
            cash=CASH,
            commission=COMMISSION,
        )

    table = run()
    elapsed = median_ms(run, runs)
    row, column = np.unravel_index(np.nanargmax(table.to_numpy()), table.shape)
    best = (int(table.index[row]), int(table.columns[column]))
    equal = all(
        table.loc[pair]
        == sma_crossover(ohlc, *pair, cash=CASH, commission=COMMISSION).metrics["final_equity"]
        for pair in ((FAST, SLOW), best, (2, 3), (99, 100))
    )
    line = (
        f"case=sweep_{int(table.notna().to_numpy().sum())}_{sessions} median_ms={elapsed:.0f} "
        f"best={best[0]}/{best[1]} cells_equal_single_runs={'yes' if equal else 'no'}"
    )
    if against_vectorbt:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            vectorbt_sweep(synthetic_bars(300))  # compiles vectorbt's numba functions
            started = time.perf_counter()
            finals = vectorbt_sweep(ohlc)
            theirs = (time.perf_counter() - started) * 1000
        mine = np.array([table.loc[int(fast), int(slow)] for fast, slow in finals.index])
        differences = np.abs(finals.to_numpy() - mine)
        line += (
            f" vectorbt_ms={theirs:.0f} ratio_vs_vectorbt={theirs / elapsed:.1f} "
            f"vectorbt_equity_diff={differences.max():.2e}"
        )
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--vectorbt-sweep",
        action="store_true",
        help="also time the 4,851-pair sweep in vectorbt (one run, several GB of memory)",
    )
    arguments = parser.parse_args()
    comparator_runs = max(3, arguments.runs // 2)
    for sessions in (2_520, 6_300):
        single(sessions, "next_open", max(arguments.runs, 50), comparator_runs)
    single(6_300, "close", max(arguments.runs, 50), comparator_runs)
    sweep(6_300, max(3, arguments.runs // 2), arguments.vectorbt_sweep)


if __name__ == "__main__":
    main()
