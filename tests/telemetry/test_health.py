"""`/healthz` answers 200 when database, cache and breaker are fine, and 503 saying which is not,
without waiting for a check that hangs."""

from __future__ import annotations

import threading
import time

from sqlalchemy import create_engine

from dashapp import context_of
from dashapp.telemetry.health import HealthChecks
from tests.servers import free_port


def test_healthy_app_answers_200_with_every_check(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    payload = response.get_json()
    assert payload["status"] == "ok"
    assert {name: check["ok"] for name, check in payload["checks"].items()} == {
        "database": True,
        "cache": True,
        "breaker": True,
    }
    assert payload["checks"]["breaker"]["providers"] == [
        {"provider": "demo", "state": "closed", "seconds_until_half_open": None}
    ]


def test_unreachable_database_answers_503(app, client):
    context = context_of(app)
    reachable = context.db.engine
    # Nothing listens on this port: the database is gone as far as the app can tell.
    context.db.engine = create_engine(f"postgresql+psycopg://app@127.0.0.1:{free_port()}/gone")
    try:
        response = client.get("/healthz")
    finally:
        context.db.engine.dispose()
        context.db.engine = reachable
    assert response.status_code == 503
    payload = response.get_json()
    assert payload["status"] == "failing"
    assert payload["checks"]["database"]["ok"] is False
    assert "OperationalError" in payload["checks"]["database"]["reason"]
    assert payload["checks"]["cache"]["ok"] is True


def test_open_breaker_answers_503_with_the_wait(app, client):
    context_of(app).provider.breaker.open()
    response = client.get("/healthz")
    assert response.status_code == 503
    breaker = response.get_json()["checks"]["breaker"]
    assert breaker["ok"] is False
    assert breaker["reason"] == "circuit open"
    assert breaker["providers"] == [
        {"provider": "demo", "state": "open", "seconds_until_half_open": 60.0}
    ]


def test_a_check_that_hangs_is_reported_at_once_and_not_started_twice():
    release, calls = threading.Event(), []

    def stuck() -> dict:
        calls.append(1)
        release.wait(30)
        return {}

    runner = HealthChecks({"database": stuck, "cache": dict}, timeout=0.2)
    first, status = runner.run()
    assert status == 503
    assert first["checks"] == {
        "database": {"ok": False, "reason": "no answer within 0.2 s"},
        "cache": {"ok": True},
    }
    # Polled again while the first is still stuck: reported, not piled up.
    assert runner.run()[1] == 503
    assert calls == [1]
    release.set()
    deadline = time.monotonic() + 10
    while runner.run()[1] != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runner.run()[1] == 200
