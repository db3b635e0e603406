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
    running_shares,
    valuation,
)
from tests.analytics.ledgers import ledger


def test_average_cost_through_two_buys_includes_fees():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10, 100.0, 5.0),  # cost 1,005
            ("2024-02-01", "BUY", "AAA", 10, 120.0, 5.0),  # cost 1,205
        )
    ).loc["AAA"]
    assert held["shares"] == 20
    assert held["cost_basis"] == pytest.approx(2210.0)  # 1,005 + 1,205
    assert held["average_cost"] == pytest.approx(110.5)  # 2,210 / 20
    assert held["fees"] == pytest.approx(10.0)
    assert held["other_fees"] == 0.0


def test_partial_sell_realizes_gain_at_average_cost_and_keeps_it():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
            ("2024-02-01", "BUY", "AAA", 10, 120.0, 0.0),  # basis 2,200, average 110
            ("2024-03-01", "SELL", "AAA", 5, 150.0, 2.0),  # 750 - 2 - 5 * 110 = 198
        )
    ).loc["AAA"]
    assert held["shares"] == 15
    assert held["realized_gain"] == pytest.approx(198.0)
    assert held["cost_basis"] == pytest.approx(1650.0)  # 2,200 - 550
    assert held["average_cost"] == pytest.approx(110.0)


def test_selling_out_and_buying_back_starts_a_new_basis():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
        ("2024-02-01", "SELL", "AAA", 10, 130.0, 0.0),  # realized 1,300 - 1,000 = 300
        ("2024-03-01", "BUY", "AAA", 4, 90.0, 0.0),  # a new basis of 360, not 1,000 + 360
    )
    closed = positions(transactions.iloc[:2]).loc["AAA"]
    assert closed["shares"] == 0.0
    assert closed["cost_basis"] == 0.0
    assert math.isnan(closed["average_cost"])
    held = positions(transactions).loc["AAA"]
    assert held["shares"] == 4
    assert held["cost_basis"] == pytest.approx(360.0)
    assert held["average_cost"] == pytest.approx(90.0)
    assert held["realized_gain"] == pytest.approx(300.0)


def test_split_keeps_cost_basis_and_value_continuous():
    transactions = ledger(
        ("2020-01-02", "BUY", "AAPL", 10, 400.0, 0.0),
        ("2020-08-31", "SPLIT", "AAPL", 4, 0.0, 0.0),
    )
    before = positions(transactions.iloc[:1])
    after = positions(transactions)
    assert after.loc["AAPL", "shares"] == 40  # 10 * 4
    assert after.loc["AAPL", "cost_basis"] == pytest.approx(4000.0)  # unchanged
    assert after.loc["AAPL", "average_cost"] == pytest.approx(100.0)  # 400 / 4
    # The close before the split was 500; the same holding quoted after it is 500 / 4 = 125.
    value_before = valuation(before, pd.Series({"AAPL": 500.0}), pd.Series({"AAPL": 500.0}))
    value_after = valuation(after, pd.Series({"AAPL": 125.0}), pd.Series({"AAPL": 125.0}))
    assert value_before.loc["AAPL", "market_value"] == 5000.0
    assert value_after.loc["AAPL", "market_value"] == 5000.0
    assert value_after.loc["AAPL", "unrealized_gain"] == pytest.approx(1000.0)


def test_sell_after_split_uses_post_split_average():
    held = positions(
        ledger(
            ("2020-01-02", "BUY", "AAPL", 10, 400.0, 0.0),
            ("2020-08-31", "SPLIT", "AAPL", 4, 0.0, 0.0),  # 40 shares at 100
            ("2021-01-04", "SELL", "AAPL", 20, 130.0, 0.0),  # 2,600 - 20 * 100 = 600
        )
    ).loc["AAPL"]
    assert held["shares"] == 20
    assert held["realized_gain"] == pytest.approx(600.0)
    assert held["average_cost"] == pytest.approx(100.0)


