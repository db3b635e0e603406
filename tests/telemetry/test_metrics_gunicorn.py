"""Under gunicorn with several workers, `/metrics` counts every worker's requests, whichever
worker answers the scrape (prometheus_client in multiprocess mode, gunicorn.conf.py hooks)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import free_port, http, start_gunicorn, wait_for_portfolios

HEALTHZ_COUNT = "stocktracker_request_duration_seconds_count"
WORKERS = 3
BATCH = 6
# Time for an idle worker to accept a held connection before the next one is opened.
ACCEPT_SECONDS = 0.5


def healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == HEALTHZ_COUNT and sample.labels.get("route") == "/healthz":
                return sample.value
    return 0.0


def healthz_count_per_worker(metrics_dir: Path) -> dict[str, float]:
    """/healthz requests counted in each worker's own histogram file."""
    counts = {}
    for path in metrics_dir.glob("histogram_*.db"):
        counts[path.stem] = sum(
            sample.value
            for metric in MultiProcessCollector.merge([str(path)])
            for sample in metric.samples
            if sample.name == HEALTHZ_COUNT and sample.labels.get("route") == "/healthz"
        )
    return {worker: count for worker, count in counts.items() if count}


def hold_a_worker(port: int) -> socket.socket:
    """A connection whose request is sent only in part: the sync worker that accepts it waits
    for the rest, so the next connections must go to the other workers. (Left alone, Linux
    hands fast requests to the same worker, which would prove nothing about adding up.)"""
    held = socket.create_connection(("127.0.0.1", port), timeout=30)
    held.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    time.sleep(ACCEPT_SECONDS)
    return held


def finish(held: socket.socket) -> int:
    """Send the rest of a held request; returns its HTTP status."""
    held.sendall(b"Connection: close\r\n\r\n")
    response = b""
    while chunk := held.recv(65536):
        response += chunk
    held.close()
    return int(response.split(b" ", 2)[1])


def test_every_worker_counts_into_one_scrape(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    metrics_dir = tmp_path / "metrics"
    env = {
        "MARKET_DATA": "demo",
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "metrics-test",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    server = start_gunicorn(port, env, workers=WORKERS)
    try:
        wait_for_portfolios(base)
        held = [hold_a_worker(port) for _ in range(WORKERS - 1)]
        # Only the worker left free can answer these; then the held ones are answered.
        statuses = [http(f"{base}/healthz")[0] for _ in range(BATCH)]
        statuses += [finish(connection) for connection in held]
        sent = len(statuses)
        per_worker = healthz_count_per_worker(metrics_dir)
        scrapes = [healthz_count(http(f"{base}/metrics")[1]) for _ in range(6)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert statuses == [200] * sent
    assert len(per_worker) == WORKERS, per_worker
    assert sum(per_worker.values()) == sent
    # Whichever worker answers a scrape, it adds up every worker's requests.
    assert scrapes == [float(sent)] * 6
