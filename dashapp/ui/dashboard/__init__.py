"""The dashboard page (`/`): portfolio selector, summary cards, holdings and three chart panels.

The layout itself carries the numbers: holdings, cards, badges, allocation and movers come from
the read-model cache (services/dashboard.py) when the page is built, and so does the benchmark
panel when a finished one is cached. No callback stands between navigation and the numbers;
callbacks only answer the user's choices and background work fills what the cache lacks:
- a refresh (background) fetches stale or missing prices, then redraws holdings and charts;
- the benchmark panel (background) fetches history the comparison lacks, then draws.
A background callback starts when its request store appears on the page: the layout (or a
later callback) puts the store into its slot only when there is work, so a page whose caches
are warm sends no callback at all, not even one that would find nothing to do. The charts and
those stores travel in the layout as data and are mounted right after the holdings (see
MOUNT_AFTER_HOLDINGS), so loading Plotly never delays the numbers. Even before the renderer has
this layout, the index page shows the same numbers as static HTML (ui/first_paint.py), which
these components replace in place once drawn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from plotly.io.json import to_json_plotly

from dashapp.services.cache_status import failures_by_reason
from dashapp.services.comparison import SUGGESTED_BENCHMARKS
from dashapp.services.context import AppContext
from dashapp.services.dashboard import (
    DashboardPage,
    DashboardSnapshot,
    ask_benchmark_panel,
    dashboard_page,
    dashboard_snapshot,
)
from dashapp.services.dashboard_panels import PANEL_PERIODS, BenchmarkPanel, benchmark_panel
from dashapp.services.demo import seed_demo_portfolio
from dashapp.services.portfolios import (
    HoldingsView,
    InvalidInput,
    PortfolioNotFound,
    PortfolioSummary,
    create_portfolio,
    list_portfolios,
    refresh_portfolio_prices,
)
from dashapp.ui.components import change_class, demo_label, money, timestamp
from dashapp.ui.dashboard_figures import (
    allocation_bars,
    bar_placeholder,
    benchmark_figure,
    movers_bars,
    placeholder,
)

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
DEFAULT_PERIOD = "1Y"
ALLOCATION_CHOICES = {"holding": "By holding", "currency": "By currency"}
ALLOCATION_NOTE = (
    "Exchange and asset type are not stored for these instruments yet, so allocation shows "
    "holdings and their ledger currency only."
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
      var drawn = document.querySelector(
        "#holdings-table .ag-row, #empty-state, #empty-portfolio, #dashboard-body .alert");
      if (drawn || performance.now() - started > 3000) {
        setTimeout(function () { resolve(block); }, 0);
      } else {
        setTimeout(wait, 20);
      }
    })();
  });
}
"""
SHOWN = {"visibility": "visible"}
HIDDEN = {"visibility": "hidden"}


def layout(app_context: AppContext) -> html.Div:
    page = dashboard_page(app_context, period=DEFAULT_PERIOD)
    snapshot = page.snapshot
    selected = snapshot.holdings.portfolio.id if snapshot else None
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id="portfolio-select",
                            options=_options(list(page.portfolios)),
                            value=selected,
                            clearable=False,
                            placeholder="No portfolios yet",
                        ),
                        md=5,
                    ),
                    dbc.Col(
                        [
                            dbc.Button(
                                "Refresh prices",
                                id="refresh-button",
                                color="outline-primary",
                                size="sm",
                                className="me-2",
                            ),
                            dbc.Button(
                                "Cancel",
                                id="refresh-cancel",
                                color="link",
                                size="sm",
                                disabled=True,
                            ),
                            dbc.Progress(
                                id="refresh-progress",
                                value=0,
                                striped=True,
                                animated=True,
                                className="mt-1 refresh-progress",
                                style=HIDDEN,
                            ),
                        ],
                        md=7,
                        className="text-end",
                    ),
                ],
                className="mb-3 align-items-center",
            ),
            html.Div(id="refresh-status", className="small text-muted mb-2"),
            html.Div(
                id="dashboard-body",
                children=render_view(snapshot.holdings) if snapshot else _empty_state(),
            ),
            dcc.Store(id="auto-refreshed", data=[]),
            # The charts and the background requests, mounted once the holdings are on screen.
            html.Div(id="dashboard-panels-slot"),
            dcc.Store(
                id="dashboard-panels-block",
                data=_as_json(
                    html.Div(
                        [
                            _panels(page),
                            html.Div(
                                _slot("refresh-request", _refresh_request(snapshot)),
                                id="refresh-slot",
                            ),
                            html.Div(
                                _slot("benchmark-request", _benchmark_job(page)),
                                id="benchmark-slot",
                            ),
                        ]
                    )
                ),
            ),
        ]
    )


