"""Performance metrics against values worked out independently (issue 17).

Expected values come from Python's `statistics` and `math` on plain lists, written out from the
formulas in the module docstring, never from the code under test: a flipped sign, a lost
risk-free rate or a wrong ddof in analytics/metrics.py changes a number asserted here. The tests
"worked by hand" at the end go further: their expected values are literal numbers, with the
arithmetic that gives them in a comment.
"""

from __future__ import annotations

import math
import statistics
import warnings

import numpy as np
import pandas as pd
import pytest

from dashapp.analytics import metrics

RF = 0.05  # a 5 % annual risk-free rate
DAILY_RF = 1.05 ** (1 / 252) - 1
PORTFOLIO = [0.012, -0.008, 0.015, -0.021, 0.004, 0.009]
BENCHMARK = [0.010, -0.005, 0.011, -0.015, 0.002, 0.006]


def series(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.bdate_range("2024-01-02", periods=len(values)))


def beta_by_hand(r: list[float], b: list[float]) -> float:
    return statistics.covariance(r, b) / statistics.variance(b)


def test_daily_risk_free_compounds_back_to_the_annual_rate():
    daily = metrics.daily_risk_free(RF)
    assert daily == pytest.approx(0.000193630, rel=1e-5)
    assert (1 + daily) ** 252 == pytest.approx(1.05, rel=1e-12)


def test_sharpe_subtracts_the_daily_risk_free_rate():
    excess = [r - DAILY_RF for r in PORTFOLIO]
    expected = statistics.mean(excess) / statistics.stdev(excess) * math.sqrt(252)
    assert metrics.sharpe(series(PORTFOLIO), RF) == pytest.approx(expected, rel=1e-12)
    # The rate lowers the ratio; without one the ratio is mean / stdev of the raw returns.
    plain = statistics.mean(PORTFOLIO) / statistics.stdev(PORTFOLIO) * math.sqrt(252)
    assert metrics.sharpe(series(PORTFOLIO)) == pytest.approx(plain, rel=1e-12)
    assert expected < plain


def test_sortino_subtracts_the_daily_risk_free_rate():
    excess = [r - DAILY_RF for r in PORTFOLIO]
    downside = math.sqrt(statistics.mean([min(x, 0.0) ** 2 for x in excess]))
    expected = statistics.mean(excess) / downside * math.sqrt(252)
    assert metrics.sortino(series(PORTFOLIO), RF) == pytest.approx(expected, rel=1e-12)
    raw_downside = math.sqrt(statistics.mean([min(x, 0.0) ** 2 for x in PORTFOLIO]))
    plain = statistics.mean(PORTFOLIO) / raw_downside * math.sqrt(252)
    assert metrics.sortino(series(PORTFOLIO)) == pytest.approx(plain, rel=1e-12)


def test_summary_passes_the_risk_free_rate_on():
    summary = metrics.summary(series(PORTFOLIO), risk_free=RF)
    assert summary["sharpe"] == pytest.approx(metrics.sharpe(series(PORTFOLIO), RF), rel=1e-12)
    assert summary["sortino"] == pytest.approx(metrics.sortino(series(PORTFOLIO), RF), rel=1e-12)
    assert summary["sharpe"] != pytest.approx(metrics.sharpe(series(PORTFOLIO)), rel=1e-6)
    assert summary["sortino"] != pytest.approx(metrics.sortino(series(PORTFOLIO)), rel=1e-6)


def test_one_session_is_enough_for_the_metrics_that_need_one():
    one_loss = series([-0.1])
    assert metrics.total_return(one_loss) == pytest.approx(-0.1)
    assert metrics.cagr(series([0.01])) == pytest.approx(1.01**252 - 1, rel=1e-12)
    assert metrics.max_drawdown(one_loss) == pytest.approx(-0.1)
    # Excess -0.01, downside sqrt(mean(0.01^2)) = 0.01: the ratio is -1 x sqrt(252).
    assert metrics.sortino(series([-0.01])) == pytest.approx(-math.sqrt(252))


def test_two_sessions_have_a_volatility_and_a_correlation():
    assert metrics.annual_volatility(series([0.01, 0.03])) == pytest.approx(
        statistics.stdev([0.01, 0.03]) * math.sqrt(252), rel=1e-12
    )
    assert metrics.correlation(series([0.01, 0.03]), series([0.02, 0.05])) == pytest.approx(1.0)
    assert metrics.correlation(series([0.01, 0.03]), series([0.05, 0.02])) == pytest.approx(-1.0)


def test_no_sessions_give_nan_not_a_number_that_looks_real():
    empty = series([])
    for metric in (metrics.total_return, metrics.cagr, metrics.sortino, metrics.max_drawdown):
        assert np.isnan(metric(empty)), metric.__name__
    only_nan = series([np.nan, np.nan])
    assert np.isnan(metrics.total_return(only_nan))
    assert np.isnan(metrics.cagr(only_nan))


