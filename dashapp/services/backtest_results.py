"""A backtest's result as the page, the API and the cache hold it: JSON-ready, keyed as below.

The strategy's equity beside buy-and-hold of the same asset and the same money in the benchmark
ETF (`series`, one list per line and their drawdowns), the strategy's trades, each line's
metrics, the sweep, the provenance of every price used and the warnings. A result with a ticker
in `missing` (no prices stored) has no series; it is never cached.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, NotRequired, TypedDict

import numpy as np
import pandas as pd

from dashapp.analytics import backtest as engine
from dashapp.market.demo import includes_demo_prices
from dashapp.market.price_matrix import FIELDS, PriceMatrix, price_matrix
from dashapp.rules import STALE, FreshnessState, is_index, price_only_warning
from dashapp.services.answers import Progress
from dashapp.services.backtest_plans import BacktestPlan
from dashapp.services.backtest_requests import BacktestRequest, canonical_request
from dashapp.services.backtest_runs import (
    CostArgs,
    Line,
    Sweep,
    benchmark_line,
    benchmark_prices,
    buy_and_hold_line,
    drawdown_of,
    money_of,
    price_tables,
    strategy_line,
    window_sweep,
)
from dashapp.services.context import AppContext
from dashapp.services.json_numbers import float_list, float_map, iso_or_none
from dashapp.services.portfolios import InvalidInput

# Equity values: a list per line, None where not finite.
Values = list[float | None]


class Subject(TypedDict):
    """What was backtested: a ticker, or a portfolio's basket (with its id) by weight."""

    kind: str  # "ticker" or "portfolio"
    name: str
    weights: dict[str, float]
    portfolio_id: NotRequired[int]


class PriceProvenance(TypedDict):
    """Where one ticker's prices came from: the span used, the fetch, and their freshness."""

    first_date: str | None
    last_date: str | None
    fetched_at: str | None
    source: str | None
    state: FreshnessState
    reason: str
    as_of: str | None
    price_only: bool


class BacktestSeries(TypedDict):
    """Equity per session of each line (`benchmark` when its prices are stored), and each
    line's drawdown by the same names."""

    dates: list[str]
    strategy: Values
    buy_and_hold: Values
    benchmark: NotRequired[Values]
    drawdown: dict[str, Values]


class TradeRecord(TypedDict):
    """One of the strategy's trades (`analytics.backtest.TRADE_COLUMNS`), None where unknown."""

    ticker: str
    entry_time: str | None
    entry_price: float | None
    exit_time: str | None
    exit_price: float | None
    size: float | None
    pnl: float | None
    return_pct: float | None


class Windows(TypedDict):
    """The SMA crossover's fast and slow windows, in sessions."""

    fast: int
    slow: int


class BacktestResult(TypedDict):
    """The finished backtest (see the module docstring); `windows` are the SMA windows the curve
    was drawn with (in a sweep, its best pair), absent when there is no series."""

    request: dict[str, Any]
    subject: Subject
    start: str
    end: str
    provenance: dict[str, PriceProvenance]
    missing: list[str]
    warnings: list[str]
    demo_data: bool
    series: BacktestSeries | None
    trades: list[TradeRecord]
    metrics: dict[str, dict[str, float | None]]
    sweep: Sweep | None
    windows: NotRequired[Windows | None]