def test_dividends_accumulate_as_cash_income_net_of_fees():
    transactions = ledger(
        ("2024-01-02", "DEPOSIT", None, 1, 6000.0, 0.0),
        ("2024-01-02", "BUY", "KO", 100, 60.0, 0.0),
        ("2024-03-01", "DIVIDEND", "KO", 100, 0.485, 0.0),  # 48.50
        ("2024-06-03", "DIVIDEND", "KO", 100, 0.485, 1.0),  # 48.50 - 1 = 47.50
    )
    held = positions(transactions).loc["KO"]
    assert held["dividends"] == pytest.approx(96.0)  # 48.50 + 47.50
    assert held["fees"] == pytest.approx(1.0)
    assert held["cost_basis"] == pytest.approx(6000.0)  # dividends are income, not basis
    assert cash_balance(transactions) == pytest.approx(96.0)  # 6,000 - 6,000 + 96


def test_a_fee_on_a_ticker_counts_against_total_gain_once():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10, 100.0, 5.0),  # basis 1,005
            ("2024-02-01", "FEE", "AAA", 0, 0.0, 3.0),  # an ADR custody fee of 3
        )
    )
    assert held.loc["AAA", "other_fees"] == pytest.approx(3.0)
    assert held.loc["AAA", "fees"] == pytest.approx(8.0)  # 5 in the basis + 3 outside it
    totals = portfolio_totals(valuation(held, pd.Series({"AAA": 110.0}), pd.Series(dtype=float)))
    # unrealized 1,100 - 1,005 = 95, minus the fee outside the basis: 92.
    assert totals["total_gain"] == pytest.approx(92.0)


def test_rows_apply_in_date_then_id_order_whatever_order_they_arrive_in():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
        ("2024-01-03", "SELL", "AAA", 10, 120.0, 0.0),  # closes: realized 200
        ("2024-01-03", "BUY", "AAA", 5, 90.0, 0.0),  # same day, later id: a new basis 450
    )
    held = positions(transactions.iloc[::-1]).loc["AAA"]
    assert held["shares"] == 5
    assert held["cost_basis"] == pytest.approx(450.0)
    assert held["realized_gain"] == pytest.approx(200.0)


def test_running_shares_follow_each_row_in_ledger_order():
    transactions = ledger(
        ("2024-01-02", "BUY", "BBB", 3, 10.0, 0.0),
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
        ("2024-01-05", "SPLIT", "AAA", 4, 0.0, 0.0),
        ("2024-01-04", "DEPOSIT", None, 1, 50.0, 0.0),
        ("2024-01-06", "SELL", "AAA", 40, 30.0, 0.0),
    )
    shares = running_shares(transactions.sample(frac=1.0, random_state=3))
    assert list(shares["id"]) == [1, 2, 3, 5]
    assert list(shares["ticker"]) == ["BBB", "AAA", "AAA", "AAA"]
    assert list(shares["shares"]) == [3.0, 10.0, 40.0, 0.0]


def test_selling_what_float_sums_left_closes_the_position_exactly():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 0.1, 10.0, 0.0),
            ("2024-01-03", "BUY", "AAA", 0.2, 10.0, 0.0),  # 0.1 + 0.2 = 0.30000000000000004
            ("2024-01-04", "SELL", "AAA", 0.3, 20.0, 0.0),  # closes: realized 6 - 3 = 3
            ("2024-01-05", "BUY", "AAA", 1.0, 7.0, 0.0),
        )
    ).loc["AAA"]
    assert held["shares"] == 1.0  # exactly: no dust carried from the closed holding
    assert held["cost_basis"] == 7.0
    assert held["realized_gain"] == pytest.approx(3.0)


def test_a_large_holding_sold_out_leaves_no_dust_position():
    bought = 123456789.123 + 987654321.987
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 123456789.123, 1.0, 0.0),
            ("2024-01-03", "BUY", "AAA", 987654321.987, 1.0, 0.0),
            ("2024-01-04", "SELL", "AAA", bought, 1.0, 0.0),
        )
    )
    assert held.loc["AAA", "shares"] == 0.0
    assert open_positions(held).empty


