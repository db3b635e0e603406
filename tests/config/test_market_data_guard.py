"""The web publishes its MARKET_DATA; a clock or Celery worker set up differently refuses to
start with a message instead of serving the site from another market."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis

from dashapp.services.context import build_context
from dashapp.services.deployment import PUBLISHED_KEY, MarketDataMismatch, check_market_data
from dashapp.settings import Settings
from tests.conftest import TEST_REDIS_URL
from tests.servers import ROOT
from tests.test_celery_background import CELERY_WORKER

START_SECONDS = 180


def run(arguments: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=START_SECONDS,
    )


@pytest.fixture
def shared(tmp_path, sqlite_url) -> dict[str, str]:
    """One host's deployment: the same database and cache for every process."""
    return {
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "CACHE_DIR": str(tmp_path / "cache"),
        "DATABASE_URL": sqlite_url,
        "SECRET_KEY": "guard-test",
    }


def publish_as_web(env: dict[str, str]) -> None:
    """What gunicorn's master does before it forks its workers."""
    web = run(["app.py", "--prepare-only"], env)
    assert web.returncode == 0, web.stderr


def test_a_clock_with_another_market_refuses_to_start_and_says_why(shared):
    publish_as_web({**shared, "MARKET_DATA": "demo"})
    clock = run(["-m", "dashapp.jobs", "--run", "refresh"], {**shared, "MARKET_DATA": "yahoo"})
    assert clock.returncode == 1
    assert (
        "StockTracker jobs cannot start: MARKET_DATA is 'yahoo' here but the web processes of "
        "this deployment run with 'demo'"
    ) in clock.stderr
    assert "MARKET_DATA=demo" in clock.stderr
    assert "Traceback" not in clock.stderr


def test_a_clock_with_the_webs_market_runs(shared):
    publish_as_web({**shared, "MARKET_DATA": "demo"})
    clock = run(["-m", "dashapp.jobs", "--run", "refresh"], {**shared, "MARKET_DATA": "demo"})
    assert clock.returncode == 0, clock.stderr
    assert "refresh: succeeded" in clock.stdout


def test_nothing_published_yet_lets_a_process_start(tmp_path, sqlite_url, clock):
    settings = Settings.from_env(
        {"INSTANCE_DIR": str(tmp_path), "DATABASE_URL": sqlite_url, "MARKET_DATA": "yahoo"}
    )
    ctx = build_context(settings, clock=clock)
    try:
        check_market_data(ctx, "clock")
    finally:
        ctx.close()


@pytest.mark.redis
@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set")
def test_a_celery_worker_with_another_market_refuses_to_start(shared, tmp_path):
    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.delete(PUBLISHED_KEY)
    try:
        # The web on one host, the worker on another: only Redis is shared.
        publish_as_web({**shared, "REDIS_URL": TEST_REDIS_URL, "MARKET_DATA": "demo"})
        worker_env = {
            **shared,
            "REDIS_URL": TEST_REDIS_URL,
            "CACHE_DIR": str(tmp_path / "worker-cache"),
            "MARKET_DATA": "yahoo",
        }
        worker = run(["-m", *CELERY_WORKER], worker_env)
        assert worker.returncode != 0
        assert "StockTracker worker cannot start: MARKET_DATA is 'yahoo' here" in worker.stderr
        assert "Traceback" not in worker.stderr

        with pytest.raises(MarketDataMismatch):
            ctx = build_context(Settings.from_env(worker_env))
            try:
                check_market_data(ctx, "Celery worker")
            finally:
                ctx.close()
    finally:
        client.delete(PUBLISHED_KEY)