def backtest_result(
    ctx: AppContext, request: BacktestRequest, plan: BacktestPlan, report: Progress
) -> BacktestResult:
    """Compute the backtest from the stored prices (none fetched here); raises InvalidInput when
    the engine refuses the request."""
    bars = price_matrix(ctx.store, ctx.cache, plan.tickers, plan.start, plan.end, FIELDS)
    subject = list(plan.weights) if plan.weights else [request.ticker]
    held = set(bars.tickers)
    missing = [t for t in plan.tickers if t not in held]
    provenance = _provenance(ctx, plan.tickers, bars)
    warnings = _price_warnings(plan, provenance, missing)
    base = BacktestResult(
        request=canonical_request(request),
        subject=_subject(request, plan),
        start=plan.start.isoformat(),
        end=plan.end.isoformat(),
        provenance=provenance,
        missing=missing,
        warnings=warnings,
        demo_data=ctx.is_demo_data
        or includes_demo_prices(p["source"] for p in provenance.values()),
        series=None,
        trades=[],
        metrics={},
        sweep=None,
    )
    if any(t in missing for t in subject):
        return base
    prices, late = price_tables(bars, subject)
    warnings += [f"{t}: prices start {day}, so the backtest starts there" for t, day in late]
    if len(prices.sessions) < 2:
        warnings.append("The period holds fewer than two sessions with prices.")
        return base
    costs = CostArgs(
        fill=request.fill,
        commission=request.commission,
        fixed_fee=request.fixed_fee,
        whole_shares=request.whole_shares,
    )
    money = money_of(request, plan)
    try:
        sweep = None
        if request.sweep:
            report(50, "sweeping the windows")
            sweep = window_sweep(request, prices, costs)
            if (sweep["fast"][-1], sweep["slow"][-1]) != (
                request.fast_windows[1],
                request.slow_windows[1],
            ):
                warnings.append(
                    f"Windows longer than the period's {len(prices.sessions)} sessions"
                    " are left out of the sweep."
                )
            if sweep["best"] is not None:
                # The curve of a sweep is its best pair's: the windows typed in the single-run
                # boxes need not even fit the period.
                request = replace(request, fast=sweep["best"]["fast"], slow=sweep["best"]["slow"])
        lines = {"strategy": strategy_line(request, plan, prices, costs, money)}
        report(60, "buy and hold, benchmark")
        lines["buy_and_hold"] = buy_and_hold_line(
            request, plan, prices, costs, money, lines["strategy"]
        )
        if request.benchmark not in missing:
            benchmark = benchmark_prices(bars, request.benchmark, prices.sessions)
            first = provenance[request.benchmark]["first_date"]
            if first > prices.sessions[0].strftime("%Y-%m-%d"):
                warnings.append(
                    f"{request.benchmark}: prices start {first}; before that it holds its first price"
                )
            lines["benchmark"] = benchmark_line(request, benchmark, costs, money)
    except engine.InvalidBacktest as error:
        raise InvalidInput(error.field, error.reason) from None
    dates = prices.sessions
    base.update(
        start=dates[0].strftime("%Y-%m-%d"),
        end=dates[-1].strftime("%Y-%m-%d"),
        series=_series(dates, lines),
        trades=_trade_records(lines["strategy"].trades),
        metrics={name: float_map(line.metrics) for name, line in lines.items()},
        sweep=sweep,
        windows=(
            Windows(fast=request.fast, slow=request.slow)
            if request.strategy == "sma_crossover"
            else None
        ),
    )
    return base


def _price_warnings(
    plan: BacktestPlan, provenance: dict[str, PriceProvenance], missing: list[str]
) -> list[str]:
    """What the prices of the plan's tickers say before computing: none stored, stale, a
    basket position without a price, an index's prices only."""
    held = [t for t in plan.tickers if t not in missing]
    return [
        *(
            f"{t}: no prices stored for {plan.start} to {plan.end}; {provenance[t]['reason']}"
            for t in missing
        ),
        *(f"{t}: {provenance[t]['reason']}" for t in held if provenance[t]["state"] == STALE),
        *(f"{t}: no current price, so it is left out of the basket" for t in plan.left_out),
        *(price_only_warning(t) for t in held if is_index(t)),
    ]


def _series(dates: pd.DatetimeIndex, lines: dict[str, Line]) -> BacktestSeries:
    """Each line's equity and drawdown on the subject's sessions, as computed (not rounded)."""
    series = {
        "dates": [day.strftime("%Y-%m-%d") for day in dates],
        **{
            name: float_list(line.equity.reindex(dates), digits=None)
            for name, line in lines.items()
        },
        "drawdown": {
            name: float_list(drawdown_of(line).reindex(dates), digits=None)
            for name, line in lines.items()
        },
    }
    return BacktestSeries(**series)


def _subject(request: BacktestRequest, plan: BacktestPlan) -> Subject:
    if request.ticker is not None:
        return Subject(kind="ticker", name=request.ticker, weights={request.ticker: 1.0})
    assert plan.portfolio is not None
    return Subject(
        kind="portfolio",
        name=plan.portfolio.name,
        portfolio_id=plan.portfolio.id,
        weights=plan.weights,
    )


def _provenance(
    ctx: AppContext, tickers: list[str], bars: PriceMatrix
) -> dict[str, PriceProvenance]:
    freshness = ctx.store.history_freshness(tickers)
    coverage = ctx.store.coverage(tickers)
    spans = bars.spans()
    result = {}
    for ticker in tickers:
        state = freshness[ticker]
        row = coverage.get(ticker)
        used = spans.get(ticker)
        result[ticker] = PriceProvenance(
            first_date=None if used is None else used[0].strftime("%Y-%m-%d"),
            last_date=None if used is None else used[1].strftime("%Y-%m-%d"),
            fetched_at=iso_or_none(row.fetched_at if row else None),
            source=row.source if row else None,
            state=state.state,
            reason=state.reason,
            as_of=iso_or_none(state.as_of),
            price_only=is_index(ticker),
        )
    return result


def _trade_records(trades: pd.DataFrame) -> list[TradeRecord]:
    table = trades.reindex(columns=engine.TRADE_COLUMNS)
    for column in ("entry_time", "exit_time"):
        table[column] = pd.to_datetime(table[column]).dt.strftime("%Y-%m-%d")
    return [
        TradeRecord(**{name: _json(value) for name, value in record.items()})
        for record in table.astype(object).where(table.notna(), None).to_dict("records")
    ]


def _json(value: object) -> object:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
