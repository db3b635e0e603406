"""Positions from a transaction ledger, and their valuation at given prices.

A ledger is a DataFrame with columns id, trade_date, kind, ticker, quantity, price, fees
(`ledger_frame` builds one from rows). Rows apply in ledger order, (trade_date, id), whatever
order they arrive in. Missing fees count as 0.
Conventions (average-cost method), with q = quantity, p = price, f = fees:

- BUY (ticker, q > 0, p >= 0): shares += q; cost_basis += q*p + f; cash -= q*p + f.
- SELL (ticker, q > 0, p >= 0; q at most the shares held): removed = cost_basis * q / shares
  (cost at the average); realized_gain += q*p - f - removed; cost_basis -= removed;
  shares -= q; cash += q*p - f. The average cost is unchanged. A zero price is a write-off and
  a zero-price BUY a free share (spin-off, grant).
- SPLIT (ticker, q = ratio of new to old shares > 0, price ignored, no fees): shares *= q;
  cost_basis unchanged, so the average cost divides by q and the holder's value is continuous.
- DIVIDEND (ticker, q = shares entitled > 0, p = cash per share >= 0):
  dividends += q*p - f; cash += q*p - f.
- DEPOSIT / WITHDRAWAL (q >= 0, p >= 0; a ticker is ignored): amount = q*p, so 1,000 is
  quantity 1 at price 1,000; cash += amount - f, or cash -= amount + f.
- FEE (q >= 0, p >= 0): a charge outside any trade of q*p + f (quantity 0 and fees 5 is a fee
  of 5); cash -= q*p + f. With a ticker it is that position's `other_fees`; without one it is
  an account fee, which only cash sees.
- fees = every fee paid on a ticker's rows: trade fees (inside cost_basis or realized_gain),
  dividend fees (netted out of dividends) and other_fees.
- average_cost = cost_basis / shares, NaN (never 0) when no shares are held.

A sold-out position is closed: its cost basis is 0 and the next BUY opens a new one at that
buy's cost. A SELL may exceed the shares held by up to SHARE_EPSILON relative (float dust), and
then closes the position; so does a SELL that leaves at most that. With t = SHARE_EPSILON x
max(1, shares before): closed when |shares left| <= t, an oversell when shares left < -t.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

import numpy as np
import pandas as pd

from dashapp.rules import KINDS

LEDGER_COLUMNS = ("id", "trade_date", "kind", "ticker", "quantity", "price", "fees")

_NEED_TICKER = ("BUY", "SELL", "SPLIT", "DIVIDEND")
# A FEE may belong to a position or to the account; a ticker on a deposit means nothing.
_POSITION_KINDS = (*_NEED_TICKER, "FEE")
POSITION_COLUMNS = (
    "shares",
    "cost_basis",
    "average_cost",
    "realized_gain",
    "dividends",
    "fees",
    "other_fees",
)
# A SELL leaving at most SHARE_EPSILON * max(1, shares held before it) closes the position:
# float sums of fractional trades leave dust, and dust is not a holding. The bound is inclusive
# on both sides, like the oversell it forgives (shares left >= -tolerance).
SHARE_EPSILON = 1e-9


class LedgerLine(Protocol):
    """What a ledger reads of a transaction: a stored one or one not stored yet (its id is
    given beside it)."""

    @property
    def trade_date(self) -> date: ...
    @property
    def kind(self) -> str: ...
    @property
    def ticker(self) -> str | None: ...
    @property
    def quantity(self) -> float: ...
    @property
    def price(self) -> float: ...
    @property
    def fees(self) -> float | None: ...


class InvalidTransaction(ValueError):
    """A ledger row that cannot be applied; `row` is its id, `column` the field at fault."""

    def __init__(self, row: object, column: str, reason: str) -> None:
        super().__init__(f"row {row}, {column}: {reason}")
        self.row = row
        self.column = column
        self.reason = reason


def ledger_frame(entries: Sequence[tuple[int, LedgerLine]]) -> pd.DataFrame:
    """The entries (id, transaction) as a ledger, columns LEDGER_COLUMNS in the order given.

    The dtypes are stated rather than inferred, so a ledger is the same frame whatever built
    it and however many rows it has: id int64, trade_date datetime64[ns], kind and ticker
    object (a missing ticker is None), quantity, price and fees float64 (missing fees NaN).
    """
    lines = [line for _, line in entries]
    frame = pd.DataFrame(
        {
            "id": np.array([entry_id for entry_id, _ in entries], dtype="int64"),
            "trade_date": pd.to_datetime(
                pd.Series([line.trade_date for line in lines], dtype="object")
            ).astype("datetime64[ns]"),
            "kind": pd.Series([line.kind for line in lines], dtype="object"),
            "ticker": pd.Series([line.ticker for line in lines], dtype="object"),
        }
    )
    for name in ("quantity", "price", "fees"):
        frame[name] = np.array([getattr(line, name) for line in lines], dtype="float64")
    return frame


def positions(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per ticker ever in the ledger, sold-out ones included (their realized gains and
    dividends count), indexed by ticker (sorted), with the columns of POSITION_COLUMNS.

    Raises InvalidTransaction for the first row (in ledger order) that breaks the conventions
    above, or for a SELL of more shares than are held at that point.
    """
    path = _TickerPath(transactions)
    if path.empty:
        return pd.DataFrame(
            columns=list(POSITION_COLUMNS), index=pd.Index([], name="ticker"), dtype="float64"
        )
    q, p, f = path.quantity, path.price, path.fees
    other_fees = np.where(path.kind == "FEE", q * p + f, 0.0)
    per_row = {
        "realized_gain": np.where(path.is_sell, q * p - f - path.removed_cost, 0.0),
        "dividends": np.where(path.kind == "DIVIDEND", q * p - f, 0.0),
        "fees": np.where(path.kind == "FEE", other_fees, f),
        "other_fees": other_fees,
    }
    starts = np.flatnonzero(path.starts)
    ends = np.append(starts[1:], len(path.kind)) - 1
    result = pd.DataFrame(
        {
            "shares": path.shares[ends],
            "cost_basis": path.cost_basis[ends],
            **{name: np.add.reduceat(values, starts) for name, values in per_row.items()},
        },
        index=pd.Index(path.ticker[starts], name="ticker"),
    )
    result["average_cost"] = result["cost_basis"] / result["shares"].where(result["shares"] > 0)
    return result[list(POSITION_COLUMNS)]


