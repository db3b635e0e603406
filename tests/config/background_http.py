"""Drives one Dash background callback over HTTP as the renderer does: load a page (its own
endId), POST the inputs, then re-POST with the returned cacheKey and job until an answer."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient

# (method, path, JSON body or None) -> (status, text)
Transport = Callable[[str, str, dict[str, Any] | None], tuple[int, str]]
COMPARE_JOB_INPUT = {"id": "compare-job", "property": "data"}
NO_ANSWER = "no answer"


def flask_transport(client: FlaskClient) -> Transport:
    def send(method: str, path: str, body: dict[str, Any] | None) -> tuple[int, str]:
        response = client.open(path, method=method, json=body)
        return response.status_code, response.get_data(as_text=True)

    return send


def http_transport(base: str) -> Transport:
    def send(method: str, path: str, body: dict[str, Any] | None) -> tuple[int, str]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    return send


@dataclass
class Tab:
    """One browser tab: its page load's endId and the background job it started."""

    send: Transport
    end_id: str = ""
    started: dict[str, Any] | None = None

    def open(self, path: str = "/compare") -> None:
        status, page = self.send("GET", path, None)
        assert status == 200, page
        config = json.loads(
            re.search(
                r'<script id="_dash-config" type="application/json">(.*?)</script>', page, re.S
            ).group(1)
        )
        self.end_id = config.get("endId") or config.get("end_id") or ""

    def callback(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """The dependency whose inputs are exactly `inputs` (id and property)."""
        status, text = self.send("GET", "/_dash-dependencies", None)
        assert status == 200, text
        [found] = [d for d in json.loads(text) if d["inputs"] == inputs]
        return found

    def start(self, inputs: list[dict[str, Any]], values: list[Any]) -> dict[str, Any]:
        status, text = self.ask(inputs, values)
        assert status == 200, text
        self.started = json.loads(text)
        assert {"cacheKey", "job"} <= set(self.started), self.started
        return self.started

    def ask(self, inputs: list[dict[str, Any]], values: list[Any]) -> tuple[int, str]:
        """The first POST of a background callback, whatever the server answers."""
        self.body = _body(self.callback(inputs), inputs, values)
        return self.send("POST", self._path(), self.body)

    def poll_once(self) -> tuple[int, dict[str, Any]]:
        assert self.started is not None
        path = self._path(cacheKey=self.started["cacheKey"], job=self.started["job"])
        status, text = self.send("POST", path, self.body)
        return status, (json.loads(text) if status == 200 and text else {})

    def answer(self, seconds: float = 60) -> dict[str, Any] | str:
        """The callback's response, or NO_ANSWER when the server says there is nothing (204,
        after which the renderer stops polling)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status, reply = self.poll_once()
            if status == 204:
                return NO_ANSWER
            assert status == 200, (status, reply)
            if "response" in reply:
                return reply["response"]
            time.sleep(0.1)
        raise AssertionError(f"no answer within {seconds:g} s")

    def cancel(self, cancel_input: dict[str, str]) -> int:
        """Press the cancel button: Dash's cancel callback with this tab's job handle."""
        assert self.started is not None
        dependency = self.callback([cancel_input])
        body = _body(dependency, [cancel_input], [1])
        status, _ = self.send("POST", self._path(cancelJob=self.started["job"]), body)
        return status

    def _path(self, **handles: str) -> str:
        query = [f"endId={quote(self.end_id)}"] if self.end_id else []
        query += [f"{name}={quote(value)}" for name, value in handles.items()]
        return "/_dash-update-component?" + "&".join(query)


def _body(
    dependency: dict[str, Any], inputs: list[dict[str, Any]], values: list[Any]
) -> dict[str, Any]:
    output = dependency["output"]
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    outputs = [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]
    return {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": [{**spec, "value": value} for spec, value in zip(inputs, values, strict=True)],
        "state": [],
        "changedPropIds": [f"{spec['id']}.{spec['property']}" for spec in inputs],
    }
