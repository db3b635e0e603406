"""Strategy backtests on a ticker or on a portfolio's current basket, answered from the price cache.

A request names a subject (a ticker, or a portfolio whose open positions form a basket weighted
by current market value), a strategy of `analytics.backtest`, a period, the money (a lump sum,
or the portfolio's real dated external flows: "mine") and the costs. The result is JSON-ready:
the strategy's equity beside buy-and-hold of the same asset and the same money put into a
benchmark ETF, drawdowns, trades, metrics, the provenance of every price used and warnings.

Results are cached in the shared diskcache under sha256(canonical request, resolved window,
portfolio version and weights) plus the price-data version of every ticker used, not a TTL: a
repeat is a cache read, a new bar makes a new key. A diskcache lock makes concurrent identical
requests compute once. Only complete results (no ticker without prices) are cached.

One question, one call: `answer` says `Ready(result)` (cached, or every price stored, so
computed now) or `NeedsFetch(plan)` (background work: `run_backtest` with `fetch`). A request
plans itself once (`plan_backtest`: the portfolio's ledger read once, weights, window, flows)
and works out its key once; everything below takes them as arguments.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from dashapp.analytics import backtest as engine
from dashapp.analytics import metrics
from dashapp.analytics.performance import portfolio_series
from dashapp.analytics.periods import UnknownPeriod, period_range
from dashapp.market.demo import includes_demo_prices
from dashapp.market.price_matrix import FIELDS, PriceMatrix, price_matrix
from dashapp.rules import TICKER_PATTERN, is_index, price_only_warning
from dashapp.services.answers import NeedsFetch, Progress, Ready, no_progress
from dashapp.services.backtest_requests import BacktestRequest, canonical_request
from dashapp.services.context import AppContext
from dashapp.services.json_numbers import float_list, float_map, iso_or_none
from dashapp.services.portfolios import (
    InvalidInput,
    Ledger,
    PortfolioSummary,
    holdings_of,
    load_ledger,
)
from dashapp.services.result_cache import cached_or_computed

log = logging.getLogger(__name__)
LOWER_IS_BETTER = frozenset({"volatility"})
# The XNYS calendar's first session: "MAX" of a lump-sum backtest reaches back to it.
EARLIEST_START = date(1990, 1, 2)
CACHE_SECONDS = 30 * 24 * 3600
WARM_PERIOD = "5Y"


@dataclass(frozen=True)
class BacktestPlan:
    """A request resolved against the database: every ticker used (the subject's, then the
    benchmark), the basket's weights and the positions left out for want of a price, the
    window, and the "mine" flows."""

    tickers: list[str]
    weights: dict[str, float] | None
    left_out: list[str]
    start: date
    end: date
    portfolio: PortfolioSummary | None
    flows: pd.Series | None = field(default=None, compare=False)


def plan_backtest(ctx: AppContext, request: BacktestRequest) -> BacktestPlan:
    """Resolve tickers, weights and the session window, reading the portfolio's ledger once;
    raises PortfolioNotFound, InvalidInput."""
    ledger = None if request.portfolio_id is None else load_ledger(ctx, request.portfolio_id)
    weights, left_out = None, []
    if request.ticker is not None:
        subject: tuple[str, ...] = (request.ticker,)
    else:
        weights, left_out = basket_weights(ctx, ledger)
        subject = tuple(weights)
    last_closed = ctx.calendar.last_completed_session(ctx.clock.now())
    end = min(request.end or last_closed, last_closed)
    first = EARLIEST_START
    if request.contributions == "mine":
        first = ledger.first_trade_date
        if first is None:
            raise InvalidInput("contributions", "the portfolio has no transactions")
    if request.period == "CUSTOM":
        start = max(request.start or first, first)
    else:
        try:
            start, end = period_range(request.period, end, first)
        except UnknownPeriod as error:
            raise InvalidInput("period", str(error)) from None
    if start >= end:
        raise InvalidInput("start", "the period holds no completed session")
    flows = None
    if request.contributions == "mine":
        flows = my_contributions(ctx, ledger, start, end)
    return BacktestPlan(
        tickers=list(dict.fromkeys((*subject, request.benchmark))),
        weights=weights,
        left_out=left_out,
        start=start,
        end=end,
        portfolio=None if ledger is None else ledger.portfolio,
        flows=flows,
    )


def basket_weights(ctx: AppContext, ledger: Ledger) -> tuple[dict[str, float], list[str]]:
    """Open positions weighted by current market value (the dashboard's weights), summing to 1,
    and the open positions left out because they have no price."""
    holdings = holdings_of(ctx, ledger).holdings
    priced = holdings["market_value"].notna() & (holdings["market_value"] > 0)
    if not priced.any():
        raise InvalidInput("portfolio_id", "the portfolio holds nothing with a price")
    values = holdings[priced].set_index("ticker")["market_value"].astype("float64").sort_index()
    weights = {str(t): round(float(v), 12) for t, v in (values / values.sum()).items()}
    return weights, sorted(holdings.loc[~priced, "ticker"])


def my_contributions(ctx: AppContext, loaded: Ledger, start: date, end: date) -> pd.Series:
    """The portfolio's external flows per session in [start, end] (analytics.performance's rule:
    deposits and withdrawals, or BUY/SELL net cash when the ledger tracks no cash). Flows before
    `start` count as put in on its first session: the money that was in by then."""
    ledger, first = loaded.frame, loaded.first_trade_date
    if first is None:
        raise InvalidInput("contributions", "the portfolio has no transactions")
    sessions = ctx.calendar.sessions(min(first, start), end)
    window = sessions[sessions >= pd.Timestamp(start)]
    if len(window) == 0:
        raise InvalidInput("start", "the period holds no session")
    # Flows follow from the ledger alone, so no prices are needed: an empty price table.
    empty = pd.DataFrame(index=sessions, dtype="float64")
    flow = portfolio_series(ledger, empty, empty).frame["flow"]
    before = float(flow[flow.index < window[0]].sum())
    flows = flow.loc[window[0] :].copy()
    flows.iloc[0] += before
    flows = flows[flows != 0.0]
    if flows.empty or flows.cumsum().max() <= 0:
        raise InvalidInput("contributions", "the portfolio put no money in over the period")
    return flows.rename("contribution")


def cache_key(ctx: AppContext, request: BacktestRequest, plan: BacktestPlan | None = None) -> str:
    plan = plan or plan_backtest(ctx, request)
    identity = {
        "request": canonical_request(request),
        "window": [plan.start.isoformat(), plan.end.isoformat()],
        "portfolio_version": plan.portfolio.version if plan.portfolio else None,
        "weights": plan.weights,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
    return f"backtest:{digest}:{ctx.store.price_data_version(plan.tickers)}"


def cached_backtest(ctx: AppContext, request: BacktestRequest) -> dict[str, Any] | None:
    """The finished result if this exact question was answered with these exact prices."""
    return ctx.cache.get(cache_key(ctx, request))


def answer(ctx: AppContext, request: BacktestRequest) -> Ready | NeedsFetch:
    """The backtest a page asks for: `Ready` from the cache, or computed now when every price is
    stored (milliseconds); `NeedsFetch` when prices must be fetched first, which is background
    work (`run_backtest` with `fetch`). Raises PortfolioNotFound, InvalidInput."""
    plan = plan_backtest(ctx, request)
    key = cache_key(ctx, request, plan)
    hit = ctx.cache.get(key)
    if hit is not None:
        return Ready(hit)
    if ctx.store.tickers_with_gaps(plan.tickers, plan.start, plan.end):
        return NeedsFetch(plan)
    return Ready(_answered(ctx, request, plan, key, no_progress))


def run_backtest(
    ctx: AppContext,
    request: BacktestRequest,
    *,
    fetch: bool,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The backtest as a JSON-ready dict (see the module docstring).

    With `fetch` (background work) missing prices are filled first; without it (a request) only
    cached prices are used, and a ticker without any is named in `missing` and `warnings`.
    """
    report = progress or no_progress
    report(5, "reading the request")
    plan = plan_backtest(ctx, request)
    if fetch:
        report(15, "fetching missing prices")
        ctx.store.fill(plan.tickers, plan.start, plan.end)
    # Keyed after the fill: the key names the prices the result is computed from.
    return _answered(ctx, request, plan, cache_key(ctx, request, plan), report)


