"""Performance statistics, one function per metric, on daily returns over XNYS sessions.

Conventions for every function: 252 sessions a year; standard deviations are sample (ddof=1);
`risk_free` is an annual rate turned into a daily one as (1 + rf)^(1/252) - 1; NaN returns
(sessions before any money was in) are dropped first. A metric that cannot be computed (too
few sessions, zero variance) is NaN, never 0. A series has zero variance when its values lie
within ROUNDING of each other (max - min <= 1e-12 a day), not when numpy's variance, which
carries the rounding of its mean and of the returns themselves, happens to come out 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SESSIONS_PER_YEAR = 252
# Daily returns this close are one return computed two ways (a portfolio holding exactly its
# benchmark differs from it by ~1e-16). Real differences are far larger: a 0.03 % annual fee is
# 1.2e-6 a day.
ROUNDING = 1e-12
# The stand-alone metrics take a Series or the plain array of one (as `summary` passes it).
Returns = pd.Series | np.ndarray


def daily_risk_free(risk_free: float) -> float:
    return (1.0 + risk_free) ** (1.0 / SESSIONS_PER_YEAR) - 1.0


def total_return(returns: Returns) -> float:
    """prod(1 + r) - 1."""
    clean = _clean(returns)
    return float(np.prod(1.0 + clean) - 1.0) if len(clean) else np.nan


def cagr(returns: Returns) -> float:
    """(1 + total return)^(252 / sessions) - 1."""
    clean = _clean(returns)
    if len(clean) == 0:
        return np.nan
    growth = 1.0 + total_return(clean)
    return float(growth ** (SESSIONS_PER_YEAR / len(clean)) - 1.0) if growth > 0 else -1.0


def annual_volatility(returns: Returns) -> float:
    """std(r, ddof=1) x sqrt(252)."""
    return float(_sample_std(_clean(returns)) * np.sqrt(SESSIONS_PER_YEAR))


def sharpe(returns: Returns, risk_free: float = 0.0) -> float:
    """mean(r - rf) / std(r - rf, ddof=1) x sqrt(252)."""
    excess = _clean(returns) - daily_risk_free(risk_free)
    deviation = _sample_std(excess)
    return (
        float(excess.mean() / deviation * np.sqrt(SESSIONS_PER_YEAR)) if deviation > 0 else np.nan
    )


def sortino(returns: Returns, risk_free: float = 0.0) -> float:
    """mean(r - rf) / downside deviation x sqrt(252), downside deviation = sqrt(mean(min(r - rf, 0)^2))."""
    excess = _clean(returns) - daily_risk_free(risk_free)
    if len(excess) == 0:
        return np.nan
    downside = np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2))
    return float(excess.mean() / downside * np.sqrt(SESSIONS_PER_YEAR)) if downside > 0 else np.nan


def drawdown(returns: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    """wealth / running peak of wealth - 1, with wealth = cumprod(1 + r) starting at 1."""
    wealth = (1.0 + returns.fillna(0.0)).cumprod()
    return wealth / np.maximum(wealth.cummax(), 1.0) - 1.0


def max_drawdown(returns: Returns) -> float:
    """The lowest drawdown (a negative number, or 0 if the wealth never fell)."""
    clean = _clean(returns)
    if len(clean) == 0:
        return np.nan
    wealth = np.cumprod(1.0 + clean)
    return float(np.min(wealth / np.maximum(np.maximum.accumulate(wealth), 1.0) - 1.0))


def calmar(returns: Returns) -> float:
    """CAGR / |max drawdown|."""
    clean = _clean(returns)
    worst = max_drawdown(clean)
    return float(cagr(clean) / abs(worst)) if worst < 0 else np.nan


def _clean(returns: Returns) -> np.ndarray:
    """The returns without NaN, as a plain array: the metrics are sums and products over them,
    and numpy does those without pandas' per-call overhead."""
    values = np.asarray(returns, dtype="float64")
    return values[~np.isnan(values)]


def _sample_std(values: np.ndarray) -> float:
    """std(x, ddof=1), exactly 0 for a constant series (see `_constant`)."""
    if len(values) < 2:
        return np.nan
    deviation = float(np.std(values, ddof=1))
    # Values within ROUNDING of each other have a deviation below ROUNDING too (at most the
    # spread / sqrt(2)), so the spread is only measured when the deviation is that small.
    return 0.0 if deviation <= ROUNDING and _constant(values) else deviation


