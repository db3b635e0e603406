"""Every response says where its time went: db, cache, upstream and compute, within the total."""

from __future__ import annotations

import re

from dashapp import context_of
from dashapp.services.demo import seed_demo_portfolio
from tests.telemetry.callbacks import render_payload

ENTRY = re.compile(r"^(?P<name>[a-z]+);dur=(?P<ms>\d+\.\d{3})$")


def timing_parts(header: str) -> dict[str, float]:
    parts = {}
    for entry in header.split(", "):
        match = ENTRY.match(entry)
        assert match, entry
        parts[match["name"]] = float(match["ms"])
    return parts


def test_every_kind_of_response_carries_server_timing(client):
    for response in (client.get("/"), client.get("/healthz"), client.get("/no-such-page")):
        parts = timing_parts(response.headers["Server-Timing"])
        assert list(parts) == ["db", "cache", "upstream", "compute", "total"]
        assert all(value >= 0 for value in parts.values())
        assert parts["db"] + parts["cache"] + parts["upstream"] + parts["compute"] <= parts["total"]


def test_a_callback_that_reads_the_database_reports_db_time(app):
    portfolio_id = seed_demo_portfolio(context_of(app))
    payload = render_payload(app, portfolio_id)
    response = app.server.test_client().post("/_dash-update-component", json=payload)
    assert response.status_code == 200
    parts = timing_parts(response.headers["Server-Timing"])
    assert parts["db"] > 0
    # Pages never wait on the provider.
    assert parts["upstream"] == 0
    assert parts["db"] + parts["cache"] + parts["upstream"] + parts["compute"] <= parts["total"]
