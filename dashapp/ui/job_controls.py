"""The controls of a cancellable background job on a page: its Cancel button and progress bar,
and the background-callback arguments that drive them.

While the job runs its start button is disabled, Cancel is enabled and stops it, and the
progress bar is shown and fed (percent, label); afterwards all three go back. The backtest, the
comparison and the cache page's warm share these controls, so they behave alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output

# The progress bar keeps its place on the page while no job runs, so nothing below it jumps.
PROGRESS_HIDDEN = {"visibility": "hidden"}
PROGRESS_SHOWN = {"visibility": "visible"}


def cancel_button(component_id: str) -> dbc.Button:
    """A job's Cancel button, disabled until the job runs."""
    return dbc.Button("Cancel", id=component_id, color="link", size="sm", disabled=True)


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
