"""The dashboard's callbacks: they answer the user's choices (another portfolio, a refresh, an
allocation grouping, benchmarks and period, a new portfolio), and two background callbacks fill
what the caches lack (prices, the benchmark panel) once their request store is on the page.

A price refresh, asked for or automatic, takes one from the user's refresh quota
(`dashapp/quotas.py`) where it starts, in the background callback: a request store written by
hand reaches it too.
"""

from __future__ import annotations

import json

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from dashapp.quotas import OverQuota, quotas_of
from dashapp.services.context import AppContext
from dashapp.services.dashboard import ask_benchmark_panel, dashboard_page, dashboard_snapshot
from dashapp.services.dashboard_panels import benchmark_panel
from dashapp.services.demo import seed_demo_portfolio
from dashapp.services.portfolios import (
    InvalidInput,
    PortfolioNotFound,
    create_portfolio,
    list_portfolios,
    refresh_portfolio_prices,
)
from dashapp.ui.dashboard import ids
from dashapp.ui.dashboard.background import refresh_message, refresh_request, slot
from dashapp.ui.dashboard.figures import benchmark_figure, placeholder
from dashapp.ui.dashboard.holdings import render_view
from dashapp.ui.dashboard.layout import empty_state, options
from dashapp.ui.dashboard.panels import (
    HIDDEN,
    SHOWN,
    allocation_figure,
    movers_figure,
    panel_note,
)

