"""One comparison and one backtest as a page asks them (`answer`), and one import preview,
counted in SQL statements: the portfolio and its ledger are read once, the plan and the cache
key worked out once.

Before this count was pinned, one comparison that missed the cache ran 17 statements
(`held_tickers` five times, the portfolio three times, the coverage three times) and one
backtest 25 (it planned itself three times). The read models are warm in both cases: a "miss"
is a result not cached, whose prices are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from dashapp.services import backtests, comparison, comparison_requests
from dashapp.services.answers import Ready
from dashapp.services.backtest_requests import parse_backtest_request
from dashapp.services.context import AppContext
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.ledger_import import preview_import
from dashapp.services.portfolios import create_portfolio
from dashapp.services.transactions import TransactionDraft, add_transaction

# A coverage statement names "price_coverage", a ledger one "transactions", and so on.
TABLES = ("portfolios", "transactions", "quotes", "price_coverage", "price_bars")


@pytest.fixture
def demo(app_context) -> int:
    portfolio_id = seed_demo_portfolio(app_context)
    warm_demo_cache(app_context, portfolio_id)
    return portfolio_id


@contextmanager
def counted(ctx: AppContext) -> Iterator[list[str]]:
    """The SQL statements run against the app's database inside the block."""
    statements: list[str] = []

    def note(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(ctx.db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", note)


def by_table(statements: list[str]) -> dict[str, int]:
    """How many statements read each table (by the first table named after FROM)."""
    counts = dict.fromkeys(TABLES, 0)
    for statement in statements:
        source = statement.split("FROM", 1)[1].split()[0]
        counts[source] += 1
    return counts


def miss_and_hit(ctx: AppContext, service, request) -> tuple[list[str], list[str]]:
    first = service.answer(ctx, request)
    assert isinstance(first, Ready)
    ctx.cache.delete(service.cache_key(ctx, request))
    with counted(ctx) as miss:
        assert service.answer(ctx, request) == first
    with counted(ctx) as hit:
        assert service.answer(ctx, request) == first
    return miss, hit


def test_one_comparison_reads_the_ledger_once(app_context, demo):
    request = comparison_requests.parse_request(demo, "SPY,QQQ,VTI", "1Y")
    miss, hit = miss_and_hit(app_context, comparison, request)
    # The portfolio and its ledger; each ticker's price-data version, for the key and the
    # cached parts (the portfolio series' key took a coverage read of its own before: 5);
    # whether a fetch is due (coverage and provisional bars); freshness and the price matrix's
    # versions.
    assert by_table(miss) == {
        "portfolios": 1,
        "transactions": 1,
        "quotes": 0,
        "price_coverage": 4,
        "price_bars": 1,
    }
    assert len(miss) == 7
    # The portfolio, its ledger and the prices' version: the key of the cached answer.
    assert by_table(hit) == {
        "portfolios": 1,
        "transactions": 1,
        "quotes": 0,
        "price_coverage": 1,
        "price_bars": 0,
    }


def test_one_backtest_plans_itself_once(app_context, demo):
    request = parse_backtest_request(
        {"portfolio_id": demo, "strategy": "rebalance", "period": "1Y"}
    )
    miss, hit = miss_and_hit(app_context, backtests, request)
    # The plan: the portfolio and its ledger, then the basket's weights from the latest prices
    # (quotes, coverage, last closes); the key's prices version; whether a fetch is due
    # (coverage, provisional bars); the result: the price matrix's versions and provenance.
    assert by_table(miss) == {
        "portfolios": 1,
        "transactions": 1,
        "quotes": 1,
        "price_coverage": 6,
        "price_bars": 2,
    }
    assert len(miss) == 11
    # The plan and the key's prices version.
    assert by_table(hit) == {
        "portfolios": 1,
        "transactions": 1,
        "quotes": 1,
        "price_coverage": 2,
        "price_bars": 1,
    }


def test_an_import_preview_reads_the_portfolio_and_its_ledger_once(app_context):
    portfolio_id = create_portfolio(app_context, "Imported").id
    add_transaction(
        app_context, portfolio_id, TransactionDraft("2024-03-01", "BUY", "AAPL", "10", "100")
    )
    raw = (
        b"date,type,ticker,quantity,price\n2024-03-01,BUY,AAPL,10,100\n2024-03-04,SELL,AAPL,5,110\n"
    )
    with counted(app_context) as statements:
        preview = preview_import(app_context, portfolio_id, raw, "more.csv")
    assert preview.can_import and len(preview.warnings) == 1  # the first row repeats a stored one
    # Before: the portfolio three times and the ledger twice. The tickers' statuses read the
    # quotes and the coverage.
    assert by_table(statements) == {
        "portfolios": 1,
        "transactions": 1,
        "quotes": 1,
        "price_coverage": 1,
        "price_bars": 0,
    }
