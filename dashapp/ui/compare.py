"""The comparison page (`/compare`): did the portfolio beat the ETFs it could have been?

A finished comparison for the same question and prices comes straight from the cache, and one
whose prices are all cached is computed at once (a fraction of a second). When prices must be
fetched first, a background callback loads, fetches, computes and hands the result to the page,
moving a progress bar through those stages; the rest of the app stays usable and the job can be
cancelled. Switching views redraws from the result kept in the browser.
"""

from __future__ import annotations

import re

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp.rules import ticker_symbol
from dashapp.services.answers import Ready
from dashapp.services.comparison import (
    DEFAULT_BENCHMARKS,
    SUGGESTED_BENCHMARKS,
    answer,
    compare,
    explain,
    parse_request,
)
from dashapp.services.context import AppContext
from dashapp.services.portfolios import InvalidInput, PortfolioNotFound, list_portfolios
from dashapp.ui.components import field_label, money, period_buttons

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
# Figures of the portfolio measured against a benchmark, not of one series on its own.
RELATIVE_METRICS = {"beta", "alpha", "correlation", "tracking_error", "information_ratio"}
# The form's label of each request field, so that an error names what the user sees.
FIELD_LABELS = {
    "portfolio_id": "Portfolio",
    "benchmarks": "Benchmarks",
    "period": "Period",
    "start": "Custom dates",
    "end": "Custom dates",
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
                        [
                            field_label("Portfolio", "compare-portfolio"),
                            dcc.Dropdown(
                                id="compare-portfolio",
                                options=options,
                                value=portfolios[0].id if portfolios else None,
                                clearable=False,
                                placeholder="No portfolios yet",
                            ),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            html.Div(
                                "Benchmarks",
                                id="compare-benchmarks-label",
                                className="form-label small mb-0",
                            ),
                            # Check boxes, not a multi-select: every choice is in sight, and each
                            # is a native control with its own name for keyboards and readers.
                            html.Div(
                                dbc.Checklist(
                                    id="compare-benchmarks",
                                    options=[
                                        {"label": t, "value": t} for t in SUGGESTED_BENCHMARKS
                                    ],
                                    value=list(DEFAULT_BENCHMARKS),
                                    inline=True,
                                ),
                                role="group",
                                **{"aria-labelledby": "compare-benchmarks-label"},
                            ),
                        ],
                        md=5,
                    ),
                    dbc.Col(
                        [
                            field_label("Add tickers", "compare-extra"),
                            dbc.Input(
                                id="compare-extra",
                                placeholder="e.g. VXUS, DIA",
                                debounce=True,
                                autoComplete="off",
                            ),
                            dbc.FormFeedback(id="compare-extra-feedback", type="invalid"),
                        ],
                        md=4,
                    ),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div(
                                "Period",
                                className="form-label small mb-0",
                                id="compare-period-label",
                            ),
                            period_buttons("compare-period", PERIOD_CHOICES, "1Y"),
                        ],
                        xs=12,
                        md="auto",
                    ),
                    dbc.Col(
                        [
                            html.Div(
                                "Custom dates (YYYY-MM-DD)", className="form-label small mb-0"
                            ),
                            dcc.DatePickerRange(
                                id="compare-dates",
                                display_format="YYYY-MM-DD",
                                start_date_placeholder_text="From",
                                end_date_placeholder_text="To",
                            ),
                        ],
                        xs=12,
                        md="auto",
                    ),
                ],
                className="g-2 mb-2 align-items-end",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div(
                                "Chart", className="form-label small mb-0", id="compare-view-label"
                            ),
                            dbc.RadioItems(
                                id="compare-view",
                                options=[
                                    {"label": label, "value": key} for key, label in VIEWS.items()
                                ],
                                value="value",
                                inline=True,
                            ),
                        ],
                        xs=12,
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
                        xs=12,
                        md="auto",
                    ),
                ],
                className="g-2 mb-2 align-items-end",
            ),
            dbc.Progress(
                id="compare-progress",
                value=0,
                striped=True,
                animated=True,
                className="mb-2",
                style={"visibility": "hidden"},
            ),
            html.Div(id="compare-message", className="small mb-2", role="status"),
            dcc.Loading(
                dcc.Graph(
                    id="compare-chart",
                    figure=_blank_figure("Press Compare"),
                    config={"responsive": True},
                ),
                type="dot",
            ),
            html.Div(id="compare-metrics", className="mt-3"),
            html.Div(id="compare-breakdown", className="mt-3"),
            dbc.Row(
                [
                    dbc.Col(
                        html.Label(
                            "Explain a number: the daily table of",
                            id="explain-series-label",
                            className="fw-bold",
                        ),
                        md="auto",
                    ),
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
        Output("compare-extra", "invalid"),
        Output("compare-extra-feedback", "children"),
        Input("compare-extra", "value"),
        State("compare-benchmarks", "value"),
        State("compare-benchmarks", "options"),
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
                dbc.Alert(text, color="danger", className="py-1", id="compare-error"),
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
        currency = _currency_of(app_context, result["portfolio"]["id"])
        return (
            figure(result, view, currency),
            metrics_table(result),
            breakdown_table(result, currency),
            choices,
        )

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
        currency = _currency_of(app_context, result["portfolio"]["id"])
        return dag.AgGrid(
            id="explain-grid",
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


def figure(result: dict, view: str, currency: str = "USD") -> go.Figure:
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
        margin={"l": 70, "r": 10, "t": 50, "b": 30},
        legend={"orientation": "h"},
        yaxis={
            "title": {"text": _axis_title(view, currency)},
            "tickformat": ".0%" if view == "drawdown" else ",.0f",
        },
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def metrics_table(result: dict) -> html.Div:
    """Two labelled blocks: each series' own figures (portfolio and every ETF), then how the
    portfolio did against each ETF (beta to information ratio, one column per ETF)."""
    metrics = result["metrics"]
    names = list(metrics)
    benchmarks = [name for name in names if name != "portfolio"]
    own_rows = [
        html.Tr(
            [html.Th(label, scope="row")]
            + [
                html.Td(_format(key, metrics[name].get(key)), className="text-end")
                for name in names
            ]
        )
        for key, label in METRIC_LABELS.items()
        if key not in RELATIVE_METRICS and any(key in metrics[name] for name in names)
    ]
    relative_rows = [
        html.Tr(
            [html.Th(label, scope="row")]
            + [
                html.Td(_format(key, metrics[name].get(key)), className="text-end")
                for name in benchmarks
            ]
        )
        for key, label in METRIC_LABELS.items()
        if key in RELATIVE_METRICS and any(key in metrics[name] for name in benchmarks)
    ]
    own = dbc.Table(
        [
            _header("Metric", ["Portfolio" if n == "portfolio" else n for n in names]),
            html.Tbody(own_rows),
        ],
        size="sm",
        striped=True,
        responsive=True,
        id="metrics-table",
    )
    blocks = [html.H5("Each on its own", className="h6"), own]
    if relative_rows:
        blocks += [
            html.H5("Your portfolio against each ETF", className="h6 mt-3"),
            html.P(
                "Beta, alpha, correlation, tracking error and information ratio of your "
                "portfolio's daily returns measured against the ETF's.",
                className="small text-muted mb-1",
            ),
            dbc.Table(
                [
                    _header("Metric", [f"vs {n}" for n in benchmarks]),
                    html.Tbody(relative_rows),
                ],
                size="sm",
                striped=True,
                responsive=True,
                id="relative-metrics-table",
            ),
        ]
    return html.Div(blocks)


def breakdown_table(result: dict, currency: str = "USD") -> dbc.Table:
    """Where the gain came from: price gain + dividends + fees = total gain, so fees, which are
    subtracted, are shown negative."""
    rows = [
        html.Tr(
            [html.Th("Portfolio" if name == "portfolio" else f"Shadow {name}", scope="row")]
            + [
                html.Td(money(value, currency), className="text-end")
                for value in (
                    parts.get("price_gain") or 0.0,
                    parts.get("dividends") or 0.0,
                    -(parts.get("fees") or 0.0) or 0.0,
                    parts.get("total_gain") or 0.0,
                )
            ]
        )
        for name, parts in result["breakdown"].items()
    ]
    header = _header("Where the gain came from", ["Price gain", "Dividends", "Fees", "Total gain"])
    return dbc.Table(
        [header, html.Tbody(rows)], size="sm", bordered=True, responsive=True, id="breakdown-table"
    )


def explain_columns(columns: object, series_name: str, currency: str) -> list[dict]:
    """The daily table's columns with headers in words and money, percent and dates formatted."""
    symbol = "$" if currency == "USD" else f"{currency} "
    money_format = {"function": f"formatMoney(params.value, '{symbol}')"}
    numeric = {"type": "numericColumn", "filter": "agNumberColumnFilter"}
    definitions = {
        "date": {"headerName": "Date", "minWidth": 110},
        "value": {"headerName": "Portfolio value", "valueFormatter": money_format, **numeric},
        "shadow_value": {
            "headerName": f"Value in {series_name}",
            "valueFormatter": money_format,
            **numeric,
        },
        "flow": {
            "headerName": "Money in (+) or out (−)",
            "valueFormatter": {"function": f"formatMoney(params.value, '{symbol}', true)"},
            **numeric,
        },
        "dividends": {"headerName": "Dividends", "valueFormatter": money_format, **numeric},
        "daily_return": {
            "headerName": "Daily return",
            "valueFormatter": {"function": "formatPercent(params.value, true)"},
            **numeric,
        },
        "growth_of_10000": {
            "headerName": "Growth of 10,000",
            "valueFormatter": {"function": "twoDecimals(params.value)"},
            **numeric,
        },
    }
    return [
        {"field": column, **definitions.get(column, {"headerName": str(column).replace("_", " ")})}
        for column in columns
    ]


def _header(first: str, others: list[str]) -> html.Thead:
    return html.Thead(
        html.Tr(
            [html.Th(first, scope="col")]
            + [html.Th(text, scope="col", className="text-end") for text in others]
        )
    )


def _axis_title(view: str, currency: str) -> str:
    if view == "drawdown":
        return "Below the peak"
    if view == "growth":
        return f"Growth of 10,000 ({currency})"
    return f"Value ({currency})"


def _currency_of(app_context: AppContext, portfolio_id: int) -> str:
    return next(
        (p.base_currency for p in list_portfolios(app_context) if p.id == portfolio_id), "USD"
    )


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
