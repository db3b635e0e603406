"""The holdings endpoint's pydantic models stay in step with the service's TypedDicts they
describe: a key added to one side only fails here, not in a client."""

from __future__ import annotations

from dashapp.api.models import Holding, Totals
from dashapp.services.portfolios import HOLDING_COLUMNS, HoldingsTotals

# Columns of the dashboard's holdings table that the API does not send.
NOT_SENT = {"cost_basis", "day_change", "day_change_pct", "unrealized_gain_pct"}


def test_totals_model_has_the_keys_of_holdings_totals():
    assert set(Totals.model_fields) == set(HoldingsTotals.__annotations__)


def test_holding_model_is_a_holding_row_less_the_columns_not_sent():
    assert set(HOLDING_COLUMNS) >= NOT_SENT
    assert set(Holding.model_fields) == set(HOLDING_COLUMNS) - NOT_SENT
