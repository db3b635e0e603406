"""Compute time of the portfolio-vs-ETFs analytics, against quantstats and empyrical, plus
time-to-chart in the browser.

    python -m venv .venv-bench && .venv-bench/bin/pip install -r requirements-bench.txt
    python bench/comparison.py [--runs 7] [--skip-browser]

Cases: 50 holdings x 10 years x 5 benchmarks and 500 holdings x 25 years x 10 benchmarks, on
demo-market prices held in memory (no database), so the figure is the analytics alone: daily
positions and values, TWR, shadow portfolios, growth, drawdown and the metrics table. In the same
run, quantstats and empyrical compute the same metrics on the same return series; the ratios are
their time over ours, and max_rel_diff is the largest relative difference from empyrical over
the metrics both define the same way (total return, CAGR, volatility, Sharpe, Sortino, max
drawdown, Calmar, beta, alpha).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashapp.analytics import metrics
from dashapp.analytics.benchmarks import (
    daily_total_returns,
    growth_of,
    shadow_values,
    total_return_index,
)
from dashapp.analytics.performance import portfolio_series, xirr
from dashapp.market.calendar import MarketCalendar
from dashapp.market.demo import raw_series

ETFS = ("SPY", "QQQ", "VTI", "VOO", "IWM", "DIA", "VXUS", "BND", "AGG", "SCHD")
END = date(2025, 6, 30)  # 25 years back stays inside the demo market's history (from 2000)
COMPARED = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "beta",
    "alpha",
)


def market(tickers: list[str], years: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Closes, dividends and split ratios (sessions x tickers) of the demo market, in memory."""
    start = date(END.year - years, 1, 2)
    sessions = MarketCalendar().sessions(start, END)
    frames = {}
    for field in ("close", "dividend", "split_ratio"):
        frames[field] = pd.DataFrame(
            {
                ticker: pd.Series(
                    getattr(raw_series(ticker), field), index=raw_series(ticker).dates
                )
                for ticker in tickers
            }
        ).reindex(sessions)
    return frames["close"], frames["dividend"], frames["split_ratio"]


