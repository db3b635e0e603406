"""The cache page (`/cache`): what the price cache holds, how fresh it is, what the provider has
been answering, how fast each route is, and the upkeep actions.

Reads come from `services.cache_status` (database and shared state only). Refreshing one ticker
and warming everything run as background callbacks through `services.upkeep`, the same code,
price store and locks as the clock process; evicting asks for confirmation first. Every value
reaches the page as text: tickers and error messages are never rendered as HTML.

A background callback runs in a thread, which cannot be killed: cancelling a warm also marks it
cancelled in the shared cache, and the warm stops at its next batch (recorded as cancelled).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp.services.cache_status import (
    CacheSnapshot,
    JobRunRow,
    errors_in_words,
    failures_by_ticker,
    snapshot,
)
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
from dashapp.telemetry.hit_tally import HitRate
from dashapp.telemetry.metrics import RouteLatency
from dashapp.ui.components import timestamp

REFRESH_EVERY_MS = 15_000
HIDDEN = {"visibility": "hidden"}
VISIBLE = {"visibility": "visible"}
OUTCOME_COLORS = {"ok": "#198754", "empty": "#6c757d", "http_429": "#fd7e14", "timeout": "#ffc107"}
CHART_HOURS = 24
HOUR_MS = 3_600_000
# The page's running warm on this host, and the flag its Cancel button raises.
PAGE_WARM_KEY = "cache-page:warm"
WARM_CANCEL_KEY = "cache-page:cancel-warm:{token}"
WARM_FLAG_SECONDS = 86_400
QUANTILES = ("p50", "p95", "p99")


def layout(app_context: AppContext) -> html.Div:
    view = snapshot(app_context)
    return html.Div(
        [
            html.H4("Price cache", className="mb-3"),
            html.Div(_overview(view), id="cache-overview"),
            _actions(),
            dag.AgGrid(
                id="cache-grid",
                rowData=_grid_rows(view.tickers),
                columnDefs=_column_defs(),
                defaultColDef={"sortable": True, "filter": True, "resizable": True},
                getRowId="params.data.ticker",
                rowClass="cache-row",
                dashGridOptions={"domLayout": "autoHeight", "animateRows": False},
                columnSize="responsiveSizeToFit",
                style={"width": "100%"},
                className="mb-4",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Graph(
                            id="cache-upstream-chart",
                            figure=upstream_figure(view.upstream, view.now),
                        ),
                        lg=6,
                    ),
                    dbc.Col(
                        [
                            html.H6("Recent job runs"),
                            html.Div(_job_table(view.job_runs), id="cache-jobs"),
                        ],
                        lg=6,
                    ),
                ]
            ),
            html.H6(
                "Latency per route or callback (all processes since they started; "
                "quantiles interpolated within histogram buckets)",
                className="mt-3",
            ),
            html.Div(_latency_table(view.latencies), id="cache-latency"),
            dcc.Interval(id="cache-tick", interval=REFRESH_EVERY_MS),
            dcc.Store(id="cache-version", data=0),
            _evict_modal(),
        ]
    )


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output("cache-overview", "children"),
        Output("cache-grid", "rowData"),
        Output("cache-upstream-chart", "figure"),
        Output("cache-jobs", "children"),
        Output("cache-latency", "children"),
        Input("cache-tick", "n_intervals"),
        Input("cache-version", "data"),
        prevent_initial_call=True,
    )
    def redraw(_ticks, _version):
        view = snapshot(app_context)
        return (
            _overview(view),
            _grid_rows(view.tickers),
            upstream_figure(view.upstream, view.now),
            _job_table(view.job_runs),
            _latency_table(view.latencies),
        )

    @app.callback(
        Output("cache-ticker", "value"),
        Input("cache-grid", "cellClicked"),
        prevent_initial_call=True,
    )
    def choose_ticker(cell):
        ticker = ((cell or {}).get("rowId")) or None
        if ticker is None:
            raise PreventUpdate
        return ticker

    @app.callback(
        Output("cache-message", "children"),
        Output("cache-version", "data"),
        Input("cache-refresh", "n_clicks"),
        State("cache-ticker", "value"),
        State("cache-version", "data"),
        background=True,
        interval=300,
        running=[(Output("cache-refresh", "disabled"), True, False)],
        prevent_initial_call=True,
    )
    def refresh_one(_clicks, ticker, version):
        try:
            report = refresh_ticker(app_context, ticker or "")
        except InvalidTicker:
            return _alert("Type a ticker symbol first, e.g. SPY.", "warning"), no_update
        return _refresh_message(report), (version or 0) + 1

    @app.callback(
        Output("cache-evict-modal", "is_open"),
        Output("cache-evict-question", "children"),
        Output("cache-message", "children", allow_duplicate=True),
        Input("cache-evict", "n_clicks"),
        Input("cache-evict-cancel", "n_clicks"),
        State("cache-ticker", "value"),
        prevent_initial_call=True,
    )
    def ask_to_evict(evict_clicks, _cancel_clicks, ticker):
        if ctx.triggered_id == "cache-evict-cancel":
            return False, no_update, no_update
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
        Output("cache-evict-modal", "is_open", allow_duplicate=True),
        Output("cache-message", "children", allow_duplicate=True),
        Output("cache-version", "data", allow_duplicate=True),
        Input("cache-evict-confirm", "n_clicks"),
        State("cache-ticker", "value"),
        State("cache-version", "data"),
        prevent_initial_call=True,
    )
    def evict(_clicks, ticker, version):
        try:
            name = evict_ticker(app_context, ticker or "")
        except InvalidTicker:
            return False, _alert("That is not a ticker symbol.", "warning"), no_update
        return False, _alert(f"Evicted {name}.", "success"), (version or 0) + 1

    @app.callback(
        Output("cache-message", "children", allow_duplicate=True),
        Output("cache-version", "data", allow_duplicate=True),
        Input("cache-warm", "n_clicks"),
        State("cache-version", "data"),
        background=True,
        interval=500,
        running=[
            (Output("cache-warm", "disabled"), True, False),
            (Output("cache-warm-cancel", "disabled"), False, True),
            (Output("cache-warm-progress", "style"), VISIBLE, HIDDEN),
        ],
        progress=[Output("cache-warm-progress", "value"), Output("cache-warm-progress", "label")],
        progress_default=[0, ""],
        cancel=[Input("cache-warm-cancel", "n_clicks")],
        prevent_initial_call=True,
    )
    def warm_now(set_progress, _clicks, version):
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
        Output("cache-message", "children", allow_duplicate=True),
        Input("cache-warm-cancel", "n_clicks"),
        prevent_initial_call=True,
    )
    def cancel_warm(_clicks):
        token = app_context.cache.get(PAGE_WARM_KEY)
        if token is None:
            return _alert("No warm started from this page is running.", "info")
        app_context.cache.set(WARM_CANCEL_KEY.format(token=token), True, expire=WARM_FLAG_SECONDS)
        return _alert("Warm cancelled: it stops after the batch it is on.", "info")


def upstream_figure(upstream: pd.DataFrame, now: datetime) -> go.Figure:
    """Upstream requests per hour over the last CHART_HOURS hours up to `now`, stacked by
    outcome; the x axis always spans those hours, one bar slot per hour."""
    current_hour = pd.Timestamp(now).tz_convert("UTC").floor("h")
    first_hour = current_hour - timedelta(hours=CHART_HOURS - 1)
    fig = go.Figure()
    for outcome, rows in upstream.groupby("outcome", sort=True):
        fig.add_trace(
            go.Bar(
                # A bar covers its hour: centred half an hour after the hour starts.
                x=rows["hour"] + timedelta(minutes=30),
                y=rows["requests"],
                width=HOUR_MS * 0.9,
                name=str(outcome),
                marker_color=OUTCOME_COLORS.get(str(outcome)),
                hovertemplate="%{y} requests, %{x|%H}:00 UTC<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_layout(
        title="Upstream requests per hour (last 24 h, UTC)",
        barmode="stack",
        margin={"l": 40, "r": 10, "t": 50, "b": 30},
        legend={"orientation": "h"},
        template="plotly_white",
        xaxis={
            "type": "date",
            "range": [first_hour, current_hour + timedelta(hours=1)],
            "dtick": 3 * HOUR_MS,
            "tickformat": "%H:%M<br>%b %d",
        },
        yaxis={"title": "requests", "rangemode": "tozero"},
    )
    if upstream.empty:
        fig.add_annotation(text="No upstream requests in the last 24 hours", showarrow=False)
    return fig


def _actions() -> html.Div:
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Input(
                            id="cache-ticker",
                            placeholder="Ticker (click a row or type)",
                            debounce=False,
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Button(
                                "Refresh ticker", id="cache-refresh", size="sm", className="me-2"
                            ),
                            dbc.Button(
                                "Evict ticker…",
                                id="cache-evict",
                                size="sm",
                                color="outline-danger",
                                className="me-4",
                            ),
                            dbc.Button(
                                "Warm everything now",
                                id="cache-warm",
                                size="sm",
                                color="primary",
                                className="me-2",
                            ),
                            dbc.Button(
                                "Cancel",
                                id="cache-warm-cancel",
                                size="sm",
                                color="link",
                                disabled=True,
                            ),
                        ],
                        md=9,
                    ),
                ],
                className="g-2 align-items-center mb-2",
            ),
            dbc.Progress(
                id="cache-warm-progress",
                value=0,
                striped=True,
                animated=True,
                className="mb-2",
                style=HIDDEN,
            ),
            html.Div(id="cache-message", className="small mb-2"),
        ]
    )


def _evict_modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Evict ticker")),
            dbc.ModalBody(id="cache-evict-question"),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id="cache-evict-cancel", color="secondary"),
                    dbc.Button("Evict", id="cache-evict-confirm", color="danger"),
                ]
            ),
        ],
        id="cache-evict-modal",
        is_open=False,
    )


def _overview(view: CacheSnapshot) -> dbc.Row:
    cards = [
        ("Hit rate, last hour", _hit_rate(view.hit_rates["hour"]), "cache-hit-hour"),
        ("Hit rate, last day", _hit_rate(view.hit_rates["day"]), "cache-hit-day"),
        ("Circuit breaker", _breakers(view.breakers), "cache-breaker"),
        ("Request budget", _budgets(view.budgets), "cache-budget"),
    ]
    return dbc.Row(
        [
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.Div(title, className="text-muted small"),
                            html.Div(text, className="fs-5", id=card_id),
                        ]
                    )
                ),
                md=3,
                className="mb-3",
            )
            for title, text, card_id in cards
        ]
    )


def _hit_rate(rate: HitRate) -> str | list:
    if rate.rate is None:
        return "no lookups"
    counts = html.Span(
        f"({rate.hits:,} hits, {rate.misses:,} misses)", className="small text-muted"
    )
    return [f"{rate.rate:.1%} ", counts]


def _breakers(rows: list[dict]) -> str:
    if not rows:
        return "none"
    parts = []
    for row in rows:
        text = f"{row['provider']}: {row['state']}"
        if row.get("seconds_until_half_open"):
            text += f", half-open in {row['seconds_until_half_open']:.0f} s"
        parts.append(text)
    return "; ".join(parts)


def _budgets(rows: list[dict]) -> str:
    if not rows:
        return "unlimited"
    return "; ".join(
        f"{row['provider']}: {row['tokens_left']:g} of {row['capacity']:g} left" for row in rows
    )


def _grid_rows(tickers: pd.DataFrame) -> list[dict]:
    rows = tickers.assign(
        first_date=tickers["first_date"].map(_day),
        last_date=tickers["last_date"].map(_day),
        last_fetched=tickers["last_fetched"].map(timestamp),
        last_error=errors_in_words(tickers["last_error"]),
    )
    return rows.astype(object).where(rows.notna(), None).to_dict("records")


def _column_defs() -> list[dict]:
    return [
        {"field": "ticker", "headerName": "Ticker", "cellClass": "fw-bold", "minWidth": 90},
        {"field": "first_date", "headerName": "First date"},
        {"field": "last_date", "headerName": "Last date"},
        {
            "field": "bars",
            "headerName": "Bars",
            "type": "numericColumn",
            "filter": "agNumberColumnFilter",
        },
        {"field": "last_fetched", "headerName": "Last fetched", "minWidth": 195},
        {"field": "source", "headerName": "Source"},
        {
            "field": "state",
            "headerName": "Freshness",
            "cellClassRules": {
                "text-success": "params.value === 'fresh'",
                "text-warning": "params.value === 'stale'",
                "text-danger": "params.value === 'missing'",
            },
        },
        {
            "field": "last_error",
            "headerName": "Last error",
            "minWidth": 200,
            "tooltipField": "last_error",
        },
        {
            "field": "consecutive_errors",
            "headerName": "Errors in a row",
            "minWidth": 140,
            "type": "numericColumn",
            "filter": "agNumberColumnFilter",
        },
    ]


def _job_table(runs: list[JobRunRow]) -> dbc.Table | html.Div:
    if not runs:
        return html.Div("No job has run yet.", className="text-muted small")
    header = html.Thead(
        html.Tr([html.Th(t) for t in ("Job", "Trigger", "Started", "Took", "Status", "Progress")])
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(run.job),
                    html.Td(run.trigger),
                    html.Td(timestamp(run.started_at), className="text-nowrap"),
                    html.Td(_took(run)),
                    html.Td(run.status, className=f"job-status job-{run.status}"),
                    html.Td(_run_progress(run), className="small"),
                ],
                className="job-run",
            )
            for run in runs
        ]
    )
    return dbc.Table(
        [header, body], size="sm", striped=True, responsive=True, id="cache-jobs-table"
    )


def _took(run: JobRunRow) -> str:
    if run.finished_at is None:
        return "—"
    seconds = (run.finished_at - run.started_at).total_seconds()
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _run_progress(run: JobRunRow) -> str:
    """A running job's percent and stage; a finished one's counts, or why it stopped."""
    if run.status in ("running", "interrupted"):
        return f"{run.progress:.0f} % · {run.stage}"
    detail = run.detail
    if "tickers" not in detail:
        return f"{run.progress:.0f} % · {detail.get('error', run.stage)}"
    text = f"{detail['tickers']} tickers, {detail['fetched']} fetched, {detail['failed']} failed"
    if detail.get("backtests_warmed"):
        text += f", {detail['backtests_warmed']} backtests"
    return text


def _latency_table(rows: list[RouteLatency]) -> dbc.Table | html.Div:
    if not rows:
        return html.Div("No requests measured yet.", className="text-muted small")
    # Numbers and their headers are right-aligned, so each header sits over its digits.
    header = html.Thead(
        html.Tr(
            [html.Th("Route or callback", scope="col")]
            + [html.Th(t, scope="col", className="text-end") for t in ("Requests", *QUANTILES)]
        )
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(row.route, className="text-break"),
                    html.Td(f"{row.count:,}", className="text-end"),
                    *(
                        html.Td(_ms(value), className="text-end text-nowrap")
                        for value in (row.p50, row.p95, row.p99)
                    ),
                ]
            )
            for row in rows
        ]
    )
    return dbc.Table(
        [header, body], size="sm", striped=True, responsive=True, id="cache-latency-table"
    )


def _refresh_message(report: UpkeepReport) -> dbc.Alert:
    if report.errors:
        return _alert(f"Could not refresh. {failures_by_ticker(report.errors)}", "danger")
    return _alert(f"Refreshed {', '.join(report.fetched) or 'nothing new'}.", "success")


def _alert(text: str, color: str) -> dbc.Alert:
    return dbc.Alert(text, color=color, className="py-1 mb-0")


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:,.1f} ms"


def _day(value: object) -> str | None:
    return None if pd.isna(value) else str(value)
