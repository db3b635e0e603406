"""Use cases about portfolios and their holdings, for the dashboard, the API and jobs.

Creating and renaming a portfolio is recorded in its history (`audit`) in the same database
transaction; deleting one deletes its history with it (see `audit` for why).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import TypedDict

import pandas as pd
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashapp.analytics.holdings import (
    LEDGER_COLUMNS,
    cash_balance,
    ledger_frame,
    open_positions,
    portfolio_totals,
    positions,
    tracks_cash,
    valuation,
)
from dashapp.db.models import Portfolio, Transaction
from dashapp.market.demo import includes_demo_prices
from dashapp.rules import CURRENCY_PATTERN, FreshnessState
from dashapp.services import audit
from dashapp.services.context import AppContext
from dashapp.services.ownership import OWNED_BY_ACTING_USER, new_owner, owned, scope
from dashapp.services.views import note_viewed

MAX_NAME_LENGTH = 120

# A request asks for these several times: statements built once (building one cost more than
# running it), run on a plain connection for plain rows instead of ORM objects.
SUMMARY_COLUMNS = (Portfolio.id, Portfolio.name, Portfolio.base_currency, Portfolio.version)
PORTFOLIO_QUERY = select(*SUMMARY_COLUMNS).where(
    Portfolio.id == bindparam("portfolio_id"), OWNED_BY_ACTING_USER
)
TRANSACTION_COUNTS = (
    select(Transaction.portfolio_id, func.count().label("n"))
    .group_by(Transaction.portfolio_id)
    .subquery()
)
PORTFOLIOS_QUERY = (
    select(*SUMMARY_COLUMNS, func.coalesce(TRANSACTION_COUNTS.c.n, 0))
    .outerjoin(TRANSACTION_COUNTS, TRANSACTION_COUNTS.c.portfolio_id == Portfolio.id)
    .where(OWNED_BY_ACTING_USER)
    .order_by(Portfolio.name, Portfolio.id)
)
EVERY_HELD_TICKER_QUERY = (
    select(Transaction.ticker)
    .join(Portfolio, Portfolio.id == Transaction.portfolio_id)
    .where(Transaction.ticker.is_not(None), OWNED_BY_ACTING_USER)
    .distinct()
)
HELD_TICKERS_QUERY = EVERY_HELD_TICKER_QUERY.where(
    Transaction.portfolio_id == bindparam("portfolio_id")
)
FIRST_TRADE_QUERY = (
    select(func.min(Transaction.trade_date))
    .join(Portfolio, Portfolio.id == Transaction.portfolio_id)
    .where(Transaction.portfolio_id == bindparam("portfolio_id"), OWNED_BY_ACTING_USER)
)
OUTLINE_QUERY = (
    select(Transaction.ticker, func.min(Transaction.trade_date))
    .join(Portfolio, Portfolio.id == Transaction.portfolio_id)
    .where(Transaction.portfolio_id == bindparam("portfolio_id"), OWNED_BY_ACTING_USER)
    .group_by(Transaction.ticker)
)


class InvalidInput(ValueError):
    """User input that cannot be accepted; `field` names what to fix."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class PortfolioNotFound(LookupError):
    def __init__(self, portfolio_id: int) -> None:
        super().__init__(f"portfolio {portfolio_id} does not exist")
        self.portfolio_id = portfolio_id


@dataclass(frozen=True)
class PortfolioSummary:
    id: int
    name: str
    base_currency: str
    version: int
    transaction_count: int = 0


class Ledger:
    """A portfolio and its transactions, each read at most once per request and only when asked:
    the held tickers and the first trade date in one small statement (a cached comparison needs
    no more), the transactions themselves (`frame`, the analytics layout) when a computation
    needs them, and then the tickers and the date follow from them without another read."""

    def __init__(self, ctx: AppContext, portfolio: PortfolioSummary) -> None:
        self._ctx = ctx
        self.portfolio = portfolio

    @cached_property
    def frame(self) -> pd.DataFrame:
        return transactions_frame(self._ctx, self.portfolio.id)

    @property
    def tickers(self) -> list[str]:
        """Every ticker that appears in the ledger, sorted."""
        return self._outline[0]

    @property
    def first_trade_date(self) -> date | None:
        return self._outline[1]

    @cached_property
    def _outline(self) -> tuple[list[str], date | None]:
        if "frame" in self.__dict__:
            if self.frame.empty:
                return [], None
            return sorted(set(self.frame["ticker"].dropna())), self.frame["trade_date"].iloc[
                0
            ].date()
        with self._ctx.db.engine.connect() as connection:
            rows = connection.execute(
                OUTLINE_QUERY, {"portfolio_id": self.portfolio.id, **scope()}
            ).all()
        firsts = [first for _, first in rows]
        return sorted(t for t, _ in rows if t is not None), min(firsts) if firsts else None


