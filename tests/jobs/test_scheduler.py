"""The scheduler runs jobs at the calendar's instants, with time and sleep injected."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

from dashapp.jobs.scheduler import SCHEDULER_LOCK, Scheduler
from dashapp.services.upkeep import UpkeepLock


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_jobs_run_at_their_instants_across_an_early_close_and_a_weekend(app_context, clock):
    # Friday after Thanksgiving, a few minutes before its 18:00 UTC early close; no run yet.
    clock.set(utc(2024, 11, 29, 17, 52))
    ran: list[tuple[str, datetime]] = []
    scheduler = Scheduler(
        app_context,
        sleep=lambda seconds: clock.advance(timedelta(seconds=seconds)),
        run=lambda job: ran.append((job, clock.now())),
        say=lambda line: None,
    )

    assert scheduler.serve(max_jobs=7) == 7

    assert ran == [
        # Catching up: no warm since Wednesday's close, and the session is trading.
        ("warm", utc(2024, 11, 29, 17, 52)),
        ("refresh", utc(2024, 11, 29, 17, 52)),
        ("refresh", utc(2024, 11, 29, 17, 55)),
        # 18:00 is the close, not a refresh; the warm follows ten minutes later.
        ("warm", utc(2024, 11, 29, 18, 10)),
        ("refresh", utc(2024, 12, 2, 14, 30)),
        ("refresh", utc(2024, 12, 2, 14, 35)),
        ("refresh", utc(2024, 12, 2, 14, 40)),
    ]


def test_a_second_clock_stands_by_until_the_first_is_gone(app_context, clock):
    clock.set(utc(2024, 12, 4, 15, 2))
    said: list[str] = []
    ran: list[str] = []
    first_clock = ExitStack()
    assert first_clock.enter_context(UpkeepLock(app_context).hold(SCHEDULER_LOCK))

    def sleep(seconds: float) -> None:
        said.append(f"slept {seconds:g} s")
        first_clock.close()  # the first clock process ends while the second waits

    standby = Scheduler(app_context, sleep=sleep, run=ran.append, say=said.append)

    assert standby.serve(max_jobs=2) == 2
    assert said[:3] == [
        "another clock process is scheduling; standing by",
        "slept 30 s",
        "scheduling: refresh at 2024-12-04 15:02:00 UTC, warm at 2024-12-04 15:02:00 UTC",
    ]
    # Taking over mid-session with nothing run since Tuesday: warm, then refresh, at once.
    assert ran == ["warm", "refresh"]
