"""Portfolio vs ETFs: the comparison a user opens the app for, computed from the price cache.

A comparison is keyed by portfolio version, benchmarks, period and the price-data version of
every ticker involved, and kept in the shared diskcache: a repeat view is a cache read, and any
new transaction or price makes a new key. Concurrent requests for one key compute it once.

One question, one call: `answer` says `Ready(result)` (cached, or every price at hand, so
computed now) or `NeedsFetch(plan)` (background work must fetch first: `compare` with `fetch`).
A request reads the portfolio and its ledger once (`ComparisonPlan`) and the price-data version
of each ticker once; everything below takes them as arguments.

Users try a new benchmark set nearly every time, so the whole answer rarely repeats, but its
parts do: the portfolio's figures over a window are the same for every set, and a benchmark's
figures against that window are the same in every set that holds it. Each part is kept in the
shared cache too, under the portfolio series' key and the window (and the benchmark with its
price-data version), and an answer is assembled from them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from dashapp.analytics import metrics
from dashapp.analytics.performance import period_returns, portfolio_series, xirr
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
from dashapp.services.json_numbers import float_list, float_map, iso_or_none
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
    # Versioned after the fill: the key names the prices the answer is computed from.
    return _answered(ctx, plan, _price_versions(ctx, plan), progress)


def cache_key(ctx: AppContext, request: ComparisonRequest) -> str:
    """The key of this question's answer with the prices stored now."""
    plan = plan_comparison(ctx, request)
    return _key(plan, _price_versions(ctx, plan))


def cached_comparison(ctx: AppContext, request: ComparisonRequest) -> dict[str, Any] | None:
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
    return "comparison:" + _digest(
        [
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


def _digest(parts: list[Any]) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _answered(
    ctx: AppContext, plan: ComparisonPlan, versions: dict[str, str], progress: Progress
) -> dict[str, Any]:
    note_viewed(ctx, plan.tickers)
    key = _key(plan, versions)

    def computed() -> dict[str, Any]:
        progress(50, "computing")
        result = _compute(ctx, plan, versions)
        ctx.counters.add("comparisons_computed")
        return result

    hit, fresh = cached_or_computed(ctx, key, computed, expire=CACHE_SECONDS)
    progress(90, "drawing" if fresh else "from cache")
    return hit


def _compute(ctx: AppContext, plan: ComparisonPlan, versions: dict[str, str]) -> dict[str, Any]:
    request, portfolio, first, today = plan.request, plan.portfolio, plan.first, plan.today
    tickers = list(plan.tickers)
    freshness = ctx.store.history_freshness(tickers)
    provenance = {
        ticker: {
            "state": f.state,
            "reason": f.reason,
            "source": f.source,
            "as_of": iso_or_none(f.as_of),
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
    whole, series_key = _portfolio_frame(ctx, plan.ledger, closes[held], splits[held], versions)
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
    risk_free = ctx.settings.risk_free_rate
    # Every benchmark set of this portfolio series and window shares these parts.
    window_key = _digest([series_key, str(start), str(end), risk_free])
    own, _ = cached_or_computed(
        ctx,
        "comparison_portfolio:" + window_key,
        lambda: _portfolio_part(window, flows, portfolio_returns, risk_free),
        expire=CACHE_SECONDS,
    )
    parts = {}
    for benchmark in available:

        def part(benchmark: str = benchmark) -> dict[str, Any]:
            return _benchmark_part(
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
    series = {
        "dates": own["dates"],
        "portfolio": own["series"],
        "benchmarks": {name: values["series"] for name, values in parts.items()},
    }
    return {
        **empty,
        "start": start.strftime("%Y-%m-%d"),
        "end": end.strftime("%Y-%m-%d"),
        "series": series,
        "metrics": {"portfolio": own["metrics"]}
        | {name: values["metrics"] for name, values in parts.items()},
        "breakdown": {"portfolio": own["breakdown"]}
        | {name: values["breakdown"] for name, values in parts.items()},
        "warnings": warnings,
    }


def _portfolio_frame(
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
    key = "portfolio_series:" + _digest(
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


def _portfolio_part(
    window: pd.DataFrame, flows: pd.Series, returns: pd.Series, risk_free: float
) -> dict[str, Any]:
    """The portfolio's own figures over the window: metrics, breakdown, dates and series.

    total gain = end value - money put in over the period; price gain = total - dividends + fees.
    """
    final_value = float(window["value"].iloc[-1])
    total = final_value - float(flows.sum())
    received = float(window["dividends"].iloc[1:].sum())
    fees = float(window["fees"].iloc[1:].sum())
    return {
        "metrics": float_map(
            metrics.summary(returns, risk_free) | {"xirr": xirr(window.index, flows, final_value)}
        ),
        "breakdown": float_map(
            {
                "total_gain": total,
                "price_gain": total - received + fees,
                "dividends": received,
                "fees": fees,
            }
        ),
        "dates": window.index.strftime("%Y-%m-%d").tolist(),
        "series": {
            "value": float_list(window["value"]),
            "flow": float_list(flows),
            "dividends": float_list(window["dividends"]),
            "twr": float_list(returns),
            "growth": float_list(growth_of(GROWTH_BASE, returns)),
            "drawdown": float_list(metrics.drawdown(returns)),
        },
    }


def _benchmark_part(
    flows: pd.Series,
    portfolio_returns: pd.Series,
    closes: pd.DataFrame,
    dividends: pd.DataFrame,
    risk_free: float,
) -> dict[str, Any]:
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
    return {
        "metrics": float_map(
            metrics.summary(returns, risk_free)
            | {"xirr": xirr(flows.index, flows, final_value)}
            | metrics.relative(portfolio_returns, returns, risk_free)
        ),
        "breakdown": float_map(
            {"total_gain": gain, "price_gain": gain - paid, "dividends": paid, "fees": 0.0}
        ),
        "series": {
            "shadow_value": float_list(shadow),
            "daily_return": float_list(returns),
            "growth": float_list(growth_of(GROWTH_BASE, returns)),
            "drawdown": float_list(metrics.drawdown(returns)),
        },
    }


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


def _parse_day(field: str, raw: str | None) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(field, f"{field} must be a date like 2024-01-31") from None
