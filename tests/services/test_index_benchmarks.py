"""One ticker rule everywhere: what the ledger accepts, the comparison and the backtest accept,
and an index (`^GSPC`) is a benchmark with prices only, said so in the provenance."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest

from dashapp.rules import price_only_warning
from dashapp.services.backtest_requests import parse_backtest_request
from dashapp.services.backtests import run_backtest
from dashapp.services.comparison import compare
from dashapp.services.comparison_requests import parse_request
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.portfolios import InvalidInput
from dashapp.services.transactions import LedgerError, TransactionDraft, clean_drafts
from tests.indices import store_index

START, END = date(2024, 6, 3), date(2024, 11, 29)


@pytest.fixture
def demo(app_context) -> int:
    portfolio_id = seed_demo_portfolio(app_context)
    warm_demo_cache(app_context, portfolio_id)
    return portfolio_id


def test_an_index_is_a_comparison_benchmark_with_prices_only(app_context, demo):
    closes = store_index(app_context, "^GSPC", "SPY", date(2023, 11, 1), date(2024, 12, 4))
    result = compare(app_context, parse_request(demo, "^gspc,SPY", "1Y"), fetch=False)
    assert list(result["series"]["benchmarks"]) == ["^GSPC", "SPY"]
    assert result["provenance"]["^GSPC"]["price_only"] is True
    assert result["provenance"]["SPY"]["price_only"] is False
    assert price_only_warning("^GSPC") in result["warnings"]
    assert result["breakdown"]["^GSPC"]["dividends"] == 0.0
    # Its growth is the price return of the closes stored for it, first session to last.
    close = closes.set_index("date")["close"]
    expected = 10_000 * close[result["end"]] / close[result["start"]]
    assert result["series"]["benchmarks"]["^GSPC"]["growth"][-1] == pytest.approx(expected)


def test_an_index_is_a_backtest_benchmark_with_prices_only(app_context):
    app_context.store.fill(["AMZN"], START - timedelta(days=7), date(2024, 12, 4))
    stored = store_index(app_context, "^GSPC", "SPY", START, date(2024, 12, 4))
    closes = stored.set_index("date")["close"].loc[: pd.Timestamp(END)]
    request = parse_backtest_request(
        {
            "ticker": "AMZN",
            "strategy": "buy_and_hold",
            "start": START.isoformat(),
            "end": END.isoformat(),
            "cash": 10_000,
            "fill": "close",
            "benchmark": "^gspc",
        }
    )
    result = run_backtest(app_context, request, fetch=False)
    # Whole shares at the first close, held: no dividend ever comes in.
    shares = math.floor(10_000 / closes.iloc[0])
    left = 10_000 - shares * closes.iloc[0]
    assert result["series"]["benchmark"][-1] == pytest.approx(left + shares * closes.iloc[-1])
    assert result["provenance"]["^GSPC"]["price_only"] is True
    assert result["provenance"]["AMZN"]["price_only"] is False
    assert result["warnings"] == [price_only_warning("^GSPC")]


@pytest.mark.parametrize(
    "symbol", ["^GSPC", "^N225", "EURUSD=X", "ES=F", "BRK-B", "BRK.B", "7203.T"]
)
def test_a_ticker_the_ledger_accepts_compare_and_backtest_accept(app_context, symbol):
    draft = TransactionDraft("2024-06-03", "BUY", symbol.lower(), "1", "10")
    [(_, clean)] = clean_drafts(app_context, [(None, draft)], "USD")
    assert clean.ticker == symbol
    assert parse_request(1, symbol.lower(), "1Y").benchmarks == (symbol,)
    backtest = parse_backtest_request({"ticker": symbol.lower(), "benchmark": symbol.lower()})
    assert (backtest.ticker, backtest.benchmark) == (symbol, symbol)


@pytest.mark.parametrize("symbol", ["S P Y", "<B>", "SPY!", "ABCDEFGHIJKLMNOP"])
def test_a_ticker_the_ledger_refuses_compare_and_backtest_refuse(app_context, symbol):
    draft = TransactionDraft("2024-06-03", "BUY", symbol, "1", "10")
    with pytest.raises(LedgerError):
        clean_drafts(app_context, [(None, draft)], "USD")
    with pytest.raises(InvalidInput):
        parse_request(1, symbol, "1Y")
    with pytest.raises(InvalidInput):
        parse_backtest_request({"ticker": symbol})
