"""Every id a callback names (Input, Output, State, and a background callback's running, progress
and cancel) is in `app.validation_layout`, and a renamed id is caught.

Dash runs this check in the browser only when suppress_callback_exceptions is off; the app keeps
it on (see create_app), so this test makes the check instead, once, on the server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dash import Dash
from dash.development.base_component import Component

from dashapp import context_of, create_app
from dashapp.ui import backtest, cache, compare, dashboard, portfolios, reports, shell, transactions
from dashapp.ui.dashboard import ids as dashboard_ids
from dashapp.ui.portfolios import RENAME_BUTTON
from dashapp.ui.validation import validation_layout
from tests.conftest import make_settings

ComponentId = str | dict


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str) -> Iterator[Dash]:
    """One app on SQLite: the ids do not depend on the database."""
    app = create_app(make_settings(tmp_path, sqlite_url))
    yield app
    context_of(app).close()


@dataclass(frozen=True)
class NamedIds:
    """A callback (by its outputs), the module of its function (None for a clientside one) and
    the component ids it names."""

    callback: str
    module: str | None
    ids: tuple[ComponentId, ...]


def named_ids(app: Dash) -> list[NamedIds]:
    named = []
    for key, entry in app.callback_map.items():  # server and clientside callbacks alike
        [listed] = [item for item in app._callback_list if item["output"] == key]
        ids = [_id_of(dependency) for dependency in _outputs(key)]
        ids += [_id_of(item["id"]) for item in entry["inputs"] + entry["state"]]
        ids += [_id_of(dependency) for dependency in listed.get("running", {}).get("running", {})]
        background = entry.get("background") or {}
        ids += [output.component_id for output in background.get("progress") or []]
        ids += [_id_of(item["id"]) for item in background.get("cancel") or []]
        module = getattr(entry.get("callback"), "__module__", None)
        named.append(NamedIds(key, module, tuple(ids)))
    return named


def missing_ids(
    app: Dash, layout: Component, callbacks: list[NamedIds] | None = None
) -> dict[str, list[ComponentId]]:
    """Each callback (of the app, or those given) naming an id that no component of `layout`
    has, with those ids."""
    present = layout_ids(layout)
    missing = {}
    for named in named_ids(app) if callbacks is None else callbacks:
        absent = [id_ for id_ in named.ids if not any(_matches(id_, have) for have in present)]
        if absent:
            missing[named.callback] = absent
    return missing


def layout_ids(layout: Component) -> list[ComponentId]:
    return [component.id for component in _components(layout) if _has_id(component)]


@pytest.mark.parametrize(
    "page",
    [
        dashboard,
        portfolios,
        reports,
        compare,
        backtest,
        transactions,
        cache,
    ],
    ids=lambda page: page.__name__.rsplit(".", 1)[-1],
)
def test_every_id_a_page_s_callbacks_name_is_in_the_validation_layout(app, page):
    """The page's callbacks alone, on an app of their own, so that its clientside callbacks
    (which name no module) are counted as the page's too."""
    alone = Dash("alone", background_callback_manager=app._background_manager)
    page.register_callbacks(alone, context_of(app))
    assert named_ids(alone)
    assert missing_ids(alone, app.validation_layout) == {}


def test_every_id_the_router_names_is_in_the_validation_layout(app):
    [router] = [named for named in named_ids(app) if named.module == shell.__name__]
    assert missing_ids(app, app.validation_layout, [router]) == {}


def test_every_id_a_callback_names_is_in_the_validation_layout(app):
    assert missing_ids(app, app.validation_layout) == {}


def test_an_id_renamed_in_the_layout_but_not_in_its_callbacks_is_reported(app):
    layout = validation_layout()
    [select] = [c for c in _components(layout) if _id(c) == dashboard_ids.PORTFOLIO_SELECT]
    select.id = "portfolio-chooser"

    reported = newly_missing(app, layout)

    assert len(reported) == 4  # render_holdings, switch_allocation, ask_benchmark, add_portfolio
    assert {id_ for ids in reported.values() for id_ in ids} == {dashboard_ids.PORTFOLIO_SELECT}


def test_a_pattern_matching_id_with_no_component_of_its_type_is_reported(app):
    layout = validation_layout()
    for component in _components(layout):
        if isinstance(_id(component), dict) and _id(component)["type"] == RENAME_BUTTON:
            component.id = {"type": "portfolio-renamer", "index": 0}

    reported = newly_missing(app, layout)

    assert list(reported.values()) == [({"type": RENAME_BUTTON, "index": ["ALL"]},)]


def newly_missing(app: Dash, layout: Component) -> dict[str, tuple[ComponentId, ...]]:
    """What the check reports for `layout` beyond what it reports for the app's own validation
    layout: the other pages' state does not blur a test of the check."""
    before = missing_ids(app, app.validation_layout)
    after = missing_ids(app, layout)
    return {
        callback: tuple(id_ for id_ in ids if id_ not in before.get(callback, []))
        for callback, ids in after.items()
        if ids != before.get(callback)
    }


def test_the_validation_layout_holds_the_states_a_page_draws_later():
    """Drawn from blank values, with no app: nothing to read, from a database or elsewhere."""
    ids = layout_ids(validation_layout())
    for later in (
        dashboard_ids.CREATE_PORTFOLIO_BUTTON,
        dashboard_ids.LOAD_DEMO_BUTTON,
        dashboard_ids.PANELS,
        dashboard_ids.MOVERS_CHART,
        dashboard_ids.REFRESH_REQUEST,
        dashboard_ids.BENCHMARK_REQUEST,
        {"type": RENAME_BUTTON, "index": 0},
    ):
        assert later in ids


def test_the_validation_layout_stays_on_the_server(app):
    """Dash sends it to the browser only when callback exceptions are not suppressed."""
    response = app.server.test_client().get("/portfolios")
    assert response.status_code == 200
    assert '"validation_layout"' not in response.get_data(as_text=True)


def test_the_validation_layout_names_each_component_once(app):
    ids = [json.dumps(id_, sort_keys=True) for id_ in layout_ids(app.validation_layout)]
    assert sorted({id_ for id_ in ids if ids.count(id_) > 1}) == []


def _outputs(key: str) -> list[str]:
    """The "id.property" of each output in a callback's key: `..a.b...c.d..` for several
    outputs, `@hash` after a duplicate one."""
    outputs = key[2:-2].split("...") if key.startswith("..") else [key]
    return [output.split("@")[0] for output in outputs]


def _id_of(dependency: str) -> ComponentId:
    """A component id from Dash's string form of an input ("id") or an output ("id.property"):
    a pattern-matching id is JSON, with a wildcard as a one-item list (`["ALL"]`)."""
    component_id = dependency if dependency.endswith("}") else dependency.rsplit(".", 1)[0]
    return json.loads(component_id) if component_id.startswith("{") else component_id


def _matches(wanted: ComponentId, have: ComponentId) -> bool:
    if isinstance(wanted, str) or isinstance(have, str):
        return wanted == have
    return wanted.keys() == have.keys() and all(
        isinstance(value, list) or value == have[key] for key, value in wanted.items()
    )


def _components(node: object) -> Iterator[Component]:
    if isinstance(node, Component):
        yield node
        for _path, child in node._traverse_with_paths():
            yield child
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _components(item)


def _has_id(component: Component) -> bool:
    return _id(component) is not None


def _id(component: Component) -> ComponentId | None:
    return getattr(component, "id", None)
