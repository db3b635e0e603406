"""Background callbacks on Celery + Redis: gunicorn with two workers, a Celery worker, real HTTP.

Runs when TEST_REDIS_URL is set (CI sets it). The job is started through one gunicorn worker
and polled through whichever answers next, exactly as a browser would.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import TEST_REDIS_URL
from tests.servers import free_port, http, start, start_gunicorn, wait_for_portfolios

ROOT = Path(__file__).resolve().parents[1]
CELERY_WORKER = [
    *("celery", "-A", "app:celery", "worker", "--pool=solo", "--loglevel=WARNING"),
    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
]
pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set"),
]


def test_comparison_job_runs_on_celery_and_reaches_the_page(tmp_path):
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
        page = http(f"{base}/compare")[1]
        config = json.loads(
            re.search(
                r'<script id="_dash-config" type="application/json">(.*?)</script>', page, re.S
            ).group(1)
        )
        end_id = config.get("endId") or config.get("end_id")
        dependencies = json.loads(http(f"{base}/_dash-dependencies")[1])
        [job_callback] = [
            d for d in dependencies if d["inputs"] == [{"id": "compare-job", "property": "data"}]
        ]
        outputs = [
            dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
            for part in job_callback["output"].strip(".").split("...")
        ]
        job = {
            "portfolio_id": portfolio["id"],
            "benchmarks": ["SPY", "IWM"],
            "period": "1Y",
            "start": None,
            "end": None,
            "asked": "test",
        }
        body = {
            "output": job_callback["output"],
            "outputs": outputs,
            "inputs": [{"id": "compare-job", "property": "data", "value": job}],
            "state": [],
            "changedPropIds": ["compare-job.data"],
        }
        query = f"endId={end_id}" if end_id else ""
        started = json.loads(http(f"{base}/_dash-update-component?{query}", body)[1])
        assert "cacheKey" in started and "job" in started
        poll = f"{base}/_dash-update-component?{query}&cacheKey={started['cacheKey']}&job={started['job']}"
        deadline, answer = time.monotonic() + 90, None
        while time.monotonic() < deadline and answer is None:
            status, text = http(poll, body)
            reply = json.loads(text) if status == 200 and text else {}
            answer = reply.get("response")
            if answer is None:
                time.sleep(0.3)
        assert answer is not None, "the Celery job never answered"
        [result_key] = [key for key in answer if key.startswith("compare-result")]
        result = answer[result_key]["data"]
        assert set(result["series"]["benchmarks"]) == {"SPY", "IWM"}
        assert result["metrics"]["IWM"]["beta"] is not None
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=30)
