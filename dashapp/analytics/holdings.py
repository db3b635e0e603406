"""Positions from a transaction ledger, and their valuation at given prices.

Conventions (average-cost method), per ticker, in ledger order (trade_date, then id):

- BUY q at p with fees f: shares += q; cost_basis += q*p + f.
- SELL q at p with fees f: removed = cost_basis * q / shares (cost at the average);
  realized_gain += q*p - f - removed; cost_basis -= removed; shares -= q.
- SPLIT with quantity r (new shares per old share): shares *= r; cost_basis unchanged, so the
  average cost per share divides by r and the holder's value is continuous.
- DIVIDEND: quantity = shares entitled, price = cash per share; dividends += q*p - f.
- FEE with a ticker: other_fees += quantity * price + fees (charges outside any trade).
- fees = every fee paid: trade fees (already inside cost_basis or realized_gain) + other_fees.
- DEPOSIT / WITHDRAWAL move cash only: amount = quantity * price.
- average_cost = cost_basis / shares, NaN (never 0) when no shares are held.

A ledger whose positions reach zero and start again ("holding episodes") restarts the cost
basis from zero. Everything is computed with per-ticker cumulative sums and products, without a
Python loop over rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KINDS = ("BUY", "SELL", "DIVIDEND", "SPLIT", "DEPOSIT", "WITHDRAWAL", "FEE")
POSITION_COLUMNS = (
    "shares",
    "cost_basis",
    "average_cost",
    "realized_gain",
    "dividends",
    "fees",
    "other_fees",
)
# Shares closer to zero than this are zero: float sums of fractional trades leave dust.
SHARE_EPSILON = 1e-9


class InvalidTransaction(ValueError):
    """A ledger row that cannot be applied; `row` is its id, `column` the field at fault."""

    def __init__(self, row: object, column: str, reason: str) -> None:
        super().__init__(f"row {row}, {column}: {reason}")
        self.row = row
        self.column = column
        self.reason = reason


def positions(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per ticker ever traded, with the columns of POSITION_COLUMNS.

    `transactions` has columns id, trade_date, kind, ticker, quantity, price, fees. Raises
    InvalidTransaction for an unknown kind, a non-positive quantity or price where one is
    required, a non-positive split ratio, or a sell larger than the shares held at that point.
    """
    ledger = _ordered(transactions[transactions["ticker"].notna()])
    _validate(ledger)
    if ledger.empty:
        return pd.DataFrame(
            columns=list(POSITION_COLUMNS), index=pd.Index([], name="ticker"), dtype="float64"
        )
    kind = ledger["kind"].to_numpy()
    quantity = ledger["quantity"].to_numpy(dtype="float64")
    price = ledger["price"].to_numpy(dtype="float64")
    fees = ledger["fees"].to_numpy(dtype="float64")
    ticker = ledger["ticker"].to_numpy()
    is_buy, is_sell, is_split = kind == "BUY", kind == "SELL", kind == "SPLIT"
    growth = np.where(is_split, quantity, 1.0)
    step = np.where(is_buy, quantity, np.where(is_sell, -quantity, 0.0))
    shares = _share_path(ticker, growth, step)
    shares_before = shares - step
    with np.errstate(divide="ignore", invalid="ignore"):
        shares_before = np.where(is_split, shares / growth, shares_before)

    oversold = is_sell & (shares < -SHARE_EPSILON * np.maximum(1.0, quantity))
    if oversold.any():
        first = int(np.argmax(oversold))
        raise InvalidTransaction(
            ledger["id"].iloc[first],
            "quantity",
            f"sells {quantity[first]:g} {ticker[first]} but only {shares_before[first]:g} are held",
        )

    # Cost basis: C_t = m_t * C_(t-1) + c_t with m = S_t / S_(t-1) on sells (1 otherwise) and
    # c = q*p + f on buys. Within a holding episode m > 0 except on the sell that closes it, so
    # C_t = M_t * cumsum(c / M) with M = cumprod(m) per (ticker, episode).
    closes_position = is_sell & (shares == 0.0)
    episode = pd.Series(closes_position).groupby(ticker).cumsum().to_numpy() - closes_position
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = np.where(is_sell & ~closes_position, shares / shares_before, 1.0)
    added_cost = np.where(is_buy, quantity * price + fees, 0.0)
    groups = [ticker, episode]
    kept_so_far = pd.Series(keep).groupby(groups).cumprod().to_numpy()
    basis = kept_so_far * pd.Series(added_cost / kept_so_far).groupby(groups).cumsum().to_numpy()
    basis = np.where(closes_position, 0.0, basis)
    basis_before = np.where(
        is_sell, basis / np.where(closes_position, 1.0, keep), basis - added_cost
    )
    basis_before = np.where(closes_position, _previous(basis, ticker), basis_before)

    removed_cost = np.where(is_sell, basis_before - basis, 0.0)
    realized = np.where(is_sell, quantity * price - fees - removed_cost, 0.0)
    dividends = np.where(kind == "DIVIDEND", quantity * price - fees, 0.0)
    fee_costs = np.where(kind == "FEE", quantity * price + fees, 0.0)

    frame = pd.DataFrame(
        {
            "ticker": ticker,
            "shares": shares,
            "cost_basis": basis,
            "realized_gain": realized,
            "dividends": dividends,
            "fees": fee_costs + np.where(is_buy | is_sell, fees, 0.0),
            "other_fees": fee_costs,
        }
    )
    grouped = frame.groupby("ticker", sort=True)
    result = (
        grouped[["shares", "cost_basis"]]
        .last()
        .join(grouped[["realized_gain", "dividends", "fees", "other_fees"]].sum())
    )
    result["average_cost"] = result["cost_basis"] / result["shares"].where(result["shares"] > 0)
    return result[list(POSITION_COLUMNS)]


