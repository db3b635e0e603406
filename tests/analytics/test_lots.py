"""Lots and realized gains on hand-worked ledgers, under FIFO and average cost, plus a property
test of FIFO against a plain queue of lots and of average cost against holdings.positions."""

from __future__ import annotations

from collections import deque
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashapp.analytics.holdings import InvalidTransaction, positions
from dashapp.analytics.lots import (
    LOT_COLUMNS,
    OPEN_LOT_COLUMNS,
    YEAR_COLUMNS,
    open_lots,
    realized_by_year,
    realized_lots,
)
from tests.analytics.ledgers import ledger


def table(frame: pd.DataFrame) -> list[tuple]:
    """Rows as plain tuples, dates as ISO text, floats rounded far below a cent."""
    return [
        tuple(_plain(value) for value in record.values()) for record in frame.to_dict("records")
    ]


def _plain(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return round(value, 9) if isinstance(value, float) else value


# Two tickers, worked by hand below. AAA: three lots, a partial sale over two of them, a 2:1
# split, a sale over the next two. BBB: a 3:1 split, sold out, bought back and partly sold.
WORKED = ledger(
    ("2020-01-02", "BUY", "AAA", 10, 100.0, 5.0),  # 1: lot cost 1,005 (100.5 a share)
    ("2020-06-01", "BUY", "AAA", 20, 110.0, 10.0),  # 2: lot cost 2,210 (110.5 a share)
    ("2020-07-01", "DEPOSIT", None, 1, 500.0, 0.0),  # 3: not a position row
    ("2021-01-04", "BUY", "AAA", 10, 90.0, 0.0),  # 4: lot cost 900 (90 a share)
    ("2021-02-01", "BUY", "BBB", 5, 40.0, 1.0),  # 5: lot cost 201
    ("2021-03-01", "SELL", "AAA", 16, 125.0, 4.0),  # 6: proceeds 2,000 - 4 = 1,996
    ("2021-04-01", "SPLIT", "BBB", 3, 0.0, 0.0),  # 7: BBB 5 -> 15 shares; AAA untouched
    ("2021-04-15", "DIVIDEND", "AAA", 24, 1.0, 0.0),  # 8: income, not a lot
    ("2021-05-03", "SELL", "BBB", 15, 20.0, 2.0),  # 9: proceeds 298; sells BBB out
    ("2021-06-01", "SPLIT", "AAA", 2, 0.0, 0.0),  # 10: AAA 24 -> 48 shares
    ("2021-09-01", "SELL", "AAA", 40, 70.0, 6.0),  # 11: proceeds 2,800 - 6 = 2,794
    ("2022-01-03", "BUY", "BBB", 2, 50.0, 0.0),  # 12: a new BBB holding, cost 100
    ("2022-02-01", "SELL", "BBB", 1, 60.0, 0.0),  # 13: proceeds 60
)


def test_fifo_sells_the_earliest_lots_first_with_fees_on_both_sides():
    # Sale 6 (16 units): all of lot 1 (10) and 6 of lot 2's 20, so weights 10/16 and 6/16.
    #   lot 1: proceeds 1,996 * 0.625 = 1,247.5, cost 1,005, gain 242.5, held 424 days.
    #   lot 2: proceeds 1,996 * 0.375 = 748.5, cost 6 * 110.5 = 663, gain 85.5, 273 days.
    # Sale 9: BBB's one lot, 15 shares after the split: 298 - 201 = 97, held 91 days.
    # Sale 11 (40 shares = 20 pre-split units): lot 2's other 14 units and 6 of lot 4's 10.
    #   lot 2: weight 0.7: 28 shares, proceeds 1,955.8, cost 14 * 110.5 = 1,547, gain 408.8.
    #   lot 4: weight 0.3: 12 shares, proceeds 838.2, cost 6 * 90 = 540, gain 298.2.
    # Sale 13: the new BBB lot only (the old one is gone): 60 - 50 = 10.
    assert list(realized_lots(WORKED, "fifo").columns) == list(LOT_COLUMNS)
    assert table(realized_lots(WORKED, "fifo")) == [
        (6, "2021-03-01", "AAA", "2020-01-02", 10.0, 1247.5, 1005.0, 242.5, 424, True),
        (6, "2021-03-01", "AAA", "2020-06-01", 6.0, 748.5, 663.0, 85.5, 273, False),
        (9, "2021-05-03", "BBB", "2021-02-01", 15.0, 298.0, 201.0, 97.0, 91, False),
        (11, "2021-09-01", "AAA", "2020-06-01", 28.0, 1955.8, 1547.0, 408.8, 457, True),
        (11, "2021-09-01", "AAA", "2021-01-04", 12.0, 838.2, 540.0, 298.2, 240, False),
        (13, "2022-02-01", "BBB", "2022-01-03", 1.0, 60.0, 50.0, 10.0, 29, False),
    ]


def test_average_cost_takes_the_pool_average_and_keeps_fifo_holding_periods():
    # Before sale 6 the pool is 1,005 + 2,210 + 900 = 4,115 for 40 shares (102.875 each):
    #   removed 16 * 102.875 = 1,646, gain 1,996 - 1,646 = 350, split 0.625 / 0.375.
    # Left 2,469 for 24 shares; after the split 48 shares at 51.4375:
    #   sale 11 removes 40 * 51.4375 = 2,057.5, gain 2,794 - 2,057.5 = 736.5, split 0.7 / 0.3.
    assert table(realized_lots(WORKED, "average")) == [
        (6, "2021-03-01", "AAA", "2020-01-02", 10.0, 1247.5, 1028.75, 218.75, 424, True),
        (6, "2021-03-01", "AAA", "2020-06-01", 6.0, 748.5, 617.25, 131.25, 273, False),
        (9, "2021-05-03", "BBB", "2021-02-01", 15.0, 298.0, 201.0, 97.0, 91, False),
        (11, "2021-09-01", "AAA", "2020-06-01", 28.0, 1955.8, 1440.25, 515.55, 457, True),
        (11, "2021-09-01", "AAA", "2021-01-04", 12.0, 838.2, 617.25, 220.95, 240, False),
        (13, "2022-02-01", "BBB", "2022-01-03", 1.0, 60.0, 50.0, 10.0, 29, False),
    ]


def test_average_cost_gains_equal_the_realized_gains_of_positions():
    gains = realized_lots(WORKED, "average").groupby("ticker")["gain"].sum()
    held = positions(WORKED)
    assert gains["AAA"] == pytest.approx(held.loc["AAA", "realized_gain"], abs=1e-9)  # 1,086.5
    assert gains["BBB"] == pytest.approx(held.loc["BBB", "realized_gain"], abs=1e-9)  # 107
    assert gains["AAA"] == pytest.approx(1086.5, abs=1e-9)


def test_realized_by_year_splits_short_and_long_term():
    # 2021 FIFO: gains 242.5 (long) + 85.5 + 97 + 408.8 (long) + 298.2 = 1,132 over 3 sales.
    years = realized_by_year(realized_lots(WORKED, "fifo"))
    assert list(years.columns) == list(YEAR_COLUMNS)
    assert years.index.name == "year"
    assert [(year, *values) for year, values in zip(years.index, table(years), strict=True)] == [
        (2021, 5088.0, 3956.0, 1132.0, 480.7, 651.3, 3),
        (2022, 60.0, 50.0, 10.0, 10.0, 0.0, 1),
    ]


def test_open_lots_are_what_fifo_left_at_todays_share_basis():
    # AAA: 4 of lot 4's units are left, 8 shares after the split, at 4 * 90 = 360.
    # BBB: 1 share of the new lot at 50. Average cost: AAA's pool is 2,469 - 2,057.5 = 411.5.
    assert list(open_lots(WORKED, "fifo").columns) == list(OPEN_LOT_COLUMNS)
    assert table(open_lots(WORKED, "fifo")) == [
        (4, "AAA", "2021-01-04", 8.0, 360.0),
        (12, "BBB", "2022-01-03", 1.0, 50.0),
    ]
    assert table(open_lots(WORKED, "average")) == [
        (4, "AAA", "2021-01-04", 8.0, 411.5),
        (12, "BBB", "2022-01-03", 1.0, 50.0),
    ]


def test_average_cost_shares_the_pool_among_open_lots_by_quantity():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 10.0, 0.0),  # 100
        ("2024-02-01", "BUY", "AAA", 30, 20.0, 0.0),  # 600; pool 700 for 40, 17.5 each
        ("2024-03-01", "SELL", "AAA", 5, 30.0, 0.0),  # removes 87.5; 612.5 for 35 left
    )
    assert table(open_lots(transactions, "fifo")) == [
        (1, "AAA", "2024-01-02", 5.0, 50.0),
        (2, "AAA", "2024-02-01", 30.0, 600.0),
    ]
    assert table(open_lots(transactions, "average")) == [
        (1, "AAA", "2024-01-02", 5.0, 87.5),  # 612.5 * 5 / 35
        (2, "AAA", "2024-02-01", 30.0, 525.0),  # 612.5 * 30 / 35
    ]


