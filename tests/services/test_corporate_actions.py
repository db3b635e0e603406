"""Corporate actions: splits and dividends in the stored prices that the ledger lacks are
proposed with amounts from the shares held then, and added only when the user accepts one."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashapp.analytics.corporate_actions import missing_corporate_actions
from dashapp.db.models import PriceBar
from dashapp.services.corporate_actions import (
    ProposalNotFound,
    accept_proposal,
    proposal_counts,
    propose_corporate_actions,
    stored_events,
)
from dashapp.services.portfolios import create_portfolio, get_portfolio
from dashapp.services.transactions import TransactionDraft, add_transaction, list_transactions


def store_bars(app_context, ticker: str, events: dict[str, tuple[float, float]]) -> None:
    """Bars on the given dates with (dividend, split_ratio); prices do not matter here."""
    with app_context.db.session() as session:
        session.add_all(
            PriceBar(
                ticker=ticker,
                date=date.fromisoformat(day),
                open=10.0,
                high=10.0,
                low=10.0,
                close=10.0,
                volume=1.0,
                dividend=dividend,
                split_ratio=ratio,
            )
            for day, (dividend, ratio) in events.items()
        )


def add(app_context, portfolio_id: int, *drafts: TransactionDraft) -> None:
    for draft in drafts:
        add_transaction(app_context, portfolio_id, draft)


@pytest.fixture
def acme(app_context) -> int:
    """10 ACME bought in March, 5 more on a May ex-date, a 4:1 split in June (stored dividends
    are split-adjusted, so May's 1.00 is stored as 0.25), dividends of 0.30 in August and
    November; the ledger records only November's, on its pay date."""
    portfolio_id = create_portfolio(app_context, "Acme holder").id
    store_bars(
        app_context,
        "ACME",
        {
            "2024-03-01": (0.0, 1.0),
            "2024-05-10": (0.25, 1.0),
            "2024-06-10": (0.0, 4.0),
            "2024-08-09": (0.3, 1.0),
            "2024-11-08": (0.3, 1.0),
        },
    )
    add(
        app_context,
        portfolio_id,
        TransactionDraft("2024-03-01", "BUY", "ACME", "10", "40"),
        TransactionDraft("2024-05-10", "BUY", "ACME", "5", "40"),
        TransactionDraft("2024-11-25", "DIVIDEND", "ACME", "60", "0.3"),
    )
    return portfolio_id


def summary(proposals) -> list[tuple]:
    return [(p.key, p.quantity, p.price, p.shares_held) for p in proposals]


def test_missing_split_and_dividends_are_proposed_with_exact_amounts(app_context, acme):
    proposals = propose_corporate_actions(app_context, acme)
    assert summary(proposals) == [
        # 10 held at the close before the ex-date (the 5 bought on it earn nothing), at the
        # 0.25 stored times the later 4:1 split.
        ("DIVIDEND:ACME:2024-05-10", 10.0, 1.0, 10.0),
        ("SPLIT:ACME:2024-06-10", 4.0, 0.0, 15.0),
        # After the proposed split the 15 shares are 60.
        ("DIVIDEND:ACME:2024-08-09", 60.0, 0.3, 60.0),
    ]
    assert [p.explanation for p in proposals] == [
        "ACME paid 1 per share (0.25 as stored, times 4 for the later splits) with ex-date "
        "2024-05-10 on the 10 shares held the day before: 10 in all",
        "ACME split 4-for-1 on 2024-06-10 while 15 shares were held: 15 become 60",
        "ACME paid 0.3 per share with ex-date 2024-08-09 on the 60 shares held the day before: "
        "18 in all",
    ]
    # Proposing changes nothing.
    assert len(list_transactions(app_context, acme)) == 3
    assert get_portfolio(app_context, acme).version == 4


def test_accepting_adds_one_transaction_and_bumps_the_version(app_context, acme):
    row = accept_proposal(app_context, acme, "SPLIT:ACME:2024-06-10")
    assert (row.trade_date, row.kind, row.ticker, row.quantity, row.price, row.fees) == (
        date(2024, 6, 10),
        "SPLIT",
        "ACME",
        4.0,
        0.0,
        0.0,
    )
    assert get_portfolio(app_context, acme).version == 5
    assert summary(propose_corporate_actions(app_context, acme)) == [
        ("DIVIDEND:ACME:2024-05-10", 10.0, 1.0, 10.0),
        ("DIVIDEND:ACME:2024-08-09", 60.0, 0.3, 60.0),
    ]
    dividend = accept_proposal(app_context, acme, "DIVIDEND:ACME:2024-05-10")
    assert (dividend.quantity, dividend.price) == (10.0, 1.0)
    with pytest.raises(ProposalNotFound):
        accept_proposal(app_context, acme, "DIVIDEND:ACME:2024-05-10")
    assert get_portfolio(app_context, acme).version == 6


def test_recorded_actions_and_closed_positions_get_no_proposal(app_context):
    portfolio_id = create_portfolio(app_context, "Recorded").id
    store_bars(app_context, "GONE", {"2024-06-10": (0.0, 2.0), "2024-07-01": (0.5, 1.0)})
    store_bars(app_context, "KEPT", {"2024-06-10": (0.0, 3.0), "2024-07-01": (0.5, 1.0)})
    add(
        app_context,
        portfolio_id,
        TransactionDraft("2024-03-01", "BUY", "GONE", "5", "10"),
        TransactionDraft("2024-04-01", "SELL", "GONE", "5", "12"),
        TransactionDraft("2024-03-01", "BUY", "KEPT", "5", "10"),
        # Recorded on the distribution day, two sessions before the split's first session.
        TransactionDraft("2024-06-07", "SPLIT", "KEPT", "3"),
        TransactionDraft("2024-07-01", "DIVIDEND", "KEPT", "15", "0.5"),
    )
    assert propose_corporate_actions(app_context, portfolio_id) == []


def test_each_dividend_row_claims_one_ex_date_of_a_monthly_payer():
    ledger = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "trade_date": pd.to_datetime(["2024-01-02", "2024-02-20", "2024-03-20"]),
            "kind": ["BUY", "DIVIDEND", "DIVIDEND"],
            "ticker": ["MAIN", "MAIN", "MAIN"],
            "quantity": [100.0, 100.0, 100.0],
            "price": [40.0, 0.2, 0.2],
            "fees": [0.0, 0.0, 0.0],
        }
    )
    events = pd.DataFrame(
        {
            "ticker": ["MAIN"] * 3,
            # Ex-dates a month apart. The ledger records January's and February's dividends on
            # their pay dates, 20 days after the ex-date; the row of 03-20 is 8 days before
            # March's ex-date but pays February's, so March's is the one missing.
            "date": pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-28"]),
            "dividend": [0.2, 0.2, 0.2],
            "split_ratio": [1.0, 1.0, 1.0],
        }
    )
    proposals = missing_corporate_actions(ledger, events)
    assert proposals[["date", "kind", "quantity", "price"]].to_dict("records") == [
        {"date": pd.Timestamp("2024-03-28"), "kind": "DIVIDEND", "quantity": 100.0, "price": 0.2}
    ]


