"""The reports page `/portfolios/<id>/reports`: dividend income by month and holding, and the
realized gains of each year, which open onto the sales and lots behind them.

`/reports` lists the portfolios to pick one. Tickers are drawn in Plotly as escaped text (the
ledger only admits plain symbols, but a chart label is markup to Plotly); everything else user
typed reaches the page as Dash text children, which Dash escapes.
"""

from __future__ import annotations

import html as markup
import re
from datetime import date

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashapp.services.context import AppContext
from dashapp.services.portfolios import PortfolioNotFound, PortfolioSummary, list_portfolios
from dashapp.services.reports import (
    METHOD_LABELS,
    IncomeReport,
    RealizedLot,
    RealizedReport,
    RealizedYear,
    Reports,
    parse_method,
    realized_report,
    reports,
)
from dashapp.ui.components import NO_VALUE, change_class, money

PATH_PATTERN = re.compile(r"^/portfolios/([0-9]{1,18})/reports$")
REALIZED_HEADERS = ("Year", "Sales", "Proceeds", "Cost", "Gain", "Short term", "Long term")
LOT_HEADERS = ("Sold", "Ticker", "Acquired", "Quantity", "Proceeds", "Cost", "Gain", "Held")

# The pages' component ids: `/reports`, then one portfolio's income and realized gains.
PORTFOLIO_LINKS = "reports-portfolios"
PORTFOLIO = "reports-portfolio"
TITLE = "reports-title"
INCOME_TOTAL = "income-total"
INCOME_TTM = "income-ttm"
INCOME_YIELD_ON_COST = "income-yield-on-cost"
INCOME_CURRENT_YIELD = "income-current-yield"
INCOME_FORWARD_ESTIMATE = "income-forward-estimate"
INCOME_CHART = "income-chart"
INCOME_YEARS = "income-years"
INCOME_HOLDINGS = "income-holdings"
INCOME_CSV = "income-csv-{grouping}"
METHOD = "reports-method"
REALIZED_CSV = "realized-csv"
REALIZED_TOTAL = "realized-total"
REALIZED_YEARS = "realized-years"
REALIZED_NONE = "realized-none"
REALIZED_YEAR = "realized-{year}"


def portfolio_id_in(path: str) -> int | None:
    """The portfolio id of a reports page address, or None for any other address."""
    match = PATH_PATTERN.match(path)
    return int(match.group(1)) if match else None


def index_layout(app_context: AppContext) -> html.Div:
    """`/reports`: one link per portfolio."""
    return _index(list_portfolios(app_context))


def _index(portfolios: list[PortfolioSummary]) -> html.Div | dbc.Alert:
    if not portfolios:
        return dbc.Alert(
            ["No portfolios yet. ", dcc.Link("Create one or load the demo", href="/")],
            color="info",
        )
    return html.Div(
        [
            html.H4("Reports", className="mb-3"),
            html.Ul(
                [html.Li(dcc.Link(p.name, href=f"/portfolios/{p.id}/reports")) for p in portfolios],
                id=PORTFOLIO_LINKS,
            ),
        ]
    )


def layout(app_context: AppContext, portfolio_id: int) -> html.Div:
    try:
        both = reports(app_context, portfolio_id)
    except PortfolioNotFound:
        return dbc.Alert(
            ["This portfolio does not exist. ", dcc.Link("See all portfolios", href="/portfolios")],
            color="warning",
        )
    return _report_page(both)


def validation_states() -> list[html.Div]:
    """Both pages drawn without reading anything, for `app.validation_layout`: the list with one
    blank portfolio, and that portfolio's reports with nothing recorded."""
    blank = PortfolioSummary(id=0, name="", base_currency="", version=0)
    income = IncomeReport(blank, date.min, 0.0, 0.0, 0.0, None, None, (), (), ())
    realized = RealizedReport(blank, parse_method(None), None, 0.0, (), ())
    return [_index([blank]), _report_page(Reports(income, realized))]


