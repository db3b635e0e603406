"""Two people (or two tabs) start the same background callback with identical inputs: each
gets the answer, the work is done once, and cancelling one leaves the other's job alone.

Threaded manager in-process (real Dash callbacks, real diskcache, SQLite and PostgreSQL); the
Celery + Redis variant with gunicorn lives in test_background_per_request_celery.py.
"""

from __future__ import annotations

import threading
import time

import diskcache
import pytest
from dash import Dash, Input, Output, dcc, html

from dashapp import context_of
from dashapp.services.demo import seed_demo_portfolio
from dashapp.ui.background_jobs import ThreadedDiskcacheManager
from tests.config.background_http import (
    COMPARE_JOB_INPUT,
    NO_ANSWER,
    Tab,
    flask_transport,
    http_transport,
)
from tests.servers import free_port, start_gunicorn, wait_for_portfolios

WAIT_SECONDS = 20


def compare_job(portfolio_id: int) -> dict:
    return {
        "portfolio_id": portfolio_id,
        "benchmarks": ["SPY", "IWM"],
        "period": "1Y",
        "start": None,
        "end": None,
        "asked": "compare-run",
    }


def answers_in_parallel(tabs: list[Tab]) -> list[dict | str]:
    answers: list[dict | str | None] = [None] * len(tabs)

    def poll(index: int) -> None:
        answers[index] = tabs[index].answer(WAIT_SECONDS * 3)

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(len(tabs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS * 4)
    return answers


def test_two_tabs_with_identical_inputs_each_get_the_comparison_computed_once(app):
    portfolio_id = seed_demo_portfolio(context_of(app))
    tabs = [Tab(flask_transport(app.server.test_client())) for _ in range(2)]
    for tab in tabs:
        tab.open()
    started = [tab.start([COMPARE_JOB_INPUT], [compare_job(portfolio_id)]) for tab in tabs]
    # Each started job has a result key of its own, though the question is the same.
    assert started[0]["cacheKey"].split("~")[0] != started[1]["cacheKey"].split("~")[0]

    answers = answers_in_parallel(tabs)

    results = []
    for answer in answers:
        assert answer != NO_ANSWER, "one of the two tabs got nothing"
        [result_key] = [key for key in answer if key.startswith("compare-result")]
        results.append(answer[result_key]["data"])
    assert set(results[0]["series"]["benchmarks"]) == {"SPY", "IWM"}
    assert results[0] == results[1]
    assert context_of(app).counters.get("comparisons_computed") == 1


@pytest.fixture
def gated_app(tmp_path):
    """A small Dash app whose background callback waits for the test to let it finish."""
    release = threading.Event()
    cache = diskcache.Cache(str(tmp_path / "callbacks"))
    manager = ThreadedDiskcacheManager(cache)
    app = Dash("gated", background_callback_manager=manager)
    app.server.secret_key = "test-secret"
    app.layout = html.Div(
        [
            dcc.Store(id="question"),
            html.Div(id="answer"),
            html.Button(id="cancel"),
        ]
    )

    @app.callback(
        Output("answer", "children"),
        Input("question", "data"),
        background=True,
        cancel=[Input("cancel", "n_clicks")],
        prevent_initial_call=True,
    )
    def answer(question):
        release.wait(WAIT_SECONDS)
        return f"answer to {question}"

    yield app, release
    release.set()
    cache.close()


def test_cancelling_one_tab_leaves_the_other_tabs_identical_job_running(gated_app):
    app, release = gated_app
    question = {"id": "question", "property": "data"}
    first, second = (Tab(flask_transport(app.server.test_client())) for _ in range(2))
    for tab in (first, second):
        tab.open("/")
        tab.start([question], ["same"])

    assert first.cancel({"id": "cancel", "property": "n_clicks"}) in (200, 204)
    # The cancelled tab's job is forgotten: its poll closes with nothing...
    assert first.answer(WAIT_SECONDS) == NO_ANSWER
    # ...while its twin, asked the same question, is still running and answers.
    assert second.poll_once() == (200, {"multi": True})
    release.set()
    assert second.answer(WAIT_SECONDS)["answer"]["children"] == "answer to same"


def test_a_tab_whose_twin_read_its_answer_first_still_gets_its_own(gated_app):
    app, release = gated_app
    question = {"id": "question", "property": "data"}
    first, second = (Tab(flask_transport(app.server.test_client())) for _ in range(2))
    for tab in (first, second):
        tab.open("/")
        tab.start([question], ["same"])
    release.set()
    assert first.answer(WAIT_SECONDS)["answer"]["children"] == "answer to same"
    # Before per-request keys, the first read deleted the shared result: this poll got 204.
    time.sleep(0.2)
    assert second.answer(WAIT_SECONDS)["answer"]["children"] == "answer to same"


def test_two_clients_of_a_gunicorn_stack_with_identical_inputs_each_get_their_answer(tmp_path):
    """The threaded manager across processes: two workers, two real HTTP clients polling at
    once, the job of each started and polled through whichever worker answers."""
    env = {
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "STOCKTRACKER_DEMO": "1",
        "SECRET_KEY": "two-clients",
    }
    port = free_port()
    web = start_gunicorn(port, env, workers=2)
    base = f"http://127.0.0.1:{port}"
    try:
        [portfolio] = wait_for_portfolios(base)
        tabs = [Tab(http_transport(base)) for _ in range(2)]
        for tab in tabs:
            tab.open()
        for tab in tabs:
            tab.start([COMPARE_JOB_INPUT], [compare_job(portfolio["id"])])
        answers = answers_in_parallel(tabs)
        for answer in answers:
            assert answer != NO_ANSWER, "one of the two clients got nothing"
        [key] = [k for k in answers[0] if k.startswith("compare-result")]
        assert answers[0][key] == answers[1][key]
    finally:
        web.terminate()
        web.wait(timeout=30)