def test_dividend_before_two_later_splits_is_scaled_by_both():
    ledger = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "trade_date": pd.to_datetime(["2020-01-02", "2021-01-04", "2022-01-03"]),
            "kind": ["BUY", "SPLIT", "SPLIT"],
            "ticker": ["X", "X", "X"],
            "quantity": [3.0, 2.0, 5.0],
            "price": [10.0, 0.0, 0.0],
            "fees": [0.0, 0.0, 0.0],
        }
    )
    events = pd.DataFrame(
        {
            "ticker": ["X", "X", "X", "X"],
            "date": pd.to_datetime(["2020-06-01", "2021-01-04", "2021-06-01", "2022-01-03"]),
            "dividend": [0.07, 0.0, 0.1, 0.0],
            "split_ratio": [1.0, 2.0, 1.0, 5.0],
        }
    )
    proposals = missing_corporate_actions(ledger, events)
    assert proposals[["kind", "quantity", "price", "later_splits"]].to_dict("records") == [
        # 0.07 stored x 2 x 5 = 0.70 on the 3 shares of 2020; 0.1 x 5 = 0.50 on the 6 of 2021.
        {"kind": "DIVIDEND", "quantity": 3.0, "price": 0.7, "later_splits": 10.0},
        {"kind": "DIVIDEND", "quantity": 6.0, "price": 0.5, "later_splits": 5.0},
    ]