def ledger(tickers: list[str], closes: pd.DataFrame) -> pd.DataFrame:
    """Each holding bought on a spread of dates, a third topped up a year later."""
    rng = np.random.default_rng(3)
    rows = []
    for position, ticker in enumerate(tickers):
        day = closes.index[int(rng.integers(0, len(closes) // 3))]
        rows.append((day, "BUY", ticker, 10.0 + position % 7, float(closes.loc[day, ticker]), 1.0))
        if position % 3 == 0:
            later = closes.index[min(closes.index.get_loc(day) + 252, len(closes) - 1)]
            rows.append((later, "BUY", ticker, 5.0, float(closes.loc[later, ticker]), 1.0))
    frame = pd.DataFrame(
        rows, columns=["trade_date", "kind", "ticker", "quantity", "price", "fees"]
    )
    frame.insert(0, "id", range(1, len(frame) + 1))
    return frame


def ours(
    transactions, closes, dividends, splits, holdings, benchmarks
) -> dict[str, dict[str, float]]:
    series = portfolio_series(transactions, closes[holdings], splits[holdings]).frame
    index = total_return_index(closes[benchmarks], dividends[benchmarks])
    bench_returns = daily_total_returns(closes[benchmarks], dividends[benchmarks])
    shadows = shadow_values(series["flow"], index)
    growth_of(10_000, series["twr"])
    growth_of(10_000, bench_returns)
    metrics.drawdown(bench_returns)
    table = {
        "portfolio": metrics.summary(series["twr"])
        | {"xirr": xirr(series.index, series["flow"], series["value"].iloc[-1])}
    }
    for benchmark in benchmarks:
        table[benchmark] = (
            metrics.summary(bench_returns[benchmark])
            | metrics.relative(series["twr"], bench_returns[benchmark])
            | {"xirr": xirr(series.index, series["flow"], float(shadows[benchmark].iloc[-1]))}
        )
    return table


def with_empyrical(returns: pd.Series, bench_returns: pd.DataFrame) -> dict[str, dict[str, float]]:
    import empyrical

    table = {}
    clean = returns.dropna()
    for benchmark in bench_returns.columns:
        both = pd.concat([returns, bench_returns[benchmark]], axis=1).dropna()
        b = bench_returns[benchmark].dropna()
        table[benchmark] = {
            "total_return": empyrical.cum_returns_final(b),
            "cagr": empyrical.annual_return(b),
            "volatility": empyrical.annual_volatility(b),
            "sharpe": empyrical.sharpe_ratio(b),
            "sortino": empyrical.sortino_ratio(b),
            "max_drawdown": empyrical.max_drawdown(b),
            "calmar": empyrical.calmar_ratio(b),
            "beta": empyrical.beta(both.iloc[:, 0], both.iloc[:, 1]),
            "alpha": empyrical.alpha(both.iloc[:, 0], both.iloc[:, 1]),
        }
    table["portfolio"] = {
        "total_return": empyrical.cum_returns_final(clean),
        "cagr": empyrical.annual_return(clean),
        "volatility": empyrical.annual_volatility(clean),
        "sharpe": empyrical.sharpe_ratio(clean),
        "sortino": empyrical.sortino_ratio(clean),
        "max_drawdown": empyrical.max_drawdown(clean),
        "calmar": empyrical.calmar_ratio(clean),
    }
    return table


def with_quantstats(returns: pd.Series, bench_returns: pd.DataFrame) -> None:
    import quantstats as qs

    for series in [returns.dropna(), *(bench_returns[c].dropna() for c in bench_returns.columns)]:
        qs.stats.comp(series)
        qs.stats.cagr(series)
        qs.stats.volatility(series)
        qs.stats.sharpe(series)
        qs.stats.sortino(series)
        qs.stats.max_drawdown(series)
        qs.stats.calmar(series)
        qs.stats.to_drawdown_series(series)
    for column in bench_returns.columns:
        qs.stats.greeks(returns.dropna(), bench_returns[column].dropna())
        qs.stats.information_ratio(returns.dropna(), bench_returns[column].dropna())


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def case(holdings: int, years: int, benchmarks: int, runs: int) -> None:
    tickers = [f"C{index:03d}" for index in range(holdings)]
    chosen = list(ETFS[:benchmarks])
    closes, dividends, splits = market(tickers + chosen, years)
    transactions = ledger(tickers, closes)
    mine = median_ms(lambda: ours(transactions, closes, dividends, splits, tickers, chosen), runs)
    table = ours(transactions, closes, dividends, splits, tickers, chosen)
    series = portfolio_series(transactions, closes[tickers], splits[tickers]).frame
    bench_returns = daily_total_returns(closes[chosen], dividends[chosen])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = median_ms(lambda: with_quantstats(series["twr"], bench_returns), runs)
        empyrical_ms = median_ms(lambda: with_empyrical(series["twr"], bench_returns), runs)
        reference = with_empyrical(series["twr"], bench_returns)
    differences = [
        abs(table[name][key] - value) / max(abs(value), 1e-12)
        for name, values in reference.items()
        for key, value in values.items()
        if key in COMPARED and np.isfinite(value)
    ]
    print(
        f"case={holdings}x{years}yx{benchmarks} median_ms={mine:.1f} "
        f"ratio_vs_quantstats={theirs / mine:.2f} ratio_vs_empyrical={empyrical_ms / mine:.2f} "
        f"max_rel_diff={max(differences):.2e}",
        flush=True,
    )


def browser_time_to_chart() -> None:
    """Seconds from opening /compare to a drawn chart, first (computing) and repeat (cached)."""
    from playwright.sync_api import sync_playwright

    from dashapp import context_of
    from dashapp.clock import FrozenClock
    from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
    from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, LiveApps
    from tests.conftest import AFTER_CLOSE

    with tempfile.TemporaryDirectory() as workdir:
        apps = LiveApps(Path(workdir), FrozenClock(AFTER_CLOSE))
        app = apps.build()
        context = context_of(app)
        warm_demo_cache(context, seed_demo_portfolio(context))
        url = apps.serve(app)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page()
            # The first visit also downloads the page's scripts (plotly.js is 3 MB) and computes.
            for label in ("first_visit", "revisit", "revisit"):
                started = time.perf_counter()
                page.goto(f"{url}/compare")
                page.wait_for_selector("#metrics-table", timeout=30_000)
                print(
                    f"case=browser_time_to_chart_{label} seconds={time.perf_counter() - started:.2f}",
                    flush=True,
                )
            browser.close()
        apps.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-browser", action="store_true")
    arguments = parser.parse_args()
    case(50, 10, 5, arguments.runs)
    case(500, 25, 10, max(3, arguments.runs // 2))
    if not arguments.skip_browser:
        browser_time_to_chart()


if __name__ == "__main__":
    main()