def test_many_partial_sells_keep_the_cost_basis_finite():
    # Each round sells 99 of 100 shares at 11 and buys 99 back at 10; what stays is always
    # 100 shares at 10. The product of the sells' share ratios, 0.01 ** 2000, underflows: a
    # solution through cumprod / cumsum would divide by 0 here.
    rows = [("2020-01-01", "BUY", "AAA", 100, 10.0, 0.0)]
    for _ in range(2000):
        rows += [
            ("2020-01-01", "SELL", "AAA", 99, 11.0, 0.0),  # realized 99 * (11 - 10) = 99
            ("2020-01-01", "BUY", "AAA", 99, 10.0, 0.0),
        ]
    held = positions(ledger(*rows)).loc["AAA"]
    assert held["shares"] == 100
    assert held["cost_basis"] == pytest.approx(1000.0)
    assert held["realized_gain"] == pytest.approx(2000 * 99.0)


def test_overselling_names_the_first_row_that_oversells():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
        ("2024-01-02", "BUY", "BBB", 1, 100.0, 0.0),
        ("2024-03-01", "SELL", "BBB", 2, 120.0, 0.0),
        ("2024-02-01", "SELL", "AAA", 11, 120.0, 0.0),
    )
    with pytest.raises(InvalidTransaction) as raised:
        positions(transactions)
    assert raised.value.row == 4  # dated before row 3
    assert raised.value.column == "quantity"
    assert raised.value.reason == "sells 11 AAA but only 10 are held"


def test_selling_before_buying_is_an_oversell():
    transactions = ledger(
        ("2024-01-03", "BUY", "AAA", 10, 100.0, 0.0),
        ("2024-01-02", "SELL", "AAA", 1, 100.0, 0.0),
    )
    with pytest.raises(InvalidTransaction) as raised:
        positions(transactions)
    assert raised.value.row == 2


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (("2024-01-02", "BUY", "AAA", 0, 100.0, 0.0), "quantity"),
        (("2024-01-02", "SELL", "AAA", -1, 100.0, 0.0), "quantity"),
        (("2024-01-02", "BUY", "AAA", np.nan, 100.0, 0.0), "quantity"),
        (("2024-01-02", "BUY", "AAA", 1, -1.0, 0.0), "price"),
        (("2024-01-02", "BUY", "AAA", 1, np.inf, 0.0), "price"),
        (("2024-01-02", "BUY", None, 1, 1.0, 0.0), "ticker"),
        (("2024-01-02", "SPLIT", "AAA", 0, 0.0, 0.0), "quantity"),
        (("2024-01-02", "SPLIT", "AAA", -2, 0.0, 0.0), "quantity"),
        (("2024-01-02", "SPLIT", "AAA", 2, 0.0, 1.0), "fees"),
        (("2024-01-02", "DIVIDEND", "AAA", 10, -0.5, 0.0), "price"),
        (("2024-01-02", "DEPOSIT", None, -1, 100.0, 0.0), "quantity"),
        (("2024-01-02", "GIFT", "AAA", 1, 1.0, 0.0), "kind"),
        (("2024-01-02", "BUY", "AAA", 1, 1.0, -3.0), "fees"),
        ((None, "BUY", "AAA", 1, 1.0, 0.0), "trade_date"),
    ],
)
def test_impossible_rows_are_rejected_naming_the_column(row, column):
    transactions = ledger(("2024-01-01", "DEPOSIT", None, 1, 10.0, 0.0), row)
    for compute in (positions, cash_balance):
        with pytest.raises(InvalidTransaction) as raised:
            compute(transactions)
        assert (raised.value.row, raised.value.column) == (2, column)


def test_empty_ledger_has_no_positions_and_no_cash():
    empty = ledger()
    assert positions(empty).empty
    assert cash_balance(empty) == 0.0


