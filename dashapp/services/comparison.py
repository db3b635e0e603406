"""Portfolio vs ETFs: the comparison a user opens the app for, computed from the price cache.

A comparison is keyed by portfolio version, benchmarks, period and the price-data version of
every ticker involved, and kept in the shared diskcache: a repeat view is a cache read, and any
new transaction or price makes a new key. Concurrent requests for one key compute it once.

One question, one call: `answer` says `Ready(result)` (cached, or every price at hand, so
computed now) or `NeedsFetch(plan)` (background work must fetch first: `compare` with `fetch`).
A request reads the portfolio and its ledger once (`ComparisonPlan`) and works out its cache
key once; everything below takes them as arguments.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from dashapp.analytics import metrics
from dashapp.analytics.performance import portfolio_series, xirr
from dashapp.analytics.periods import PERIODS, UnknownPeriod, period_range
from dashapp.analytics.shadow_portfolios import (
    daily_total_returns,
    growth_of,
    shadow_dividends,
    shadow_values,
    total_return_index,
)
from dashapp.market.demo import includes_demo_prices
from dashapp.market.price_matrix import price_matrix
from dashapp.rules import TICKER_PATTERN, is_index, price_only_warning
from dashapp.services.answers import NeedsFetch, Progress, Ready, no_progress
from dashapp.services.context import AppContext
from dashapp.services.portfolios import InvalidInput, Ledger, PortfolioSummary, load_ledger
from dashapp.services.result_cache import cached_or_computed
from dashapp.services.views import note_viewed

DEFAULT_BENCHMARKS = ("SPY", "QQQ", "VTI")
# The ETFs the comparison page offers; the warm job keeps them all cached, so choosing one
# never waits on a fetch.
SUGGESTED_BENCHMARKS = (*DEFAULT_BENCHMARKS, "VOO", "IWM", "DIA", "VXUS", "BND", "AGG", "SCHD")
MAX_BENCHMARKS = 10
GROWTH_BASE = 10_000.0
CACHE_SECONDS = 7 * 24 * 3600


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


def answer(ctx: AppContext, request: ComparisonRequest) -> Ready | NeedsFetch:
    """The comparison a page asks for: `Ready` from the cache, or computed now when every price
    is stored (a fraction of a second); `NeedsFetch` when prices must be fetched first, which is
    background work (`compare` with `fetch`)."""
    plan = plan_comparison(ctx, request)
    key = _key(ctx, plan)
    hit = ctx.cache.get(key)
    if hit is not None:
        return Ready(hit)
    if plan.first is not None and ctx.store.tickers_with_gaps(plan.tickers, plan.first, plan.today):
        return NeedsFetch(plan)
    return Ready(_answered(ctx, plan, key, no_progress))


def compare(
    ctx: AppContext,
    request: ComparisonRequest,
    progress: Progress = no_progress,
    fetch: bool = True,
) -> dict[str, Any]:
    """The comparison as a JSON-ready dict: series, metrics, breakdown, provenance, warnings.

    With `fetch` (background work) missing prices are filled first; without it (a request),
    only what the cache holds is used and the provenance says what is stale or missing.
    """
    progress(5, "loading cached prices")
    plan = plan_comparison(ctx, request)
    if fetch and plan.first is not None:
        progress(15, "fetching missing prices")
        ctx.store.fill(list(plan.tickers), plan.first, plan.today)
    # Keyed after the fill: the key names the prices the answer is computed from.
    return _answered(ctx, plan, _key(ctx, plan), progress)


def cache_key(ctx: AppContext, request: ComparisonRequest) -> str:
    """The key of this question's answer with the prices stored now."""
    return _key(ctx, plan_comparison(ctx, request))


def cached_comparison(ctx: AppContext, request: ComparisonRequest) -> dict[str, Any] | None:
    """The finished comparison if this exact question was answered with these exact prices."""
    return ctx.cache.get(cache_key(ctx, request))


def _key(ctx: AppContext, plan: ComparisonPlan) -> str:
    request, portfolio = plan.request, plan.portfolio
    raw = json.dumps(
        [
            portfolio.id,
            portfolio.version,
            request.benchmarks,
            request.period,
            str(request.start),
            str(request.end),
            ctx.store.price_data_version(plan.tickers),
            str(plan.today),
        ]
    )
    return "comparison:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def _answered(
    ctx: AppContext, plan: ComparisonPlan, key: str, progress: Progress
) -> dict[str, Any]:
    note_viewed(ctx, plan.tickers)

    def computed() -> dict[str, Any]:
        progress(50, "computing")
        result = _compute(ctx, plan)
        ctx.counters.add("comparisons_computed")
        return result

    hit, fresh = cached_or_computed(ctx, key, computed, expire=CACHE_SECONDS)
    progress(90, "drawing" if fresh else "from cache")
    return hit


