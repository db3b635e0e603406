"""The seeded demo portfolio: a dozen holdings bought over several years, with dividends,
partial sales (one over two lots) and stocks that split, so a person without internet sees a
full dashboard and reports.

Every dividend is recorded except JNJ's, on purpose: its transactions page then proposes them,
as it would for a ledger imported from a broker export that lacks them."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select

from dashapp.db.models import Portfolio, Transaction
from dashapp.market.demo import DemoMarket
from dashapp.services.comparison_requests import DEFAULT_BENCHMARKS
from dashapp.services.context import AppContext
from dashapp.services.ownership import new_owner
from dashapp.services.portfolios import first_trade_date, held_tickers

DEMO_PORTFOLIO_NAME = "Demo portfolio"
UNRECORDED_DIVIDENDS = ("JNJ",)
# (trade date, kind, ticker, shares). Prices come from the demo market's close on that day.
DEMO_TRADES: tuple[tuple[date, str, str, float], ...] = (
    (date(2019, 3, 15), "BUY", "AAPL", 40),
    (date(2019, 6, 3), "BUY", "MSFT", 25),
    (date(2019, 9, 10), "BUY", "KO", 120),
    (date(2020, 1, 15), "BUY", "NVDA", 30),
    (date(2020, 5, 12), "BUY", "JNJ", 30),
    (date(2020, 11, 9), "BUY", "JPM", 35),
    (date(2021, 2, 8), "BUY", "SCHD", 150),
    (date(2021, 6, 14), "BUY", "XOM", 80),
    (date(2022, 3, 7), "BUY", "PG", 40),
    (date(2022, 10, 17), "BUY", "TSLA", 20),
    (date(2023, 1, 23), "BUY", "AMZN", 50),
    (date(2023, 6, 5), "BUY", "BND", 100),
    (date(2024, 2, 12), "BUY", "AAPL", 15),
    (date(2024, 9, 16), "SELL", "JNJ", 10),
    # All 160 shares of the 2019 lot (40 before the 4:1 split) and 10 of the 2024 one: a sale
    # over two lots, long and short term, so the reports page shows FIFO and average cost differ.
    (date(2024, 11, 18), "SELL", "AAPL", 170),
    (date(2025, 3, 3), "BUY", "COST", 8),
)


def demo_tickers() -> list[str]:
    return sorted({ticker for _, _, ticker, _ in DEMO_TRADES})


def seed_demo_portfolio(ctx: AppContext) -> int:
    """Create the demo portfolio unless it exists; returns its id. Idempotent, even when several
    workers start at once."""
    with ctx.store.locks.hold([DEMO_PORTFOLIO_NAME]):
        return _seed_demo_portfolio(ctx)


def _seed_demo_portfolio(ctx: AppContext) -> int:
    # The demo user is the first user: AUTH=local's one user, signed in automatically by --demo.
    with ctx.db.session() as session:
        owner = new_owner(session)
        existing = session.scalar(
            select(Portfolio.id).where(
                Portfolio.name == DEMO_PORTFOLIO_NAME, Portfolio.user_id == owner
            )
        )
        if existing is not None:
            return existing
    ledger = demo_ledger(DemoMarket(ctx.clock, ctx.calendar), ctx.clock.now().date())
    with ctx.db.session() as session:
        portfolio = Portfolio(
            user_id=owner, name=DEMO_PORTFOLIO_NAME, base_currency="USD", version=1
        )
        session.add(portfolio)
        session.flush()
        session.add_all(
            Transaction(portfolio_id=portfolio.id, currency="USD", **row)
            for row in ledger.to_dict("records")
        )
        return portfolio.id


def demo_ledger(market: DemoMarket, today: date) -> pd.DataFrame:
    """The demo trades priced at the demo market's close, plus the splits and dividends they earn.

    Trade prices are what the buyer paid on the day, so the split-adjusted close is multiplied
    back by every split after the trade date; SPLIT rows then restore the share counts.
    """
    trades = pd.DataFrame(DEMO_TRADES, columns=["trade_date", "kind", "ticker", "quantity"])
    trades = trades[trades["trade_date"] <= today]
    first = trades["trade_date"].min()
    bars = market.history(demo_tickers(), first - timedelta(days=10), today).bars
    bars = bars.sort_values(["ticker", "date"])
    # Multiply a split-adjusted close by the splits strictly after its date to get the price paid.
    splits_so_far = bars.groupby("ticker")["split_ratio"].cumprod()
    later_splits = bars.groupby("ticker")["split_ratio"].transform("prod") / splits_so_far
    bars = bars.assign(
        raw_close=bars["close"] * later_splits, raw_dividend=bars["dividend"] * later_splits
    )
    trade_days = pd.to_datetime(trades["trade_date"]).astype("datetime64[ns]")
    priced = pd.merge_asof(
        trades.assign(date=trade_days).sort_values("date"),
        bars[["ticker", "date", "raw_close"]].sort_values("date"),
        on="date",
        by="ticker",
    )
    priced = priced.assign(price=priced["raw_close"].round(2), fees=1.0, note="demo trade")
    events = _corporate_actions(priced, bars)
    ledger = pd.concat([priced, events], ignore_index=True).sort_values(["date", "kind"])
    ledger["trade_date"] = ledger["date"].dt.date
    return ledger[["trade_date", "kind", "ticker", "quantity", "price", "fees", "note"]]


def _corporate_actions(trades: pd.DataFrame, bars: pd.DataFrame) -> pd.DataFrame:
    """SPLIT rows for every split of a held ticker and DIVIDEND rows for every dividend paid on
    shares held, except UNRECORDED_DIVIDENDS'."""
    signed = trades.assign(delta=np.where(trades["kind"] == "SELL", -1.0, 1.0) * trades["quantity"])
    held = bars[bars["ticker"].isin(trades["ticker"])]
    held = held.merge(signed[["ticker", "date", "delta"]], on=["ticker", "date"], how="left")
    held["delta"] = held["delta"].fillna(0.0)
    # Shares follow S_t = r_t * S_(t-1) + delta_t, so S_t = A_t * cumsum(delta / A) with
    # A = cumprod(r); the shares of a day before its trades (after its split) are S_t - delta_t.
    split_factor = held.groupby("ticker")["split_ratio"].cumprod()
    scaled_trades = (held["delta"] / split_factor).groupby(held["ticker"]).cumsum()
    held["shares_before"] = split_factor * scaled_trades - held["delta"]
    splits = held[(held["split_ratio"] != 1.0) & (held["shares_before"] > 0)]
    dividends = held[
        ~held["ticker"].isin(UNRECORDED_DIVIDENDS)
        & (held["raw_dividend"] > 0)
        & (held["shares_before"] > 0)
    ]
    return pd.concat(
        [
            splits.assign(kind="SPLIT", quantity=splits["split_ratio"], price=0.0),
            dividends.assign(
                kind="DIVIDEND",
                quantity=dividends["shares_before"].round(6),
                price=dividends["raw_dividend"].round(4),
            ),
        ]
    ).assign(fees=0.0, note="demo corporate action")[
        ["ticker", "date", "kind", "quantity", "price", "fees", "note"]
    ]


def warm_demo_cache(ctx: AppContext, portfolio_id: int) -> None:
    """Fill history and quotes for the demo holdings and default benchmarks (start-up, not a request)."""
    start = first_trade_date(ctx, portfolio_id) or ctx.clock.now().date() - timedelta(days=365)
    tickers = [*held_tickers(ctx, portfolio_id), *DEFAULT_BENCHMARKS]
    ctx.store.fill(tickers, start - timedelta(days=7), ctx.clock.now().date())
    ctx.store.refresh_quotes(tickers)