# What is on screen once the holdings (or an empty state) are drawn.
DRAWN = (
    f"#{ids.HOLDINGS_TABLE} .ag-row, #{ids.EMPTY_STATE}, #{ids.EMPTY_PORTFOLIO}, "
    f"#{ids.DASHBOARD_BODY} .alert"
)
# Plotly's 4.6 MB script takes the browser's main thread for a long moment once the first chart
# mounts; mounted with the layout, it held back the holdings grid by about half (measured with
# bench/browser_load.py). The charts' block (figures inside, no request) is therefore mounted by
# this clientside callback as soon as holdings or an empty state are in the page (3 s at most).
MOUNT_AFTER_HOLDINGS = """
function (block) {
  if (!block) { return window.dash_clientside.no_update; }
  var started = performance.now();
  return new Promise(function (resolve) {
    (function wait() {
      var drawn = document.querySelector(DRAWN);
      if (drawn || performance.now() - started > 3000) {
        setTimeout(function () { resolve(block); }, 0);
      } else {
        setTimeout(wait, 20);
      }
    })();
  });
}
""".replace("DRAWN", json.dumps(DRAWN))


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    app.clientside_callback(
        MOUNT_AFTER_HOLDINGS,
        Output(ids.PANELS_SLOT, "children"),
        Input(ids.PANELS_BLOCK, "data"),
    )

    @app.callback(
        Output(ids.DASHBOARD_BODY, "children"),
        Output(ids.REFRESH_SLOT, "children"),
        Output(ids.ALLOCATION_CHART, "children"),
        Output(ids.MOVERS_CHART, "children"),
        Output(ids.PANEL_BENCHMARKS, "value"),
        Output(ids.PANELS, "style"),
        Input(ids.PORTFOLIO_SELECT, "value"),
        Input(ids.REFRESH_BUTTON, "n_clicks"),
        State(ids.AUTO_REFRESHED, "data"),
        State(ids.ALLOCATION_BY, "value"),
        prevent_initial_call=True,
    )
    def render_holdings(portfolio_id, _clicks, auto_refreshed, allocation_by):
        """Another portfolio chosen, or a refresh asked for: the layout drew the first one."""
        if portfolio_id is None:
            return empty_state(), no_update, no_update, no_update, no_update, {"display": "none"}
        page = dashboard_page(app_context, int(portfolio_id))
        snapshot = page.snapshot
        if snapshot is None or snapshot.holdings.portfolio.id != int(portfolio_id):
            message = dbc.Alert("This portfolio no longer exists.", color="warning")
            return message, no_update, no_update, no_update, no_update, {"display": "none"}
        if ctx.triggered_id == ids.REFRESH_BUTTON:
            request = {"portfolio_id": snapshot.holdings.portfolio.id, "manual": True}
        elif snapshot.holdings.portfolio.id not in (auto_refreshed or []):
            request = refresh_request(snapshot)
        else:
            request = None
        return (
            render_view(snapshot.holdings),
            slot(ids.REFRESH_REQUEST, request) if request else no_update,
            allocation_figure(snapshot, allocation_by),
            movers_figure(snapshot),
            list(page.benchmarks),
            {},
        )

    # The refreshed view is drawn by the job itself: feeding its result back into
    # render_holdings would make a loop of callbacks, which Dash refuses to run.
    @app.callback(
        Output(ids.DASHBOARD_BODY, "children", allow_duplicate=True),
        Output(ids.REFRESH_STATUS, "children"),
        Output(ids.AUTO_REFRESHED, "data"),
        Output(ids.ALLOCATION_CHART, "children", allow_duplicate=True),
        Output(ids.MOVERS_CHART, "children", allow_duplicate=True),
        Input(ids.REFRESH_REQUEST, "data"),
        State(ids.AUTO_REFRESHED, "data"),
        State(ids.ALLOCATION_BY, "value"),
        background=True,
        interval=300,
        running=[
            (Output(ids.REFRESH_BUTTON, "disabled"), True, False),
            (Output(ids.REFRESH_CANCEL, "disabled"), False, True),
            (Output(ids.REFRESH_PROGRESS, "style"), SHOWN, HIDDEN),
            (Output(ids.ALLOCATION_PROGRESS, "style"), SHOWN, HIDDEN),
            (Output(ids.MOVERS_PROGRESS, "style"), SHOWN, HIDDEN),
        ],
        progress=[
            Output(ids.REFRESH_PROGRESS, "value"),
            Output(ids.REFRESH_PROGRESS, "label"),
            Output(ids.ALLOCATION_PROGRESS, "value"),
            Output(ids.MOVERS_PROGRESS, "value"),
        ],
        progress_default=[0, "", 0, 0],
        cancel=[Input(ids.REFRESH_CANCEL, "n_clicks")],
        # Runs when its request store is put on the page, with the page or later.
        prevent_initial_call="initial_duplicate",
    )
    def refresh_prices(set_progress, request, auto_refreshed, allocation_by):
        if not request:
            raise PreventUpdate
        try:
            quotas_of(app.server).charge("refresh")
        except OverQuota as refusal:
            said = dbc.Alert(refusal.message, color="warning", className="py-1 mb-0")
            return no_update, said, no_update, no_update, no_update
        portfolio_id = int(request["portfolio_id"])
        set_progress((10, "fetching prices", 10, 10))
        try:
            errors = refresh_portfolio_prices(app_context, portfolio_id)
            set_progress((90, "drawing", 90, 90))
            snapshot = dashboard_snapshot(app_context, portfolio_id)
        except PortfolioNotFound:
            gone = dbc.Alert("This portfolio no longer exists.", color="warning")
            return no_update, gone, no_update, no_update, no_update
        attempted = sorted({*(auto_refreshed or []), portfolio_id})
        return (
            render_view(snapshot.holdings),
            refresh_message(errors),
            attempted,
            allocation_figure(snapshot, allocation_by),
            movers_figure(snapshot),
        )

    @app.callback(
        Output(ids.ALLOCATION_CHART, "children", allow_duplicate=True),
        Input(ids.ALLOCATION_BY, "value"),
        State(ids.PORTFOLIO_SELECT, "value"),
        prevent_initial_call=True,
    )
    def switch_allocation(allocation_by, portfolio_id):
        if portfolio_id is None:
            raise PreventUpdate
        try:
            snapshot = dashboard_snapshot(app_context, int(portfolio_id))
        except PortfolioNotFound:
            raise PreventUpdate from None
        return allocation_figure(snapshot, allocation_by)

    @app.callback(
        Output(ids.BENCHMARK_CHART, "figure"),
        Output(ids.BENCHMARK_SLOT, "children"),
        Output(ids.BENCHMARK_MESSAGE, "children"),
        Input(ids.PORTFOLIO_SELECT, "value"),
        Input(ids.PANEL_PERIOD, "value"),
        Input(ids.PANEL_BENCHMARKS, "value"),
        prevent_initial_call=True,
    )
    def ask_benchmark(portfolio_id, period, benchmarks):
        """A finished panel from the cache at once; otherwise a background job draws it."""
        if portfolio_id is None:
            raise PreventUpdate
        # A portfolio change brings its own saved choice through panel-benchmarks.
        save = ctx.triggered_id == ids.PANEL_BENCHMARKS
        try:
            chosen, panel = ask_benchmark_panel(
                app_context, int(portfolio_id), benchmarks if save else None, period
            )
        except InvalidInput as error:
            return no_update, no_update, _alert(error.reason)
        except PortfolioNotFound:
            raise PreventUpdate from None
        if panel is not None:
            return benchmark_figure(panel), [], panel_note(panel)
        job = {"portfolio_id": int(portfolio_id), "benchmarks": list(chosen), "period": period}
        return placeholder("Computing…"), slot(ids.BENCHMARK_REQUEST, job), None

    @app.callback(
        Output(ids.BENCHMARK_CHART, "figure", allow_duplicate=True),
        Output(ids.BENCHMARK_MESSAGE, "children", allow_duplicate=True),
        Input(ids.BENCHMARK_REQUEST, "data"),
        background=True,
        interval=250,
        running=[(Output(ids.BENCHMARK_PROGRESS, "style"), SHOWN, HIDDEN)],
        progress=[Output(ids.BENCHMARK_PROGRESS, "value"), Output(ids.BENCHMARK_PROGRESS, "label")],
        progress_default=[0, ""],
        prevent_initial_call="initial_duplicate",
    )
    def draw_benchmark(set_progress, job):
        if not job:
            raise PreventUpdate
        try:
            panel = benchmark_panel(
                app_context,
                int(job["portfolio_id"]),
                tuple(job["benchmarks"]),
                job["period"],
                progress=lambda percent, stage: set_progress((percent, f"{stage} {percent} %")),
            )
        except PortfolioNotFound:
            return placeholder("This portfolio no longer exists."), None
        set_progress((100, "done"))
        return benchmark_figure(panel), panel_note(panel)

    @app.callback(
        Output(ids.PORTFOLIO_SELECT, "options"),
        Output(ids.PORTFOLIO_SELECT, "value"),
        Output(ids.CREATE_PORTFOLIO_FEEDBACK, "children"),
        Input(ids.CREATE_PORTFOLIO_BUTTON, "n_clicks"),
        Input(ids.LOAD_DEMO_BUTTON, "n_clicks"),
        State(ids.NEW_PORTFOLIO_NAME, "value"),
        State(ids.NEW_PORTFOLIO_CURRENCY, "value"),
        prevent_initial_call=True,
    )
    def add_portfolio(create_clicks, demo_clicks, name, currency):
        # Only a click adds a portfolio: a button that (re)appears on the page is no request.
        if not (create_clicks or demo_clicks):
            raise PreventUpdate
        if ctx.triggered_id == ids.LOAD_DEMO_BUTTON:
            portfolio_id = seed_demo_portfolio(app_context)
        else:
            try:
                portfolio_id = create_portfolio(app_context, name or "", currency or "USD").id
            except InvalidInput as error:
                return no_update, no_update, _alert(error.reason)
        return options(list_portfolios(app_context)), portfolio_id, None


def _alert(reason: str) -> dbc.Alert:
    return dbc.Alert(reason, color="danger", className="py-1")
