"""A comparison's result, computed from the stored prices: the portfolio beside each benchmark's
shadow portfolio over a window, with their metrics, gain breakdowns, provenance and warnings.

The result is JSON-ready (`ComparisonResult`, keys as below): it is kept in the shared cache and
sent as it is by the JSON API and to the pages. It is assembled from parts cached on their own
(`comparison_parts`): the portfolio's series over all its sessions under the ledger version and
its tickers' price-data versions; its figures over the window under that series' key and the
window; each benchmark's figures under those and its own price-data version.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import NotRequired, TypedDict

import pandas as pd

from dashapp.analytics.performance import period_returns, portfolio_series
from dashapp.market.demo import includes_demo_prices
from dashapp.market.price_matrix import price_matrix
from dashapp.rules import STALE, FreshnessState, is_index, price_only_warning
from dashapp.services.comparison_parts import (
    BenchmarkLine,
    BenchmarkPart,
    Breakdown,
    Metrics,
    PortfolioLine,
    benchmark_part,
    portfolio_part,
)
from dashapp.services.comparison_requests import ComparisonPlan, ComparisonRequest
from dashapp.services.context import AppContext
from dashapp.services.json_numbers import iso_or_none
from dashapp.services.portfolios import Ledger
from dashapp.services.request_periods import requested_range
from dashapp.services.result_cache import cached_or_computed, digest

CACHE_SECONDS = 7 * 24 * 3600
# Part of every comparison key: raise it when the same inputs give different figures, so a
# deployment onto a warm cache never serves, or mixes parts with, what the old formulas computed.
# 2: a period's returns start on its second session (`performance.period_returns`).
FORMULA_VERSION = 2


class PortfolioIdentity(TypedDict):
    """Which portfolio, at which version of its ledger."""

    id: int
    name: str
    version: int


class PriceProvenance(TypedDict):
    """One ticker's stored prices: their freshness, why, where from, as of when."""

    state: FreshnessState
    reason: str
    source: str | None
    as_of: str | None
    price_only: bool


class ComparisonSeries(TypedDict):
    """The window's sessions, the portfolio's line and each benchmark's, on those sessions."""

    dates: list[str]
    portfolio: PortfolioLine
    benchmarks: dict[str, BenchmarkLine]


class ComparisonResult(TypedDict):
    """The comparison (see the module docstring). Without a window to show (no transactions, no
    prices, fewer than two sessions) `series` is None, `metrics` and `breakdown` are empty,
    there is no `start` and `end`, and `warnings` says why. `metrics` and `breakdown` are keyed
    "portfolio", then each benchmark with prices."""

    portfolio: PortfolioIdentity
    provenance: dict[str, PriceProvenance]
    demo_data: bool
    start: NotRequired[str]
    end: NotRequired[str]
    series: ComparisonSeries | None
    metrics: dict[str, Metrics]
    breakdown: dict[str, Breakdown]
    warnings: list[str]


