"""Two tabs, identical inputs, Celery + Redis: gunicorn with two workers and a Celery worker.

Each tab loads its own page, starts the comparison job with the same question through one
gunicorn worker and polls through whichever answers next, exactly as a browser would. Runs
when TEST_REDIS_URL is set (CI sets it).
"""

from __future__ import annotations

import pytest
import redis

from tests.config.background_http import COMPARE_JOB_INPUT, NO_ANSWER, Tab, http_transport
from tests.conftest import TEST_REDIS_URL
from tests.servers import free_port, start, start_gunicorn, wait_for_portfolios
from tests.test_celery_background import CELERY_WORKER

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set"),
]


@pytest.fixture
def stack(tmp_path):
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    env = {
        "REDIS_URL": TEST_REDIS_URL,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "STOCKTRACKER_DEMO": "1",
        "SECRET_KEY": "celery-test-secret",
    }
    port = free_port()
    worker = start(CELERY_WORKER, env)
    web = start_gunicorn(port, env, workers=2)
    base = f"http://127.0.0.1:{port}"
    try:
        [portfolio] = wait_for_portfolios(base)
        yield base, portfolio["id"]
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=30)


def job(portfolio_id: int, period: str) -> dict:
    return {
        "portfolio_id": portfolio_id,
        "benchmarks": ["SPY", "IWM"],
        "period": period,
        "start": None,
        "end": None,
        "asked": "compare-run",
    }


def test_identical_jobs_from_two_tabs_each_answer_and_a_cancel_stops_only_its_own(stack):
    base, portfolio_id = stack
    tabs = [Tab(http_transport(base)) for _ in range(4)]
    for tab in tabs:
        tab.open()
    first, second, third, fourth = tabs
    for tab in (first, second):
        tab.start([COMPARE_JOB_INPUT], [job(portfolio_id, "1Y")])
    answers = [first.answer(90), second.answer(90)]
    for answer in answers:
        assert answer != NO_ANSWER, "one of the two tabs got nothing"
    [key] = [k for k in answers[0] if k.startswith("compare-result")]
    assert answers[0][key] == answers[1][key]
    assert set(answers[0][key]["data"]["series"]["benchmarks"]) == {"SPY", "IWM"}

    # A new question, asked by two tabs; the first cancels at once.
    for tab in (third, fourth):
        tab.start([COMPARE_JOB_INPUT], [job(portfolio_id, "3Y")])
    assert third.cancel({"id": "compare-cancel", "property": "n_clicks"}) in (200, 204)
    answer = fourth.answer(90)
    assert answer != NO_ANSWER, "cancelling one tab's job cancelled its twin's"
    assert answer[key]["data"]["metrics"]["IWM"]["beta"] is not None
