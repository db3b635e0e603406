"""gunicorn started the way the Procfile starts it, with its logs kept for the test to read."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.servers import ROOT, free_port

# gunicorn access-log line: "<pid> <status> <path>"
ACCESS_FORMAT = "%(p)s %(s)s %(U)s"
ACCESS_LINE = re.compile(r"^<(\d+)> (\d{3}) (\S+)$")
BOOTED = re.compile(r"Booting worker with pid: (\d+)")


@dataclass
class Gunicorn:
    process: subprocess.Popen
    base: str
    access_log: Path
    error_log: Path

    def answers(self) -> list[tuple[int, int, str]]:
        """(worker pid, status, path) per request answered so far."""
        if not self.access_log.exists():
            return []
        lines = self.access_log.read_text().splitlines()
        return [
            (int(match[1]), int(match[2]), match[3])
            for match in map(ACCESS_LINE.match, lines)
            if match
        ]

    def booted_workers(self) -> list[int]:
        text = self.error_log.read_text() if self.error_log.exists() else ""
        return [int(pid) for pid in BOOTED.findall(text)]

    def log(self) -> str:
        return self.error_log.read_text() if self.error_log.exists() else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_gunicorn(
    tmp_path: Path, env: dict[str, str], *, workers: int = 2, extra: tuple[str, ...] = ()
) -> Gunicorn:
    """`gunicorn app:server` with gthread workers as in the Procfile, logs under `tmp_path`."""
    port = free_port()
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    command = [
        *(sys.executable, "-m", "gunicorn", "app:server"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "4"),
        *("--access-logfile", str(access_log), "--access-logformat", ACCESS_FORMAT),
        *("--error-logfile", str(error_log), "--log-level", "info"),
        *extra,
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Gunicorn(process, f"http://127.0.0.1:{port}", access_log, error_log)


def get(url: str, timeout: float = 30) -> tuple[int, bytes]:
    """GET on a fresh connection; an HTTP error status is an answer, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {seconds:g} s")
