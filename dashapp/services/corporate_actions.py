"""Proposed SPLIT and DIVIDEND transactions from the stored price data, confirmed one at a time.

The ledger is never changed silently: `propose_corporate_actions` only reads (the database and
the price cache), and `accept_proposal` adds the one transaction the user confirmed, validated
and version-bumped like any other. How events are matched to holdings, and why a dividend
before a later split is multiplied back by that split, is in `analytics.corporate_actions`.

A SPLIT is added after the ledger's other rows of its date (ledger order is date, then id):
a BUY dated on the split's first adjusted session, already in new shares, would be multiplied
too; record such a buy on the next day or adjust it by hand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import or_, select

from dashapp.analytics.corporate_actions import missing_corporate_actions
from dashapp.db.models import PriceBar
from dashapp.services.context import AppContext
from dashapp.services.ledger_fields import exchange_today
from dashapp.services.ledger_numbers import format_number
from dashapp.services.portfolios import get_portfolio, held_tickers, transactions_frame
from dashapp.services.transactions import TransactionDraft, TransactionRow, add_transaction

PROPOSAL_NOTE = "corporate action from price data"


@dataclass(frozen=True)
class Proposal:
    """A transaction the price data calls for. `key` identifies it for `accept_proposal`
    ("SPLIT:AAPL:2020-08-31"); `explanation` says in one sentence where the amounts come from."""

    key: str
    kind: str
    ticker: str
    trade_date: date
    quantity: float
    price: float
    shares_held: float
    explanation: str

    @property
    def cash(self) -> float:
        """The cash a DIVIDEND brings: shares held x dividend per share; 0 for a SPLIT."""
        return self.shares_held * self.price if self.kind == "DIVIDEND" else 0.0

    def draft(self) -> TransactionDraft:
        return TransactionDraft(
            trade_date=self.trade_date,
            kind=self.kind,
            ticker=self.ticker,
            quantity=self.quantity,
            price=self.price,
            fees=0.0,
            note=PROPOSAL_NOTE,
        )


class ProposalNotFound(LookupError):
    """The key names no current proposal (accepted already, or the data changed)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no proposal {key!r} for this portfolio")
        self.key = key


def propose_corporate_actions(ctx: AppContext, portfolio_id: int) -> list[Proposal]:
    """Splits and dividends of the portfolio's tickers in the stored bars that its ledger lacks,
    oldest first. Reads the database only (the event bars, not every bar: this runs on each
    load of the transactions page). Raises PortfolioNotFound."""
    get_portfolio(ctx, portfolio_id)
    ledger = transactions_frame(ctx, portfolio_id)
    tickers = held_tickers(ctx, portfolio_id)
    if ledger.empty or not tickers:
        return []
    start = ledger["trade_date"].min().date()
    events = stored_events(ctx, tickers, start, exchange_today(ctx))
    found = missing_corporate_actions(ledger, events)
    return [
        _proposal(
            kind=str(record["kind"]),
            ticker=str(record["ticker"]),
            day=record["date"].date(),
            quantity=float(record["quantity"]),
            price=float(record["price"]),
            shares_held=float(record["shares_held"]),
            stored_dividend=float(record["stored_dividend"]),
            later_splits=float(record["later_splits"]),
        )
        for record in found.to_dict("records")
    ]


def stored_events(ctx: AppContext, tickers: Sequence[str], start: date, end: date) -> pd.DataFrame:
    """The stored bars of `tickers` from `start` to `end` that carry a dividend or a split
    (columns ticker, date, dividend, split_ratio), in one query that leaves the other bars in
    the database: a decade of a dozen tickers is 30,000 bars but a few hundred events."""
    query = select(PriceBar.ticker, PriceBar.date, PriceBar.dividend, PriceBar.split_ratio).where(
        PriceBar.ticker.in_(sorted(set(tickers))),
        PriceBar.date >= start,
        PriceBar.date <= end,
        or_(PriceBar.dividend > 0, PriceBar.split_ratio != 1.0),
    )
    with ctx.db.engine.connect() as connection:
        rows = connection.execute(query).all()
    frame = pd.DataFrame(
        [tuple(row) for row in rows], columns=["ticker", "date", "dividend", "split_ratio"]
    )
    return frame.assign(
        ticker=frame["ticker"].astype("object"),
        date=pd.to_datetime(frame["date"]).astype("datetime64[ns]"),
        dividend=frame["dividend"].astype("float64"),
        split_ratio=frame["split_ratio"].astype("float64"),
    )


def proposal_counts(proposals: Sequence[Proposal]) -> dict[str, dict[str, int]]:
    """How many proposals of each kind (SPLIT first) there are per ticker, tickers by count
    (most first) then name: {"SPLIT": {"NVDA": 1}, "DIVIDEND": {"KO": 24, "AAPL": 20}}."""
    counts: dict[str, dict[str, int]] = {}
    for kind in sorted({p.kind for p in proposals}, key=lambda kind: (kind != "SPLIT", kind)):
        per_ticker = Counter(p.ticker for p in proposals if p.kind == kind)
        ordered = sorted(per_ticker.items(), key=lambda item: (-item[1], item[0]))
        counts[kind] = dict(ordered)
    return counts


def accept_proposal(ctx: AppContext, portfolio_id: int, proposal_key: str) -> TransactionRow:
    """Add the proposed transaction (bumping the version; the history records the "accept" of
    `proposal_key`). Raises ProposalNotFound when the key is not among the current proposals,
    LedgerError when the ledger refuses it."""
    for proposal in propose_corporate_actions(ctx, portfolio_id):
        if proposal.key == proposal_key:
            return add_transaction(ctx, portfolio_id, proposal.draft(), proposal=proposal.key)
    raise ProposalNotFound(proposal_key)


def _proposal(
    *,
    kind: str,
    ticker: str,
    day: date,
    quantity: float,
    price: float,
    shares_held: float,
    stored_dividend: float,
    later_splits: float,
) -> Proposal:
    held = format_number(shares_held)
    if kind == "SPLIT":
        explanation = (
            f"{ticker} split {format_number(quantity)}-for-1 on {day.isoformat()} while "
            f"{held} shares were held: {held} become {format_number(shares_held * quantity)}"
        )
    else:
        scaled = (
            f" ({format_number(stored_dividend)} as stored, times {format_number(later_splits)} "
            "for the later splits)"
            if later_splits != 1.0
            else ""
        )
        explanation = (
            f"{ticker} paid {format_number(price)} per share{scaled} with ex-date "
            f"{day.isoformat()} on the {held} shares held the day before: "
            f"{format_number(shares_held * price)} in all"
        )
    return Proposal(
        key=f"{kind}:{ticker}:{day.isoformat()}",
        kind=kind,
        ticker=ticker,
        trade_date=day,
        quantity=quantity,
        price=price,
        shares_held=shares_held,
        explanation=explanation,
    )
