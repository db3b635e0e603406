"""`/metrics` speaks the Prometheus text format and counts what happened, per route and callback."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from dashapp import context_of
from dashapp.services.demo import seed_demo_portfolio
from dashapp.services.upkeep import run_job
from dashapp.telemetry.metrics import histogram_quantile
from tests.telemetry.callbacks import render_payload


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of `/metrics` by (sample name, sorted labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def request_count(samples, route: str) -> float:
    return samples.get(("stocktracker_request_duration_seconds_count", (("route", route),)), 0.0)


def test_dashboard_callbacks_are_counted_under_their_output(app):
    portfolio_id = seed_demo_portfolio(context_of(app))
    client = app.server.test_client()
    payload = render_payload(app, portfolio_id)
    key = "callback dashboard.render_holdings"
    before = scrape(client)

    for _ in range(2):
        assert client.post("/_dash-update-component", json=payload).status_code == 200

    after = scrape(client)
    assert request_count(after, key) - request_count(before, key) == 2
    # Lumping callbacks under the endpoint would have counted them there instead.
    assert request_count(after, "/_dash-update-component") == request_count(
        before, "/_dash-update-component"
    )
    # Each scrape is a request too: the first one is in the second scrape.
    assert request_count(after, "/metrics") - request_count(before, "/metrics") == 1


def test_an_invented_callback_output_is_not_a_label(client):
    body = {"output": "made-up.children", "outputs": {"id": "made-up", "property": "children"}}
    client.post("/_dash-update-component", json={**body, "inputs": [], "changedPropIds": []})
    samples = scrape(client)
    assert request_count(samples, "made-up.children") == 0
    assert request_count(samples, "/_dash-update-component") >= 1


def test_cache_fills_count_hits_misses_and_upstream_requests(app, clock):
    context = context_of(app)
    before = scrape(app.server.test_client())
    start = clock.now().date() - timedelta(days=30)

    context.store.fill(["SPY", "QQQ"], start, clock.now().date())  # both cold: two misses
    context.store.fill(["SPY", "QQQ", "VTI"], start, clock.now().date())  # two hits, one miss

    after = scrape(app.server.test_client())
    hits = ("stocktracker_cache_hits_total", ())
    misses = ("stocktracker_cache_misses_total", ())
    assert after[hits] - before.get(hits, 0.0) == 2
    assert after[misses] - before.get(misses, 0.0) == 3
    upstream = {
        labels: value
        for (name, labels), value in after.items()
        if name == "stocktracker_upstream_requests_total"
    }
    # The demo market charges history as Yahoo does, one request per ticker: SPY, QQQ, VTI.
    assert upstream == {(("kind", "history"), ("outcome", "ok"), ("provider", "demo")): 3.0}


def test_job_runs_are_counted_by_job_and_status(app):
    context = context_of(app)
    run_job(context, "refresh", trigger="test")
    context.provider.breaker.open()
    run_job(context, "refresh", trigger="test")
    run_job(context, "warm", trigger="test")

    samples = scrape(app.server.test_client())
    runs = {
        (dict(labels)["job"], dict(labels)["status"]): value
        for (name, labels), value in samples.items()
        if name == "stocktracker_job_runs_total"
    }
    assert runs == {
        ("refresh", "succeeded"): 1.0,
        ("refresh", "failed"): 1.0,
        ("warm", "failed"): 1.0,
    }


def test_breaker_state_is_exported_per_provider(app):
    context_of(app).provider.breaker.open()
    samples = scrape(app.server.test_client())
    state = {
        dict(labels)["state"]: value
        for (name, labels), value in samples.items()
        if name == "stocktracker_breaker_state"
    }
    assert state == {"closed": 0.0, "half-open": 0.0, "open": 1.0}
    wait = samples[("stocktracker_breaker_seconds_until_half_open", (("provider", "demo"),))]
    assert wait == 60.0


def test_histogram_quantile_interpolates_inside_the_bucket():
    # 10 requests: 4 under 10 ms, 4 more under 50 ms, 2 more under 100 ms.
    buckets = [(0.01, 4.0), (0.05, 8.0), (0.1, 10.0), (float("inf"), 10.0)]
    # p50: rank 5 falls in (0.01, 0.05]: 0.01 + 0.04 * (5 - 4) / (8 - 4) = 0.02.
    assert histogram_quantile(0.5, buckets) == 0.02
    # p95: rank 9.5 in (0.05, 0.1]: 0.05 + 0.05 * 1.5 / 2 = 0.0875.
    assert abs(histogram_quantile(0.95, buckets) - 0.0875) < 1e-12
    # A rank in +Inf answers the highest finite bound.
    assert histogram_quantile(0.99, [(0.1, 1.0), (float("inf"), 2.0)]) == 0.1
    assert histogram_quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None
