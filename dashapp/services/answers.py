"""What a page's one question about expensive work gets back: the answer, or the plan of the
fetch that must come first.

`Ready(result)`: the result, from the cache or computed at once because every price it needs is
stored. `NeedsFetch(plan)`: prices must be fetched first, which is background work; the plan says
what the request resolved to. The comparison and the backtest answer in these two types, so a
callback or a view asks one function and branches on the type, never on a dict's keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Plan = TypeVar("Plan")
Result = TypeVar("Result")
# Background work reports (percent, stage) to a progress bar as it goes.
Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class Ready(Generic[Result]):
    """The finished result, JSON-ready (a `ComparisonResult` or a `BacktestResult`)."""

    result: Result


@dataclass(frozen=True)
class NeedsFetch(Generic[Plan]):
    """Prices must be fetched before answering; `plan` is the request resolved."""

    plan: Plan


def no_progress(percent: int, stage: str) -> None:
    """Progress nobody watches: a request answered at once."""