def test_a_total_loss_compounds_to_minus_one():
    assert metrics.cagr(series([0.5, -1.0])) == -1.0


def test_nullable_and_float32_returns_are_computed_in_float64():
    nullable = pd.Series([0.1, pd.NA, 0.1], dtype="Float64")
    assert metrics.total_return(nullable) == pytest.approx(0.21, abs=1e-15)
    single = pd.Series([0.1, 0.1], dtype="float32")
    as_double = float(np.float32(0.1))
    assert metrics.total_return(single) == (1 + as_double) ** 2 - 1


def test_drawdown_from_the_running_peak_of_wealth_that_starts_at_one():
    # Wealth 0.9, 1.08, 0.54, 0.54 (NaN is no change), 0.648; peaks 1, 1.08, 1.08, 1.08, 1.08.
    returns = series([-0.1, 0.2, -0.5, np.nan, 0.2])
    expected = [-0.1, 0.0, -0.5, -0.5, 0.648 / 1.08 - 1]
    assert metrics.drawdown(returns).tolist() == pytest.approx(expected, rel=1e-12)
    frame = pd.DataFrame({"A": returns, "B": series([0.1, 0.1, -0.1, 0.0, 0.0])})
    result = metrics.drawdown(frame)
    assert result["A"].tolist() == pytest.approx(expected, rel=1e-12)
    assert result["B"].tolist() == pytest.approx([0.0, 0.0, -0.1, -0.1, -0.1], rel=1e-12)


def test_beta_is_covariance_over_benchmark_variance():
    expected = beta_by_hand(PORTFOLIO, BENCHMARK)
    assert metrics.beta(series(PORTFOLIO), series(BENCHMARK)) == pytest.approx(expected, rel=1e-12)


def test_beta_and_alpha_are_nan_against_a_flat_benchmark():
    flat = series([0.0] * len(PORTFOLIO))
    assert np.isnan(metrics.beta(series(PORTFOLIO), flat))
    assert np.isnan(metrics.alpha(series(PORTFOLIO), flat, RF))


def test_alpha_is_jensens_alpha_compounded_over_a_year():
    slope = beta_by_hand(PORTFOLIO, BENCHMARK)
    daily = statistics.mean(
        [r - DAILY_RF - slope * (b - DAILY_RF) for r, b in zip(PORTFOLIO, BENCHMARK, strict=True)]
    )
    expected = (1 + daily) ** 252 - 1
    got = metrics.alpha(series(PORTFOLIO), series(BENCHMARK), RF)
    assert got == pytest.approx(expected, rel=1e-10)
    plain = statistics.mean([r - slope * b for r, b in zip(PORTFOLIO, BENCHMARK, strict=True)])
    assert metrics.alpha(series(PORTFOLIO), series(BENCHMARK)) == pytest.approx(
        (1 + plain) ** 252 - 1, rel=1e-10
    )


def test_tracking_error_and_information_ratio_on_series_that_differ():
    active = [r - b for r, b in zip(PORTFOLIO, BENCHMARK, strict=True)]
    error = statistics.stdev(active) * math.sqrt(252)
    ratio = statistics.mean(active) * 252 / error
    r, b = series(PORTFOLIO), series(BENCHMARK)
    assert metrics.tracking_error(r, b) == pytest.approx(error, rel=1e-12)
    assert metrics.information_ratio(r, b) == pytest.approx(ratio, rel=1e-12)


def test_tracking_a_benchmark_exactly_has_no_information_ratio():
    r = series(PORTFOLIO)
    assert metrics.tracking_error(r, r) == 0.0
    assert np.isnan(metrics.information_ratio(r, r))


def test_relative_metrics_use_only_sessions_where_both_have_a_return():
    r = series([np.nan, *PORTFOLIO])
    b = series([0.02, *BENCHMARK])
    assert metrics.beta(r, b) == pytest.approx(beta_by_hand(PORTFOLIO, BENCHMARK), rel=1e-12)
    assert metrics.correlation(r, b) == pytest.approx(
        statistics.correlation(PORTFOLIO, BENCHMARK), rel=1e-12
    )


def test_relative_collects_each_metric_against_the_benchmark():
    r, b = series(PORTFOLIO), series(BENCHMARK)
    with_rate = metrics.relative(r, b, RF)
    assert with_rate == pytest.approx(
        {
            "beta": metrics.beta(r, b),
            "alpha": metrics.alpha(r, b, RF),
            "correlation": statistics.correlation(PORTFOLIO, BENCHMARK),
            "tracking_error": metrics.tracking_error(r, b),
            "information_ratio": metrics.information_ratio(r, b),
        },
        rel=1e-12,
    )
    assert metrics.relative(r, b)["alpha"] == pytest.approx(metrics.alpha(r, b), rel=1e-12)


