"""Dashboard callbacks through Dash's HTTP endpoint, as the browser calls them."""

from __future__ import annotations

import json

import pytest

from dashapp import context_of, create_app
from dashapp.db.models import Transaction
from dashapp.services.dashboard_panels import benchmark_panel
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.portfolios import create_portfolio
from tests.dash_client import DashClient


class ExplodingProvider:
    """A provider that fails the test if anything asks it for data."""

    name = "demo"

    def __init__(self) -> None:
        self.calls = 0

    def history(self, *args, **kwargs):
        self.calls += 1
        raise AssertionError("the dashboard called the provider")

    def quotes(self, *args, **kwargs):
        self.calls += 1
        raise AssertionError("the dashboard called the provider")


def render(client: DashClient, portfolio_id: int | None) -> dict:
    return client.call(
        "dashboard-body.children",
        {
            "portfolio-select.value": portfolio_id,
            "refresh-button.n_clicks": None,
        },
        {"auto-refreshed.data": []},
        changed=["portfolio-select.value"],
    )


def text_of(component: object) -> str:
    return json.dumps(component)


def grid_rows(body: dict) -> list[dict]:
    """The holdings grid's row data inside a rendered dashboard body."""
    return component_props(body, "holdings-table")["rowData"]


def component_props(body: dict, component_id: str) -> dict:
    """The props of the one component with this id inside a rendered body."""
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == component_id:
                found.append(node["props"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body)
    [props] = found
    return props


@pytest.fixture
def warm_demo(settings, clock) -> int:
    seeding_app = create_app(settings, clock=clock)
    context = context_of(seeding_app)
    portfolio_id = seed_demo_portfolio(context)
    warm_demo_cache(context, portfolio_id)
    context.close()
    return portfolio_id


def test_dashboard_renders_from_cache_without_calling_the_provider(settings, clock, warm_demo):
    provider = ExplodingProvider()
    app = create_app(settings, clock=clock, provider=provider)
    client = DashClient(app)
    page = client.call("page-content.children", {"url.pathname": "/"})
    assert "Demo portfolio" in text_of(page)
    body = render(client, warm_demo)
    rows = grid_rows(body)
    assert {"AAPL", "NVDA", "KO", "SCHD", "BND"} <= {row["ticker"] for row in rows}
    assert len(rows) == 12
    assert {row["freshness"] for row in rows} == {"fresh"}
    nvda = next(row for row in rows if row["ticker"] == "NVDA")
    assert "as of 2024-12-04 21:00 UTC" in nvda["freshness_title"]
    assert nvda["market_value"] == nvda["quantity"] * nvda["price"]
    assert "refresh-slot" not in body  # nothing stale, so no refresh is asked for
    assert provider.calls == 0
    context_of(app).close()


def test_no_portfolios_offers_create_and_demo(app):
    client = DashClient(app)
    page = text_of(client.call("page-content.children", {"url.pathname": "/"}))
    assert "No portfolios yet" in page
    assert "load-demo-button" in page
    assert "create-portfolio-button" in page


def test_loading_the_demo_selects_it(app):
    client = DashClient(app)
    response = client.call(
        "portfolio-select.options",
        {"create-portfolio-button.n_clicks": None, "load-demo-button.n_clicks": 1},
        {"new-portfolio-name.value": None, "new-portfolio-currency.value": "USD"},
        changed=["load-demo-button.n_clicks"],
    )
    options = response["portfolio-select"]["options"]
    assert [option["label"] for option in options] == ["Demo portfolio"]
    assert response["portfolio-select"]["value"] == options[0]["value"]


def test_creating_a_portfolio_without_a_name_says_why_and_creates_nothing(app):
    client = DashClient(app)
    response = client.call(
        "portfolio-select.options",
        {"create-portfolio-button.n_clicks": 1, "load-demo-button.n_clicks": None},
        {"new-portfolio-name.value": "   ", "new-portfolio-currency.value": "USD"},
        changed=["create-portfolio-button.n_clicks"],
    )
    assert "a portfolio needs a name" in text_of(response["create-portfolio-feedback"])
    assert "portfolio-select" not in response
    assert app.server.test_client().get("/api/portfolios").get_json() == []


def test_empty_portfolio_says_so(app):
    portfolio = create_portfolio(context_of(app), "Fresh start")
    rendered = text_of(render(DashClient(app), portfolio.id))
    assert "no holdings yet" in rendered


def test_holding_without_price_shows_missing_badge_and_totals_exclude_it(app, warm_demo):
    context = context_of(app)
    with context.db.session() as session:
        session.add(
            Transaction(
                portfolio_id=warm_demo,
                trade_date=context.clock.now().date(),
                kind="BUY",
                ticker="NEWCO",
                quantity=10,
                price=5.0,
            )
        )
    body = render(DashClient(app), warm_demo)
    rendered = text_of(body["dashboard-body"]["children"])
    newco = next(row for row in grid_rows(body) if row["ticker"] == "NEWCO")
    assert newco["freshness"] == "missing"
    assert newco["price"] is None and newco["market_value"] is None and newco["weight"] is None
    assert "Totals exclude 1 holding(s) without a price: NEWCO" in rendered
    # The missing price asks the background refresh to try once.
    request = body["refresh-slot"]["children"][0]["props"]
    assert request["id"] == "refresh-request"
    assert request["data"] == {"portfolio_id": warm_demo, "manual": False}


def test_user_typed_names_reach_the_page_as_text(app):
    portfolio = create_portfolio(context_of(app), "<script>alert(1)</script>")
    body = render(DashClient(app), portfolio.id)
    header = body["dashboard-body"]["children"]["props"]["children"][0]
    # A string child of a Dash component is rendered by React as a text node, never as markup.
    assert header["props"]["children"][0] == "<script>alert(1)</script>"


def test_portfolio_that_tracks_cash_shows_a_cash_card(app):
    context = context_of(app)
    portfolio = create_portfolio(context, "With cash")
    day = context.clock.now().date()
    with context.db.session() as session:
        session.add_all(
            [
                Transaction(
                    portfolio_id=portfolio.id,
                    trade_date=day,
                    kind="DEPOSIT",
                    quantity=1,
                    price=1000.0,
                ),
                Transaction(
                    portfolio_id=portfolio.id,
                    trade_date=day,
                    kind="BUY",
                    ticker="SPY",
                    quantity=1,
                    price=600.0,
                    fees=1.0,
                ),
            ]
        )
    body = render(DashClient(app), portfolio.id)
    # In the cash card itself: 1,000 deposited - 600 - 1 fee.
    assert component_props(body, "card-cash")["children"] == "$399.00"


def opened_layout(app, referrer: str | None) -> dict:
    """The layout as the renderer fetches it from the page the browser opened."""
    headers = {"Referer": referrer} if referrer else {}
    response = app.server.test_client().get("/_dash-layout", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def test_layout_of_the_dashboard_address_carries_holdings_and_cached_charts(
    settings, clock, warm_demo
):
    provider = ExplodingProvider()
    app = create_app(settings, clock=clock, provider=provider)
    benchmark_panel(context_of(app), warm_demo, ("SPY",), "1Y")
    layout = opened_layout(app, "http://localhost/")
    rows = grid_rows(layout)
    assert len(rows) == 12 and {row["freshness"] for row in rows} == {"fresh"}
    rendered = text_of(layout)
    assert "card-market-value" in rendered
    # The charts travel in the same answer, cached ones drawn, and nothing asks for work.
    assert "Same money in SPY" in rendered
    assert '"id": "allocation-chart"' in rendered and '"id": "movers-chart"' in rendered
    assert "benchmark-request" not in rendered and "refresh-request" not in rendered
    assert provider.calls == 0
    context_of(app).close()


def test_layout_asks_background_work_only_for_what_the_cache_lacks(app, warm_demo):
    rendered = text_of(opened_layout(app, "http://localhost/"))
    assert "benchmark-request" in rendered  # no finished panel is cached yet
    assert "refresh-request" not in rendered  # every price is fresh


def test_layout_of_another_address_draws_that_page(app, warm_demo):
    rendered = text_of(opened_layout(app, "http://localhost/compare"))
    assert "compare-chart" in rendered
    assert "holdings-table" not in rendered


def test_layout_without_referrer_leaves_the_page_to_the_router(app, warm_demo):
    rendered = text_of(opened_layout(app, None))
    assert "holdings-table" not in rendered
    page = DashClient(app).call("page-content.children", {"url.pathname": "/"})
    assert grid_rows(page)


def index_page(app, path: str = "/") -> str:
    response = app.server.test_client().get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_dashboard_page_carries_its_holdings_before_the_renderer_starts(settings, clock, warm_demo):
    provider = ExplodingProvider()
    app = create_app(settings, clock=clock, provider=provider)
    page = index_page(app)
    first_paint, panels = page.index('id="first-paint"'), page.index('id="first-paint-panels"')
    assert first_paint < panels < page.index('id="react-entry-point"')
    assert page.count('class="holding-row"') == 12
    # Rows in the grid's order (market value, largest first), formatted as the grid formats them.
    nvda = page[page.index('<td class="fw-bold">NVDA</td>') :].split("</tr>")[0]
    assert ">300</td>" in nvda and "freshness-fresh" in nvda
    assert "as of 2024-12-04 21:00 UTC" in nvda
    assert page.index(">NVDA</td>") < page.index(">AAPL</td>")
    assert 'class="bar-row"' in page  # allocation and movers, as HTML bars
    assert provider.calls == 0
    context_of(app).close()


def test_first_paint_reuses_no_id_of_the_real_page(app, warm_demo):
    page = index_page(app)
    copy = page[page.index('<div id="first-paint"') : page.index('<div id="react-entry-point"')]
    ids = {part.split('"')[0] for part in copy.split(' id="')[1:]}
    assert ids == {"first-paint", "first-paint-panels"}
    # The hidden tree behind the copy takes no focus until the copy leaves.
    assert '<div id="react-entry-point" inert>' in page


def test_first_paint_escapes_what_the_user_typed(app):
    context = context_of(app)
    portfolio = create_portfolio(context, '<img src=x onerror="alert(1)">')
    with context.db.session() as session:
        session.add(
            Transaction(
                portfolio_id=portfolio.id,
                trade_date=context.clock.now().date(),
                kind="BUY",
                ticker="SPY",
                quantity=1,
                price=600.0,
                fees=0.0,
            )
        )
    page = index_page(app)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_other_addresses_and_empty_dashboards_have_no_first_paint(app):
    assert "first-paint" not in index_page(app)  # no portfolio: Dash draws the empty state
    seed_demo_portfolio(context_of(app))
    assert "first-paint" not in index_page(app, "/compare")


def test_a_failing_first_paint_leaves_the_page_to_the_renderer(app, warm_demo, monkeypatch, caplog):
    def unavailable(*args, **kwargs):
        raise OSError("database unavailable")

    monkeypatch.setattr("dashapp.ui.first_paint.dashboard_page", unavailable)
    page = index_page(app)
    assert "first-paint" not in page and 'id="react-entry-point"' in page
    assert "first paint failed" in caplog.text


def test_versioned_assets_are_kept_by_the_browser(client):
    with client.get("/assets/dashboard.css?m=1") as versioned:
        assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    with client.get("/assets/dashboard.css") as unversioned:
        assert "immutable" not in unversioned.headers.get("Cache-Control", "")