class HoldingRow(TypedDict):
    """One open position valued at its latest stored price (`analytics.holdings.valuation`), with
    the price's provenance; NaN (NaT for instants) where no price is stored. The holdings table's
    columns, in this order: a row of `HoldingsView.holdings` is one of these."""

    ticker: str
    quantity: float
    average_cost: float
    cost_basis: float
    price: float
    previous_close: float
    day_change: float
    day_change_pct: float
    market_value: float
    unrealized_gain: float
    unrealized_gain_pct: float
    weight: float
    as_of: pd.Timestamp
    fetched_at: pd.Timestamp
    source: str | None
    freshness: FreshnessState
    freshness_reason: str


HOLDING_COLUMNS = tuple(HoldingRow.__annotations__)


class HoldingsTotals(TypedDict):
    """`analytics.holdings.portfolio_totals` (sums over the priced holdings, NaN when none is
    priced; realized gains, dividends and fees over every ticker; which holdings lack a price),
    and the cash balance, None unless the ledger tracks cash."""

    market_value: float
    day_change: float
    cost_basis: float
    unrealized_gain: float
    realized_gain: float
    dividends: float
    fees: float
    total_gain: float
    priced_count: int
    missing_count: int
    missing_tickers: list[str]
    cash: float | None


@dataclass(frozen=True)
class HoldingsView:
    """What the dashboard and `/api/portfolios/<id>/holdings` show for one portfolio: its open
    positions as a table (columns HOLDING_COLUMNS, largest market value first) and their totals.
    It stays Python-side (pickled in the read-model cache), never JSON as it is."""

    portfolio: PortfolioSummary
    holdings: pd.DataFrame
    totals: HoldingsTotals
    as_of: datetime | None
    is_demo: bool

    def rows(self) -> list[HoldingRow]:
        """The holdings table's rows, in its order."""
        return [HoldingRow(**record) for record in self.holdings.to_dict("records")]


def list_portfolios(ctx: AppContext) -> list[PortfolioSummary]:
    with ctx.db.engine.connect() as connection:
        rows = connection.execute(PORTFOLIOS_QUERY, scope()).all()
    return [PortfolioSummary(*row) for row in rows]


def create_portfolio(ctx: AppContext, name: str, base_currency: str = "USD") -> PortfolioSummary:
    """A new empty portfolio; raises InvalidInput naming the field that is wrong."""
    clean_name = _clean_name(name)
    currency = (base_currency or "").strip().upper()
    if not CURRENCY_PATTERN.match(currency):
        raise InvalidInput("base_currency", "a three-letter ISO code such as USD")
    with ctx.db.session() as session:
        owner = new_owner(session)
        _refuse_taken_name(session, clean_name, owner)
        portfolio = Portfolio(user_id=owner, name=clean_name, base_currency=currency, version=1)
        session.add(portfolio)
        _flush_named(session, clean_name)
        detail = {"name": clean_name, "base_currency": currency}
        audit.record(ctx, session, portfolio.id, "create", detail)
        return _summary(portfolio)


def rename_portfolio(ctx: AppContext, portfolio_id: int, name: str) -> PortfolioSummary:
    """Give a portfolio a new name (same rules as `create_portfolio`); its version is unchanged,
    since no figure depends on the name."""
    clean_name = _clean_name(name)
    with ctx.db.session() as session:
        portfolio = owned_portfolio(session, portfolio_id)
        _refuse_taken_name(session, clean_name, portfolio.user_id, portfolio_id)
        before, portfolio.name = portfolio.name, clean_name
        _flush_named(session, clean_name)
        if before != clean_name:
            audit.record(
                ctx, session, portfolio_id, "rename", {"before": before, "after": clean_name}
            )
        return _summary(portfolio, _transaction_count(session, portfolio_id))


