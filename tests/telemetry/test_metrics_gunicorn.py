"""Under gunicorn with several workers, `/metrics` counts every worker's requests, whichever
worker answers the scrape (prometheus_client in multiprocess mode, gunicorn.conf.py hooks)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.servers import free_port, http, start_gunicorn, wait_for_portfolios


def healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "stocktracker_request_duration_seconds_count"
                and sample.labels.get("route") == "/healthz"
            ):
                return sample.value
    return 0.0


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
    try:
        wait_for_portfolios(base)
        for _ in range(12):
            assert http(f"{base}/healthz")[0] == 200
        scrapes = [healthz_count(http(f"{base}/metrics")[1]) for _ in range(6)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert scrapes == [12.0] * 6
    assert any(metrics_dir.glob("histogram_*.db"))
