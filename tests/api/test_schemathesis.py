"""Schemathesis against the live app (demo market, SQLite and PostgreSQL): every operation of
/api/openapi.json with generated data, valid and invalid, then stateful runs that follow the
document's links (create a portfolio, add transactions, read holdings, delete).

Checks: no 5xx, every answer has a documented status and content type and matches its schema.
Bounded by MAX_EXAMPLES per operation and STATEFUL_EXAMPLES sequences, so the file runs in well
under two minutes. The app is called through WSGI directly (`from_wsgi`), with no server.

`test_every_documented_status_is_reached` sends one crafted request per documented (operation,
status): fuzzing alone rarely hits a 413 or an accepted import, and a status nobody can reach
is a documentation bug.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import schemathesis
from dash import Dash
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dashapp import context_of, create_app
from dashapp.api.openapi import OPERATIONS
from dashapp.clock import FrozenClock
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.portfolios import delete_portfolio, list_portfolios
from tests.conftest import AFTER_CLOSE, DATABASES, make_settings, postgres_schema

MAX_EXAMPLES = 10
STATEFUL_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NOTHING_TO_NEGATE = {
    (op.method.upper(), op.path)
    for op in OPERATIONS
    if op.body is None and op.query is None and "{" not in op.path
}
# What the runs did, per database: the note quotes these figures.
RUNS: Counter[str] = Counter()


@pytest.fixture(scope="module", params=DATABASES)
def live_app(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Dash]:
    """One app per database for the whole module (building one per test would take most of
    the time): the demo portfolio (id 1) and its cached prices, so that holdings, performance
    and backtests answer with data, not only with errors. Fuzzing may delete it later on."""
    tmp_path = tmp_path_factory.mktemp("schemathesis")
    with module_database(request.param, tmp_path) as url:
        app = create_app(make_settings(tmp_path, url), clock=FrozenClock(AFTER_CLOSE))
        context = context_of(app)
        warm_demo_cache(context, seed_demo_portfolio(context))
        yield app
        context.close()
    kind = request.param
    print(
        f"\nschemathesis on {kind}: {RUNS[f'{kind} operations']} operation runs, "
        f"{RUNS[f'{kind} cases']} generated cases, {RUNS[f'{kind} stateful calls']} stateful calls"
    )


@contextmanager
def module_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """Like conftest's `database_url`, for a module: a SQLite file or a PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture(scope="module")
def api_schema(live_app: Dash) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_wsgi("/api/openapi.json", live_app.server)


@pytest.fixture
def database_kind(live_app: Dash) -> str:
    return context_of(live_app).db.engine.dialect.name


# schemathesis.pytest.from_fixture(...).parametrize() reads a pytest-internal attribute that
# pytest 9.2 renamed; one test per operation with the operation's own strategy does the same.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(
    ("method", "path"), [(op.method.upper(), op.path) for op in OPERATIONS], ids=str
)
def test_every_operation_answers_as_documented(api_schema, database_kind, method, path, mode):
    operation = api_schema[path][method]
    if mode == GenerationMode.NEGATIVE and (method, path) in NOTHING_TO_NEGATE:
        pytest.skip("nothing to send wrong: no parameters, no body")
    kind = database_kind

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case):
        response = case.call_and_validate(checks=CHECKS)
        RUNS[f"{kind} cases"] += 1
        RUNS[f"{kind} {method} {path} {response.status_code}"] += 1

    answers_as_documented()
    RUNS[f"{kind} operations"] += 1


def test_stateful_links_answer_as_documented(live_app, api_schema, database_kind):
    STEPS: Counter[tuple[str, int]] = Counter()
    machine = api_schema.as_state_machine()

    class Workflow(machine):  # type: ignore[misc, valid-type]
        def setup(self):
            # Each sequence starts from the same database, so that Hypothesis, replaying one,
            # sees the same answers (a second "Demo" would be refused: names are unique).
            reset_portfolios(live_app)

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            RUNS[f"{database_kind} stateful calls"] += 1
            STEPS[(case.operation.label, response.status_code)] += 1
            case.validate_response(response, checks=CHECKS)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=8,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The links were followed: created portfolios were read, their holdings too, and deleted.
    for step in (
        ("POST /api/portfolios", 201),
        ("GET /api/portfolios/{portfolio_id}/holdings", 200),
        ("DELETE /api/portfolios/{portfolio_id}", 204),
    ):
        assert STEPS[step] > 0, step


