"""Keeping the price cache warm: the quote refresh and the after-close warm, shared by the clock
process, `python -m dashapp.jobs --run ...` and the cache page.

Both go through the price store (its fetch locks make every fill single-flight) and run under
an `UpkeepLock` of their own name, so the same job never runs twice at once anywhere; each run
is a row of `job_runs` whose progress moves as the batches finish.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, exists, func, or_, select, text, update

from dashapp.db.models import JobRun, PriceBar, PriceCoverage, Transaction
from dashapp.db.models import Quote as QuoteRow
from dashapp.market.price_fills import FillReport
from dashapp.market.price_store import normalize_tickers
from dashapp.rules import ticker_symbol
from dashapp.services.backtests import warm_default_backtests
from dashapp.services.comparison_requests import SUGGESTED_BENCHMARKS
from dashapp.services.context import AppContext
from dashapp.services.views import last_viewed

# One batch quote carries 50 symbols; fills go in batches of the same size to report progress.
BATCH_SIZE = 50
JOBS = ("refresh", "warm")
WARM_BACKTEST_TICKERS = 20
# Advisory lock keys of jobs, in a band apart from the fetch locks' (7_413_030_000 + stripe).
JOB_LOCK_KEY_BASE = 7_413_040_000

Progress = Callable[[int, str], None]


class JobBusy(RuntimeError):
    """The job is already running in another process (or on another machine)."""

    def __init__(self, job: str) -> None:
        super().__init__(f"{job} is already running elsewhere")
        self.job = job


class JobCancelled(RuntimeError):
    """Someone asked a running job to stop; it stops at the next batch boundary."""


class InvalidTicker(ValueError):
    def __init__(self, raw: str) -> None:
        super().__init__(f"{raw!r} is not a ticker symbol")
        self.raw = raw


@dataclass
class UpkeepReport:
    """What one refresh or warm did: tickers asked, fetched and failed (with reasons)."""

    tickers: int = 0
    fetched: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    backtests_warmed: int = 0

    def add(self, report: FillReport) -> None:
        self.fetched.extend(report.fetched)
        self.errors.update(report.errors)

    @property
    def failed(self) -> bool:
        """Every ticker asked for failed: the provider, not a ticker, is the problem."""
        return self.tickers > 0 and len(self.errors) >= self.tickers


@dataclass(frozen=True)
class JobOutcome:
    run_id: int
    job: str
    status: str
    report: UpkeepReport


# ----- the lock -------------------------------------------------------------------------------


class UpkeepLock:
    """At most one holder per name: a PostgreSQL advisory lock (across machines) or, on SQLite
    (one machine by nature), an flock on a file. Never blocks; released when the holder's
    process dies, so a killed job leaves no lock behind."""

    def __init__(self, ctx: AppContext) -> None:
        self.db = ctx.db
        self.lock_dir = Path(ctx.settings.cache_dir) / "locks"

    @contextmanager
    def hold(self, name: str) -> Iterator[bool]:
        """Yield True while holding `name`'s lock, or False at once if someone else holds it."""
        if self.db.dialect == "postgresql":
            with self._advisory(name) as acquired:
                yield acquired
        else:
            with self._flock(name) as acquired:
                yield acquired

    def is_held(self, name: str) -> bool:
        """True when some process holds `name` (this one included) right now."""
        with self.hold(name) as acquired:
            return not acquired

    @contextmanager
    def _advisory(self, name: str) -> Iterator[bool]:
        key = JOB_LOCK_KEY_BASE + zlib.crc32(name.encode()) % 1000
        with self.db.engine.connect() as connection:
            acquired = bool(
                connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
            )
            connection.commit()
            try:
                yield acquired
            finally:
                if acquired:
                    _advisory_unlock(connection, key)

    @contextmanager
    def _flock(self, name: str) -> Iterator[bool]:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_dir / f"job-{name}.lock", "w") as lock_file:
            acquired = _try_flock(lock_file)
            try:
                yield acquired
            finally:
                if acquired:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)


def _try_flock(lock_file: IO[str]) -> bool:
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _advisory_unlock(connection: Connection, key: int) -> None:
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    connection.commit()


# ----- job runs -------------------------------------------------------------------------------


