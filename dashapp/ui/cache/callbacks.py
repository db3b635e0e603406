"""The cache page's callbacks: the periodic redraw and the upkeep actions.

Refreshing one ticker and warming everything run as background callbacks through
`services.upkeep`, the same code, price store and locks as the clock process; evicting asks for
confirmation first. A background callback runs in a thread, which cannot be killed: cancelling a
warm also marks it cancelled in the shared cache, and the warm stops at its next batch
(recorded as cancelled).

Every action asks `roles` whether the acting user may take it, and a refresh or warm then
takes one from their quota (`dashapp/quotas.py`), before anything is fetched or forgotten: a
refusal is a message on the page, never a 4xx, which Dash's renderer would drop.
"""

from __future__ import annotations

import secrets

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from dashapp.quotas import OverQuota, quotas_of
from dashapp.services.cache_status import failures_by_ticker, snapshot
from dashapp.services.context import AppContext
from dashapp.services.upkeep import (
    InvalidTicker,
    JobBusy,
    JobCancelled,
    UpkeepReport,
    evict_ticker,
    is_stored,
    parse_ticker,
    refresh_ticker,
    run_job,
)
from dashapp.ui.cache import ids
from dashapp.ui.cache.figures import upstream_figure
from dashapp.ui.cache.overview import overview
from dashapp.ui.cache.roles import (
    NotAllowed,
    refuse_unless_admin,
    refuse_unless_refreshable,
)
from dashapp.ui.cache.tables import grid_rows, job_table, latency_table
from dashapp.ui.job_controls import job_controls

