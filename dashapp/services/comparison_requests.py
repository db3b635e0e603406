"""A comparison request from a page, the API or a script, validated, and its plan.

`parse_request` turns plain values into a `ComparisonRequest` or raises InvalidInput naming the
parameter at fault (the API answers 400 with it, the page shows it). `plan_comparison` resolves a
request against the database once (`ComparisonPlan`): the use case (`comparison`) and the result
(`comparison_results`) both take the plan, so neither imports the other for its types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from dashapp.analytics.periods import PERIODS
from dashapp.rules import TICKER_PATTERN
from dashapp.services.context import AppContext
from dashapp.services.portfolios import InvalidInput, Ledger, PortfolioSummary, load_ledger

DEFAULT_BENCHMARKS = ("SPY", "QQQ", "VTI")
# The ETFs the comparison page offers; the warm job keeps them all cached, so choosing one
# never waits on a fetch.
SUGGESTED_BENCHMARKS = (*DEFAULT_BENCHMARKS, "VOO", "IWM", "DIA", "VXUS", "BND", "AGG", "SCHD")
MAX_BENCHMARKS = 10


@dataclass(frozen=True)
class ComparisonRequest:
    portfolio_id: int
    benchmarks: tuple[str, ...] = DEFAULT_BENCHMARKS
    period: str = "1Y"
    start: date | None = None
    end: date | None = None


def parse_request(
    portfolio_id: int,
    benchmarks: str | list[str] | None,
    period: str | None,
    start: str | None = None,
    end: str | None = None,
) -> ComparisonRequest:
    """Validate what a user or script asked for; InvalidInput names the parameter at fault."""
    names = benchmarks.split(",") if isinstance(benchmarks, str) else list(benchmarks or [])
    cleaned = tuple(dict.fromkeys(name.strip().upper() for name in names if name.strip()))
    if not cleaned:
        cleaned = DEFAULT_BENCHMARKS
    if len(cleaned) > MAX_BENCHMARKS:
        raise InvalidInput("benchmarks", f"at most {MAX_BENCHMARKS} benchmarks")
    for name in cleaned:
        if not TICKER_PATTERN.match(name):
            raise InvalidInput("benchmarks", f"{name[:20]!r} is not a ticker symbol")
    start_day = _parse_day("start", start)
    end_day = _parse_day("end", end)
    if start_day and end_day and start_day >= end_day:
        raise InvalidInput("start", "start must be before end")
    chosen = (period or ("CUSTOM" if start_day else "1Y")).strip().upper()
    if chosen != "CUSTOM" and chosen not in PERIODS:
        raise InvalidInput("period", f"period must be one of {', '.join(PERIODS)} or custom dates")
    if chosen == "CUSTOM" and start_day is None:
        raise InvalidInput("start", "a custom period needs a start date")
    return ComparisonRequest(portfolio_id, cleaned, chosen, start_day, end_day)


@dataclass(frozen=True)
class ComparisonPlan:
    """A request resolved against the database once: the portfolio and its ledger, every ticker
    involved (held and benchmarks, sorted), the first trade day and today."""

    request: ComparisonRequest
    ledger: Ledger = field(compare=False)
    tickers: tuple[str, ...]
    first: date | None
    today: date

    @property
    def portfolio(self) -> PortfolioSummary:
        return self.ledger.portfolio


def plan_comparison(ctx: AppContext, request: ComparisonRequest) -> ComparisonPlan:
    """Read the portfolio and its ledger (raises PortfolioNotFound)."""
    ledger = load_ledger(ctx, request.portfolio_id)
    return ComparisonPlan(
        request=request,
        ledger=ledger,
        tickers=tuple(sorted({*ledger.tickers, *request.benchmarks})),
        first=ledger.first_trade_date,
        today=ctx.clock.now().date(),
    )


def _parse_day(field: str, raw: str | None) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(field, f"{field} must be a date like 2024-01-31") from None
