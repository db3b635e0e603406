"""Helpers for tests that run the app as separate processes and talk to it over HTTP."""

from __future__ import annotations

import json
import socket
import time
import urllib.request


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
