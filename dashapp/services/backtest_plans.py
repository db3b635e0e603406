"""A backtest request resolved against the database once: its tickers, the basket's weights, the
session window and, for "mine", the portfolio's own dated flows.

Everything after the plan (the cache key, the prices, the engine's runs) takes it as an argument,
so a request reads the portfolio's ledger once however many of them need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from dashapp.analytics.performance import portfolio_series
from dashapp.services.backtest_requests import BacktestRequest
from dashapp.services.context import AppContext
from dashapp.services.portfolios import (
    InvalidInput,
    Ledger,
    PortfolioSummary,
    holdings_of,
    load_ledger,
)
from dashapp.services.request_periods import requested_range

# The XNYS calendar's first session: "MAX" of a lump-sum backtest reaches back to it.
EARLIEST_START = date(1990, 1, 2)


@dataclass(frozen=True)
class BacktestPlan:
    """A request resolved against the database: every ticker used (the subject's, then the
    benchmark), the basket's weights and the positions left out for want of a price, the
    window, and the "mine" flows."""

    tickers: list[str]
    weights: dict[str, float] | None
    left_out: list[str]
    start: date
    end: date
    portfolio: PortfolioSummary | None
    flows: pd.Series | None = field(default=None, compare=False)


def plan_backtest(ctx: AppContext, request: BacktestRequest) -> BacktestPlan:
    """Resolve tickers, weights and the session window, reading the portfolio's ledger once;
    raises PortfolioNotFound, InvalidInput."""
    ledger = None if request.portfolio_id is None else load_ledger(ctx, request.portfolio_id)
    weights, left_out = None, []
    if request.ticker is not None:
        subject: tuple[str, ...] = (request.ticker,)
    else:
        weights, left_out = basket_weights(ctx, ledger)
        subject = tuple(weights)
    last_closed = ctx.calendar.last_completed_session(ctx.clock.now())
    end = min(request.end or last_closed, last_closed)
    first = EARLIEST_START
    if request.contributions == "mine":
        first = ledger.first_trade_date
        if first is None:
            raise InvalidInput("contributions", "the portfolio has no transactions")
    start, end = requested_range(request.period, request.start, end, first)
    if start >= end:
        raise InvalidInput("start", "the period holds no completed session")
    flows = None
    if request.contributions == "mine":
        flows = my_contributions(ctx, ledger, start, end)
    return BacktestPlan(
        tickers=list(dict.fromkeys((*subject, request.benchmark))),
        weights=weights,
        left_out=left_out,
        start=start,
        end=end,
        portfolio=None if ledger is None else ledger.portfolio,
        flows=flows,
    )


def basket_weights(ctx: AppContext, ledger: Ledger) -> tuple[dict[str, float], list[str]]:
    """Open positions weighted by current market value (the dashboard's weights), summing to 1,
    and the open positions left out because they have no price."""
    holdings = holdings_of(ctx, ledger).holdings
    priced = holdings["market_value"].notna() & (holdings["market_value"] > 0)
    if not priced.any():
        raise InvalidInput("portfolio_id", "the portfolio holds nothing with a price")
    values = holdings[priced].set_index("ticker")["market_value"].astype("float64").sort_index()
    weights = {str(t): round(float(v), 12) for t, v in (values / values.sum()).items()}
    return weights, sorted(holdings.loc[~priced, "ticker"])


def my_contributions(ctx: AppContext, loaded: Ledger, start: date, end: date) -> pd.Series:
    """The portfolio's external flows per session in [start, end] (analytics.performance's rule:
    deposits and withdrawals, or BUY/SELL net cash when the ledger tracks no cash). Flows before
    `start` count as put in on its first session: the money that was in by then."""
    ledger, first = loaded.frame, loaded.first_trade_date
    if first is None:
        raise InvalidInput("contributions", "the portfolio has no transactions")
    sessions = ctx.calendar.sessions(min(first, start), end)
    window = sessions[sessions >= pd.Timestamp(start)]
    if len(window) == 0:
        raise InvalidInput("start", "the period holds no session")
    # Flows follow from the ledger alone, so no prices are needed: an empty price table.
    empty = pd.DataFrame(index=sessions, dtype="float64")
    flow = portfolio_series(ledger, empty, empty).frame["flow"]
    before = float(flow[flow.index < window[0]].sum())
    flows = flow.loc[window[0] :].copy()
    flows.iloc[0] += before
    flows = flows[flows != 0.0]
    if flows.empty or flows.cumsum().max() <= 0:
        raise InvalidInput("contributions", "the portfolio put no money in over the period")
    return flows.rename("contribution")
