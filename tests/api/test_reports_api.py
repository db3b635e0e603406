"""The income and realized-gains API as a script would use it: JSON shapes, CSV files, and
400 naming the field or 404, never a 500."""

from __future__ import annotations

import pytest

from dashapp import context_of
from dashapp.services.demo import seed_demo_portfolio
from dashapp.services.portfolios import create_portfolio
from dashapp.services.transactions import TransactionDraft, add_transaction


@pytest.fixture
def portfolio_id(app) -> int:
    context = context_of(app)
    portfolio = create_portfolio(context, "API reports")
    for draft in (
        TransactionDraft("2023-03-01", "BUY", "KO", "10", "60", "1"),  # lot 601
        TransactionDraft("2023-09-01", "BUY", "KO", "10", "62", "1"),  # lot 621
        TransactionDraft("2023-10-02", "DIVIDEND", "KO", "20", "0.46"),  # 9.20
        TransactionDraft("2024-04-01", "DIVIDEND", "KO", "20", "0.485", "0.2"),  # 9.50
        TransactionDraft("2024-06-03", "SELL", "KO", "16", "70", "2"),  # proceeds 1,118
    ):
        add_transaction(context, portfolio.id, draft)
    return portfolio.id


def test_income_by_month_year_and_holding(client, portfolio_id):
    by_month = client.get(f"/api/portfolios/{portfolio_id}/income?by=month").get_json()
    assert by_month["currency"] == "USD"
    assert by_month["total"] == pytest.approx(18.7)
    assert by_month["rows"] == [
        {"month": "2023-10", "amount": pytest.approx(9.2), "holdings": {"KO": pytest.approx(9.2)}},
        {"month": "2024-04", "amount": pytest.approx(9.5), "holdings": {"KO": pytest.approx(9.5)}},
    ]
    assert by_month["forward_estimate"]["estimate"] is True
    assert by_month["ttm"] == pytest.approx(9.5)  # 2023-10-02 is over a year before 2024-12-04
    by_year = client.get(f"/api/portfolios/{portfolio_id}/income?by=year").get_json()
    assert [(row["year"], round(row["amount"], 2)) for row in by_year["rows"]] == [
        ("2023", 9.2),
        ("2024", 9.5),
    ]
    by_holding = client.get(f"/api/portfolios/{portfolio_id}/income?by=holding").get_json()
    assert [row["ticker"] for row in by_holding["rows"]] == ["KO"]
    assert set(by_holding["rows"][0]) == {
        "ticker",
        "amount",
        "ttm",
        "forward_estimate",
        "yield_on_cost",
        "current_yield",
    }
    assert by_holding["rows"][0]["current_yield"] is None  # no price cached: null, not 0


def test_realized_lists_each_sale_and_lot(client, portfolio_id):
    body = client.get(f"/api/portfolios/{portfolio_id}/realized?method=fifo").get_json()
    assert body["currency"] == "USD"
    assert body["method"] == "fifo"
    assert body["total"] == pytest.approx(144.4)  # 97.75 + 46.65, as in the service test
    sale = body["sales"][0]
    assert {k: sale[k] for k in ("date", "ticker", "quantity", "holding_days", "term")} == {
        "date": "2024-06-03",
        "ticker": "KO",
        "quantity": 10.0,
        "holding_days": 460,
        "term": "long",
    }
    assert (sale["proceeds"], sale["cost"], sale["gain"]) == pytest.approx((698.75, 601.0, 97.75))
    assert len(body["sales"]) == 2
    average = client.get(f"/api/portfolios/{portfolio_id}/realized?method=average&year=2024")
    assert average.get_json()["total"] == pytest.approx(140.4)
    assert average.get_json()["year"] == 2024
    none = client.get(f"/api/portfolios/{portfolio_id}/realized?year=2023").get_json()
    assert (none["total"], none["sales"], none["method"]) == (0.0, [], "fifo")


def test_csv_exports_download_as_files(client, portfolio_id):
    income = client.get(f"/api/portfolios/{portfolio_id}/income.csv?by=year")
    assert income.status_code == 200
    assert income.mimetype == "text/csv"
    assert income.headers["Content-Disposition"] == (
        f'attachment; filename="portfolio-{portfolio_id}-income-by-year.csv"'
    )
    assert income.get_data(as_text=True) == "year,amount,currency\n2023,9.20,USD\n2024,9.50,USD\n"
    realized = client.get(f"/api/portfolios/{portfolio_id}/realized.csv?method=average")
    lines = realized.get_data(as_text=True).splitlines()
    assert lines[0].startswith("date,ticker,acquired,quantity,proceeds,cost,gain")
    assert lines[1] == "2024-06-03,KO,2023-03-01,10,698.75,611.00,87.75,460,long,average,USD"
    assert "realized-average.csv" in realized.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("realized?method=lifo", "method"),
        ("realized?year=24", "year"),
        ("realized?year=2031", "year"),
        ("realized.csv?method=hifo", "method"),
        ("income?by=week", "by"),
        ("income.csv?by=quarter", "by"),
    ],
)
def test_bad_parameters_answer_400_with_the_field(client, portfolio_id, query, field):
    response = client.get(f"/api/portfolios/{portfolio_id}/{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == field
    assert body["error"].startswith(f"{field}: ")


@pytest.mark.parametrize("path", ["income", "realized", "income.csv", "realized.csv"])
def test_unknown_portfolio_answers_404_json(client, path):
    response = client.get(f"/api/portfolios/4242/{path}")
    assert response.status_code == 404
    assert response.get_json() == {"error": "portfolio 4242 does not exist"}
    bad_id = client.get(f"/api/portfolios/abc/{path}")
    assert bad_id.status_code == 400
    assert bad_id.get_json()["field"] == "id"


def test_demo_income_total_equals_its_dividend_rows_to_the_cent(app, client):
    portfolio_id = seed_demo_portfolio(context_of(app))
    ledger = client.get(f"/api/portfolios/{portfolio_id}/transactions").get_json()
    by_rows = sum(
        row["quantity"] * row["price"] - row["fees"] for row in ledger if row["kind"] == "DIVIDEND"
    )
    body = client.get(f"/api/portfolios/{portfolio_id}/income?by=year").get_json()
    assert round(body["total"], 2) == round(by_rows, 2)
    assert len(body["rows"]) >= 5
    realized = client.get(f"/api/portfolios/{portfolio_id}/realized").get_json()
    assert [sale["ticker"] for sale in realized["sales"]] == ["JNJ", "AAPL", "AAPL"]
