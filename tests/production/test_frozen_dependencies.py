"""gunicorn as the Procfile runs it, with PostgreSQL and Redis behind proxies this test starts:
a frozen or cut dependency is a clear error within seconds, never a hang.

What a user or operator notices is asserted: `/healthz` answers 503 at once naming the part,
requests that need the database fail instead of hanging, the rest keeps answering, and all is
well again when the dependency is back. Elapsed-time bounds are hang detectors, not benchmarks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import redis

from tests.config.background_http import COMPARE_JOB_INPUT, NO_ANSWER, Tab, http_transport
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, postgres_schema
from tests.production.stack import Gunicorn, get, start_gunicorn, wait_until
from tests.servers import ROOT
from tests.tcp_proxy import TcpProxy

# /healthz promises 2 s; more than this is a hang, whatever the machine's load.
HEALTHZ_HANG_SECONDS = 5
# Redis socket timeouts are seconds; a background callback waiting longer than this hangs.
BACKGROUND_HANG_SECONDS = 20


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    with postgres_schema() as url:
        yield url


def healthz(server: Gunicorn) -> tuple[int, dict, float, str]:
    started = time.monotonic()
    status, body = get(f"{server.base}/healthz", timeout=60)
    return status, json.loads(body), time.monotonic() - started, body.decode()


def healthy(server: Gunicorn) -> bool:
    try:
        return healthz(server)[0] == 200
    except OSError:
        return False


def env_for(tmp_path, **extra: str) -> dict[str, str]:
    return {
        "MARKET_DATA": "demo",
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "frozen-test",
        **extra,
    }


@pytest.mark.postgres
def test_frozen_database_is_a_503_at_once_and_failed_requests(tmp_path, pg_schema_url):
    with TcpProxy("127.0.0.1", 5432) as proxy:
        env = env_for(
            tmp_path,
            DATABASE_URL=proxy.url_for(pg_schema_url),
            DATABASE_STATEMENT_TIMEOUT_SECONDS="3",
        )
        server = start_gunicorn(tmp_path, env, workers=2, extra=("--timeout", "25"))
        try:
            wait_until(lambda: healthy(server), 120, "the app answering /healthz")
            assert get(f"{server.base}/api/portfolios")[0] == 200

            proxy.freeze()
            status, payload, elapsed, raw = healthz(server)
            assert status == 503
            assert elapsed < HEALTHZ_HANG_SECONDS
            assert payload["checks"]["database"]["ok"] is False
            assert "no answer within" in payload["checks"]["database"]["reason"]
            assert payload["checks"]["cache"]["ok"] is True
            assert str(tmp_path) not in raw and "/instance" not in raw

            # A request that needs the database fails within its timeouts; the worker lives.
            started = time.monotonic()
            status, _ = get(f"{server.base}/api/portfolios", timeout=120)
            assert status >= 500
            assert time.monotonic() - started < 25

            proxy.restore()
            wait_until(lambda: healthy(server), 60, "/healthz recovering")
            assert get(f"{server.base}/api/portfolios")[0] == 200
            assert len(server.booted_workers()) == 2, "no worker had to be replaced"
        finally:
            server.stop()


@pytest.mark.postgres
def test_a_request_stuck_past_the_timeout_gets_its_worker_replaced(tmp_path, pg_schema_url):
    """With the database deadline set above gunicorn's --timeout, a request on a frozen
    database outlives it: the watchdog (gunicorn.conf.py) ends that worker and the master
    starts another, which serves once the database is back."""
    with TcpProxy("127.0.0.1", 5432) as proxy:
        env = env_for(
            tmp_path,
            DATABASE_URL=proxy.url_for(pg_schema_url),
            DATABASE_STATEMENT_TIMEOUT_SECONDS="120",
        )
        server = start_gunicorn(tmp_path, env, workers=1, extra=("--timeout", "20"))
        try:
            wait_until(lambda: healthy(server), 120, "the app answering /healthz")
            [first] = server.booted_workers()
            proxy.freeze()
            started = time.monotonic()
            with pytest.raises(OSError):  # the worker ended with the request open
                get(f"{server.base}/api/portfolios", timeout=120)
            assert time.monotonic() - started < 60
            assert "past --timeout 20 s: restarting worker" in server.log()
            proxy.restore()
            wait_until(lambda: healthy(server), 120, "a new worker answering")
            assert [pid for pid in server.booted_workers() if pid != first]
        finally:
            server.stop()


CELERY_WORKER = [
    *(sys.executable, "-m", "celery", "-A", "app:celery", "worker", "--pool=solo"),
    *("--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"),
]


def start_celery_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        CELERY_WORKER,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.redis
@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set")
def test_cut_or_frozen_redis_is_a_503_naming_it_while_pages_answer(tmp_path):
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    with TcpProxy("127.0.0.1", 6379) as proxy:
        env = env_for(tmp_path, REDIS_URL=proxy.url_for(TEST_REDIS_URL))
        worker = start_celery_worker(env)
        server = start_gunicorn(tmp_path, env, workers=2)
        try:
            wait_until(lambda: healthy(server), 120, "web and Celery worker healthy")
            status, payload, _, _ = healthz(server)
            assert set(payload["checks"]) == {"database", "cache", "breaker", "redis", "celery"}

            for fault in ("cut", "freeze"):
                getattr(proxy, fault)()
                status, payload, elapsed, _ = healthz(server)
                assert status == 503, fault
                assert elapsed < HEALTHZ_HANG_SECONDS, fault
                assert payload["checks"]["redis"]["ok"] is False, fault
                assert payload["checks"]["celery"]["ok"] is False, fault
                assert payload["checks"]["database"]["ok"] is True, fault
                assert get(f"{server.base}/api/portfolios")[0] == 200, fault
                proxy.restore()
                wait_until(lambda: healthz(server)[1]["checks"]["redis"]["ok"], 60, "Redis back")
        finally:
            server.stop()
            worker.terminate()
            worker.wait(timeout=30)


@pytest.mark.redis
@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set")
def test_a_background_job_asked_while_redis_is_frozen_is_an_error_not_a_hang(tmp_path):
    """The comparison's background callback needs Redis to queue its job: frozen Redis is a
    clear error within the socket timeouts, and the next job after the thaw runs."""
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    with TcpProxy("127.0.0.1", 6379) as proxy:
        env = env_for(tmp_path, REDIS_URL=proxy.url_for(TEST_REDIS_URL), STOCKTRACKER_DEMO="1")
        worker = start_celery_worker(env)
        server = start_gunicorn(tmp_path, env, workers=2)
        try:
            wait_until(lambda: healthy(server), 120, "web and Celery worker healthy")
            [portfolio] = json.loads(get(f"{server.base}/api/portfolios")[1])
            tab = Tab(http_transport(server.base))
            tab.open()
            tab.callback([COMPARE_JOB_INPUT])  # the page's dependencies, read while Redis answers
            question = {
                "portfolio_id": portfolio["id"],
                "benchmarks": ["SPY"],
                "period": "1Y",
                "start": None,
                "end": None,
                "asked": "compare-run",
            }

            proxy.freeze()
            started = time.monotonic()
            status, text = tab.ask([COMPARE_JOB_INPUT], [question])
            elapsed = time.monotonic() - started
            assert status >= 500, text
            assert elapsed < BACKGROUND_HANG_SECONDS
            assert "Traceback" not in text

            proxy.restore()
            wait_until(lambda: healthy(server), 60, "Redis back")
            tab.start([COMPARE_JOB_INPUT], [question])
            assert tab.answer(90) != NO_ANSWER
        finally:
            server.stop()
            worker.terminate()
            worker.wait(timeout=30)
