"""Background-callback jobs as threads: what the browser's polls see, and why not a fork."""

from __future__ import annotations

import threading
import time

import diskcache
import pytest

from dashapp.ui.background_jobs import ThreadedDiskcacheManager

WAIT_SECONDS = 10


@pytest.fixture
def manager(tmp_path):
    cache = diskcache.Cache(str(tmp_path / "callbacks"))
    yield ThreadedDiskcacheManager(cache)
    cache.close()


def start(manager: ThreadedDiskcacheManager, fn, key: str = "result-key") -> int:
    job_fn = manager.make_job_fn(fn, progress=False)
    return manager.call_job_fn(key, job_fn, [], {"args": {}})


def wait_for(condition) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the job did not get there in time"
        time.sleep(0.01)


def test_a_job_is_running_until_its_result_has_been_read(manager):
    release = threading.Event()

    def callback():
        release.wait(WAIT_SECONDS)
        return "drawn"

    job = start(manager, callback)
    assert manager.job_running(job)
    assert manager.get_result("result-key", job) is manager.UNDEFINED

    release.set()
    wait_for(lambda: manager.result_ready("result-key"))
    # Done, but a poll that missed the result must not take the job for stopped.
    assert manager.job_running(job)
    assert manager.get_result("result-key", job) == "drawn"
    assert not manager.job_running(job)


def test_a_cancelled_job_is_forgotten_even_while_its_thread_finishes(manager):
    release = threading.Event()
    job = start(manager, lambda: release.wait(WAIT_SECONDS) and "late")
    manager.terminate_job(job)
    assert not manager.job_running(job)
    release.set()
    wait_for(lambda: manager.result_ready("result-key"))
    assert not manager.job_running(job)


def test_a_job_of_a_process_that_died_is_not_running(manager):
    release = threading.Event()
    job = start(manager, lambda: release.wait(WAIT_SECONDS))
    entry = manager.handle.get(f"background-job:{job}")
    manager.handle.set(f"background-job:{job}", {**entry, "pid": 2**22 + 12345})
    assert not manager.job_running(job)
    assert manager.terminate_unhealthy_job(job)
    release.set()


def test_a_lock_another_thread_holds_when_the_job_starts_is_released_for_the_job_too(manager):
    # What SQLite's global mutex does: a forked job would keep the copy locked forever.
    shared = threading.Lock()
    holder_has_it, job_started = threading.Event(), threading.Event()

    def holder():
        with shared:
            holder_has_it.set()
            job_started.wait(WAIT_SECONDS)

    def callback():
        with shared:
            return "got the lock"

    other = threading.Thread(target=holder)
    other.start()
    holder_has_it.wait(WAIT_SECONDS)
    job = start(manager, callback)
    job_started.set()
    other.join(WAIT_SECONDS)

    wait_for(lambda: manager.result_ready("result-key"))
    assert manager.get_result("result-key", job) == "got the lock"


def test_job_ids_are_whole_numbers_dash_can_parse(manager):
    job = start(manager, lambda: "done")
    assert isinstance(job, int) and job > 0
    wait_for(lambda: manager.result_ready("result-key"))
