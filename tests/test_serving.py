"""The app as deployed: gunicorn with several workers, in demo mode, answering real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.servers import ROOT, free_port, http, start_gunicorn, wait_for_portfolios


def test_gunicorn_with_two_workers_serves_the_demo(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "STOCKTRACKER_DEMO": "1",
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "serving-test",
    }
    server = start_gunicorn(port, env, workers=2)
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


def test_the_embedded_server_keeps_quiet_below_its_log_level(tmp_path):
    """`python app.py` with LOG_LEVEL=WARNING writes no access line per request: werkzeug
    sets its own logger to INFO when nothing set it."""
    port = free_port()
    env = {
        **os.environ,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "serving-test",
    }
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [sys.executable, "app.py", "--demo"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        [portfolio] = wait_for_portfolios(base)
        for _ in range(3):
            assert http(f"{base}/api/portfolios/{portfolio['id']}")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    written = log.read_text()
    assert "GET /api/portfolios" not in written, written[-2000:]