def running_shares(transactions: pd.DataFrame) -> pd.DataFrame:
    """Shares of its ticker held after each row that belongs to a position: columns id,
    trade_date, ticker, shares, in ledger order."""
    path = _TickerPath(transactions)
    shares = np.empty(len(path.shares))
    shares[path.order] = path.shares
    return path.ledger[["id", "trade_date", "ticker"]].assign(shares=shares)


def open_positions(held: pd.DataFrame) -> pd.DataFrame:
    """The positions with shares still held."""
    return held[held["shares"] > 0]


def cash_effects(transactions: pd.DataFrame) -> np.ndarray:
    """Each row's effect on cash, in the order given: DEPOSIT, SELL and DIVIDEND bring q*p - f;
    WITHDRAWAL, BUY and FEE cost q*p + f; SPLIT nothing. Raises InvalidTransaction like
    `positions` for a row that breaks the conventions."""
    _validate(transactions)
    kind = transactions["kind"].to_numpy()
    gross = transactions["quantity"].to_numpy(dtype="float64") * transactions["price"].to_numpy(
        dtype="float64"
    )
    fees = _fees(transactions)
    incoming = np.isin(kind, ("DEPOSIT", "SELL", "DIVIDEND"))
    outgoing = np.isin(kind, ("WITHDRAWAL", "BUY", "FEE"))
    return np.select([incoming, outgoing], [gross - fees, -gross - fees], default=0.0)


def cash_balance(transactions: pd.DataFrame) -> float:
    """Cash from the ledger, the sum of `cash_effects`: deposits - withdrawals - buys - FEE rows
    + sells + dividends, each net of its fees."""
    return float(cash_effects(transactions).sum())


def tracks_cash(transactions: pd.DataFrame) -> bool:
    """A ledger tracks cash once it records any deposit or withdrawal."""
    return bool(transactions["kind"].isin(["DEPOSIT", "WITHDRAWAL"]).any())


