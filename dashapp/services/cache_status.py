"""What the cache holds and how it has been doing: the cache page, `/metrics` and `/healthz` read
it here, from the database and the shared state every process sees (never the network).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from dashapp.db.models import FetchLog, JobRun, PriceBar, PriceCoverage
from dashapp.db.models import Quote as QuoteRow
from dashapp.market.errors import failure_in_words
from dashapp.services.context import AppContext
from dashapp.services.upkeep import JOBS, UpkeepLock
from dashapp.telemetry import metrics
from dashapp.telemetry.health import (
    Check,
    breaker_check,
    cache_check,
    celery_check,
    database_check,
    redis_check,
)
from dashapp.telemetry.hit_tally import HitRate, HourlyTally

TICKER_COLUMNS = (
    "ticker",
    "first_date",
    "last_date",
    "bars",
    "last_fetched",
    "source",
    "state",
    "last_error",
    "consecutive_errors",
)
HOUR = 3_600
DAY = 86_400


@dataclass(frozen=True)
class JobRunRow:
    id: int
    job: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    progress: float
    stage: str
    detail: dict[str, Any]


def ticker_table(ctx: AppContext) -> pd.DataFrame:
    """One row per ticker stored (bars or a quote): range held, bar count, when and from where
    it was last fetched (bars or quote, whichever is later), freshness and errors."""
    with ctx.db.engine.connect() as connection:
        coverage = connection.execute(
            select(
                PriceCoverage.ticker,
                PriceCoverage.first_date,
                PriceCoverage.last_date,
                PriceCoverage.fetched_at,
                PriceCoverage.source,
                PriceCoverage.last_error,
                PriceCoverage.consecutive_errors,
            )
        ).all()
        counts = connection.execute(
            select(PriceBar.ticker, func.count()).group_by(PriceBar.ticker)
        ).all()
        quotes = connection.execute(
            select(QuoteRow.ticker, QuoteRow.fetched_at, QuoteRow.source)
        ).all()
    frame = _frame(
        coverage,
        [
            "ticker",
            "first_date",
            "last_date",
            "bars_fetched",
            "bars_source",
            "last_error",
            "consecutive_errors",
        ],
    ).set_index("ticker")
    bars = _frame(counts, ["ticker", "bars"]).set_index("ticker")["bars"]
    quote_frame = _frame(quotes, ["ticker", "quote_fetched", "quote_source"]).set_index("ticker")
    index = frame.index.union(quote_frame.index).union(bars.index)
    frame = frame.reindex(index).join(quote_frame)
    frame["bars"] = bars.reindex(index).fillna(0).astype("int64")
    bars_fetched = pd.to_datetime(frame["bars_fetched"], utc=True)
    quote_fetched = pd.to_datetime(frame["quote_fetched"], utc=True)
    quote_is_later = quote_fetched.notna() & (bars_fetched.isna() | (quote_fetched > bars_fetched))
    frame["last_fetched"] = quote_fetched.where(quote_is_later, bars_fetched)
    frame["source"] = frame["quote_source"].where(quote_is_later, frame["bars_source"])
    frame["consecutive_errors"] = frame["consecutive_errors"].fillna(0).astype("int64")
    frame["state"] = ctx.store.latest_prices(list(index))["state"].reindex(index)
    frame = frame.reset_index(names="ticker")
    return frame[list(TICKER_COLUMNS)].sort_values("ticker", ignore_index=True)


def hit_rates(ctx: AppContext) -> dict[str, HitRate]:
    """Cache hits and misses of every process on this host over the last hour and day."""
    tally = HourlyTally(ctx.cache, ctx.clock)
    return {"hour": tally.over(HOUR), "day": tally.over(DAY)}


def upstream_by_hour(ctx: AppContext, hours: int = 24) -> pd.DataFrame:
    """Upstream requests per UTC hour and outcome over the last `hours` (from `fetch_log`).

    Columns: hour (UTC, tz-aware), outcome, requests. Hours without requests are absent.
    """
    since = ctx.clock.now() - timedelta(hours=hours)
    with ctx.db.engine.connect() as connection:
        rows = connection.execute(
            select(FetchLog.started_at, FetchLog.outcome).where(FetchLog.started_at >= since)
        ).all()
    frame = _frame(rows, ["started_at", "outcome"])
    if frame.empty:
        return pd.DataFrame(columns=["hour", "outcome", "requests"])
    frame["hour"] = pd.to_datetime(frame["started_at"], utc=True).dt.floor("h")
    grouped = frame.groupby(["hour", "outcome"]).size().rename("requests").reset_index()
    return grouped.sort_values(["hour", "outcome"], ignore_index=True)


def breakers(ctx: AppContext) -> list[dict[str, Any]]:
    """Each provider's circuit breaker: state, failures, seconds until it half-opens."""
    status = getattr(ctx.provider, "breaker_status", None)
    return [status()] if status is not None else []


