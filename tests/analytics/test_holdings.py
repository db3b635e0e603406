"""Holdings math on hand-checked ledgers, plus a property test against a plain loop."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashapp.analytics.holdings import (
    InvalidTransaction,
    cash_balance,
    open_positions,
    portfolio_totals,
    positions,
    valuation,
)


def ledger(*rows: tuple) -> pd.DataFrame:
    """Rows of (date, kind, ticker, quantity, price, fees); ids follow the order given."""
    frame = pd.DataFrame(
        rows, columns=["trade_date", "kind", "ticker", "quantity", "price", "fees"]
    )
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    frame.insert(0, "id", range(1, len(frame) + 1))
    return frame


def test_average_cost_through_two_buys_includes_fees():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10, 100.0, 5.0),  # cost 1,005
            ("2024-02-01", "BUY", "AAA", 10, 120.0, 5.0),  # cost 1,205
        )
    ).loc["AAA"]
    assert held["shares"] == 20
    assert held["cost_basis"] == pytest.approx(2210.0)
    assert held["average_cost"] == pytest.approx(110.5)


def test_partial_sell_realizes_gain_at_average_cost_and_keeps_it():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
            ("2024-02-01", "BUY", "AAA", 10, 120.0, 0.0),  # average 110
            ("2024-03-01", "SELL", "AAA", 5, 150.0, 2.0),  # 750 - 2 - 5 * 110 = 198
        )
    ).loc["AAA"]
    assert held["shares"] == 15
    assert held["realized_gain"] == pytest.approx(198.0)
    assert held["average_cost"] == pytest.approx(110.0)
    assert held["cost_basis"] == pytest.approx(1650.0)


def test_selling_out_and_buying_back_starts_a_new_basis():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
            ("2024-02-01", "SELL", "AAA", 10, 130.0, 0.0),  # realized 300
            ("2024-03-01", "BUY", "AAA", 4, 90.0, 0.0),
        )
    ).loc["AAA"]
    assert held["shares"] == 4
    assert held["cost_basis"] == pytest.approx(360.0)
    assert held["average_cost"] == pytest.approx(90.0)
    assert held["realized_gain"] == pytest.approx(300.0)


def test_split_multiplies_shares_divides_average_cost_and_keeps_value():
    transactions = ledger(
        ("2020-01-02", "BUY", "AAPL", 10, 400.0, 0.0),
        ("2020-08-31", "SPLIT", "AAPL", 4, 0.0, 0.0),
    )
    held = positions(transactions).loc["AAPL"]
    assert held["shares"] == 40
    assert held["cost_basis"] == pytest.approx(4000.0)
    assert held["average_cost"] == pytest.approx(100.0)
    before = positions(transactions.iloc[:1]).loc["AAPL"]
    # 10 shares at 500 before the split are worth what 40 shares at 125 are after it.
    assert before["shares"] * 500.0 == held["shares"] * 125.0


def test_sell_after_split_uses_post_split_average():
    held = positions(
        ledger(
            ("2020-01-02", "BUY", "AAPL", 10, 400.0, 0.0),
            ("2020-08-31", "SPLIT", "AAPL", 4, 0.0, 0.0),
            ("2021-01-04", "SELL", "AAPL", 20, 130.0, 0.0),  # 2,600 - 20 * 100 = 600
        )
    ).loc["AAPL"]
    assert held["shares"] == 20
    assert held["realized_gain"] == pytest.approx(600.0)
    assert held["average_cost"] == pytest.approx(100.0)


def test_dividends_accumulate_as_cash_income():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "KO", 100, 60.0, 0.0),
            ("2024-03-01", "DIVIDEND", "KO", 100, 0.485, 0.0),
            ("2024-06-03", "DIVIDEND", "KO", 100, 0.485, 1.0),
        )
    ).loc["KO"]
    assert held["dividends"] == pytest.approx(96.0)
    assert held["cost_basis"] == pytest.approx(6000.0)


def test_overselling_names_the_row():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
        ("2024-02-01", "SELL", "AAA", 11, 120.0, 0.0),
    )
    with pytest.raises(InvalidTransaction) as raised:
        positions(transactions)
    assert raised.value.row == 2
    assert raised.value.column == "quantity"
    assert "only 10 are held" in raised.value.reason


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (("2024-01-02", "BUY", "AAA", 0, 100.0, 0.0), "quantity"),
        (("2024-01-02", "BUY", "AAA", 1, -1.0, 0.0), "price"),
        (("2024-01-02", "SPLIT", "AAA", 0, 0.0, 0.0), "quantity"),
        (("2024-01-02", "GIFT", "AAA", 1, 1.0, 0.0), "kind"),
        (("2024-01-02", "BUY", "AAA", 1, 1.0, -3.0), "fees"),
    ],
)
def test_impossible_rows_are_rejected_by_column(row, column):
    with pytest.raises(InvalidTransaction) as raised:
        positions(ledger(row))
    assert raised.value.column == column


def test_valuation_keeps_missing_prices_missing_and_weights_priced_holdings():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
            ("2024-01-02", "BUY", "BBB", 5, 200.0, 0.0),
            ("2024-01-02", "BUY", "NEW", 1, 10.0, 0.0),
        )
    )
    prices = pd.Series({"AAA": 110.0, "BBB": 190.0})
    previous = pd.Series({"AAA": 100.0, "BBB": 200.0})
    valued = valuation(held, prices, previous)
    assert valued.loc["AAA", "market_value"] == pytest.approx(1100.0)
    assert valued.loc["AAA", "day_change"] == pytest.approx(100.0)
    assert valued.loc["BBB", "unrealized_gain"] == pytest.approx(-50.0)
    assert np.isnan(valued.loc["NEW", "market_value"])
    assert np.isnan(valued.loc["NEW", "weight"])
    assert valued.loc["AAA", "weight"] == pytest.approx(1100.0 / 2050.0)
    assert valued["weight"].sum() == pytest.approx(1.0)
    totals = portfolio_totals(valued)
    assert totals["market_value"] == pytest.approx(2050.0)
    assert totals["missing_tickers"] == ["NEW"]
    assert totals["priced_count"] == 2


def test_totals_are_unknown_when_nothing_is_priced():
    held = positions(ledger(("2024-01-02", "BUY", "NEW", 1, 10.0, 0.0)))
    totals = portfolio_totals(valuation(held, pd.Series(dtype=float), pd.Series(dtype=float)))
    assert math.isnan(totals["market_value"])
    assert math.isnan(totals["total_gain"])


def test_closed_positions_count_realized_gain_in_totals():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
            ("2024-02-01", "SELL", "AAA", 10, 110.0, 0.0),
            ("2024-01-02", "BUY", "BBB", 1, 50.0, 0.0),
        )
    )
    assert list(open_positions(held).index) == ["BBB"]
    totals = portfolio_totals(valuation(held, pd.Series({"BBB": 60.0}), pd.Series({"BBB": 60.0})))
    assert totals["total_gain"] == pytest.approx(100.0 + 10.0)


def test_cash_balance_follows_the_stated_rule():
    transactions = ledger(
        ("2024-01-02", "DEPOSIT", None, 1, 5000.0, 0.0),
        ("2024-01-03", "BUY", "AAA", 10, 100.0, 5.0),
        ("2024-02-01", "SELL", "AAA", 5, 120.0, 5.0),
        ("2024-03-01", "DIVIDEND", "AAA", 5, 1.0, 0.0),
        ("2024-04-01", "WITHDRAWAL", None, 1, 1000.0, 0.0),
    )
    assert cash_balance(transactions) == pytest.approx(5000 - 1005 + 595 + 5 - 1000)


def reference_positions(trades: list[tuple[str, float, float]]) -> tuple[float, float, float]:
    """A plain loop over (kind, quantity, price): shares, cost basis, realized gain."""
    shares = basis = realized = 0.0
    for kind, quantity, price in trades:
        if kind == "BUY":
            shares += quantity
            basis += quantity * price
        elif kind == "SPLIT":
            shares *= quantity
        else:
            removed = basis * quantity / shares
            realized += quantity * price - removed
            basis -= removed
            shares -= quantity
            if abs(shares) < 1e-9:
                shares, basis = 0.0, 0.0
    return shares, basis, realized


@st.composite
def trade_sequences(draw) -> list[tuple[str, float, float]]:
    trades, shares = [], 0.0
    for _ in range(draw(st.integers(1, 25))):
        price = draw(st.floats(1.0, 1000.0))
        choice = draw(st.sampled_from(["BUY", "SELL", "SELLOUT", "SPLIT"]))
        if choice == "SPLIT" and shares > 0:
            ratio = draw(st.sampled_from([2.0, 3.0, 4.0, 0.5]))
            trades.append(("SPLIT", ratio, 0.0))
            shares *= ratio
        elif choice in ("SELL", "SELLOUT") and shares > 0:
            quantity = shares if choice == "SELLOUT" else draw(st.floats(0.01, 1.0)) * shares
            trades.append(("SELL", quantity, price))
            shares -= quantity
            # Float dust below the ledger's epsilon is no position to sell from.
            shares = 0.0 if shares < 1e-6 else shares
        else:
            quantity = draw(st.floats(0.1, 500.0))
            trades.append(("BUY", quantity, price))
            shares += quantity
    return trades


@settings(max_examples=200, deadline=None)
@given(trade_sequences())
def test_vectorised_positions_match_a_plain_loop(trades):
    transactions = ledger(
        *[
            (pd.Timestamp("2020-01-01") + pd.Timedelta(days=i), kind, "AAA", q, p, 0.0)
            for i, (kind, q, p) in enumerate(trades)
        ]
    )
    shares, basis, realized = reference_positions(trades)
    held = positions(transactions).loc["AAA"]
    assert held["shares"] == pytest.approx(shares, rel=1e-9, abs=1e-6)
    assert held["cost_basis"] == pytest.approx(basis, rel=1e-6, abs=1e-6)
    assert held["realized_gain"] == pytest.approx(realized, rel=1e-6, abs=1e-4)
