"""Which ETFs a portfolio's dashboard compares it with: the user's choice, kept per portfolio."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update

from dashapp.db.models import Portfolio
from dashapp.rules import TICKER_PATTERN
from dashapp.services.comparison_requests import MAX_BENCHMARKS
from dashapp.services.context import AppContext
from dashapp.services.ownership import OWNED_BY_ACTING_USER, owned, scope
from dashapp.services.portfolios import InvalidInput, PortfolioNotFound

DEFAULT_DASHBOARD_BENCHMARKS = ("SPY",)
# Keeps the dashboard's panel readable; /compare takes more.
MAX_DASHBOARD_BENCHMARKS = min(MAX_BENCHMARKS, 5)
# Asked on every dashboard request: built once, run on a plain connection.
CHOSEN_QUERY = select(Portfolio.dashboard_benchmarks).where(
    Portfolio.id == bindparam("portfolio_id"), OWNED_BY_ACTING_USER
)


def chosen_benchmarks(ctx: AppContext, portfolio_id: int) -> tuple[str, ...]:
    """The portfolio's chosen benchmarks, or SPY when none was chosen."""
    with ctx.db.engine.connect() as connection:
        stored = connection.scalar(CHOSEN_QUERY, {"portfolio_id": portfolio_id, **scope()})
    return parse_benchmarks(stored) if stored else DEFAULT_DASHBOARD_BENCHMARKS


def choose_benchmarks(
    ctx: AppContext, portfolio_id: int, benchmarks: list[str] | None
) -> tuple[str, ...]:
    """Keep `benchmarks` as the portfolio's choice; InvalidInput names what is wrong, and
    nothing is stored then. Returns the cleaned choice."""
    cleaned = parse_benchmarks(benchmarks)
    with ctx.db.session() as session:
        result = session.execute(
            update(Portfolio)
            .where(Portfolio.id == portfolio_id, owned())
            .values(dashboard_benchmarks=",".join(cleaned))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 0:
            raise PortfolioNotFound(portfolio_id)
    return cleaned


def parse_benchmarks(raw: str | list[str] | None) -> tuple[str, ...]:
    names = raw.split(",") if isinstance(raw, str) else list(raw or [])
    cleaned = tuple(dict.fromkeys(str(name).strip().upper() for name in names if str(name).strip()))
    if not cleaned:
        raise InvalidInput("benchmarks", "choose at least one ETF to compare with")
    if len(cleaned) > MAX_DASHBOARD_BENCHMARKS:
        raise InvalidInput("benchmarks", f"at most {MAX_DASHBOARD_BENCHMARKS} ETFs here")
    for name in cleaned:
        if not TICKER_PATTERN.match(name):
            raise InvalidInput("benchmarks", f"{name[:20]!r} is not a ticker symbol")
    return cleaned
