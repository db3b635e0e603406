"""Shadow portfolios: what the portfolio's own deposits and withdrawals, on their own dates, would
have become in an ETF; with the total-return indices they are priced by and the growth of an amount.

Total return comes from close plus dividends, not from a provider's adjusted close:
TR_t = TR_(t-1) x (close_t + dividend_t) / close_(t-1), TR_0 = 1, on split-adjusted closes and
dividends (so a split is invisible to it).
"""

from __future__ import annotations

import pandas as pd


def total_return_index(closes: pd.DataFrame, dividends: pd.DataFrame) -> pd.DataFrame:
    """TR index per ticker (sessions x tickers), 1.0 on each ticker's first priced session."""
    prices = closes.ffill()
    growth = (prices + dividends.reindex_like(prices).fillna(0.0)) / prices.shift(1)
    return growth.fillna(1.0).where(prices.notna()).cumprod()


def daily_total_returns(closes: pd.DataFrame, dividends: pd.DataFrame) -> pd.DataFrame:
    """r_t = (close_t + dividend_t) / close_(t-1) - 1 per ticker; NaN on the first session."""
    prices = closes.ffill()
    return (prices + dividends.reindex_like(prices).fillna(0.0)) / prices.shift(1) - 1.0


def shadow_values(flows: pd.Series, total_return: pd.DataFrame) -> pd.DataFrame:
    """Value of the portfolio's external flows had each been put into each ETF (dividends reinvested).

    units_t = sum over s <= t of F_s / TR_s (a withdrawal sells units at that day's index);
    shadow_t = units_t x TR_t. Flows land at the close of their session, as in the portfolio.
    """
    units = (total_return.rdiv(flows, axis=0)).cumsum()
    return units * total_return


def shadow_dividends(
    flows: pd.Series, closes: pd.DataFrame, dividends: pd.DataFrame, total_return: pd.DataFrame
) -> pd.DataFrame:
    """Dividends the shadow portfolio earned each session: shares held the day before x dividend.

    Shares of the shadow = units x TR / close (units of the index are worth TR each).
    """
    shadow_shares = shadow_values(flows, total_return) / closes.ffill()
    return shadow_shares.shift(1).fillna(0.0) * dividends.reindex_like(closes).fillna(0.0)


def growth_of(amount: float, daily_returns: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """amount x cumprod(1 + r): what `amount` invested on the first session grows to."""
    return amount * (1.0 + daily_returns.fillna(0.0)).cumprod()
