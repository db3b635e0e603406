"""Adding, editing and deleting transactions: each refusal says exactly what is wrong, every
accepted change bumps the portfolio's version, and no change can oversell a position."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from dashapp.db.models import FetchLog, Transaction
from dashapp.services.portfolios import (
    InvalidInput,
    PortfolioNotFound,
    create_portfolio,
    delete_portfolio,
    get_portfolio,
    list_portfolios,
    rename_portfolio,
)
from dashapp.services.transactions import (
    LedgerError,
    RowError,
    TransactionDraft,
    TransactionNotFound,
    add_transaction,
    check_tickers,
    delete_transaction,
    list_transactions,
    ticker_status,
    update_transaction,
)


@pytest.fixture
def portfolio_id(app_context) -> int:
    return create_portfolio(app_context, "Main").id


def buy(day: str, quantity: str, ticker: str = "AAPL", price: str = "100") -> TransactionDraft:
    return TransactionDraft(day, "BUY", ticker, quantity, price)


def sell(day: str, quantity: str, ticker: str = "AAPL", price: str = "110") -> TransactionDraft:
    return TransactionDraft(day, "SELL", ticker, quantity, price)


def refusal(app_context, portfolio_id: int, draft: TransactionDraft) -> list[str]:
    with pytest.raises(LedgerError) as caught:
        add_transaction(app_context, portfolio_id, draft)
    return [error.message for error in caught.value.errors]


def version(app_context, portfolio_id: int) -> int:
    return get_portfolio(app_context, portfolio_id).version


def test_added_transaction_is_normalised_and_stored(app_context, portfolio_id):
    row = add_transaction(
        app_context,
        portfolio_id,
        TransactionDraft(" 2024-03-01 ", "buy", " aapl ", "1,234.5", "170.25", "", "usd", " x "),
    )
    assert (row.trade_date, row.kind, row.ticker) == (date(2024, 3, 1), "BUY", "AAPL")
    assert (row.quantity, row.price, row.fees, row.currency, row.note) == (
        1234.5,
        170.25,
        0.0,
        "USD",
        "x",
    )
    assert list_transactions(app_context, portfolio_id) == [row]


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (
            TransactionDraft("2024-03-01", "TRANSFER", "AAPL", "1", "1"),
            "kind: 'TRANSFER' is not a transaction type "
            "(BUY, SELL, DIVIDEND, SPLIT, DEPOSIT, WITHDRAWAL, FEE)",
        ),
        (buy("2024-03-01", "1,2.3"), "quantity: '1,2.3' is not a number"),
        (buy("2024-03-01", "nan"), "quantity: 'nan' is not a number"),
        (buy("2024-03-01", "0"), "quantity: a BUY needs a positive quantity, not 0"),
        (sell("2024-03-01", "-3"), "quantity: a SELL needs a positive quantity, not -3"),
        (
            TransactionDraft("2024-03-01", "SPLIT", "AAPL", "0"),
            "quantity: a split ratio (new shares per old share) must be positive, not 0",
        ),
        (buy("2024-03-01", "1", price="-1"), "price: must not be negative, not -1"),
        (buy("2024-03-01", "1", price="0"), "price: a BUY needs a positive price, not 0"),
        (
            TransactionDraft("2024-03-01", "DIVIDEND", "AAPL", "10", "0.00"),
            "price: a DIVIDEND needs a positive price, not 0",
        ),
        (
            TransactionDraft("2024-03-02", "DEPOSIT", None, "1", "0"),
            "price: a DEPOSIT needs a positive price, not 0",
        ),
        (buy("2024-03-01", "1", price=""), "price: missing"),
        (
            TransactionDraft("2024-03-01", "BUY", "AAPL", "1", "1", "-0.5"),
            "fees: must not be negative, not -0.5",
        ),
        (
            TransactionDraft("2024-03-01", "SPLIT", "AAPL", "4", "", "1"),
            "fees: a SPLIT has no fees; record a FEE transaction",
        ),
        (
            buy("2024-12-05", "1"),
            "trade_date: 2024-12-05 is in the future (today is 2024-12-04 in New York)",
        ),
        (buy("2024-02-30", "1"), "trade_date: '2024-02-30' is not a date (YYYY-MM-DD)"),
        (buy("03/01/2024", "1"), "trade_date: '03/01/2024' is not a date (YYYY-MM-DD)"),
        (
            buy("2024-11-30", "1"),
            "trade_date: 2024-11-30 is a Saturday, not an XNYS session; "
            "the trade maps to session 2024-12-02",
        ),
        (
            sell("2024-11-28", "1"),
            "trade_date: 2024-11-28 is a market holiday (Thursday), not an XNYS session; "
            "the trade maps to session 2024-11-29",
        ),
        (
            TransactionDraft("2024-03-01", "BUY", "AAPL", "1", "1", currency="EUR"),
            "currency: EUR differs from the portfolio's base currency USD; "
            "record the amounts in USD",
        ),
        (
            TransactionDraft("2024-03-01", "BUY", "AAPL", "1", "1", currency="dollars"),
            "currency: 'dollars' is not a three-letter code",
        ),
        (
            buy("2024-03-01", "1", ticker="AAPL US"),
            "ticker: 'AAPL US' is not a ticker symbol (up to 15 of A-Z, 0-9 and . ^ = -)",
        ),
        (
            buy("2024-03-01", "1", ticker="<script>"),
            "ticker: '<script>' is not a ticker symbol (up to 15 of A-Z, 0-9 and . ^ = -)",
        ),
        (buy("2024-03-01", "1", ticker=""), "ticker: missing; a BUY needs a ticker"),
        (
            TransactionDraft("2024-03-01", "DEPOSIT", None, "1", "1000", note="a\x00b"),
            "note: contains control characters",
        ),
        (
            sell("2024-03-01", "15"),
            "quantity: sell of 15 AAPL on 2024-03-01 exceeds the 0 shares held then",
        ),
    ],
)
def test_each_invalid_field_is_refused_with_its_message(app_context, portfolio_id, draft, message):
    assert refusal(app_context, portfolio_id, draft) == [message]
    assert list_transactions(app_context, portfolio_id) == []
    assert version(app_context, portfolio_id) == 1


def test_every_broken_field_of_a_row_is_reported_at_once(app_context, portfolio_id):
    draft = TransactionDraft("2024-12-09", "SELL", "AAPL", "x", "-1", currency="EUR")
    with pytest.raises(LedgerError) as caught:
        add_transaction(app_context, portfolio_id, draft)
    assert [(e.row, e.column) for e in caught.value.errors] == [
        (None, "trade_date"),
        (None, "quantity"),
        (None, "price"),
        (None, "currency"),
    ]


def test_drafts_may_carry_plain_values_from_a_form(app_context, portfolio_id):
    row = add_transaction(
        app_context,
        portfolio_id,
        TransactionDraft(datetime(2024, 3, 1, 15, 30), "BUY", "KO", 10, 60.5, None, None, None),
    )
    assert (row.trade_date, row.quantity, row.price, row.fees, row.currency, row.note) == (
        date(2024, 3, 1),
        10.0,
        60.5,
        0.0,
        "USD",
        "",
    )
    assert refusal(app_context, portfolio_id, TransactionDraft(None, None)) == [
        "kind: missing; one of BUY, SELL, DIVIDEND, SPLIT, DEPOSIT, WITHDRAWAL, FEE",
        "trade_date: missing",
        "quantity: missing",
        "price: missing",
    ]


def test_future_is_judged_by_the_date_in_new_york(app_context, portfolio_id):
    # 03:00 UTC on the 5th is still the evening of the 4th in New York.
    app_context.clock.set(datetime(2024, 12, 5, 3, 0, tzinfo=UTC))
    assert refusal(app_context, portfolio_id, buy("2024-12-05", "1")) == [
        "trade_date: 2024-12-05 is in the future (today is 2024-12-04 in New York)"
    ]
    add_transaction(app_context, portfolio_id, buy("2024-12-04", "1"))


def test_dividends_and_deposits_may_fall_on_a_weekend(app_context, portfolio_id):
    add_transaction(app_context, portfolio_id, buy("2024-11-29", "10"))
    add_transaction(
        app_context, portfolio_id, TransactionDraft("2024-11-30", "DIVIDEND", "AAPL", "10", "0.25")
    )
    add_transaction(
        app_context, portfolio_id, TransactionDraft("2024-12-01", "DEPOSIT", None, "1", "1000")
    )
    assert [t.kind for t in list_transactions(app_context, portfolio_id)] == [
        "BUY",
        "DIVIDEND",
        "DEPOSIT",
    ]


def test_sell_larger_than_the_position_held_then_is_refused(app_context, portfolio_id):
    add_transaction(app_context, portfolio_id, buy("2024-03-01", "10"))
    add_transaction(app_context, portfolio_id, buy("2024-06-03", "20"))
    # 30 are held by June, but on 2024-03-04 only the first 10.
    assert refusal(app_context, portfolio_id, sell("2024-03-04", "15")) == [
        "quantity: sell of 15 AAPL on 2024-03-04 exceeds the 10 shares held then"
    ]
    add_transaction(app_context, portfolio_id, sell("2024-06-04", "25"))


def test_a_split_multiplies_the_shares_a_sell_may_sell(app_context, portfolio_id):
    add_transaction(app_context, portfolio_id, buy("2020-08-03", "10"))
    add_transaction(app_context, portfolio_id, TransactionDraft("2020-08-31", "SPLIT", "AAPL", "4"))
    add_transaction(app_context, portfolio_id, sell("2020-09-01", "40"))
    assert refusal(app_context, portfolio_id, sell("2020-09-02", "1")) == [
        "quantity: sell of 1 AAPL on 2020-09-02 exceeds the 0 shares held then"
    ]


def test_editing_a_buy_below_a_later_sell_is_refused(app_context, portfolio_id):
    bought = add_transaction(app_context, portfolio_id, buy("2024-03-01", "10"))
    sold = add_transaction(app_context, portfolio_id, sell("2024-03-04", "8"))
    before = list_transactions(app_context, portfolio_id)
    with pytest.raises(LedgerError) as caught:
        update_transaction(app_context, portfolio_id, bought.id, buy("2024-03-01", "5"))
    assert caught.value.errors == [
        RowError(
            None,
            "quantity",
            "quantity: editing this transaction would leave the sell of 8 AAPL on 2024-03-04 "
            f"exceeding the 5 shares held then (transaction #{sold.id})",
        )
    ]
    assert list_transactions(app_context, portfolio_id) == before
    assert version(app_context, portfolio_id) == 3


def test_moving_a_sell_before_its_buy_is_refused(app_context, portfolio_id):
    add_transaction(app_context, portfolio_id, buy("2024-03-04", "10"))
    sold = add_transaction(app_context, portfolio_id, sell("2024-03-05", "8"))
    with pytest.raises(LedgerError) as caught:
        update_transaction(app_context, portfolio_id, sold.id, sell("2024-03-01", "8"))
    assert caught.value.errors == [
        RowError(
            None,
            "quantity",
            "quantity: sell of 8 AAPL on 2024-03-01 exceeds the 0 shares held then",
        )
    ]


def test_deleting_the_buy_behind_a_later_sell_is_refused(app_context, portfolio_id):
    bought = add_transaction(app_context, portfolio_id, buy("2024-03-01", "10"))
    sold = add_transaction(app_context, portfolio_id, sell("2024-03-04", "8"))
    with pytest.raises(LedgerError) as caught:
        delete_transaction(app_context, portfolio_id, bought.id)
    assert [e.message for e in caught.value.errors] == [
        "quantity: deleting this transaction would leave the sell of 8 AAPL on 2024-03-04 "
        f"exceeding the 0 shares held then (transaction #{sold.id})"
    ]
    assert len(list_transactions(app_context, portfolio_id)) == 2
    delete_transaction(app_context, portfolio_id, sold.id)
    delete_transaction(app_context, portfolio_id, bought.id)
    assert list_transactions(app_context, portfolio_id) == []


def test_every_change_bumps_the_version_and_refusals_do_not(app_context, portfolio_id):
    assert version(app_context, portfolio_id) == 1
    row = add_transaction(app_context, portfolio_id, buy("2024-03-01", "10"))
    assert version(app_context, portfolio_id) == 2
    update_transaction(app_context, portfolio_id, row.id, buy("2024-03-01", "12"))
    assert version(app_context, portfolio_id) == 3
    with pytest.raises(LedgerError):
        add_transaction(app_context, portfolio_id, sell("2024-03-04", "99"))
    assert version(app_context, portfolio_id) == 3
    delete_transaction(app_context, portfolio_id, row.id)
    assert version(app_context, portfolio_id) == 4


def test_edit_replaces_every_field(app_context, portfolio_id):
    row = add_transaction(app_context, portfolio_id, buy("2024-03-01", "10"))
    edited = update_transaction(
        app_context,
        portfolio_id,
        row.id,
        TransactionDraft("2024-03-05", "BUY", "MSFT", "3", "400", "2", "", "moved"),
    )
    assert edited.id == row.id
    assert (edited.trade_date, edited.ticker, edited.quantity, edited.price, edited.fees) == (
        date(2024, 3, 5),
        "MSFT",
        3.0,
        400.0,
        2.0,
    )
    assert edited.note == "moved"


def test_transactions_of_another_portfolio_are_not_found(app_context, portfolio_id):
    other = create_portfolio(app_context, "Other").id
    row = add_transaction(app_context, other, buy("2024-03-01", "10"))
    with pytest.raises(TransactionNotFound):
        update_transaction(app_context, portfolio_id, row.id, buy("2024-03-01", "1"))
    with pytest.raises(TransactionNotFound):
        delete_transaction(app_context, portfolio_id, row.id)
    with pytest.raises(PortfolioNotFound):
        add_transaction(app_context, 9999, buy("2024-03-01", "1"))
    assert len(list_transactions(app_context, other)) == 1


def test_ticker_status_reads_the_cache_and_check_tickers_asks_the_provider(
    app_context, portfolio_id
):
    assert ticker_status(app_context, "AAPL") == "unchecked"
    assert ticker_status(app_context, "ZZZZQ") == "unchecked"
    assert upstream_requests(app_context) == 0
    assert check_tickers(app_context, ["aapl", "ZZZZQ"]) == {"AAPL": "known", "ZZZZQ": "unknown"}
    assert upstream_requests(app_context) == 1
    assert ticker_status(app_context, "aapl") == "known"
    assert ticker_status(app_context, "ZZZZQ") == "unknown"
    assert upstream_requests(app_context) == 1


def upstream_requests(app_context) -> int:
    with app_context.db.session() as session:
        return session.scalar(select(func.count()).select_from(FetchLog))


def test_rename_keeps_the_version_and_delete_removes_the_transactions(app_context, portfolio_id):
    add_transaction(app_context, portfolio_id, buy("2024-03-01", "10"))
    renamed = rename_portfolio(app_context, portfolio_id, "  <script>alert(1)</script> ")
    assert (renamed.name, renamed.version, renamed.transaction_count) == (
        "<script>alert(1)</script>",
        2,
        1,
    )
    with pytest.raises(InvalidInput):
        rename_portfolio(app_context, portfolio_id, "   ")
    delete_portfolio(app_context, portfolio_id)
    assert list_portfolios(app_context) == []
    with app_context.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Transaction)) == 0
    with pytest.raises(PortfolioNotFound):
        delete_portfolio(app_context, portfolio_id)


def test_concurrent_sells_cannot_together_oversell(app_context, portfolio_id):
    add_transaction(app_context, portfolio_id, buy("2024-03-01", "10"))
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def sell_six() -> None:
        start.wait()
        try:
            add_transaction(app_context, portfolio_id, sell("2024-03-04", "6"))
            outcomes.append("sold")
        except LedgerError as error:
            outcomes.append(error.errors[0].message)

    threads = [threading.Thread(target=sell_six) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [
        "quantity: sell of 6 AAPL on 2024-03-04 exceeds the 4 shares held then",
        "sold",
    ]
    assert version(app_context, portfolio_id) == 3
