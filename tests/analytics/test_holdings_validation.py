"""Every ledger convention that holdings refuses, with the column and the words a person reads
(issue 17: the messages are what the ledger page and the import show at the field at fault)."""

from __future__ import annotations

import numpy as np
import pytest

from dashapp.analytics.holdings import InvalidTransaction, positions
from tests.analytics.ledgers import ledger

GOOD_BUY = ("2024-01-02", "BUY", "AAA", 10.0, 100.0, 1.0)


@pytest.mark.parametrize(
    ("bad_row", "column", "reason"),
    [
        (("2024-02-01", "GIFT", "AAA", 1.0, 1.0, 0.0), "kind", "unknown transaction type"),
        ((None, "BUY", "AAA", 1.0, 1.0, 0.0), "trade_date", "missing"),
        (
            ("2024-02-01", "SELL", None, 1.0, 1.0, 0.0),
            "ticker",
            "BUY, SELL, SPLIT and DIVIDEND need one",
        ),
        (("2024-02-01", "BUY", "AAA", np.nan, 1.0, 0.0), "quantity", "must be a number"),
        (("2024-02-01", "DEPOSIT", None, np.inf, 1.0, 0.0), "quantity", "must be a number"),
        (("2024-02-01", "SPLIT", "AAA", 0.0, 0.0, 0.0), "quantity", "split ratio must be positive"),
        (("2024-02-01", "BUY", "AAA", 0.0, 1.0, 0.0), "quantity", "must be positive"),
        (("2024-02-01", "DEPOSIT", None, -1.0, 1.0, 0.0), "quantity", "must not be negative"),
        (("2024-02-01", "BUY", "AAA", 1.0, np.nan, 0.0), "price", "must be a number"),
        (("2024-02-01", "BUY", "AAA", 1.0, -1.0, 0.0), "price", "must not be negative"),
        (("2024-02-01", "BUY", "AAA", 1.0, 1.0, np.inf), "fees", "must be a number"),
        (("2024-02-01", "BUY", "AAA", 1.0, 1.0, -0.5), "fees", "must not be negative"),
        (("2024-02-01", "SPLIT", "AAA", 2.0, 0.0, 1.0), "fees", "a SPLIT has none; record a FEE"),
    ],
)
def test_each_broken_convention_names_its_row_column_and_reason(bad_row, column, reason):
    with pytest.raises(InvalidTransaction) as refused:
        positions(ledger(GOOD_BUY, bad_row))
    assert (refused.value.row, refused.value.column, refused.value.reason) == (2, column, reason)
    assert str(refused.value) == f"row 2, {column}: {reason}"


def test_a_split_without_a_price_is_valid_and_missing_fees_count_as_none():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10.0, 100.0, None),
            ("2024-02-01", "SPLIT", "AAA", 2.0, np.nan, 0.0),
        )
    )
    assert held.loc["AAA", "shares"] == 20.0
    # Missing fees are no fees: the basis is 10 x 100 exactly, not 10 x 100 + 1.
    assert held.loc["AAA", "cost_basis"] == 1000.0
