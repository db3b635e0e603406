"""The comparison page's callbacks: adding typed tickers to the benchmarks, answering a question
from the cache or at once, the background job that fetches prices first, drawing the result and
the daily table that explains a series.

A comparison that must fetch prices takes one from the user's comparison quota
(`dashapp/quotas.py`) where the fetch starts, in the background job; one answered from stored
prices costs no quota.
"""

from __future__ import annotations

import re

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from dashapp.quotas import OverQuota, quotas_of
from dashapp.rules import ticker_symbol
from dashapp.services.answers import Ready
from dashapp.services.comparison import answer, compare, explain
from dashapp.services.comparison_requests import parse_request
from dashapp.services.comparison_results import ComparisonResult
from dashapp.services.context import AppContext
from dashapp.services.portfolios import InvalidInput, PortfolioNotFound, list_portfolios
from dashapp.ui.compare import ids
from dashapp.ui.compare.figures import blank_figure, figure
from dashapp.ui.compare.tables import breakdown_table, explain_columns, metrics_table
from dashapp.ui.job_controls import answer_in_background, percent_label

# The form's label of each request field, so that an error names what the user sees.
FIELD_LABELS = {
    "portfolio_id": "Portfolio",
    "benchmarks": "Benchmarks",
    "period": "Period",
    "start": "Custom dates",
    "end": "Custom dates",
}


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output(ids.BENCHMARKS, "options"),
        Output(ids.BENCHMARKS, "value"),
        Output(ids.EXTRA, "value"),
        Output(ids.EXTRA, "invalid"),
        Output(ids.EXTRA_FEEDBACK, "children"),
        Input(ids.EXTRA, "value"),
        State(ids.BENCHMARKS, "value"),
        State(ids.BENCHMARKS, "options"),
        prevent_initial_call=True,
    )
    def add_benchmark(extra, chosen, options):
        """Add every symbol typed (commas or spaces between them), or none: a typo is named at
        the field and left there to fix."""
        if not (extra or "").strip():
            return no_update, no_update, no_update, False, ""
        names, bad = split_tickers(extra)
        if bad:
            listed = ", ".join(f'"{word}"' for word in bad)
            return no_update, no_update, no_update, True, f"Not a ticker symbol: {listed}."
        added = [name for name in names if name not in (chosen or [])]
        offered = {option["value"] for option in options}
        options = options + [{"label": n, "value": n} for n in names if n not in offered]
        return options, [*(chosen or []), *added], "", False, ""

    @app.callback(
        Output(ids.RESULT, "data"),
        Output(ids.JOB, "data"),
        Output(ids.MESSAGE, "children"),
        Input(ids.RUN, "n_clicks"),
        Input(ids.PORTFOLIO, "value"),
        Input(ids.PERIOD, "value"),
        Input(ids.BENCHMARKS, "value"),
        Input(ids.DATES, "start_date"),
        Input(ids.DATES, "end_date"),
    )
    def ask(_clicks, portfolio_id, period, benchmarks, start, end):
        """Answer from the cache, or at once when every price is stored; else start a job."""
        if portfolio_id is None:
            return None, no_update, "Create a portfolio first."
        try:
            request = parse_request(int(portfolio_id), benchmarks, period, start, end)
            answered = answer(app_context, request)
        except InvalidInput as error:
            # The chart must not go on showing the last answer under controls that now ask
            # something else.
            text = f"{FIELD_LABELS.get(error.field, error.field)}: {error.reason}"
            return (
                {"warnings": ["Nothing to show: see the message above."]},
                no_update,
                dbc.Alert(text, color="danger", className="py-1", id=ids.ERROR),
            )
        except PortfolioNotFound:
            return None, no_update, "This portfolio no longer exists."
        if isinstance(answered, Ready):
            return answered.result, no_update, _warnings(answered.result)
        job = {
            "portfolio_id": request.portfolio_id,
            "benchmarks": list(request.benchmarks),
            "period": request.period,
            "start": start,
            "end": end,
            "asked": ctx.triggered_id or "page",
        }
        computing = {"warnings": ["Computing in the background…"]}
        return computing, job, "Computing in the background…"

    @answer_in_background(app, ids)
    def run_comparison(set_progress, job):
        request = parse_request(
            job["portfolio_id"], job["benchmarks"], job["period"], job["start"], job["end"]
        )
        try:
            quotas_of(app.server).charge("comparison")
        except OverQuota as refusal:
            said = dbc.Alert(refusal.message, color="warning", className="py-1 mb-0")
            return {"warnings": ["Nothing to show: see the message above."]}, said
        try:
            result = compare(app_context, request, progress=percent_label(set_progress))
        except PortfolioNotFound:
            gone = dbc.Alert("This portfolio no longer exists.", color="warning", className="py-1")
            return {"warnings": ["Nothing to show: see the message above."]}, gone
        set_progress((100, "done"))
        return result, _warnings(result)

    @app.callback(
        Output(ids.CHART, "figure"),
        Output(ids.METRICS, "children"),
        Output(ids.BREAKDOWN, "children"),
        Output(ids.EXPLAIN_SERIES, "options"),
        Input(ids.RESULT, "data"),
        Input(ids.VIEW, "value"),
    )
    def draw(result, view):
        if not result or not result.get("series"):
            message = (result or {}).get("warnings") or ["Press Compare"]
            return blank_figure(message[0]), None, None, []
        choices = [{"label": "Portfolio", "value": "portfolio"}] + [
            {"label": name, "value": name} for name in result["series"]["benchmarks"]
        ]
        currency = _currency_of(app_context, result["portfolio"]["id"])
        return (
            figure(result, view, currency),
            metrics_table(result),
            breakdown_table(result, currency),
            choices,
        )

    @app.callback(
        Output(ids.EXPLAIN_TABLE, "children"),
        Input(ids.EXPLAIN_SERIES, "value"),
        State(ids.RESULT, "data"),
        prevent_initial_call=True,
    )
    def explain_numbers(series_name, result):
        if not series_name or not result or not result.get("series"):
            raise PreventUpdate
        table = explain(result, series_name)
        currency = _currency_of(app_context, result["portfolio"]["id"])
        return dag.AgGrid(
            id=ids.EXPLAIN_GRID,
            rowData=table.astype(object).where(table.notna(), None).to_dict("records"),
            columnDefs=explain_columns(table.columns, series_name, currency),
            defaultColDef={"sortable": True, "resizable": True, "filter": True},
            dashGridOptions={"pagination": True, "paginationPageSize": 20},
            columnSize="responsiveSizeToFit",
            csvExportParams={"fileName": f"{series_name}-daily.csv"},
        )


def split_tickers(text: str) -> tuple[list[str], list[str]]:
    """The symbols typed in one box, split on commas and white space, upper-cased, each checked:
    (valid symbols in order without repeats, the words that are not symbols)."""
    names: list[str] = []
    bad: list[str] = []
    for word in re.split(r"[,;\s]+", text.strip()):
        if not word:
            continue
        name = ticker_symbol(word)
        if name is None:
            bad.append(word)
        elif name not in names:
            names.append(name)
    return names, bad


def _currency_of(app_context: AppContext, portfolio_id: int) -> str:
    return next(
        (p.base_currency for p in list_portfolios(app_context) if p.id == portfolio_id), "USD"
    )


def _warnings(result: ComparisonResult) -> object:
    warnings = result.get("warnings") or []
    if not warnings:
        return f"Compared {result.get('start', '')} to {result.get('end', '')}."
    return dbc.Alert([html.Div(text) for text in warnings], color="warning", className="py-1 mb-0")