def test_a_sale_ending_on_a_lot_boundary_touches_no_other_lot():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 5, 10.0, 0.0),
        ("2024-01-03", "BUY", "AAA", 5, 12.0, 0.0),
        ("2024-01-04", "BUY", "AAA", 5, 14.0, 0.0),
        ("2024-02-01", "SELL", "AAA", 5, 20.0, 0.0),  # exactly lot 1
        ("2024-02-02", "SELL", "AAA", 5, 20.0, 0.0),  # exactly lot 2
    )
    lots = realized_lots(transactions, "fifo")
    assert table(lots[["sale_id", "acquired", "quantity", "cost"]]) == [
        (4, "2024-01-02", 5.0, 50.0),
        (5, "2024-01-03", 5.0, 60.0),
    ]
    assert table(open_lots(transactions, "fifo")) == [(3, "AAA", "2024-01-04", 5.0, 70.0)]


def test_long_term_starts_the_day_after_the_first_anniversary():
    transactions = ledger(
        ("2023-03-15", "BUY", "AAA", 2, 10.0, 0.0),
        ("2024-02-29", "BUY", "AAA", 2, 10.0, 0.0),
        ("2024-03-15", "SELL", "AAA", 1, 10.0, 0.0),  # on the anniversary: short
        ("2024-03-18", "SELL", "AAA", 1, 10.0, 0.0),  # after it: long
        ("2025-02-28", "SELL", "AAA", 1, 10.0, 0.0),  # 29 Feb + 1 year = 28 Feb: short
        ("2025-03-03", "SELL", "AAA", 1, 10.0, 0.0),  # long
    )
    lots = realized_lots(transactions, "fifo")
    assert lots["holding_days"].tolist() == [366, 369, 365, 368]
    assert lots["holding_days"].dtype == "int64"  # whole days, not 366.0
    assert lots["long_term"].tolist() == [False, True, False, True]


