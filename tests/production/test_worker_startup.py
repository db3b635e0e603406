"""Every gunicorn worker answers a component-suite request as its very first request.

A browser that loads the page from one worker fetches the scripts from whichever workers answer
next; a fresh worker (at start, or recycled by --max-requests) must serve them at once, even
while its other threads serve their own first requests.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from dashapp import context_of, create_app
from tests.conftest import make_settings
from tests.production.stack import get, start_gunicorn, wait_until

WORKERS = 3
# More concurrent connections than a worker has threads, so a fresh worker serves several
# first requests at once.
CONCURRENCY = 16
SCRIPT = re.compile(r'<script src="(/_dash-component-suites/[^"]+)"')
# Loaded by the browser later, on demand (a graph, a dropdown), not named by the index page.
ON_DEMAND = ("dcc/async-graph.js", "dcc/async-dropdown.js")


@pytest.fixture(scope="module")
def suite_paths(tmp_path_factory) -> list[str]:
    """The component-suite URLs a browser asks for, from an app built in this process."""
    app = create_app(make_settings(tmp_path_factory.mktemp("paths"), "sqlite:///:memory:"))
    try:
        page = app.server.test_client().get("/").get_data(as_text=True)
    finally:
        context_of(app).close()
    paths = SCRIPT.findall(page)
    assert len(paths) >= 8, page
    return paths + [f"/_dash-component-suites/dash/{path}" for path in ON_DEMAND]


def fetch_scripts(base: str, paths: list[str], rounds: int) -> list[int]:
    urls = [base + path for path in paths] * rounds
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return [status for status, _ in pool.map(get, urls)]


def env_for(tmp_path) -> dict[str, str]:
    return {
        "MARKET_DATA": "demo",
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "startup-test",
    }


def test_each_fresh_worker_serves_scripts_before_any_page(tmp_path, suite_paths):
    server = start_gunicorn(tmp_path, env_for(tmp_path), workers=WORKERS)
    try:
        wait_until(lambda: len(server.booted_workers()) == WORKERS, 60, "workers booting")
        statuses: list[int] = []

        def every_worker_answered() -> bool:
            statuses.extend(fetch_scripts(server.base, suite_paths, rounds=1))
            return {pid for pid, _, _ in server.answers()} >= set(server.booted_workers())

        wait_until(every_worker_answered, 90, "every worker answering")
        answers = server.answers()
    finally:
        server.stop()
    assert {path for _, _, path in answers} <= set(suite_paths), "only scripts were asked for"
    failed = [answer for answer in answers if answer[1] != 200]
    assert not failed, failed[:5]
    assert statuses and set(statuses) == {200}


def test_workers_recycled_by_max_requests_serve_scripts_first(tmp_path, suite_paths):
    server = start_gunicorn(
        tmp_path,
        env_for(tmp_path),
        workers=2,
        extra=("--max-requests", "15", "--max-requests-jitter", "0"),
    )
    try:
        wait_until(lambda: len(server.booted_workers()) == 2, 60, "workers booting")
        statuses: list[int] = []

        def recycled_workers_answered() -> bool:
            statuses.extend(fetch_scripts(server.base, suite_paths, rounds=2))
            return len({pid for pid, _, _ in server.answers()}) >= 5

        wait_until(recycled_workers_answered, 120, "three recycled workers answering")
        answers = server.answers()
    finally:
        server.stop()
    failed = [answer for answer in answers if answer[1] != 200]
    assert not failed, failed[:5]
    assert statuses and set(statuses) == {200}
