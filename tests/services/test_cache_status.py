"""The cache page's numbers, read from the database and the shared cache after real fills."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from dashapp.db.models import JobRun
from dashapp.services import cache_status
from dashapp.services.upkeep import UpkeepLock, refresh_ticker
from dashapp.telemetry import metrics
from dashapp.ui.cache import upstream_figure

START = date(2024, 11, 25)
WEDNESDAY = date(2024, 12, 4)


def test_ticker_table_shows_range_bars_fetch_time_freshness_and_errors(app_context, clock):
    fetched = clock.now()
    app_context.store.fill(["SPY"], START, WEDNESDAY)
    clock.advance(timedelta(minutes=30))
    app_context.store.refresh_quotes(["VTI"])
    app_context.provider.breaker.open()
    refresh_ticker(app_context, "qqq")

    table = cache_status.ticker_table(app_context).set_index("ticker")

    assert list(table.index) == ["QQQ", "SPY", "VTI"]
    spy = table.loc["SPY"]
    # 25 Nov to 4 Dec 2024 holds seven sessions: Thanksgiving (28 Nov) is a holiday.
    assert (spy["first_date"], spy["last_date"], spy["bars"]) == (START, WEDNESDAY, 7)
    assert (spy["last_fetched"], spy["source"], spy["state"]) == (fetched, "demo", "fresh")
    assert pd.isna(spy["last_error"])
    assert spy["consecutive_errors"] == 0
    # VTI has only a quote, fetched half an hour later.
    vti = table.loc["VTI"]
    assert (vti["bars"], vti["last_fetched"]) == (0, fetched + timedelta(minutes=30))
    qqq = table.loc["QQQ"]
    assert (qqq["bars"], qqq["state"]) == (0, "missing")
    assert qqq["last_error"].startswith("CircuitOpen")
    # The fill and the quote refresh of the same action each failed once.
    assert qqq["consecutive_errors"] == 2


def test_hit_rates_cover_the_last_hour_and_day_and_outlive_the_process(app_context, clock):
    metrics.configure(app_context.settings.metrics_dir)
    cache_status.count_cache_use(app_context)
    app_context.store.fill(["SPY", "QQQ"], START, WEDNESDAY)  # two misses
    app_context.store.fill(["SPY", "QQQ", "VTI"], START, WEDNESDAY)  # two hits, one miss

    rates = cache_status.hit_rates(app_context)
    assert (rates["hour"].hits, rates["hour"].misses, rates["hour"].rate) == (2, 3, 0.4)

    clock.advance(timedelta(hours=2))
    rates = cache_status.hit_rates(app_context)
    assert rates["hour"].rate is None
    assert (rates["day"].hits, rates["day"].misses) == (2, 3)


def test_upstream_requests_are_grouped_by_hour_and_outcome(app_context, clock):
    app_context.store.fill(["SPY", "QQQ"], START, WEDNESDAY)
    clock.advance(timedelta(hours=1))
    app_context.store.refresh_quotes(["SPY"])

    frame = cache_status.upstream_by_hour(app_context)

    assert frame.to_dict("records") == [
        {"hour": pd.Timestamp("2024-12-04 22:00", tz="UTC"), "outcome": "ok", "requests": 2},
        {"hour": pd.Timestamp("2024-12-04 23:00", tz="UTC"), "outcome": "ok", "requests": 1},
    ]


def test_a_running_job_whose_lock_is_free_shows_as_interrupted(app_context, clock):
    with app_context.db.session() as session:
        session.add(
            JobRun(job="warm", started_at=clock.now(), status="running", progress=40.0, detail={})
        )
    [run] = cache_status.recent_job_runs(app_context)
    assert (run.status, run.progress) == ("interrupted", 40.0)
    with UpkeepLock(app_context).hold("warm"):
        [run] = cache_status.recent_job_runs(app_context)
        assert run.status == "running"


def test_snapshot_reads_breaker_and_budget(app_context, clock):
    app_context.provider.breaker.open()
    clock.advance(timedelta(seconds=15))
    view = cache_status.snapshot(app_context)
    [breaker] = view.breakers
    assert (breaker["provider"], breaker["state"], breaker["seconds_until_half_open"]) == (
        "demo",
        "open",
        45.0,
    )
    assert view.budgets == [{"provider": "demo", "tokens_left": 120.0, "capacity": 120.0}]
    assert view.now == datetime(2024, 12, 4, 22, 0, 15, tzinfo=UTC)


def test_upstream_chart_spans_the_last_day_with_one_slot_per_hour(app_context, clock):
    app_context.store.fill(["SPY", "QQQ"], START, WEDNESDAY)
    clock.advance(timedelta(minutes=45))

    figure = upstream_figure(cache_status.upstream_by_hour(app_context), clock.now())

    # 22:45 on 4 December: the axis runs from 23:00 the day before to the end of this hour,
    # whatever hours had requests, so a single busy hour is one narrow bar, not the whole width.
    assert list(figure.layout.xaxis.range) == [
        pd.Timestamp("2024-12-03 23:00", tz="UTC"),
        pd.Timestamp("2024-12-04 23:00", tz="UTC"),
    ]
    [bars] = figure.data
    assert (bars.name, list(bars.y)) == ("ok", [2])
    # Plotly keeps the instants as UTC wall times without a zone.
    assert list(pd.to_datetime(bars.x)) == [pd.Timestamp("2024-12-04 22:30")]
    assert bars.width == 0.9 * 3_600_000


def test_failures_are_said_once_per_cause_with_the_tickers_it_hit():
    errors = {f"T{i}": "CircuitOpen: yahoo circuit open" for i in range(7)}
    errors["ZZZZ"] = "UnknownTicker: ZZZZ"
    said = cache_status.failures_by_reason(errors)
    assert said == (
        "T0, T1, T2, T3, T4 and 2 more: Yahoo Finance is unreachable: it failed several times "
        "in a row. Showing cached prices; requests pause for a while, then the app tries again. "
        "ZZZZ: Yahoo Finance knows no such symbol (mistyped or delisted); it is not asked again."
    )
    assert "CircuitOpen" not in said
