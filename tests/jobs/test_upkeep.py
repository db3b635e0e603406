"""The jobs' work: most-used tickers first, only gaps fetched, every run a job_runs row."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from dashapp.db.models import JobRun, Portfolio, Transaction
from dashapp.services.backtests import cached_backtest, default_requests
from dashapp.services.comparison_requests import SUGGESTED_BENCHMARKS
from dashapp.services.upkeep import (
    InvalidTicker,
    JobBusy,
    JobCancelled,
    UpkeepLock,
    evict_ticker,
    is_stored,
    parse_ticker,
    ranked_tickers,
    run_job,
)
from dashapp.services.views import note_viewed

BENCHMARKS_BY_NAME = sorted(SUGGESTED_BENCHMARKS)


def add_portfolio(ctx, name: str, tickers: list[str]) -> int:
    with ctx.db.session() as session:
        portfolio = Portfolio(user_id=1, name=name, base_currency="USD", version=1)
        session.add(portfolio)
        session.flush()
        session.add_all(
            Transaction(
                portfolio_id=portfolio.id,
                trade_date=date(2024, 6, 3),
                kind="BUY",
                ticker=ticker,
                quantity=10,
                price=100.0,
            )
            for ticker in tickers
        )
        return portfolio.id


def test_tickers_held_by_more_portfolios_then_viewed_recently_come_first(app_context, clock):
    add_portfolio(app_context, "one", ["AAPL", "MSFT"])
    add_portfolio(app_context, "two", ["MSFT", "KO"])
    note_viewed(app_context, ["ko"])

    assert ranked_tickers(app_context) == ["MSFT", "KO", "AAPL", *BENCHMARKS_BY_NAME]


def test_warm_fills_every_ticker_to_the_last_close_and_records_the_run(app_context):
    add_portfolio(app_context, "one", ["AAPL", "SPY"])
    seen: list[tuple[int, str]] = []

    outcome = run_job(
        app_context, "warm", trigger="test", progress=lambda p, s: seen.append((p, s))
    )

    tickers = ["AAPL", *BENCHMARKS_BY_NAME]
    assert outcome.status == "succeeded"
    assert sorted(outcome.report.fetched) == sorted(tickers)
    # 11 tickers filled in one batch, then 11 backtested: 22 steps, percent = 100 * done / 22.
    assert seen == [
        (0, "starting"),
        (50, "daily bars 11/11"),
        (55, "backtests 1/11"),
        (59, "backtests 2/11"),
        (64, "backtests 3/11"),
        (68, "backtests 4/11"),
        (73, "backtests 5/11"),
        (77, "backtests 6/11"),
        (82, "backtests 7/11"),
        (86, "backtests 8/11"),
        (91, "backtests 9/11"),
        (95, "backtests 10/11"),
        (100, "backtests 11/11"),
    ]
    coverage = app_context.store.coverage(tickers)
    # The clock stands on Wednesday 2024-12-04 after the close: that session is the last.
    assert {row.last_date for row in coverage.values()} == {date(2024, 12, 4)}
    # AAPL starts at its first trade; benchmarks, held or not, reach back
    # benchmark_history_days = 1826 days, which with two leap days lands on 2019-12-05.
    assert coverage["AAPL"].first_date == date(2024, 6, 3)
    assert coverage["SPY"].first_date == date(2019, 12, 5)
    assert coverage["QQQ"].first_date == date(2019, 12, 5)
    with app_context.db.session() as session:
        [run] = session.scalars(select(JobRun)).all()
    assert (run.job, run.status, run.progress) == ("warm", "succeeded", 100.0)
    assert run.detail["trigger"] == "test"
    assert (run.detail["tickers"], run.detail["fetched"], run.detail["failed"]) == (11, 11, 0)
    assert run.finished_at == app_context.clock.now()
    # The default backtests of the most-used tickers are ready before anyone asks.
    spy_defaults = default_requests(["SPY"])
    assert all(cached_backtest(app_context, request) for request in spy_defaults)
    # Both defaults of the 10 benchmarks, and AAPL's buy-and-hold: its six months of bars are
    # too short for a 200-session average.
    assert outcome.report.backtests_warmed == run.detail["backtests_warmed"] == 21

    # A second warm the same evening has no gaps: nothing is fetched again.
    assert run_job(app_context, "warm", trigger="test").report.fetched == []


def test_refresh_quotes_covers_held_and_benchmark_tickers(app_context):
    add_portfolio(app_context, "one", ["AAPL"])
    outcome = run_job(app_context, "refresh", trigger="test")
    assert outcome.status == "succeeded"
    assert sorted(outcome.report.fetched) == sorted(["AAPL", *SUGGESTED_BENCHMARKS])


def test_a_run_where_every_ticker_failed_is_recorded_as_failed(app_context):
    app_context.provider.breaker.open()
    outcome = run_job(app_context, "refresh", trigger="test")
    assert outcome.status == "failed"
    assert len(outcome.report.errors) == len(SUGGESTED_BENCHMARKS)
    with app_context.db.session() as session:
        run = session.scalars(select(JobRun)).one()
    assert run.status == "failed"
    assert run.detail["failed"] == len(SUGGESTED_BENCHMARKS)
    assert run.detail["errors"]["SPY"].startswith("CircuitOpen")


def test_a_job_already_running_is_not_started_twice(app_context):
    with UpkeepLock(app_context).hold("warm") as acquired:
        assert acquired
        with pytest.raises(JobBusy):
            run_job(app_context, "warm", trigger="test")
    with app_context.db.session() as session:
        assert session.scalars(select(JobRun)).all() == []


def test_a_warm_asked_to_stop_stops_between_stages_and_is_recorded_cancelled(app_context):
    def stop_after_the_bars(percent: int, stage: str) -> None:
        if stage.startswith("daily bars"):
            raise JobCancelled

    with pytest.raises(JobCancelled):
        run_job(app_context, "warm", trigger="test", progress=stop_after_the_bars)

    with app_context.db.session() as session:
        run = session.scalars(select(JobRun)).one()
    assert (run.status, run.progress) == ("cancelled", 50.0)
    assert run.detail["error"] == "cancelled by request"
    # The bars are in; no backtest was computed; the lock is free for the next warm.
    spy_defaults = default_requests(["SPY"])
    assert not any(cached_backtest(app_context, request) for request in spy_defaults)
    assert run_job(app_context, "warm", trigger="test").status == "succeeded"


def test_a_ticker_is_stored_by_its_bars_or_its_quote_until_evicted(app_context):
    today = app_context.clock.now().date()
    app_context.store.fill(["SPY"], date(2024, 11, 25), today)
    app_context.store.refresh_quotes(["VTI"])

    assert (is_stored(app_context, "SPY"), is_stored(app_context, "VTI")) == (True, True)
    assert is_stored(app_context, "QQQ") is False
    assert evict_ticker(app_context, " vti ") == "VTI"
    assert is_stored(app_context, "VTI") is False
    assert is_stored(app_context, "SPY") is True


def test_a_ticker_is_parsed_by_the_shared_rule_so_an_index_is_accepted():
    assert parse_ticker(" ^gspc ") == "^GSPC"
    assert parse_ticker("eurusd=x") == "EURUSD=X"
    assert parse_ticker("brk-b") == "BRK-B"
    for raw in ("", "AA PL", "A" * 16, "$AAPL"):
        with pytest.raises(InvalidTicker):
            parse_ticker(raw)