def budgets(ctx: AppContext) -> list[dict[str, Any]]:
    """Each provider's shared request budget: tokens left of its capacity."""
    status = getattr(ctx.provider, "budget_status", None)
    return [{"provider": ctx.provider.name, **status()}] if status is not None else []


def recent_job_runs(ctx: AppContext, limit: int = 15) -> list[JobRunRow]:
    """The latest runs, newest first. A run still marked running whose lock nobody holds was
    killed mid-way (a cancelled background job, a crashed clock): it shows as interrupted."""
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    with ctx.db.session() as session:
        runs = list(session.scalars(query))
    lock = UpkeepLock(ctx)
    running = {
        job: lock.is_held(job) for job in JOBS if any(run.status == "running" for run in runs)
    }
    return [
        JobRunRow(
            id=run.id,
            job=run.job,
            trigger=str((run.detail or {}).get("trigger", "")),
            started_at=run.started_at,
            finished_at=run.finished_at,
            status=(
                "interrupted"
                if run.status == "running" and not running.get(run.job, True)
                else run.status
            ),
            progress=run.progress,
            stage=str((run.detail or {}).get("stage", "")),
            detail=run.detail or {},
        )
        for run in runs
    ]


def errors_in_words(errors: pd.Series) -> pd.Series:
    """Stored failures ("RateLimited: ...") as `failure_in_words` says them to a person."""
    return errors.map(failure_in_words, na_action="ignore")


def failures_by_ticker(errors: dict[str, str]) -> str:
    """A job's failures, one sentence group per ticker: "SPY: Yahoo Finance is ..."."""
    return " ".join(f"{ticker}: {failure_in_words(why)}" for ticker, why in sorted(errors.items()))


def failures_by_reason(errors: dict[str, str], names_shown: int = 5) -> str:
    """A job's failures grouped by what happened, so one outage is said once:
    "SPY, QQQ and 3 more: Yahoo Finance is unreachable ..."."""
    tickers_by_reason: dict[str, list[str]] = {}
    for ticker, why in sorted(errors.items()):
        tickers_by_reason.setdefault(failure_in_words(why), []).append(ticker)
    groups = []
    for reason, tickers in tickers_by_reason.items():
        names = ", ".join(tickers[:names_shown])
        if len(tickers) > names_shown:
            names += f" and {len(tickers) - names_shown} more"
        groups.append(f"{names}: {reason}")
    return " ".join(groups)


INTERNAL_ROUTES = "Dash internals (/_dash-*, scripts, assets)"
_INTERNAL_PREFIXES = ("/_dash-", "/_favicon", "/_reload-hash", "/assets/")


def route_group(route: str) -> str:
    """The latency table's row of a route: the framework's own requests (layout, dependencies,
    component scripts, unlabelled callbacks, assets) are one row, not a user-facing page each."""
    return INTERNAL_ROUTES if route.startswith(_INTERNAL_PREFIXES) else route


def route_latencies() -> list[metrics.RouteLatency]:
    """p50/p95/p99 per route (internal ones grouped by `route_group`) from the same histogram
    `/metrics` serves ([] before any is set up)."""
    try:
        return metrics.route_latencies(group=route_group)
    except metrics.MetricsNotConfigured:
        return []


