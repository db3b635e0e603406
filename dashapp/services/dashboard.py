"""The dashboard's read model: holdings, allocation and the day's movers of one portfolio.

Everything here comes from the database and the read-model cache, never from the network, so
the page's first answer can carry it. The snapshot is cached under a key made of the portfolio's
version, name and currency, the version of every stored price of its tickers (bars and quotes),
and the current minute: freshness badges move with the clock (a quote turns stale after
FRESH_INTRADAY_SECONDS), so a snapshot is reused for at most FRESHNESS_STEP_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select

from dashapp.db.models import Portfolio, PriceCoverage, Transaction
from dashapp.db.models import Quote as QuoteRow
from dashapp.rules import MISSING, NEEDS_REFRESH
from dashapp.services import read_models
from dashapp.services.context import AppContext
from dashapp.services.dashboard_benchmarks import choose_benchmarks, chosen_benchmarks
from dashapp.services.dashboard_panels import BenchmarkPanel, cached_benchmark_panel
from dashapp.services.ownership import owned
from dashapp.services.portfolios import (
    HoldingsView,
    PortfolioNotFound,
    PortfolioSummary,
    holdings_view,
    list_portfolios,
)
from dashapp.services.views import note_viewed

FRESHNESS_STEP_SECONDS = 60
TOP_HOLDINGS = 10
MOVERS_EACH_WAY = 5
OTHER = "Other"
# What allocation could be grouped by but the app does not store per instrument yet.
UNKNOWN_DIMENSIONS = ("exchange", "asset type")


@dataclass(frozen=True)
class Slice:
    label: str
    value: float
    weight: float


@dataclass(frozen=True)
class Allocation:
    """Market value by holding (the largest TOP_HOLDINGS, the rest as Other) and by currency.

    weight = value / sum of value over priced holdings. Holdings without a price are listed in
    `unpriced`, not counted as zero; `unknown` names the groupings the data cannot answer yet.
    """

    by_holding: tuple[Slice, ...]
    by_currency: tuple[Slice, ...]
    unpriced: tuple[str, ...]
    unknown: tuple[str, ...] = UNKNOWN_DIMENSIONS


@dataclass(frozen=True)
class Mover:
    ticker: str
    day_change_pct: float
    day_change: float
    price: float


@dataclass(frozen=True)
class DashboardSnapshot:
    holdings: HoldingsView
    allocation: Allocation
    # Largest gains first, then largest losses, each by day change in percent.
    movers: tuple[Mover, ...]

    @property
    def needs_refresh(self) -> bool:
        """Something shown is stale or missing: a background refresh should fill it."""
        return bool(self.holdings.holdings["freshness"].isin(NEEDS_REFRESH).any())

    @property
    def prices_missing(self) -> bool:
        return bool(self.holdings.holdings["freshness"].eq(MISSING).any())


@dataclass(frozen=True)
class DashboardPage:
    """What the dashboard's first answer shows: the selector, one portfolio's snapshot, its
    chosen benchmarks and the benchmark panel when a finished one is cached."""

    portfolios: tuple[PortfolioSummary, ...]
    snapshot: DashboardSnapshot | None
    benchmarks: tuple[str, ...]
    period: str
    benchmark_panel: BenchmarkPanel | None


def dashboard_page(
    ctx: AppContext, portfolio_id: int | None = None, period: str = "1Y"
) -> DashboardPage:
    """The page for `portfolio_id` (default: the first portfolio), from caches and the database."""
    portfolios = tuple(list_portfolios(ctx))
    ids = [portfolio.id for portfolio in portfolios]
    chosen = portfolio_id if portfolio_id in ids else (ids[0] if ids else None)
    if chosen is None:
        return DashboardPage(portfolios, None, (), period, None)
    benchmarks = chosen_benchmarks(ctx, chosen)
    return DashboardPage(
        portfolios,
        dashboard_snapshot(ctx, chosen),
        benchmarks,
        period,
        cached_benchmark_panel(ctx, chosen, benchmarks, period),
    )


def ask_benchmark_panel(
    ctx: AppContext, portfolio_id: int, benchmarks: list[str] | None, period: str
) -> tuple[tuple[str, ...], BenchmarkPanel | None]:
    """The benchmarks to show (`benchmarks` kept as the portfolio's new choice when given, else
    its saved choice) and the finished panel when one is cached. InvalidInput names a bad choice
    and stores nothing."""
    if benchmarks is None:
        chosen = chosen_benchmarks(ctx, portfolio_id)
    else:
        chosen = choose_benchmarks(ctx, portfolio_id, benchmarks)
    return chosen, cached_benchmark_panel(ctx, portfolio_id, chosen, period)


def dashboard_snapshot(ctx: AppContext, portfolio_id: int) -> DashboardSnapshot:
    """Holdings, allocation and movers of one portfolio; raises PortfolioNotFound."""
    key = "dashboard:" + snapshot_key(ctx, portfolio_id)
    snapshot = read_models.cached(ctx, key, lambda: _compute(ctx, portfolio_id))
    # A cache hit skips holdings_view, which notes what the page shows for the warm jobs.
    note_viewed(ctx, snapshot.holdings.holdings["ticker"])
    return snapshot


def snapshot_key(ctx: AppContext, portfolio_id: int) -> str:
    """Changes with the portfolio (version, name, currency), any stored price of its tickers
    (bars, quotes, fetch errors) and the freshness minute. Two small queries, no ledger read."""
    held = (
        select(Transaction.ticker)
        .where(Transaction.portfolio_id == portfolio_id, Transaction.ticker.is_not(None))
        .distinct()
    )
    with ctx.db.engine.connect() as connection:
        portfolio = connection.execute(
            select(Portfolio.version, Portfolio.name, Portfolio.base_currency).where(
                Portfolio.id == portfolio_id, owned()
            )
        ).first()
        if portfolio is None:
            raise PortfolioNotFound(portfolio_id)
        coverage = connection.execute(
            select(
                func.count(),
                func.sum(PriceCoverage.data_version),
                func.max(PriceCoverage.last_date),
                func.max(PriceCoverage.fetched_at),
                func.max(PriceCoverage.last_error_at),
                func.sum(PriceCoverage.consecutive_errors),
            ).where(PriceCoverage.ticker.in_(held))
        ).one()
        quotes = connection.execute(
            select(
                func.count(),
                func.max(QuoteRow.fetched_at),
                func.max(QuoteRow.as_of),
                func.sum(QuoteRow.price),
                func.sum(QuoteRow.previous_close),
            ).where(QuoteRow.ticker.in_(held))
        ).one()
    minute = int(ctx.clock.now().timestamp() // FRESHNESS_STEP_SECONDS)
    return read_models.digest(
        portfolio_id, tuple(portfolio), tuple(coverage), tuple(quotes), minute, ctx.is_demo_data
    )


def _compute(ctx: AppContext, portfolio_id: int) -> DashboardSnapshot:
    view = holdings_view(ctx, portfolio_id)
    return DashboardSnapshot(
        holdings=view,
        allocation=allocation(view.holdings, ledger_currencies(ctx, portfolio_id)),
        movers=movers(view.holdings),
    )


def allocation(holdings: pd.DataFrame, currencies: pd.Series) -> Allocation:
    """Group the priced holdings' market value by ticker and by trading currency."""
    priced = holdings[holdings["market_value"].notna()]
    values = priced.set_index("ticker")["market_value"].astype("float64")
    total = float(values.sum())
    ranked = values.sort_values(ascending=False)
    by_holding = ranked.iloc[:TOP_HOLDINGS]
    if len(ranked) > TOP_HOLDINGS:
        by_holding = pd.concat([by_holding, pd.Series({OTHER: ranked.iloc[TOP_HOLDINGS:].sum()})])
    by_currency = (
        values.groupby(currencies.reindex(values.index).fillna("unknown"))
        .sum()
        .sort_values(ascending=False)
    )
    unpriced = holdings.loc[holdings["market_value"].isna(), "ticker"]
    return Allocation(
        by_holding=_slices(by_holding, total),
        by_currency=_slices(by_currency, total),
        unpriced=tuple(sorted(str(ticker) for ticker in unpriced)),
    )


