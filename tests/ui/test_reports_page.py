"""The reports page's routes and its lot-method callback over Dash's HTTP endpoint."""

from __future__ import annotations

import json
from datetime import date

import pytest

from dashapp import context_of
from dashapp.services.demo import seed_demo_portfolio
from dashapp.services.portfolios import create_portfolio
from dashapp.services.reports import PeriodIncome, income_report
from dashapp.ui.reports import income_figure, portfolio_id_in
from tests.dash_client import DashClient


@pytest.fixture
def dash_client(app) -> DashClient:
    return DashClient(app)


def route(client: DashClient, path: str) -> str:
    return json.dumps(client.call("page-content.children", {"url.pathname": path}))


def test_demo_reports_page_draws_income_and_realized_years(app, dash_client):
    portfolio_id = seed_demo_portfolio(context_of(app))
    page = route(dash_client, f"/portfolios/{portfolio_id}/reports")
    for element in ("income-chart", "income-years", "income-holdings", "realized-2024"):
        assert f'"id": "{element}"' in page
    assert f"/api/portfolios/{portfolio_id}/realized.csv?method=fifo" in page
    assert f"/api/portfolios/{portfolio_id}/income.csv?by=month" in page
    assert "AAPL" in page and "short term" in page and "long term" in page
    ledger_page = route(dash_client, f"/portfolios/{portfolio_id}")
    assert f'"href": "/portfolios/{portfolio_id}/reports"' in ledger_page


def test_the_method_control_redraws_the_realized_gains(app, dash_client):
    portfolio_id = seed_demo_portfolio(context_of(app))
    answers = {}
    for method in ("fifo", "average"):
        answers[method] = dash_client.call(
            "realized-years.children",
            {"reports-method.value": method},
            {"reports-portfolio.data": portfolio_id},
        )
    fifo, average = answers["fifo"], answers["average"]
    assert ", FIFO (first in, first out)." in fifo["realized-total"]["children"]
    assert ", Average cost." in average["realized-total"]["children"]
    assert fifo["realized-total"]["children"] != average["realized-total"]["children"]
    assert average["realized-csv"]["href"].endswith("realized.csv?method=average")


def test_unknown_portfolio_and_the_index(app, dash_client):
    assert "This portfolio does not exist" in route(dash_client, "/portfolios/999/reports")
    assert "No portfolios yet" in route(dash_client, "/reports")
    portfolio_id = create_portfolio(context_of(app), "Quiet <script>").id
    index = route(dash_client, "/reports")
    assert f"/portfolios/{portfolio_id}/reports" in index
    empty = route(dash_client, f"/portfolios/{portfolio_id}/reports")
    assert "No sales recorded yet." in empty
    assert "No dividends recorded" in empty


def test_addresses_of_the_reports_page():
    assert portfolio_id_in("/portfolios/12/reports") == 12
    assert portfolio_id_in("/portfolios/12") is None
    assert portfolio_id_in("/portfolios/x/reports") is None
    assert portfolio_id_in("/portfolios/12/reports/more") is None


def test_chart_labels_are_escaped_and_months_stack(app_context):
    portfolio_id = create_portfolio(app_context, "Chart").id
    report = income_report(app_context, portfolio_id)
    crafted = type(report)(
        **{
            **vars(report),
            "by_month": (
                PeriodIncome("2024-01", 3.0, {"<b>X</b>": 1.0, "KO": 2.0}),
                PeriodIncome("2024-03", 4.0, {"KO": 4.0}),
            ),
        }
    )
    figure = income_figure(crafted)
    names = [trace.name for trace in figure.data]
    assert names == ["&lt;b&gt;X&lt;/b&gt;", "KO"]
    assert figure.layout.barmode == "stack"
    assert list(figure.data[1].x) == ["2024-01-01", "2024-03-01"]
    assert list(figure.data[1].y) == [2.0, 4.0]
    assert list(figure.data[0].y) == [1.0, 0.0]
    assert report.as_of == date(2024, 12, 4)
