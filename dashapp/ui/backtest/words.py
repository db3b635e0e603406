"""The words the backtest page shows for the request's internal names: strategies, metrics and
form fields, and the translation of a service message into those words."""

from __future__ import annotations

import re

STRATEGY_LABELS = {
    "sma_crossover": "SMA crossover",
    "buy_and_hold": "Buy and hold",
    "rebalance": "Rebalance the basket",
    "dca": "Dollar-cost averaging",
}
METRIC_LABELS = {
    "total_return": "Total return",
    "cagr": "CAGR",
    "volatility": "Volatility",
    "sharpe": "Sharpe",
    "sortino": "Sortino",
    "max_drawdown": "Max drawdown",
    "calmar": "Calmar",
    "trades": "Trades",
    "invested": "Money put in",
    "final_equity": "Final equity",
}
# The form's label of each request field, so that an error names what the user sees.
FIELD_LABELS = {
    "ticker": "Ticker",
    "portfolio_id": "Portfolio",
    "strategy": "Strategy",
    "fast": "Fast SMA",
    "slow": "Slow SMA",
    "frequency": "Rebalance",
    "amount": "Monthly amount",
    "period": "Period",
    "start": "Custom dates",
    "end": "Custom dates",
    "cash": "Cash",
    "commission": "Commission (fraction)",
    "fixed_fee": "Fee per order",
    "fill": "Orders fill at",
    "whole_shares": "Shares",
    "contributions": "Money",
    "benchmark": "Benchmark ETF",
    "sweep": "Sweep",
    "metric": "Heatmap of",
    "fast_windows": "Fast windows",
    "slow_windows": "Slow windows",
}
# Internal names a service message may hold -> the words the form uses for them.
WORDS = {
    **{key: label for key, label in STRATEGY_LABELS.items()},
    "the portfolio_id": "the portfolio",
    "a portfolio_id": "a portfolio",
    "portfolio_id": "portfolio",
    "'mine'": "'my contributions'",
    "'lump'": "'lump sum'",
    "fast_windows": "fast windows",
    "slow_windows": "slow windows",
    "next_open": "next open",
}
INTERNAL_NAMES = re.compile("|".join(re.escape(name) for name in WORDS))


def in_words(text: str) -> str:
    """A service message with the request's internal names (strategy ids, field names) replaced
    by the words the form shows."""
    return INTERNAL_NAMES.sub(lambda match: WORDS[match.group(0)], text)
