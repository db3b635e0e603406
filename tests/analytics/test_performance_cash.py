"""Daily value, flows, fees and returns of ledgers with cash and fees, worked out by hand (issue 17).

Sessions 2024-01-02 .. 2024-01-08 (01-06 and 01-07 are a weekend); one ticker AAA closing 100,
102, 99, 105, 110.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashapp.analytics.performance import (
    portfolio_series,
    session_of_trades,
    time_weighted_returns,
    xirr,
)

SESSIONS = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"])
CLOSES = pd.DataFrame({"AAA": [100.0, 102.0, 99.0, 105.0, 110.0]}, index=SESSIONS)
NO_SPLITS = pd.DataFrame({"AAA": 1.0}, index=SESSIONS)


def ledger(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["trade_date", "kind", "ticker", "quantity", "price", "fees"]
    )
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    frame.insert(0, "id", range(1, len(frame) + 1))
    return frame


def series(transactions: pd.DataFrame, closes: pd.DataFrame = CLOSES) -> pd.DataFrame:
    splits = pd.DataFrame(1.0, index=closes.index, columns=closes.columns)
    return portfolio_series(transactions, closes, splits).frame


CASH_LEDGER = ledger(
    ("2024-01-02", "DEPOSIT", None, 1, 5000.0, 0.0),
    ("2024-01-02", "BUY", "AAA", 10, 100.0, 5.0),  # cash -1,005
    ("2024-01-03", "FEE", None, 1, 3.0, 0.5),  # an account fee of 3.50
    ("2024-01-04", "DIVIDEND", "AAA", 10, 0.5, 0.1),  # 5.00 paid, 0.10 withheld
    ("2024-01-05", "WITHDRAWAL", None, 1, 1000.0, 0.0),
    ("2024-01-06", "SELL", "AAA", 5, 108.0, 2.0),  # a Saturday: counts on Monday 01-08
)


def test_a_ledger_with_deposits_values_holdings_plus_cash():
    frame = series(CASH_LEDGER)
    # Cash: 5,000 - 1,005 = 3,995; - 3.50 = 3,991.50; + 4.90 = 3,996.40; - 1,000 = 2,996.40;
    # + 5 x 108 - 2 = 538 -> 3,534.40. Holdings: 10 x close, then 5 x 110 on 01-08.
    assert frame["value"].tolist() == pytest.approx([4995.0, 5011.5, 4986.4, 4046.4, 4084.4])
    # Only deposits and withdrawals cross the portfolio's edge; trades move cash inside it.
    assert frame["flow"].tolist() == [5000.0, 0.0, 0.0, -1000.0, 0.0]
    assert frame["dividends"].tolist() == [0.0, 0.0, 5.0, 0.0, 0.0]
    # Trade fees, the account fee (3 + 0.50) and the dividend's withholding.
    assert frame["fees"].tolist() == pytest.approx([5.0, 3.5, 0.1, 0.0, 2.0])


def test_a_ledger_with_deposits_has_returns_net_of_its_flows():
    twr = series(CASH_LEDGER)["twr"].tolist()
    expected = [
        4995.0 / 5000.0 - 1,  # the first day starts from the deposit
        5011.5 / 4995.0 - 1,
        4986.4 / 5011.5 - 1,
        (4046.4 + 1000.0) / 4986.4 - 1,  # the withdrawal is not a loss
        4084.4 / 4046.4 - 1,
    ]
    assert twr == pytest.approx(expected, rel=1e-12)


def test_without_deposits_each_trade_brings_its_own_money_fees_included():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 5.0),
        ("2024-01-04", "DIVIDEND", "AAA", 10, 0.5, 0.0),
        ("2024-01-05", "SELL", "AAA", 4, 105.0, 2.0),
    )
    frame = series(transactions)
    # The buy costs 1,005 (fees come with it), the sale hands out 420 - 2 = 418.
    assert frame["flow"].tolist() == pytest.approx([1005.0, 0.0, 0.0, -418.0, 0.0])
    # The dividend stays inside as cash; no other cash builds up.
    assert frame["value"].tolist() == pytest.approx([1000.0, 1020.0, 995.0, 635.0, 665.0])
    assert frame["fees"].tolist() == pytest.approx([5.0, 0.0, 0.0, 2.0, 0.0])
    assert frame["twr"].iloc[0] == pytest.approx(1000.0 / 1005.0 - 1)  # the fee is a loss
    assert frame["twr"].iloc[3] == pytest.approx((635.0 + 418.0) / 995.0 - 1)


def test_a_sale_without_deposits_returns_its_proceeds_net_of_fees():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
        ("2024-01-08", "SELL", "AAA", 10, 110.0, 10.0),
    )
    frame = series(transactions)
    assert frame["flow"].tolist() == pytest.approx([1000.0, 0.0, 0.0, 0.0, -1090.0])
    assert frame["value"].iloc[-1] == 0.0


def test_trades_on_closed_days_count_on_the_next_session_and_after_the_last_on_the_last():
    trade_dates = pd.Series(
        pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-06", "2024-01-20"]),
        index=[7, 8, 9, 10],
    )
    mapped = session_of_trades(trade_dates, SESSIONS)
    assert mapped.index.tolist() == [7, 8, 9, 10]
    assert (
        mapped.tolist()
        == pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-08", "2024-01-08"]).tolist()
    )


def test_a_trade_after_the_last_session_lands_on_it():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
        ("2024-01-12", "BUY", "AAA", 10, 111.0, 0.0),  # recorded ahead of the prices
    )
    frame = series(transactions)
    assert frame["value"].tolist() == pytest.approx([1000.0, 1020.0, 990.0, 1050.0, 2200.0])
    assert frame["flow"].tolist() == pytest.approx([1000.0, 0.0, 0.0, 0.0, 1110.0])


def test_xirr_is_none_when_the_solver_does_not_converge():
    # Put in 1,000, take out 3,000, put in 2,250, nothing left: the NPV's roots coincide
    # (1 - 3x + 2.25x^2 = (1 - 1.5x)^2) and the solver finds no rate.
    dates = SESSIONS[:3]
    flows = pd.Series([1000.0, -3000.0, 2250.0], index=dates)
    assert xirr(dates, flows, 0.0) is None


def test_xirr_is_none_for_an_infinite_rate_and_without_a_sign_change():
    dates = SESSIONS[:2]
    assert xirr(dates, pd.Series([100.0, 0.0], index=dates), 1e12) is None
    assert xirr(dates, pd.Series([100.0, 0.0], index=dates), 0.0) is None
    assert xirr(dates, pd.Series([0.0, 0.0], index=dates), 0.0) is None


def test_xirr_of_one_deposit_is_its_annualised_growth():
    # 1,000 in on 2024-01-02, worth 1,010 on 2024-01-08: (1.01)^(365/6) - 1.
    flows = pd.Series([1000.0, 0.0, 0.0, 0.0, 0.0], index=SESSIONS)
    rate = xirr(SESSIONS, flows, 1010.0)
    assert rate == pytest.approx(1.01 ** (365 / 6) - 1, rel=1e-9)
    assert isinstance(rate, float)


def test_sessions_without_money_in_have_no_return():
    transactions = ledger(("2024-01-04", "BUY", "AAA", 10, 99.0, 0.0))
    twr = series(transactions)["twr"]
    assert np.isnan(twr.iloc[0]) and np.isnan(twr.iloc[1])
    assert twr.iloc[2:].tolist() == pytest.approx([0.0, 105 / 99 - 1, 110 / 105 - 1])


def test_several_tickers_with_a_split_a_late_listing_and_two_buys_in_one_session():
    closes = pd.DataFrame(
        {
            "AAA": [np.nan, 10.0, 11.0, 12.0, 13.0],  # listed from the second session
            "BBB": [50.0, 51.0, 52.0, 53.0, 54.0],  # adjusted for its 2:1 split on 01-04
            "CCC": [5.0, 5.0, 5.0, 5.0, 5.0],  # never traded
        },
        index=SESSIONS,
    )
    # Only the split's cell is given: every other session and ticker has ratio 1.
    splits = pd.DataFrame({"BBB": [2.0]}, index=SESSIONS[[2]])
    transactions = ledger(
        ("2024-01-02", "BUY", "BBB", 10, 100.0, 0.0),  # at the raw, unadjusted 100
        ("2024-01-03", "BUY", "AAA", 5, 10.0, 0.0),
        ("2024-01-03", "BUY", "AAA", 5, 10.0, 0.0),
        ("2024-01-04", "SPLIT", "BBB", 2, 0.0, 0.0),
    )
    frame = portfolio_series(transactions, closes, splits).frame
    # BBB: 10 x 100, 10 x 102, then 20 x 52, 20 x 53, 20 x 54; AAA: 10 shares from 01-03.
    assert frame["value"].tolist() == pytest.approx([1000.0, 1120.0, 1150.0, 1180.0, 1210.0])
    assert frame["flow"].tolist() == pytest.approx([1000.0, 100.0, 0.0, 0.0, 0.0])
    assert frame["twr"].tolist() == pytest.approx(
        [0.0, (1120 - 100) / 1000 - 1, 1150 / 1120 - 1, 1180 / 1150 - 1, 1210 / 1180 - 1]
    )


def test_selling_out_leaves_nothing_held_the_next_sessions():
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
        ("2024-01-03", "SELL", "AAA", 4, 102.0, 0.0),
        ("2024-01-04", "SELL", "AAA", 6, 99.0, 0.0),
    )
    frame = series(transactions)
    assert frame["value"].tolist() == pytest.approx([1000.0, 612.0, 0.0, 0.0, 0.0])
    assert frame["flow"].tolist() == pytest.approx([1000.0, -408.0, -594.0, 0.0, 0.0])


def test_a_ledger_of_cash_alone_is_worth_its_cash():
    transactions = ledger(
        ("2024-01-03", "DEPOSIT", None, 1, 2000.0, 0.0),
        ("2024-01-05", "WITHDRAWAL", None, 1, 500.0, 0.0),
    )
    splits = NO_SPLITS.copy()
    splits.loc["2024-01-04", "AAA"] = 2.0  # a split of a ticker the ledger never holds
    frame = portfolio_series(transactions, CLOSES, splits).frame
    assert frame["value"].tolist() == [0.0, 2000.0, 2000.0, 1500.0, 1500.0]
    assert frame["flow"].tolist() == [0.0, 2000.0, 0.0, -500.0, 0.0]
    assert np.isnan(frame["twr"].iloc[0])
    assert frame["twr"].iloc[1:].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_a_single_session_portfolio():
    closes = CLOSES.iloc[:1]
    transactions = ledger(("2024-01-02", "BUY", "AAA", 3, 99.0, 0.0))
    frame = series(transactions, closes)
    assert frame["value"].tolist() == [300.0]
    assert frame["flow"].tolist() == [297.0]
    assert frame["twr"].tolist() == pytest.approx([300.0 / 297.0 - 1])


def test_every_column_is_float64_even_from_float32_closes():
    closes = CLOSES.astype("float32") + np.float32(0.1)
    frame = series(ledger(("2024-01-02", "BUY", "AAA", 3, 100.1, 0.0)), closes)
    # 3 x each close as stored, multiplied in double precision.
    assert frame["value"].tolist() == [3 * float(close) for close in closes["AAA"]]
    assert frame.dtypes.tolist() == [np.dtype("float64")] * 5
    frame = series(CASH_LEDGER)
    assert frame.dtypes.tolist() == [np.dtype("float64")] * 5


def test_a_portfolio_opened_with_many_buys_on_its_first_session():
    # Each ticker's first trade falls on its row's first session, where its run of 0 starts too:
    # the trade must win over the 0 for every ticker, however many there are.
    tickers = [f"T{i}" for i in range(8)]
    closes = pd.DataFrame(
        {
            ticker: [10.0 + i, 11.0 + i, 12.0 + i, 13.0 + i, 14.0 + i]
            for i, ticker in enumerate(tickers)
        },
        index=SESSIONS,
    )
    transactions = ledger(
        *[("2024-01-02", "BUY", ticker, i + 1, 10.0 + i, 0.0) for i, ticker in enumerate(tickers)]
    )
    frame = series(transactions, closes)
    # Day d: sum over i of (i + 1) x (10 + i + d).
    expected = [sum((i + 1) * (10.0 + i + d) for i in range(8)) for d in range(5)]
    assert frame["value"].tolist() == pytest.approx(expected)
    assert frame["flow"].iloc[0] == pytest.approx(expected[0])


def test_splits_on_consecutive_sessions_multiply():
    closes = pd.DataFrame({"AAA": [25.0, 25.0, 25.0]}, index=SESSIONS[:3])
    # 2:1 on the second session and again on the third: adjusted closes are quartered before.
    splits = pd.DataFrame({"AAA": [2.0, 2.0, 2.0]}, index=SESSIONS[:3])
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 1, 100.0, 0.0),
        ("2024-01-03", "SPLIT", "AAA", 2, 0.0, 0.0),
        ("2024-01-04", "SPLIT", "AAA", 2, 0.0, 0.0),
    )
    frame = portfolio_series(transactions, closes, splits).frame
    # 1 share at 25 x 2 x 2 = 100, 2 shares at 25 x 2 = 50, 4 shares at 25.
    assert frame["value"].tolist() == pytest.approx([100.0, 100.0, 100.0])


def test_returns_of_a_portfolio_worth_less_than_one_dollar():
    # 0.50 invested, worth 0.60 the next day: +20 %, however small the amounts.
    returns = time_weighted_returns(pd.Series([0.5, 0.6]), pd.Series([0.5, 0.0]))
    assert returns.tolist() == pytest.approx([0.0, 0.2])


def test_value_that_arrives_without_money_in_has_no_return():
    # Free shares (a spin-off) on the first session: no money in, so no return to speak of.
    returns = time_weighted_returns(pd.Series([0.0, 36.0, 40.0]), pd.Series([0.0, 0.0, 0.0]))
    assert np.isnan(returns.iloc[0]) and np.isnan(returns.iloc[1])
    assert returns.iloc[2] == pytest.approx(40 / 36 - 1)
