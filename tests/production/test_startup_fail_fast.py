"""Start-up against a dead, frozen or misconfigured dependency stops at once with one line that
names the setting and the host: `python app.py`, gunicorn and `python -m dashapp.jobs`.

The bound on time: the process that fails on a malformed setting (no connection tried) is the
baseline, and a dependency may cost at most 10 s more. The baseline is mostly imports, which
take long on a busy machine; a hang (the old behaviour was 134 s) fails either way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.servers import ROOT, free_port
from tests.tcp_proxy import TcpProxy

PREFIX = "StockTracker cannot start: "
# On top of the baseline: the connect timeout (3 s by default) with its margin.
DEPENDENCY_SECONDS = 10


def run(command: list[str], tmp_path, env: dict[str, str]) -> tuple[int, list[str], float]:
    """Exit status, stderr's non-empty lines and elapsed seconds."""
    started = time.monotonic()
    finished = subprocess.run(
        command,
        cwd=ROOT,
        env={
            **os.environ,
            "MARKET_DATA": "demo",
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "SECRET_KEY": "startup-test",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in finished.stderr.splitlines() if line.strip()]
    return finished.returncode, lines, time.monotonic() - started


APP = [sys.executable, "app.py"]
JOBS = [sys.executable, "-m", "dashapp.jobs", "--run", "refresh"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> float:
    """Seconds `python app.py` takes to refuse a malformed DATABASE_URL (bad port)."""
    tmp_path = tmp_path_factory.mktemp("baseline")
    status, lines, elapsed = run(
        APP, tmp_path, {"DATABASE_URL": "postgresql://app:secret@db.internal:54x2/app"}
    )
    assert status != 0
    assert lines == [
        f"{PREFIX}DATABASE_URL: the port for host db.internal must be a number from 1 to 65535"
    ]
    return elapsed


def test_malformed_redis_url_is_one_line(tmp_path):
    status, lines, _ = run(APP, tmp_path, {"REDIS_URL": "redis://cache.internal:99999/0"})
    assert status != 0
    assert lines == [
        f"{PREFIX}REDIS_URL: the port for host cache.internal must be a number from 1 to 65535"
    ]


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")
@pytest.mark.parametrize("fault", ["refused", "frozen"])
def test_app_with_unreachable_database_stops_with_one_line(tmp_path, baseline, fault):
    with TcpProxy("127.0.0.1", 5432) as proxy:
        getattr(proxy, "cut" if fault == "refused" else "freeze")()
        url = proxy.url_for(TEST_DATABASE_URL)
        status, lines, elapsed = run(APP, tmp_path, {"DATABASE_URL": url})
    assert status != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{PREFIX}DATABASE_URL: cannot connect to 127.0.0.1:{proxy.port} (")
    assert elapsed < baseline + DEPENDENCY_SECONDS, (elapsed, baseline)


@pytest.mark.redis
@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set")
@pytest.mark.parametrize("fault", ["refused", "frozen"])
def test_app_with_unreachable_redis_stops_with_one_line(tmp_path, baseline, fault):
    with TcpProxy("127.0.0.1", 6379) as proxy:
        getattr(proxy, "cut" if fault == "refused" else "freeze")()
        status, lines, elapsed = run(APP, tmp_path, {"REDIS_URL": proxy.url_for(TEST_REDIS_URL)})
    assert status != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{PREFIX}REDIS_URL: cannot connect to 127.0.0.1:{proxy.port} (")
    assert elapsed < baseline + DEPENDENCY_SECONDS, (elapsed, baseline)


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")
def test_gunicorn_with_unreachable_database_stops_before_any_worker(tmp_path, baseline):
    """The master's one line, from its start-up (gunicorn.conf.py: it migrates before it forks),
    and no worker is started to fail forever; gunicorn's own log goes to its file."""
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    command = [
        *(sys.executable, "-m", "gunicorn", "app:server", "--workers", "1"),
        *("--bind", f"127.0.0.1:{free_port()}", "--error-logfile", str(tmp_path / "error.log")),
    ]
    status, lines, elapsed = run(command, tmp_path, {"DATABASE_URL": dead})
    assert status != 0
    assert lines == [
        f"{PREFIX}DATABASE_URL: cannot connect to 127.0.0.1:{dead.rsplit(':', 1)[1].split('/')[0]} "
        f'(connection failed: connection to server at "127.0.0.1", port '
        f"{dead.rsplit(':', 1)[1].split('/')[0]} failed: Connection refused)"
    ]
    assert status == 3
    assert "Booting worker" not in (tmp_path / "error.log").read_text()
    assert elapsed < baseline + DEPENDENCY_SECONDS + 5, (elapsed, baseline)


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")
def test_jobs_with_unreachable_database_stop_with_one_line(tmp_path, baseline):
    with TcpProxy("127.0.0.1", 5432) as proxy:
        proxy.freeze()
        status, lines, elapsed = run(
            JOBS, tmp_path, {"DATABASE_URL": proxy.url_for(TEST_DATABASE_URL)}
        )
    assert status == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"StockTracker jobs cannot start: DATABASE_URL: cannot connect to 127.0.0.1:{proxy.port} ("
    )
    assert elapsed < baseline + DEPENDENCY_SECONDS, (elapsed, baseline)
