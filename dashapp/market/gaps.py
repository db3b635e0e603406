"""Which date ranges of which tickers the cache lacks: the only ranges worth a request."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from dashapp.market.calendar import MarketCalendar


@dataclass(frozen=True)
class CoverageState:
    """What the cache holds for one ticker: the range asked of the provider and still-revisable bars."""

    first_date: date
    last_date: date
    oldest_provisional: date | None = None


@dataclass(frozen=True)
class Gap:
    """A range of sessions to fetch for one ticker; `kind` says why (cold, head, tail, heal)."""

    ticker: str
    start: date
    end: date
    kind: str

    @property
    def single_session(self) -> bool:
        return self.start == self.end


def find_gaps(
    tickers: Iterable[str],
    coverage: Mapping[str, CoverageState],
    start: date,
    end: date,
    calendar: MarketCalendar,
    now: datetime,
    heal_sessions: int = 3,
) -> list[Gap]:
    """Gaps between [start, end] and what `coverage` holds, in XNYS sessions.

    Weekends, holidays and a session that has not closed yet are never gaps. A tail gap reaches
    back `heal_sessions` sessions into stored data so that provisional or corrected bars are
    re-read in the same request; bars still provisional `heal_sessions` sessions after they were
    stored are re-read even when nothing new is due.
    """
    last_closed = calendar.last_completed_session(now)
    window_end = min(end, last_closed)
    window_start = calendar.session_on_or_after(start)
    if window_start > window_end:
        return []
    gaps: list[Gap] = []
    for ticker in tickers:
        held = coverage.get(ticker)
        if held is None:
            gaps.append(Gap(ticker, window_start, window_end, "cold"))
            continue
        if window_start < held.first_date:
            gaps.append(
                Gap(ticker, window_start, calendar.previous_session(held.first_date), "head")
            )
        heal_start = _sessions_back(calendar, held.last_date, heal_sessions, held.first_date)
        heal_due = (
            held.oldest_provisional is not None
            and _sessions_between(calendar, held.oldest_provisional, last_closed) >= heal_sessions
        )
        if held.last_date < window_end:
            next_session = calendar.next_session(held.last_date)
            if next_session == window_end and not heal_due:
                # One new session and nothing to heal yet: a batch quote can fill it.
                gaps.append(Gap(ticker, next_session, window_end, "tail"))
            else:
                heal_from = min(heal_start, held.oldest_provisional or heal_start)
                gaps.append(Gap(ticker, min(heal_from, next_session), window_end, "tail"))
        elif heal_due and held.oldest_provisional is not None:
            heal_from = min(heal_start, held.oldest_provisional)
            gaps.append(Gap(ticker, heal_from, held.last_date, "heal"))
    return gaps


def group_by_range(gaps: Iterable[Gap]) -> dict[tuple[date, date], list[str]]:
    """Tickers that need the same range go into one provider call."""
    groups: dict[tuple[date, date], list[str]] = defaultdict(list)
    for gap in gaps:
        groups[(gap.start, gap.end)].append(gap.ticker)
    return dict(groups)


def _sessions_back(calendar: MarketCalendar, day: date, count: int, floor: date) -> date:
    """The session `count - 1` sessions before `day` (so `count` sessions end on `day`), not before `floor`."""
    sessions = calendar.sessions(floor, day)
    if len(sessions) == 0:
        return floor
    return sessions[max(len(sessions) - count, 0)].date()


def _sessions_between(calendar: MarketCalendar, first: date, last: date) -> int:
    """Number of sessions after `first` up to and including `last`."""
    return max(len(calendar.sessions(first, last)) - 1, 0)
