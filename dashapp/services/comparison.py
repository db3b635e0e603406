"""Portfolio vs ETFs: the comparison a user opens the app for, computed from the price cache.

A comparison is keyed by portfolio version, benchmarks, period and the price-data version of
every ticker involved, and kept in the shared diskcache: a repeat view is a cache read, and any
new transaction or price makes a new key. Concurrent requests for one key compute it once.

One question, one call: `answer` says `Ready(result)` (cached, or every price at hand, so
computed now) or `NeedsFetch(plan)` (background work must fetch first: `compare` with `fetch`).
A request reads the portfolio and its ledger once (`ComparisonPlan`) and the price-data version
of each ticker once; everything below takes them as arguments.

This module is the use case: the request, the plan, the answer's key and cache, and `explain`
(the table behind a figure). The result and its computation are `comparison_results`', from
parts (`comparison_parts`) that every benchmark set of one portfolio and window shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from dashapp.analytics.periods import PERIODS
from dashapp.rules import TICKER_PATTERN
from dashapp.services.answers import NeedsFetch, Progress, Ready, no_progress
from dashapp.services.comparison_results import (
    CACHE_SECONDS,
    FORMULA_VERSION,
    ComparisonResult,
    comparison_result,
    digest,
)
from dashapp.services.context import AppContext
from dashapp.services.portfolios import InvalidInput, Ledger, PortfolioSummary, load_ledger
from dashapp.services.result_cache import cached_or_computed
from dashapp.services.views import note_viewed

DEFAULT_BENCHMARKS = ("SPY", "QQQ", "VTI")
# The ETFs the comparison page offers; the warm job keeps them all cached, so choosing one
# never waits on a fetch.
SUGGESTED_BENCHMARKS = (*DEFAULT_BENCHMARKS, "VOO", "IWM", "DIA", "VXUS", "BND", "AGG", "SCHD")
MAX_BENCHMARKS = 10


@dataclass(frozen=True)
class ComparisonRequest:
    portfolio_id: int
    benchmarks: tuple[str, ...] = DEFAULT_BENCHMARKS
    period: str = "1Y"
    start: date | None = None
    end: date | None = None


def parse_request(
    portfolio_id: int,
    benchmarks: str | list[str] | None,
    period: str | None,
    start: str | None = None,
    end: str | None = None,
) -> ComparisonRequest:
    """Validate what a user or script asked for; InvalidInput names the parameter at fault."""
    names = benchmarks.split(",") if isinstance(benchmarks, str) else list(benchmarks or [])
    cleaned = tuple(dict.fromkeys(name.strip().upper() for name in names if name.strip()))
    if not cleaned:
        cleaned = DEFAULT_BENCHMARKS
    if len(cleaned) > MAX_BENCHMARKS:
        raise InvalidInput("benchmarks", f"at most {MAX_BENCHMARKS} benchmarks")
    for name in cleaned:
        if not TICKER_PATTERN.match(name):
            raise InvalidInput("benchmarks", f"{name[:20]!r} is not a ticker symbol")
    start_day = _parse_day("start", start)
    end_day = _parse_day("end", end)
    if start_day and end_day and start_day >= end_day:
        raise InvalidInput("start", "start must be before end")
    chosen = (period or ("CUSTOM" if start_day else "1Y")).strip().upper()
    if chosen != "CUSTOM" and chosen not in PERIODS:
        raise InvalidInput("period", f"period must be one of {', '.join(PERIODS)} or custom dates")
    if chosen == "CUSTOM" and start_day is None:
        raise InvalidInput("start", "a custom period needs a start date")
    return ComparisonRequest(portfolio_id, cleaned, chosen, start_day, end_day)


@dataclass(frozen=True)
class ComparisonPlan:
    """A request resolved against the database once: the portfolio and its ledger, every ticker
    involved (held and benchmarks, sorted), the first trade day and today."""

    request: ComparisonRequest
    ledger: Ledger = field(compare=False)
    tickers: tuple[str, ...]
    first: date | None
    today: date

    @property
    def portfolio(self) -> PortfolioSummary:
        return self.ledger.portfolio


def plan_comparison(ctx: AppContext, request: ComparisonRequest) -> ComparisonPlan:
    """Read the portfolio and its ledger (raises PortfolioNotFound)."""
    ledger = load_ledger(ctx, request.portfolio_id)
    return ComparisonPlan(
        request=request,
        ledger=ledger,
        tickers=tuple(sorted({*ledger.tickers, *request.benchmarks})),
        first=ledger.first_trade_date,
        today=ctx.clock.now().date(),
    )


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


def _parse_day(field: str, raw: str | None) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(field, f"{field} must be a date like 2024-01-31") from None
