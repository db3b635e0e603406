"""Returns that agree with the textbooks, on tiny hand-checked price tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashapp.analytics import metrics
from dashapp.analytics.performance import portfolio_series, time_weighted_returns, xirr
from dashapp.analytics.shadow_portfolios import (
    daily_total_returns,
    growth_of,
    shadow_values,
    total_return_index,
)

SESSIONS = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"])


def ledger(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["trade_date", "kind", "ticker", "quantity", "price", "fees"]
    )
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    frame.insert(0, "id", range(1, len(frame) + 1))
    return frame


def prices(**columns: list[float]) -> pd.DataFrame:
    return pd.DataFrame(columns, index=SESSIONS, dtype="float64")


def no_splits(closes: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(1.0, index=closes.index, columns=closes.columns)


def chain(returns: pd.Series) -> float:
    return float(np.prod(1 + returns.dropna()) - 1)


def test_buy_and_hold_returns_the_price_return():
    closes = prices(AAA=[100.0, 102.0, 99.0, 105.0, 110.0])
    series = portfolio_series(
        ledger(("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0)), closes, no_splits(closes)
    ).frame
    assert series["value"].tolist() == [1000.0, 1020.0, 990.0, 1050.0, 1100.0]
    assert chain(series["twr"]) == pytest.approx(0.10)
    assert series["flow"].tolist() == [1000.0, 0, 0, 0, 0]


def test_deposit_mid_period_leaves_twr_unchanged_and_gives_the_known_xirr():
    closes = prices(AAA=[100.0, 110.0, 121.0, 121.0, 133.1])
    once = ledger(("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0))
    twice = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0), ("2024-01-04", "BUY", "AAA", 10, 121.0, 0.0)
    )
    alone = portfolio_series(once, closes, no_splits(closes)).frame
    with_more = portfolio_series(twice, closes, no_splits(closes)).frame
    assert chain(with_more["twr"]) == pytest.approx(chain(alone["twr"])) == pytest.approx(0.331)
    # Money-weighted: -1,000 on 01-02, -1,210 on 01-04, +2,662 on 01-08. Check: the rate r
    # that zeroes the NPV (actual/365) is what pyxirr and a direct solve agree on.
    rate = xirr(SESSIONS, with_more["flow"], float(with_more["value"].iloc[-1]))
    days = np.array([0, 2, 6]) / 365.0
    npv = (
        -1000 / (1 + rate) ** days[0] - 1210 / (1 + rate) ** days[1] + 2662 / (1 + rate) ** days[2]
    )
    assert npv == pytest.approx(0.0, abs=1e-6)
    assert rate > chain(alone["twr"])  # more money was in during the better days


def test_split_mid_period_keeps_value_continuous():
    # 2:1 split on 01-04: the provider's adjusted closes are halved before it.
    closes = prices(AAA=[50.0, 51.0, 52.0, 53.0, 54.0])
    splits = no_splits(closes)
    splits.loc["2024-01-04", "AAA"] = 2.0
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0), ("2024-01-04", "SPLIT", "AAA", 2, 0.0, 0.0)
    )
    series = portfolio_series(transactions, closes, splits).frame
    assert series["value"].tolist() == pytest.approx([1000.0, 1020.0, 1040.0, 1060.0, 1080.0])
    assert chain(series["twr"]) == pytest.approx(0.08)


def test_dividend_becomes_cash_inside_the_portfolio():
    closes = prices(KO=[60.0, 60.0, 59.5, 59.5, 59.5])
    transactions = ledger(
        ("2024-01-02", "BUY", "KO", 100, 60.0, 0.0), ("2024-01-04", "DIVIDEND", "KO", 100, 0.5, 0.0)
    )
    series = portfolio_series(transactions, closes, no_splits(closes)).frame
    # Price falls by the dividend on the ex-date; the cash received makes up for it.
    assert series["value"].tolist() == pytest.approx([6000.0, 6000.0, 6000.0, 6000.0, 6000.0])
    assert series["dividends"].sum() == 50.0
    assert chain(series["twr"]) == pytest.approx(0.0)


def test_selling_out_and_buying_back():
    closes = prices(AAA=[100.0, 110.0, 120.0, 90.0, 99.0])
    transactions = ledger(
        ("2024-01-02", "BUY", "AAA", 10, 100.0, 0.0),
        ("2024-01-04", "SELL", "AAA", 10, 120.0, 0.0),
        ("2024-01-05", "BUY", "AAA", 5, 90.0, 0.0),
    )
    series = portfolio_series(transactions, closes, no_splits(closes)).frame
    assert series["value"].tolist() == pytest.approx([1000.0, 1100.0, 0.0, 450.0, 495.0])
    assert series["flow"].tolist() == pytest.approx([1000.0, 0.0, -1200.0, 450.0, 0.0])
    # Held 01-02..01-04 (+20 %), out for nothing, back in 01-05..01-08 (+10 %).
    assert chain(series["twr"]) == pytest.approx(1.2 * 1.1 - 1)


def test_portfolio_holding_only_spy_has_a_shadow_identical_to_itself():
    closes = prices(SPY=[470.0, 468.0, 475.0, 477.5, 480.0])
    transactions = ledger(
        ("2024-01-02", "BUY", "SPY", 3, 470.0, 0.0), ("2024-01-04", "BUY", "SPY", 2, 475.0, 0.0)
    )
    series = portfolio_series(transactions, closes, no_splits(closes)).frame
    shadow = shadow_values(series["flow"], total_return_index(closes, closes * 0.0))
    assert shadow["SPY"].tolist() == pytest.approx(series["value"].tolist())


def test_total_return_counts_dividends_and_growth_of_ten_thousand():
    closes = prices(SCHD=[10.0, 10.0, 9.9, 10.0, 10.1])
    dividends = prices(SCHD=[0.0, 0.0, 0.1, 0.0, 0.0])
    returns = daily_total_returns(closes, dividends)["SCHD"]
    assert returns.iloc[2] == pytest.approx(0.0)  # dropped by exactly the dividend
    growth = growth_of(10_000, returns)
    assert growth.iloc[-1] == pytest.approx(10_000 * (10.0 / 9.9) * (10.1 / 10.0))


def test_metrics_on_a_known_series():
    returns = pd.Series([0.01, -0.02, 0.03, 0.0, -0.01])
    assert metrics.total_return(returns) == pytest.approx(1.01 * 0.98 * 1.03 * 1.0 * 0.99 - 1)
    assert metrics.annual_volatility(returns) == pytest.approx(
        np.std(returns, ddof=1) * np.sqrt(252)
    )
    assert metrics.max_drawdown(returns) == pytest.approx(0.98 - 1)  # peak 1.01 -> 0.9898
    downside = np.sqrt(np.mean(np.minimum(returns, 0) ** 2))
    assert metrics.sortino(returns) == pytest.approx(returns.mean() / downside * np.sqrt(252))
    benchmark = returns * 2
    assert metrics.beta(returns, benchmark) == pytest.approx(0.5)
    assert metrics.correlation(returns, benchmark) == pytest.approx(1.0)
    assert metrics.tracking_error(returns, returns) == 0.0
    assert np.isnan(metrics.information_ratio(returns, returns))


def test_twr_before_any_money_is_nan_not_zero():
    returns = time_weighted_returns(
        pd.Series([0.0, 0.0, 100.0, 110.0]), pd.Series([0.0, 0.0, 100.0, 0.0])
    )
    assert np.isnan(returns.iloc[0]) and np.isnan(returns.iloc[1])
    assert returns.iloc[2] == 0.0 and returns.iloc[3] == pytest.approx(0.1)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(-0.05, 0.05), min_size=4, max_size=4),
    st.floats(0.1, 100.0),
    st.integers(1, 3),
)
def test_twr_does_not_depend_on_the_size_or_timing_of_deposits(moves, extra, day):
    path = np.cumprod([1.0, *(1 + np.array(moves))]) * 100
    closes = prices(AAA=list(path))
    base = ledger(("2024-01-02", "BUY", "AAA", 10, path[0], 0.0))
    topped = ledger(
        ("2024-01-02", "BUY", "AAA", 10, path[0], 0.0),
        (SESSIONS[day], "BUY", "AAA", extra, path[day], 0.0),
    )
    first = chain(portfolio_series(base, closes, no_splits(closes)).frame["twr"])
    second = chain(portfolio_series(topped, closes, no_splits(closes)).frame["twr"])
    assert second == pytest.approx(first, rel=1e-9, abs=1e-12)
    assert first == pytest.approx(path[-1] / path[0] - 1, rel=1e-9)
