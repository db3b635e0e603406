"""Backtests that trade as the docstring of the analytics.backtest package says, on tiny hand-checked
tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashapp.analytics.backtest import (
    METRICS,
    TRADE_COLUMNS,
    InvalidBacktest,
    buy_and_hold,
    dollar_cost_average,
    rebalance,
    sma_crossover,
    sma_sweep,
)

# SMA(1) against SMA(2) compares today's close with yesterday's: the rule enters after a fall
# followed by a rise (signals at sessions 2, 5 and 9) and exits after a rise followed by a fall
# (signals at sessions 4 and 7).
SESSIONS = pd.DatetimeIndex(
    [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
        "2024-01-09",
        "2024-01-10",
        "2024-01-11",
        "2024-01-12",
        "2024-01-16",
    ]
)
CLOSES = [10.0, 9.0, 11.0, 12.0, 10.0, 13.0, 14.0, 12.0, 11.0, 15.0]
OPENS = [10.0, 9.5, 10.0, 11.5, 11.0, 12.0, 13.5, 13.0, 12.0, 12.0]


def bars(opens: list[float] = OPENS, closes: list[float] = CLOSES, index=SESSIONS) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Open": opens,
            "High": np.maximum(opens, closes),
            "Low": np.minimum(opens, closes),
            "Close": closes,
        },
        index=index,
    )


def trades_of(result) -> list[tuple]:
    return [
        (row.entry_time, row.entry_price, row.exit_time, row.exit_price, row.size)
        for row in result.trades.itertuples()
    ]


def day(position: int) -> pd.Timestamp:
    return SESSIONS[position]


def test_next_open_fill_buys_whole_shares_at_the_open_after_the_signal():
    result = sma_crossover(bars(), 1, 2, cash=1000)
    # floor(1000 / 11.5) = 86 shares, 11 left; sold at 12 for 1032; floor(1043 / 13.5) = 77.
    assert trades_of(result) == [
        (day(3), 11.5, day(5), 12.0, 86.0),
        (day(6), 13.5, day(8), 12.0, 77.0),
    ]
    assert result.trades["pnl"].tolist() == [43.0, -115.5]
    assert list(result.trades.columns) == TRADE_COLUMNS
    assert result.equity.tolist() == [
        1000,
        1000,
        1000,
        1043,
        871,
        1043,
        1081.5,
        927.5,
        927.5,
        927.5,
    ]
    assert result.cash.tolist() == [1000, 1000, 1000, 11, 11, 1043, 3.5, 3.5, 927.5, 927.5]
    assert result.positions["asset"].tolist() == [0, 0, 0, 86, 86, 0, 77, 77, 0, 0]
    assert result.metrics["trades"] == 2
    assert result.metrics["final_equity"] == 927.5
    assert result.metrics["invested"] == 1000
    assert result.metrics["total_return"] == pytest.approx(-0.0725)


def test_close_fill_trades_at_the_signal_close_and_keeps_the_last_trade_open():
    result = sma_crossover(bars(), 1, 2, cash=1000, fill="close")
    # 90 at 11 (10 left), out at 10 for 910; 70 at 13, out at 12 for 840; 56 at 15 on the last day.
    assert trades_of(result)[:2] == [
        (day(2), 11.0, day(4), 10.0, 90.0),
        (day(5), 13.0, day(7), 12.0, 70.0),
    ]
    last = result.trades.iloc[2]
    assert (last["entry_time"], last["entry_price"], last["size"]) == (day(9), 15.0, 56.0)
    assert pd.isna(last["exit_time"]) and np.isnan(last["exit_price"]) and np.isnan(last["pnl"])
    assert result.equity.tolist() == [1000, 1000, 1000, 1090, 910, 910, 980, 840, 840, 840]
    assert result.metrics["trades"] == 3


def test_fractional_shares_put_all_the_cash_in():
    result = sma_crossover(bars(), 1, 2, cash=1000, whole_shares=False)
    assert result.trades["size"].tolist() == pytest.approx([1000 / 11.5, 1000 * 12 / 11.5 / 13.5])
    assert result.cash.iloc[3] == pytest.approx(0.0, abs=1e-9)
    assert result.metrics["final_equity"] == pytest.approx(1000 * 12 / 11.5 * 12 / 13.5)


def test_commission_and_fixed_fee_are_charged_on_both_sides():
    result = sma_crossover(bars(), 1, 2, cash=1000, commission=0.01, fixed_fee=1.0)
    # Entry: floor((1000 - 1) / (11.5 x 1.01)) = 86, costing 86 x 11.615 + 1 = 999.89.
    # Exit: 86 x 12 x 0.99 - 1 = 1020.68. Entry: floor(1019.79 / 13.635) = 74 for 1009.99.
    # Exit: 74 x 11.88 - 1 = 878.12.
    assert result.trades["size"].tolist() == [86.0, 74.0]
    assert result.trades["pnl"].tolist() == pytest.approx([20.79, -131.87])
    assert result.trades["return_pct"].tolist() == pytest.approx(
        [20.79 / 999.89, -131.87 / 1009.99]
    )
    assert result.cash.iloc[[3, 5, 6, 8]].tolist() == pytest.approx([0.11, 1020.79, 10.80, 888.92])
    assert result.metrics["final_equity"] == pytest.approx(888.92)


def test_dividends_are_paid_in_cash_on_the_ex_date_to_shares_held_at_the_previous_close():
    dividends = pd.Series([0.5, 1.0], index=[day(3), day(6)])
    result = sma_crossover(bars(), 1, 2, cash=1000, fill="close", dividends=dividends)
    # 90 shares held at the close of session 2 earn 45 on session 3; out at 10 -> 955;
    # 73 at 13 (6 left) earn 73 on session 6; out at 12 -> 955; 63 at 15 (10 left).
    assert result.cash.tolist() == [1000, 1000, 10, 55, 955, 6, 79, 955, 955, 10]
    assert result.equity.tolist() == [1000, 1000, 1000, 1135, 955, 955, 1101, 955, 955, 955]
    assert result.trades["size"].tolist() == [90.0, 73.0, 63.0]
    # Dividends are cash, not trade profit.
    assert result.trades["pnl"].tolist()[:2] == [-90.0, -73.0]


def test_a_sale_at_the_open_of_the_ex_date_collects_and_a_purchase_does_not():
    dividends = pd.Series([1.0, 2.0], index=[day(5), day(6)])
    result = sma_crossover(bars(), 1, 2, cash=1000, dividends=dividends)
    # Session 5: 86 x 1 paid, then 86 sold at 12 -> 11 + 86 + 1032 = 1129.
    # Session 6: bought at the open, so no shares at the previous close: floor(1129 / 13.5) = 83.
    assert result.cash.iloc[[5, 6, 8]].tolist() == [1129.0, 8.5, 1004.5]
    assert result.trades["size"].tolist() == [86.0, 83.0]


def test_an_exit_sells_the_whole_position():
    result = sma_crossover(bars(), 1, 2, cash=1000, whole_shares=False, commission=0.003)
    exits = result.trades["exit_time"]
    assert (result.positions.loc[exits, "asset"] == 0).all()


def test_buy_and_hold_buys_at_the_first_fill_and_holds():
    result = buy_and_hold(bars(), cash=1000)
    assert result.trades["entry_time"].tolist() == [day(0)]
    assert result.trades["entry_price"].tolist() == [10.0]
    assert result.trades["size"].tolist() == [100.0]
    assert result.trades["exit_time"].isna().all()
    assert result.equity.tolist() == [100 * close for close in CLOSES]
    at_close = buy_and_hold(bars(), cash=1000, fill="close")
    assert at_close.trades["size"].tolist() == [100.0]
    assert at_close.metrics["final_equity"] == 1500.0


# --- the sweep --------------------------------------------------------------------------------


def random_bars(sessions: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    closes = 50 * np.exp(np.cumsum(rng.normal(0.0002, 0.02, sessions)))
    opens = closes * np.exp(rng.normal(0, 0.006, sessions))
    return bars(list(opens), list(closes), pd.bdate_range("2021-01-04", periods=sessions))


SWEEP_CASES = [
    {},
    {"fill": "close"},
    {"whole_shares": False},
    {"commission": 0.002, "fixed_fee": 4.0},
    {"commission": 0.01, "fixed_fee": 25.0, "cash": 2_500.0, "fill": "close", "dividends": True},
]


@pytest.mark.parametrize("options", SWEEP_CASES)
def test_a_sweep_cell_equals_the_single_run_with_the_same_windows(options):
    ohlc = random_bars(300, 7)
    options = dict(options)
    if options.pop("dividends", False):
        options["dividends"] = pd.Series(0.4, index=ohlc.index[::40])
    fasts, slows = [1, 2, 3, 5, 9], [3, 4, 10, 21, 50]
    tables = {metric: sma_sweep(ohlc, fasts, slows, metric=metric, **options) for metric in METRICS}
    checked = 0
    for fast in fasts:
        for slow in slows:
            if fast >= slow:
                assert np.isnan(tables["final_equity"].loc[fast, slow])
                continue
            single = sma_crossover(ohlc, fast, slow, **options)
            assert tables["final_equity"].loc[fast, slow] == single.metrics["final_equity"]
            assert tables["trades"].loc[fast, slow] == single.metrics["trades"]
            for metric in METRICS:
                assert tables[metric].loc[fast, slow] == pytest.approx(
                    single.metrics[metric], rel=1e-9, abs=1e-12, nan_ok=True
                ), metric
            checked += 1
    assert checked == 20


def test_a_sweep_has_fast_windows_down_and_slow_windows_across():
    table = sma_sweep(random_bars(120, 3), [2, 5], [3, 5, 8], metric="trades")
    assert table.index.tolist() == [2, 5] and table.columns.tolist() == [3, 5, 8]
    assert table.index.name == "fast" and table.columns.name == "slow"
    assert np.isnan(table.loc[5, 3]) and np.isnan(table.loc[5, 5])
    assert table.loc[2, 3] == sma_crossover(random_bars(120, 3), 2, 3).metrics["trades"]


# --- contributions, DCA, rebalancing ----------------------------------------------------------


def test_one_deposit_at_the_start_equals_a_lump_sum():
    deposit = pd.Series([1000.0], index=[pd.Timestamp("2023-12-30")])  # a Saturday: next session
    weights = {"A": 0.5, "B": 0.5}
    runs = [
        (
            sma_crossover(bars(), 1, 2, cash=1000.0, commission=0.001),
            sma_crossover(bars(), 1, 2, commission=0.001, contributions=deposit),
        ),
        (
            buy_and_hold(bars(), cash=1000.0, fixed_fee=2.0),
            buy_and_hold(bars(), fixed_fee=2.0, contributions=deposit),
        ),
        (
            buy_and_hold(bars(), cash=1000.0),
            dollar_cost_average(bars(), 1.0, contributions=deposit),
        ),
        (
            rebalance(*basket(), weights, "monthly", cash=1000.0),
            rebalance(*basket(), weights, "monthly", contributions=deposit),
        ),
    ]
    for lump, flowed in runs:
        pd.testing.assert_series_equal(flowed.equity, lump.equity)
        pd.testing.assert_frame_equal(flowed.trades, lump.trades)
        assert flowed.metrics == pytest.approx(lump.metrics, nan_ok=True)


def test_a_deposit_while_long_buys_more_and_a_deposit_while_flat_waits():
    deposits = pd.Series([500.0, 200.0], index=[day(7), day(1)])
    result = sma_crossover(bars(), 1, 2, cash=1000, contributions=deposits)
    # 1200 at the first entry: floor(1200 / 11.5) = 104 (4 left); out at 12 -> 1252;
    # floor(1252 / 13.5) = 92 (10 left); 510 on session 7 buys floor(510 / 13) = 39 (3 left);
    # 131 shares out at 12 -> 1575.
    first, second = result.trades.itertuples()
    assert (first.size, second.size) == (104.0, 131.0)
    assert second.entry_price == pytest.approx((92 * 13.5 + 39 * 13) / 131)
    assert second.pnl == pytest.approx(131 * 12 - (92 * 13.5 + 39 * 13))
    assert result.metrics["final_equity"] == 1575.0
    assert result.metrics["invested"] == 1700.0
    assert result.cash.iloc[1] == 1200.0


def test_a_withdrawal_while_invested_sells_the_whole_shares_it_needs():
    withdrawal = pd.Series([-250.0], index=[day(4)])
    result = buy_and_hold(bars(), cash=1000, contributions=withdrawal)
    # 100 shares at 10; session 4 needs 250 at the open of 11: ceil(250 / 11) = 23 shares -> 3 left.
    assert result.trades["size"].tolist() == [100.0, -23.0]
    assert result.cash.iloc[4] == 3.0
    assert result.positions["asset"].iloc[4] == 77.0
    assert result.metrics["invested"] == 750.0


def test_a_calendar_order_fills_at_the_open_of_its_own_session():
    # Buy-and-hold uses no price to decide, so its first order fills at the first open, 8.
    opens = [8.0, *OPENS[1:]]
    result = buy_and_hold(bars(opens), cash=1000)
    assert result.trades["entry_time"].tolist() == [day(0)]
    assert result.trades["entry_price"].tolist() == [8.0]
    assert result.trades["size"].tolist() == [125.0]
    assert result.equity.iloc[0] == 1250.0


def test_a_withdrawal_while_flat_leaves_cash_below_zero_and_buys_nothing():
    withdrawal = pd.Series([-150.0], index=[day(1)])
    result = sma_crossover(bars(), 1, 2, cash=100, contributions=withdrawal)
    # Flat until session 3, so no share can be sold: cash is 100 - 150 from session 1 on, and
    # the entry signals find no cash to invest.
    assert result.cash.tolist() == [100.0] + [-50.0] * 9
    assert result.trades.empty
    assert result.metrics["final_equity"] == -50.0
    assert result.metrics["invested"] == -50.0


def test_dca_buys_on_the_first_session_of_each_month():
    index = pd.DatetimeIndex(
        [
            "2024-01-30",
            "2024-01-31",
            "2024-02-01",
            "2024-02-02",
            "2024-02-29",
            "2024-03-01",
            "2024-03-04",
        ]
    )
    opens = [10.0, 11.0, 20.0, 21.0, 22.0, 25.0, 26.0]
    closes = [10.5, 11.5, 20.5, 21.5, 22.5, 25.5, 26.5]
    at_open = dollar_cost_average(bars(opens, closes, index), 100.0)
    assert at_open.trades["entry_time"].tolist() == [index[0], index[2], index[5]]
    assert at_open.trades["size"].tolist() == [10.0, 5.0, 4.0]
    assert at_open.metrics["final_equity"] == 19 * 26.5
    assert at_open.metrics["invested"] == 300.0
    at_close = dollar_cost_average(bars(opens, closes, index), 100.0, fill="close")
    # 9 at 10.5 (5.5 left); floor(105.5 / 20.5) = 5 (3 left); floor(103 / 25.5) = 4 (1 left).
    assert at_close.trades["size"].tolist() == [9.0, 5.0, 4.0]
    assert at_close.cash.tolist() == [5.5, 5.5, 3.0, 3.0, 3.0, 1.0, 1.0]
    assert at_close.metrics["final_equity"] == 1 + 18 * 26.5


def basket() -> tuple[pd.DataFrame, pd.DataFrame]:
    index = pd.DatetimeIndex(
        ["2024-01-02", "2024-02-01", "2024-03-01", "2024-04-01", "2024-04-02", "2024-07-01"]
    )
    closes = pd.DataFrame(
        {"A": [10.0, 20.0, 20.0, 40.0, 40.0, 10.0], "B": [10.0, 10.0, 5.0, 10.0, 10.0, 10.0]},
        index=index,
    )
    return closes.copy(), closes


def test_quarterly_rebalance_brings_the_basket_back_to_its_weights():
    opens, closes = basket()
    result = rebalance(
        opens, closes, {"A": 0.5, "B": 0.5}, "quarterly", cash=1000, whole_shares=False
    )
    # April 1: 50 x 40 + 50 x 10 = 2500 -> 31.25 A and 125 B; July 1: 1562.5 -> 78.125 each.
    assert result.positions["A"].tolist() == [50, 50, 50, 31.25, 31.25, 78.125]
    assert result.positions["B"].tolist() == [50, 50, 50, 125, 125, 78.125]
    assert result.equity.tolist() == [1000, 1500, 1250, 2500, 2500, 1562.5]
    assert result.trades["size"].tolist() == [50, 50, -18.75, 75, -46.875, 46.875]
    assert result.trades["ticker"].tolist() == ["A", "B", "A", "B", "B", "A"]


def test_monthly_rebalance_with_costs_sells_first_and_scales_purchases_to_the_cash():
    opens, closes = basket()
    result = rebalance(
        opens, closes, {"A": 0.5, "B": 0.5}, "monthly", cash=1000, commission=0.01, fixed_fee=1.0
    )
    # January: 50 + 50 shares would cost 1012 > 998 of budget -> scaled and floored to 49 + 49.
    # February: value 1478.2 -> targets 36 A, 73 B: sell 13 A (256.4), buy 24 B (243.4).
    assert result.positions["A"].tolist() == [49, 36, 27, 27, 27, 68]
    assert result.positions["B"].tolist() == [49, 73, 110, 109, 109, 68]
    assert result.cash.tolist() == pytest.approx([8.2, 21.2, 10.55, 19.45, 19.45, 9.25])


def test_dividends_of_a_basket_are_paid_in_cash():
    opens, closes = basket()
    dividends = pd.DataFrame({"B": [0.0, 1.0, 0, 0, 0, 0]}, index=closes.index)
    result = rebalance(
        opens, closes, {"A": 0.5, "B": 0.5}, "yearly", cash=1000, fill="close", dividends=dividends
    )
    assert result.cash.tolist() == [0, 50, 50, 50, 50, 50]


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "field"),
    [
        (lambda: sma_crossover(bars(), 3, 3), "fast"),
        (lambda: sma_crossover(bars(), 0, 3), "fast"),
        (lambda: sma_crossover(bars(), 2, 11), "slow"),
        (lambda: sma_crossover(bars(), 1, 2, cash=0), "cash"),
        (lambda: sma_crossover(bars(), 1, 2, commission=-0.01), "commission"),
        (lambda: sma_crossover(bars(), 1, 2, fixed_fee=-1), "fixed_fee"),
        (lambda: sma_crossover(bars(), 1, 2, fill="open"), "fill"),
        (lambda: sma_crossover(bars().iloc[:0], 1, 2), "ohlc"),
        (lambda: sma_crossover(bars(closes=[*CLOSES[:4], np.nan, *CLOSES[5:]]), 1, 2), "ohlc"),
        (lambda: buy_and_hold(bars()[["Close"]]), "ohlc"),
        (lambda: dollar_cost_average(bars(), 0.0), "amount"),
        (lambda: rebalance(*basket(), {"A": 0.5, "B": 0.4}, "monthly"), "weights"),
        (lambda: rebalance(*basket(), {"A": 0.5, "C": 0.5}, "monthly"), "weights"),
        (lambda: rebalance(*basket(), {"A": 1.0}, "weekly"), "frequency"),
        (lambda: sma_sweep(bars(), [2], [3], metric="profit"), "metric"),
        (lambda: sma_sweep(bars(), [5], [3]), "slow_windows"),
        (lambda: sma_sweep(bars(), [2], [30]), "slow_windows"),
    ],
)
def test_bad_input_raises_invalid_backtest_naming_the_field(run, field):
    with pytest.raises(InvalidBacktest) as raised:
        run()
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    moves=st.lists(st.floats(-0.2, 0.2), min_size=12, max_size=40),
    fast=st.integers(1, 4),
    extra=st.integers(1, 6),
    fill=st.sampled_from(["next_open", "close"]),
    whole=st.booleans(),
    commission=st.sampled_from([0.0, 0.001, 0.02]),
    fee=st.sampled_from([0.0, 3.0]),
)
def test_equity_is_cash_plus_shares_at_the_close_and_cash_never_goes_negative(
    moves, fast, extra, fill, whole, commission, fee
):
    closes = list(20 * np.exp(np.cumsum(moves)))
    opens = [closes[0], *closes[:-1]]
    ohlc = bars(opens, closes, pd.bdate_range("2024-01-01", periods=len(closes)))
    slow = min(fast + extra, len(closes))
    result = sma_crossover(
        ohlc,
        fast,
        slow,
        cash=1000,
        fill=fill,
        whole_shares=whole,
        commission=commission,
        fixed_fee=fee,
    )
    assert np.allclose(
        result.equity, result.cash + result.positions["asset"] * ohlc["Close"], rtol=0, atol=1e-9
    )
    assert (result.cash >= -1e-9).all()
    assert (result.positions["asset"] >= 0).all()
    swept = sma_sweep(
        ohlc,
        [fast],
        [slow],
        metric="final_equity",
        cash=1000,
        fill=fill,
        whole_shares=whole,
        commission=commission,
        fixed_fee=fee,
    )
    assert swept.loc[fast, slow] == result.metrics["final_equity"]
