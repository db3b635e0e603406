"""The scheduler of the clock process (the Procfile's `clock:`, one per deployment): it runs the
refresh and warm jobs on schedule. Not to be confused with `dashapp.clock`, the time source.

Only the process holding the "clock" upkeep lock schedules; another one started by mistake (or
as a standby on a second machine) waits for it and takes over when it dies. Web workers never
schedule. Time comes from the injected clock and waiting from the injected sleep, so a test can
run a weekend in milliseconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from dashapp.jobs.schedule import next_refresh, next_warm, refresh_due, warm_due
from dashapp.services.context import AppContext
from dashapp.services.upkeep import JobBusy, UpkeepLock, last_success, run_job

log = logging.getLogger(__name__)

# The lock keeps the process's name: a scheduler of an older release holds it under this name.
SCHEDULER_LOCK = "clock"
# Wake at least this often to look at the clock again (it may have been set, or jumped).
LONGEST_NAP_SECONDS = 60.0
STANDBY_SECONDS = 30.0


class Scheduler:
    """Runs the due job, sleeps until the next one, and hands over to a standby if it dies."""

    def __init__(
        self,
        ctx: AppContext,
        *,
        sleep: Callable[[float], None] = time.sleep,
        run: Callable[[str], object] | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.ctx = ctx
        self.sleep = sleep
        self.say = say
        self.run = run or self._run_recorded

    def serve(self, max_jobs: int | None = None) -> int:
        """Hold the scheduler lock (standing by while another process has it) and run jobs on
        schedule; returns the number of jobs run once `max_jobs` ran (never, by default)."""
        lock = UpkeepLock(self.ctx)
        while True:
            with lock.hold(SCHEDULER_LOCK) as leading:
                if leading:
                    return self._lead(max_jobs)
            self.say("another clock process is scheduling; standing by")
            self.sleep(STANDBY_SECONDS)

    def _lead(self, max_jobs: int | None) -> int:
        settings, calendar, clock = self.ctx.settings, self.ctx.calendar, self.ctx.clock
        interval, delay = settings.fresh_intraday_seconds, settings.warm_delay_seconds
        now = clock.now()
        due: dict[str, datetime] = {
            "warm": warm_due(calendar, now, delay, last_success(self.ctx, "warm")),
            "refresh": refresh_due(calendar, now, interval, last_success(self.ctx, "refresh")),
        }
        self.say(
            "scheduling: "
            + ", ".join(f"{job} at {due[job]:%Y-%m-%d %H:%M:%S} UTC" for job in sorted(due))
        )
        ran = 0
        while max_jobs is None or ran < max_jobs:
            # Warm first when both are due: the close's bars matter more than one more quote.
            job = min(due, key=lambda name: (due[name], name != "warm"))
            wait = (due[job] - clock.now()).total_seconds()
            if wait > 0:
                self.sleep(min(wait, LONGEST_NAP_SECONDS))
                continue
            self.run(job)
            ran += 1
            now = clock.now()
            due[job] = (
                next_warm(calendar, now, delay)
                if job == "warm"
                else next_refresh(calendar, now, interval)
            )
            self.say(f"next {job} at {due[job]:%Y-%m-%d %H:%M:%S} UTC")
        return ran

    def _run_recorded(self, job: str) -> object:
        """Run one job; a failure is recorded in job_runs and logged, and the scheduler goes on."""
        try:
            outcome = run_job(
                self.ctx,
                job,
                trigger="clock",
                progress=lambda percent, stage: self.say(f"{job}: {percent:3d}% {stage}"),
            )
        except JobBusy as busy:
            self.say(f"{job}: skipped, {busy}")
            return None
        except Exception:
            log.exception("%s failed", job)
            return None
        self.say(f"{job}: {outcome.status}")
        return outcome
