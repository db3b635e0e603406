"""The app as deployed: gunicorn with several workers, in demo mode, answering real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.servers import free_port, http, wait_for_portfolios

ROOT = Path(__file__).resolve().parents[1]


def test_gunicorn_with_two_workers_serves_the_demo(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
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
        portfolios = wait_for_portfolios(base)
        # Two workers seeded at once, yet there is one demo portfolio.
        assert [p["name"] for p in portfolios] == ["Demo portfolio"]
        holdings = json.loads(http(f"{base}/api/portfolios/{portfolios[0]['id']}/holdings")[1])
        assert len(holdings["holdings"]) >= 12
        assert all(h["price"] is not None and h["source"] == "demo" for h in holdings["holdings"])
        page = http(f"{base}/")[1]
        assert "<title>StockTracker</title>" in page
    finally:
        server.terminate()
        server.wait(timeout=30)