def test_valuation_keeps_missing_prices_missing_and_weights_priced_holdings():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),  # basis 1,000
            ("2024-01-02", "BUY", "BBB", 5, 200.0, 0.0),  # basis 1,000
            ("2024-01-02", "BUY", "NEW", 1, 10.0, 0.0),  # no price anywhere
            ("2024-01-02", "BUY", "GAP", 2, 10.0, 0.0),  # a price that is NaN
        )
    )
    prices = pd.Series({"AAA": 110.0, "BBB": 190.0, "GAP": np.nan})
    previous = pd.Series({"AAA": 100.0})
    valued = valuation(held, prices, previous)
    assert valued.loc["AAA", "market_value"] == pytest.approx(1100.0)  # 10 * 110
    assert valued.loc["AAA", "day_change"] == pytest.approx(100.0)  # 10 * (110 - 100)
    assert valued.loc["AAA", "unrealized_gain_pct"] == pytest.approx(0.1)  # 100 / 1,000
    assert valued.loc["BBB", "market_value"] == pytest.approx(950.0)  # 5 * 190
    assert valued.loc["BBB", "unrealized_gain"] == pytest.approx(-50.0)  # 950 - 1,000
    assert math.isnan(valued.loc["BBB", "day_change"])  # no previous close, yet a value
    unknown = ["market_value", "day_change", "unrealized_gain", "unrealized_gain_pct", "weight"]
    assert valued.loc[["NEW", "GAP"], unknown].isna().all(axis=None)
    assert valued.loc["AAA", "weight"] == pytest.approx(1100.0 / 2050.0)
    assert valued.loc["BBB", "weight"] == pytest.approx(950.0 / 2050.0)
    assert valued["weight"].sum() == pytest.approx(1.0)


def test_totals_exclude_unpriced_holdings_and_name_them():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),  # basis 1,000
            ("2024-01-02", "BUY", "BBB", 5, 200.0, 0.0),  # basis 1,000
            ("2024-01-02", "BUY", "ZZZ", 1, 10.0, 0.0),
            ("2024-01-02", "BUY", "NEW", 1, 10.0, 0.0),
            ("2024-01-03", "SELL", "BBB", 1, 220.0, 0.0),  # realized 220 - 200 = 20
            ("2024-01-04", "DIVIDEND", "AAA", 10, 0.5, 0.0),  # 5
        )
    )
    prices = pd.Series({"AAA": 110.0, "BBB": 190.0})
    previous = pd.Series({"AAA": 100.0, "BBB": 200.0})
    totals = portfolio_totals(valuation(held, prices, previous))
    assert totals["market_value"] == pytest.approx(1860.0)  # 1,100 + 4 * 190
    assert totals["day_change"] == pytest.approx(60.0)  # 10 * 10 + 4 * -10
    assert totals["cost_basis"] == pytest.approx(1800.0)  # 1,000 + 800, not the unpriced 20
    assert totals["unrealized_gain"] == pytest.approx(60.0)  # 1,860 - 1,800
    assert totals["realized_gain"] == pytest.approx(20.0)
    assert totals["dividends"] == pytest.approx(5.0)
    assert totals["total_gain"] == pytest.approx(85.0)  # 60 + 20 + 5
    assert totals["priced_count"] == 2
    assert totals["missing_count"] == 2
    assert totals["missing_tickers"] == ["NEW", "ZZZ"]


def test_totals_are_unknown_when_nothing_is_priced():
    held = positions(ledger(("2024-01-02", "BUY", "NEW", 1, 10.0, 0.0)))
    totals = portfolio_totals(valuation(held, pd.Series(dtype=float), pd.Series(dtype=float)))
    assert math.isnan(totals["market_value"])
    assert math.isnan(totals["unrealized_gain"])
    assert math.isnan(totals["total_gain"])
    assert totals["missing_tickers"] == ["NEW"]


def test_closed_positions_count_realized_gain_in_totals():
    held = positions(
        ledger(
            ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
            ("2024-02-01", "SELL", "AAA", 10, 110.0, 0.0),  # realized 100
            ("2024-01-02", "BUY", "BBB", 1, 50.0, 0.0),  # unrealized 60 - 50 = 10
        )
    )
    assert list(open_positions(held).index) == ["BBB"]
    totals = portfolio_totals(valuation(held, pd.Series({"BBB": 60.0}), pd.Series({"BBB": 60.0})))
    assert totals["total_gain"] == pytest.approx(110.0)
    assert totals["missing_count"] == 0  # a closed position needs no price


def test_cash_balance_follows_the_stated_rule():
    transactions = ledger(
        ("2024-01-02", "DEPOSIT", None, 1, 5000.0, 0.0),  # +5,000
        ("2024-01-03", "BUY", "AAA", 10, 100.0, 5.0),  # -1,005
        ("2024-02-01", "SELL", "AAA", 5, 120.0, 5.0),  # +595
        ("2024-03-01", "DIVIDEND", "AAA", 5, 1.0, 0.0),  # +5
        ("2024-03-15", "SPLIT", "AAA", 2, 0.0, 0.0),  # 0
        ("2024-04-01", "FEE", None, 0, 0.0, 12.0),  # -12, an account fee
        ("2024-04-01", "WITHDRAWAL", None, 1, 1000.0, 0.0),  # -1,000
    )
    assert cash_balance(transactions) == pytest.approx(3583.0)
    assert list(positions(transactions).index) == ["AAA"]