def register_callbacks(app: Dash, app_context: AppContext) -> None:
    app.clientside_callback(
        MOUNT_AFTER_HOLDINGS,
        Output("dashboard-panels-slot", "children"),
        Input("dashboard-panels-block", "data"),
    )

    @app.callback(
        Output("dashboard-body", "children"),
        Output("refresh-slot", "children"),
        Output("allocation-chart", "children"),
        Output("movers-chart", "children"),
        Output("panel-benchmarks", "value"),
        Output("dashboard-panels", "style"),
        Input("portfolio-select", "value"),
        Input("refresh-button", "n_clicks"),
        State("auto-refreshed", "data"),
        State("allocation-by", "value"),
        prevent_initial_call=True,
    )
    def render_holdings(portfolio_id, _clicks, auto_refreshed, allocation_by):
        """Another portfolio chosen, or a refresh asked for: the layout drew the first one."""
        if portfolio_id is None:
            return _empty_state(), no_update, no_update, no_update, no_update, {"display": "none"}
        page = dashboard_page(app_context, int(portfolio_id))
        snapshot = page.snapshot
        if snapshot is None or snapshot.holdings.portfolio.id != int(portfolio_id):
            message = dbc.Alert("This portfolio no longer exists.", color="warning")
            return message, no_update, no_update, no_update, no_update, {"display": "none"}
        if ctx.triggered_id == "refresh-button":
            request = {"portfolio_id": snapshot.holdings.portfolio.id, "manual": True}
        elif snapshot.holdings.portfolio.id not in (auto_refreshed or []):
            request = _refresh_request(snapshot)
        else:
            request = None
        return (
            render_view(snapshot.holdings),
            _slot("refresh-request", request) if request else no_update,
            allocation_figure(snapshot, allocation_by),
            movers_figure(snapshot),
            list(page.benchmarks),
            {},
        )

    # The refreshed view is drawn by the job itself: feeding its result back into
    # render_holdings would make a loop of callbacks, which Dash refuses to run.
    @app.callback(
        Output("dashboard-body", "children", allow_duplicate=True),
        Output("refresh-status", "children"),
        Output("auto-refreshed", "data"),
        Output("allocation-chart", "children", allow_duplicate=True),
        Output("movers-chart", "children", allow_duplicate=True),
        Input("refresh-request", "data"),
        State("auto-refreshed", "data"),
        State("allocation-by", "value"),
        background=True,
        interval=300,
        running=[
            (Output("refresh-button", "disabled"), True, False),
            (Output("refresh-cancel", "disabled"), False, True),
            (Output("refresh-progress", "style"), SHOWN, HIDDEN),
            (Output("allocation-progress", "style"), SHOWN, HIDDEN),
            (Output("movers-progress", "style"), SHOWN, HIDDEN),
        ],
        progress=[
            Output("refresh-progress", "value"),
            Output("refresh-progress", "label"),
            Output("allocation-progress", "value"),
            Output("movers-progress", "value"),
        ],
        progress_default=[0, "", 0, 0],
        cancel=[Input("refresh-cancel", "n_clicks")],
        # Runs when its request store is put on the page, with the page or later.
        prevent_initial_call="initial_duplicate",
    )
    def refresh_prices(set_progress, request, auto_refreshed, allocation_by):
        if not request:
            raise PreventUpdate
        portfolio_id = int(request["portfolio_id"])
        set_progress((10, "fetching prices", 10, 10))
        errors = refresh_portfolio_prices(app_context, portfolio_id)
        set_progress((90, "drawing", 90, 90))
        snapshot = dashboard_snapshot(app_context, portfolio_id)
        attempted = sorted({*(auto_refreshed or []), portfolio_id})
        return (
            render_view(snapshot.holdings),
            _refresh_message(errors),
            attempted,
            allocation_figure(snapshot, allocation_by),
            movers_figure(snapshot),
        )

    @app.callback(
        Output("allocation-chart", "children", allow_duplicate=True),
        Input("allocation-by", "value"),
        State("portfolio-select", "value"),
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
        Output("benchmark-chart", "figure"),
        Output("benchmark-slot", "children"),
        Output("benchmark-message", "children"),
        Input("portfolio-select", "value"),
        Input("panel-period", "value"),
        Input("panel-benchmarks", "value"),
        prevent_initial_call=True,
    )
    def ask_benchmark(portfolio_id, period, benchmarks):
        """A finished panel from the cache at once; otherwise a background job draws it."""
        if portfolio_id is None:
            raise PreventUpdate
        # A portfolio change brings its own saved choice through panel-benchmarks.
        save = ctx.triggered_id == "panel-benchmarks"
        try:
            chosen, panel = ask_benchmark_panel(
                app_context, int(portfolio_id), benchmarks if save else None, period
            )
        except InvalidInput as error:
            return no_update, no_update, _alert(error.reason)
        except PortfolioNotFound:
            raise PreventUpdate from None
        if panel is not None:
            return benchmark_figure(panel), [], _panel_note(panel)
        job = {"portfolio_id": int(portfolio_id), "benchmarks": list(chosen), "period": period}
        return placeholder("Computing…"), _slot("benchmark-request", job), None

    @app.callback(
        Output("benchmark-chart", "figure", allow_duplicate=True),
        Output("benchmark-message", "children", allow_duplicate=True),
        Input("benchmark-request", "data"),
        background=True,
        interval=250,
        running=[(Output("benchmark-progress", "style"), SHOWN, HIDDEN)],
        progress=[Output("benchmark-progress", "value"), Output("benchmark-progress", "label")],
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
        return benchmark_figure(panel), _panel_note(panel)

    @app.callback(
        Output("portfolio-select", "options"),
        Output("portfolio-select", "value"),
        Output("create-portfolio-feedback", "children"),
        Input("create-portfolio-button", "n_clicks"),
        Input("load-demo-button", "n_clicks"),
        State("new-portfolio-name", "value"),
        State("new-portfolio-currency", "value"),
        prevent_initial_call=True,
    )
    def add_portfolio(create_clicks, demo_clicks, name, currency):
        # Only a click adds a portfolio: a button that (re)appears on the page is no request.
        if not (create_clicks or demo_clicks):
            raise PreventUpdate
        if ctx.triggered_id == "load-demo-button":
            portfolio_id = seed_demo_portfolio(app_context)
        else:
            try:
                portfolio_id = create_portfolio(app_context, name or "", currency or "USD").id
            except InvalidInput as error:
                return no_update, no_update, _alert(error.reason)
        return _options(list_portfolios(app_context)), portfolio_id, None


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
                    id="empty-portfolio",
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
            "Market value", money(totals["market_value"], currency), "", "card-market-value"
        )
    ]
    for title, key, card_id in (
        ("Day change", "day_change", "card-day-change"),
        ("Total gain", "total_gain", "card-total-gain"),
        ("Unrealized gain", "unrealized_gain", "card-unrealized-gain"),
    ):
        value = totals[key]
        cards.append(
            SummaryCard(title, money(value, currency, signed=True), change_class(value), card_id)
        )
    if totals.get("cash") is not None:
        cards.append(SummaryCard("Cash", money(totals["cash"], currency), "", "card-cash"))
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
                html.Div(note, className="small text-warning", id="totals-note") if note else None,
                md=12,
            )
        ],
        className="mb-3",
    )


