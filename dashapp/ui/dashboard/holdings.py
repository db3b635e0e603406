"""One portfolio on the dashboard: its title, summary cards and holdings grid, or the note that
it holds nothing yet.

The grid gets plain row data (`holding_records`) and column definitions whose formatters live in
assets/dashAgGridFunctions.js; ui/first_paint.py writes the same rows as static HTML.
"""

from __future__ import annotations

from dataclasses import dataclass

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashapp.services.portfolios import HoldingsView
from dashapp.ui.components import change_class, demo_label, money, timestamp
from dashapp.ui.dashboard import ids

GRID_FIELDS = (
    "ticker",
    "quantity",
    "average_cost",
    "price",
    "day_change",
    "day_change_pct",
    "market_value",
    "unrealized_gain",
    "unrealized_gain_pct",
    "weight",
    "freshness",
    "freshness_title",
)
# The grid's default minimum column width (defaultColDef.minWidth), also the first paint's.
GRID_MIN_WIDTH = 115


def render_view(view: HoldingsView) -> html.Div:
    """Summary cards and holdings table of one portfolio (or its empty state)."""
    header = html.H4(
        [
            view.portfolio.name,
            demo_label() if view.is_demo else None,
            dcc.Link("Compare with ETFs →", href="/compare", className="fs-6 ms-3"),
            dcc.Link(
                "Transactions →", href=f"/portfolios/{view.portfolio.id}", className="fs-6 ms-3"
            ),
        ],
        className="portfolio-title mb-3",
    )
    if view.holdings.empty:
        return html.Div(
            [
                header,
                dbc.Alert(
                    "This portfolio has no holdings yet. Add a transaction or import a CSV to start.",
                    color="light",
                    id=ids.EMPTY_PORTFOLIO,
                ),
            ]
        )
    return html.Div([header, _summary_cards(view), _holdings_table(view)])


@dataclass(frozen=True)
class SummaryCard:
    """One number above the holdings: its title, its text and the colour class of its sign."""

    title: str
    text: str
    css_class: str
    card_id: str


def summary_cards(view: HoldingsView) -> list[SummaryCard]:
    totals = view.totals
    currency = view.portfolio.base_currency
    cards = [
        SummaryCard(
            "Market value", money(totals["market_value"], currency), "", ids.CARD_MARKET_VALUE
        )
    ]
    for title, key, card_id in (
        ("Day change", "day_change", ids.CARD_DAY_CHANGE),
        ("Total gain", "total_gain", ids.CARD_TOTAL_GAIN),
        ("Unrealized gain", "unrealized_gain", ids.CARD_UNREALIZED_GAIN),
    ):
        value = totals[key]
        cards.append(
            SummaryCard(title, money(value, currency, signed=True), change_class(value), card_id)
        )
    if totals.get("cash") is not None:
        cards.append(SummaryCard("Cash", money(totals["cash"], currency), "", ids.CARD_CASH))
    return cards


def totals_note(view: HoldingsView) -> str | None:
    """What the totals leave out, when some holding has no price."""
    missing = view.totals.get("missing_tickers") or []
    if not missing:
        return None
    return f"Totals exclude {len(missing)} holding(s) without a price: {', '.join(missing)}"


def _summary_cards(view: HoldingsView) -> dbc.Row:
    note = totals_note(view)
    cards = summary_cards(view)
    return dbc.Row(
        [
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.Div(card.title, className="text-muted small"),
                            html.Div(
                                card.text, className=f"fs-4 {card.css_class}", id=card.card_id
                            ),
                        ]
                    )
                ),
                md=12 // len(cards),
                className="mb-2",
            )
            for card in cards
        ]
        + [
            dbc.Col(
                html.Div(note, className="small text-warning", id=ids.TOTALS_NOTE)
                if note
                else None,
                md=12,
            )
        ],
        className="mb-3",
    )


