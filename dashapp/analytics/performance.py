"""A portfolio's daily value, external cash flows and returns over XNYS sessions.

Rules, stated once:

- Shares follow the ledger (BUY adds, SELL removes, SPLIT multiplies). A trade on a day that is
  not a session counts on the next session.
- Prices are closes split-adjusted to the provider's latest basis. A holding's value is
  raw shares x close x split factor, where the split factor of a session is the product of the
  split ratios the price data reports after it; so a split in the ledger and in the prices
  leaves the value continuous.
- Cash: a ledger with any DEPOSIT or WITHDRAWAL tracks cash. Its value is holdings plus the cash
  balance, and its external flows are deposits (+) and withdrawals (-). A ledger without them
  tracks no cash: each BUY is a deposit of quantity x price + fees, each SELL a withdrawal of
  quantity x price - fees. Either way dividends (and FEE rows) stay inside the portfolio as cash.
- Flows happen at the close of their session. The time-weighted return of session t is
  r_t = (V_t - F_t) / V_(t-1) - 1, and on a session that starts from nothing,
  r_t = V_t / F_t - 1 (money invested during the day at the trade price).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyxirr

from dashapp.analytics.holdings import cash_effects, running_shares, tracks_cash


@dataclass(frozen=True)
class PortfolioSeries:
    """Per session: value, external flow, dividends received, fees paid, time-weighted return."""

    frame: pd.DataFrame  # columns value, flow, dividends, fees, twr; index sessions


def session_of_trades(trade_dates: pd.Series, sessions: pd.DatetimeIndex) -> pd.Series:
    """Each trade date mapped to its session: itself, or the next session after a closed day."""
    positions = sessions.searchsorted(pd.DatetimeIndex(trade_dates))
    positions = np.minimum(positions, len(sessions) - 1)
    return pd.Series(sessions[positions], index=trade_dates.index)


def portfolio_series(
    transactions: pd.DataFrame,
    closes: pd.DataFrame,
    split_ratios: pd.DataFrame,
) -> PortfolioSeries:
    """Value, flows and time-weighted returns over the sessions of `closes` (sessions x tickers).

    Closes are forward-filled across a missing session of one ticker (its last price stands).
    """
    sessions = closes.index
    # Tickers x sessions arrays: each ticker's history is contiguous, so the fills and products
    # run as plain numpy passes over the whole matrix.
    trades = transactions[transactions["ticker"].notna()]
    shares = _shares_by_ticker(trades, sessions, closes.columns)
    prices = closes.ffill().to_numpy(dtype="float64").T
    split, factors = _split_factors(split_ratios.reindex_like(closes).to_numpy(dtype="float64").T)
    # Sessions x tickers in row order, so the sum over tickers adds in the order pandas' sum
    # of a frame's rows does; NaN (no price yet) counts as nothing held.
    held = np.empty((len(sessions), len(closes.columns)))
    np.multiply(shares.T, prices.T, out=held)
    held[:, split] = shares[split].T * (prices[split] * factors).T
    held[np.isnan(held)] = 0.0
    holdings_value = pd.Series(held.sum(axis=1), index=sessions)

    ledger = transactions.assign(session=session_of_trades(transactions["trade_date"], sessions))
    gross = ledger["quantity"] * ledger["price"]
    kind = ledger["kind"]
    cash_effect = cash_effects(ledger)
    if tracks_cash(transactions):
        flow = np.select([kind == "DEPOSIT", kind == "WITHDRAWAL"], [gross, -gross], default=0.0)
        implicit_cash = np.zeros(len(ledger))
    else:
        # Money for a buy arrives with the buy; a sale's proceeds leave with the sale.
        flow = np.select(
            [kind == "BUY", kind == "SELL"],
            [gross + ledger["fees"], -(gross - ledger["fees"])],
            default=0.0,
        )
        implicit_cash = flow
    per_session = (
        pd.DataFrame(
            {
                "session": ledger["session"],
                "cash": cash_effect + implicit_cash,
                "flow": flow,
                "dividends": np.where(kind == "DIVIDEND", gross, 0.0),
                "fees": np.where(kind.isin(["BUY", "SELL", "FEE", "DIVIDEND"]), ledger["fees"], 0.0)
                + np.where(kind == "FEE", gross, 0.0),
            }
        )
        .groupby("session")
        .sum()
        .reindex(sessions, fill_value=0.0)
    )
    cash = per_session["cash"].cumsum()
    value = holdings_value + cash
    frame = pd.DataFrame(
        {
            "value": value,
            "flow": per_session["flow"],
            "dividends": per_session["dividends"],
            "fees": per_session["fees"],
        }
    )
    frame["twr"] = time_weighted_returns(frame["value"], frame["flow"])
    return PortfolioSeries(frame)


def _shares_by_ticker(
    trades: pd.DataFrame, sessions: pd.DatetimeIndex, tickers: pd.Index
) -> np.ndarray:
    """Shares of each of `tickers` at each session's close (tickers x sessions); 0 before the
    first trade and for a ticker the ledger never holds. A session's last row of a ticker wins."""
    count = len(sessions)
    if trades.empty or count == 0:
        return np.zeros((len(tickers), count))
    shares = running_shares(trades)
    column = tickers.get_indexer(shares["ticker"])
    session = np.minimum(sessions.searchsorted(pd.DatetimeIndex(shares["trade_date"])), count - 1)
    known = column >= 0
    cell = column[known] * count + session[known]
    # Shares are steps: each (ticker, session) with a trade starts a run that lasts until the
    # ticker's next trade or its row's end, where a run of 0 starts the next ticker. np.unique
    # on the reversed cells keeps each cell's last row, sorted by cell.
    cells, from_end = np.unique(cell[::-1], return_index=True)
    values = shares["shares"].to_numpy(dtype="float64")[known][len(cell) - 1 - from_end]
    starts = np.concatenate([np.arange(len(tickers)) * count, cells])
    levels = np.concatenate([np.zeros(len(tickers)), values])
    order = np.argsort(starts, kind="stable")  # a trade on a row's first cell follows its 0
    lengths = np.diff(np.append(starts[order], len(tickers) * count))
    return np.repeat(levels[order], lengths).reshape(len(tickers), count)