def reset_portfolios(app: Dash) -> None:
    context = context_of(app)
    for portfolio in list_portfolios(context):
        delete_portfolio(context, portfolio.id)
    seed_demo_portfolio(context)


@pytest.fixture
def demo_client(app: Dash) -> FlaskClient:
    """A fresh app of its own: the crafted requests need the demo portfolio as seeded."""
    context = context_of(app)
    warm_demo_cache(context, seed_demo_portfolio(context))
    return app.server.test_client()


def csv_upload(text: str) -> dict[str, object]:
    """Keyword arguments of a multipart upload of `text` as field `file`, encoded here: the
    test client's own encoder spools a large body to a temporary file that it never closes."""
    part = (
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="file"; filename="ledger.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n"
    )
    return {
        "data": part + text.encode() + b"\r\n--BOUNDARY--\r\n",
        "content_type": "multipart/form-data; boundary=BOUNDARY",
    }


BUY = {"trade_date": "2024-03-01", "kind": "BUY", "ticker": "AAPL", "quantity": 1, "price": 1}
BIG = "x" * 70_000
HEADER = "date,type,ticker,quantity,price,fees,currency,note\n"


def until_refused(send, most: int = 100):
    """Send until the quota answers 429 (at most `most` times); returns the last answer."""
    for _ in range(most):
        answer = send()
        if answer.status_code == 429:
            break
    return answer