def _report_page(both: Reports) -> html.Div:
    income, realized = both.income, both.realized
    portfolio = income.portfolio
    return html.Div(
        [
            dcc.Store(id=PORTFOLIO, data=portfolio.id),
            html.H4(
                [
                    html.Span(portfolio.name, id=TITLE),
                    html.Span(" · income and realized gains", className="text-muted"),
                    dcc.Link(
                        "← transactions", href=f"/portfolios/{portfolio.id}", className="fs-6 ms-3"
                    ),
                ],
                className="mb-1",
            ),
            html.P(
                f"Amounts in {income.currency}, the portfolio's currency, as recorded in its ledger.",
                className="text-muted small",
            ),
            _income_section(income),
            _realized_section(realized),
        ]
    )


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    @app.callback(
        Output(REALIZED_YEARS, "children"),
        Output(REALIZED_TOTAL, "children"),
        Output(REALIZED_CSV, "href"),
        Input(METHOD, "value"),
        State(PORTFOLIO, "data"),
        prevent_initial_call=True,
    )
    def change_method(method, portfolio_id):
        if not isinstance(portfolio_id, int) or method not in METHOD_LABELS:
            raise PreventUpdate
        try:
            report = realized_report(app_context, portfolio_id, method)
        except PortfolioNotFound:
            return dbc.Alert("This portfolio no longer exists.", color="warning"), "", None
        return _realized_years(report), _realized_total(report), _realized_csv_href(report)


def income_figure(report: IncomeReport) -> go.Figure:
    """Monthly dividends as bars stacked by ticker, on a date axis so months without any show
    as gaps."""
    fig = go.Figure()
    tickers = sorted({ticker for month in report.by_month for ticker in month.holdings})
    months = [f"{month.period}-01" for month in report.by_month]
    for ticker in tickers:
        label = markup.escape(ticker)
        fig.add_trace(
            go.Bar(
                x=months,
                y=[month.holdings.get(ticker, 0.0) for month in report.by_month],
                name=label,
                xperiod="M1",
                xperiodalignment="middle",
                hovertemplate=f"{label}: %{{y:,.2f}}<extra>%{{x|%b %Y}}</extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        title="Dividends received per month",
        margin={"l": 40, "r": 10, "t": 50, "b": 30},
        legend={"orientation": "h"},
        yaxis={"tickformat": ",.0f", "title": report.currency},
        template="plotly_white",
    )
    if not tickers:
        fig.update_layout(
            annotations=[{"text": "No dividends recorded", "showarrow": False}],
            xaxis={"visible": False},
            yaxis={"visible": False},
        )
    return fig


def _income_section(report: IncomeReport) -> html.Div:
    currency = report.currency
    cards = [
        ("Dividends, all time", money(report.total, currency), INCOME_TOTAL),
        (
            f"Last twelve months to {report.as_of.isoformat()}",
            money(report.ttm, currency),
            INCOME_TTM,
        ),
        ("Yield on cost", _percent(report.yield_on_cost), INCOME_YIELD_ON_COST),
        ("Current yield", _percent(report.current_yield), INCOME_CURRENT_YIELD),
        (
            "Next twelve months (estimate)",
            money(report.forward_estimate, currency),
            INCOME_FORWARD_ESTIMATE,
        ),
    ]
    return html.Div(
        [
            html.H5("Income", className="mt-2"),
            dbc.Row(
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
                        md=True,
                        className="mb-2",
                    )
                    for title, text, card_id in cards
                ]
            ),
            html.Div(
                "The estimate assumes each holding's dividends of the last twelve months repeat, "
                "per share held now; it is not a declared dividend. Both yields are that "
                "estimate over what the shares held cost, or are worth at the latest price.",
                className="text-muted small mb-2",
            ),
            dcc.Graph(id=INCOME_CHART, figure=income_figure(report), config={"displaylogo": False}),
            dbc.Row(
                [
                    dbc.Col(_yearly_income(report), md=4),
                    dbc.Col(_holding_income(report), md=8),
                ]
            ),
            html.Div(
                [
                    _csv_link("Income by month (CSV)", report, "month"),
                    _csv_link("Income by year (CSV)", report, "year"),
                    _csv_link("Income by holding (CSV)", report, "holding"),
                ],
                className="mb-4",
            ),
        ]
    )


def _yearly_income(report: IncomeReport) -> dbc.Table:
    rows = [
        html.Tr([html.Td(year.period), html.Td(money(year.amount, report.currency))])
        for year in report.by_year
    ]
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th("Year"), html.Th("Dividends")])),
            html.Tbody(rows or [html.Tr(html.Td("No dividends recorded", colSpan=2))]),
        ],
        size="sm",
        striped=True,
        id=INCOME_YEARS,
    )


