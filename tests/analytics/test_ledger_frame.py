"""`ledger_frame`, the one builder of the ledger layout: the same frame from stored rows and from
rows not stored yet, with the same dtypes however many rows there are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import pandas as pd
import pytest

from dashapp.analytics.holdings import LEDGER_COLUMNS, ledger_frame, positions

DTYPES = {
    "id": "int64",
    "trade_date": "datetime64[ns]",
    "kind": "object",
    "ticker": "object",
    "quantity": "float64",
    "price": "float64",
    "fees": "float64",
}


class StoredRow(NamedTuple):
    """Shaped like a database row of the transactions table (fees may be NULL)."""

    id: int
    trade_date: date
    kind: str
    ticker: str | None
    quantity: float
    price: float
    fees: float | None


@dataclass(frozen=True)
class NewRow:
    """Shaped like a cleaned transaction not stored yet: no id of its own."""

    trade_date: date
    kind: str
    ticker: str | None
    quantity: float
    price: float
    fees: float


def test_ledger_frame_keeps_the_rows_and_states_its_dtypes():
    stored = StoredRow(7, date(2024, 1, 2), "DEPOSIT", None, 1.0, 1000.0, None)
    new = NewRow(date(2024, 1, 3), "BUY", "AAA", 2.0, 100.0, 1.5)
    frame = ledger_frame([(stored.id, stored), (8, new)])
    assert tuple(frame.columns) == LEDGER_COLUMNS
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == DTYPES
    assert frame["id"].tolist() == [7, 8]
    assert frame["trade_date"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert frame["kind"].tolist() == ["DEPOSIT", "BUY"]
    # A missing ticker stays None (an error message names it as such), missing fees are NaN.
    assert frame["ticker"].tolist() == [None, "AAA"]
    assert frame["quantity"].tolist() == [1.0, 2.0]
    assert frame["price"].tolist() == [1000.0, 100.0]
    assert pd.isna(frame["fees"].iloc[0])
    assert frame["fees"].iloc[1] == 1.5
    assert positions(frame).loc["AAA", "cost_basis"] == pytest.approx(201.5)  # 2 x 100 + 1.5


def test_empty_ledger_frame_has_the_same_dtypes():
    frame = ledger_frame([])
    assert frame.empty
    assert tuple(frame.columns) == LEDGER_COLUMNS
    assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == DTYPES
