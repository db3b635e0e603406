"""Tax lots of a transaction ledger, and the gain each sale realizes under a named lot method.

Ledger conventions are those of `dashapp.analytics.holdings` (BUY, SELL, SPLIT with q = ratio of
new to old shares, rows in (trade_date, id) order, a position closed once sold out). Amounts are
in the portfolio's one currency (its base_currency): the ledger records nothing else, so no FX
applies. With q = quantity, p = price, f = fees:

- A lot is one BUY: acquired = its trade date, cost = q*p + f (fees are part of the cost).
- Units: a ticker's shares counted in its first split basis, u = q / F with F = the product of
  the ticker's SPLIT ratios up to and including the row. A split changes no lot's units or cost,
  so a lot of n shares holds n*R shares after splits of total ratio R, at cost / (n*R) each.
- A SELL nets proceeds = q*p - f (fees reduce the proceeds) and is matched to lots FIFO, the
  earliest acquired first: with B = cumulative units bought and S = cumulative units sold
  within the position, sale j takes the units (S_(j-1), S_j] of the lots' axis (B_(k-1), B_k],
  piece = min(B_k, S_j) - max(B_(k-1), S_(j-1)) units of lot k where that is positive.
  A piece's share of its sale is w = piece / (units of the sale); its quantity q*w shares (at
  the sale's basis), its proceeds proceeds*w.
- Cost of a piece, by method:
  - "fifo": piece * lot cost / lot units, the lot's own cost.
  - "average": w * the cost the sale removes at the position's average cost, exactly
    `holdings.positions`' realized gain convention: removed = cost_basis * q / shares.
  gain = proceeds - cost; a sale's gain is the sum over its pieces.
- Holding period: holding_days = sale date - acquired (calendar days). long_term when the sale
  date is after the acquisition's first anniversary (acquired + 1 calendar year; 29 February
  + 1 year = 28 February), short term otherwise. Under "average" too the pieces, and so the
  holding periods, follow FIFO: the shares sold are deemed the first acquired.
- A sold-out position is closed (holdings' rule, with its SHARE_EPSILON dust tolerance): its
  lots are used up and the next BUY starts afresh. Pieces below SHARE_EPSILON of their sale
  (float dust at lot boundaries) are dropped and the others' weights renormalised to sum to 1.

A SELL of more shares than the lots hold raises `holdings.InvalidTransaction`, as positions do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashapp.analytics.holdings import SHARE_EPSILON, _TickerPath

METHODS = ("fifo", "average")
LOT_COLUMNS = (
    "sale_id",
    "date",
    "ticker",
    "acquired",
    "quantity",
    "proceeds",
    "cost",
    "gain",
    "holding_days",
    "long_term",
)
OPEN_LOT_COLUMNS = ("buy_id", "ticker", "acquired", "quantity", "cost")
YEAR_COLUMNS = (
    "proceeds",
    "cost",
    "gain",
    "short_term_gain",
    "long_term_gain",
    "sales",
)


def realized_lots(transactions: pd.DataFrame, method: str) -> pd.DataFrame:
    """One row per piece of a sale matched to one lot (columns LOT_COLUMNS), in ledger order of
    the sales and, within a sale, of the lots. `method` is one of METHODS."""
    _check_method(method)
    axis = _LotAxis(transactions)
    sells = np.flatnonzero(axis.path.is_sell)
    if not len(sells):
        return _empty(LOT_COLUMNS)
    sale, lot, units = axis.pieces(sells)
    weight = units / np.bincount(sale, weights=units)[sale]
    row = sells[sale]
    path = axis.path
    proceeds = (path.quantity * path.price - path.fees)[row] * weight
    if method == "fifo":
        cost = units * axis.lot_cost[lot] / axis.lot_units[lot]
    else:
        cost = path.removed_cost[row] * weight
    sold_on = axis.trade_date[row]
    acquired = axis.trade_date[axis.buys[lot]]
    anniversary = (pd.DatetimeIndex(acquired) + pd.DateOffset(years=1)).to_numpy()
    return (
        pd.DataFrame(
            {
                "sale_id": axis.ids[row],
                "date": sold_on,
                "ticker": path.ticker[row],
                "acquired": acquired,
                "quantity": path.quantity[row] * weight,
                "proceeds": proceeds,
                "cost": cost,
                "gain": proceeds - cost,
                "holding_days": (sold_on - acquired) // np.timedelta64(1, "D"),
                "long_term": sold_on > anniversary,
            }
        )
        .iloc[np.lexsort((lot, path.order[row]))]
        .reset_index(drop=True)
    )


def open_lots(transactions: pd.DataFrame, method: str) -> pd.DataFrame:
    """The lots still held (columns OPEN_LOT_COLUMNS), by ticker and then acquisition order:
    quantity in shares at the latest split basis; cost the lot's remaining own cost ("fifo") or
    its share of the position's cost basis by quantity ("average"). A remainder below
    SHARE_EPSILON of its lot is float dust, not a lot."""
    _check_method(method)
    axis = _LotAxis(transactions)
    path = axis.path
    last = axis.last_row[axis.buys]
    remaining = axis.lot_end - np.maximum(axis.lot_start, axis.sold_to[last])
    held = np.flatnonzero(remaining > SHARE_EPSILON * axis.lot_units)
    if not len(held):
        return _empty(OPEN_LOT_COLUMNS)
    remaining, last, buys = remaining[held], last[held], axis.buys[held]
    quantity = remaining * axis.split_factor[last]
    if method == "fifo":
        cost = remaining * axis.lot_cost[held] / axis.lot_units[held]
    else:
        cost = path.cost_basis[last] * quantity / path.shares[last]
    return pd.DataFrame(
        {
            "buy_id": axis.ids[buys],
            "ticker": path.ticker[buys],
            "acquired": axis.trade_date[buys],
            "quantity": quantity,
            "cost": cost,
        }
    )


def realized_by_year(lots: pd.DataFrame) -> pd.DataFrame:
    """Totals of `realized_lots` per calendar year of the sale date (index year, ascending;
    columns YEAR_COLUMNS): proceeds, cost and gain sums; short_term_gain and long_term_gain
    split gain by holding period (they add up to gain); sales counts distinct sales."""
    if lots.empty:
        return _empty(YEAR_COLUMNS).rename_axis("year")
    year = pd.DatetimeIndex(lots["date"]).year.rename("year")
    long_gain = lots["gain"].where(lots["long_term"], 0.0)
    return (
        pd.DataFrame(
            {
                "proceeds": lots["proceeds"],
                "cost": lots["cost"],
                "gain": lots["gain"],
                "short_term_gain": lots["gain"] - long_gain,
                "long_term_gain": long_gain,
                "sale_id": lots["sale_id"],
            }
        )
        .groupby(year)
        .agg(
            proceeds=("proceeds", "sum"),
            cost=("cost", "sum"),
            gain=("gain", "sum"),
            short_term_gain=("short_term_gain", "sum"),
            long_term_gain=("long_term_gain", "sum"),
            sales=("sale_id", "nunique"),
        )
    )


class _LotAxis:
    """Every position row on the units axis of the module docstring, in holdings' ticker order,
    and the lots (one per BUY row, `buys`) on it.

    bought_to / sold_to are B and S after each row, counted along one axis for all tickers: a
    position's axis starts where the previous position's (of any ticker) ends, and a closing
    SELL sells to its position's end, so lots of different positions never overlap.
    """

    def __init__(self, transactions: pd.DataFrame) -> None:
        path = _TickerPath(transactions)
        self.path = path
        self.ids = path.ledger["id"].to_numpy()[path.order]
        self.trade_date = pd.DatetimeIndex(path.ledger["trade_date"]).to_numpy()[path.order]
        codes = np.cumsum(path.starts) - 1
        ratio = np.where(path.kind == "SPLIT", path.quantity, 1.0)
        self.split_factor = pd.Series(ratio).groupby(codes).cumprod().to_numpy()
        # Only BUY and SELL rows' units are ever read.
        self.units = path.quantity / self.split_factor
        bought = np.where(path.is_buy, self.units, 0.0)
        sold = np.where(path.is_sell, self.units, 0.0)
        self.bought_to = np.cumsum(bought)
        # A position (holding) starts on a ticker's first row and after each closing SELL.
        opens = path.starts.copy()
        opens[1:] |= path.closes[:-1]
        position = np.cumsum(opens) - 1
        opening = np.flatnonzero(opens)
        # No position opens on a SELL (it would sell shares not held), so the units sold up to
        # a position's first row are all earlier positions'.
        sold_total = np.cumsum(sold)
        sold_to = (self.bought_to - bought)[opening][position] + (
            sold_total - sold_total[opening][position]
        )
        # A closing SELL takes all that is left (dust included); no SELL takes more than is left.
        self.sold_to = np.where(path.closes, self.bought_to, np.minimum(sold_to, self.bought_to))
        self.sold_from = np.minimum(sold_to - sold, self.sold_to)
        self.buys = np.flatnonzero(path.is_buy)
        self.lot_units = self.units[self.buys]
        self.lot_end = self.bought_to[self.buys]
        self.lot_start = self.lot_end - self.lot_units
        self.lot_cost = (path.quantity * path.price + path.fees)[self.buys]
        ends = np.append(np.flatnonzero(path.starts)[1:], len(codes)) - 1
        self.last_row = ends[codes]

    def pieces(self, sells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sale, lot, units) per piece: `sale` indexes `sells`, `lot` indexes `buys`. Each sale
        spans lots first..last: those ending after its start and starting before its end."""
        low, high = self.sold_from[sells], self.sold_to[sells]
        first = np.searchsorted(self.lot_end, low, side="right")
        last = np.searchsorted(self.lot_start, high) - 1
        count = last - first + 1
        sale = np.repeat(np.arange(len(sells)), count)
        # Lot k of sale j runs first_j, first_j + 1, ...: offset within the sale's pieces.
        offset = np.arange(len(sale)) - np.repeat(np.cumsum(count) - count, count)
        lot = first[sale] + offset
        units = np.minimum(self.lot_end[lot], high[sale]) - np.maximum(
            self.lot_start[lot], low[sale]
        )
        kept = units > SHARE_EPSILON * self.units[sells][sale]
        return sale[kept], lot[kept], units[kept]


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown lot method {method!r}; one of {', '.join(METHODS)}")


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))
