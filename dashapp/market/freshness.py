"""Freshness policy: is a price fresh, cached, stale or missing right now? (DESIGN.md, Freshness.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from dashapp.market.calendar import MarketCalendar
from dashapp.market.errors import failure_in_words
from dashapp.rules import CACHED, EXCHANGE_TIMEZONE, FRESH, MISSING, STALE


@dataclass(frozen=True)
class Freshness:
    """A value's state plus the words a badge shows on hover."""

    state: str
    reason: str
    as_of: datetime | None = None
    fetched_at: datetime | None = None
    source: str | None = None


class FreshnessPolicy:
    """Decides freshness from the XNYS calendar and the clock time passed in.

    Latest prices: during a session a quote is `fresh` while fetched less than
    `fresh_intraday_seconds` ago; outside a session the close of the last completed session,
    fetched after that close, is `fresh`. Anything older is `stale`, nothing at all `missing`.
    Historical bars are `cached` when stored coverage reaches the last completed session (past
    sessions do not change), else `stale`.
    """

    def __init__(self, calendar: MarketCalendar, fresh_intraday_seconds: int = 300) -> None:
        self.calendar = calendar
        self.fresh_intraday_seconds = fresh_intraday_seconds

    def latest_prices(self, now: datetime, prices: pd.DataFrame) -> pd.DataFrame:
        """Freshness of latest prices, one row per ticker.

        `prices` has columns as_of and fetched_at (tz-aware UTC, NaT when nothing is stored) and
        last_error (None when the last refresh worked). Returns columns `state` and `reason`
        on the same index. Vectorised: the calendar is asked once, not once per ticker.
        """
        as_of = pd.to_datetime(prices["as_of"], utc=True)
        fetched_at = pd.to_datetime(prices["fetched_at"], utc=True)
        as_of_day = as_of.dt.tz_convert(EXCHANGE_TIMEZONE).dt.strftime("%Y-%m-%d")
        age_seconds = (pd.Timestamp(now) - fetched_at).dt.total_seconds()
        missing = as_of.isna() | fetched_at.isna()
        session = self.calendar.current_session(now)
        if session is not None:
            today = session.isoformat()
            same_session = as_of_day == today
            fresh = same_session & (age_seconds < self.fresh_intraday_seconds)
            stale_reason = np.where(
                same_session,
                "quote is "
                + (age_seconds // 60).astype("Int64").astype(str)
                + " min old; refresh due",
                "last price is the " + as_of_day + " close; refresh due",
            )
            fresh_reason = (
                "live quote, " + age_seconds.round().astype("Int64").astype(str) + " s old"
            )
        else:
            last_session = self.calendar.last_completed_session(now)
            last_close = self.calendar.session_close(last_session)
            same_session = as_of_day == last_session.isoformat()
            fresh = same_session & (fetched_at >= last_close)
            stale_reason = np.where(
                same_session,
                f"intraday price of {last_session:%Y-%m-%d}; final close not fetched yet",
                "last price is the "
                + as_of_day
                + f" close; {last_session:%Y-%m-%d} not fetched yet",
            )
            fresh_reason = pd.Series(f"close of {last_session:%Y-%m-%d}", index=prices.index)
        failure = prices["last_error"].map(_failure_suffix, na_action=None)
        nothing_cached = prices["last_error"].map(
            lambda error: _failure_suffix(error, cached=False), na_action=None
        )
        state = np.select([missing, fresh], [MISSING, FRESH], default=STALE)
        reason = np.select(
            [missing, fresh],
            ["no price stored yet" + nothing_cached, fresh_reason],
            default=pd.Series(stale_reason, index=prices.index) + failure,
        )
        return pd.DataFrame({"state": state, "reason": reason}, index=prices.index)

    def history(
        self,
        now: datetime,
        last_date: date | None,
        fetched_at: datetime | None,
        source: str | None,
        last_error: str | None = None,
    ) -> Freshness:
        """Freshness of a stored daily history that ends on `last_date`."""
        if last_date is None:
            return Freshness(
                MISSING, "no history stored yet" + _failure_suffix(last_error, cached=False)
            )
        last_session = self.calendar.last_completed_session(now)
        as_of = self.calendar.session_close(last_date).to_pydatetime()
        if last_date >= last_session:
            return Freshness(
                CACHED, f"daily closes through {last_date:%Y-%m-%d}", as_of, fetched_at, source
            )
        reason = f"daily closes end {last_date:%Y-%m-%d}; {last_session:%Y-%m-%d} due"
        return Freshness(STALE, reason + _failure_suffix(last_error), as_of, fetched_at, source)


def _failure_suffix(last_error: object, cached: bool = True) -> str:
    """The last refresh's failure in words (`failure_in_words`), after the reason."""
    if not isinstance(last_error, str) or not last_error:
        return ""
    return ". " + failure_in_words(last_error, cached)
