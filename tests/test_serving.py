"""The app as deployed: gunicorn with several workers, in demo mode, answering real HTTP."""

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


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_gunicorn_with_two_workers_serves_the_demo(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "STOCKTRACKER_DEMO": "1",
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "serving-test",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "app:server",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        portfolios = None
        while time.monotonic() < deadline and portfolios is None:
            try:
                portfolios = get_json(f"http://127.0.0.1:{port}/api/portfolios")
            except OSError:
                time.sleep(0.5)
        assert portfolios is not None, "gunicorn did not answer within 90 s"
        # Two workers seeded at once, yet there is one demo portfolio.
        assert [p["name"] for p in portfolios] == ["Demo portfolio"]
        holdings = get_json(
            f"http://127.0.0.1:{port}/api/portfolios/{portfolios[0]['id']}/holdings"
        )
        assert len(holdings["holdings"]) >= 12
        assert all(h["price"] is not None and h["source"] == "demo" for h in holdings["holdings"])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            page = response.read().decode()
        assert "<title>StockTracker</title>" in page
    finally:
        server.terminate()
        server.wait(timeout=30)
