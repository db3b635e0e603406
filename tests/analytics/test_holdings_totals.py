"""Portfolio totals at their edges: everything closed, one holding priced, tiny and zero cost
bases, and which ledgers track cash (issue 17). Numbers are worked out in the comments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashapp.analytics.holdings import (
    InvalidTransaction,
    cash_balance,
    portfolio_totals,
    positions,
    tracks_cash,
    valuation,
)
from tests.analytics.ledgers import ledger

NO_PRICES = pd.Series(dtype="float64")

ALL_CLOSED = ledger(
    ("2024-01-02", "BUY", "AAA", 10, 100.0, 1.0),  # basis 1,001
    ("2024-02-01", "DIVIDEND", "AAA", 10, 0.5, 0.0),  # 5
    ("2024-02-15", "FEE", "AAA", 1, 2.0, 0.0),  # an ADR fee of 2
    ("2024-03-01", "SELL", "AAA", 10, 120.0, 1.0),  # 1,200 - 1 - 1,001 = 198
    ("2024-01-02", "BUY", "BBB", 4, 50.0, 0.0),
    ("2024-04-01", "SELL", "BBB", 4, 45.0, 0.0),  # 180 - 200 = -20
)


def test_totals_with_every_position_closed_and_no_prices():
    totals = portfolio_totals(valuation(positions(ALL_CLOSED), NO_PRICES, NO_PRICES))
    # Nothing open: nothing unrealized; the gain is what was settled: 198 - 20 + 5 - 2 = 181.
    assert totals["total_gain"] == pytest.approx(181.0)
    assert totals["realized_gain"] == pytest.approx(178.0)
    assert totals["dividends"] == pytest.approx(5.0)
    assert totals["fees"] == pytest.approx(4.0)  # 1 + 1 trade fees, 2 other
    for key in ("market_value", "day_change", "cost_basis", "unrealized_gain"):
        assert np.isnan(totals[key]), key
    assert (totals["priced_count"], totals["missing_count"], totals["missing_tickers"]) == (
        0,
        0,
        [],
    )


def test_totals_with_every_position_closed_and_still_priced():
    prices = pd.Series({"AAA": 130.0, "BBB": 40.0})
    totals = portfolio_totals(valuation(positions(ALL_CLOSED), prices, prices))
    assert totals["market_value"] == 0.0
    assert totals["cost_basis"] == 0.0
    assert totals["total_gain"] == pytest.approx(181.0)


def test_totals_with_only_one_holding_priced():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
        ("2024-01-02", "BUY", "BBB", 5, 100.0, 0.0),
        ("2024-01-03", "FEE", "BBB", 1, 3.0, 0.0),
    )
    valued = valuation(
        positions(transactions), pd.Series({"AAA": 110.0}), pd.Series({"AAA": 100.0})
    )
    totals = portfolio_totals(valued)
    assert totals["market_value"] == pytest.approx(1100.0)
    assert totals["day_change"] == pytest.approx(100.0)
    assert totals["cost_basis"] == pytest.approx(1000.0)  # BBB's 500 is not priced
    assert totals["unrealized_gain"] == pytest.approx(100.0)
    assert totals["total_gain"] == pytest.approx(97.0)  # 100 - BBB's fee of 3
    assert totals["fees"] == pytest.approx(3.0)
    assert (totals["priced_count"], totals["missing_count"]) == (1, 1)
    assert totals["missing_tickers"] == ["BBB"]
    assert valued.loc["AAA", "weight"] == 1.0
    assert np.isnan(valued.loc["BBB", "weight"])


def test_a_holding_worth_less_than_one_still_has_a_weight_and_a_gain_percentage():
    transactions = ledger(("2024-01-02", "BUY", "PNY", 10, 0.05, 0.0))  # basis 0.50
    valued = valuation(positions(transactions), pd.Series({"PNY": 0.04}), NO_PRICES)
    assert valued.loc["PNY", "market_value"] == pytest.approx(0.4)
    assert valued.loc["PNY", "weight"] == pytest.approx(1.0)
    assert valued.loc["PNY", "unrealized_gain_pct"] == pytest.approx(-0.2)


def test_free_shares_have_no_gain_percentage():
    transactions = ledger(("2024-01-02", "BUY", "SPIN", 3, 0.0, 0.0))  # a spin-off
    valued = valuation(positions(transactions), pd.Series({"SPIN": 12.0}), NO_PRICES)
    assert valued.loc["SPIN", "unrealized_gain"] == pytest.approx(36.0)
    assert np.isnan(valued.loc["SPIN", "unrealized_gain_pct"])


def test_a_ledger_tracks_cash_once_it_has_a_deposit_or_a_withdrawal():
    trades = ledger(("2024-01-02", "BUY", "AAA", 1, 10.0, 0.0))
    assert tracks_cash(trades) is False
    deposit = ledger(
        ("2024-01-02", "DEPOSIT", None, 1, 100.0, 0.0), ("2024-01-02", "BUY", "AAA", 1, 10.0, 0.0)
    )
    assert tracks_cash(deposit) is True
    assert cash_balance(deposit) == pytest.approx(90.0)
    withdrawal = ledger(
        ("2024-01-02", "BUY", "AAA", 1, 10.0, 0.0), ("2024-01-03", "WITHDRAWAL", None, 1, 5.0, 0.0)
    )
    assert tracks_cash(withdrawal) is True


def test_an_invalid_row_says_which_row_and_column_in_its_message():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0), ("2024-01-03", "BUY", "AAA", 5, -1.0, 0.0)
    )
    with pytest.raises(InvalidTransaction) as raised:
        positions(transactions)
    assert str(raised.value) == "row 2, price: must not be negative"
    assert (raised.value.row, raised.value.column) == (2, "price")


def test_positions_are_indexed_by_ticker_even_when_there_are_none():
    held = positions(ledger(("2024-01-02", "BUY", "AAA", 1, 10.0, 0.0)))
    assert held.index.name == "ticker"
    assert held.index.tolist() == ["AAA"]
    empty = positions(ledger(("2024-01-02", "DEPOSIT", None, 1, 100.0, 0.0)))
    assert empty.index.name == "ticker"
    assert empty.empty and list(empty.columns) == [
        "shares",
        "cost_basis",
        "average_cost",
        "realized_gain",
        "dividends",
        "fees",
        "other_fees",
    ]
    assert isinstance(empty.index, pd.Index) and not isinstance(empty.index, pd.RangeIndex)


def test_a_sell_may_overshoot_by_a_billionth_of_the_holding_and_no_more():
    # 1 share held: the tolerance is 1e-9 x max(1, shares) = 1e-9.
    small = ledger(
        ("2024-01-02", "BUY", "AAA", 1, 10.0, 0.0),
        ("2024-01-03", "SELL", "AAA", 1.0000000015, 10.0, 0.0),
    )
    with pytest.raises(InvalidTransaction, match="row 2, quantity"):
        positions(small)
    dust = ledger(
        ("2024-01-02", "BUY", "AAA", 1, 10.0, 0.0),
        ("2024-01-03", "SELL", "AAA", 1.0000000005, 10.0, 0.0),
    )
    assert positions(dust).loc["AAA", "shares"] == 0.0
    # 1e9 shares: the tolerance is exactly 1 share, and selling exactly that much more is dust.
    edge = ledger(
        ("2024-01-02", "BUY", "AAA", 1e9, 1.0, 0.0),
        ("2024-01-03", "SELL", "AAA", 1e9 + 1, 1.0, 0.0),
    )
    assert positions(edge).loc["AAA", "shares"] == 0.0


def test_a_sell_leaving_exactly_the_tolerance_closes_and_a_hair_more_stays_open():
    # 1e9 shares: the tolerance is 1e-9 x 1e9 = 1 share. Selling 1e9 - 1 leaves exactly 1 share:
    # dust, so the position closes ("at most", inclusive like the forgiven oversell above).
    exactly = ledger(
        ("2024-01-02", "BUY", "AAA", 1e9, 1.0, 0.0),
        ("2024-01-03", "SELL", "AAA", 1e9 - 1, 1.0, 0.0),
    )
    assert positions(exactly).loc["AAA", "shares"] == 0.0
    # Selling 999,999,998.9999999 leaves 1.0000001 shares (to float precision at 1e9): more than
    # the tolerance, so it is a holding.
    more = ledger(
        ("2024-01-02", "BUY", "AAA", 1e9, 1.0, 0.0),
        ("2024-01-03", "SELL", "AAA", 999_999_998.9999999, 1.0, 0.0),
    )
    assert positions(more).loc["AAA", "shares"] == pytest.approx(1.0000001, rel=1e-6)


def test_selling_before_any_buy_says_none_are_held():
    transactions = ledger(
        ("2024-01-03", "BUY", "AAA", 10, 100.0, 0.0), ("2024-01-02", "SELL", "AAA", 2, 100.0, 0.0)
    )
    with pytest.raises(InvalidTransaction) as raised:
        positions(transactions)
    assert str(raised.value) == "row 2, quantity: sells 2 AAA but only 0 are held"


def test_of_two_oversells_the_earlier_in_the_ledger_is_named_whatever_its_ticker():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 1, 10.0, 0.0),
        ("2024-01-02", "BUY", "ZZZ", 1, 10.0, 0.0),
        ("2024-01-03", "SELL", "ZZZ", 5, 10.0, 0.0),  # the first oversell, of the later ticker
        ("2024-01-04", "SELL", "AAA", 5, 10.0, 0.0),
    )
    with pytest.raises(InvalidTransaction) as raised:
        positions(transactions)
    assert raised.value.row == 3
    assert "sells 5 ZZZ but only 1 are held" in str(raised.value)