def _compute(ctx: AppContext, plan: ComparisonPlan) -> dict[str, Any]:
    request, portfolio, first, today = plan.request, plan.portfolio, plan.first, plan.today
    tickers = list(plan.tickers)
    freshness = ctx.store.history_freshness(tickers)
    provenance = {
        ticker: {
            "state": f.state,
            "reason": f.reason,
            "source": f.source,
            "as_of": _iso(f.as_of),
            "price_only": is_index(ticker),
        }
        for ticker, f in freshness.items()
    }
    empty = {
        "portfolio": {"id": portfolio.id, "name": portfolio.name, "version": portfolio.version},
        "provenance": provenance,
        "demo_data": ctx.is_demo_data
        or includes_demo_prices(p["source"] for p in provenance.values()),
    }
    if first is None:
        return {
            **empty,
            "series": None,
            "metrics": {},
            "breakdown": {},
            "warnings": ["The portfolio has no transactions yet."],
        }
    prices = price_matrix(
        ctx.store, ctx.cache, tickers, first - timedelta(days=7), request.end or today
    )
    if prices.empty:
        return {
            **empty,
            "series": None,
            "metrics": {},
            "breakdown": {},
            "warnings": ["No prices are stored yet for this portfolio."],
        }
    closes = prices.frame("close")
    dividends = prices.frame("dividend").fillna(0.0)
    splits = prices.frame("split_ratio").fillna(1.0)
    sessions = pd.DatetimeIndex(ctx.calendar.sessions(first, request.end or today))
    sessions = sessions[sessions <= closes.index.max()]
    closes, dividends, splits = (frame.reindex(sessions) for frame in (closes, dividends, splits))

    holdings = set(plan.ledger.tickers)
    held = [t for t in closes.columns if t in holdings]
    whole = _portfolio_frame(ctx, plan.ledger, closes[held], splits[held])
    start, end = _window(request, whole, today)
    window = whole.loc[start:end]
    if len(window) < 2:
        return {
            **empty,
            "series": None,
            "metrics": {},
            "breakdown": {},
            "warnings": ["The period holds fewer than two sessions."],
        }

    flows = window["flow"].copy()
    portfolio_returns = window["twr"].copy()
    before = whole["value"].loc[: start - pd.Timedelta(days=1)]
    if len(before) and before.iloc[-1] > 0:
        # A period that starts with money already in: its first close acts as the deposit.
        flows.iloc[0] = window["value"].iloc[0]
        portfolio_returns.iloc[0] = np.nan

    available = [
        b
        for b in request.benchmarks
        if b in closes.columns and closes[b].loc[start:end].notna().any()
    ]
    warnings = [
        f"{b}: no prices stored; {provenance.get(b, {}).get('reason', 'not fetched yet')}"
        for b in request.benchmarks
        if b not in available
    ]
    warnings += [
        f"{b}: {provenance[b]['reason']}"
        for b in available
        if provenance.get(b, {}).get("state") == "stale"
    ]
    warnings += [price_only_warning(b) for b in available if is_index(b)]
    bench_closes = closes[available].loc[start:end]
    bench_dividends = dividends[available].loc[start:end]
    index = total_return_index(bench_closes, bench_dividends)
    bench_returns = daily_total_returns(bench_closes, bench_dividends)
    shadows = shadow_values(flows, index)

    risk_free = ctx.settings.risk_free_rate
    final_value = float(window["value"].iloc[-1])
    result_metrics = {"portfolio": metrics.summary(portfolio_returns, risk_free)}
    result_metrics["portfolio"]["xirr"] = xirr(window.index, flows, final_value)
    for benchmark in available:
        # A benchmark's row: its own figures, then the portfolio's figures against it.
        result_metrics[benchmark] = (
            metrics.summary(bench_returns[benchmark], risk_free)
            | {"xirr": xirr(window.index, flows, float(shadows[benchmark].iloc[-1]))}
            | metrics.relative(portfolio_returns, bench_returns[benchmark], risk_free)
        )
    breakdown = _breakdown(window, flows, shadows, bench_closes, bench_dividends, index)
    series = {
        "dates": window.index.strftime("%Y-%m-%d").tolist(),
        "portfolio": {
            "value": _floats(window["value"]),
            "flow": _floats(flows),
            "dividends": _floats(window["dividends"]),
            "twr": _floats(portfolio_returns),
            "growth": _floats(growth_of(GROWTH_BASE, portfolio_returns)),
            "drawdown": _floats(metrics.drawdown(portfolio_returns)),
        },
        "benchmarks": {
            benchmark: {
                "shadow_value": _floats(shadows[benchmark]),
                "daily_return": _floats(bench_returns[benchmark]),
                "growth": _floats(growth_of(GROWTH_BASE, bench_returns[benchmark])),
                "drawdown": _floats(metrics.drawdown(bench_returns[benchmark])),
            }
            for benchmark in available
        },
    }
    return {
        **empty,
        "start": start.strftime("%Y-%m-%d"),
        "end": end.strftime("%Y-%m-%d"),
        "series": series,
        "metrics": {name: _clean(values) for name, values in result_metrics.items()},
        "breakdown": breakdown,
        "warnings": warnings,
    }