def _answered(
    ctx: AppContext, request: BacktestRequest, plan: BacktestPlan, key: str, report: Progress
) -> dict[str, Any]:
    def computed() -> dict[str, Any]:
        report(40, "computing")
        result = _compute(ctx, request, plan, report)
        ctx.counters.add("backtests_computed")
        return result

    # Only a complete result is kept: one with missing prices must be asked again once filled.
    hit, fresh = cached_or_computed(
        ctx, key, computed, expire=CACHE_SECONDS, keep=lambda result: not result["missing"]
    )
    report(90, "drawing" if fresh else "from cache")
    return hit


def default_requests(tickers: Iterable[str]) -> list[BacktestRequest]:
    """The backtests a first visit asks for: buy-and-hold and SMA 50/200 over 5 years."""
    names = dict.fromkeys(str(t).strip().upper() for t in tickers if t and str(t).strip())
    return [
        BacktestRequest(ticker=name, strategy=strategy, period=WARM_PERIOD)
        for name in names
        if TICKER_PATTERN.match(name)
        for strategy in ("buy_and_hold", "sma_crossover")
    ]


def warm_default_backtests(ctx: AppContext, tickers: Iterable[str], *, fetch: bool = False) -> int:
    """Run the default backtests of `tickers` into the cache (the after-close job calls this).

    Returns how many of them now have a complete cached result. With `fetch` missing prices are
    fetched first; without it a ticker lacking prices is skipped (nothing incomplete is cached).
    """
    warmed = 0
    for request in default_requests(tickers):
        try:
            result = run_backtest(ctx, request, fetch=fetch)
        except InvalidInput as error:
            # e.g. a ticker listed too recently for a 200-session average: nothing to warm.
            log.info("not warming %s %s: %s", request.ticker, request.strategy, error)
            continue
        warmed += not result["missing"]
    return warmed


