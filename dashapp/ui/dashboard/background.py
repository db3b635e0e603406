"""The dashboard's background work as request stores: a refresh of prices and the benchmark
panel each run when their store appears in its slot, so a page whose caches are warm asks for
nothing.
"""

from __future__ import annotations

from dash import dcc

from dashapp.services.cache_status import failures_by_reason
from dashapp.services.dashboard import DashboardPage, DashboardSnapshot


def slot(store_id: str, request: dict | None) -> list[dcc.Store]:
    """A request store for a slot: present only when there is work for its background callback."""
    return [dcc.Store(id=store_id, data=request)] if request else []


def refresh_request(snapshot: DashboardSnapshot | None) -> dict | None:
    if snapshot is None or not snapshot.needs_refresh:
        return None
    return {"portfolio_id": snapshot.holdings.portfolio.id, "manual": False}


def benchmark_job(page: DashboardPage) -> dict | None:
    if page.snapshot is None or page.benchmark_panel is not None:
        return None
    return {
        "portfolio_id": page.snapshot.holdings.portfolio.id,
        "benchmarks": list(page.benchmarks),
        "period": page.period,
    }


def refresh_message(errors: dict[str, str]) -> str:
    if not errors:
        return "Prices refreshed."
    return f"Could not refresh {failures_by_reason(errors)}"
