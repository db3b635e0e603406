"""Who may do what on the cache page, decided on the server for every action (a hidden button
is no protection against a hand-made callback POST).

Admins warm, evict and refresh any ticker. Everybody else sees the page read-only and may
refresh only the tickers they hold (any of their ledgers) or benchmark (a benchmark chosen on
one of their portfolios' dashboards), each refresh within their quota (`dashapp/quotas.py`).
"""

from __future__ import annotations

from dashapp.services.context import AppContext
from dashapp.services.dashboard_benchmarks import chosen_benchmarks
from dashapp.services.ownership import actor
from dashapp.services.portfolios import held_tickers, list_portfolios

READ_ONLY_NOTE = (
    "Warming and evicting are for administrators. You may refresh the tickers you hold or"
    " benchmark."
)


class NotAllowed(PermissionError):
    """The acting user may not do this; the message says why, for the page."""


def administers() -> bool:
    return actor().is_admin


def refuse_unless_admin(action: str) -> None:
    """Raise NotAllowed unless the acting user is an admin; `action` names it ("evict")."""
    if not administers():
        raise NotAllowed(f"Only an administrator may {action}: nothing was changed.")


def refuse_unless_refreshable(ctx: AppContext, ticker: str) -> None:
    """Raise NotAllowed unless the acting user may refresh `ticker` (parsed)."""
    if administers() or ticker in refreshable_tickers(ctx):
        return
    raise NotAllowed(
        f"You may refresh only tickers you hold or benchmark, and {ticker} is neither:"
        " nothing was fetched."
    )


def refreshable_tickers(ctx: AppContext) -> set[str]:
    """The tickers in the acting user's ledgers and their dashboards' chosen benchmarks."""
    benchmarks = {
        name for portfolio in list_portfolios(ctx) for name in chosen_benchmarks(ctx, portfolio.id)
    }
    return {*held_tickers(ctx), *benchmarks}