def test_selling_what_float_sums_left_uses_up_both_lots_and_the_next_buy_starts_afresh():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 0.1, 10.0, 0.0),
        ("2024-01-03", "BUY", "AAA", 0.2, 20.0, 0.0),
        ("2024-02-01", "SELL", "AAA", 0.3, 30.0, 0.0),  # 0.1 + 0.2 != 0.3 in floats
        ("2024-03-01", "BUY", "AAA", 1, 7.0, 0.0),
        ("2024-04-01", "SELL", "AAA", 1, 8.0, 0.0),
    )
    lots = realized_lots(transactions, "fifo")
    assert table(lots[["sale_id", "quantity", "proceeds", "cost", "gain"]]) == [
        (3, 0.1, 3.0, 1.0, 2.0),
        (3, 0.2, 6.0, 4.0, 2.0),
        (5, 1.0, 8.0, 7.0, 1.0),
    ]
    assert open_lots(transactions, "fifo").empty


def test_float_dust_past_a_lot_boundary_is_no_piece_of_the_sale():
    # 2.1 / 3 is 0.7000000000000001 units: a whisker past lot 1's 0.7, not a piece of lot 4.
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 0.7, 30.0, 0.0),  # 21
        ("2024-01-03", "SPLIT", "AAA", 3, 0.0, 0.0),
        ("2024-01-04", "BUY", "AAA", 1, 10.0, 0.0),
        ("2024-02-01", "SELL", "AAA", 2.1, 20.0, 0.0),  # 42
    )
    lots = realized_lots(transactions, "fifo")
    assert len(lots) == 1
    assert lots.loc[0, "quantity"] == 2.1
    assert lots.loc[0, "proceeds"] == 42.0
    assert lots.loc[0, "cost"] == pytest.approx(21.0, abs=1e-12)