def test_no_events_means_no_proposals():
    ledger = pd.DataFrame(
        {
            "id": [1],
            "trade_date": pd.to_datetime(["2024-01-02"]),
            "kind": ["BUY"],
            "ticker": ["X"],
            "quantity": [1.0],
            "price": [1.0],
            "fees": [0.0],
        }
    )
    events = pd.DataFrame(
        {
            "ticker": ["X"],
            "date": pd.to_datetime(["2024-01-03"]),
            "dividend": [0.0],
            "split_ratio": [1.0],
        }
    )
    assert missing_corporate_actions(ledger, events).empty


def test_only_the_event_bars_in_the_range_are_read(app_context):
    store_bars(
        app_context,
        "ACME",
        {
            "2024-02-01": (0.5, 1.0),  # before the range
            "2024-03-01": (0.0, 1.0),  # a plain bar
            "2024-03-04": (0.2, 1.0),
            "2024-03-05": (0.0, 3.0),
            "2024-03-06": (0.0, 1.0),
        },
    )
    store_bars(app_context, "OTHER", {"2024-03-04": (0.9, 1.0)})  # not asked for
    events = stored_events(app_context, ["ACME"], date(2024, 3, 1), date(2024, 12, 4))
    assert events.sort_values("date").to_dict("records") == [
        {"ticker": "ACME", "date": pd.Timestamp("2024-03-04"), "dividend": 0.2, "split_ratio": 1.0},
        {"ticker": "ACME", "date": pd.Timestamp("2024-03-05"), "dividend": 0.0, "split_ratio": 3.0},
    ]
    nothing = stored_events(app_context, ["NONE"], date(2024, 3, 1), date(2024, 12, 4))
    assert nothing.empty and list(nothing.columns) == ["ticker", "date", "dividend", "split_ratio"]


def test_proposals_are_counted_by_kind_then_ticker_and_dividends_carry_their_cash(
    app_context, acme
):
    store_bars(app_context, "BETA", {"2024-08-09": (0.5, 1.0), "2024-09-09": (0.5, 1.0)})
    add(app_context, acme, TransactionDraft("2024-03-01", "BUY", "BETA", "4", "10"))
    proposals = propose_corporate_actions(app_context, acme)
    # Splits first; within a kind the ticker with most proposals first.
    assert proposal_counts(proposals) == {
        "SPLIT": {"ACME": 1},
        "DIVIDEND": {"ACME": 2, "BETA": 2},
    }
    # 10 x 1.00 and 60 x 0.30 for ACME, 4 x 0.50 twice for BETA; a split brings no cash.
    assert [(p.key, p.cash) for p in proposals] == [
        ("DIVIDEND:ACME:2024-05-10", 10.0),
        ("SPLIT:ACME:2024-06-10", 0.0),
        ("DIVIDEND:ACME:2024-08-09", 18.0),
        ("DIVIDEND:BETA:2024-08-09", 2.0),
        ("DIVIDEND:BETA:2024-09-09", 2.0),
    ]


def test_a_ticker_without_stored_prices_gets_no_proposal(app_context):
    portfolio_id = create_portfolio(app_context, "New").id
    add(app_context, portfolio_id, TransactionDraft("2024-03-01", "BUY", "NOPRICES", "5", "10"))
    assert propose_corporate_actions(app_context, portfolio_id) == []
