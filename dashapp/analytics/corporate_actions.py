"""Splits and dividends in the price data that a ledger lacks, with the transactions they call for.

Events are stored bars where `split_ratio` != 1 (new shares per old share, on the first
session that trades split-adjusted) or `dividend` > 0 (cash per share, on the ex-date). Bars
are split-adjusted as of their fetch (see `market/bars.py`), and so is a stored dividend: the
cash per share the holder received then is

    dividend_then = stored_dividend * product of the split ratios dated after the ex-date.

A ledger holds the shares as they were on each date (its SPLIT rows multiply them), so the
shares an event applies to come from the ledger:

- shares_held = the ticker's shares after every ledger row dated before the event date (at
  the close before: a BUY on the ex-date earns no dividend, and a split applies to the shares
  held before its first adjusted session). Missing splits found here count in that ledger, so
  a dividend after a split the ledger lacks is computed on the shares the user really held.
- SPLIT proposal: quantity = split_ratio, price 0, when shares_held > 0 and the ledger has no
  SPLIT row of that ticker within SPLIT_MATCH_DAYS of the date.
- DIVIDEND proposal: quantity = shares_held, price = dividend_then (rounded to 8 decimals, to
  drop float dust of the split product), when shares_held > 0 and no ledger DIVIDEND row
  claims the ex-date. Each DIVIDEND row claims the latest ex-date of its ticker on or before
  its date + DIVIDEND_EARLY_DAYS and at most DIVIDEND_LATE_DAYS before it: people record a
  dividend on its ex-date or, weeks later, on its pay date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashapp.analytics.holdings import SHARE_EPSILON, InvalidTransaction, running_shares

SPLIT_MATCH_DAYS = 5
DIVIDEND_EARLY_DAYS = 5
DIVIDEND_LATE_DAYS = 45
PROPOSAL_COLUMNS = (
    "ticker",
    "date",
    "kind",
    "quantity",
    "price",
    "shares_held",
    "stored_dividend",
    "later_splits",
)
# Ids for proposed SPLIT rows: after every stored row of the same date, as their insert will be.
_PROPOSED_ID_BASE = 2**62


def missing_corporate_actions(ledger: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """SPLIT and DIVIDEND transactions the ledger lacks, one row per event, sorted by date and
    ticker, with the columns of PROPOSAL_COLUMNS (`later_splits` is the product of the split
    ratios after the date; `stored_dividend` the dividend as stored, 0 for a split).

    `ledger` has the columns of `analytics.holdings`; `events` has ticker, date, dividend,
    split_ratio (other rows of the bars may be included: they are ignored).
    """
    events = _events(events)
    splits = events[events["split_ratio"] != 1.0]
    missing_splits = splits[~_matched(splits, ledger, "SPLIT", SPLIT_MATCH_DAYS, SPLIT_MATCH_DAYS)]
    proposed_rows = pd.DataFrame(
        {
            "id": _PROPOSED_ID_BASE + np.arange(len(missing_splits), dtype="int64"),
            "trade_date": missing_splits["date"].to_numpy(),
            "kind": "SPLIT",
            "ticker": missing_splits["ticker"].to_numpy(),
            "quantity": missing_splits["split_ratio"].to_numpy(),
            "price": 0.0,
            "fees": 0.0,
        }
    )
    ledger_columns = ["id", "trade_date", "kind", "ticker", "quantity", "price", "fees"]
    with_splits = pd.concat(
        [ledger[ledger_columns], proposed_rows[ledger_columns]], ignore_index=True
    )
    try:
        shares = running_shares(with_splits)
    except InvalidTransaction:
        # A proposed reverse split that breaks a later sell: count shares without the proposals.
        shares = running_shares(ledger)
    events = events.assign(shares_held=_shares_before(events, shares))
    held = events["shares_held"] > SHARE_EPSILON
    proposed_splits = events[held & events.index.isin(missing_splits.index)]
    dividends = events[events["dividend"] > 0]
    unclaimed = ~_claimed_dividends(dividends, ledger)
    proposed_dividends = dividends[unclaimed & held.reindex(dividends.index)]
    result = pd.concat(
        [
            proposed_splits.assign(
                kind="SPLIT",
                quantity=proposed_splits["split_ratio"],
                price=0.0,
                stored_dividend=0.0,
            ),
            proposed_dividends.assign(
                kind="DIVIDEND",
                quantity=proposed_dividends["shares_held"],
                price=(proposed_dividends["dividend"] * proposed_dividends["later_splits"]).round(
                    8
                ),
                stored_dividend=proposed_dividends["dividend"],
            ),
        ],
        ignore_index=True,
    )
    if result.empty:
        return pd.DataFrame(
            {
                name: pd.Series(dtype="datetime64[ns]" if name == "date" else "float64")
                for name in PROPOSAL_COLUMNS
            }
        ).astype({"ticker": "object", "kind": "object"})
    return (
        result.sort_values(["date", "ticker", "kind"], kind="stable")
        .reset_index(drop=True)[list(PROPOSAL_COLUMNS)]
        .astype({"ticker": "object", "kind": "object"})
    )


def _events(bars: pd.DataFrame) -> pd.DataFrame:
    """Split and dividend rows, each with the product of its ticker's split ratios after it."""
    frame = bars[["ticker", "date", "dividend", "split_ratio"]].copy()
    frame["ticker"] = frame["ticker"].astype("object")
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    frame["dividend"] = frame["dividend"].astype("float64").fillna(0.0)
    frame["split_ratio"] = frame["split_ratio"].astype("float64").fillna(1.0)
    frame = frame[(frame["split_ratio"] != 1.0) | (frame["dividend"] > 0)]
    frame = frame.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    through = frame.groupby("ticker")["split_ratio"].cumprod()
    total = frame.groupby("ticker")["split_ratio"].transform("prod")
    return frame.assign(later_splits=total / through)


