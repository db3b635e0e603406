"""A period's returns start on its second session, as a benchmark's do (issue 16's closing note)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashapp.analytics import metrics
from dashapp.analytics.performance import period_returns, time_weighted_returns


def test_a_period_from_nothing_joins_its_first_return_to_the_second():
    # 10 shares bought at 99, closing at 100, 105, 110: the first session's 100 / 99 - 1 is the
    # trade-to-close move of part of a session; it joins the second's 105 / 100 - 1.
    twr = time_weighted_returns(pd.Series([1000.0, 1050.0, 1100.0]), pd.Series([990.0, 0.0, 0.0]))
    returns = period_returns(twr, invested_before=False)
    assert np.isnan(returns.iloc[0])
    assert returns.iloc[1:].tolist() == pytest.approx([1050 / 990 - 1, 1100 / 1050 - 1])
    assert metrics.total_return(returns) == pytest.approx(metrics.total_return(twr))


def test_a_period_with_money_already_in_starts_at_its_first_close():
    twr = pd.Series([0.02, 0.05, -0.01])
    returns = period_returns(twr, invested_before=True)
    assert np.isnan(returns.iloc[0]) and returns.iloc[1:].tolist() == [0.05, -0.01]


def test_the_same_stock_bought_at_the_close_has_its_own_returns():
    closes = pd.Series([100.0, 104.0, 101.0, 107.0])
    twr = time_weighted_returns(closes * 10, pd.Series([1000.0, 0.0, 0.0, 0.0]))
    stock = closes / closes.shift(1) - 1
    returns = period_returns(twr, invested_before=False)
    assert returns.iloc[1:].tolist() == pytest.approx(stock.iloc[1:].tolist(), rel=1e-12)
    assert metrics.cagr(returns) == pytest.approx(metrics.cagr(stock), rel=1e-12)


def test_a_single_invested_session_keeps_its_return():
    returns = period_returns(pd.Series([300.0 / 297.0 - 1]), invested_before=False)
    assert returns.tolist() == pytest.approx([300.0 / 297.0 - 1])


def test_a_single_session_with_money_already_in_has_no_return_of_the_period():
    # Its one return is the move from the close before the period: not the period's.
    assert np.isnan(period_returns(pd.Series([0.05]), invested_before=True).iloc[0])


def test_an_empty_period_has_no_returns():
    assert period_returns(pd.Series([], dtype="float64"), invested_before=False).empty