# The page's running warm on this host, and the flag its Cancel button raises.
PAGE_WARM_KEY = "cache-page:warm"
WARM_CANCEL_KEY = "cache-page:cancel-warm:{token}"
WARM_FLAG_SECONDS = 86_400


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output(ids.OVERVIEW, "children"),
        Output(ids.GRID, "rowData"),
        Output(ids.UPSTREAM_CHART, "figure"),
        Output(ids.JOBS, "children"),
        Output(ids.LATENCY, "children"),
        Input(ids.TICK, "n_intervals"),
        Input(ids.VERSION, "data"),
        prevent_initial_call=True,
    )
    def redraw(_ticks, _version):
        view = snapshot(app_context)
        return (
            overview(view),
            grid_rows(view.tickers),
            upstream_figure(view.upstream, view.now),
            job_table(view.job_runs),
            latency_table(view.latencies),
        )

    @app.callback(
        Output(ids.TICKER, "value"),
        Input(ids.GRID, "cellClicked"),
        prevent_initial_call=True,
    )
    def choose_ticker(cell):
        ticker = ((cell or {}).get("rowId")) or None
        if ticker is None:
            raise PreventUpdate
        return ticker

    @app.callback(
        Output(ids.MESSAGE, "children"),
        Output(ids.VERSION, "data"),
        Input(ids.REFRESH, "n_clicks"),
        State(ids.TICKER, "value"),
        State(ids.VERSION, "data"),
        background=True,
        interval=300,
        running=[(Output(ids.REFRESH, "disabled"), True, False)],
        prevent_initial_call=True,
    )
    def refresh_one(_clicks, ticker, version):
        try:
            name = parse_ticker(ticker or "")
            refuse_unless_refreshable(app_context, name)
            quotas_of(app.server).charge("refresh")
        except InvalidTicker:
            return _alert("Type a ticker symbol first, e.g. SPY.", "warning"), no_update
        except (NotAllowed, OverQuota) as refusal:
            return _refused(refusal), no_update
        return _refresh_message(refresh_ticker(app_context, name)), (version or 0) + 1

    @app.callback(
        Output(ids.EVICT_MODAL, "is_open"),
        Output(ids.EVICT_QUESTION, "children"),
        Output(ids.MESSAGE, "children", allow_duplicate=True),
        Input(ids.EVICT, "n_clicks"),
        Input(ids.EVICT_CANCEL, "n_clicks"),
        State(ids.TICKER, "value"),
        prevent_initial_call=True,
    )
    def ask_to_evict(evict_clicks, _cancel_clicks, ticker):
        if ctx.triggered_id == ids.EVICT_CANCEL:
            return False, no_update, no_update
        try:
            refuse_unless_admin("evict a ticker")
        except NotAllowed as refusal:
            return False, no_update, _refused(refusal)
        if not (ticker or "").strip():
            return False, no_update, _alert("Type or click the ticker to evict first.", "warning")
        try:
            name = parse_ticker(ticker)
        except InvalidTicker:
            return False, no_update, _alert("That is not a ticker symbol.", "warning")
        if not is_stored(app_context, name):
            return (
                False,
                no_update,
                _alert(f"{name} is not in the cache: nothing to evict.", "info"),
            )
        question = f"Forget every stored bar, quote and coverage row of {name}? The next fill fetches it again."
        return True, question, no_update

    @app.callback(
        Output(ids.EVICT_MODAL, "is_open", allow_duplicate=True),
        Output(ids.MESSAGE, "children", allow_duplicate=True),
        Output(ids.VERSION, "data", allow_duplicate=True),
        Input(ids.EVICT_CONFIRM, "n_clicks"),
        State(ids.TICKER, "value"),
        State(ids.VERSION, "data"),
        prevent_initial_call=True,
    )
    def evict(_clicks, ticker, version):
        try:
            refuse_unless_admin("evict a ticker")
            name = evict_ticker(app_context, ticker or "")
        except NotAllowed as refusal:
            return False, _refused(refusal), no_update
        except InvalidTicker:
            return False, _alert("That is not a ticker symbol.", "warning"), no_update
        return False, _alert(f"Evicted {name}.", "success"), (version or 0) + 1

    @app.callback(
        Output(ids.MESSAGE, "children", allow_duplicate=True),
        Output(ids.VERSION, "data", allow_duplicate=True),
        Input(ids.WARM, "n_clicks"),
        State(ids.VERSION, "data"),
        background=True,
        interval=500,
        **job_controls(ids.WARM, ids.WARM_CANCEL, ids.WARM_PROGRESS),
        prevent_initial_call=True,
    )
    def warm_now(set_progress, _clicks, version):
        try:
            refuse_unless_admin("warm the cache")
            quotas_of(app.server).charge("warm")
        except (NotAllowed, OverQuota) as refusal:
            return _refused(refusal), no_update
        set_progress((0, "starting"))
        token = secrets.token_hex(8)
        cache = app_context.cache

        def progress(percent: int, stage: str) -> None:
            # Called first once the warm holds its lock: from then on Cancel can reach it.
            if percent == 0:
                cache.set(PAGE_WARM_KEY, token, expire=WARM_FLAG_SECONDS)
            if cache.get(WARM_CANCEL_KEY.format(token=token)):
                raise JobCancelled
            set_progress((percent, f"{stage} · {percent} %"))

        try:
            outcome = run_job(app_context, "warm", trigger="page", progress=progress)
        except JobBusy:
            return _alert(
                "A warm is already running; its progress is in the job list.", "info"
            ), no_update
        except JobCancelled:
            return _alert("Warm cancelled.", "info"), (version or 0) + 1
        finally:
            with cache.transact():
                if cache.get(PAGE_WARM_KEY) == token:
                    cache.delete(PAGE_WARM_KEY)
        report = outcome.report
        text = (
            f"Warm {outcome.status}: {report.tickers} tickers, {len(report.fetched)} fetched, "
            f"{len(report.errors)} failed."
        )
        color = "success" if outcome.status == "succeeded" else "danger"
        return _alert(text, color), (version or 0) + 1

    @app.callback(
        Output(ids.MESSAGE, "children", allow_duplicate=True),
        Input(ids.WARM_CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )
    def cancel_warm(_clicks):
        try:
            refuse_unless_admin("cancel a warm")
        except NotAllowed as refusal:
            return _refused(refusal)
        token = app_context.cache.get(PAGE_WARM_KEY)
        if token is None:
            return _alert("No warm started from this page is running.", "info")
        app_context.cache.set(WARM_CANCEL_KEY.format(token=token), True, expire=WARM_FLAG_SECONDS)
        return _alert("Warm cancelled: it stops after the batch it is on.", "info")


def _refresh_message(report: UpkeepReport) -> dbc.Alert:
    if report.errors:
        return _alert(f"Could not refresh. {failures_by_ticker(report.errors)}", "danger")
    return _alert(f"Refreshed {', '.join(report.fetched) or 'nothing new'}.", "success")


def _refused(refusal: NotAllowed | OverQuota) -> dbc.Alert:
    """Why nothing was started or changed (a role or the quota), with when to try again."""
    return _alert(str(refusal), "warning")


def _alert(text: str, color: str) -> dbc.Alert:
    return dbc.Alert(text, color=color, className="py-1 mb-0")