def requests_for(client, fresh: int) -> dict[tuple[str, str, int], object]:
    """One request per documented (method, path, status); `fresh` is an empty portfolio."""
    row = client.post(f"/api/portfolios/{fresh}/transactions", json=BUY).get_json()["id"]
    proposals = client.get("/api/portfolios/1/corporate-actions").get_json()
    key = proposals[0]["key"]
    p, t = "/api/portfolios/{portfolio_id}", "/transactions/{transaction_id}"
    big = {"data": json.dumps({"name": BIG}), "content_type": "application/json"}
    return {
        ("get", "/api/portfolios", 200): lambda: client.get("/api/portfolios"),
        ("post", "/api/portfolios", 201): lambda: client.post(
            "/api/portfolios", json={"name": "Another"}
        ),
        ("post", "/api/portfolios", 400): lambda: client.post("/api/portfolios", json={}),
        ("post", "/api/portfolios", 413): lambda: client.post("/api/portfolios", **big),
        ("get", p, 200): lambda: client.get(f"/api/portfolios/{fresh}"),
        ("get", p, 400): lambda: client.get("/api/portfolios/x"),
        ("get", p, 404): lambda: client.get("/api/portfolios/999"),
        ("patch", p, 200): lambda: client.patch(f"/api/portfolios/{fresh}", json={"name": "R"}),
        ("patch", p, 400): lambda: client.patch(f"/api/portfolios/{fresh}", json={"name": 1}),
        ("patch", p, 404): lambda: client.patch("/api/portfolios/999", json={"name": "R"}),
        ("patch", p, 413): lambda: client.patch(f"/api/portfolios/{fresh}", **big),
        ("get", p + "/transactions", 200): lambda: client.get(
            f"/api/portfolios/{fresh}/transactions"
        ),
        ("get", p + "/transactions", 400): lambda: client.get("/api/portfolios/0/transactions"),
        ("get", p + "/transactions", 404): lambda: client.get("/api/portfolios/999/transactions"),
        ("post", p + "/transactions", 201): lambda: client.post(
            f"/api/portfolios/{fresh}/transactions", json=BUY
        ),
        ("post", p + "/transactions", 400): lambda: client.post(
            f"/api/portfolios/{fresh}/transactions", json=BUY | {"kind": "GIFT"}
        ),
        ("post", p + "/transactions", 404): lambda: client.post(
            "/api/portfolios/999/transactions", json=BUY
        ),
        ("post", p + "/transactions", 413): lambda: client.post(
            f"/api/portfolios/{fresh}/transactions", **big
        ),
        ("put", p + t, 200): lambda: client.put(
            f"/api/portfolios/{fresh}/transactions/{row}", json=BUY | {"quantity": 2}
        ),
        ("put", p + t, 400): lambda: client.put(
            f"/api/portfolios/{fresh}/transactions/{row}", json=BUY | {"price": -1}
        ),
        ("put", p + t, 404): lambda: client.put(
            f"/api/portfolios/{fresh}/transactions/99999", json=BUY
        ),
        ("put", p + t, 413): lambda: client.put(
            f"/api/portfolios/{fresh}/transactions/{row}", **big
        ),
        ("delete", p + t, 400): lambda: client.delete(f"/api/portfolios/{fresh}/transactions/x"),
        ("delete", p + t, 404): lambda: client.delete(
            f"/api/portfolios/{fresh}/transactions/99999"
        ),
        ("delete", p + t, 204): lambda: client.delete(
            f"/api/portfolios/{fresh}/transactions/{row}"
        ),
        ("post", p + "/import", 200): lambda: client.post(
            f"/api/portfolios/{fresh}/import?preview=1",
            **csv_upload(HEADER + "2024-03-04,BUY,MSFT,1,1,,,\n"),
        ),
        ("post", p + "/import", 201): lambda: client.post(
            f"/api/portfolios/{fresh}/import",
            **csv_upload(HEADER + "2024-03-04,BUY,MSFT,1,1,,,\n"),
        ),
        ("post", p + "/import", 400): lambda: client.post(
            f"/api/portfolios/{fresh}/import", **csv_upload(HEADER + "soon,BUY,MSFT,1,1,,,\n")
        ),
        ("post", p + "/import", 404): lambda: client.post(
            "/api/portfolios/999/import", **csv_upload(HEADER + "2024-03-04,BUY,MSFT,1,1,,,\n")
        ),
        ("post", p + "/import", 413): lambda: client.post(
            f"/api/portfolios/{fresh}/import", **csv_upload(HEADER + "x" * 2_100_000)
        ),
        ("get", p + "/export.csv", 200): lambda: client.get(f"/api/portfolios/{fresh}/export.csv"),
        ("get", p + "/export.csv", 400): lambda: client.get("/api/portfolios/-1/export.csv"),
        ("get", p + "/export.csv", 404): lambda: client.get("/api/portfolios/999/export.csv"),
        ("get", p + "/export.json", 200): lambda: client.get(
            f"/api/portfolios/{fresh}/export.json"
        ),
        ("get", p + "/export.json", 400): lambda: client.get("/api/portfolios/-1/export.json"),
        ("get", p + "/export.json", 404): lambda: client.get("/api/portfolios/999/export.json"),
        ("get", p + "/corporate-actions", 200): lambda: client.get(
            "/api/portfolios/1/corporate-actions"
        ),
        ("get", p + "/corporate-actions", 400): lambda: client.get(
            "/api/portfolios/x/corporate-actions"
        ),
        ("get", p + "/corporate-actions", 404): lambda: client.get(
            "/api/portfolios/999/corporate-actions"
        ),
        ("post", p + "/corporate-actions/{key}/accept", 201): lambda: client.post(
            f"/api/portfolios/1/corporate-actions/{key}/accept"
        ),
        ("post", p + "/corporate-actions/{key}/accept", 400): lambda: client.post(
            f"/api/portfolios/x/corporate-actions/{key}/accept"
        ),
        ("post", p + "/corporate-actions/{key}/accept", 404): lambda: client.post(
            "/api/portfolios/1/corporate-actions/nothing/accept"
        ),
        ("get", p + "/holdings", 200): lambda: client.get("/api/portfolios/1/holdings"),
        ("get", p + "/holdings", 400): lambda: client.get("/api/portfolios/x/holdings"),
        ("get", p + "/holdings", 404): lambda: client.get("/api/portfolios/999/holdings"),
        ("get", p + "/performance", 200): lambda: client.get("/api/portfolios/1/performance"),
        ("get", p + "/performance", 400): lambda: client.get(
            "/api/portfolios/1/performance?period=2W"
        ),
        ("get", p + "/performance", 404): lambda: client.get("/api/portfolios/999/performance"),
        ("post", "/api/backtests", 200): lambda: client.post(
            "/api/backtests", json={"ticker": "AAPL", "fast": 10, "slow": 20, "period": "1Y"}
        ),
        ("post", "/api/backtests", 400): lambda: client.post("/api/backtests", json={"x": 1}),
        ("post", "/api/backtests", 404): lambda: client.post(
            "/api/backtests", json={"portfolio_id": 999, "strategy": "rebalance"}
        ),
        ("post", "/api/backtests", 413): lambda: client.post(
            "/api/backtests", data=json.dumps({"ticker": BIG}), content_type="application/json"
        ),
        ("get", p + "/income", 200): lambda: client.get("/api/portfolios/1/income?by=holding"),
        ("get", p + "/income", 400): lambda: client.get("/api/portfolios/1/income?by=week"),
        ("get", p + "/income", 404): lambda: client.get("/api/portfolios/999/income"),
        ("get", p + "/income.csv", 200): lambda: client.get("/api/portfolios/1/income.csv"),
        ("get", p + "/income.csv", 400): lambda: client.get("/api/portfolios/x/income.csv"),
        ("get", p + "/income.csv", 404): lambda: client.get("/api/portfolios/999/income.csv"),
        ("get", p + "/realized", 200): lambda: client.get("/api/portfolios/1/realized?year=2024"),
        ("get", p + "/realized", 400): lambda: client.get("/api/portfolios/1/realized?year=1800"),
        ("get", p + "/realized", 404): lambda: client.get("/api/portfolios/999/realized"),
        ("get", p + "/realized.csv", 200): lambda: client.get(
            "/api/portfolios/1/realized.csv?method=average"
        ),
        ("get", p + "/realized.csv", 400): lambda: client.get(
            "/api/portfolios/1/realized.csv?method=lifo"
        ),
        ("get", p + "/realized.csv", 404): lambda: client.get("/api/portfolios/999/realized.csv"),
        ("get", p + "/history", 200): lambda: client.get("/api/portfolios/1/history?limit=5"),
        ("get", p + "/history", 400): lambda: client.get("/api/portfolios/1/history?limit=0"),
        ("get", p + "/history", 404): lambda: client.get("/api/portfolios/999/history"),
        # Last but the deletions: these spend the user's import and backtest quotas.
        ("post", p + "/import", 429): lambda: until_refused(
            lambda: client.post(
                f"/api/portfolios/{fresh}/import?preview=1",
                **csv_upload(HEADER + "2024-03-04,BUY,MSFT,1,1,,,\n"),
            )
        ),
        ("post", "/api/backtests", 429): lambda: until_refused(
            lambda: client.post(
                "/api/backtests",
                json={"ticker": "AAPL", "fast": 10, "slow": 20, "period": "1Y"},
            )
        ),
        ("get", "/api/openapi.json", 200): lambda: client.get("/api/openapi.json"),
        ("get", "/api/docs", 200): lambda: client.get("/api/docs"),
        ("delete", p, 400): lambda: client.delete("/api/portfolios/x"),
        ("delete", p, 404): lambda: client.delete("/api/portfolios/999"),
        ("delete", p, 204): lambda: client.delete(f"/api/portfolios/{fresh}"),
    }


def test_every_documented_status_is_reached(demo_client):
    client = demo_client
    api_schema = schemathesis.openapi.from_wsgi("/api/openapi.json", client.application)
    fresh = client.post("/api/portfolios", json={"name": "Statuses"}).get_json()["id"]
    crafted = requests_for(client, fresh)
    documented = {(op.method, op.path, status) for op in OPERATIONS for status in op.responses}
    assert set(crafted) == documented
    for (method, path, status), send in crafted.items():
        response = send()
        assert response.status_code == status, (method, path, response.get_json(silent=True))
        operation = api_schema[path][method.upper()]
        operation.validate_response(response)
