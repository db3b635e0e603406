"""The README's production section, run as written: `honcho start` with a .env made from
.env.example, against this machine's PostgreSQL (a schema of its own) and Redis (db 15).

Runs when TEST_DATABASE_URL and TEST_REDIS_URL are set (CI sets both). Bounded: start-up
within START_SECONDS, a clean stop within STOP_SECONDS.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, postgres_schema
from tests.servers import ROOT, free_port

START_SECONDS = 150
STOP_SECONDS = 45
PROCESSES = ("web", "worker", "clock")


def settings_read_by_the_app() -> set[str]:
    source = (ROOT / "dashapp" / "settings.py").read_text()
    return set(re.findall(r'env(?:\.get\(|\[|,)\s*"([A-Z_]+)"', source))


def settings_in_the_example() -> dict[str, str]:
    """NAME -> value for `NAME=value` lines, active or commented out."""
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"#?\s?([A-Z_]+)=(.*)", line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_env_example_names_every_setting_each_process_reads():
    example = settings_in_the_example()
    assert settings_read_by_the_app() - set(example) == set()
    # And those the Procfile's lines read.
    procfile_variables = set(re.findall(r"\$\{?([A-Z_]+)", (ROOT / "Procfile").read_text()))
    assert procfile_variables - set(example) == set()


def test_procfile_runs_web_worker_and_clock():
    lines = (ROOT / "Procfile").read_text().splitlines()
    assert [line.split(":", 1)[0] for line in lines if line.strip()] == list(PROCESSES)


@pytest.fixture
def schema_url():
    if not (TEST_DATABASE_URL and TEST_REDIS_URL):
        pytest.skip("TEST_DATABASE_URL and TEST_REDIS_URL are not both set")
    with postgres_schema() as url:
        yield url


def get(url: str, opener: urllib.request.OpenerDirector | None = None) -> tuple[int, str]:
    try:
        with (opener or urllib.request.build_opener()).open(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def signed_in(base: str, username: str, password: str) -> urllib.request.OpenerDirector:
    """A client with a cookie jar that signed in through the sign-in form, as a browser does."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    form = get(f"{base}/signin", browser)[1]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
    fields = {"username": username, "password": password, "csrf_token": token, "next": "/"}
    request = urllib.request.Request(
        f"{base}/signin",
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Origin": base},
    )
    with browser.open(request, timeout=10) as response:
        assert response.status == 200
    return browser


def env_file(path: Path, overrides: dict[str, str]) -> Path:
    """.env.example with its active lines replaced by `overrides`, as a user would edit it."""
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={overrides.pop(name)}" if name in overrides else line)
    lines += [f"{name}={value}" for name, value in overrides.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_honcho_start_serves_the_dashboard_and_stops_cleanly(tmp_path, schema_url):
    port = free_port()
    while port > 60_000:  # honcho gives the later processes PORT+100 and PORT+200
        port = free_port()
    env_path = env_file(
        tmp_path / ".env",
        {
            "DATABASE_URL": schema_url,
            "REDIS_URL": TEST_REDIS_URL,
            "SECRET_KEY": "production-test-secret",
            # The demo market: no test reaches the internet.
            "MARKET_DATA": "demo",
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "CELERY_CONCURRENCY": "2",
        },
    )
    venv_bin = str(Path(sys.executable).parent)
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", "--no-colour", "-e", str(env_path)],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, health = time.monotonic() + START_SECONDS, None
        while time.monotonic() < deadline and honcho.poll() is None:
            try:
                health = get(f"{base}/healthz")
            except OSError:
                health = None
            if health and health[0] == 200:
                break
            time.sleep(1)
        assert health is not None and health[0] == 200, f"/healthz never answered 200: {health}"
        # A Celery worker answered /healthz's ping: the worker of the Procfile is up.
        assert '"celery"' in health[1]

        # .env.example deploys with AUTH=accounts: the dashboard asks who you are first.
        status, page = get(f"{base}/")
        assert status == 200 and "Sign in to StockTracker" in page
        assert get(f"{base}/_dash-layout")[0] == 401
        made = subprocess.run(
            [
                *(sys.executable, "-m", "honcho", "run", "-e", str(env_path)),
                *(sys.executable, "-m", "dashapp.accounts", "create-user", "admin", "--admin"),
            ],
            cwd=ROOT,
            input="a long enough password\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
        browser = signed_in(base, "admin", "a long enough password")
        status, page = get(f"{base}/", browser)
        assert status == 200 and "_dash-config" in page
        assert get(f"{base}/_dash-layout", browser)[0] == 200

        honcho.send_signal(signal.SIGTERM)
        output, _ = honcho.communicate(timeout=STOP_SECONDS)
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait()
    for process in PROCESSES:
        assert f"{process}.1" in output, f"{process} never started:\n{output[-3000:]}"
    for process in ("web", "clock"):
        lines = "\n".join(line for line in output.splitlines() if f"{process}.1 " in line)
        assert "Traceback" not in lines, lines[-5000:]
    # Redis db 15 is shared by every test run on the machine: a task another run left queued is
    # "unregistered" here (its name hashes other code). Any other worker traceback is ours.
    worker = "\n".join(line for line in output.splitlines() if "worker.1 " in line)
    assert "Traceback" not in worker or "unregistered task" in worker, worker[-5000:]
    # Every process of the session has ended: nothing is left running.
    with pytest.raises(ProcessLookupError):
        os.killpg(honcho.pid, 0)
