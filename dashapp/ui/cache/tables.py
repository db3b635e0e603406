"""The cache page's tables: the tickers the cache holds (a grid), the recent job runs and the
latency of each route or callback. Every value is text: tickers and error messages are never
rendered as HTML.
"""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from dashapp.services.cache_status import JobRunRow, errors_in_words
from dashapp.telemetry.metrics import RouteLatency
from dashapp.ui.cache import ids
from dashapp.ui.components import timestamp

QUANTILES = ("p50", "p95", "p99")


def ticker_grid(tickers: pd.DataFrame) -> dag.AgGrid:
    """One row per ticker: its stored range, bars, last fetch, freshness and last error."""
    return dag.AgGrid(
        id=ids.GRID,
        rowData=grid_rows(tickers),
        columnDefs=_column_defs(),
        defaultColDef={"sortable": True, "filter": True, "resizable": True},
        getRowId="params.data.ticker",
        rowClass="cache-row",
        dashGridOptions={"domLayout": "autoHeight", "animateRows": False},
        columnSize="responsiveSizeToFit",
        style={"width": "100%"},
        className="mb-4",
    )


def grid_rows(tickers: pd.DataFrame) -> list[dict]:
    rows = tickers.assign(
        first_date=tickers["first_date"].map(_day),
        last_date=tickers["last_date"].map(_day),
        last_fetched=tickers["last_fetched"].map(timestamp),
        last_error=errors_in_words(tickers["last_error"]),
    )
    return rows.astype(object).where(rows.notna(), None).to_dict("records")


def job_table(runs: list[JobRunRow]) -> dbc.Table | html.Div:
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
    return dbc.Table([header, body], size="sm", striped=True, responsive=True, id=ids.JOBS_TABLE)


def latency_table(rows: list[RouteLatency]) -> dbc.Table | html.Div:
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
    return dbc.Table([header, body], size="sm", striped=True, responsive=True, id=ids.LATENCY_TABLE)


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


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:,.1f} ms"


def _day(value: object) -> str | None:
    return None if pd.isna(value) else str(value)
