"""The comparison page (`/compare`): did the portfolio beat the ETFs it could have been?

A finished comparison for the same question and prices comes straight from the cache, and one
whose prices are all cached is computed at once (a fraction of a second). When prices must be
fetched first, a background callback loads, fetches, computes and hands the result to the page,
moving a progress bar through those stages; the rest of the app stays usable and the job can be
cancelled. Switching views redraws from the result kept in the browser.
"""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp.services.context import AppContext
from dashapp.services.performance import (
    DEFAULT_BENCHMARKS,
    SUGGESTED_BENCHMARKS,
    cached_comparison,
    compare,
    explain,
    needs_fetch,
    parse_request,
)
from dashapp.services.portfolios import InvalidInput, PortfolioNotFound, list_portfolios

PERIOD_CHOICES = ("1M", "3M", "YTD", "1Y", "3Y", "5Y", "MAX", "CUSTOM")
VIEWS = {
    "value": "Value vs shadow portfolios",
    "growth": "Growth of 10,000",
    "drawdown": "Drawdown",
}
METRIC_LABELS = {
    "total_return": "Total return",
    "cagr": "CAGR",
    "xirr": "XIRR",
    "volatility": "Volatility",
    "sharpe": "Sharpe",
    "sortino": "Sortino",
    "max_drawdown": "Max drawdown",
    "calmar": "Calmar",
    "beta": "Beta",
    "alpha": "Alpha",
    "correlation": "Correlation",
    "tracking_error": "Tracking error",
    "information_ratio": "Information ratio",
}
PERCENT_METRICS = {
    "total_return",
    "cagr",
    "xirr",
    "volatility",
    "max_drawdown",
    "alpha",
    "tracking_error",
}


