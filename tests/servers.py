"""Helpers for tests that run the app as separate processes and talk to it over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(url: str, body: dict | None = None) -> tuple[int, str]:
    """GET, or POST `body` as JSON; returns status and text."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


def wait_for_portfolios(base: str, seconds: float = 90) -> list[dict]:
    """The portfolio list once the server answers (it seeds the demo before serving)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return json.loads(http(f"{base}/api/portfolios")[1])
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the server did not answer within {seconds:g} s")


def start(arguments: list[str], env: dict[str, str]) -> subprocess.Popen:
    """`python -m <arguments>` from the repository root with `env` added, output discarded."""
    return subprocess.Popen(
        [sys.executable, "-m", *arguments],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_gunicorn(port: int, env: dict[str, str], workers: int = 2) -> subprocess.Popen:
    return start(
        ["gunicorn", "app:server", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"], env
    )