def _holdings_table(view: HoldingsView) -> dag.AgGrid:
    """One grid component with plain row data: a thousand holdings stay one small JSON payload,
    and the browser sorts, filters and virtualises the rows."""
    return dag.AgGrid(
        id="holdings-table",
        rowData=holding_records(view),
        columnDefs=column_defs(view.portfolio.base_currency),
        # Filtering is on the ticker column only, through its own labelled box: a filter icon
        # in each right-aligned number header read as an extra, unnamed column. Headers wrap
        # rather than cut "Market value" short.
        defaultColDef={
            "sortable": True,
            "filter": False,
            "resizable": True,
            "minWidth": 115,
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


def _panels(page: DashboardPage) -> html.Div:
    """Three chart panels, filled from the caches when the layout is built, each with its own
    progress bar for the background work that fills what the caches lack."""
    snapshot = page.snapshot
    waiting = snapshot is not None and snapshot.prices_missing
    benchmark = page.benchmark_panel
    benchmark_options = sorted({*SUGGESTED_BENCHMARKS, *page.benchmarks})
    return html.Div(
        dbc.Row(
            [
                dbc.Col(
                    _panel_card(
                        "Your money against the same deposits in ETFs",
                        [
                            dbc.Row(
                                [
                                    dbc.Col(
                                        dcc.Dropdown(
                                            id="panel-benchmarks",
                                            options=benchmark_options,
                                            value=list(page.benchmarks),
                                            multi=True,
                                            clearable=False,
                                            placeholder="Benchmark ETFs",
                                        ),
                                        md=5,
                                    ),
                                    dbc.Col(
                                        dbc.RadioItems(
                                            id="panel-period",
                                            className="btn-group period-buttons",
                                            inputClassName="btn-check",
                                            labelClassName="btn btn-outline-secondary btn-sm",
                                            labelCheckedClassName="active",
                                            options=[
                                                {"label": period, "value": period}
                                                for period in PANEL_PERIODS
                                            ],
                                            value=page.period,
                                        ),
                                        md=7,
                                        className="text-md-end",
                                    ),
                                ],
                                className="g-2 mb-1 align-items-center",
                            ),
                            _progress("benchmark-progress", shown=benchmark is None),
                            dcc.Graph(
                                id="benchmark-chart",
                                figure=benchmark_figure(benchmark)
                                if benchmark
                                else placeholder("Computing…"),
                                config={"displayModeBar": False},
                            ),
                            html.Div(
                                _panel_note(benchmark) if benchmark else None,
                                id="benchmark-message",
                                className="small",
                            ),
                            dcc.Link("Full comparison with ETFs →", href="/compare"),
                        ],
                        "panel-benchmark",
                    ),
                    lg=12,
                    className="mb-3",
                ),
                dbc.Col(
                    _panel_card(
                        "Allocation",
                        [
                            dbc.RadioItems(
                                id="allocation-by",
                                options=[
                                    {"label": label, "value": key}
                                    for key, label in ALLOCATION_CHOICES.items()
                                ],
                                value="holding",
                                inline=True,
                            ),
                            _progress("allocation-progress", shown=waiting),
                            html.Div(allocation_figure(snapshot, "holding"), id="allocation-chart"),
                            html.Div(
                                ALLOCATION_NOTE,
                                className="small text-muted",
                                id="allocation-note",
                            ),
                        ],
                        "panel-allocation",
                    ),
                    lg=6,
                    className="mb-3",
                ),
                dbc.Col(
                    _panel_card(
                        "Today's biggest movers",
                        [
                            _progress("movers-progress", shown=waiting),
                            html.Div(movers_figure(snapshot), id="movers-chart"),
                        ],
                        "panel-movers",
                    ),
                    lg=6,
                    className="mb-3",
                ),
            ]
        ),
        id="dashboard-panels",
        style={} if snapshot else {"display": "none"},
    )


def _panel_card(title: str, body: list, panel_id: str) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], id=panel_id, className="h-100")


