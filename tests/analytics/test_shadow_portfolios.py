"""Total-return indices and shadow portfolios with dividends, on hand-worked tables (issue 17).

Four sessions of ticker A: closes 10, 10.5, (none: the 10.5 stands), 10.0, 11.0 with a 0.50
dividend on the fourth session; B starts trading on the second session. Every expected number
below is worked out in the comments from TR_t = TR_(t-1) x (close_t + dividend_t) / close_(t-1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashapp.analytics.shadow_portfolios import (
    daily_total_returns,
    growth_of,
    shadow_dividends,
    shadow_values,
    total_return_index,
)

SESSIONS = pd.DatetimeIndex(["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"])
CLOSES = pd.DataFrame(
    {"A": [10.0, 10.5, np.nan, 10.0, 11.0], "B": [np.nan, 20.0, 21.0, 20.0, 22.0]}, index=SESSIONS
)
# Only the session with a dividend, only the ticker that pays it: the rest counts as 0.
DIVIDENDS = pd.DataFrame({"A": [0.5]}, index=SESSIONS[[3]])


def column(frame: pd.DataFrame, name: str) -> list[float]:
    return frame[name].tolist()


def test_total_return_index_adds_the_dividend_back():
    index = total_return_index(CLOSES, DIVIDENDS)
    # A: 1; 10.5/10 = 1.05; 10.5/10.5 = 1; (10 + 0.5)/10.5 = 1 (the drop is the dividend);
    # 11/10 = 1.1.
    assert column(index, "A") == pytest.approx([1.0, 1.05, 1.05, 1.05, 1.155], rel=1e-12)
    # B: nothing before its first close, then 1, 21/20, 20/21, 22/20.
    assert np.isnan(index["B"].iloc[0])
    assert column(index, "B")[1:] == pytest.approx([1.0, 1.05, 1.0, 1.1], rel=1e-12)


def test_daily_total_returns_count_the_dividend():
    returns = daily_total_returns(CLOSES, DIVIDENDS)
    assert np.isnan(returns["A"].iloc[0])
    assert column(returns, "A")[1:] == pytest.approx([0.05, 0.0, 0.0, 0.1], abs=1e-12)
    assert column(returns, "B")[2:] == pytest.approx([0.05, 20 / 21 - 1, 0.1], rel=1e-12)


def test_shadow_values_buy_and_sell_units_at_each_days_index():
    index = total_return_index(CLOSES, DIVIDENDS)
    flows = pd.Series([1000.0, 0.0, 525.0, -210.0, 0.0], index=SESSIONS)
    shadow = shadow_values(flows, index)
    # Units of A: 1000/1 = 1000, + 525/1.05 = 500, - 210/1.05 = 200 sold: 1000, 1000, 1500,
    # 1300, 1300; value = units x TR.
    assert column(shadow, "A") == pytest.approx([1000.0, 1050.0, 1575.0, 1365.0, 1501.5])


def test_shadow_dividends_are_the_previous_days_shares_times_the_dividend():
    index = total_return_index(CLOSES, DIVIDENDS)
    flows = pd.Series([1000.0, 0.0, 0.0, 0.0, 0.0], index=SESSIONS)
    earned = shadow_dividends(flows, CLOSES, DIVIDENDS, index)
    # 1000 buys 100 shares of A at 10; worth 1050 at 10.5 the day before the dividend: still
    # 100 shares, so 100 x 0.50 = 50. After it the reinvested dividend makes 105 shares.
    assert column(earned, "A") == pytest.approx([0.0, 0.0, 0.0, 50.0, 0.0])
    assert column(earned, "B") == [0.0] * 5
    shares = shadow_values(flows, index)["A"] / CLOSES["A"].ffill()
    assert shares.iloc[3] == pytest.approx(105.0)


def test_growth_of_an_amount_compounds_daily_returns():
    returns = pd.Series([np.nan, 0.1, -0.5, 0.2], index=SESSIONS[:4])
    assert growth_of(10_000, returns).tolist() == pytest.approx([10_000, 11_000, 5_500, 6_600])
    frame = pd.DataFrame({"X": returns, "Y": [0.0, 0.0, 0.0, 0.05]}, index=SESSIONS[:4])
    grown = growth_of(100.0, frame)
    assert column(grown, "Y") == pytest.approx([100.0, 100.0, 100.0, 105.0])


def test_shadow_dividends_follow_money_added_and_nothing_is_held_before_the_first_day():
    dividends = pd.DataFrame({"A": [0.2, 0.5]}, index=SESSIONS[[0, 3]])
    index = total_return_index(CLOSES, dividends)
    flows = pd.Series([1000.0, 0.0, 525.0, 0.0, 0.0], index=SESSIONS)
    earned = shadow_dividends(flows, CLOSES, dividends, index)
    # Day one's dividend went to whoever held A before the money came: none of it here.
    # 100 shares on day one and two; 525 more buys 50 at 10.5 on day three: 150 x 0.50 = 75.
    assert column(earned, "A") == pytest.approx([0.0, 0.0, 0.0, 75.0, 0.0])


def test_shadow_dividends_after_a_withdrawal_and_a_deposit_on_the_ex_date():
    index = total_return_index(CLOSES, DIVIDENDS)
    flows = pd.Series([1000.0, 0.0, -315.0, 500.0, 0.0], index=SESSIONS)
    earned = shadow_dividends(flows, CLOSES, DIVIDENDS, index)
    # A's TR is 1, 1.05, 1.05, 1.05, 1.155. Units: 1000 / 1 = 1000; the withdrawal sells
    # 315 / 1.05 = 300 of them on the third session, leaving 700, worth 700 x 1.05 = 735, which
    # is 735 / 10.5 = 70 shares. The ex-date pays those 70 shares 0.50: 35. The 500 deposited
    # on the ex-date lands at its close and earns none of that day's dividend.
    assert column(earned, "A") == pytest.approx([0.0, 0.0, 0.0, 35.0, 0.0], abs=1e-9)
    # B pays nothing, whatever is held of it.
    assert column(earned, "B") == [0.0] * 5