class JobRecord:
    """The `job_runs` row of one run: created running, moved forward, finished once."""

    def __init__(self, ctx: AppContext, job: str, trigger: str) -> None:
        self.ctx = ctx
        self.detail: dict[str, Any] = {"trigger": trigger, "stage": "starting"}
        with ctx.db.session() as session:
            row = JobRun(
                job=job,
                started_at=ctx.clock.now(),
                status="running",
                progress=0.0,
                detail=dict(self.detail),
            )
            session.add(row)
            session.flush()
            self.run_id = row.id

    def progress(self, percent: int, stage: str) -> None:
        self.detail["stage"] = stage
        self._write(progress=float(percent), detail=dict(self.detail))

    def finish(self, status: str, report: UpkeepReport | None = None, error: str = "") -> None:
        if report is not None:
            self.detail.update(
                tickers=report.tickers,
                fetched=len(report.fetched),
                failed=len(report.errors),
                backtests_warmed=report.backtests_warmed,
                # A sample of reasons is enough to act on; the coverage rows keep every one.
                errors=dict(sorted(report.errors.items())[:10]),
            )
        if error:
            self.detail["error"] = error[:500]
        self.detail["stage"] = status
        self._write(
            status=status,
            finished_at=self.ctx.clock.now(),
            progress=100.0 if status == "succeeded" else None,
            detail=dict(self.detail),
        )

    def _write(self, **values: Any) -> None:
        values = {name: value for name, value in values.items() if value is not None}
        with self.ctx.db.session() as session:
            session.execute(update(JobRun).where(JobRun.id == self.run_id).values(**values))


def run_job(
    ctx: AppContext, job: str, *, trigger: str, progress: Progress | None = None
) -> JobOutcome:
    """Run `job` ("refresh" or "warm") now, under its lock, recorded in `job_runs`.

    Raises JobBusy when it already runs elsewhere. A run fails when every ticker failed, or when
    the work raised (recorded, then re-raised); an interrupt, or a `progress` callback raising
    JobCancelled between batches, is recorded as cancelled and re-raised.
    """
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; choose one of {', '.join(JOBS)}")
    with UpkeepLock(ctx).hold(job) as acquired:
        if not acquired:
            raise JobBusy(job)
        record = JobRecord(ctx, job, trigger)

        def report_progress(percent: int, stage: str) -> None:
            record.progress(percent, stage)
            if progress is not None:
                progress(percent, stage)

        work = refresh_quotes if job == "refresh" else warm
        try:
            if progress is not None:
                # The lock is ours and the run recorded: the caller may now ask it to stop.
                progress(0, "starting")
            report = work(ctx, report_progress)
        except KeyboardInterrupt:
            record.finish("cancelled", error="interrupted")
            raise
        except JobCancelled:
            record.finish("cancelled", error="cancelled by request")
            raise
        except Exception as error:
            record.finish("failed", error=f"{type(error).__name__}: {error}")
            raise
        status = "failed" if report.failed else "succeeded"
        record.finish(status, report)
        return JobOutcome(record.run_id, job, status, report)


def last_success(ctx: AppContext, job: str) -> datetime | None:
    """When the latest successful run of `job` started."""
    query = select(func.max(JobRun.started_at)).where(
        JobRun.job == job, JobRun.status == "succeeded"
    )
    with ctx.db.session() as session:
        return session.execute(query).scalar_one_or_none()


# ----- the work -------------------------------------------------------------------------------


def refresh_quotes(ctx: AppContext, progress: Progress | None = None) -> UpkeepReport:
    """Latest quotes of every held and benchmark ticker, most-used first, 50 per request."""
    quoted = set(quoted_tickers(ctx))
    tickers = [ticker for ticker in ranked_tickers(ctx) if ticker in quoted]
    report = UpkeepReport(tickers=len(tickers))
    for done, batch in _batches(tickers):
        report.add(ctx.store.refresh_quotes(batch))
        _tell(progress, done, len(tickers), f"quotes {done}/{len(tickers)}")
    return report


def warm(ctx: AppContext, progress: Progress | None = None) -> UpkeepReport:
    """Fill the new daily bars of every ticker we hold, compare with or have stored, most-used
    first; a ticker never stored starts at its first trade, a benchmark `benchmark_history_days`
    back. Only gaps are fetched, so a warm cache costs one batch quote per 50 tickers. Then the
    default backtests of the WARM_BACKTEST_TICKERS most-used tickers are computed into the
    cache: the new bars changed their keys, and a first visit should not wait for them.

    Progress counts steps of both stages, one per ticker filled and one per ticker backtested:
    percent = 100 * steps done / (tickers + backtested tickers).
    """
    tickers = ranked_tickers(ctx)
    backtested = tickers[:WARM_BACKTEST_TICKERS]
    steps = len(tickers) + len(backtested)
    starts = _fill_starts(ctx, tickers)
    today = ctx.clock.now().date()
    report = UpkeepReport(tickers=len(tickers))
    for done, batch in _batches(tickers):
        by_start: dict[date, list[str]] = {}
        for ticker in batch:
            by_start.setdefault(starts[ticker], []).append(ticker)
        for start, group in sorted(by_start.items()):
            report.add(ctx.store.fill(group, start, today))
        _tell(progress, done, steps, f"daily bars {done}/{len(tickers)}")
    for done, ticker in enumerate(backtested, start=1):
        report.backtests_warmed += warm_default_backtests(ctx, [ticker])
        _tell(progress, len(tickers) + done, steps, f"backtests {done}/{len(backtested)}")
    return report


