"""Dividend income on a hand-worked ledger: by month, year and holding, trailing twelve months,
yields and the forward estimate."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from dashapp.analytics.holdings import InvalidTransaction, positions
from dashapp.analytics.income import (
    HOLDING_COLUMNS,
    dividend_rows,
    income_by_holding,
    income_by_period,
    income_totals,
)
from tests.analytics.test_lots import ledger

# AAA: dividends before and after a 2:1 split, with withholding fees; bought more later.
# BBB: two dividends, then sold out. CCC: held, never paid, no price.
WORKED = ledger(
    ("2022-05-02", "BUY", "BBB", 100, 10.0, 0.0),  # 1
    ("2022-06-30", "DIVIDEND", "BBB", 100, 0.10, 0.0),  # 2: 10
    ("2023-01-10", "BUY", "AAA", 10, 50.0, 2.0),  # 3: cost 502
    ("2023-03-15", "DIVIDEND", "AAA", 10, 0.25, 0.5),  # 4: 2.5 - 0.5 = 2.0
    ("2023-06-15", "DIVIDEND", "AAA", 10, 0.25, 0.0),  # 5: 2.5
    ("2023-06-30", "DIVIDEND", "BBB", 100, 0.12, 0.0),  # 6: 12
    ("2023-07-03", "SPLIT", "AAA", 2, 0.0, 0.0),  # 7: 20 shares
    ("2023-08-01", "SELL", "BBB", 100, 11.0, 0.0),  # 8: BBB closed
    ("2023-09-15", "DIVIDEND", "AAA", 20, 0.15, 0.3),  # 9: 3.0 - 0.3 = 2.7
    ("2023-10-02", "BUY", "AAA", 10, 30.0, 0.0),  # 10: 30 shares, cost basis 802
    ("2023-12-15", "DIVIDEND", "AAA", 30, 0.15, 0.0),  # 11: 4.5
    ("2024-01-05", "BUY", "CCC", 4, 25.0, 0.0),  # 12: cost 100
    ("2024-03-15", "DIVIDEND", "AAA", 30, 0.20, 0.6),  # 13: 6.0 - 0.6 = 5.4
    ("2024-03-18", "DIVIDEND", "AAA", 30, 0.01, 0.0),  # 14: 0.3, after as_of
    ("2024-03-20", "FEE", "AAA", 0, 0.0, 9.0),  # 15: a charge, not income
)
DIVIDENDS = dividend_rows(WORKED)
AS_OF = date(2024, 3, 15)
PRICES = pd.Series({"AAA": 40.0, "BBB": 12.0})


def test_dividend_rows_are_net_of_fees_with_per_share_amounts_in_todays_shares():
    rows = dividend_rows(WORKED)
    assert rows.columns.tolist() == ["id", "trade_date", "ticker", "amount", "per_share_now"]
    assert rows.index.tolist() == list(range(8))
    assert rows["id"].tolist() == [2, 4, 5, 6, 9, 11, 13, 14]
    assert rows["ticker"].tolist() == ["BBB", "AAA", "AAA", "BBB", "AAA", "AAA", "AAA", "AAA"]
    assert rows["amount"].tolist() == pytest.approx([10.0, 2.0, 2.5, 12.0, 2.7, 4.5, 5.4, 0.3])
    # Before the 2:1 split a share paid for two of today's: 2.0 / 10 / 2, 2.5 / 10 / 2.
    assert rows["per_share_now"].tolist() == pytest.approx(
        [0.1, 0.1, 0.125, 0.12, 0.135, 0.15, 0.18, 0.01]
    )
    assert rows["trade_date"].iloc[0] == pd.Timestamp("2022-06-30")


def test_income_by_month_stacks_tickers_and_totals_every_dividend_row():
    months = income_by_period(DIVIDENDS, "month")
    assert months.index.name == "month"
    assert months.columns.tolist() == ["AAA", "BBB"]
    assert months.index.tolist() == [
        "2022-06",
        "2023-03",
        "2023-06",
        "2023-09",
        "2023-12",
        "2024-03",
    ]
    assert months["AAA"].tolist() == pytest.approx([0.0, 2.0, 2.5, 2.7, 4.5, 5.7])
    assert months["BBB"].tolist() == pytest.approx([10.0, 0.0, 12.0, 0.0, 0.0, 0.0])
    dividends = WORKED[WORKED["kind"] == "DIVIDEND"]
    by_row = (dividends["quantity"] * dividends["price"] - dividends["fees"]).sum()
    assert round(months.to_numpy().sum(), 2) == round(by_row, 2) == 39.4


def test_income_by_year():
    years = income_by_period(DIVIDENDS, "year")
    assert years.index.name == "year"
    assert years.index.tolist() == ["2022", "2023", "2024"]
    assert years["AAA"].tolist() == pytest.approx([0.0, 11.7, 5.7])
    assert years["BBB"].tolist() == pytest.approx([10.0, 12.0, 0.0])


def test_an_unknown_period_is_named():
    with pytest.raises(ValueError, match=r"unknown period 'week'; one of month, year"):
        income_by_period(DIVIDENDS, "week")


def test_income_by_holding_ttm_yields_and_forward_estimate():
    # Trailing twelve months to 2024-03-15: (2023-03-15, 2024-03-15], so row 4 is out (one year
    # to the day) and row 13 in (on as_of); row 14 is after as_of.
    #   AAA ttm = 2.5 + 2.7 + 4.5 + 5.4 = 15.1; BBB ttm = 12 (sold since).
    #   AAA forward = 30 shares * (0.125 + 0.135 + 0.15 + 0.18) = 17.7; BBB and CCC 0.
    table = income_by_holding(DIVIDENDS, positions(WORKED), PRICES, AS_OF)
    assert table.columns.tolist() == list(HOLDING_COLUMNS)
    assert table.index.tolist() == ["AAA", "BBB", "CCC"]
    assert table.index.name == "ticker"
    aaa, bbb, ccc = (table.loc[ticker] for ticker in ("AAA", "BBB", "CCC"))
    assert aaa["amount"] == pytest.approx(17.4)
    assert aaa["ttm"] == pytest.approx(15.1)
    assert aaa["forward_estimate"] == pytest.approx(17.7)
    assert aaa["cost_basis"] == pytest.approx(802.0)
    assert aaa["market_value"] == pytest.approx(1200.0)  # 30 * 40
    # Yields are per share held now: the forward 17.7 over the cost basis or the value.
    assert aaa["yield_on_cost"] == pytest.approx(17.7 / 802)
    assert aaa["current_yield"] == pytest.approx(17.7 / 1200)
    assert (bbb["amount"], bbb["ttm"], bbb["forward_estimate"]) == pytest.approx((22.0, 12.0, 0.0))
    for column in ("cost_basis", "market_value", "yield_on_cost", "current_yield"):
        assert math.isnan(bbb[column])  # closed: no yield, not a zero one
    assert (ccc["amount"], ccc["ttm"], ccc["forward_estimate"]) == (0.0, 0.0, 0.0)
    assert ccc["cost_basis"] == 100.0
    assert ccc["yield_on_cost"] == 0.0  # held, paid nothing: a true 0
    assert math.isnan(ccc["market_value"])
    assert math.isnan(ccc["current_yield"])  # no price


def test_income_totals_over_open_holdings():
    totals = income_totals(income_by_holding(DIVIDENDS, positions(WORKED), PRICES, AS_OF))
    assert totals == pytest.approx(
        {
            "total": 39.4,
            "ttm": 27.1,
            "forward_estimate": 17.7,
            "yield_on_cost": 17.7 / 902,  # AAA and CCC's estimates over their cost bases
            "current_yield": 17.7 / 1200,  # CCC has no price, so only AAA
        }
    )


def test_the_estimate_counts_every_split_after_a_dividend():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 3, 10.0, 0.0),
        ("2024-02-01", "DIVIDEND", "AAA", 3, 1.2, 0.0),  # 0.4 of today's shares
        ("2024-03-01", "SPLIT", "AAA", 2, 0.0, 0.0),
        ("2024-04-01", "SPLIT", "AAA", 1.5, 0.0, 0.0),  # 9 shares
        ("2024-05-01", "DIVIDEND", "AAA", 9, 0.5, 0.0),
        ("2024-06-03", "BUY", "BBB", 1, 10.0, 0.0),
        ("2024-06-04", "SPLIT", "BBB", 5, 0.0, 0.0),  # BBB's split is not AAA's
    )
    table = income_by_holding(
        dividend_rows(transactions),
        positions(transactions),
        pd.Series(dtype="float64"),
        date(2024, 6, 30),
    )
    assert table.loc["AAA", "forward_estimate"] == pytest.approx(9 * (0.4 + 0.5))
    assert table.loc["AAA", "ttm"] == pytest.approx(3.6 + 4.5)


def test_small_holdings_and_edge_prices():
    # Half a share is a holding; a basis or value under 1 is still a denominator; a zero
    # basis (free shares) or a zero price gives no yield rather than an infinite one.
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 0.5, 1.0, 0.0),  # basis 0.5
        ("2024-01-03", "BUY", "BBB", 2, 0.0, 0.0),  # free shares: basis 0
        ("2024-01-04", "BUY", "CCC", 4, 1.0, 0.0),
        ("2024-02-01", "DIVIDEND", "AAA", 0.5, 0.1, 0.0),  # 0.05
        ("2024-02-01", "DIVIDEND", "BBB", 2, 0.1, 0.0),  # 0.2
        ("2024-02-01", "DIVIDEND", "CCC", 4, 0.1, 0.0),  # 0.4
    )
    prices = pd.Series({"AAA": 0.8, "BBB": 3.0, "CCC": 0.0})
    table = income_by_holding(
        dividend_rows(transactions), positions(transactions), prices, date(2024, 6, 28)
    )
    assert table.loc["AAA", "forward_estimate"] == pytest.approx(0.05)
    assert table.loc["AAA", "yield_on_cost"] == pytest.approx(0.1)  # 0.05 / 0.5
    assert table.loc["AAA", "current_yield"] == pytest.approx(0.125)  # 0.05 / 0.4
    assert math.isnan(table.loc["BBB", "yield_on_cost"])
    assert table.loc["BBB", "current_yield"] == pytest.approx(0.2 / 6)
    assert table.loc["CCC", "market_value"] == 0.0
    assert math.isnan(table.loc["CCC", "current_yield"])
    totals = income_totals(table.loc[["AAA"]])
    assert totals["yield_on_cost"] == pytest.approx(0.1)
    assert totals["current_yield"] == pytest.approx(0.125)


def test_a_ledger_without_dividends_reports_zeros_not_errors():
    transactions = ledger(("2024-01-02", "BUY", "AAA", 3, 10.0, 0.0))
    nothing = dividend_rows(transactions)
    assert nothing.empty
    assert income_by_period(nothing, "month").empty
    assert income_by_period(nothing, "year").index.name == "year"
    table = income_by_holding(nothing, positions(transactions), PRICES, AS_OF)
    assert table.loc["AAA", "amount"] == 0.0
    assert table.loc["AAA", "market_value"] == 120.0
    assert table.loc["AAA", "current_yield"] == 0.0
    empty = transactions.iloc[:0]
    empty_table = income_by_holding(dividend_rows(empty), positions(empty), PRICES, AS_OF)
    assert empty_table.dtypes.eq("float64").all()
    totals = income_totals(empty_table)
    assert totals["total"] == totals["ttm"] == totals["forward_estimate"] == 0.0
    assert math.isnan(totals["yield_on_cost"])
    assert math.isnan(totals["current_yield"])


def test_missing_fees_count_as_none():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 3, 10.0, 0.0),
        ("2024-02-01", "DIVIDEND", "AAA", 3, 0.5, None),
    )
    assert dividend_rows(transactions)["amount"].tolist() == [1.5]


def test_a_broken_row_is_refused_like_everywhere_else():
    broken = ledger(("2024-01-02", "DIVIDEND", "AAA", 3, -1.0, 0.0))
    with pytest.raises(InvalidTransaction) as refused:
        dividend_rows(broken)
    assert refused.value.column == "price"
