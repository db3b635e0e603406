"""The controls of a cancellable background job on a page: its start and Cancel buttons and its
progress bar, the background-callback arguments that drive them, and the background callback
that answers a page's question when prices must be fetched first.

While the job runs its start button is disabled, Cancel is enabled and stops it, and the
progress bar is shown and fed (percent, label); afterwards all three go back. The backtest, the
comparison and the cache page's warm share these controls, so they behave alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output
from dash.exceptions import PreventUpdate

# The progress bar keeps its place on the page while no job runs, so nothing below it jumps.
PROGRESS_HIDDEN = {"visibility": "hidden"}
PROGRESS_SHOWN = {"visibility": "visible"}


def job_buttons(label: str, start: str, cancel: str) -> list[dbc.Button]:
    """A job's start button, named `label`, and its Cancel button, disabled until the job runs."""
    return [
        dbc.Button(label, id=start, color="primary", size="sm", className="me-2"),
        dbc.Button("Cancel", id=cancel, color="link", size="sm", disabled=True),
    ]


def progress_bar(component_id: str) -> dbc.Progress:
    """A job's progress bar, hidden until the job runs."""
    return dbc.Progress(
        id=component_id,
        value=0,
        striped=True,
        animated=True,
        className="mb-2",
        style=PROGRESS_HIDDEN,
    )


def job_controls(start: str, cancel: str, progress: str) -> dict[str, Any]:
    """The `app.callback` arguments of a background job started by the button `start`, stopped
    by the button `cancel`, and reported on the progress bar `progress`."""
    return {
        "running": [
            (Output(start, "disabled"), True, False),
            (Output(cancel, "disabled"), False, True),
            (Output(progress, "style"), PROGRESS_SHOWN, PROGRESS_HIDDEN),
        ],
        "progress": [Output(progress, "value"), Output(progress, "label")],
        "progress_default": [0, ""],
        "cancel": [Input(cancel, "n_clicks")],
    }


def percent_label(set_progress: Callable[[tuple[int, str]], None]) -> Callable[[int, str], None]:
    """A service's progress report (percent, stage) shown on the bar as "stage 40 %"."""
    return lambda percent, stage: set_progress((percent, f"{stage} {percent} %"))


# A page's background answer: (set_progress, the request its ask callback stored) -> the result
# and the message to show.
Answer = Callable[[Callable[[tuple[int, str]], None], Any], tuple[Any, Any]]


class AnswerIds(Protocol):
    """The ids a page that answers in the background has (a page's `ids` module): the stores of
    the request and of the result, the message line, and the job's controls."""

    JOB: str
    RESULT: str
    MESSAGE: str
    RUN: str
    CANCEL: str
    PROGRESS: str


def answer_in_background(app: Dash, ids: AnswerIds) -> Callable[[Answer], Answer]:
    """Register the decorated function as the background callback that answers what a page's
    ask callback could not answer at once: it runs whenever the store `ids.JOB` is given a
    request, and its (result, message) go to `ids.RESULT` and `ids.MESSAGE`.

    The backtest and the comparison ask alike (from the cache, at once when every price is
    stored, else a request left in `ids.JOB`), so they answer in the background alike. The
    callback keeps the decorated function's name: latency is labelled by it (`telemetry.timing`).
    """

    def register(answer: Answer) -> Answer:
        @app.callback(
            Output(ids.RESULT, "data", allow_duplicate=True),
            Output(ids.MESSAGE, "children", allow_duplicate=True),
            Input(ids.JOB, "data"),
            background=True,
            # Poll often: a warm-cache answer takes a fraction of a second to compute.
            interval=200,
            **job_controls(ids.RUN, ids.CANCEL, ids.PROGRESS),
            prevent_initial_call=True,
        )
        @functools.wraps(answer)
        def answer_job(
            set_progress: Callable[[tuple[int, str]], None], asked: Any
        ) -> tuple[Any, Any]:
            if not asked:
                raise PreventUpdate
            return answer(set_progress, asked)

        return answer

    return register