def valuation(held: pd.DataFrame, prices: pd.Series, previous_closes: pd.Series) -> pd.DataFrame:
    """Positions valued at `prices` and `previous_closes` (Series by ticker); adds columns
    price, previous_close, market_value, day_change, unrealized_gain, unrealized_gain_pct, weight.

    market_value = shares * price; day_change = shares * (price - previous_close);
    unrealized_gain = market_value - cost_basis; unrealized_gain_pct = unrealized_gain / cost_basis
    (NaN for a zero basis); weight = market_value / sum of market_value over priced holdings.
    A missing price (absent or NaN) leaves all of these NaN for that holding: never a zero that
    looks like a value. A missing previous close leaves only day_change NaN.
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
    priced_total = valued["market_value"].sum()
    valued["weight"] = valued["market_value"] / (priced_total if priced_total > 0 else np.nan)
    return valued


def portfolio_totals(valued: pd.DataFrame) -> dict[str, object]:
    """Totals of a `valuation`, and which open holdings they leave out for want of a price.

    Over priced holdings: market_value, cost_basis, unrealized_gain (= market_value -
    cost_basis), and day_change (of those that also have a previous close); each NaN when no
    holding is priced, never 0. Over every ticker, closed ones included: realized_gain,
    dividends, fees. total_gain = unrealized_gain + realized_gain + dividends - other_fees
    (trade fees are already inside cost bases and realized gains, dividend fees inside
    dividends); NaN while holdings are open and none is priced. priced_count, missing_count and
    missing_tickers (sorted) count open holdings (shares > 0) with and without a price.
    """
    is_open = valued["shares"] > 0
    priced = valued["price"].notna()
    missing = sorted(str(ticker) for ticker in valued.index[is_open & ~priced])
    unrealized = float(valued.loc[priced, "unrealized_gain"].sum(min_count=1))
    settled = float(
        valued["realized_gain"].sum() + valued["dividends"].sum() - valued["other_fees"].sum()
    )
    # With nothing open there is nothing unrealized (0); open and none priced, it is unknown (NaN).
    total_gain = (unrealized if is_open.any() else 0.0) + settled
    return {
        "market_value": float(valued.loc[priced, "market_value"].sum(min_count=1)),
        "day_change": float(valued.loc[priced, "day_change"].sum(min_count=1)),
        "cost_basis": float(valued.loc[priced, "cost_basis"].sum(min_count=1)),
        "unrealized_gain": unrealized,
        "realized_gain": float(valued["realized_gain"].sum()),
        "dividends": float(valued["dividends"].sum()),
        "fees": float(valued["fees"].sum()),
        "total_gain": total_gain,
        "priced_count": int((is_open & priced).sum()),
        "missing_count": len(missing),
        "missing_tickers": missing,
    }


class _TickerPath:
    """The rows that belong to a position, grouped by ticker and in ledger order within each,
    with the shares and cost basis after every row and the cost each SELL removes.

    Both quantities are first-order linear recurrences x_t = a_t * x_(t-1) + b_t, solved for
    all tickers at once by `_affine_scan`; a_t = 0 on each ticker's first row starts it afresh.
    - shares: a = split ratio (1 on other rows), b = +q on BUY, -q on SELL.
    - cost basis: a = shares after / shares before on SELL (1 on other rows, 0 on a SELL that
      closes the position), b = q*p + f on BUY.
    """

    def __init__(self, transactions: pd.DataFrame) -> None:
        _validate(transactions)
        ledger = _ledger_order(transactions)
        on_position = ledger["ticker"].notna() & ledger["kind"].isin(_POSITION_KINDS)
        self.ledger = ledger[on_position].reset_index(drop=True)
        self.empty = self.ledger.empty
        codes, _ = pd.factorize(self.ledger["ticker"], sort=True)
        # Stable, so each ticker's rows keep their ledger order.
        self.order = np.argsort(codes, kind="stable")
        codes = codes[self.order]
        self.starts = np.ones(len(codes), dtype=bool)
        self.starts[1:] = codes[1:] != codes[:-1]
        self.ticker = self.ledger["ticker"].to_numpy(dtype=object)[self.order]
        self.kind = self.ledger["kind"].to_numpy()[self.order]
        self.quantity = self.ledger["quantity"].to_numpy(dtype="float64")[self.order]
        self.price = self.ledger["price"].to_numpy(dtype="float64")[self.order]
        self.fees = _fees(self.ledger)[self.order]
        self.is_buy = self.kind == "BUY"
        self.is_sell = self.kind == "SELL"
        self._shares()
        self._cost_basis()

    def _shares(self) -> None:
        is_split = self.kind == "SPLIT"
        growth = np.where(self.starts, 0.0, np.where(is_split, self.quantity, 1.0))
        step = np.where(self.is_buy, self.quantity, np.where(self.is_sell, -self.quantity, 0.0))
        shares = _affine_scan(growth, step)
        before = self._before(shares)
        tolerance = SHARE_EPSILON * np.maximum(1.0, before)
        self._raise_if_oversold(shares < -tolerance, before)
        self.closes = self.is_sell & (shares <= tolerance)
        # Solve again from an exact 0 after each close, so no dust carries into the next holding.
        self.shares = _affine_scan(
            np.where(self.closes, 0.0, growth), np.where(self.closes, 0.0, step)
        )
        self.shares_before = self._before(self.shares)

    def _cost_basis(self) -> None:
        kept = np.ones(len(self.kind))
        partial_sell = self.is_sell & ~self.closes
        np.divide(self.shares, self.shares_before, out=kept, where=partial_sell)
        kept[self.closes | self.starts] = 0.0
        added = np.where(self.is_buy, self.quantity * self.price + self.fees, 0.0)
        self.cost_basis = _affine_scan(kept, added)
        self.removed_cost = np.where(
            self.is_sell, self._before(self.cost_basis) - self.cost_basis, 0.0
        )

    def _before(self, values: np.ndarray) -> np.ndarray:
        """Each row's value on the previous row of its ticker (0 on a ticker's first row)."""
        before = np.empty_like(values)
        before[1:] = values[:-1]
        before[self.starts] = 0.0
        return before

    def _raise_if_oversold(self, oversold: np.ndarray, before: np.ndarray) -> None:
        if not oversold.any():
            return
        first = np.flatnonzero(oversold)[np.argmin(self.order[oversold])]
        raise InvalidTransaction(
            self.ledger["id"].iloc[self.order[first]],
            "quantity",
            f"sells {self.quantity[first]:g} {self.ticker[first]} "
            f"but only {before[first]:g} are held",
        )


def _affine_scan(factor: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """x_t = factor_t * x_(t-1) + shift_t for every t, with x_(-1) = 0, in log2(n) whole-array
    steps (a Hillis-Steele prefix scan that composes the maps of 1, 2, 4, ... rows).

    Used instead of x_t = F_t * cumsum(shift / F) with F = cumprod(factor): after many partial
    sells F underflows to 0 and shift / F to inf, while here a long product underflowing to 0
    only drops contributions that are that small. A factor of 0 cuts the dependence on earlier
    rows, so the loop ends once every window of rows contains a 0: for a ledger of many short
    tickers after a few steps.
    """
    factor = factor.astype("float64")
    value = shift.astype("float64")
    span = 1
    while span < len(value) and factor[span:].any():
        # The map of rows (t - 2*span, t] is the map of (t - span, t] after that of (t - 2*span,
        # t - span]: x -> a*(a'*x + b') + b.
        value[span:] = factor[span:] * value[:-span] + value[span:]
        factor[span:] = factor[span:] * factor[:-span]
        span *= 2
    return value


def _ledger_order(transactions: pd.DataFrame) -> pd.DataFrame:
    return transactions.sort_values(["trade_date", "id"], kind="stable").reset_index(drop=True)


def _fees(transactions: pd.DataFrame) -> np.ndarray:
    return transactions["fees"].fillna(0.0).to_numpy(dtype="float64")


def _validate(transactions: pd.DataFrame) -> None:
    """Raise InvalidTransaction for the first row in ledger order that breaks a convention of
    the module docstring, naming the column at fault."""
    kind = pd.Index(KINDS).get_indexer(transactions["kind"])
    is_split = kind == KINDS.index("SPLIT")
    on_ticker = np.isin(kind, [KINDS.index(name) for name in _NEED_TICKER])
    quantity = transactions["quantity"].to_numpy(dtype="float64", na_value=np.nan)
    price = transactions["price"].to_numpy(dtype="float64", na_value=np.nan)
    fees = _fees(transactions)
    with np.errstate(invalid="ignore"):
        checks = [
            (kind < 0, "kind", "unknown transaction type"),
            (transactions["trade_date"].isna().to_numpy(), "trade_date", "missing"),
            (
                on_ticker & transactions["ticker"].isna().to_numpy(),
                "ticker",
                "BUY, SELL, SPLIT and DIVIDEND need one",
            ),
            (~np.isfinite(quantity), "quantity", "must be a number"),
            (is_split & ~(quantity > 0), "quantity", "split ratio must be positive"),
            (on_ticker & ~(quantity > 0), "quantity", "must be positive"),
            (~(quantity >= 0), "quantity", "must not be negative"),
            (~is_split & ~np.isfinite(price), "price", "must be a number"),
            (~is_split & ~(price >= 0), "price", "must not be negative"),
            (~np.isfinite(fees), "fees", "must be a number"),
            (~(fees >= 0), "fees", "must not be negative"),
            (is_split & (fees != 0), "fees", "a SPLIT has none; record a FEE"),
        ]
    broken = np.column_stack([mask for mask, _, _ in checks])
    if not broken.any():
        return
    bad = np.flatnonzero(broken.any(axis=1))
    rows = transactions.iloc[bad]
    position = bad[np.lexsort((rows["id"].to_numpy(), rows["trade_date"].to_numpy()))[0]]
    _, column, reason = checks[int(np.argmax(broken[position]))]
    raise InvalidTransaction(transactions["id"].iloc[position], column, reason)
