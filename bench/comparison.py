"""Compute time of the portfolio-vs-ETFs analytics, against quantstats and empyrical, plus
time-to-chart in the browser.

    python -m venv .venv-bench && .venv-bench/bin/pip install -r requirements-bench.txt
    python bench/comparison.py [--runs 7] [--skip-browser]

Cases: 50 holdings x 10 years x 5 benchmarks and 500 holdings x 25 years x 10 benchmarks, on
demo-market bars held in memory as the price store would return them (no database).
- median_ms: a comparison whose result is not cached but whose prices are in the columnar read
  model (dashapp/market/price_matrix.py, in a real diskcache): the matrices read from the model,
  then daily positions and values, TWR, shadow portfolios, growth, drawdown and the metrics table.
- cpu_ms: its median CPU time, the figure to read on a machine that other work loads (numpy runs
  on one thread here, so on an idle machine it equals the wall time).
- read_model_ms: the matrices alone; pivot_ms: the same matrices by pivoting long bars, the read
  path before the read model (without its database read).
- metrics_ms: the metrics table alone from the return series.
In the same run, quantstats and empyrical compute the same metrics on the same return series:
ratio_vs_quantstats is their time over our whole comparison (median_ms),
metrics_ratio_vs_quantstats over our metrics alone (metrics_ms), the like-for-like figure;
max_rel_diff is the largest relative difference from empyrical over the metrics both define the
same way (total return, CAGR, volatility, Sharpe, Sortino, max drawdown, Calmar, beta, alpha).
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
from dashapp.analytics.performance import portfolio_series, xirr
from dashapp.analytics.shadow_portfolios import (
    daily_total_returns,
    growth_of,
    shadow_values,
    total_return_index,
)
from dashapp.market.bars import BAR_COLUMNS
from dashapp.market.calendar import MarketCalendar
from dashapp.market.demo import raw_series
from dashapp.market.price_matrix import price_matrix
from dashapp.market.price_reads import CoverageRow

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


def long_bars(tickers: list[str], years: int) -> pd.DataFrame:
    """Demo-market bars of `tickers` over `years`, long form, as PriceStore.read_bars returns."""
    start = pd.Timestamp(date(END.year - years, 1, 2))
    frames = []
    for ticker in tickers:
        series = raw_series(ticker)
        keep = (series.dates >= start) & (series.dates <= pd.Timestamp(END))
        frames.append(
            pd.DataFrame(
                {
                    "ticker": ticker,
                    "date": series.dates[keep].astype("datetime64[ns]"),
                    **{
                        field: getattr(series, field)[keep]
                        for field in ("open", "high", "low", "close", "dividend", "split_ratio")
                    },
                    "volume": 0.0,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[list(BAR_COLUMNS)]


class MemoryStore:
    """The two reads price_matrix makes of a PriceStore, answered from bars in memory."""

    def __init__(self, bars: pd.DataFrame) -> None:
        self.bars = bars.sort_values(["ticker", "date"], ignore_index=True)

    def coverage(self, tickers: list[str]) -> dict[str, CoverageRow]:
        return {
            ticker: CoverageRow(ticker, None, END, None, None, "demo", None, 0, 1)
            for ticker in tickers
        }

    def read_bars(self, tickers: list[str], start: date, end: date) -> pd.DataFrame:
        dates = self.bars["date"]
        chosen = self.bars["ticker"].isin(tickers)
        return self.bars[chosen & (dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(end))]


def from_read_model(store, cache, tickers: list[str], years: int) -> tuple[pd.DataFrame, ...]:
    """Closes, dividends and split ratios (sessions x tickers) as the comparison service reads
    them: from the read model, reindexed to the sessions."""
    start = date(END.year - years, 1, 2)
    matrix = price_matrix(store, cache, tickers, start, END)
    sessions = pd.DatetimeIndex(MarketCalendar().sessions(start, END))
    return (
        matrix.frame("close").reindex(sessions),
        matrix.frame("dividend").fillna(0.0).reindex(sessions),
        matrix.frame("split_ratio").fillna(1.0).reindex(sessions),
    )


def pivoted(bars: pd.DataFrame, years: int) -> tuple[pd.DataFrame, ...]:
    """The same three frames by pivoting long bars, the read path before the read model."""
    sessions = pd.DatetimeIndex(MarketCalendar().sessions(date(END.year - years, 1, 2), END))
    return (
        bars.pivot(index="date", columns="ticker", values="close").reindex(sessions),
        bars.pivot(index="date", columns="ticker", values="dividend").fillna(0.0).reindex(sessions),
        bars.pivot(index="date", columns="ticker", values="split_ratio")
        .fillna(1.0)
        .reindex(sessions),
    )


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
    return metrics_table(series, bench_returns, shadows)


def metrics_table(series, bench_returns, shadows=None) -> dict[str, dict[str, float]]:
    """The metrics table, growth and drawdown series of the portfolio and each benchmark."""
    growth_of(10_000, series["twr"])
    growth_of(10_000, bench_returns)
    metrics.drawdown(series["twr"])
    metrics.drawdown(bench_returns)
    table = {"portfolio": metrics.summary(series["twr"])}
    if shadows is not None:
        table["portfolio"]["xirr"] = xirr(series.index, series["flow"], series["value"].iloc[-1])
    for benchmark in bench_returns.columns:
        table[benchmark] = metrics.summary(bench_returns[benchmark]) | metrics.relative(
            series["twr"], bench_returns[benchmark]
        )
        if shadows is not None:
            final = float(shadows[benchmark].iloc[-1])
            table[benchmark]["xirr"] = xirr(series.index, series["flow"], final)
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


def median_cpu_ms(action: Callable[[], object], runs: int) -> float:
    """Like median_ms in CPU time of this process: the time waited for a core is left out."""
    action()
    timings = []
    for _ in range(runs):
        started = time.process_time()
        action()
        timings.append((time.process_time() - started) * 1000)
    return statistics.median(timings)


def case(holdings: int, years: int, benchmarks: int, runs: int, workdir: Path) -> None:
    import diskcache

    tickers = [f"C{index:03d}" for index in range(holdings)]
    chosen = list(ETFS[:benchmarks])
    bars = long_bars(tickers + chosen, years)
    store = MemoryStore(bars)
    with diskcache.Cache(str(workdir / f"cache-{holdings}")) as cache:
        closes, dividends, splits = from_read_model(store, cache, tickers + chosen, years)
        transactions = ledger(tickers, closes)

        def comparison() -> dict[str, dict[str, float]]:
            frames = from_read_model(store, cache, tickers + chosen, years)
            return ours(transactions, *frames, tickers, chosen)

        mine = median_ms(comparison, runs)
        mine_cpu = median_cpu_ms(comparison, runs)
        read_ms = median_ms(lambda: from_read_model(store, cache, tickers + chosen, years), runs)
    pivot_ms = median_ms(lambda: pivoted(bars, years), runs)
    table = ours(transactions, closes, dividends, splits, tickers, chosen)
    series = portfolio_series(transactions, closes[tickers], splits[tickers]).frame
    bench_returns = daily_total_returns(closes[chosen], dividends[chosen])
    metrics_ms = median_ms(lambda: metrics_table(series, bench_returns), runs)
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
        f"case={holdings}x{years}yx{benchmarks} median_ms={mine:.1f} cpu_ms={mine_cpu:.1f} "
        f"read_model_ms={read_ms:.1f} pivot_ms={pivot_ms:.1f} metrics_ms={metrics_ms:.1f} "
        f"ratio_vs_quantstats={theirs / mine:.2f} "
        f"metrics_ratio_vs_quantstats={theirs / metrics_ms:.1f} "
        f"ratio_vs_empyrical={empyrical_ms / mine:.2f} max_rel_diff={max(differences):.2e}",
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
    with tempfile.TemporaryDirectory() as workdir:
        case(50, 10, 5, arguments.runs, Path(workdir))
        case(500, 25, 10, max(3, arguments.runs // 2), Path(workdir))
    if not arguments.skip_browser:
        browser_time_to_chart()


if __name__ == "__main__":
    main()
