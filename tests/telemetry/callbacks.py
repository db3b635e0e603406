"""Posting the dashboard's render callback as the browser does, whatever its other inputs are."""

from __future__ import annotations

from typing import Any

from dash import Dash

RENDER_OUTPUT = "dashboard-body.children"
RENDER_INPUT = "portfolio-select.value"


def render_callback_key(app: Dash) -> str:
    """The callback that draws the dashboard body when a portfolio is chosen."""
    app.server.test_client().get("/_dash-layout")  # Dash builds its callback map on first use
    for key, spec in app.callback_map.items():
        outputs = [part.split("@", 1)[0] for part in key.strip(".").split("...")]
        inputs = {f"{item['id']}.{item['property']}" for item in spec["inputs"]}
        if RENDER_OUTPUT in outputs and RENDER_INPUT in inputs:
            return key
    raise KeyError("no callback renders the dashboard body from the portfolio selector")


def render_payload(app: Dash, portfolio_id: int) -> dict[str, Any]:
    key = render_callback_key(app)
    spec = app.callback_map[key]
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    outputs = [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]

    def value(item: dict[str, str]) -> dict[str, Any]:
        chosen = f"{item['id']}.{item['property']}" == RENDER_INPUT
        return {**item, "value": portfolio_id if chosen else None}

    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": [value(item) for item in spec["inputs"]],
        "state": [value(item) for item in spec.get("state", [])],
        "changedPropIds": [RENDER_INPUT],
    }
