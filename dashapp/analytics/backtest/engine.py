"""The fills: cash and shares through a run's fill sessions, for one asset (`simulate`) or a
rebalanced basket (`rebalance_fills`), and the paths of cash, shares and equity between fills
(`paths`).

At a fill, what arrived since the previous fill is added to cash first: shares x dividends per
share paid since then, plus external flows since then. Between fills, for every session t:
cash[t] = cash after the last fill + shares x dividends paid since it + flows since it, and
equity[t] = cash[t] + shares x close[t]. The only Python loop is over fills, never over sessions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dashapp.analytics.backtest.inputs import Costs


@dataclass(frozen=True)
class Ledger:
    """What a run of fills leaves behind: cash and shares after each fill session, the orders."""

    sessions: np.ndarray
    cash: np.ndarray
    shares: np.ndarray
    orders: list[tuple[int, float, float, float, float]]  # session, size, price, cash, shares after


def simulate(
    prices: np.ndarray,
    dividends_paid: np.ndarray,
    flows_in: np.ndarray,
    sessions: np.ndarray,
    long_at: np.ndarray,
    costs: Costs,
) -> Ledger:
    """Cash and shares through a sequence of fill sessions of one asset.

    At each fill session, dividends and flows since the previous one are added to cash; then a
    long session invests all cash (or sells to cover negative cash) and a flat one sells all.
    `dividends_paid` and `flows_in` are cumulative sums per session. The arithmetic is written in
    the same order as `sweep._sweep_trades`, so a sweep cell equals the single run to the last
    bit."""
    commission, fee, whole = costs.commission, costs.fixed_fee, costs.whole_shares
    price_at = prices[sessions].tolist()
    paid_at = dividends_paid[sessions].tolist()
    flow_at = flows_in[sessions].tolist()
    cash = shares = paid = flowed = 0.0
    cash_after = np.empty(len(sessions))
    shares_after = np.empty(len(sessions))
    orders: list[tuple[int, float, float, float, float]] = []
    for position, (session, long) in enumerate(
        zip(sessions.tolist(), long_at.tolist(), strict=True)
    ):
        cash = cash + shares * (paid_at[position] - paid) + (flow_at[position] - flowed)
        paid, flowed = paid_at[position], flow_at[position]
        price = price_at[position]
        if long and cash >= 0:
            unit = price * (1.0 + commission)
            bought = (cash - fee) / unit
            if whole:
                bought = float(math.floor(bought))
            if bought > 0:
                change = -(bought * unit + fee)
                cash = cash + change
                shares = shares + bought
                orders.append((session, bought, price, change, shares))
        elif shares > 0:
            sell_unit = price * (1.0 - commission)
            sold = shares
            if long:
                needed = (fee - cash) / sell_unit
                sold = min(shares, float(math.ceil(needed)) if whole else needed)
            change = sold * sell_unit - fee
            cash = cash + change
            shares = 0.0 if sold == shares else shares - sold
            orders.append((session, -sold, price, change, shares))
        cash_after[position] = cash
        shares_after[position] = shares
    return Ledger(sessions, cash_after, shares_after, orders)


def rebalance_fills(
    prices: np.ndarray,
    dividends_paid: np.ndarray,
    flows_in: np.ndarray,
    sessions: np.ndarray,
    target: np.ndarray,
    costs: Costs,
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, float, float]]]:
    """Cash and shares after each rebalance, and the orders (session, ticker column, size, price)."""
    commission, fee = costs.commission, costs.fixed_fee
    shares = np.zeros(len(target))
    cash = flowed = 0.0
    paid = np.zeros(len(target))
    cash_after = np.empty(len(sessions))
    shares_after = np.empty((len(sessions), len(target)))
    orders: list[tuple[int, int, float, float]] = []
    for position, session in enumerate(sessions.tolist()):
        cash = (
            cash + float(shares @ (dividends_paid[session] - paid)) + (flows_in[session] - flowed)
        )
        paid, flowed = dividends_paid[session], flows_in[session]
        price = prices[session]
        value = cash + float(shares @ price)
        if value > 0:
            wanted = target * value / price
            if costs.whole_shares:
                wanted = np.floor(wanted)
            selling = wanted < shares
            cash = cash + float(
                np.sum((shares[selling] - wanted[selling]) * price[selling] * (1.0 - commission))
                - fee * np.count_nonzero(selling)
            )
            bought = np.where(wanted > shares, wanted - shares, 0.0)
            unit = price * (1.0 + commission)
            budget = cash - fee * np.count_nonzero(bought)
            spend = float(bought @ unit)
            if spend > budget:
                bought = bought * max(budget, 0.0) / spend
                if costs.whole_shares:
                    bought = np.floor(bought)
            cash = cash - float(bought @ unit) - fee * np.count_nonzero(bought)
            orders.extend(
                (session, column, -(shares[column] - wanted[column]), float(price[column]))
                for column in np.flatnonzero(selling).tolist()
            )
            orders.extend(
                (session, column, float(bought[column]), float(price[column]))
                for column in np.flatnonzero(bought).tolist()
            )
            shares = np.where(selling, wanted, shares + bought)
        cash_after[position] = cash
        shares_after[position] = shares
    return cash_after, shares_after, orders


def paths(
    event_sessions: np.ndarray,
    event_columns: np.ndarray,
    cash_after: np.ndarray,
    shares_after: np.ndarray,
    columns: int,
    closes: np.ndarray,
    dividends_paid: np.ndarray,
    flows_in: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cash, shares and equity per session (sessions x columns) from the state after each fill.

    Events must be ordered by column, then session. Between fills, cash grows by shares x the
    dividends paid since the fill and by the flows since it; equity = cash + shares x close."""
    length = len(closes)
    flows = np.broadcast_to(flows_in[:, None], (length, columns))
    if len(event_sessions) == 0:
        zeros = np.zeros((length, columns))
        return flows.copy(), zeros, flows + zeros * closes[:, None]
    last = np.full((length, columns), -1, dtype=np.int64)
    last[event_sessions, event_columns] = np.arange(len(event_sessions))
    np.maximum.accumulate(last, axis=0, out=last)
    known = last >= 0
    event = np.where(known, last, 0)
    since = event_sessions[event]
    shares = np.where(known, shares_after[event], 0.0)
    cash = np.where(
        known,
        cash_after[event]
        + shares * (dividends_paid[:, None] - dividends_paid[since])
        + (flows_in[:, None] - flows_in[since]),
        flows,
    )
    return cash, shares, cash + shares * closes[:, None]