def refresh_ticker(ctx: AppContext, raw: str) -> UpkeepReport:
    """Fetch what one ticker lacks and its latest quote now (the cache page's refresh action)."""
    ticker = parse_ticker(raw)
    start = _fill_starts(ctx, [ticker])[ticker]
    report = UpkeepReport(tickers=1)
    report.add(ctx.store.fill([ticker], start, ctx.clock.now().date()))
    quotes = ctx.store.refresh_quotes([ticker])
    report.fetched = sorted({*report.fetched, *quotes.fetched})
    report.errors.update(quotes.errors)
    return report


def evict_ticker(ctx: AppContext, raw: str) -> str:
    """Forget every bar, quote and coverage row of one ticker; returns the ticker evicted."""
    ticker = parse_ticker(raw)
    ctx.store.evict(ticker)
    return ticker


def is_stored(ctx: AppContext, ticker: str) -> bool:
    """True when the cache holds a bar, a quote or a coverage row of `ticker` (parsed)."""
    query = select(
        or_(
            exists().where(PriceCoverage.ticker == ticker),
            exists().where(PriceBar.ticker == ticker),
            exists().where(QuoteRow.ticker == ticker),
        )
    )
    with ctx.db.session() as session:
        return bool(session.execute(query).scalar())


def parse_ticker(raw: str) -> str:
    symbol = ticker_symbol(raw)
    if symbol is None:
        raise InvalidTicker(raw)
    return symbol


# ----- which tickers, in which order ----------------------------------------------------------


def quoted_tickers(ctx: AppContext) -> list[str]:
    """Held and benchmark tickers: the ones whose intraday quotes pages show."""
    return normalize_tickers([*_holders(ctx), *SUGGESTED_BENCHMARKS])


def ranked_tickers(ctx: AppContext) -> list[str]:
    """Every ticker worth keeping warm, most-used first: held by more portfolios, then viewed
    more recently, then benchmarks before the rest, then by name."""
    holders = _holders(ctx)
    with ctx.db.session() as session:
        stored = list(session.scalars(select(PriceCoverage.ticker)))
    tickers = normalize_tickers([*holders, *SUGGESTED_BENCHMARKS, *stored])
    viewed = last_viewed(ctx, tickers)
    benchmarks = set(SUGGESTED_BENCHMARKS)
    return sorted(
        tickers,
        key=lambda t: (-holders.get(t, 0), -viewed[t], t not in benchmarks, t),
    )


def _holders(ctx: AppContext) -> dict[str, int]:
    """How many portfolios have each ticker in their ledger."""
    query = (
        select(Transaction.ticker, func.count(func.distinct(Transaction.portfolio_id)))
        .where(Transaction.ticker.is_not(None))
        .group_by(Transaction.ticker)
    )
    with ctx.db.session() as session:
        return {ticker.upper(): int(count) for ticker, count in session.execute(query)}


def _fill_starts(ctx: AppContext, tickers: Sequence[str]) -> dict[str, date]:
    """Where each ticker's history should start: the earliest of its stored first date, its
    first trade and, for a benchmark or a ticker known from neither, `benchmark_history_days`
    before today (what the comparison page's longer periods need)."""
    default = ctx.clock.now().date() - timedelta(days=ctx.settings.benchmark_history_days)
    with ctx.db.session() as session:
        first_trades = dict(
            session.execute(
                select(Transaction.ticker, func.min(Transaction.trade_date))
                .where(Transaction.ticker.in_(list(tickers)))
                .group_by(Transaction.ticker)
            ).all()
        )
    coverage = ctx.store.coverage(tickers)
    starts = {}
    for ticker in tickers:
        stored = coverage[ticker].first_date if ticker in coverage else None
        known = [day for day in (first_trades.get(ticker), stored) if day is not None]
        if ticker in SUGGESTED_BENCHMARKS or not known:
            known.append(default)
        starts[ticker] = min(known)
    return starts


def _batches(tickers: Sequence[str]) -> Iterator[tuple[int, list[str]]]:
    """Consecutive batches of BATCH_SIZE with the count done once each batch is through."""
    for offset in range(0, len(tickers), BATCH_SIZE):
        batch = list(tickers[offset : offset + BATCH_SIZE])
        yield offset + len(batch), batch


def _tell(progress: Progress | None, done: int, total: int, stage: str) -> None:
    if progress is not None:
        progress(round(100 * done / total) if total else 100, stage)


__all__ = [
    "JobBusy",
    "JobCancelled",
    "JobOutcome",
    "UpkeepLock",
    "UpkeepReport",
    "evict_ticker",
    "is_stored",
    "last_success",
    "ranked_tickers",
    "refresh_quotes",
    "refresh_ticker",
    "run_job",
    "warm",
]
