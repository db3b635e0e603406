"""`python -m dashapp.jobs` runs the clock process; `--run refresh|warm` runs one job now.

One job: progress lines on stdout, exit 0 when it succeeded, 1 with a message on stderr when it
failed or already runs elsewhere. The clock: runs until interrupted (SIGINT or SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from dashapp.db.migrate import SchemaNotReady
from dashapp.jobs.scheduler import Scheduler
from dashapp.process import configure_process
from dashapp.services import cache_status
from dashapp.services.context import AppContext, build_context
from dashapp.services.deployment import MarketDataMismatch, join_deployment
from dashapp.services.upkeep import JOBS, JobBusy, run_job
from dashapp.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashapp.jobs", description=__doc__)
    parser.add_argument("--run", choices=JOBS, help="run one job now and exit")
    arguments = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"StockTracker jobs cannot start: {error}", file=sys.stderr)
        return 1
    # Before anything counts: cache hits of this process join the web workers' on this host.
    configure_process(settings)
    try:
        # Never migrates: the web's gunicorn master or `python -m dashapp.db upgrade` does.
        ctx = build_context(settings, migrate=False)
    except SettingsError as error:  # an unreachable database or Redis (StartupError)
        print(f"StockTracker jobs cannot start: {error}", file=sys.stderr)
        return 1
    try:
        join_deployment(ctx, "clock" if arguments.run is None else "job", _warn)
    except (SchemaNotReady, MarketDataMismatch) as reason:
        print(f"StockTracker jobs cannot start: {reason}", file=sys.stderr)
        ctx.close()
        return 1
    cache_status.count_cache_use(ctx)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if arguments.run:
            return run_once(ctx, arguments.run)
        Scheduler(ctx, say=_say).serve()
        return 0
    except KeyboardInterrupt:
        _say("interrupted")
        return 130 if arguments.run else 0
    finally:
        ctx.close()


def run_once(ctx: AppContext, job: str) -> int:
    try:
        outcome = run_job(
            ctx,
            job,
            trigger="cli",
            progress=lambda percent, stage: _say(f"{job}: {percent:3d}% {stage}"),
        )
    except JobBusy as busy:
        print(f"{job}: not run, {busy}", file=sys.stderr)
        return 1
    except Exception as error:
        print(f"{job}: failed, {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    report = outcome.report
    summary = (
        f"{job}: {outcome.status} (run {outcome.run_id}): {report.tickers} tickers, "
        f"{len(report.fetched)} fetched, {len(report.errors)} failed"
    )
    if job == "warm":
        summary += f", {report.backtests_warmed} default backtests cached"
    if outcome.status != "succeeded":
        print(summary, file=sys.stderr)
        return 1
    _say(summary)
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


def _warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # A stopped deployment ends the running job as cancelled instead of leaving it "running".
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