def _split_factors(ratios: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows (tickers) of `ratios` with a split, and for each of them the product of its split
    ratios strictly after each session; every other ticker's factor is 1 throughout."""
    ratios = np.where(np.isnan(ratios), 1.0, ratios)
    split = np.flatnonzero((ratios != 1.0).any(axis=1))
    factors = np.ones((len(split), ratios.shape[1]))
    factors[:, :-1] = np.cumprod(ratios[split, :0:-1], axis=1)[:, ::-1]
    return split, factors


def time_weighted_returns(value: pd.Series, flow: pd.Series) -> pd.Series:
    """Daily TWR with flows at the close: r_t = (V_t - F_t) / V_(t-1) - 1.

    A session that starts from nothing (V_(t-1) = 0) and receives money has r_t = V_t / F_t - 1;
    sessions before any money is in have NaN.
    """
    previous = value.shift(1).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ongoing = (value - flow) / previous - 1.0
        starting = value / flow - 1.0
    returns = np.where(previous > 0, ongoing, np.where(flow > 0, starting, np.nan))
    return pd.Series(returns, index=value.index, dtype="float64")


def period_returns(twr: pd.Series, invested_before: bool) -> pd.Series:
    """A period's daily returns from the daily TWR of its sessions, starting on its second
    session as a benchmark's do (`shadow_portfolios.daily_total_returns`), so the same money in
    the same stock counts as many sessions and has the same CAGR as that stock.

    A period that starts with money already in starts at its first close: that session's return
    belongs to the time before it (NaN). A period that starts from nothing has on its first
    session the return from the trade price to the close, V / F - 1, part of one session: it
    joins the next return, (1 + r_0)(1 + r_1) - 1, so the period's total return is unchanged.
    Growth and drawdown built on these returns run from the trade price to the second close:
    the first close is no point of them, as a benchmark's own first close is its start.
    Only the period's first session is joined; money that returns later in the period (sold out,
    then bought back) keeps that session's V / F - 1 as its own return.
    """
    returns = twr.copy()
    if len(returns) == 0:
        return returns
    first = returns.iloc[0]
    returns.iloc[0] = np.nan
    if invested_before or np.isnan(first):
        return returns
    later = np.flatnonzero(returns.notna().to_numpy())
    if len(later) == 0:
        # A period of one invested session has no session-to-session return to join it to.
        returns.iloc[0] = first
        return returns
    returns.iloc[later[0]] = (1.0 + first) * (1.0 + returns.iloc[later[0]]) - 1.0
    return returns


def xirr(dates: pd.DatetimeIndex, flows: pd.Series, final_value: float) -> float | None:
    """Money-weighted return (XIRR, actual/365) of external flows plus the value at the end.

    The investor's view: money put in is negative, money taken out and the final value positive.
    None when the flows have no sign change (nothing invested, or nothing left).
    """
    amounts = -flows.to_numpy(dtype="float64")
    mask = amounts != 0
    when = list(dates[mask].date)
    amounts = list(amounts[mask])
    when.append(dates[-1].date())
    amounts.append(final_value)
    try:
        rate = pyxirr.xirr(when, amounts)
    except (pyxirr.InvalidPaymentsError, ValueError):
        return None
    return None if rate is None or not np.isfinite(rate) else float(rate)