def _progress(progress_id: str, shown: bool) -> dbc.Progress:
    return dbc.Progress(
        id=progress_id,
        value=5 if shown else 0,
        label="waiting for prices" if shown else "",
        striped=True,
        animated=True,
        className="mb-2 panel-progress",
        style=SHOWN if shown else HIDDEN,
    )


def allocation_figure(snapshot: DashboardSnapshot | None, by: str | None) -> html.Div:
    if snapshot is None:
        return bar_placeholder("")
    if snapshot.prices_missing and not snapshot.allocation.by_holding:
        return bar_placeholder("Waiting for prices…")
    return allocation_bars(snapshot.allocation, by or "holding")


def movers_figure(snapshot: DashboardSnapshot | None) -> html.Div:
    if snapshot is None:
        return bar_placeholder("")
    if snapshot.prices_missing and not snapshot.movers:
        return bar_placeholder("Waiting for prices…")
    return movers_bars(snapshot.movers)


def _panel_note(panel: BenchmarkPanel) -> object:
    if panel.warnings:
        return dbc.Alert(
            [html.Div(text) for text in panel.warnings], color="warning", className="py-1 mb-1"
        )
    if panel.start and panel.end:
        return html.Span(f"From {panel.start} to {panel.end}.", className="text-muted")
    return None