def movers(holdings: pd.DataFrame) -> tuple[Mover, ...]:
    """The day's largest rises and falls in percent, MOVERS_EACH_WAY each; unchanged ones left out."""
    moved = holdings[holdings["day_change_pct"].notna() & holdings["day_change_pct"].ne(0.0)]
    gains = moved[moved["day_change_pct"] > 0].nlargest(MOVERS_EACH_WAY, "day_change_pct")
    losses = moved[moved["day_change_pct"] < 0].nsmallest(MOVERS_EACH_WAY, "day_change_pct")
    chosen = pd.concat([gains, losses.iloc[::-1]])
    return tuple(
        Mover(str(ticker), float(pct), float(change), float(price))
        for ticker, pct, change, price in zip(
            chosen["ticker"],
            chosen["day_change_pct"],
            chosen["day_change"],
            chosen["price"],
            strict=True,
        )
    )


def ledger_currencies(ctx: AppContext, portfolio_id: int) -> pd.Series:
    """Each ticker's trading currency as the ledger records it (its latest transaction's)."""
    query = (
        select(Transaction.ticker, Transaction.currency)
        .join(Portfolio, Portfolio.id == Transaction.portfolio_id)
        .where(Transaction.portfolio_id == portfolio_id, Transaction.ticker.is_not(None), owned())
        .order_by(Transaction.trade_date, Transaction.id)
    )
    with ctx.db.engine.connect() as connection:
        rows = connection.execute(query).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=["ticker", "currency"])
    return frame.drop_duplicates("ticker", keep="last").set_index("ticker")["currency"]


def _slices(values: pd.Series, total: float) -> tuple[Slice, ...]:
    return tuple(
        Slice(str(label), float(value), float(value) / total if total > 0 else float("nan"))
        for label, value in values.items()
    )