def running_shares(transactions: pd.DataFrame) -> pd.DataFrame:
    """Shares held after each ledger row: columns id, trade_date, ticker, shares, in ledger order."""
    ledger = _ordered(transactions[transactions["ticker"].notna()])
    _validate(ledger)
    kind = ledger["kind"].to_numpy()
    quantity = ledger["quantity"].to_numpy(dtype="float64")
    growth = np.where(kind == "SPLIT", quantity, 1.0)
    step = np.where(kind == "BUY", quantity, np.where(kind == "SELL", -quantity, 0.0))
    shares = _share_path(ledger["ticker"].to_numpy(), growth, step)
    return ledger[["id", "trade_date", "ticker"]].assign(shares=shares)


def _share_path(ticker: np.ndarray, growth: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Shares after each row: S_t = a_t * S_(t-1) + b_t with a = split ratio (else 1) and
    b = +q / -q, so S_t = A_t * cumsum(b / A) with A = cumprod(a) per ticker."""
    growth_so_far = pd.Series(growth).groupby(ticker).cumprod().to_numpy()
    shares = growth_so_far * pd.Series(step / growth_so_far).groupby(ticker).cumsum().to_numpy()
    return np.where(np.abs(shares) < SHARE_EPSILON, 0.0, shares)


def open_positions(held: pd.DataFrame) -> pd.DataFrame:
    """The positions with shares still held."""
    return held[held["shares"] > 0]


def cash_effects(transactions: pd.DataFrame) -> np.ndarray:
    """Each row's effect on cash: deposits and sells and dividends bring q*p - f; withdrawals,
    buys and FEE rows cost q*p + f; splits cost nothing."""
    kind = transactions["kind"].to_numpy()
    gross = transactions["quantity"].to_numpy(dtype="float64") * transactions["price"].to_numpy(
        dtype="float64"
    )
    fees = transactions["fees"].to_numpy(dtype="float64")
    incoming = np.isin(kind, ("DEPOSIT", "SELL", "DIVIDEND"))
    outgoing = np.isin(kind, ("WITHDRAWAL", "BUY", "FEE"))
    return np.select([incoming, outgoing], [gross - fees, -gross - fees], default=0.0)


def cash_balance(transactions: pd.DataFrame) -> float:
    """Cash from the ledger: the sum of `cash_effects` (deposits - withdrawals - buys - fees +
    sells + dividends)."""
    return float(cash_effects(transactions).sum())


def tracks_cash(transactions: pd.DataFrame) -> bool:
    """A ledger tracks cash once it records any deposit or withdrawal."""
    return bool(transactions["kind"].isin(["DEPOSIT", "WITHDRAWAL"]).any())


def valuation(held: pd.DataFrame, prices: pd.Series, previous_closes: pd.Series) -> pd.DataFrame:
    """Positions valued at `prices` (by ticker).

    market_value = shares * price; day_change = shares * (price - previous_close);
    unrealized_gain = market_value - cost_basis; unrealized_gain_pct = unrealized_gain / cost_basis;
    weight = market_value / sum of market values of priced holdings. A missing price leaves
    every one of these NaN for that holding: never a zero that looks like a value.
    """
    valued = held.copy()
    valued["price"] = prices.reindex(held.index).astype("float64")
    valued["previous_close"] = previous_closes.reindex(held.index).astype("float64")
    valued["market_value"] = valued["shares"] * valued["price"]
    valued["day_change"] = valued["shares"] * (valued["price"] - valued["previous_close"])
    valued["unrealized_gain"] = valued["market_value"] - valued["cost_basis"]
    valued["unrealized_gain_pct"] = valued["unrealized_gain"] / valued["cost_basis"].where(
        valued["cost_basis"] > 0
    )
    priced_total = valued["market_value"].sum(min_count=1)
    valued["weight"] = valued["market_value"] / priced_total if priced_total else np.nan
    return valued


def portfolio_totals(valued: pd.DataFrame) -> dict[str, object]:
    """Sums over priced holdings, and which holdings they leave out for want of a price.

    total_gain = unrealized_gain (priced holdings) + realized_gain + dividends - other_fees;
    trade fees are already inside cost bases and realized gains. Realized gains and dividends count for every ticker,
    including those sold out, so the valuation passed in may include closed positions.
    """
    priced = valued["price"].notna()
    missing = sorted(str(ticker) for ticker in valued.index[~priced & (valued["shares"] > 0)])
    # With nothing priced the sums are NaN, not 0: there is no value to show.
    market_value = float(valued.loc[priced, "market_value"].sum(min_count=1))
    unrealized = float(valued.loc[priced, "unrealized_gain"].sum(min_count=1))
    realized = float(valued["realized_gain"].sum())
    dividends = float(valued["dividends"].sum())
    other_fees = float(valued["other_fees"].sum())
    return {
        "market_value": market_value,
        "day_change": float(valued.loc[priced, "day_change"].sum(min_count=1)),
        "cost_basis": float(valued.loc[priced, "cost_basis"].sum(min_count=1)),
        "unrealized_gain": unrealized,
        "realized_gain": realized,
        "dividends": dividends,
        "fees": float(valued["fees"].sum()),
        "total_gain": _total_gain(valued, unrealized, realized + dividends - other_fees),
        "priced_count": int((priced & (valued["shares"] > 0)).sum()),
        "missing_count": len(missing),
        "missing_tickers": missing,
    }


def _total_gain(valued: pd.DataFrame, unrealized: float, settled: float) -> float:
    """Unrealized plus settled gains; unknown (NaN) while open holdings exist and none is priced."""
    if np.isnan(unrealized):
        return np.nan if (valued["shares"] > 0).any() else settled
    return unrealized + settled


def _ordered(transactions: pd.DataFrame) -> pd.DataFrame:
    return transactions.sort_values(["trade_date", "id"], kind="stable").reset_index(drop=True)


def _validate(ledger: pd.DataFrame) -> None:
    kind = ledger["kind"]
    checks = [
        (~kind.isin(KINDS), "kind", "unknown transaction type"),
        (kind.isin(["BUY", "SELL"]) & ~(ledger["quantity"] > 0), "quantity", "must be positive"),
        (kind.isin(["BUY", "SELL"]) & ~(ledger["price"] > 0), "price", "must be positive"),
        ((kind == "SPLIT") & ~(ledger["quantity"] > 0), "quantity", "split ratio must be positive"),
        ((kind == "DIVIDEND") & ~(ledger["price"] >= 0), "price", "must not be negative"),
        (~(ledger["fees"].fillna(0.0) >= 0), "fees", "must not be negative"),
    ]
    for mask, column, reason in checks:
        if mask.any():
            raise InvalidTransaction(ledger.loc[mask.idxmax(), "id"], column, reason)


def _previous(values: np.ndarray, ticker: np.ndarray) -> np.ndarray:
    """Each row's value on the previous row of the same ticker (0 for a ticker's first row)."""
    return pd.Series(values).groupby(ticker).shift(1, fill_value=0.0).to_numpy()