def _matched(
    events: pd.DataFrame, ledger: pd.DataFrame, kind: str, before_days: int, after_days: int
) -> np.ndarray:
    """Whether a ledger row of `kind` and the event's ticker lies within the window of the date."""
    rows = ledger.loc[ledger["kind"] == kind, ["ticker", "trade_date"]].dropna()
    if events.empty or rows.empty:
        return np.zeros(len(events), dtype=bool)
    rows = rows.assign(
        ticker=rows["ticker"].astype("object"),
        trade_date=pd.to_datetime(rows["trade_date"]).astype("datetime64[ns]"),
    )
    keyed = events[["ticker", "date"]].reset_index(names="event")
    pairs = keyed.merge(rows, on="ticker")
    offset = (pairs["trade_date"] - pairs["date"]).dt.days
    inside = pairs[(offset >= -before_days) & (offset <= after_days)]
    return events.index.isin(inside["event"])


def _claimed_dividends(dividends: pd.DataFrame, ledger: pd.DataFrame) -> np.ndarray:
    """Whether some ledger DIVIDEND row claims each ex-date (see the module docstring)."""
    rows = ledger.loc[ledger["kind"] == "DIVIDEND", ["ticker", "trade_date"]].dropna()
    if dividends.empty or rows.empty:
        return np.zeros(len(dividends), dtype=bool)
    claims = pd.DataFrame(
        {
            "ticker": rows["ticker"].astype("object"),
            "reach": pd.to_datetime(rows["trade_date"]).astype("datetime64[ns]")
            + pd.Timedelta(days=DIVIDEND_EARLY_DAYS),
        }
    ).sort_values("reach", kind="stable")
    exdates = (
        dividends[["ticker", "date"]].reset_index(names="event").sort_values("date", kind="stable")
    )
    claimed = pd.merge_asof(
        claims,
        exdates,
        left_on="reach",
        right_on="date",
        by="ticker",
        direction="backward",
        tolerance=pd.Timedelta(days=DIVIDEND_EARLY_DAYS + DIVIDEND_LATE_DAYS),
    )
    return dividends.index.isin(claimed["event"].dropna().astype("int64"))


def _shares_before(events: pd.DataFrame, shares: pd.DataFrame) -> np.ndarray:
    """Each event's ticker's shares after the last ledger row dated before the event."""
    if events.empty or shares.empty:
        return np.zeros(len(events))
    path = shares.assign(
        ticker=shares["ticker"].astype("object"),
        trade_date=pd.to_datetime(shares["trade_date"]).astype("datetime64[ns]"),
    ).sort_values("trade_date", kind="stable")
    left = events[["ticker", "date"]].reset_index(names="event").sort_values("date", kind="stable")
    joined = pd.merge_asof(
        left,
        path[["ticker", "trade_date", "shares"]],
        left_on="date",
        right_on="trade_date",
        by="ticker",
        direction="backward",
        allow_exact_matches=False,
    )
    return joined.set_index("event")["shares"].reindex(events.index).fillna(0.0).to_numpy()
