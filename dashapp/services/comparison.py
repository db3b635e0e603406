"""Portfolio vs ETFs: the comparison a user opens the app for, computed from the price cache.

A comparison is keyed by portfolio version, benchmarks, period and the price-data version of
every ticker involved, and kept in the shared diskcache: a repeat view is a cache read, and any
new transaction or price makes a new key. Concurrent requests for one key compute it once.

One question, one call: `answer` says `Ready(result)` (cached, or every price at hand, so
computed now) or `NeedsFetch(plan)` (background work must fetch first: `compare` with `fetch`).
A request (`comparison_requests`) reads the portfolio and its ledger once (`ComparisonPlan`) and
the price-data version of each ticker once; everything below takes them as arguments.

This module is the use case: the answer's key and cache, and `explain` (the table behind a
figure). The result and its computation are `comparison_results`', from
parts (`comparison_parts`) that every benchmark set of one portfolio and window shares.
"""

from __future__ import annotations

import pandas as pd

from dashapp.services.answers import NeedsFetch, Progress, Ready, no_progress
from dashapp.services.comparison_requests import ComparisonPlan, ComparisonRequest, plan_comparison
from dashapp.services.comparison_results import (
    CACHE_SECONDS,
    FORMULA_VERSION,
    ComparisonResult,
    comparison_result,
)
from dashapp.services.context import AppContext
from dashapp.services.result_cache import cached_or_computed, digest
from dashapp.services.views import note_viewed


def answer(
    ctx: AppContext, request: ComparisonRequest
) -> Ready[ComparisonResult] | NeedsFetch[ComparisonPlan]:
    """The comparison a page asks for: `Ready` from the cache, or computed now when every price
    is stored (a fraction of a second); `NeedsFetch` when prices must be fetched first, which is
    background work (`compare` with `fetch`)."""
    plan = plan_comparison(ctx, request)
    versions = _price_versions(ctx, plan)
    key = _key(plan, versions)
    hit = ctx.cache.get(key)
    if hit is not None:
        return Ready(hit)
    if plan.first is not None and ctx.store.tickers_with_gaps(plan.tickers, plan.first, plan.today):
        return NeedsFetch(plan)
    return Ready(_answered(ctx, plan, versions, no_progress))


def compare(
    ctx: AppContext,
    request: ComparisonRequest,
    progress: Progress = no_progress,
    fetch: bool = True,
) -> ComparisonResult:
    """The comparison, JSON-ready: series, metrics, breakdown, provenance, warnings.

    With `fetch` (background work) missing prices are filled first; without it (a request),
    only what the cache holds is used and the provenance says what is stale or missing.
    """
    progress(5, "loading cached prices")
    plan = plan_comparison(ctx, request)
    if fetch and plan.first is not None:
        progress(15, "fetching missing prices")
        ctx.store.fill(list(plan.tickers), plan.first, plan.today)
    # Versioned after the fill: the key names the prices the answer is computed from.
    return _answered(ctx, plan, _price_versions(ctx, plan), progress)


def cache_key(ctx: AppContext, request: ComparisonRequest) -> str:
    """The key of this question's answer with the prices stored now."""
    plan = plan_comparison(ctx, request)
    return _key(plan, _price_versions(ctx, plan))


def cached_comparison(ctx: AppContext, request: ComparisonRequest) -> ComparisonResult | None:
    """The finished comparison if this exact question was answered with these exact prices."""
    return ctx.cache.get(cache_key(ctx, request))


def _price_versions(ctx: AppContext, plan: ComparisonPlan) -> dict[str, str]:
    """Each ticker's price-data version (one coverage read), for the answer's key and its parts'.
    A ticker without a coverage row (bars written outside the store) has none."""
    return {
        ticker: f"{row.data_version}:{row.first_date}:{row.last_date}:{row.fetched_at}"
        for ticker, row in ctx.store.coverage(plan.tickers).items()
    }


def _key(plan: ComparisonPlan, versions: dict[str, str]) -> str:
    request, portfolio = plan.request, plan.portfolio
    return "comparison:" + digest(
        [
            FORMULA_VERSION,
            portfolio.id,
            portfolio.version,
            request.benchmarks,
            request.period,
            str(request.start),
            str(request.end),
            [versions.get(ticker) for ticker in plan.tickers],
            str(plan.today),
        ]
    )


def _answered(
    ctx: AppContext, plan: ComparisonPlan, versions: dict[str, str], progress: Progress
) -> ComparisonResult:
    note_viewed(ctx, plan.tickers)
    key = _key(plan, versions)

    def computed() -> ComparisonResult:
        progress(50, "computing")
        result = comparison_result(ctx, plan, versions)
        ctx.counters.add("comparisons_computed")
        return result

    hit, fresh = cached_or_computed(ctx, key, computed, expire=CACHE_SECONDS)
    progress(90, "drawing" if fresh else "from cache")
    return hit


def explain(payload: ComparisonResult, series_name: str) -> pd.DataFrame:
    """The daily table a figure was computed from: value, flow, dividends, return, growth.

    `flow` is money put in (+) or taken out (-) that session; the period's first row carries the
    value at its start, which both the portfolio and its shadows begin from. `daily_return` is
    the return the metrics chain (`performance.period_returns`): none on the first row, and when
    the period starts from nothing the second row's covers the trade price to the second close.
    """
    series = payload["series"]
    if series_name == "portfolio":
        part = series["portfolio"]
        return pd.DataFrame(
            {
                "date": series["dates"],
                "value": part["value"],
                "flow": part["flow"],
                "dividends": part["dividends"],
                "daily_return": part["twr"],
                "growth_of_10000": part["growth"],
            }
        )
    part = series["benchmarks"][series_name]
    return pd.DataFrame(
        {
            "date": series["dates"],
            "shadow_value": part["shadow_value"],
            "flow": series["portfolio"]["flow"],
            "daily_return": part["daily_return"],
            "growth_of_10000": part["growth"],
        }
    )