def _holding_income(report: IncomeReport) -> dbc.Table:
    currency = report.currency
    header = ("Holding", "All time", "Last 12 months", "Yield on cost", "Current yield", "Estimate")
    rows = [
        html.Tr(
            [
                html.Td(row.ticker),
                html.Td(money(row.amount, currency)),
                html.Td(money(row.ttm, currency)),
                html.Td(_percent(row.yield_on_cost)),
                html.Td(_percent(row.current_yield)),
                html.Td(money(row.forward_estimate, currency)),
            ]
        )
        for row in report.by_holding
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(name) for name in header])), html.Tbody(rows)],
        size="sm",
        striped=True,
        id=INCOME_HOLDINGS,
    )


def _realized_section(report: RealizedReport) -> html.Div:
    return html.Div(
        [
            html.H5("Realized gains"),
            dbc.Row(
                [
                    dbc.Col(html.Span("Lot method", className="me-2 text-muted"), width="auto"),
                    dbc.Col(
                        dbc.RadioItems(
                            id=METHOD,
                            options=[
                                {"label": label, "value": value}
                                for value, label in METHOD_LABELS.items()
                            ],
                            value=report.method,
                            inline=True,
                        ),
                        width="auto",
                    ),
                    dbc.Col(
                        html.A(
                            "Realized gains (CSV)",
                            href=_realized_csv_href(report),
                            className="btn btn-sm btn-outline-secondary",
                            id=REALIZED_CSV,
                        ),
                        width="auto",
                    ),
                ],
                className="align-items-center mb-2",
            ),
            html.Div(_realized_total(report), id=REALIZED_TOTAL, className="mb-2"),
            html.Div(_realized_years(report), id=REALIZED_YEARS),
        ]
    )


def _realized_total(report: RealizedReport) -> str:
    sales = sum(year.sales for year in report.years)
    return (
        f"{money(report.total, report.currency, signed=True)} realized over {sales} "
        f"sale{'s' if sales != 1 else ''}, {METHOD_LABELS[report.method]}. "
        "Open a year to see each sale and the lots it sold."
    )


def _realized_years(report: RealizedReport) -> html.Div:
    if not report.years:
        return html.Div("No sales recorded yet.", className="text-muted", id=REALIZED_NONE)
    header = html.Div(
        [html.Span(name) for name in REALIZED_HEADERS], className="realized-grid fw-bold small"
    )
    return html.Div(
        [header, *(_realized_year(report, year) for year in reversed(report.years))],
        className="realized-table",
    )


def _realized_year(report: RealizedReport, year: RealizedYear) -> html.Details:
    currency = report.currency
    figures = [
        str(year.year),
        str(year.sales),
        money(year.proceeds, currency),
        money(year.cost, currency),
        money(year.gain, currency, signed=True),
        money(year.short_term_gain, currency, signed=True),
        money(year.long_term_gain, currency, signed=True),
    ]
    summary = html.Summary(
        [
            html.Span(text, className=change_class(year.gain) if index == 4 else None)
            for index, text in enumerate(figures)
        ],
        className="realized-grid realized-year",
    )
    lots = report.lots_of(year.year)
    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th(name) for name in LOT_HEADERS])),
            html.Tbody([_lot_row(lot, currency) for lot in lots]),
        ],
        size="sm",
        className="ms-3 realized-lots",
    )
    return html.Details([summary, table], id=REALIZED_YEAR.format(year=year.year))


def _lot_row(lot: RealizedLot, currency: str) -> html.Tr:
    term = "long term" if lot.long_term else "short term"
    return html.Tr(
        [
            html.Td(lot.date.isoformat()),
            html.Td(lot.ticker),
            html.Td(lot.acquired.isoformat()),
            html.Td(f"{lot.quantity:,.6g}"),
            html.Td(money(lot.proceeds, currency)),
            html.Td(money(lot.cost, currency)),
            html.Td(money(lot.gain, currency, signed=True), className=change_class(lot.gain)),
            html.Td(f"{lot.holding_days:,} days, {term}"),
        ],
        className="realized-lot",
    )


def _csv_link(text: str, report: IncomeReport, grouping: str) -> html.A:
    return html.A(
        text,
        href=f"/api/portfolios/{report.portfolio.id}/income.csv?by={grouping}",
        className="btn btn-sm btn-outline-secondary me-2",
        id=INCOME_CSV.format(grouping=grouping),
    )


def _realized_csv_href(report: RealizedReport) -> str:
    return f"/api/portfolios/{report.portfolio.id}/realized.csv?method={report.method}"


def _percent(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value * 100:,.2f}%"