def metric_families(ctx: AppContext) -> list[metrics.Family]:
    """What `/metrics` reads from shared state at scrape time, so every process agrees."""
    with ctx.db.engine.connect() as connection:
        upstream = connection.execute(
            select(FetchLog.provider, FetchLog.kind, FetchLog.outcome, func.count()).group_by(
                FetchLog.provider, FetchLog.kind, FetchLog.outcome
            )
        ).all()
        runs = connection.execute(
            select(JobRun.job, JobRun.status, func.count()).group_by(JobRun.job, JobRun.status)
        ).all()
    families = [
        metrics.Family(
            "stocktracker_upstream_requests",
            "Requests sent to market-data providers, by outcome (counted in fetch_log).",
            "counter",
            ("provider", "kind", "outcome"),
            [((provider, kind, outcome), float(n)) for provider, kind, outcome, n in upstream],
        ),
        metrics.Family(
            "stocktracker_job_runs",
            "Upkeep job runs by job and status (counted in job_runs).",
            "counter",
            ("job", "status"),
            [((job, status), float(n)) for job, status, n in runs],
        ),
    ]
    states = ("closed", "half-open", "open")
    breaker_rows = breakers(ctx)
    families.append(
        metrics.Family(
            "stocktracker_breaker_state",
            "1 for the circuit breaker's current state of each provider, 0 for the others.",
            "gauge",
            ("provider", "state"),
            [
                ((row["provider"], state), 1.0 if row["state"] == state else 0.0)
                for row in breaker_rows
                for state in states
            ],
        )
    )
    families.append(
        metrics.Family(
            "stocktracker_breaker_seconds_until_half_open",
            "Seconds until an open circuit lets one call through (0 when not open).",
            "gauge",
            ("provider",),
            [
                ((row["provider"],), float(row.get("seconds_until_half_open") or 0.0))
                for row in breaker_rows
            ],
        )
    )
    families.append(
        metrics.Family(
            "stocktracker_request_budget_tokens",
            "Upstream requests the shared budget allows right now.",
            "gauge",
            ("provider",),
            [((row["provider"],), float(row["tokens_left"])) for row in budgets(ctx)],
        )
    )
    return families


def health_checks(ctx: AppContext, celery: Any = None) -> dict[str, Check]:
    """Database, cache and breaker always; Redis when REDIS_URL is set; a Celery worker when
    background callbacks run on `celery` (the Celery app)."""
    checks = {
        "database": database_check(lambda: ctx.db.engine),
        "cache": cache_check(ctx.cache),
        "breaker": breaker_check(lambda: breakers(ctx)),
    }
    if ctx.redis is not None:
        checks["redis"] = redis_check(ctx.redis.ping)
    if celery is not None:
        checks["celery"] = celery_check(celery.control.ping)
    return checks


def _frame(rows: Sequence[object], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in rows], columns=list(columns))


def count_cache_use(ctx: AppContext) -> None:
    """Send this process's cache hits and misses to Prometheus and to the persisted tally."""
    ctx.counters.subscribe(metrics.count)
    ctx.counters.subscribe(HourlyTally(ctx.cache, ctx.clock).record)


@dataclass(frozen=True)
class CacheSnapshot:
    """Everything the cache page shows, read at one moment."""

    now: datetime
    tickers: pd.DataFrame
    hit_rates: dict[str, HitRate]
    upstream: pd.DataFrame
    breakers: list[dict[str, Any]]
    budgets: list[dict[str, Any]]
    job_runs: list[JobRunRow]
    latencies: list[metrics.RouteLatency]


def snapshot(ctx: AppContext) -> CacheSnapshot:
    return CacheSnapshot(
        now=ctx.clock.now(),
        tickers=ticker_table(ctx),
        hit_rates=hit_rates(ctx),
        upstream=upstream_by_hour(ctx),
        breakers=breakers(ctx),
        budgets=budgets(ctx),
        job_runs=recent_job_runs(ctx),
        latencies=route_latencies(),
    )