def test_a_sale_within_the_dust_tolerance_closes_the_position_for_good():
    # Selling 999.9999995 of 1,000 leaves 5e-7 shares: dust (holdings.SHARE_EPSILON relative),
    # so the sale takes the whole lot and the next BUY starts a new position from nothing.
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 1000, 2.0, 0.0),  # lot 2,000
        ("2024-02-01", "SELL", "AAA", 999.9999995, 3.0, 0.0),
        ("2024-03-01", "BUY", "AAA", 1, 7.0, 0.0),
        ("2024-04-01", "SELL", "AAA", 0.5, 8.0, 0.0),
    )
    lots = realized_lots(transactions, "fifo")
    assert table(lots[["sale_id", "acquired", "quantity", "cost"]]) == [
        (2, "2024-01-02", 999.9999995, 2000.0),
        (4, "2024-03-01", 0.5, 3.5),
    ]
    assert table(open_lots(transactions, "fifo")) == [(3, "AAA", "2024-03-01", 0.5, 3.5)]


def test_dust_is_measured_against_the_sale_and_the_lot():
    # 1e-6 of a million-unit sale is 1e-12 of it: float dust, no piece of lot 2. Likewise the
    # 1e-6 shares a million-share lot keeps is no open lot.
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 1_000_000, 1.0, 0.0),
        ("2024-01-03", "BUY", "AAA", 10, 2.0, 0.0),
        ("2024-02-01", "SELL", "AAA", 1_000_000.000001, 1.0, 0.0),
    )
    lots = realized_lots(transactions, "fifo")
    assert lots["acquired"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-02"]
    kept = ledger(
        ("2024-01-02", "BUY", "AAA", 1_000_000, 1.0, 0.0),
        ("2024-01-03", "BUY", "AAA", 10, 2.0, 0.0),
        ("2024-02-01", "SELL", "AAA", 999_999.999999, 1.0, 0.0),
    )
    assert open_lots(kept, "fifo")["buy_id"].tolist() == [2]


def test_trade_dates_may_be_plain_dates():
    plain = WORKED.assign(trade_date=WORKED["trade_date"].dt.date)
    assert table(realized_lots(plain, "fifo")) == table(realized_lots(WORKED, "fifo"))


def test_rows_apply_in_date_then_id_order_whatever_order_they_arrive_in():
    shuffled = WORKED.iloc[::-1].reset_index(drop=True)
    assert table(realized_lots(shuffled, "fifo")) == table(realized_lots(WORKED, "fifo"))
    assert table(open_lots(shuffled, "average")) == table(open_lots(WORKED, "average"))


def test_a_sale_the_lots_cannot_cover_is_refused():
    oversold = ledger(
        ("2024-01-02", "BUY", "AAA", 5, 10.0, 0.0),
        ("2024-02-01", "SELL", "AAA", 6, 10.0, 0.0),
    )
    with pytest.raises(InvalidTransaction) as refused:
        realized_lots(oversold, "fifo")
    assert (refused.value.row, refused.value.column) == (2, "quantity")


def test_an_unknown_method_is_named():
    with pytest.raises(ValueError, match=r"unknown lot method 'lifo'; one of fifo, average"):
        realized_lots(WORKED, "lifo")
    with pytest.raises(ValueError, match="unknown lot method 'hifo'"):
        open_lots(WORKED, "hifo")


def test_ledgers_without_sales_or_positions_give_empty_tables():
    no_sales = ledger(("2024-01-02", "BUY", "AAA", 5, 10.0, 0.0))
    empty = ledger(("2024-01-02", "DEPOSIT", None, 1, 100.0, 0.0)).iloc[:0]
    only_cash = ledger(("2024-01-02", "DEPOSIT", None, 1, 100.0, 0.0))
    for transactions in (no_sales, empty, only_cash):
        lots = realized_lots(transactions, "average")
        assert lots.empty
        assert list(lots.columns) == list(LOT_COLUMNS)
        years = realized_by_year(lots)
        assert years.empty
        assert list(years.columns) == list(YEAR_COLUMNS)
        assert years.index.name == "year"
    assert open_lots(empty, "fifo").empty
    assert list(open_lots(only_cash, "average").columns) == list(OPEN_LOT_COLUMNS)
    assert table(open_lots(no_sales, "fifo")) == [(1, "AAA", "2024-01-02", 5.0, 50.0)]


# A ledger for the property test: per step (ticker, action, amount) with action 0 = buy,
# 1 = sell a fraction of what is held, 2 = split.
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["AAA", "BBB"]),
        st.integers(0, 2),
        st.integers(1, 9),
        st.integers(1, 50),
    ),
    min_size=1,
    max_size=25,
)


