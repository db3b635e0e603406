"""Strategy backtests on a ticker or on a portfolio's current basket, answered from the price cache.

A request names a subject (a ticker, or a portfolio whose open positions form a basket weighted
by current market value), a strategy of `analytics.backtest`, a period, the money (a lump sum,
or the portfolio's real dated external flows: "mine") and the costs. The result is JSON-ready
(`backtest_results.BacktestResult`): the strategy's equity beside buy-and-hold of the same asset
and the same money put into a benchmark ETF, drawdowns, trades, metrics, the provenance of every
price used and warnings.

Results are cached in the shared diskcache under sha256(canonical request, resolved window,
portfolio version and weights) plus the price-data version of every ticker used, not a TTL: a
repeat is a cache read, a new bar makes a new key. A diskcache lock makes concurrent identical
requests compute once. Only complete results (no ticker without prices) are cached.

One question, one call: `answer` says `Ready(result)` (cached, or every price stored, so
computed now) or `NeedsFetch(plan)` (background work: `run_backtest` with `fetch`). A request
plans itself once (`backtest_plans.plan_backtest`) and works out its key once; everything below
takes them as arguments. This module is the use case: the plan, the key, the cache and the
warm job; `backtest_runs` runs the engine and `backtest_results` assembles the result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from dashapp.rules import TICKER_PATTERN
from dashapp.services.answers import NeedsFetch, Progress, Ready, no_progress
from dashapp.services.backtest_plans import BacktestPlan, plan_backtest
from dashapp.services.backtest_requests import BacktestRequest, canonical_request
from dashapp.services.backtest_results import BacktestResult, backtest_result
from dashapp.services.context import AppContext
from dashapp.services.portfolios import InvalidInput
from dashapp.services.result_cache import cached_or_computed, digest

log = logging.getLogger(__name__)
CACHE_SECONDS = 30 * 24 * 3600
WARM_PERIOD = "5Y"


def cache_key(ctx: AppContext, request: BacktestRequest, plan: BacktestPlan | None = None) -> str:
    """The key of this question's result with the prices stored now (planned unless given)."""
    plan = plan or plan_backtest(ctx, request)
    identity = {
        "request": canonical_request(request),
        "window": [plan.start.isoformat(), plan.end.isoformat()],
        "portfolio_version": plan.portfolio.version if plan.portfolio else None,
        "weights": plan.weights,
    }
    return f"backtest:{digest(identity)}:{ctx.store.price_data_version(plan.tickers)}"


def cached_backtest(ctx: AppContext, request: BacktestRequest) -> BacktestResult | None:
    """The finished result if this exact question was answered with these exact prices."""
    return ctx.cache.get(cache_key(ctx, request))


def answer(
    ctx: AppContext, request: BacktestRequest
) -> Ready[BacktestResult] | NeedsFetch[BacktestPlan]:
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
) -> BacktestResult:
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
) -> BacktestResult:
    def computed() -> BacktestResult:
        report(40, "computing")
        result = backtest_result(ctx, request, plan, report)
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