# pandas 3 warns that concat will stop sorting a union of DatetimeIndexes; the metrics do not
# depend on the order, so the values are asserted here and the warning in the test below.
@pytest.mark.filterwarnings(
    "ignore:Sorting by default when concatenating:pandas.errors.Pandas4Warning"
)
def test_relative_metrics_align_series_with_different_sessions_by_date():
    # The benchmark has a session the portfolio lacks and lists its sessions in another order.
    r = series(PORTFOLIO)
    extra = pd.Series([0.5], index=pd.DatetimeIndex(["2023-12-29"]))
    b = pd.concat([series(BENCHMARK), extra]).iloc[::-1]
    active = [x - y for x, y in zip(PORTFOLIO, BENCHMARK, strict=True)]
    assert metrics.beta(r, b) == pytest.approx(beta_by_hand(PORTFOLIO, BENCHMARK), rel=1e-12)
    assert metrics.tracking_error(r, b) == pytest.approx(
        statistics.stdev(active) * math.sqrt(252), rel=1e-12
    )
    relative = metrics.relative(r, b, RF)
    assert relative["beta"] == pytest.approx(beta_by_hand(PORTFOLIO, BENCHMARK), rel=1e-12)
    assert relative["correlation"] == pytest.approx(
        statistics.correlation(PORTFOLIO, BENCHMARK), rel=1e-12
    )


def test_relative_metrics_of_float32_series_are_computed_in_float64():
    r = series(PORTFOLIO).astype("float32")
    b = series(BENCHMARK).astype("float32")
    as_double = [float(x) for x in r], [float(x) for x in b]
    assert metrics.beta(r, b) == pytest.approx(beta_by_hand(*as_double), rel=1e-12)


def test_beta_needs_two_common_sessions():
    two = series([0.01, 0.03]), series([0.02, 0.06])
    assert metrics.beta(*two) == pytest.approx(0.5)
    one = series([0.01]), series([0.02])
    assert np.isnan(metrics.beta(*one))
    assert np.isnan(metrics.alpha(*one))
    assert np.isnan(metrics.relative(*one)["beta"])


