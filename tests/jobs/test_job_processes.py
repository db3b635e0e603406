"""Jobs as separate processes: `python -m dashapp.jobs --run ...`, and the lock that keeps a job
from running in two processes at once (flock on SQLite, advisory lock on PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import os
import queue
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from dashapp.db.models import JobRun
from dashapp.services.context import build_context
from dashapp.services.upkeep import UpkeepLock
from dashapp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def hold_job_lock(settings: Settings, job: str, held, release) -> None:
    """In another process: hold `job`'s lock until told to let go."""
    ctx = build_context(settings, migrate=False)
    try:
        with UpkeepLock(ctx).hold(job) as acquired:
            held.put(acquired)
            release.wait(60)
    finally:
        ctx.close()


def wait_until_held(held, holder) -> bool:
    """What the holder reports, failing fast if it died before reporting."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return held.get(timeout=0.2)
        except queue.Empty:
            assert holder.is_alive(), f"the lock holder died (exit code {holder.exitcode})"
    raise AssertionError("the lock holder did not report within 60 s")


def run_cli(settings: Settings, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "INSTANCE_DIR": str(settings.instance_dir),
        "CACHE_DIR": str(settings.cache_dir),
        "PROMETHEUS_MULTIPROC_DIR": str(settings.instance_dir / "cli-metrics"),
        "MARKET_DATA": "demo",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-m", "dashapp.jobs", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def job_runs(app_context) -> list[JobRun]:
    with app_context.db.session() as session:
        return list(session.scalars(select(JobRun).order_by(JobRun.id)))


def test_run_warm_prints_progress_and_records_the_run(app_context, settings):
    finished = run_cli(settings, "--run", "warm")

    assert finished.returncode == 0, finished.stderr
    # No portfolios yet: the ten suggested benchmark ETFs, one batch of bars, then their
    # default backtests one ticker at a time; 20 steps in all, so each backtest is 5 %.
    assert finished.stdout.splitlines() == [
        "warm:   0% starting",
        "warm:  50% daily bars 10/10",
        *(f"warm: {50 + 5 * done:3d}% backtests {done}/10" for done in range(1, 11)),
        "warm: succeeded (run 1): 10 tickers, 10 fetched, 0 failed, 20 default backtests cached",
    ]
    [run] = job_runs(app_context)
    assert (run.job, run.status, run.progress) == ("warm", "succeeded", 100.0)
    assert run.detail["trigger"] == "cli"
    assert run.finished_at is not None


def test_run_fails_with_a_message_when_every_ticker_failed(app_context, settings):
    # The breaker lives in the shared cache: opened here, the CLI process finds it open. That
    # process runs on the system clock, so the opening is stamped with the real time.
    app_context.provider.breaker.open()
    app_context.provider.breaker.storage.opened_at = datetime.now(UTC)

    finished = run_cli(settings, "--run", "refresh")

    assert finished.returncode == 1
    assert finished.stdout.splitlines() == ["refresh:   0% starting", "refresh: 100% quotes 10/10"]
    assert finished.stderr.strip() == ("refresh: failed (run 1): 10 tickers, 0 fetched, 10 failed")
    [run] = job_runs(app_context)
    assert (run.job, run.status) == ("refresh", "failed")


def test_a_job_runs_in_one_process_only(app_context, settings):
    spawn = multiprocessing.get_context("spawn")
    held, release = spawn.Queue(), spawn.Event()
    holder = spawn.Process(target=hold_job_lock, args=(settings, "refresh", held, release))
    holder.start()
    try:
        assert wait_until_held(held, holder) is True
        # The lock is another process's: this one cannot take it, and the CLI refuses to run.
        with UpkeepLock(app_context).hold("refresh") as acquired:
            assert acquired is False
        refused = run_cli(settings, "--run", "refresh")
        assert refused.returncode == 1
        assert refused.stderr.strip() == "refresh: not run, refresh is already running elsewhere"
        assert job_runs(app_context) == []
    finally:
        release.set()
        holder.join(timeout=60)
    assert holder.exitcode == 0

    # Once the holder is gone the job runs.
    ran = run_cli(settings, "--run", "refresh")
    assert ran.returncode == 0, ran.stderr
    assert [(run.job, run.status) for run in job_runs(app_context)] == [("refresh", "succeeded")]


def test_a_killed_holder_leaves_no_lock_behind(app_context, settings):
    spawn = multiprocessing.get_context("spawn")
    held, release = spawn.Queue(), spawn.Event()
    holder = spawn.Process(target=hold_job_lock, args=(settings, "warm", held, release))
    holder.start()
    assert wait_until_held(held, holder) is True
    assert UpkeepLock(app_context).is_held("warm")
    holder.kill()
    holder.join(timeout=60)
    assert not UpkeepLock(app_context).is_held("warm")


def start_clock(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "INSTANCE_DIR": str(settings.instance_dir),
        "CACHE_DIR": str(settings.cache_dir),
        "PROMETHEUS_MULTIPROC_DIR": str(settings.instance_dir / "cli-metrics"),
        "MARKET_DATA": "demo",
        "LOG_LEVEL": "WARNING",
    }
    with open(log, "wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "dashapp.jobs"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {seconds:g} s")


def test_of_two_clock_processes_one_schedules_and_the_other_stands_by(
    app_context, settings, tmp_path
):
    lock = UpkeepLock(app_context)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_clock(settings, first_log)
    second = None
    try:
        wait_for(lambda: lock.is_held("clock"), "the first clock taking the lock")
        second = start_clock(settings, second_log)
        wait_for(
            lambda: "another clock process is scheduling; standing by" in second_log.read_text(),
            "the second clock standing by",
        )
        assert first.poll() is None and second.poll() is None
    finally:
        for process in (first, second):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    # SIGTERM ends a clock cleanly; only the first ever said anything but standing by.
    assert first.returncode == 0 and second.returncode == 0
    assert "standing by" not in first_log.read_text()
    assert set(second_log.read_text().splitlines()) == {
        "another clock process is scheduling; standing by",
        "interrupted",
    }
    # Whatever the real clock made due ran once, in the first process.
    assert all(run.detail["trigger"] == "clock" for run in job_runs(app_context))
    assert len([run for run in job_runs(app_context) if run.job == "warm"]) <= 1
