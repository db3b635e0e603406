"""The backtest form as the callbacks read it: which control holds each value, which fields the
chosen subject and strategy use, and the service's request built from the values."""

from __future__ import annotations

from typing import Any

from dashapp.ui.backtest import ids

# Form value name -> (component id, property) the run callback reads.
FORM_FIELDS = {
    "subject": (ids.SUBJECT, "value"),
    "ticker": (ids.TICKER, "value"),
    "portfolio": (ids.PORTFOLIO, "value"),
    "strategy": (ids.STRATEGY, "value"),
    "fast": (ids.FAST, "value"),
    "slow": (ids.SLOW, "value"),
    "frequency": (ids.FREQUENCY, "value"),
    "amount": (ids.AMOUNT, "value"),
    "period": (ids.PERIOD, "value"),
    "dates-start": (ids.DATES, "start_date"),
    "dates-end": (ids.DATES, "end_date"),
    "cash": (ids.CASH, "value"),
    "commission": (ids.COMMISSION, "value"),
    "fixed-fee": (ids.FIXED_FEE, "value"),
    "fill": (ids.FILL, "value"),
    "whole-shares": (ids.WHOLE_SHARES, "value"),
    "contributions": (ids.CONTRIBUTIONS, "value"),
    "benchmark": (ids.BENCHMARK, "value"),
    "sweep": (ids.SWEEP, "value"),
    "metric": (ids.METRIC, "value"),
    "fast-windows": (ids.FAST_WINDOWS, "value"),
    "slow-windows": (ids.SLOW_WINDOWS, "value"),
}

# The form's fields (name -> control) whose column `ids.field(control)` is shown only when the
# chosen subject and strategy use it (see `shown_fields`).
TOGGLED_FIELDS = {
    "ticker": ids.TICKER,
    "portfolio": ids.PORTFOLIO,
    "fast": ids.FAST,
    "slow": ids.SLOW,
    "frequency": ids.FREQUENCY,
    "amount": ids.AMOUNT,
    "cash": ids.CASH,
    "dates": ids.DATES,
    "sweep": ids.SWEEP,
    "metric": ids.METRIC,
    "fast-windows": ids.FAST_WINDOWS,
    "slow-windows": ids.SLOW_WINDOWS,
}


def shown_fields(subject, strategy, sweep, period, contributions) -> set[str]:
    """The toggled fields the request would read: a ticker or a portfolio, the SMA windows and
    the sweep for an SMA crossover only, the frequency for rebalancing, the monthly amount for
    DCA, the cash for a lump sum, custom dates for a custom period."""
    shown = {"ticker"} if subject != "portfolio" else {"portfolio"}
    if contributions == "mine":
        shown.add("portfolio")
    if strategy == "sma_crossover":
        shown |= {"fast", "slow", "sweep"}
        if sweep:
            shown |= {"metric", "fast-windows", "slow-windows"}
    if strategy == "rebalance":
        shown.add("frequency")
    if strategy == "dca":
        shown.add("amount")
    elif contributions != "mine":
        shown.add("cash")
    if period == "CUSTOM":
        shown.add("dates")
    return shown


def form_request(values: dict[str, Any]) -> dict[str, Any]:
    """The service's request from the form's values (keyed by FORM_FIELDS)."""
    by_ticker = values.get("subject") != "portfolio"
    mine = values.get("contributions") == "mine"
    sweep = bool(values.get("sweep"))
    raw = {
        "ticker": values.get("ticker") if by_ticker else None,
        "portfolio_id": values.get("portfolio") if (mine or not by_ticker) else None,
        "strategy": values.get("strategy"),
        "fast": values.get("fast"),
        "slow": values.get("slow"),
        "frequency": values.get("frequency"),
        "amount": values.get("amount"),
        "period": values.get("period"),
        "start": values.get("dates-start") if values.get("period") == "CUSTOM" else None,
        "end": values.get("dates-end") if values.get("period") == "CUSTOM" else None,
        "cash": values.get("cash"),
        "commission": values.get("commission"),
        "fixed_fee": values.get("fixed-fee"),
        "fill": values.get("fill"),
        "whole_shares": "whole" in (values.get("whole-shares") or []),
        "contributions": values.get("contributions"),
        "benchmark": values.get("benchmark"),
        "sweep": sweep,
    }
    if sweep:
        raw |= {
            "metric": values.get("metric"),
            "fast_windows": values.get("fast-windows"),
            "slow_windows": values.get("slow-windows"),
        }
    return {name: value for name, value in raw.items() if value is not None}


def blank_number(values: dict[str, Any]) -> str | None:
    """The request field of the first number box the strategy uses that is empty: a browser
    gives no value for an empty box or one it cannot read, and the form must not quietly run
    the default instead."""
    used = ["commission", "fixed-fee"]
    if values.get("strategy") == "sma_crossover":
        used += ["fast", "slow"]
    if values.get("strategy") == "dca":
        used.append("amount")
    elif values.get("contributions") != "mine":
        used.append("cash")
    blank = next((name for name in used if values.get(name) is None), None)
    return None if blank is None else blank.replace("-", "_")