# ----- computation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """One equity curve with its trades, metrics and the external money put in per session."""

    equity: pd.Series
    trades: pd.DataFrame
    metrics: dict[str, float]
    flows: pd.Series


@dataclass(frozen=True)
class _Prices:
    """Opens, highs, lows, closes and dividends per share, sessions x tickers, without gaps."""

    opens: pd.DataFrame
    highs: pd.DataFrame
    lows: pd.DataFrame
    closes: pd.DataFrame
    dividends: pd.DataFrame

    @property
    def sessions(self) -> pd.DatetimeIndex:
        return self.closes.index

    def ohlc(self, ticker: str) -> pd.DataFrame:
        """One ticker's bars in the engine's layout."""
        return pd.DataFrame(
            {
                "Open": self.opens[ticker],
                "High": self.highs[ticker],
                "Low": self.lows[ticker],
                "Close": self.closes[ticker],
            }
        )


def _compute(
    ctx: AppContext, request: BacktestRequest, plan: BacktestPlan, report: Progress
) -> dict[str, Any]:
    bars = price_matrix(ctx.store, ctx.cache, plan.tickers, plan.start, plan.end, FIELDS)
    subject = list(plan.weights) if plan.weights else [request.ticker]
    held = set(bars.tickers)
    missing = [t for t in plan.tickers if t not in held]
    provenance = _provenance(ctx, plan.tickers, bars)
    warnings = [
        f"{t}: no prices stored for {plan.start} to {plan.end}; {provenance[t]['reason']}"
        for t in missing
    ]
    warnings += [
        f"{t}: {provenance[t]['reason']}"
        for t in plan.tickers
        if t in held and provenance[t]["state"] == "stale"
    ]
    warnings += [f"{t}: no current price, so it is left out of the basket" for t in plan.left_out]
    warnings += [price_only_warning(t) for t in plan.tickers if t in held and is_index(t)]
    base = {
        "request": canonical_request(request),
        "subject": _subject(request, plan),
        "start": plan.start.isoformat(),
        "end": plan.end.isoformat(),
        "provenance": provenance,
        "missing": missing,
        "warnings": warnings,
        "demo_data": ctx.is_demo_data
        or includes_demo_prices(p["source"] for p in provenance.values()),
        "series": None,
        "trades": [],
        "metrics": {},
        "sweep": None,
    }
    if any(t in missing for t in subject):
        return base
    prices, late = _price_tables(bars, subject)
    warnings += [f"{t}: prices start {day}, so the backtest starts there" for t, day in late]
    if len(prices.sessions) < 2:
        warnings.append("The period holds fewer than two sessions with prices.")
        return base
    costs = {
        "fill": request.fill,
        "commission": request.commission,
        "fixed_fee": request.fixed_fee,
        "whole_shares": request.whole_shares,
    }
    money = _money(request, plan)
    try:
        sweep = None
        if request.sweep:
            report(50, "sweeping the windows")
            sweep = _sweep(request, prices, costs)
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
        lines = {"strategy": _strategy_line(request, plan, prices, costs, money)}
        report(60, "buy and hold, benchmark")
        lines["buy_and_hold"] = _buy_and_hold_line(
            request, plan, prices, costs, money, lines["strategy"]
        )
        if request.benchmark not in missing:
            benchmark = _benchmark_prices(bars, request.benchmark, prices.sessions)
            first = provenance[request.benchmark]["first_date"]
            if first > prices.sessions[0].strftime("%Y-%m-%d"):
                warnings.append(
                    f"{request.benchmark}: prices start {first}; before that it holds its first price"
                )
            lines["benchmark"] = _benchmark_line(request, benchmark, costs, money)
    except engine.InvalidBacktest as error:
        raise InvalidInput(error.field, error.reason) from None
    dates = prices.sessions
    return base | {
        "start": dates[0].strftime("%Y-%m-%d"),
        "end": dates[-1].strftime("%Y-%m-%d"),
        "series": {
            "dates": [day.strftime("%Y-%m-%d") for day in dates],
            **{
                name: float_list(line.equity.reindex(dates), digits=None)
                for name, line in lines.items()
            },
            "drawdown": {
                name: float_list(_drawdown(line).reindex(dates), digits=None)
                for name, line in lines.items()
            },
        },
        "trades": _trade_records(lines["strategy"].trades),
        "metrics": {name: float_map(line.metrics) for name, line in lines.items()},
        "sweep": sweep,
        # The SMA windows the curve was drawn with: in a sweep, its best pair.
        "windows": (
            {"fast": request.fast, "slow": request.slow}
            if request.strategy == "sma_crossover"
            else None
        ),
    }