def comparison_result(
    ctx: AppContext, plan: ComparisonPlan, versions: dict[str, str]
) -> ComparisonResult:
    """Compute the comparison from the stored prices (none fetched here), its parts from the
    cache when there; `versions` are the tickers' price-data versions, for the parts' keys."""
    request, portfolio, first, today = plan.request, plan.portfolio, plan.first, plan.today
    tickers = list(plan.tickers)
    provenance = _provenance(ctx, tickers)
    identity = PortfolioIdentity(id=portfolio.id, name=portfolio.name, version=portfolio.version)
    demo_data = ctx.is_demo_data or includes_demo_prices(p["source"] for p in provenance.values())

    def unanswered(why: str) -> ComparisonResult:
        return ComparisonResult(
            portfolio=identity,
            provenance=provenance,
            demo_data=demo_data,
            series=None,
            metrics={},
            breakdown={},
            warnings=[why],
        )

    if first is None:
        return unanswered("The portfolio has no transactions yet.")
    prices = price_matrix(
        ctx.store, ctx.cache, tickers, first - timedelta(days=7), request.end or today
    )
    if prices.empty:
        return unanswered("No prices are stored yet for this portfolio.")
    closes = prices.frame("close")
    dividends = prices.frame("dividend").fillna(0.0)
    splits = prices.frame("split_ratio").fillna(1.0)
    sessions = pd.DatetimeIndex(ctx.calendar.sessions(first, request.end or today))
    sessions = sessions[sessions <= closes.index.max()]
    closes, dividends, splits = (frame.reindex(sessions) for frame in (closes, dividends, splits))

    holdings = set(plan.ledger.tickers)
    held = [t for t in closes.columns if t in holdings]
    whole, series_key = portfolio_frame(ctx, plan.ledger, closes[held], splits[held], versions)
    start, end = window_of(request, whole, today)
    window = whole.loc[start:end]
    if len(window) < 2:
        return unanswered("The period holds fewer than two sessions.")

    flows = window["flow"].copy()
    before = whole["value"].loc[: start - pd.Timedelta(days=1)]
    invested_before = bool(len(before) and before.iloc[-1] > 0)
    if invested_before:
        # A period that starts with money already in: its first close acts as the deposit.
        flows.iloc[0] = window["value"].iloc[0]
    portfolio_returns = period_returns(window["twr"], invested_before)

    available = [
        b
        for b in request.benchmarks
        if b in closes.columns and closes[b].loc[start:end].notna().any()
    ]
    risk_free = ctx.settings.risk_free_rate
    # Every benchmark set of this portfolio series and window shares these parts.
    window_key = digest([FORMULA_VERSION, series_key, str(start), str(end), risk_free])
    own, _ = cached_or_computed(
        ctx,
        "comparison_portfolio:" + window_key,
        lambda: portfolio_part(window, flows, portfolio_returns, risk_free),
        expire=CACHE_SECONDS,
    )
    parts: dict[str, BenchmarkPart] = {}
    for benchmark in available:

        def part(benchmark: str = benchmark) -> BenchmarkPart:
            return benchmark_part(
                flows,
                portfolio_returns,
                closes[[benchmark]].loc[start:end],
                dividends[[benchmark]].loc[start:end],
                risk_free,
            )

        if benchmark in versions:
            key = f"comparison_benchmark:{benchmark}:{versions[benchmark]}:{window_key}"
            parts[benchmark], _ = cached_or_computed(ctx, key, part, expire=CACHE_SECONDS)
        else:
            # Nothing would tell its stored bars apart from newer ones: computed every time.
            parts[benchmark] = part()
    return ComparisonResult(
        portfolio=identity,
        provenance=provenance,
        demo_data=demo_data,
        start=start.strftime("%Y-%m-%d"),
        end=end.strftime("%Y-%m-%d"),
        series=ComparisonSeries(
            dates=own["dates"],
            portfolio=own["series"],
            benchmarks={name: values["series"] for name, values in parts.items()},
        ),
        metrics={"portfolio": own["metrics"]}
        | {name: values["metrics"] for name, values in parts.items()},
        breakdown={"portfolio": own["breakdown"]}
        | {name: values["breakdown"] for name, values in parts.items()},
        warnings=_benchmark_warnings(request.benchmarks, available, provenance),
    )


def _provenance(ctx: AppContext, tickers: list[str]) -> dict[str, PriceProvenance]:
    return {
        ticker: PriceProvenance(
            state=f.state,
            reason=f.reason,
            source=f.source,
            as_of=iso_or_none(f.as_of),
            price_only=is_index(ticker),
        )
        for ticker, f in ctx.store.history_freshness(tickers).items()
    }


def _benchmark_warnings(
    benchmarks: tuple[str, ...], available: list[str], provenance: dict[str, PriceProvenance]
) -> list[str]:
    """Benchmarks without prices in the window, with stale prices, or prices only (an index)."""
    return [
        *(
            f"{b}: no prices stored; {provenance.get(b, {}).get('reason', 'not fetched yet')}"
            for b in benchmarks
            if b not in available
        ),
        *(
            f"{b}: {provenance[b]['reason']}"
            for b in available
            if provenance.get(b, {}).get("state") == STALE
        ),
        *(price_only_warning(b) for b in available if is_index(b)),
    ]


def portfolio_frame(
    ctx: AppContext,
    ledger: Ledger,
    closes: pd.DataFrame,
    splits: pd.DataFrame,
    versions: dict[str, str],
) -> tuple[pd.DataFrame, str]:
    """The portfolio's value, flows and returns over all its sessions, and its cache key. Every
    benchmark set and period of one ledger version reads the same frame, so it is kept in the
    shared cache under the ledger version, the held tickers' price-data versions and the
    sessions."""
    sessions = closes.index
    portfolio = ledger.portfolio
    key = "portfolio_series:" + digest(
        [
            portfolio.id,
            portfolio.version,
            list(closes.columns),
            [versions.get(ticker) for ticker in closes.columns],
            str(sessions[0]) if len(sessions) else None,
            str(sessions[-1]) if len(sessions) else None,
            len(sessions),
        ]
    )
    frame = ctx.cache.get(key)
    if frame is None:
        frame = portfolio_series(ledger.frame, closes, splits).frame
        # Without the calendar's frequency: pickling its holiday list costs more than the frame.
        frame = frame.set_axis(pd.DatetimeIndex(frame.index.to_numpy()))
        ctx.cache.set(key, frame, expire=CACHE_SECONDS)
    return frame, key


def window_of(
    request: ComparisonRequest, whole: pd.DataFrame, today: date
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last session of the requested period, from the first session with money in
    at the earliest."""
    invested = whole.index[whole["value"] > 0]
    first = invested[0].date() if len(invested) else whole.index[0].date()
    end = min(request.end or today, whole.index[-1].date())
    start, end = requested_range(request.period, request.start, end, first)
    days = whole.index[(whole.index >= pd.Timestamp(start)) & (whole.index <= pd.Timestamp(end))]
    if len(days) == 0:
        return pd.Timestamp(end), pd.Timestamp(end)
    return days[0], days[-1]
