"""The dashboard's benchmark panel: the portfolio's value against the same cash flows put into
each chosen ETF (its shadow portfolios), over a named period.

It is the comparison of services/comparison.py cut down to what the panel draws, cached in the
read-model cache under the comparison's own key (portfolio version, benchmarks, period, the
price-data version of every ticker involved, today's date): a repeat view is one cache read.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashapp.rules import PERIODS, STALE
from dashapp.services import read_models
from dashapp.services.answers import Progress
from dashapp.services.comparison import cache_key, compare
from dashapp.services.comparison_requests import ComparisonRequest
from dashapp.services.comparison_results import ComparisonResult
from dashapp.services.context import AppContext
from dashapp.services.portfolios import InvalidInput, get_portfolio

# The benchmark panel offers every named period (no CUSTOM: it has no date inputs).
PANEL_PERIODS = PERIODS


@dataclass(frozen=True)
class BenchmarkPanel:
    """Daily values of the portfolio and of each benchmark's shadow portfolio over the period."""

    portfolio_name: str
    currency: str
    dates: tuple[str, ...]
    portfolio: tuple[float | None, ...]
    shadows: dict[str, tuple[float | None, ...]]
    stale: tuple[str, ...]
    warnings: tuple[str, ...]
    demo_data: bool
    start: str | None = None
    end: str | None = None

    @property
    def drawable(self) -> bool:
        return len(self.dates) >= 2


def panel_request(portfolio_id: int, benchmarks: tuple[str, ...], period: str) -> ComparisonRequest:
    chosen = (period or "1Y").strip().upper()
    if chosen not in PANEL_PERIODS:
        raise InvalidInput("period", f"period must be one of {', '.join(PANEL_PERIODS)}")
    return ComparisonRequest(portfolio_id, tuple(benchmarks), chosen)


def cached_benchmark_panel(
    ctx: AppContext, portfolio_id: int, benchmarks: tuple[str, ...], period: str
) -> BenchmarkPanel | None:
    """The finished panel for exactly this question and these prices, else None (no computing)."""
    return read_models.lookup(ctx, _key(ctx, panel_request(portfolio_id, benchmarks, period)))


def benchmark_panel(
    ctx: AppContext,
    portfolio_id: int,
    benchmarks: tuple[str, ...],
    period: str,
    progress: Progress = lambda percent, stage: None,
) -> BenchmarkPanel:
    """Background work: fetch the prices the cache lacks, compare, cache and return the panel."""
    request = panel_request(portfolio_id, benchmarks, period)
    # A fill without gaps asks the provider nothing.
    result = compare(ctx, request, progress=progress)
    panel = _panel(result, get_portfolio(ctx, portfolio_id).base_currency)
    # Keyed after the fetch: the key names the prices the panel was computed from.
    read_models.store(ctx, _key(ctx, request), panel)
    return panel


def _key(ctx: AppContext, request: ComparisonRequest) -> str:
    return "panel:benchmark:" + cache_key(ctx, request)


def _panel(result: ComparisonResult, currency: str) -> BenchmarkPanel:
    series = result.get("series")
    provenance = result.get("provenance") or {}
    common = {
        "portfolio_name": result["portfolio"]["name"],
        "currency": currency,
        "warnings": tuple(result.get("warnings") or ()),
        "demo_data": bool(result.get("demo_data")),
    }
    if not series:
        return BenchmarkPanel(dates=(), portfolio=(), shadows={}, stale=(), **common)
    shadows = {name: tuple(part["shadow_value"]) for name, part in series["benchmarks"].items()}
    return BenchmarkPanel(
        dates=tuple(series["dates"]),
        portfolio=tuple(series["portfolio"]["value"]),
        shadows=shadows,
        stale=tuple(name for name in shadows if provenance.get(name, {}).get("state") == STALE),
        start=result.get("start"),
        end=result.get("end"),
        **common,
    )