def _subject(request: BacktestRequest, plan: BacktestPlan) -> dict[str, Any]:
    if request.ticker is not None:
        return {"kind": "ticker", "name": request.ticker, "weights": {request.ticker: 1.0}}
    assert plan.portfolio is not None
    return {
        "kind": "portfolio",
        "name": plan.portfolio.name,
        "portfolio_id": plan.portfolio.id,
        "weights": plan.weights,
    }


def _price_tables(
    bars: PriceMatrix, tickers: Sequence[str]
) -> tuple[_Prices, list[tuple[str, str]]]:
    """The tickers' prices from the first session all of them have, and which started late.

    A session one ticker lacks keeps its last close, and opens at it (the price did not move).
    """
    closes = bars.frame("close", tickers)
    # The sessions any of the tickers has a bar on (the matrix also holds the benchmark's).
    closes = closes[closes.notna().any(axis=1)].ffill()
    starts = closes.apply(pd.Series.first_valid_index)
    late = [(t, day.strftime("%Y-%m-%d")) for t, day in starts.items() if day > starts.min()]
    closes = closes.loc[starts.max() :]

    def part(column: str) -> pd.DataFrame:
        return bars.frame(column, tickers).reindex(index=closes.index)

    prices = _Prices(
        part("open").fillna(closes),
        part("high").fillna(closes),
        part("low").fillna(closes),
        closes,
        part("dividend").fillna(0.0),
    )
    return prices, late


def _benchmark_prices(bars: PriceMatrix, ticker: str, sessions: pd.DatetimeIndex) -> _Prices:
    """The benchmark on the subject's sessions: a missing close keeps the last one (or, before
    its first, that first one), and opens, highs and lows at it."""
    own = {name: bars.frame(name, [ticker])[ticker].reindex(sessions) for name in FIELDS}
    closes = own["close"].ffill().bfill()
    return _Prices(
        own["open"].fillna(closes).to_frame(ticker),
        own["high"].fillna(closes).to_frame(ticker),
        own["low"].fillna(closes).to_frame(ticker),
        closes.to_frame(ticker),
        own["dividend"].fillna(0.0).to_frame(ticker),
    )


def _money(request: BacktestRequest, plan: BacktestPlan) -> dict[str, Any]:
    """The engine's money arguments: a lump `cash`, or the dated flows as `contributions`."""
    if request.contributions == "mine":
        assert plan.flows is not None
        return {"cash": 0.0, "contributions": plan.flows}
    return {"cash": request.cash}


