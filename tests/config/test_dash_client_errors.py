"""Type-confused callback requests and unknown component files are client errors: 400 or 404
with a short message and one log line, never a 500 with a traceback."""

from __future__ import annotations

import json
import logging

import pytest

from dashapp import context_of
from dashapp.services.demo import seed_demo_portfolio
from dashapp.services.portfolios import create_portfolio
from dashapp.services.transactions import LedgerError, TransactionDraft, add_transaction
from tests.telemetry.callbacks import render_callback_key, render_payload

UPDATE = "/_dash-update-component"


@pytest.fixture
def render_key(app) -> str:
    return render_callback_key(app)


def post(client, body) -> tuple[int, dict]:
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post(UPDATE, data=data, content_type="application/json")
    return response.status_code, response.get_json(silent=True) or {}


def assert_one_quiet_line(caplog, status: int, method: str, path: str) -> None:
    """Exactly one log line at INFO or above for the request, and no traceback."""
    lines = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    message = lines[0].getMessage()
    assert message.startswith(f"client error {status} {method} {path}: ")
    assert "\n" not in message and not lines[0].exc_info


def shapes(key: str, payload: dict) -> list[tuple[str, object, str]]:
    """(label, body, words of the expected message)."""
    return [
        ("not JSON", "{not json", "not JSON"),
        ("a list", [1, 2], "JSON object"),
        ("no output", {}, "output"),
        ("output a number", {**payload, "output": 5}, "output"),
        ("unknown output", {**payload, "output": "nope.children"}, "output"),
        ("outputs a string", {**payload, "outputs": "x"}, "outputs"),
        ("inputs a string", {**payload, "inputs": "y"}, "inputs"),
        ("an input a number", {**payload, "inputs": [1] * len(payload["inputs"])}, "inputs"),
        ("too few inputs", {**payload, "inputs": payload["inputs"][:1]}, "inputs"),
        ("state a number", {**payload, "state": 5}, "state"),
        ("an input without property", {**payload, "inputs": [{"id": "x"}] * 2}, "inputs"),
        ("changedPropIds a number", {**payload, "changedPropIds": 3}, "changedPropIds"),
        ("nested deep", {**payload, "extra": json.loads("[" * 200 + "]" * 200)}, "nested"),
        ("nested very deep", "[" * 100_000 + "]" * 100_000, "nested"),
        ("NaN", json.dumps(payload)[:-1] + ', "x": NaN}', "not JSON"),
    ]


def test_malformed_callback_requests_are_400_with_one_quiet_log_line(app, client, caplog):
    payload = render_payload(app, 1)
    for label, body, words in shapes(render_callback_key(app), payload):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            status, answer = post(client, body)
        assert status == 400, label
        assert words in answer["error"], (label, answer)
        assert_one_quiet_line(caplog, 400, "POST", UPDATE)


@pytest.mark.parametrize(
    "value",
    [{"a": 1}, [1, 2], "seven", "1.5", 10**400, -(2**60), "１", "١٢٣"],
    ids=[
        "object",
        "list",
        "word",
        "fraction",
        "400 digits",
        "huge",
        "fullwidth",
        "arabic",
    ],
)
def test_a_type_confused_input_value_is_a_400_not_a_500(app, client, caplog, value):
    seed_demo_portfolio(context_of(app))
    payload = render_payload(app, 1)
    for item in payload["inputs"]:
        if item["id"] == "portfolio-select":
            item["value"] = value
    with caplog.at_level(logging.INFO):
        status, answer = post(client, payload)
    assert status == 400, answer
    assert answer["error"]
    assert_one_quiet_line(caplog, 400, "POST", UPDATE)


def test_an_id_past_what_the_database_holds_is_a_portfolio_that_does_not_exist(app, client):
    seed_demo_portfolio(context_of(app))
    status, answer = post(client, render_payload(app, 2**40))
    assert status == 200
    assert "no longer exists" in json.dumps(answer["response"]["dashboard-body"])


def test_the_same_request_with_a_real_id_draws_the_portfolio(app, client):
    portfolio_id = seed_demo_portfolio(context_of(app))
    status, answer = post(client, render_payload(app, portfolio_id))
    assert status == 200
    assert "dashboard-body" in answer["response"]


@pytest.mark.parametrize(
    "path",
    [
        "/_dash-component-suites/nope/x.js",
        "/_dash-component-suites/dash/nope.js",
        "/_dash-component-suites/dash/dcc/x.v9m1.js",
        "/_dash-component-suites/plotly/..%2f..%2fsettings.py",
    ],
)
def test_unknown_component_files_are_a_plain_404(client, caplog, path):
    with caplog.at_level(logging.INFO):
        response = client.get(path)
    assert response.status_code == 404
    assert response.content_type.startswith("text/plain")
    assert response.get_data(as_text=True) == "no such file\n"
    assert_one_quiet_line(caplog, 404, "GET", response.request.path)


def test_known_component_files_are_still_served(client):
    assert client.get("/_dash-component-suites/dash/dcc/dash_core_components.js").status_code == 200


@pytest.mark.parametrize(
    ("field", "draft"),
    [
        ("quantity", TransactionDraft("2024-03-01", "BUY", "KO", "１０", "60")),
        ("price", TransactionDraft("2024-03-01", "BUY", "KO", "10", "٦٠")),
        ("trade_date", TransactionDraft("٢٠٢٤-٠٣-٠١", "BUY", "KO", "10", "60")),
        ("fees", TransactionDraft("2024-03-01", "BUY", "KO", "10", "60", "１")),
    ],
)
def test_the_ledger_takes_ascii_digits_only(app_context, field, draft):
    portfolio_id = create_portfolio(app_context, "Digits").id
    with pytest.raises(LedgerError) as refused:
        add_transaction(app_context, portfolio_id, draft)
    assert [error.column for error in refused.value.errors] == [field]