def reference_positions(rows: list[tuple[str, str, float, float, float]]) -> dict[str, dict]:
    """The module's conventions as a plain loop over (ticker, kind, quantity, price, fees)."""
    books: dict[str, dict] = {}
    for ticker, kind, quantity, price, fees in rows:
        book = books.setdefault(
            ticker,
            {"shares": 0.0, "cost_basis": 0.0, "realized_gain": 0.0, "dividends": 0.0, "fees": 0.0},
        )
        book["fees"] += fees
        if kind == "BUY":
            book["shares"] += quantity
            book["cost_basis"] += quantity * price + fees
        elif kind == "SPLIT":
            book["shares"] *= quantity
        elif kind == "DIVIDEND":
            book["dividends"] += quantity * price - fees
        else:
            before = book["shares"]
            removed = book["cost_basis"] * quantity / before
            book["realized_gain"] += quantity * price - fees - removed
            book["cost_basis"] -= removed
            book["shares"] -= quantity
            if book["shares"] <= 1e-9 * max(1.0, before):
                book["shares"] = book["cost_basis"] = 0.0
    return books


@st.composite
def trade_sequences(draw) -> list[tuple[str, str, float, float, float]]:
    """Interleaved BUY, SELL (never more than held), SPLIT and DIVIDEND rows on three tickers,
    as (ticker, kind, quantity, price, fees)."""
    rows, held = [], {"AAA": 0.0, "BBB": 0.0, "CCC": 0.0}
    for _ in range(draw(st.integers(1, 40))):
        ticker = draw(st.sampled_from(sorted(held)))
        price = draw(st.floats(0.5, 1000.0))
        fees = draw(st.sampled_from([0.0, 0.0, 1.0, 4.95]))
        choice = draw(st.sampled_from(["BUY", "BUY", "SELL", "SELLOUT", "SPLIT", "DIVIDEND"]))
        shares = held[ticker]
        if choice == "SPLIT" and shares > 0:
            ratio = draw(st.sampled_from([2.0, 3.0, 4.0, 0.5, 0.1]))
            rows.append((ticker, "SPLIT", ratio, 0.0, 0.0))
            held[ticker] = shares * ratio
        elif choice == "DIVIDEND" and shares > 0:
            rows.append((ticker, "DIVIDEND", shares, price / 100.0, fees))
        elif choice in ("SELL", "SELLOUT") and shares > 0:
            part = 1.0 if choice == "SELLOUT" else draw(st.floats(0.01, 0.99))
            rows.append((ticker, "SELL", shares * part, price, fees))
            held[ticker] = 0.0 if choice == "SELLOUT" else shares - shares * part
        else:
            quantity = draw(st.floats(0.001, 500.0))
            rows.append((ticker, "BUY", quantity, price, fees))
            held[ticker] = shares + quantity
    return rows


@settings(max_examples=300, deadline=None)
@given(trade_sequences(), st.integers(0, 2**32 - 1))
def test_vectorised_positions_match_a_plain_loop(rows, shuffle_seed):
    # Three rows share each date, so the order within a day rests on the ids.
    transactions = ledger(
        *[
            (pd.Timestamp("2020-01-01") + pd.Timedelta(days=i // 3), kind, ticker, q, p, f)
            for i, (ticker, kind, q, p, f) in enumerate(rows)
        ]
    )
    held = positions(transactions.sample(frac=1.0, random_state=shuffle_seed))
    expected = reference_positions(rows)
    assert list(held.index) == sorted(expected)
    for ticker, book in expected.items():
        for column, value in book.items():
            assert held.loc[ticker, column] == pytest.approx(value, rel=1e-9, abs=1e-6), column
        average = book["cost_basis"] / book["shares"] if book["shares"] > 0 else math.nan
        assert held.loc[ticker, "average_cost"] == pytest.approx(average, rel=1e-9, nan_ok=True)