def _portfolio_frame(
    ctx: AppContext, ledger: Ledger, closes: pd.DataFrame, splits: pd.DataFrame
) -> pd.DataFrame:
    """The portfolio's value, flows and returns over all its sessions. Every benchmark set and
    period of one ledger version reads the same frame, so it is kept in the shared cache under
    the ledger version, the held tickers' price-data version and the sessions."""
    sessions = closes.index
    portfolio = ledger.portfolio
    raw = json.dumps(
        [
            portfolio.id,
            portfolio.version,
            list(closes.columns),
            ctx.store.price_data_version(closes.columns),
            str(sessions[0]) if len(sessions) else None,
            str(sessions[-1]) if len(sessions) else None,
            len(sessions),
        ]
    )
    key = "portfolio_series:" + hashlib.sha256(raw.encode()).hexdigest()[:32]
    frame = ctx.cache.get(key)
    if frame is None:
        frame = portfolio_series(ledger.frame, closes, splits).frame
        # Without the calendar's frequency: pickling its holiday list costs more than the frame.
        frame = frame.set_axis(pd.DatetimeIndex(frame.index.to_numpy()))
        ctx.cache.set(key, frame, expire=CACHE_SECONDS)
    return frame


def explain(payload: dict[str, Any], series_name: str) -> pd.DataFrame:
    """The daily table a figure was computed from: value, flow, dividends, return, growth.

    `flow` is money put in (+) or taken out (-) that session; the period's first row carries the
    value at its start, which both the portfolio and its shadows begin from.
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


def _window(
    request: ComparisonRequest, whole: pd.DataFrame, today: date
) -> tuple[pd.Timestamp, pd.Timestamp]:
    invested = whole.index[whole["value"] > 0]
    first = invested[0].date() if len(invested) else whole.index[0].date()
    end = min(request.end or today, whole.index[-1].date())
    if request.period == "CUSTOM":
        start = max(request.start or first, first)
    else:
        try:
            start, end = period_range(request.period, end, first)
        except UnknownPeriod as error:
            raise InvalidInput("period", str(error)) from None
    days = whole.index[(whole.index >= pd.Timestamp(start)) & (whole.index <= pd.Timestamp(end))]
    if len(days) == 0:
        return pd.Timestamp(end), pd.Timestamp(end)
    return days[0], days[-1]


def _breakdown(window, flows, shadows, closes, dividends, index) -> dict[str, dict[str, float]]:
    """total gain = end value - money put in over the period; price gain = total - dividends + fees."""
    net_in = float(flows.sum())
    total = float(window["value"].iloc[-1]) - net_in
    received = float(window["dividends"].iloc[1:].sum())
    fees = float(window["fees"].iloc[1:].sum())
    result = {
        "portfolio": {
            "total_gain": total,
            "price_gain": total - received + fees,
            "dividends": received,
            "fees": fees,
        }
    }
    earned = shadow_dividends(flows, closes, dividends, index)
    for benchmark in shadows.columns:
        gain = float(shadows[benchmark].iloc[-1]) - net_in
        paid = float(earned[benchmark].sum())
        result[benchmark] = {
            "total_gain": gain,
            "price_gain": gain - paid,
            "dividends": paid,
            "fees": 0.0,
        }
    return {name: _clean(values) for name, values in result.items()}


def _floats(values: pd.Series) -> list[float | None]:
    array = values.to_numpy(dtype="float64")
    # tolist() gives Python floats at once; a series is thousands of values per response.
    finite = np.isfinite(array).tolist()
    return [round(v, 10) if ok else None for v, ok in zip(array.tolist(), finite, strict=True)]


def _clean(values: dict[str, Any]) -> dict[str, float | None]:
    return {
        name: (float(value) if value is not None and np.isfinite(value) else None)
        for name, value in values.items()
    }


def _iso(value: object) -> str | None:
    return None if value is None else pd.Timestamp(value).isoformat()


def _parse_day(field: str, raw: str | None) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(field, f"{field} must be a date like 2024-01-31") from None
