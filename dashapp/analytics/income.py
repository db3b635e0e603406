"""Dividend income from a transaction ledger: by month, year and holding, over the trailing
twelve months, as yields, and as a forward estimate.

Ledger conventions are those of `dashapp.analytics.holdings`. Amounts are in the portfolio's
one currency (its base_currency): the ledger records nothing else, so no FX applies. A DIVIDEND
row (ticker, q = shares entitled, p = cash per share, f = fees or withholding) brings

- amount = q*p - f on its trade date, the same figure `holdings.positions` adds to dividends,
  so every total here is a sum of DIVIDEND rows' amounts.
- income by month / year: the sum of amount over the rows whose trade date falls in that
  calendar month (label "YYYY-MM") / year ("YYYY"); by holding: over the ticker's rows.
- ttm (trailing twelve months, at as_of): the sum over rows with
  as_of - 1 calendar year < trade_date <= as_of.
- forward_estimate, an estimate and not a declared dividend: for an open holding,
  shares held now * sum over its ttm rows of (amount / q) / R, where R is the product of the
  ticker's SPLIT ratios after the row, so each per-share amount is counted in today's shares;
  0 for a closed one. It assumes the last twelve months' payments repeat.
- yield_on_cost = forward_estimate / cost_basis and current_yield = forward_estimate /
  market_value (shares * price) of a holding still open: its last twelve months' dividends per
  share held now, over what those shares cost or are worth, so buying or selling during the
  year does not distort them (ttm / cost_basis would). For the portfolio, the sums over open
  holdings (current_yield over those with a price). NaN where undefined (closed, no basis, no
  price), never 0.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from dashapp.analytics.holdings import _validate

# Period -> label of its whole-number key (year * 100 + month, or year).
PERIODS = {
    "month": lambda key: f"{key // 100:04d}-{key % 100:02d}",
    "year": lambda key: f"{key:04d}",
}
HOLDING_COLUMNS = (
    "amount",
    "ttm",
    "forward_estimate",
    "cost_basis",
    "market_value",
    "yield_on_cost",
    "current_yield",
)


def dividend_rows(transactions: pd.DataFrame) -> pd.DataFrame:
    """The DIVIDEND rows in ledger order: columns id, trade_date, ticker, amount (q*p - f) and
    per_share_now ((amount / q) / R, R the ticker's split ratios after the row). Raises
    `holdings.InvalidTransaction` for a row that breaks the ledger conventions."""
    _validate(transactions)
    kind = transactions["kind"].to_numpy()
    # (trade_date, id) orders every row: ids are unique, so no sort stability is needed.
    events = transactions[(kind == "DIVIDEND") | (kind == "SPLIT")].sort_values(
        ["trade_date", "id"]
    )
    quantity = events["quantity"]
    ratio = quantity.where(events["kind"] == "SPLIT", 1.0)
    by_ticker = ratio.groupby(events["ticker"])
    # Product of the ratios after a row = all of the ticker's ratios / those up to the row.
    later_splits = by_ticker.transform("prod") / by_ticker.cumprod()
    paid = (events["kind"] == "DIVIDEND").to_numpy()
    amount = quantity * events["price"] - events["fees"].fillna(0.0)
    rows = events.loc[paid, ["id", "trade_date", "ticker"]].assign(
        amount=amount[paid], per_share_now=(amount / quantity / later_splits)[paid]
    )
    return rows.reset_index(drop=True)


def income_by_period(dividends: pd.DataFrame, period: str) -> pd.DataFrame:
    """Income per calendar `period` ("month" or "year") and ticker, from `dividend_rows`: index
    the period labels of the months or years with a dividend (ascending), columns the tickers
    (sorted), 0.0 where a ticker paid nothing that period."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; one of {', '.join(PERIODS)}")
    day = pd.DatetimeIndex(dividends["trade_date"])
    # Grouped by a whole-number key; only the few distinct periods are formatted as text.
    key = day.year * 100 + day.month if period == "month" else day.year
    table = dividends["amount"].groupby([key, dividends["ticker"]]).sum()
    table = table.unstack(fill_value=0.0)
    table.index = pd.Index([PERIODS[period](int(k)) for k in table.index], name=period)
    return table


def income_by_holding(
    dividends: pd.DataFrame, held: pd.DataFrame, prices: pd.Series, as_of: date
) -> pd.DataFrame:
    """Per ticker that paid a dividend or is held (index ticker, sorted; columns
    HOLDING_COLUMNS): all-time amount, ttm, forward_estimate, and for open holdings cost_basis,
    market_value and the two yields. `dividends` is `dividend_rows(transactions)`, `held`
    `holdings.positions(transactions)`, `prices` a Series by ticker (missing or NaN: unpriced)."""
    as_of_day = pd.Timestamp(as_of)
    recent = dividends[
        (dividends["trade_date"] > as_of_day - pd.DateOffset(years=1))
        & (dividends["trade_date"] <= as_of_day)
    ]
    open_held = held[held["shares"] > 0]
    tickers = sorted({*dividends["ticker"], *open_held.index})
    # Columns are assigned by ticker (pandas aligns on the index): absent tickers get NaN.
    table = pd.DataFrame(index=pd.Index(tickers, name="ticker"))
    table["amount"] = dividends.groupby("ticker")["amount"].sum()
    table["ttm"] = recent.groupby("ticker")["amount"].sum()
    table["forward_estimate"] = (
        open_held["shares"] * recent.groupby("ticker")["per_share_now"].sum()
    )
    table = table.fillna(0.0)
    table["cost_basis"] = open_held["cost_basis"]
    table["market_value"] = open_held["shares"] * prices
    forward = table["forward_estimate"]
    table["yield_on_cost"] = forward / table["cost_basis"].where(table["cost_basis"] > 0)
    table["current_yield"] = forward / table["market_value"].where(table["market_value"] > 0)
    return table


def income_totals(by_holding: pd.DataFrame) -> dict[str, float]:
    """The portfolio's figures from `income_by_holding`: total (all-time amount), ttm and
    forward_estimate sums; yield_on_cost = forward_estimate / cost_basis summed over open
    holdings; current_yield = forward_estimate / market_value summed over open holdings with a
    price. NaN when a denominator is 0."""
    is_open = by_holding["cost_basis"].notna()
    # Only open holdings have a market value.
    priced = by_holding["market_value"].notna()
    forward = by_holding["forward_estimate"]
    return {
        "total": float(by_holding["amount"].sum()),
        "ttm": float(by_holding["ttm"].sum()),
        "forward_estimate": float(forward.sum()),
        "yield_on_cost": _ratio(
            forward[is_open].sum(), by_holding.loc[is_open, "cost_basis"].sum()
        ),
        "current_yield": _ratio(
            forward[priced].sum(), by_holding.loc[priced, "market_value"].sum()
        ),
    }


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator > 0 else float(np.nan)
