"""Calls a Dash app's callbacks over HTTP, exactly as the browser's renderer does."""

from __future__ import annotations

from typing import Any

from dash import Dash


class DashClient:
    def __init__(self, app: Dash) -> None:
        self.app = app
        self.http = app.server.test_client()
        # Dash builds its callback map when the first request arrives.
        self.http.get("/_dash-layout")

    def callback_key(self, output: str, inputs: dict[str, Any] | None = None) -> str:
        """The callback map key of the callback that has `output` ("component.property") among
        its outputs. Outputs declared with allow_duplicate carry an "@hash" suffix; when several
        callbacks write `output`, the one whose inputs are exactly `inputs` is meant."""
        candidates = [key for key in self.app.callback_map if output in _output_names(key)]
        if len(candidates) > 1 and inputs is not None:
            candidates = [key for key in candidates if _input_names(self.app, key) == set(inputs)]
        if not candidates:
            raise KeyError(f"no callback outputs {output}")
        if len(candidates) > 1:
            raise KeyError(f"several callbacks output {output}: name their inputs")
        return candidates[0]

    def call(
        self,
        output: str,
        inputs: dict[str, Any],
        state: dict[str, Any] | None = None,
        changed: list[str] | None = None,
    ) -> dict[str, Any]:
        """POST one callback; `inputs`/`state` map "id.prop" to values. Returns the JSON response."""
        key = self.callback_key(output, inputs)
        spec = self.app.callback_map[key]
        payload = {
            "output": key,
            "outputs": _outputs(key),
            "inputs": [_value(item, inputs) for item in spec["inputs"]],
            "state": [_value(item, state or {}) for item in spec.get("state", [])],
            "changedPropIds": changed if changed is not None else list(inputs)[:1],
        }
        response = self.http.post("/_dash-update-component", json=payload)
        if response.status_code == 204:
            return {}
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["response"]


def _output_names(key: str) -> list[str]:
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    return [part.split("@", 1)[0] for part in parts]


def _input_names(app: Dash, key: str) -> set[str]:
    return {f"{item['id']}.{item['property']}" for item in app.callback_map[key]["inputs"]}


def _outputs(key: str) -> list[dict[str, str]] | dict[str, str]:
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    specs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]
    return specs if key.startswith("..") else specs[0]


def _value(item: dict[str, str], values: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
    """One input as the renderer sends it. A pattern-matching input (id '{"index":["ALL"],...}')
    takes a list of (concrete id, value) pairs, one per matching component on the page."""
    name = f"{item['id']}.{item['property']}"
    if item["id"].startswith("{"):
        return [
            {"id": concrete, "property": item["property"], "value": value}
            for concrete, value in values.get(name, [])
        ]
    return {"id": item["id"], "property": item["property"], "value": values.get(name)}