def _random_ledger(steps: list[tuple[str, int, int, int]]) -> pd.DataFrame:
    held: dict[str, float] = {"AAA": 0.0, "BBB": 0.0}
    rows = []
    day = date(2020, 1, 1)
    for ticker, action, amount, price in steps:
        day += timedelta(days=amount * 20)
        if action == 0 or held[ticker] == 0:
            rows.append((day, "BUY", ticker, float(amount), float(price), float(amount % 3)))
            held[ticker] += amount
        elif action == 1:
            quantity = held[ticker] if amount > 6 else held[ticker] * amount / 10
            rows.append((day, "SELL", ticker, quantity, float(price), 1.0))
            held[ticker] -= quantity
        else:
            ratio = 2.0 if amount % 2 else 0.5
            rows.append((day, "SPLIT", ticker, ratio, 0.0, 0.0))
            held[ticker] *= ratio
    return ledger(*rows)


def _fifo_by_queue(transactions: pd.DataFrame) -> list[float]:
    """The gain of each sale by a plain queue of [shares, cost] lots, in ledger order."""
    queues: dict[str, deque] = {}
    gains = []
    for row in transactions.sort_values(["trade_date", "id"]).itertuples():
        lots = queues.setdefault(row.ticker, deque())
        if row.kind == "BUY":
            lots.append([row.quantity, row.quantity * row.price + row.fees])
        elif row.kind == "SPLIT":
            for lot in lots:
                lot[0] *= row.quantity
        else:
            left, cost = row.quantity, 0.0
            while lots and left > 1e-9 * row.quantity:
                shares, lot_cost = lots[0]
                taken = min(shares, left)
                cost += lot_cost * taken / shares
                left -= taken
                if taken >= shares * (1 - 1e-12):
                    lots.popleft()
                else:
                    lots[0] = [shares - taken, lot_cost * (shares - taken) / shares]
            if sum(lot[0] for lot in lots) <= 1e-9 * max(1.0, row.quantity):
                lots.clear()
            gains.append(row.quantity * row.price - row.fees - cost)
    return gains


@settings(max_examples=60, deadline=None)
@given(STEPS)
def test_fifo_matches_a_plain_queue_and_average_matches_positions(steps):
    transactions = _random_ledger(steps)
    fifo = realized_lots(transactions, "fifo")
    expected = _fifo_by_queue(transactions)
    by_sale = fifo.groupby("sale_id", sort=False)["gain"].sum().tolist()
    assert by_sale == pytest.approx(expected, rel=1e-9, abs=1e-6)
    average = realized_lots(transactions, "average")
    held = positions(transactions)
    assert average["gain"].sum() == pytest.approx(held["realized_gain"].sum(), rel=1e-9, abs=1e-6)
    # Every sale is fully matched: its pieces' quantities add up to the shares it sold.
    sold = transactions.set_index("id")["quantity"]
    pieces = fifo.groupby("sale_id")["quantity"].sum()
    assert pieces.tolist() == pytest.approx(sold[pieces.index].tolist(), rel=1e-9)