def layout(app_context: AppContext) -> html.Div:
    portfolios = list_portfolios(app_context)
    options = [{"label": p.name, "value": p.id} for p in portfolios]
    return html.Div(
        [
            html.H4("Portfolio vs ETFs", className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id="compare-portfolio",
                            options=options,
                            value=portfolios[0].id if portfolios else None,
                            clearable=False,
                            placeholder="No portfolios yet",
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        dcc.Dropdown(
                            id="compare-benchmarks",
                            options=list(SUGGESTED_BENCHMARKS),
                            value=list(DEFAULT_BENCHMARKS),
                            multi=True,
                            placeholder="Benchmarks (type any ticker)",
                            searchable=True,
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        dbc.Input(
                            id="compare-extra", placeholder="Add ticker, e.g. SCHD", debounce=True
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        dbc.RadioItems(
                            id="compare-period",
                            options=[
                                {"label": p.title() if p != "CUSTOM" else "Custom", "value": p}
                                for p in PERIOD_CHOICES
                            ],
                            value="1Y",
                            inline=True,
                        ),
                        md=3,
                    ),
                ],
                className="g-2 mb-2 align-items-center",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.DatePickerRange(id="compare-dates", display_format="YYYY-MM-DD"),
                        md="auto",
                    ),
                    dbc.Col(
                        dbc.RadioItems(
                            id="compare-view",
                            options=[
                                {"label": label, "value": key} for key, label in VIEWS.items()
                            ],
                            value="value",
                            inline=True,
                        ),
                        md="auto",
                    ),
                    dbc.Col(
                        [
                            dbc.Button(
                                "Compare",
                                id="compare-run",
                                color="primary",
                                size="sm",
                                className="me-2",
                            ),
                            dbc.Button(
                                "Cancel",
                                id="compare-cancel",
                                color="link",
                                size="sm",
                                disabled=True,
                            ),
                        ],
                        md="auto",
                    ),
                ],
                className="g-2 mb-2 align-items-center",
            ),
            dbc.Progress(
                id="compare-progress",
                value=0,
                striped=True,
                animated=True,
                className="mb-2",
                style={"visibility": "hidden"},
            ),
            html.Div(id="compare-message", className="small mb-2"),
            dcc.Loading(
                dcc.Graph(id="compare-chart", figure=_blank_figure("Press Compare")), type="dot"
            ),
            html.Div(id="compare-metrics", className="mt-3"),
            html.Div(id="compare-breakdown", className="mt-3"),
            dbc.Row(
                [
                    dbc.Col(html.Strong("Explain a number:"), md="auto"),
                    dbc.Col(
                        dcc.Dropdown(id="explain-series", placeholder="Portfolio or a benchmark"),
                        md=3,
                    ),
                ],
                className="g-2 mt-3 align-items-center",
            ),
            html.Div(id="explain-table", className="mt-2"),
            dcc.Store(id="compare-result"),
            dcc.Store(id="compare-job"),
        ]
    )


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output("compare-benchmarks", "options"),
        Output("compare-benchmarks", "value"),
        Output("compare-extra", "value"),
        Input("compare-extra", "value"),
        State("compare-benchmarks", "value"),
        State("compare-benchmarks", "options"),
        prevent_initial_call=True,
    )
    def add_benchmark(extra, chosen, options):
        name = (extra or "").strip().upper()
        if not name:
            raise PreventUpdate
        return sorted({*options, name}), [*(chosen or []), name], ""

    @app.callback(
        Output("compare-result", "data"),
        Output("compare-job", "data"),
        Output("compare-message", "children"),
        Input("compare-run", "n_clicks"),
        Input("compare-portfolio", "value"),
        Input("compare-period", "value"),
        Input("compare-benchmarks", "value"),
        Input("compare-dates", "start_date"),
        Input("compare-dates", "end_date"),
    )
    def ask(_clicks, portfolio_id, period, benchmarks, start, end):
        """Answer from the cache when the same question was answered with the same prices."""
        if portfolio_id is None:
            return None, no_update, "Create a portfolio first."
        try:
            request = parse_request(int(portfolio_id), benchmarks, period, start, end)
            cached = cached_comparison(app_context, request)
        except InvalidInput as error:
            return (
                no_update,
                no_update,
                dbc.Alert(f"{error.field}: {error.reason}", color="danger", className="py-1"),
            )
        except PortfolioNotFound:
            return None, no_update, "This portfolio no longer exists."
        if cached is not None:
            return cached, no_update, _warnings(cached)
        if not needs_fetch(app_context, request):
            # Every price is at hand: computing takes a fraction of a second, so do it now.
            result = compare(app_context, request, fetch=False)
            return result, no_update, _warnings(result)
        job = {
            "portfolio_id": request.portfolio_id,
            "benchmarks": list(request.benchmarks),
            "period": request.period,
            "start": start,
            "end": end,
            "asked": ctx.triggered_id or "page",
        }
        return no_update, job, "Computing in the background…"

    @app.callback(
        Output("compare-result", "data", allow_duplicate=True),
        Output("compare-message", "children", allow_duplicate=True),
        Input("compare-job", "data"),
        background=True,
        # Poll often: a warm-cache comparison takes a fraction of a second to compute.
        interval=200,
        running=[
            (Output("compare-run", "disabled"), True, False),
            (Output("compare-cancel", "disabled"), False, True),
            (
                Output("compare-progress", "style"),
                {"visibility": "visible"},
                {"visibility": "hidden"},
            ),
        ],
        progress=[Output("compare-progress", "value"), Output("compare-progress", "label")],
        progress_default=[0, ""],
        cancel=[Input("compare-cancel", "n_clicks")],
        prevent_initial_call=True,
    )
    def run_comparison(set_progress, job):
        if not job:
            raise PreventUpdate
        request = parse_request(
            job["portfolio_id"], job["benchmarks"], job["period"], job["start"], job["end"]
        )
        result = compare(
            app_context,
            request,
            progress=lambda percent, stage: set_progress((percent, f"{stage} {percent} %")),
        )
        set_progress((100, "done"))
        return result, _warnings(result)

    @app.callback(
        Output("compare-chart", "figure"),
        Output("compare-metrics", "children"),
        Output("compare-breakdown", "children"),
        Output("explain-series", "options"),
        Input("compare-result", "data"),
        Input("compare-view", "value"),
    )
    def draw(result, view):
        if not result or not result.get("series"):
            message = (result or {}).get("warnings") or ["Press Compare"]
            return _blank_figure(message[0]), None, None, []
        choices = [{"label": "Portfolio", "value": "portfolio"}] + [
            {"label": name, "value": name} for name in result["series"]["benchmarks"]
        ]
        return figure(result, view), metrics_table(result), breakdown_table(result), choices

    @app.callback(
        Output("explain-table", "children"),
        Input("explain-series", "value"),
        State("compare-result", "data"),
        prevent_initial_call=True,
    )
    def explain_numbers(series_name, result):
        if not series_name or not result or not result.get("series"):
            raise PreventUpdate
        table = explain(result, series_name)
        return dag.AgGrid(
            id="explain-grid",
            rowData=table.astype(object).where(table.notna(), None).to_dict("records"),
            columnDefs=[{"field": column} for column in table.columns],
            defaultColDef={"sortable": True, "resizable": True, "filter": True},
            dashGridOptions={"pagination": True, "paginationPageSize": 20},
            columnSize="responsiveSizeToFit",
            csvExportParams={"fileName": f"{series_name}-daily.csv"},
        )