def test_aligning_different_sessions_warns_of_nothing():
    extra = pd.Series([0.5], index=pd.DatetimeIndex(["2023-12-29"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics.beta(series(PORTFOLIO), pd.concat([series(BENCHMARK), extra]))


# --- worked by hand ---------------------------------------------------------------------------

THREE = [0.02, -0.01, 0.02]
# An annual rate whose daily equivalent, (1 + rf)^(1/252) - 1, is 0.1 %.
RF_TENTH_PERCENT_A_DAY = 1.001**252 - 1
# BENCH has mean 0; TWICE = 2 x BENCH + 0.001, written out.
BENCH = [0.01, -0.01, 0.03, -0.03]
TWICE = [0.021, -0.019, 0.061, -0.059]


def test_sharpe_of_three_sessions_worked_by_hand():
    # mean = (0.02 - 0.01 + 0.02) / 3 = 0.01; deviations 0.01, -0.02, 0.01, squares 0.0006 in
    # all, sample variance 0.0006 / 2 = 0.0003, std = sqrt(0.0003).
    # Sharpe = 0.01 / sqrt(0.0003) x sqrt(252) = sqrt(1/3) x sqrt(252) = sqrt(84) = 9.1651514.
    assert metrics.sharpe(series(THREE)) == pytest.approx(9.1651514, rel=1e-7)
    # A risk-free 0.1 % a day leaves the std alone and the mean excess at 0.009:
    # 0.9 x sqrt(84) = 8.2486363.
    assert metrics.sharpe(series(THREE), RF_TENTH_PERCENT_A_DAY) == pytest.approx(
        8.2486363, rel=1e-7
    )


def test_cagr_of_half_a_year_worked_by_hand():
    # 126 sessions, half of 252: +10 %, +10 %, then 124 flat. Growth 1.1 x 1.1 = 1.21, total
    # return 0.21, CAGR = 1.21^(252 / 126) - 1 = 1.21^2 - 1 = 0.4641.
    half_year = [0.1, 0.1] + [0.0] * 124
    assert metrics.total_return(series(half_year)) == pytest.approx(0.21, rel=1e-12)
    assert metrics.cagr(series(half_year)) == pytest.approx(0.4641, rel=1e-12)
    # A NaN (no money in yet) is no session: still 126 sessions, still 0.4641.
    assert metrics.cagr(series([np.nan, *half_year])) == pytest.approx(0.4641, rel=1e-12)


def test_calmar_of_half_a_year_worked_by_hand():
    # Wealth 1.25, 1.25 x 0.8 = 1.0, 1.0 x 1.21 = 1.21, then flat: 126 sessions in all. The
    # peak is 1.25 and the trough after it 1.0, so max drawdown = 1.0 / 1.25 - 1 = -0.2.
    # CAGR = 1.21^(252 / 126) - 1 = 0.4641; Calmar = 0.4641 / |-0.2| = 2.3205.
    returns = series([0.25, -0.2, 0.21] + [0.0] * 123)
    assert metrics.max_drawdown(returns) == pytest.approx(-0.2, rel=1e-12)
    assert metrics.calmar(returns) == pytest.approx(2.3205, rel=1e-12)
    # Wealth that never falls below its peak has no drawdown to divide by.
    assert np.isnan(metrics.calmar(series([0.1, 0.0, 0.1])))


def test_beta_and_alpha_worked_by_hand():
    # BENCH: mean 0, sample variance (0.0001 + 0.0001 + 0.0009 + 0.0009) / 3 = 0.002 / 3.
    # TWICE: mean 0.001, deviations from it 2 x BENCH, so cov = 2 x 0.002 / 3 and beta = 2.
    r, b = series(TWICE), series(BENCH)
    assert metrics.beta(r, b) == pytest.approx(2.0, rel=1e-12)
    # Alpha: mean(r - 2 x b) = 0.001 a day; (1 + 0.001)^252 - 1 = 0.2864340.
    assert metrics.alpha(r, b) == pytest.approx(0.2864340, rel=1e-6)
    # With rf = 0.1 % a day: mean(r - rf - 2 x (b - rf)) = 0.001 + rf = 0.002 a day;
    # 1.002^252 - 1 = 0.6544964. A beta above 1 turns the risk-free rate into alpha.
    assert metrics.alpha(r, b, RF_TENTH_PERCENT_A_DAY) == pytest.approx(0.6544964, rel=1e-6)


def test_a_portfolio_that_ignores_the_market_has_beta_and_alpha_zero():
    # Both series have mean 0; the products of their deviations, 0.0001, -0.0001, -0.0001 and
    # 0.0001, sum to 0: cov 0, beta 0. Alpha = (1 + mean(r))^252 - 1 = 1^252 - 1 = 0.
    r = series([0.01, 0.01, -0.01, -0.01])
    b = series([0.01, -0.01, 0.01, -0.01])
    assert metrics.beta(r, b) == pytest.approx(0.0, abs=1e-12)
    assert metrics.alpha(r, b) == pytest.approx(0.0, abs=1e-12)


def test_beta_and_alpha_are_undefined_against_a_constant_benchmark():
    # A benchmark earning 10 % every session has no variance: beta = cov / var is 0 / 0.
    # numpy's var([0.1, 0.1, 0.1], ddof=1) is 2.9e-34, not 0 (the mean rounds), which gave a
    # beta and an alpha of 0.0 that looked like real answers.
    r, steady = series([0.01, -0.02, 0.03]), series([0.1, 0.1, 0.1])
    assert np.isnan(metrics.beta(r, steady))
    assert np.isnan(metrics.alpha(r, steady))
    relative = metrics.relative(r, steady)
    assert np.isnan(relative["beta"]) and np.isnan(relative["alpha"])


def test_a_constant_return_has_no_volatility_and_no_sharpe_ratio():
    # 0.3 % every session: no deviation at all. numpy's std of it is 5.3e-19, which made
    # Sharpe = 0.003 / 5.3e-19 x sqrt(252) = 9e16.
    steady = series([0.003, 0.003, 0.003])
    assert metrics.annual_volatility(steady) == 0.0
    assert np.isnan(metrics.sharpe(steady))


def test_a_portfolio_that_is_its_benchmark_up_to_rounding_has_no_information_ratio():
    # The same three returns, two of them off in the last bit (as a portfolio that holds exactly
    # its benchmark comes out): r - b is 1.7e-18, 3.5e-18 and 0, rounding, not tracking. Over
    # that, the information ratio came out -3.46.
    b = series([0.01, -0.02, 0.03])
    r = series([0.010000000000000002, -0.020000000000000004, 0.03])
    assert metrics.tracking_error(r, b) == 0.0
    assert np.isnan(metrics.information_ratio(r, b))
    assert metrics.beta(r, b) == pytest.approx(1.0, rel=1e-12)


def test_a_constant_fee_is_no_tracking_error():
    # r = b - 0.0001 % every session: r - b is the same every day (-1e-6, up to rounding), so
    # the tracking error is 0 and mean(r - b) x 252 / 0 has no value. It came out -7.9e12.
    b = series([0.01, -0.02, 0.03])
    r = series([0.009999, -0.020001, 0.029999])
    assert metrics.tracking_error(r, b) == 0.0
    assert np.isnan(metrics.information_ratio(r, b))