def _constant(values: np.ndarray) -> bool:
    """Whether the values lie within ROUNDING of each other. numpy's variance of such a series
    is not 0 (var([0.1, 0.1, 0.1]) is 2.9e-34: the mean rounds), and a ratio over it would look
    like a real number: a beta of 0, a Sharpe ratio of 1e17, an information ratio of -0.15 for
    a portfolio that is its benchmark."""
    return bool(np.ptp(values) <= ROUNDING)


def _aligned(returns: pd.Series, benchmark: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Both series on the sessions where both have a return, as plain arrays (numpy computes
    the same sums as pandas without its per-call overhead)."""
    if not returns.index.equals(benchmark.index):
        both = pd.concat([returns, benchmark], axis=1, sort=True).dropna()
        returns, benchmark = both.iloc[:, 0], both.iloc[:, 1]
    r = returns.to_numpy(dtype="float64")
    b = benchmark.to_numpy(dtype="float64")
    both_known = ~(np.isnan(r) | np.isnan(b))
    return r[both_known], b[both_known]


def beta(returns: pd.Series, benchmark: pd.Series) -> float:
    """cov(r, b, ddof=1) / var(b, ddof=1) over sessions where both have a return; NaN when the
    benchmark's returns are all equal (no variance: beta is undefined, not 0)."""
    return _beta(*_aligned(returns, benchmark))


def alpha(returns: pd.Series, benchmark: pd.Series, risk_free: float = 0.0) -> float:
    """Jensen's alpha, annualised: (1 + mean(r - rf - beta x (b - rf)))^252 - 1; NaN when beta is."""
    return _alpha(*_aligned(returns, benchmark), risk_free)


def correlation(returns: pd.Series, benchmark: pd.Series) -> float:
    """Pearson correlation of daily returns."""
    return _correlation(*_aligned(returns, benchmark))


def tracking_error(returns: pd.Series, benchmark: pd.Series) -> float:
    """std(r - b, ddof=1) x sqrt(252); 0 when r - b is constant (see ROUNDING)."""
    return _tracking_error(*_aligned(returns, benchmark))


def information_ratio(returns: pd.Series, benchmark: pd.Series) -> float:
    """mean(r - b) x 252 / tracking error; NaN when the tracking error is 0."""
    return _information_ratio(*_aligned(returns, benchmark))


def _beta(r: np.ndarray, b: np.ndarray) -> float:
    variance = _sample_var(b)
    return float(np.cov(r, b, ddof=1)[0, 1] / variance) if variance > 0 else np.nan


def _alpha(r: np.ndarray, b: np.ndarray, risk_free: float) -> float:
    rf = daily_risk_free(risk_free)
    slope = _beta(r, b)
    if np.isnan(slope):
        return np.nan
    return float((1.0 + np.mean(r - rf - slope * (b - rf))) ** SESSIONS_PER_YEAR - 1.0)


def _correlation(r: np.ndarray, b: np.ndarray) -> float:
    # pandas' Pearson (scaled, centred sums) is steadier than np.corrcoef, and NaN for a
    # constant series.
    return float(pd.Series(r).corr(pd.Series(b))) if len(r) > 1 else np.nan


def _tracking_error(r: np.ndarray, b: np.ndarray) -> float:
    return float(_sample_std(r - b) * np.sqrt(SESSIONS_PER_YEAR))


def _information_ratio(r: np.ndarray, b: np.ndarray) -> float:
    error = _tracking_error(r, b)
    return float(np.mean(r - b) * SESSIONS_PER_YEAR / error) if error > 0 else np.nan


def _sample_var(values: np.ndarray) -> float:
    """var(x, ddof=1), exactly 0 for a constant series (see `_constant` and `_sample_std`)."""
    if len(values) < 2:
        return np.nan
    variance = float(np.var(values, ddof=1))
    return 0.0 if variance <= ROUNDING**2 and _constant(values) else variance


def summary(returns: pd.Series, risk_free: float = 0.0) -> dict[str, float]:
    """The stand-alone metrics of one return series, keyed by name."""
    clean = _clean(returns)
    return {
        "total_return": total_return(clean),
        "cagr": cagr(clean),
        "volatility": annual_volatility(clean),
        "sharpe": sharpe(clean, risk_free),
        "sortino": sortino(clean, risk_free),
        "max_drawdown": max_drawdown(clean),
        "calmar": calmar(clean),
    }


def relative(returns: pd.Series, benchmark: pd.Series, risk_free: float = 0.0) -> dict[str, float]:
    """The metrics of `returns` against one benchmark, keyed by name."""
    r, b = _aligned(returns, benchmark)
    return {
        "beta": _beta(r, b),
        "alpha": _alpha(r, b, risk_free),
        "correlation": _correlation(r, b),
        "tracking_error": _tracking_error(r, b),
        "information_ratio": _information_ratio(r, b),
    }