def _holdings_table(view: HoldingsView) -> dag.AgGrid:
    """One grid component with plain row data: a thousand holdings stay one small JSON payload,
    and the browser sorts, filters and virtualises the rows."""
    return dag.AgGrid(
        id=ids.HOLDINGS_TABLE,
        rowData=holding_records(view),
        columnDefs=column_defs(view.portfolio.base_currency),
        # Filtering is on the ticker column only, through its own labelled box: a filter icon
        # in each right-aligned number header read as an extra, unnamed column. Headers wrap
        # rather than cut "Market value" short.
        defaultColDef={
            "sortable": True,
            "filter": False,
            "resizable": True,
            "minWidth": GRID_MIN_WIDTH,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
            "suppressHeaderMenuButton": True,
        },
        rowClass="holding-row",
        getRowId="params.data.ticker",
        dashGridOptions={"domLayout": "autoHeight", "animateRows": False},
        columnSize="responsiveSizeToFit",
        style={"width": "100%"},
    )


def holding_records(view: HoldingsView) -> list[dict]:
    """The grid's row data: one plain dict per holding, the badge's provenance as its title,
    missing values as None. Plain Python over the rows: a dozen pandas operations on a small
    frame cost more than the rows themselves, on every page load."""
    records = []
    for row in view.holdings.to_dict("records"):
        record = {field: _present(row.get(field)) for field in GRID_FIELDS}
        source = _present(row["source"])
        record["freshness_title"] = (
            f"{row['freshness']}: {row['freshness_reason']}"
            f"\nas of {timestamp(row['as_of'])}"
            f"\nfetched {timestamp(row['fetched_at'])}"
            f"\nsource: {'none' if source is None else source}"
        )
        records.append(record)
    return records


def _present(value: object) -> object:
    """None for a missing value (NaN, NaT, None), else the value."""
    return None if value is None or pd.isna(value) else value


def column_defs(currency: str) -> list[dict]:
    symbol = "$" if currency == "USD" else f"{currency} "
    money_format = {"function": f"formatMoney(params.value, '{symbol}')"}
    signed_money = {"function": f"formatMoney(params.value, '{symbol}', true)"}
    percent_format = {"function": "formatPercent(params.value, true)"}
    change_style = {"function": "changeStyle(params.value)"}
    return [
        {
            "field": "ticker",
            "headerName": "Ticker",
            "cellClass": "fw-bold",
            "minWidth": 120,
            "filter": "agTextColumnFilter",
            "floatingFilter": True,
            "suppressFloatingFilterButton": True,
            "floatingFilterComponentParams": {"suppressFilterButton": True},
            "filterParams": {"buttons": []},
        },
        {
            "field": "quantity",
            "headerName": "Shares",
            "type": "numericColumn",
            "valueFormatter": {"function": "formatQuantity(params.value)"},
        },
        {
            "field": "average_cost",
            "headerName": "Avg cost",
            "type": "numericColumn",
            "valueFormatter": money_format,
        },
        {
            "field": "price",
            "headerName": "Last price",
            "cellRenderer": "PriceWithBadge",
            "cellRendererParams": {"currency": symbol},
            "minWidth": 170,
        },
        {
            "field": "day_change",
            "headerName": "Day change",
            "type": "numericColumn",
            "minWidth": 130,
            "valueFormatter": signed_money,
            "cellStyle": change_style,
        },
        {
            "field": "day_change_pct",
            "headerName": "Day %",
            "type": "numericColumn",
            "valueFormatter": percent_format,
            "cellStyle": change_style,
        },
        {
            "field": "market_value",
            "headerName": "Market value",
            "type": "numericColumn",
            "minWidth": 150,
            "valueFormatter": money_format,
            "sort": "desc",
        },
        {
            "field": "unrealized_gain",
            "headerName": "Unrealized gain",
            "type": "numericColumn",
            "minWidth": 150,
            "valueFormatter": signed_money,
            "cellStyle": change_style,
        },
        {
            "field": "unrealized_gain_pct",
            "headerName": "Gain %",
            "type": "numericColumn",
            "valueFormatter": percent_format,
            "cellStyle": change_style,
        },
        {
            "field": "weight",
            "headerName": "Weight",
            "type": "numericColumn",
            "valueFormatter": {"function": "formatPercent(params.value, false)"},
        },
        {"field": "freshness", "headerName": "Freshness", "hide": True},
    ]