def delete_portfolio(ctx: AppContext, portfolio_id: int) -> None:
    """Delete a portfolio and every transaction of it, in one database transaction; its history
    goes with it (ON DELETE CASCADE)."""
    with ctx.db.session() as session:
        owned_portfolio(session, portfolio_id)
        session.execute(delete(Transaction).where(Transaction.portfolio_id == portfolio_id))
        session.execute(delete(Portfolio).where(Portfolio.id == portfolio_id))


def bump_version(session: Session, portfolio_id: int) -> int:
    """Increment the portfolio's version inside the caller's database transaction; returns the new one.

    Call it before reading the ledger a change is validated against: the UPDATE takes the
    portfolio's row lock (PostgreSQL) or the write lock (SQLite), so two concurrent changes of
    one portfolio are validated one after the other. Raises PortfolioNotFound.
    """
    result = session.execute(
        update(Portfolio)
        .where(Portfolio.id == portfolio_id, owned())
        .values(version=Portfolio.version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        raise PortfolioNotFound(portfolio_id)
    return session.execute(
        select(Portfolio.version).where(Portfolio.id == portfolio_id)
    ).scalar_one()


def get_portfolio(ctx: AppContext, portfolio_id: int) -> PortfolioSummary:
    with ctx.db.engine.connect() as connection:
        row = connection.execute(PORTFOLIO_QUERY, {"portfolio_id": portfolio_id, **scope()}).first()
    if row is None:
        raise PortfolioNotFound(portfolio_id)
    return PortfolioSummary(*row)


def load_ledger(ctx: AppContext, portfolio_id: int) -> Ledger:
    """The portfolio (one statement), its transactions read when first asked for; raises
    PortfolioNotFound."""
    return Ledger(ctx, get_portfolio(ctx, portfolio_id))


def transactions_frame(ctx: AppContext, portfolio_id: int) -> pd.DataFrame:
    """The portfolio's ledger as a DataFrame in the column layout analytics expects (empty
    for a portfolio the acting user does not own)."""
    query = (
        select(*(getattr(Transaction, name) for name in LEDGER_COLUMNS))
        .join(Portfolio, Portfolio.id == Transaction.portfolio_id)
        .where(Transaction.portfolio_id == portfolio_id, owned())
        .order_by(Transaction.trade_date, Transaction.id)
    )
    with ctx.db.engine.connect() as connection:
        rows = connection.execute(query).all()
    # A row reads as the transaction it stores, so it goes to the builder as it is.
    return ledger_frame([(row.id, row) for row in rows])


def held_tickers(ctx: AppContext, portfolio_id: int | None = None) -> list[str]:
    """Every ticker that appears in a ledger (of one portfolio, or of all) the acting user owns."""
    with ctx.db.engine.connect() as connection:
        if portfolio_id is None:
            tickers = connection.scalars(EVERY_HELD_TICKER_QUERY, scope()).all()
        else:
            tickers = connection.scalars(
                HELD_TICKERS_QUERY, {"portfolio_id": portfolio_id, **scope()}
            ).all()
    return sorted(tickers)


def first_trade_date(ctx: AppContext, portfolio_id: int) -> date | None:
    with ctx.db.engine.connect() as connection:
        return connection.execute(
            FIRST_TRADE_QUERY, {"portfolio_id": portfolio_id, **scope()}
        ).scalar()


def holdings_view(ctx: AppContext, portfolio_id: int) -> HoldingsView:
    """Open positions valued at the latest cached prices, each with its provenance.

    Reads the database only: no provider call happens here.
    """
    return holdings_of(ctx, load_ledger(ctx, portfolio_id))


def holdings_of(ctx: AppContext, loaded: Ledger) -> HoldingsView:
    """`holdings_view` of a ledger the caller has read already."""
    portfolio, ledger = loaded.portfolio, loaded.frame
    every_position = positions(ledger)
    held = open_positions(every_position)
    note_viewed(ctx, held.index)
    prices = ctx.store.latest_prices(held.index)
    # Closed positions stay in the valuation so their realized gains count in the totals.
    valued = valuation(every_position, prices["price"], prices["previous_close"])
    totals = HoldingsTotals(
        **portfolio_totals(valued), cash=cash_balance(ledger) if tracks_cash(ledger) else None
    )
    holdings = open_positions(valued).join(
        prices[["as_of", "fetched_at", "source", "state", "reason"]].rename(
            columns={"state": "freshness", "reason": "freshness_reason"}
        )
    )
    holdings = holdings.rename(columns={"shares": "quantity"}).reset_index(names="ticker")
    holdings["day_change_pct"] = holdings["day_change"] / (
        holdings["previous_close"] * holdings["quantity"]
    )
    as_of = prices["as_of"].max() if prices["as_of"].notna().any() else None
    return HoldingsView(
        portfolio=portfolio,
        holdings=holdings[list(HOLDING_COLUMNS)].sort_values("market_value", ascending=False),
        totals=totals,
        as_of=None if as_of is None else as_of.to_pydatetime(),
        is_demo=ctx.is_demo_data or includes_demo_prices(holdings["source"]),
    )


def refresh_portfolio_prices(ctx: AppContext, portfolio_id: int) -> dict[str, str]:
    """Fill the price cache for one portfolio's tickers (history since its first trade, quotes).

    Background work only. Returns the errors by ticker; the cache keeps what it had for those.
    """
    tickers = held_tickers(ctx, portfolio_id)
    start = first_trade_date(ctx, portfolio_id)
    if not tickers or start is None:
        return {}
    today = ctx.clock.now().date()
    report = ctx.store.fill(tickers, start, today)
    quotes = ctx.store.refresh_quotes(tickers)
    return {**report.errors, **quotes.errors}


def owned_portfolio(session: Session, portfolio_id: int) -> Portfolio:
    """The portfolio, if the acting user owns it; raises PortfolioNotFound otherwise."""
    portfolio = session.execute(
        select(Portfolio).where(Portfolio.id == portfolio_id, owned())
    ).scalar_one_or_none()
    if portfolio is None:
        raise PortfolioNotFound(portfolio_id)
    return portfolio


def _refuse_taken_name(session: Session, name: str, owner: int, own_id: int | None = None) -> None:
    """Refuse a name another portfolio of the same owner has, compared trimmed and
    case-insensitively: every selector lists one user's portfolios by name, and two identical
    entries cannot be told apart. Other users' names are theirs."""
    wanted = name.casefold()
    others = select(Portfolio.id, Portfolio.name).where(Portfolio.user_id == owner)
    for other_id, other_name in session.execute(others):
        if other_id != own_id and other_name.strip().casefold() == wanted:
            raise InvalidInput("name", f'a portfolio named "{other_name}" exists already')


def _flush_named(session: Session, name: str) -> None:
    """Flush; a concurrent request that took the name first trips the unique index
    (user_id, lower(trim(name)), migration 0004) and gets the same message as the check above."""
    try:
        session.flush()
    except IntegrityError:
        raise InvalidInput("name", f'a portfolio named "{name}" exists already') from None


def _clean_name(name: str) -> str:
    clean_name = (name if isinstance(name, str) else "").strip()
    if not clean_name:
        raise InvalidInput("name", "a portfolio needs a name")
    if len(clean_name) > MAX_NAME_LENGTH:
        raise InvalidInput("name", f"at most {MAX_NAME_LENGTH} characters")
    if "\x00" in clean_name or not _encodable(clean_name):
        raise InvalidInput("name", "must be printable text")
    return clean_name


def _encodable(text: str) -> bool:
    """False for text with lone surrogates, which no database can store as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _transaction_count(session: Session, portfolio_id: int) -> int:
    return session.execute(
        select(func.count()).where(Transaction.portfolio_id == portfolio_id)
    ).scalar_one()


def _summary(portfolio: Portfolio, transaction_count: int = 0) -> PortfolioSummary:
    return PortfolioSummary(
        id=portfolio.id,
        name=portfolio.name,
        base_currency=portfolio.base_currency,
        version=portfolio.version,
        transaction_count=transaction_count,
    )
