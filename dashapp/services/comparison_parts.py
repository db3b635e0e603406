"""The parts a comparison is assembled from: the portfolio's own figures over a window, and one
benchmark's figures against that window.

Users try a new benchmark set nearly every time, but the portfolio's part is the same for every
set over one window, and a benchmark's part is the same in every set that holds it; so each part
is cached on its own (by `comparison_results`) and is a plain JSON-ready dict, keys as below.
"""

from __future__ import annotations

from typing import TypedDict

import pandas as pd

from dashapp.analytics import metrics
from dashapp.analytics.performance import xirr
from dashapp.analytics.shadow_portfolios import (
    daily_total_returns,
    growth_of,
    shadow_dividends,
    shadow_values,
    total_return_index,
)
from dashapp.services.json_numbers import float_list, float_map

GROWTH_BASE = 10_000.0

# A daily series as JSON: one number per session of the window, None where not finite.
Values = list[float | None]
# Metrics by name (`metrics.summary`, `xirr`, and for a benchmark `metrics.relative`).
Metrics = dict[str, float | None]


class Breakdown(TypedDict):
    """Where the gain over the window came from: total = price gain + dividends - fees."""

    total_gain: float | None
    price_gain: float | None
    dividends: float | None
    fees: float | None


class PortfolioLine(TypedDict):
    """The portfolio per session: value, external flow (the first session carries the value at
    the window's start when money was in before it), dividends, returns, growth of GROWTH_BASE
    and drawdown."""

    value: Values
    flow: Values
    dividends: Values
    twr: Values
    growth: Values
    drawdown: Values


class BenchmarkLine(TypedDict):
    """A benchmark per session: its shadow portfolio's value, its daily total return, growth of
    GROWTH_BASE and drawdown."""

    shadow_value: Values
    daily_return: Values
    growth: Values
    drawdown: Values


class PortfolioPart(TypedDict):
    """The portfolio's figures over a window: one cached part."""

    metrics: Metrics
    breakdown: Breakdown
    dates: list[str]
    series: PortfolioLine


class BenchmarkPart(TypedDict):
    """One benchmark's figures against the portfolio's window: one cached part."""

    metrics: Metrics
    breakdown: Breakdown
    series: BenchmarkLine


def portfolio_part(
    window: pd.DataFrame, flows: pd.Series, returns: pd.Series, risk_free: float
) -> PortfolioPart:
    """The portfolio's own figures over the window: metrics, breakdown, dates and series.

    total gain = end value - money put in over the period; price gain = total - dividends + fees.
    """
    final_value = float(window["value"].iloc[-1])
    total = final_value - float(flows.sum())
    received = float(window["dividends"].iloc[1:].sum())
    fees = float(window["fees"].iloc[1:].sum())
    return PortfolioPart(
        metrics=float_map(
            metrics.summary(returns, risk_free) | {"xirr": xirr(window.index, flows, final_value)}
        ),
        breakdown=_breakdown(
            total_gain=total, price_gain=total - received + fees, dividends=received, fees=fees
        ),
        dates=window.index.strftime("%Y-%m-%d").tolist(),
        series=PortfolioLine(
            value=float_list(window["value"]),
            flow=float_list(flows),
            dividends=float_list(window["dividends"]),
            twr=float_list(returns),
            growth=float_list(growth_of(GROWTH_BASE, returns)),
            drawdown=float_list(metrics.drawdown(returns)),
        ),
    )


def benchmark_part(
    flows: pd.Series,
    portfolio_returns: pd.Series,
    closes: pd.DataFrame,
    dividends: pd.DataFrame,
    risk_free: float,
) -> BenchmarkPart:
    """One benchmark's row (its own figures, then the portfolio's against it), breakdown and
    series, for the window of `closes` (one column) and the portfolio's flows over it.

    Its shadow portfolio takes the same flows: total gain = shadow end value - money put in;
    price gain = total - the dividends it earned; no fees.
    """
    [benchmark] = closes.columns
    index = total_return_index(closes, dividends)
    returns = daily_total_returns(closes, dividends)[benchmark]
    shadow = shadow_values(flows, index)[benchmark]
    final_value = float(shadow.iloc[-1])
    gain = final_value - float(flows.sum())
    paid = float(shadow_dividends(flows, closes, dividends, index)[benchmark].sum())
    return BenchmarkPart(
        metrics=float_map(
            metrics.summary(returns, risk_free)
            | {"xirr": xirr(flows.index, flows, final_value)}
            | metrics.relative(portfolio_returns, returns, risk_free)
        ),
        breakdown=_breakdown(total_gain=gain, price_gain=gain - paid, dividends=paid, fees=0.0),
        series=BenchmarkLine(
            shadow_value=float_list(shadow),
            daily_return=float_list(returns),
            growth=float_list(growth_of(GROWTH_BASE, returns)),
            drawdown=float_list(metrics.drawdown(returns)),
        ),
    )


def _breakdown(**amounts: float) -> Breakdown:
    return Breakdown(**float_map(amounts))
