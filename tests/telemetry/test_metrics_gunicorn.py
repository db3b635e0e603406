"""Under gunicorn with several workers, `/metrics` counts every worker's requests, whichever
worker answers the scrape (prometheus_client in multiprocess mode, gunicorn.conf.py hooks)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import free_port, http, start_gunicorn, wait_for_portfolios

HEALTHZ_COUNT = "stocktracker_request_duration_seconds_count"
BATCH = 6
MOST_BATCHES = 20


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
    server = start_gunicorn(port, env, workers=3)
    sent = 0
    try:
        wait_for_portfolios(base)
        # Concurrent batches until at least two workers have answered some of them.
        with ThreadPoolExecutor(BATCH) as pool:
            for _ in range(MOST_BATCHES):
                statuses = list(pool.map(lambda _: http(f"{base}/healthz")[0], range(BATCH)))
                assert statuses == [200] * BATCH
                sent += BATCH
                if len(healthz_count_per_worker(metrics_dir)) >= 2:
                    break
        per_worker = healthz_count_per_worker(metrics_dir)
        scrapes = [healthz_count(http(f"{base}/metrics")[1]) for _ in range(6)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert len(per_worker) >= 2, per_worker
    assert sum(per_worker.values()) == sent
    # Whichever worker answers a scrape, it adds up every worker's requests.
    assert scrapes == [float(sent)] * 6
