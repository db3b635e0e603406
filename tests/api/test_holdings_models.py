"""The holdings endpoint's pydantic models stay in step with the service's TypedDicts they
describe: a key added to one side only fails here, not in a client."""

from __future__ import annotations

from dashapp import context_of
from dashapp.api.models import Holding, Totals
from dashapp.db.models import Transaction
from dashapp.services.portfolios import HOLDING_COLUMNS, HoldingsTotals, create_portfolio

# Columns of the dashboard's holdings table that the API does not send.
NOT_SENT = {"cost_basis", "day_change", "day_change_pct", "unrealized_gain_pct"}


def test_totals_model_has_the_keys_of_holdings_totals():
    assert set(Totals.model_fields) == set(HoldingsTotals.__annotations__)


def test_holding_model_is_a_holding_row_less_the_columns_not_sent():
    assert set(HOLDING_COLUMNS) >= NOT_SENT
    assert set(Holding.model_fields) == set(HOLDING_COLUMNS) - NOT_SENT


def test_holdings_response_sends_exactly_the_models_fields(client, app):
    context = context_of(app)
    portfolio = create_portfolio(context, "Keys")
    with context.db.session() as session:
        session.add(
            Transaction(
                portfolio_id=portfolio.id,
                trade_date=context.clock.now().date(),
                kind="BUY",
                ticker="NEWCO",
                quantity=10,
                price=5.0,
                fees=0.0,
            )
        )
    body = client.get(f"/api/portfolios/{portfolio.id}/holdings").get_json()
    [holding] = body["holdings"]
    # Flask sorts a body's keys, so the names are compared, not their order.
    assert set(holding) == set(Holding.model_fields)
    assert set(body["totals"]) == set(Totals.model_fields)
