"""The backtest service on the demo market: exact figures, cached by request and price version."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import select, update

from dashapp.analytics import backtest as engine
from dashapp.db.models import PriceBar, PriceCoverage, Transaction
from dashapp.services.answers import NeedsFetch, Ready
from dashapp.services.backtest_plans import my_contributions
from dashapp.services.backtest_requests import parse_backtest_request
from dashapp.services.backtests import (
    answer,
    cache_key,
    cached_backtest,
    run_backtest,
    warm_default_backtests,
)
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.portfolios import (
    InvalidInput,
    PortfolioNotFound,
    create_portfolio,
    load_ledger,
)

START, END = date(2024, 6, 3), date(2024, 11, 29)


@pytest.fixture
def prices(app_context):
    """Demo bars of a dividend-free stock, a payer and the benchmark, for 2023-2024."""
    app_context.store.fill(["AMZN", "AAPL", "SPY"], date(2023, 1, 3), date(2024, 12, 4))
    return app_context


def bars_of(ctx, ticker: str, start: date = START, end: date = END):
    frame = ctx.store.read_bars([ticker], start, end)
    return frame.set_index("date")


def custom(**fields) -> dict:
    return {"start": START.isoformat(), "end": END.isoformat(), **fields}


def add_rows(ctx, portfolio_id: int, rows: list[dict]) -> None:
    with ctx.db.session() as session:
        session.add_all(Transaction(portfolio_id=portfolio_id, **row) for row in rows)


def test_buy_and_hold_at_the_close_buys_whole_shares_and_holds(prices):
    request = parse_backtest_request(
        custom(ticker="AMZN", strategy="buy_and_hold", cash=10_000, fill="close")
    )
    result = run_backtest(prices, request, fetch=False)
    # The demo's AMZN closed at 183.61982887 on 2024-06-03 and at 215.63598119 on 2024-11-29.
    closes = bars_of(prices, "AMZN")["close"]
    assert [closes.iloc[0], closes.iloc[-1]] == pytest.approx([183.61982887, 215.63598119])
    # 10,000 / 183.61982887 = 54.46: 54 whole shares cost 54 x 183.61982887 = 9,915.47076 and
    # leave 84.52924 in cash; at the last close 84.52924 + 54 x 215.63598119 = 11,728.87223.
    series = result["series"]
    assert series["dates"][0] == "2024-06-03" and series["dates"][-1] == "2024-11-29"
    assert len(series["dates"]) == 126
    assert series["strategy"][0] == pytest.approx(10_000.0)
    assert series["strategy"][-1] == pytest.approx(11_728.87223, rel=1e-9)
    assert result["trades"][0]["ticker"] == "AMZN"
    assert result["trades"][0]["size"] == 54
    assert result["trades"][0]["entry_price"] == pytest.approx(183.61982887, rel=1e-10)
    strategy = result["metrics"]["strategy"]
    assert strategy["invested"] == 10_000
    # Total return 11,728.87223 / 10,000 - 1 = 0.172887222; 126 sessions make 125 daily
    # returns, so CAGR = 1.172887222^(252 / 125) - 1 = 0.37917892.
    assert strategy["total_return"] == pytest.approx(0.172887222, rel=1e-8)
    assert strategy["cagr"] == pytest.approx(0.37917892, rel=1e-7)
    # The same question with the same asset: the buy-and-hold line is the strategy itself.
    assert series["buy_and_hold"] == series["strategy"]
    assert len(series["benchmark"]) == len(series["dates"])
    assert series["drawdown"]["strategy"][0] == 0.0


def test_provenance_names_the_prices_used(prices):
    result = run_backtest(
        prices, parse_backtest_request(custom(ticker="AMZN", strategy="buy_and_hold")), fetch=False
    )
    amzn = result["provenance"]["AMZN"]
    assert (amzn["first_date"], amzn["last_date"]) == ("2024-06-03", "2024-11-29")
    assert amzn["source"] == "demo"
    assert amzn["state"] == "cached"
    assert amzn["fetched_at"] == "2024-12-04T22:00:00+00:00"
    assert set(result["provenance"]) == {"AMZN", "SPY"}
    assert result["warnings"] == [] and result["missing"] == []


def test_repeat_answers_from_cache_without_recomputing(prices, monkeypatch):
    calls = []
    real = engine.sma_crossover
    monkeypatch.setattr(engine, "sma_crossover", lambda *a, **k: calls.append(1) or real(*a, **k))
    request = parse_backtest_request(custom(ticker="AAPL", fast=5, slow=20))
    assert cached_backtest(prices, request) is None
    first = run_backtest(prices, request, fetch=False)
    assert cached_backtest(prices, request) == first
    assert run_backtest(prices, request, fetch=False) == first
    assert len(calls) == 1
    assert prices.counters.get("backtests_computed") == 1


def test_a_changed_bar_makes_a_new_key_and_a_new_answer(prices):
    request = parse_backtest_request(custom(ticker="AMZN", strategy="buy_and_hold", fill="close"))
    before_key = cache_key(prices, request)
    before = run_backtest(prices, request, fetch=False)
    with prices.db.session() as session:
        bar = session.scalar(
            select(PriceBar).where(PriceBar.ticker == "AMZN", PriceBar.date == END)
        )
        bar.close, bar.high = bar.close * 1.1, max(bar.high, bar.close * 1.1)
        session.execute(
            update(PriceCoverage)
            .where(PriceCoverage.ticker == "AMZN")
            .values(data_version=PriceCoverage.data_version + 1)
        )
    assert cache_key(prices, request) != before_key
    assert cached_backtest(prices, request) is None
    after = run_backtest(prices, request, fetch=False)
    assert after["series"]["strategy"][-1] > before["series"]["strategy"][-1]
    assert prices.counters.get("backtests_computed") == 2


def test_a_new_session_fetched_after_the_close_invalidates_the_period(prices):
    request = parse_backtest_request({"ticker": "AAPL", "strategy": "buy_and_hold", "period": "1Y"})
    first = run_backtest(prices, request, fetch=False)
    assert first["end"] == "2024-12-04"
    prices.clock.advance(timedelta(days=1))  # 2024-12-05 evening: a new bar is due
    assert isinstance(answer(prices, request), NeedsFetch)
    assert cached_backtest(prices, request) is None
    second = run_backtest(prices, request, fetch=True)
    assert second["end"] == "2024-12-05"
    assert prices.counters.get("backtests_computed") == 2


def test_concurrent_identical_requests_compute_once(prices):
    request = parse_backtest_request(custom(ticker="AAPL", fast=10, slow=40))
    threads = [
        threading.Thread(target=run_backtest, args=(prices, request), kwargs={"fetch": False})
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert prices.counters.get("backtests_computed") == 1


def test_without_fetch_missing_prices_are_named_not_raised(app_context):
    request = parse_backtest_request(custom(ticker="NEWCO", benchmark="SPY"))
    assert isinstance(answer(app_context, request), NeedsFetch)
    result = run_backtest(app_context, request, fetch=False)
    assert result["series"] is None
    assert result["missing"] == ["NEWCO", "SPY"]
    assert result["provenance"]["NEWCO"]["state"] == "missing"
    assert result["warnings"][0].startswith("NEWCO: no prices stored for 2024-06-03 to 2024-11-29")
    # Nothing incomplete is cached, and nothing was fetched.
    assert cached_backtest(app_context, request) is None
    assert app_context.store.coverage(["NEWCO", "SPY"]) == {}


def test_with_fetch_the_gaps_are_filled_first(app_context):
    request = parse_backtest_request(custom(ticker="MSFT", strategy="buy_and_hold"))
    seen = []
    result = run_backtest(app_context, request, fetch=True, progress=lambda p, s: seen.append(p))
    assert result["missing"] == [] and result["series"] is not None
    assert answer(app_context, request) == Ready(result)
    assert seen == sorted(seen) and seen[0] == 5 and seen[-1] == 90


def test_one_deposit_of_my_contributions_equals_a_lump_sum(prices):
    portfolio = create_portfolio(prices, "Saver")
    add_rows(
        prices,
        portfolio.id,
        [
            {"trade_date": START, "kind": "DEPOSIT", "quantity": 1, "price": 10_000.0},
            {"trade_date": START, "kind": "BUY", "ticker": "AAPL", "quantity": 5, "price": 190.0},
        ],
    )
    mine = run_backtest(
        prices,
        parse_backtest_request(
            custom(
                ticker="AMZN",
                strategy="buy_and_hold",
                contributions="mine",
                portfolio_id=portfolio.id,
            )
        ),
        fetch=False,
    )
    lump = run_backtest(
        prices,
        parse_backtest_request(custom(ticker="AMZN", strategy="buy_and_hold", cash=10_000)),
        fetch=False,
    )
    assert mine["series"]["strategy"] == pytest.approx(lump["series"]["strategy"])
    assert mine["series"]["benchmark"] == pytest.approx(lump["series"]["benchmark"])
    assert mine["metrics"]["strategy"]["invested"] == 10_000
    assert mine["trades"] == lump["trades"]


def test_a_ledger_without_cash_contributes_what_its_trades_cost(prices):
    portfolio = create_portfolio(prices, "Trader")
    add_rows(
        prices,
        portfolio.id,
        [
            {
                "trade_date": date(2024, 1, 8),
                "kind": "BUY",
                "ticker": "AAPL",
                "quantity": 10,
                "price": 180.0,
                "fees": 1.0,
            },
            {
                "trade_date": date(2024, 8, 1),
                "kind": "BUY",
                "ticker": "AAPL",
                "quantity": 5,
                "price": 200.0,
                "fees": 1.0,
            },
        ],
    )
    flows = my_contributions(prices, load_ledger(prices, portfolio.id), START, END)
    # The January buy was in before the period starts: it counts on its first session.
    assert flows.to_dict() == {
        pd.Timestamp("2024-06-03"): 1_801.0,
        pd.Timestamp("2024-08-01"): 1_001.0,
    }
    result = run_backtest(
        prices,
        parse_backtest_request(
            custom(
                ticker="AMZN",
                strategy="buy_and_hold",
                contributions="mine",
                portfolio_id=portfolio.id,
            )
        ),
        fetch=False,
    )
    assert result["metrics"]["strategy"]["invested"] == pytest.approx(2_802.0)


def test_a_sweep_cell_equals_the_single_run(prices):
    sweep = run_backtest(
        prices,
        parse_backtest_request(
            custom(
                ticker="AAPL",
                fast=5,
                slow=20,
                sweep=True,
                metric="total_return",
                fast_windows=[3, 8],
                slow_windows=[10, 20],
            )
        ),
        fetch=False,
    )["sweep"]
    assert sweep["fast"] == [3, 4, 5, 6, 7, 8] and sweep["slow"] == list(range(10, 21))
    single = run_backtest(
        prices, parse_backtest_request(custom(ticker="AAPL", fast=6, slow=15)), fetch=False
    )
    cell = sweep["values"][sweep["fast"].index(6)][sweep["slow"].index(15)]
    assert cell == pytest.approx(single["metrics"]["strategy"]["total_return"], abs=1e-9)
    best = sweep["best"]
    assert best["value"] == max(v for row in sweep["values"] for v in row if v is not None)


def test_a_sweep_draws_its_best_pair_even_when_the_typed_windows_do_not_fit(prices):
    # 50/200 (the single-run defaults) cannot run on a short period; the sweep still can.
    result = run_backtest(
        prices,
        parse_backtest_request(
            custom(ticker="AAPL", sweep=True, fast_windows=[3, 8], slow_windows=[10, 20])
        ),
        fetch=False,
    )
    best = result["sweep"]["best"]
    assert result["windows"] == {"fast": best["fast"], "slow": best["slow"]}
    assert result["metrics"]["strategy"]["total_return"] == pytest.approx(best["value"], abs=1e-9)


def test_the_portfolio_basket_is_weighted_by_market_value(app_context):
    portfolio_id = seed_demo_portfolio(app_context)
    warm_demo_cache(app_context, portfolio_id)
    result = run_backtest(
        app_context,
        parse_backtest_request(
            {
                "portfolio_id": portfolio_id,
                "strategy": "rebalance",
                "frequency": "quarterly",
                "period": "1Y",
            }
        ),
        fetch=False,
    )
    weights = result["subject"]["weights"]
    assert result["subject"]["name"] == "Demo portfolio"
    assert len(weights) == 12 and sum(weights.values()) == pytest.approx(1.0)
    assert result["metrics"]["strategy"]["invested"] == 100_000
    assert {trade["ticker"] for trade in result["trades"]} == set(weights)


def test_warming_caches_the_default_backtests(prices):
    assert warm_default_backtests(prices, ["AAPL", "amzn", "NEWCO"]) == 4
    for ticker in ("AAPL", "AMZN"):
        for strategy in ("buy_and_hold", "sma_crossover"):
            request = parse_backtest_request({"ticker": ticker, "strategy": strategy})
            assert cached_backtest(prices, request) is not None
    assert cached_backtest(prices, parse_backtest_request({"ticker": "NEWCO"})) is None


def test_unknown_portfolio_is_not_found(app_context):
    with pytest.raises(PortfolioNotFound):
        run_backtest(
            app_context,
            parse_backtest_request({"portfolio_id": 999, "strategy": "buy_and_hold"}),
            fetch=False,
        )


def test_a_portfolio_without_priced_holdings_names_the_field(app_context):
    portfolio = create_portfolio(app_context, "Empty")
    with pytest.raises(InvalidInput) as raised:
        run_backtest(
            app_context,
            parse_backtest_request({"portfolio_id": portfolio.id, "strategy": "buy_and_hold"}),
            fetch=False,
        )
    assert raised.value.field == "portfolio_id"
    with pytest.raises(InvalidInput) as raised:
        run_backtest(
            app_context,
            parse_backtest_request(
                {"ticker": "SPY", "contributions": "mine", "portfolio_id": portfolio.id}
            ),
            fetch=False,
        )
    assert raised.value.field == "contributions"


BAD_REQUESTS = [
    ({}, "ticker"),
    ({"ticker": "S P Y"}, "ticker"),
    ({"ticker": 5}, "ticker"),
    ({"portfolio_id": "abc"}, "portfolio_id"),
    ({"portfolio_id": True}, "portfolio_id"),
    ({"ticker": "SPY", "strategy": "magic"}, "strategy"),
    ({"ticker": "SPY", "strategy": "rebalance"}, "strategy"),
    ({"portfolio_id": 1, "strategy": "sma_crossover"}, "strategy"),
    ({"ticker": "SPY", "fast": 200, "slow": 50}, "fast"),
    ({"ticker": "SPY", "fast": 1}, "fast"),
    ({"ticker": "SPY", "slow": 2.5}, "slow"),
    (
        {"portfolio_id": 1, "strategy": "rebalance", "frequency": "weekly"},
        "frequency",
    ),
    ({"ticker": "SPY", "strategy": "dca", "amount": 0}, "amount"),
    ({"ticker": "SPY", "period": "2W"}, "period"),
    ({"ticker": "SPY", "period": "CUSTOM"}, "start"),
    ({"ticker": "SPY", "start": "2024-13-01"}, "start"),
    ({"ticker": "SPY", "start": "2024-06-01", "end": "2024-01-01"}, "start"),
    ({"ticker": "SPY", "end": "soon"}, "end"),
    ({"ticker": "SPY", "cash": -5}, "cash"),
    ({"ticker": "SPY", "cash": "lots"}, "cash"),
    ({"ticker": "SPY", "cash": float("nan")}, "cash"),
    ({"ticker": "SPY", "commission": 0.5}, "commission"),
    ({"ticker": "SPY", "fixed_fee": -1}, "fixed_fee"),
    ({"ticker": "SPY", "fill": "vwap"}, "fill"),
    ({"ticker": "SPY", "whole_shares": "yes"}, "whole_shares"),
    ({"ticker": "SPY", "contributions": "theirs"}, "contributions"),
    ({"ticker": "SPY", "contributions": "mine"}, "contributions"),
    ({"ticker": "SPY", "benchmark": "<b>"}, "benchmark"),
    ({"ticker": "SPY", "sweep": "yes"}, "sweep"),
    ({"ticker": "SPY", "strategy": "buy_and_hold", "sweep": True}, "sweep"),
    ({"ticker": "SPY", "sweep": True, "contributions": "mine", "portfolio_id": 1}, "sweep"),
    ({"ticker": "SPY", "sweep": True, "metric": "luck"}, "metric"),
    ({"ticker": "SPY", "sweep": True, "fast_windows": [50, 10]}, "fast_windows"),
    (
        {"ticker": "SPY", "sweep": True, "fast_windows": [90, 100], "slow_windows": [2, 50]},
        "fast_windows",
    ),
    (
        {"ticker": "SPY", "sweep": True, "fast_windows": [2, 999], "slow_windows": [2, 999]},
        "slow_windows",
    ),
    ({"ticker": "SPY", "slow_windows": "2..100"}, "slow_windows"),
    ({"ticker": "SPY", "colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("raw", "field"), BAD_REQUESTS)
def test_every_bad_field_is_named(raw, field):
    with pytest.raises(InvalidInput) as raised:
        parse_backtest_request(raw)
    assert raised.value.field == field


def test_defaults_and_normalisation():
    request = parse_backtest_request({"ticker": " aapl ", "benchmark": "qqq", "fill": "Close"})
    assert (request.ticker, request.benchmark, request.fill) == ("AAPL", "QQQ", "close")
    assert (request.strategy, request.fast, request.slow, request.period) == (
        "sma_crossover",
        50,
        200,
        "5Y",
    )
    assert parse_backtest_request({"ticker": "SPY", "start": "2024-01-02"}).period == "CUSTOM"


def test_a_basket_held_is_the_sum_of_its_parts_held(prices):
    portfolio = create_portfolio(prices, "Two stocks")
    add_rows(
        prices,
        portfolio.id,
        [
            {"trade_date": START, "kind": "BUY", "ticker": "AMZN", "quantity": 30, "price": 1.0},
            {"trade_date": START, "kind": "BUY", "ticker": "AAPL", "quantity": 20, "price": 1.0},
        ],
    )
    basket = run_backtest(
        prices,
        parse_backtest_request(custom(portfolio_id=portfolio.id, strategy="buy_and_hold")),
        fetch=False,
    )
    # Weighted by market value at the last stored closes (2024-12-04), AMZN 216.11194581 and
    # AAPL 221.56089666: 30 x 216.11194581 = 6,483.35837 and 20 x 221.56089666 = 4,431.21793,
    # of 10,914.57631 in all: AAPL 4,431.21793 / 10,914.57631 = 0.40599083, AMZN 0.59400917.
    weights = basket["subject"]["weights"]
    assert weights == pytest.approx({"AAPL": 0.40599083, "AMZN": 0.59400917}, abs=1e-8)
    parts = [
        run_backtest(
            prices,
            parse_backtest_request(
                custom(ticker=ticker, strategy="buy_and_hold", cash=100_000 * weights[ticker])
            ),
            fetch=False,
        )["series"]["strategy"]
        for ticker in ("AAPL", "AMZN")
    ]
    expected = [a + b for a, b in zip(*parts, strict=True)]
    assert basket["series"]["strategy"] == pytest.approx(expected, rel=1e-9)
    assert basket["metrics"]["strategy"]["trades"] == 2
    assert basket["metrics"]["strategy"]["final_equity"] == pytest.approx(expected[-1])


def test_dollar_cost_averaging_is_set_against_the_same_money_at_once(prices):
    result = run_backtest(
        prices,
        parse_backtest_request(custom(ticker="AMZN", strategy="dca", amount=1_000)),
        fetch=False,
    )
    # June to November 2024: six first sessions of a month, six purchases.
    assert result["metrics"]["strategy"]["invested"] == 6_000
    assert result["metrics"]["strategy"]["trades"] == 6
    assert result["metrics"]["buy_and_hold"]["invested"] == 6_000
    assert result["metrics"]["buy_and_hold"]["trades"] == 1
    assert result["metrics"]["benchmark"]["invested"] == 6_000
    assert [t["entry_time"] for t in result["trades"]] == [
        "2024-06-03",
        "2024-07-01",
        "2024-08-01",
        "2024-09-03",
        "2024-10-01",
        "2024-11-01",
    ]


def test_a_holding_without_a_price_is_left_out_of_the_basket_and_said_so(prices):
    portfolio = create_portfolio(prices, "Half priced")
    add_rows(
        prices,
        portfolio.id,
        [
            {"trade_date": START, "kind": "BUY", "ticker": "AMZN", "quantity": 3, "price": 1.0},
            {"trade_date": START, "kind": "BUY", "ticker": "NEWCO", "quantity": 9, "price": 1.0},
        ],
    )
    result = run_backtest(
        prices,
        parse_backtest_request(custom(portfolio_id=portfolio.id, strategy="rebalance")),
        fetch=False,
    )
    assert result["subject"]["weights"] == {"AMZN": 1.0}
    assert result["warnings"] == ["NEWCO: no current price, so it is left out of the basket"]
    assert result["series"] is not None
