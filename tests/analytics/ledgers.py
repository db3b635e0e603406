"""Small hand-written ledgers for the analytics tests."""

from __future__ import annotations

import pandas as pd


def ledger(*rows: tuple) -> pd.DataFrame:
    """Rows of (date, kind, ticker, quantity, price, fees); ids follow the order given."""
    frame = pd.DataFrame(
        rows, columns=["trade_date", "kind", "ticker", "quantity", "price", "fees"]
    )
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    frame.insert(0, "id", range(1, len(frame) + 1))
    return frame