def _as_json(component: object) -> dict:
    """A component tree as the JSON the renderer mounts (what a callback would send)."""
    return json.loads(to_json_plotly(component))


def _slot(store_id: str, request: dict | None) -> list[dcc.Store]:
    """A request store for a slot: present only when there is work for its background callback."""
    return [dcc.Store(id=store_id, data=request)] if request else []


def _refresh_request(snapshot: DashboardSnapshot | None) -> dict | None:
    if snapshot is None or not snapshot.needs_refresh:
        return None
    return {"portfolio_id": snapshot.holdings.portfolio.id, "manual": False}


def _benchmark_job(page: DashboardPage) -> dict | None:
    if page.snapshot is None or page.benchmark_panel is not None:
        return None
    return {
        "portfolio_id": page.snapshot.holdings.portfolio.id,
        "benchmarks": list(page.benchmarks),
        "period": page.period,
    }


def _alert(reason: str) -> dbc.Alert:
    return dbc.Alert(reason, color="danger", className="py-1")


def _empty_state() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H4("No portfolios yet", id="no-portfolios"),
                html.P("Create an empty portfolio, or load the demo portfolio to look around."),
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.Input(id="new-portfolio-name", placeholder="Portfolio name"), md=5
                        ),
                        dbc.Col(
                            dbc.Input(id="new-portfolio-currency", value="USD", maxLength=3), md=2
                        ),
                        dbc.Col(dbc.Button("Create", id="create-portfolio-button"), md="auto"),
                        dbc.Col(
                            dbc.Button(
                                "Load demo portfolio", id="load-demo-button", color="secondary"
                            ),
                            md="auto",
                        ),
                    ],
                    className="g-2",
                ),
                html.Div(id="create-portfolio-feedback", className="mt-2"),
            ]
        ),
        id="empty-state",
    )


def _options(portfolios: list[PortfolioSummary]) -> list[dict]:
    return [{"label": portfolio.name, "value": portfolio.id} for portfolio in portfolios]


def _refresh_message(errors: dict[str, str]) -> str:
    if not errors:
        return "Prices refreshed."
    return f"Could not refresh {failures_by_reason(errors)}"