def _session_flows(money: Mapping[str, Any], sessions: pd.DatetimeIndex) -> pd.Series:
    """External money per session, as the engine books it: the lump sum on the first session,
    each contribution on the first session on or after its date."""
    amounts = np.zeros(len(sessions))
    amounts[0] = money.get("cash") or 0.0
    contributions = money.get("contributions")
    if contributions is not None and len(contributions):
        positions = sessions.searchsorted(pd.DatetimeIndex(contributions.index))
        inside = positions < len(sessions)
        np.add.at(amounts, positions[inside], contributions.to_numpy(dtype="float64")[inside])
    return pd.Series(amounts, index=sessions)


def _dca_flows(amount: float, sessions: pd.DatetimeIndex) -> pd.Series:
    """`amount` on the first session of every month (the first session included)."""
    months = sessions.to_period("M")
    first_of_month = np.r_[True, months[1:] != months[:-1]]
    return pd.Series(np.where(first_of_month, amount, 0.0), index=sessions)


def _line(result: engine.BacktestResult, flows: pd.Series) -> _Line:
    return _Line(result.equity, result.trades, dict(result.metrics), flows)


def _strategy_line(
    request: BacktestRequest,
    plan: BacktestPlan,
    prices: _Prices,
    costs: Mapping[str, Any],
    money: Mapping[str, Any],
) -> _Line:
    sessions = prices.sessions
    ticker = request.ticker
    if ticker is None:
        if request.strategy == "rebalance":
            result = engine.rebalance(
                prices.opens,
                prices.closes,
                plan.weights,
                request.frequency,
                dividends=prices.dividends,
                **costs,
                **money,
            )
            return _line(result, _session_flows(money, sessions))
        return _basket_hold(plan.weights, prices, costs, money)
    own = {"dividends": prices.dividends[ticker], "ticker": ticker, **costs}
    if request.strategy == "sma_crossover":
        result = engine.sma_crossover(
            prices.ohlc(ticker), request.fast, request.slow, **own, **money
        )
    elif request.strategy == "dca":
        if request.contributions == "mine":
            result = engine.dollar_cost_average(
                prices.ohlc(ticker), request.amount, contributions=plan.flows, **own
            )
            return _line(result, _session_flows(money, sessions))
        result = engine.dollar_cost_average(prices.ohlc(ticker), request.amount, **own)
        return _line(result, _dca_flows(request.amount, sessions))
    else:
        result = engine.buy_and_hold(prices.ohlc(ticker), **own, **money)
    return _line(result, _session_flows(money, sessions))


def _basket_hold(
    weights: Mapping[str, float],
    prices: _Prices,
    costs: Mapping[str, Any],
    money: Mapping[str, Any],
) -> _Line:
    """Buy-and-hold of a basket: each ticker bought and held with its weight of every flow, so
    the basket's equity is the sum of its parts' equity."""
    parts = [
        engine.buy_and_hold(
            prices.ohlc(ticker),
            dividends=prices.dividends[ticker],
            ticker=ticker,
            **costs,
            **{name: value * weight for name, value in money.items()},
        )
        for ticker, weight in weights.items()
    ]
    equity = sum(part.equity for part in parts).rename("equity")
    trades = pd.concat([part.trades for part in parts], ignore_index=True)
    flows = _session_flows(money, prices.sessions)
    return _Line(equity, trades, _metrics_of(equity, flows, len(trades)), flows)


def _flow_returns(equity: pd.Series, flows: pd.Series) -> pd.Series:
    """The engine's returns: r[t] = (equity[t] - flow[t]) / equity[t-1] - 1, NaN while
    equity[t-1] <= 0, so money put in or taken out is neither a gain nor a loss."""
    previous = equity.shift(1)
    flow = flows.reindex(equity.index, fill_value=0.0)
    return ((equity - flow) / previous - 1.0).where(previous > 0)


def _metrics_of(equity: pd.Series, flows: pd.Series, trades: int) -> dict[str, float]:
    """The engine's metrics of a summed equity: metrics.summary of its flow-adjusted returns."""
    return metrics.summary(_flow_returns(equity, flows)) | {
        "trades": float(trades),
        "final_equity": float(equity.iloc[-1]),
        "invested": float(flows.sum()),
    }