def figure(result: dict, view: str) -> go.Figure:
    """Lines of the chosen view; a benchmark with stale prices is dashed and named so."""
    series = result["series"]
    dates = series["dates"]
    keys = {
        "value": ("value", "shadow_value"),
        "growth": ("growth", "growth"),
        "drawdown": ("drawdown", "drawdown"),
    }
    own, theirs = keys.get(view, keys["value"])
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=dates, y=series["portfolio"][own], name=result["portfolio"]["name"], line={"width": 3}
        )
    )
    for name, part in series["benchmarks"].items():
        stale = result["provenance"].get(name, {}).get("state") == "stale"
        label = (
            f"{name} (stale)" if stale else (f"Your money in {name}" if view == "value" else name)
        )
        fig.add_trace(
            go.Scatter(
                x=dates, y=part[theirs], name=label, line={"dash": "dash" if stale else "solid"}
            )
        )
    fig.update_layout(
        title=VIEWS.get(view, VIEWS["value"]) + (" · demo data" if result.get("demo_data") else ""),
        margin={"l": 40, "r": 10, "t": 50, "b": 30},
        legend={"orientation": "h"},
        yaxis={"tickformat": ".0%" if view == "drawdown" else ",.0f"},
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def metrics_table(result: dict) -> dbc.Table:
    names = list(result["metrics"])
    header = html.Thead(
        html.Tr(
            [html.Th("Metric")] + [html.Th("Portfolio" if n == "portfolio" else n) for n in names]
        )
    )
    rows = [
        html.Tr(
            [html.Td(label)]
            + [html.Td(_format(key, result["metrics"][name].get(key))) for name in names]
        )
        for key, label in METRIC_LABELS.items()
        if any(key in result["metrics"][name] for name in names)
    ]
    return html.Div(
        [
            html.Div(
                "Benchmark columns: the ETF's own figures, then beta to information ratio of your portfolio against it.",
                className="small text-muted",
            ),
            dbc.Table([header, html.Tbody(rows)], size="sm", striped=True, id="metrics-table"),
        ]
    )


def breakdown_table(result: dict) -> dbc.Table:
    rows = [
        html.Tr(
            [html.Td("Portfolio" if name == "portfolio" else f"Shadow {name}")]
            + [
                html.Td(f"{parts.get(key) or 0:,.2f}")
                for key in ("price_gain", "dividends", "fees", "total_gain")
            ]
        )
        for name, parts in result["breakdown"].items()
    ]
    header = html.Thead(
        html.Tr(
            [
                html.Th(t)
                for t in (
                    "Where the gain came from",
                    "Price gain",
                    "Dividends",
                    "Fees",
                    "Total gain",
                )
            ]
        )
    )
    return dbc.Table([header, html.Tbody(rows)], size="sm", bordered=True, id="breakdown-table")


def _format(key: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:,.2f}%" if key in PERCENT_METRICS else f"{value:,.2f}"


def _warnings(result: dict) -> object:
    warnings = result.get("warnings") or []
    if not warnings:
        return f"Compared {result.get('start', '')} to {result.get('end', '')}."
    return dbc.Alert([html.Div(text) for text in warnings], color="warning", className="py-1 mb-0")


def _blank_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        annotations=[{"text": message, "showarrow": False, "font": {"size": 16}}],
        xaxis={"visible": False},
        yaxis={"visible": False},
        template="plotly_white",
    )
    return fig
