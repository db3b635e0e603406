"""The comparison page's tables: each series' metrics and the portfolio's against each ETF,
where the gain came from, and the columns of the daily table that explains a series."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashapp.services.comparison_parts import Metrics
from dashapp.services.comparison_results import ComparisonResult
from dashapp.ui.compare import ids
from dashapp.ui.components import money

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
PERCENT_METRICS = {
    "total_return",
    "cagr",
    "xirr",
    "volatility",
    "max_drawdown",
    "alpha",
    "tracking_error",
}


def metrics_table(result: ComparisonResult) -> html.Div:
    """Two labelled blocks: each series' own figures (portfolio and every ETF), then how the
    portfolio did against each ETF (beta to information ratio, one column per ETF)."""
    metrics = result["metrics"]
    names = list(metrics)
    benchmarks = [name for name in names if name != "portfolio"]
    own_rows = _metric_rows(metrics, names, relative=False)
    relative_rows = _metric_rows(metrics, benchmarks, relative=True)
    own = dbc.Table(
        [
            _header("Metric", ["Portfolio" if n == "portfolio" else n for n in names]),
            html.Tbody(own_rows),
        ],
        size="sm",
        striped=True,
        responsive=True,
        id=ids.METRICS_TABLE,
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
                id=ids.RELATIVE_METRICS_TABLE,
            ),
        ]
    return html.Div(blocks)


def _metric_rows(metrics: dict[str, Metrics], names: list[str], *, relative: bool) -> list[html.Tr]:
    """A row per metric of the block (relative or own) that one of the series `names` has,
    with a column per series."""
    return [
        html.Tr(
            [html.Th(label, scope="row")]
            + [
                html.Td(_format(key, metrics[name].get(key)), className="text-end")
                for name in names
            ]
        )
        for key, label in METRIC_LABELS.items()
        if (key in RELATIVE_METRICS) == relative and any(key in metrics[name] for name in names)
    ]


def breakdown_table(result: ComparisonResult, currency: str = "USD") -> dbc.Table:
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
        [header, html.Tbody(rows)],
        size="sm",
        bordered=True,
        responsive=True,
        id=ids.BREAKDOWN_TABLE,
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


def _format(key: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:,.2f}%" if key in PERCENT_METRICS else f"{value:,.2f}"