def _buy_and_hold_line(
    request: BacktestRequest,
    plan: BacktestPlan,
    prices: _Prices,
    costs: Mapping[str, Any],
    money: Mapping[str, Any],
    strategy: _Line,
) -> _Line:
    """The same money in the same asset, bought and held; DCA is set against the lump sum of
    everything it invested, put in on the first session."""
    if request.strategy == "dca" and request.contributions == "lump":
        money = {"cash": float(strategy.flows.sum())}
    if request.ticker is None:
        return _basket_hold(plan.weights, prices, costs, money)
    result = engine.buy_and_hold(
        prices.ohlc(request.ticker),
        dividends=prices.dividends[request.ticker],
        ticker=request.ticker,
        **costs,
        **money,
    )
    return _line(result, _session_flows(money, prices.sessions))


def _benchmark_line(
    request: BacktestRequest,
    benchmark: _Prices,
    costs: Mapping[str, Any],
    money: Mapping[str, Any],
) -> _Line:
    """The strategy's money put into the benchmark ETF over the same sessions and held (for DCA,
    the same monthly amounts)."""
    ticker = request.benchmark
    own = {"dividends": benchmark.dividends[ticker], "ticker": ticker, **costs}
    if request.strategy == "dca" and request.contributions == "lump":
        result = engine.dollar_cost_average(benchmark.ohlc(ticker), request.amount, **own)
        return _line(result, _dca_flows(request.amount, benchmark.sessions))
    result = engine.buy_and_hold(benchmark.ohlc(ticker), **own, **money)
    return _line(result, _session_flows(money, benchmark.sessions))


def _sweep(request: BacktestRequest, prices: _Prices, costs: Mapping[str, Any]) -> dict[str, Any]:
    """The chosen metric for every (fast, slow) pair of the ranges, and the best pair."""
    # A window cannot be longer than the period: those are left out (and said so).
    sessions = len(prices.sessions)
    fast = list(range(request.fast_windows[0], min(request.fast_windows[1], sessions) + 1))
    slow = list(range(request.slow_windows[0], min(request.slow_windows[1], sessions) + 1))
    if not fast or not slow:
        raise InvalidInput("slow_windows", f"the period has only {sessions} sessions")
    ticker = request.ticker
    grid = engine.sma_sweep(
        prices.ohlc(ticker),
        fast,
        slow,
        metric=request.metric,
        cash=request.cash,
        dividends=prices.dividends[ticker],
        **costs,
    ).reindex(index=fast, columns=slow)
    values = grid.to_numpy(dtype="float64")
    best = None
    if np.isfinite(values).any():
        # Higher is better for every metric (drawdowns are negative) except volatility.
        pick = np.nanargmin if request.metric in LOWER_IS_BETTER else np.nanargmax
        row, column = np.unravel_index(pick(values), values.shape)
        best = {"fast": fast[row], "slow": slow[column], "value": float(values[row, column])}
    return {
        "metric": request.metric,
        "fast": fast,
        "slow": slow,
        "values": [[float(v) if np.isfinite(v) else None for v in row] for row in values],
        "best": best,
    }


def _drawdown(line: _Line) -> pd.Series:
    """Drawdown of the flow-adjusted returns (0 on the first session)."""
    return metrics.drawdown(_flow_returns(line.equity, line.flows))


def _provenance(ctx: AppContext, tickers: list[str], bars: PriceMatrix) -> dict[str, dict]:
    freshness = ctx.store.history_freshness(tickers)
    coverage = ctx.store.coverage(tickers)
    spans = bars.spans()
    result = {}
    for ticker in tickers:
        state = freshness[ticker]
        row = coverage.get(ticker)
        used = spans.get(ticker)
        result[ticker] = {
            "first_date": None if used is None else used[0].strftime("%Y-%m-%d"),
            "last_date": None if used is None else used[1].strftime("%Y-%m-%d"),
            "fetched_at": iso_or_none(row.fetched_at if row else None),
            "source": row.source if row else None,
            "state": state.state,
            "reason": state.reason,
            "as_of": iso_or_none(state.as_of),
            "price_only": is_index(ticker),
        }
    return result


def _trade_records(trades: pd.DataFrame) -> list[dict[str, Any]]:
    table = trades.reindex(columns=engine.TRADE_COLUMNS)
    for column in ("entry_time", "exit_time"):
        table[column] = pd.to_datetime(table[column]).dt.strftime("%Y-%m-%d")
    return [
        {name: _json(value) for name, value in record.items()}
        for record in table.astype(object).where(table.notna(), None).to_dict("records")
    ]


def _json(value: object) -> object:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
