"""A background callback acts for the user whose request started it, in its thread or on a
Celery worker: the actor travels with the job's arguments, not in the request's ContextVar."""

from __future__ import annotations

import json
import time

import diskcache
import pytest

from dashapp.services.ownership import EVERYONE, Actor, acting_as, actor
from dashapp.ui.background_jobs import (
    ThreadedDiskcacheManager,
    _acting_for_its_starter,
    _with_actor,
)


def who_acts(label: str) -> list:
    return [label, actor().user_id, actor().is_admin]


def who_acts_by_keyword(*, label: str) -> list:
    return [label, actor().user_id, actor().is_admin]


def _result(manager: ThreadedDiskcacheManager, key: str) -> object:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = manager.handle.get(key)
        if answer is not None:
            return answer
        time.sleep(0.02)
    raise AssertionError("the job never stored a result")


@pytest.mark.parametrize(
    ("callback", "arguments"),
    [(who_acts, ["positional"]), (who_acts_by_keyword, {"label": "keyword"})],
)
def test_a_threaded_job_acts_for_its_starter(tmp_path, callback, arguments):
    manager = ThreadedDiskcacheManager(diskcache.Cache(str(tmp_path / "jobs")))
    job_fn = manager.make_job_fn(callback, progress=False)
    key = "result-key"
    with acting_as(Actor(7, is_admin=False)):
        manager.call_job_fn(
            key, job_fn, arguments, {"args_grouping": [], "using_outputs_grouping": []}
        )
    label = arguments[0] if isinstance(arguments, list) else arguments["label"]
    assert _result(manager, key) == [label, 7, False]
    # The request's own ContextVar is untouched by the job.
    assert actor().user_id == EVERYONE


def test_the_carried_actor_survives_celerys_json():
    """What CeleryManager.call_job_fn sends goes through JSON to the worker."""
    with acting_as(Actor(42, is_admin=True)):
        sent = json.loads(json.dumps(_with_actor(["x"])))
    assert _acting_for_its_starter(who_acts)(*sent) == ["x", 42, True]
