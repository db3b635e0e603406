"""A portfolio's history: each change of its ledger or name is one record of who made it, when
and what it did, written with the change itself, so a refused change leaves none."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dashapp.accounts.users import create_user
from dashapp.db.models import LedgerChange, PriceBar
from dashapp.services.audit import history
from dashapp.services.corporate_actions import accept_proposal
from dashapp.services.ledger_fields import LedgerError
from dashapp.services.ledger_import import import_transactions
from dashapp.services.ownership import DEPLOYMENT, Actor, acting_as
from dashapp.services.portfolios import (
    InvalidInput,
    PortfolioNotFound,
    create_portfolio,
    delete_portfolio,
    get_portfolio,
    rename_portfolio,
)
from dashapp.services.transactions import (
    TransactionDraft,
    add_transaction,
    delete_transaction,
    update_transaction,
)

HEADER = "date,type,ticker,quantity,price,fees,currency,note"
NOW = datetime(2024, 12, 4, 22, 0, tzinfo=UTC)


@pytest.fixture
def alice(app_context) -> Actor:
    return Actor(create_user(app_context.db, "alice", "correct horse battery").id)


@pytest.fixture
def bob(app_context) -> Actor:
    return Actor(create_user(app_context.db, "bob", "correct horse battery").id)


def changes(app_context, portfolio_id: int) -> list[tuple]:
    """The history as (who, when, action, summary), newest first, read as its owner would."""
    page = history(app_context, get_portfolio(app_context, portfolio_id), limit=500)
    return [(c.who, c.at, c.action, c.summary) for c in page.changes]


def stored_count(app_context) -> int:
    with app_context.db.session() as session:
        return session.scalar(select(func.count()).select_from(LedgerChange))


def test_each_kind_of_change_records_one_entry_by_its_user(app_context, clock, alice):
    with acting_as(alice):
        portfolio_id = create_portfolio(app_context, "Main").id
        clock.advance(timedelta(minutes=1))
        row = add_transaction(
            app_context,
            portfolio_id,
            TransactionDraft("2024-01-02", "BUY", "AAPL", "10", "150", "", "", "first lot"),
        )
        clock.advance(timedelta(minutes=1))
        update_transaction(
            app_context,
            portfolio_id,
            row.id,
            TransactionDraft("2024-01-02", "BUY", "AAPL", "12", "150", "1", "", "first lot"),
        )
        clock.advance(timedelta(minutes=1))
        raw = f"{HEADER}\n2024-01-03,DEPOSIT,,1,1000,0,USD,\n2024-01-04,BUY,MSFT,2,300,0,USD,\n"
        import_transactions(app_context, portfolio_id, raw.encode(), "trades.csv")
        clock.advance(timedelta(minutes=1))
        delete_transaction(app_context, portfolio_id, row.id)
        clock.advance(timedelta(minutes=1))
        rename_portfolio(app_context, portfolio_id, "Retirement")
        assert changes(app_context, portfolio_id) == [
            (
                "alice",
                NOW + timedelta(minutes=5),
                "rename",
                'renamed the portfolio "Main" to "Retirement"',
            ),
            (
                "alice",
                NOW + timedelta(minutes=4),
                "delete",
                "deleted BUY 12 AAPL @ 150.00 (fees 1.00) on 2024-01-02",
            ),
            ("alice", NOW + timedelta(minutes=3), "import", "imported 2 rows from trades.csv"),
            (
                "alice",
                NOW + timedelta(minutes=2),
                "edit",
                "edited BUY 10 AAPL @ 150.00 on 2024-01-02: quantity 10 → 12, fees 0 → 1",
            ),
            (
                "alice",
                NOW + timedelta(minutes=1),
                "add",
                "added BUY 10 AAPL @ 150.00 on 2024-01-02",
            ),
            ("alice", NOW, "create", 'created the portfolio "Main" in USD'),
        ]


def test_an_edit_keeps_every_field_before_and_after(app_context, alice):
    with acting_as(alice):
        portfolio_id = create_portfolio(app_context, "Main").id
        row = add_transaction(
            app_context, portfolio_id, TransactionDraft("2024-01-02", "BUY", "AAPL", "10", "150")
        )
        update_transaction(
            app_context,
            portfolio_id,
            row.id,
            TransactionDraft("2024-01-03", "BUY", "AAPL", "10", "150", "", "", "moved"),
        )
        latest = history(app_context, get_portfolio(app_context, portfolio_id), 1).changes[0]
    same = {"id": row.id, "kind": "BUY", "ticker": "AAPL", "quantity": 10.0, "price": 150.0}
    same |= {"fees": 0.0, "currency": "USD"}
    assert latest.detail == {
        "before": {**same, "trade_date": "2024-01-02", "note": ""},
        "after": {**same, "trade_date": "2024-01-03", "note": "moved"},
    }
    assert latest.summary == (
        'edited BUY 10 AAPL @ 150.00 on 2024-01-02: date 2024-01-02 → 2024-01-03, note "" → "moved"'
    )


def test_accepting_a_proposal_is_one_accept_entry(app_context, alice):
    with app_context.db.session() as session:
        session.add_all(
            PriceBar(
                ticker="ACME",
                date=day,
                open=10.0,
                high=10.0,
                low=10.0,
                close=10.0,
                split_ratio=ratio,
            )
            for day, ratio in ((date(2024, 3, 1), 1.0), (date(2024, 6, 10), 4.0))
        )
    with acting_as(alice):
        portfolio_id = create_portfolio(app_context, "Acme").id
        add_transaction(
            app_context, portfolio_id, TransactionDraft("2024-03-01", "BUY", "ACME", "10", "40")
        )
        accept_proposal(app_context, portfolio_id, "SPLIT:ACME:2024-06-10")
        latest = history(app_context, get_portfolio(app_context, portfolio_id)).changes
    assert [(c.who, c.action, c.summary) for c in latest[:1]] == [
        ("alice", "accept", "accepted the proposed SPLIT ACME 4-for-1 on 2024-06-10")
    ]
    assert latest[0].detail["proposal"] == "SPLIT:ACME:2024-06-10"
    # One entry for the accepted proposal, not an "add" besides it.
    assert [c.action for c in latest] == ["accept", "add", "create"]


def test_refused_changes_record_nothing(app_context, alice):
    with acting_as(alice):
        portfolio_id = create_portfolio(app_context, "Main").id
        create_portfolio(app_context, "Other")
        buy = add_transaction(
            app_context, portfolio_id, TransactionDraft("2024-01-02", "BUY", "AAPL", "10", "150")
        )
        add_transaction(
            app_context, portfolio_id, TransactionDraft("2024-02-01", "SELL", "AAPL", "8", "160")
        )
        before = stored_count(app_context)
        with pytest.raises(LedgerError):  # sells more than is held
            add_transaction(
                app_context, portfolio_id, TransactionDraft("2024-03-01", "SELL", "AAPL", "5", "1")
            )
        with pytest.raises(LedgerError):  # leaves the February sell without the shares
            update_transaction(
                app_context,
                portfolio_id,
                buy.id,
                TransactionDraft("2024-01-02", "BUY", "AAPL", "5", "1"),
            )
        with pytest.raises(LedgerError):  # the same, by deleting the buy
            delete_transaction(app_context, portfolio_id, buy.id)
        raw = f"{HEADER}\n2024-01-03,BUY,MSFT,2,300,0,USD,\n2024-01-04,BUY,MSFT,two,300,0,USD,\n"
        with pytest.raises(LedgerError):  # one bad row: nothing is imported
            import_transactions(app_context, portfolio_id, raw.encode(), "bad.csv")
        with pytest.raises(InvalidInput):  # a name taken already
            rename_portfolio(app_context, portfolio_id, "other")
    assert stored_count(app_context) == before


def test_the_deployments_own_changes_have_no_user(app_context):
    create_user(app_context.db, "alice", "correct horse battery")
    with acting_as(DEPLOYMENT):
        portfolio_id = create_portfolio(app_context, "Seeded").id
        add_transaction(
            app_context, portfolio_id, TransactionDraft("2024-01-02", "DEPOSIT", "", "1", "1000")
        )
        page = history(app_context, get_portfolio(app_context, portfolio_id))
    assert [(c.username, c.who, c.summary) for c in page.changes] == [
        (None, "deployment", "added DEPOSIT 1,000.00 on 2024-01-02"),
        (None, "deployment", 'created the portfolio "Seeded" in USD'),
    ]


def test_another_users_history_is_missing_like_a_missing_portfolio(app_context, alice, bob):
    with acting_as(alice):
        portfolio_id = create_portfolio(app_context, "Main").id
    with acting_as(bob), pytest.raises(PortfolioNotFound):
        get_portfolio(app_context, portfolio_id)
    with acting_as(bob), pytest.raises(PortfolioNotFound):  # nor may bob write into it
        add_transaction(
            app_context, portfolio_id, TransactionDraft("2024-01-02", "DEPOSIT", "", "1", "9")
        )
    with acting_as(alice):
        assert [
            c.action for c in history(app_context, get_portfolio(app_context, portfolio_id)).changes
        ] == ["create"]


def test_an_import_of_thousands_of_rows_is_one_entry(app_context, alice):
    rows = "".join(f"2024-01-02,BUY,AAPL,1,{100 + i % 50},0,USD,lot {i}\n" for i in range(5000))
    with acting_as(alice):
        portfolio_id = create_portfolio(app_context, "Big").id
        import_transactions(app_context, portfolio_id, f"{HEADER}\n{rows}".encode(), "big.csv")
        page = history(app_context, get_portfolio(app_context, portfolio_id))
    assert [(c.action, c.detail) for c in page.changes[:1]] == [
        ("import", {"filename": "big.csv", "format": "stocktracker", "skipped": 0, "rows": 5000})
    ]
    assert stored_count(app_context) == 2


def test_history_pages_go_back_from_the_newest(app_context, alice):
    with acting_as(alice):
        portfolio_id = create_portfolio(app_context, "Main").id
        for day in range(2, 9):
            add_transaction(
                app_context,
                portfolio_id,
                TransactionDraft(f"2024-01-0{day}", "DEPOSIT", "", "1", str(day)),
            )
        portfolio = get_portfolio(app_context, portfolio_id)
        first = history(app_context, portfolio, limit=3)
        second = history(app_context, portfolio, limit=3, before=first.older)
        third = history(app_context, portfolio, limit=3, before=second.older)
    amounts = [
        [c.detail.get("transaction", {}).get("price") for c in p.changes]
        for p in (first, second, third)
    ]
    assert amounts == [[8.0, 7.0, 6.0], [5.0, 4.0, 3.0], [2.0, None]]
    assert third.older is None
    assert [c.action for c in third.changes] == ["add", "create"]


def test_deleting_a_portfolio_deletes_its_history(app_context, alice):
    with acting_as(alice):
        kept = create_portfolio(app_context, "Kept").id
        gone = create_portfolio(app_context, "Gone").id
        add_transaction(app_context, gone, TransactionDraft("2024-01-02", "DEPOSIT", "", "1", "5"))
        delete_portfolio(app_context, gone)
    with app_context.db.session() as session:
        left = session.execute(select(LedgerChange.portfolio_id, LedgerChange.action)).all()
    assert [tuple(row) for row in left] == [(kept, "create")]
