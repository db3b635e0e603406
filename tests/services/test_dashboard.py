"""The dashboard's read model: cached snapshots that follow every change, allocation, movers and
the per-portfolio benchmark choice."""

from __future__ import annotations

import math
import uuid
from types import SimpleNamespace

import pandas as pd
import pytest
import redis
from flask_caching.backends import RedisCache
from sqlalchemy import update

from dashapp.db.models import Quote, Transaction
from dashapp.services import dashboard, read_models
from dashapp.services.dashboard import allocation, dashboard_snapshot, movers
from dashapp.services.dashboard_benchmarks import choose_benchmarks, chosen_benchmarks
from dashapp.services.dashboard_panels import benchmark_panel, cached_benchmark_panel
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.portfolios import InvalidInput, bump_version
from tests.conftest import TEST_REDIS_URL, make_settings


@pytest.fixture
def demo(app_context) -> int:
    portfolio_id = seed_demo_portfolio(app_context)
    warm_demo_cache(app_context, portfolio_id)
    return portfolio_id


def holdings_of(snapshot) -> pd.DataFrame:
    return snapshot.holdings.holdings.set_index("ticker")


def test_a_repeat_view_is_read_from_the_cache(app_context, demo, monkeypatch):
    first = dashboard_snapshot(app_context, demo)
    monkeypatch.setattr(
        dashboard, "holdings_view", lambda *args: pytest.fail("computed again on a warm cache")
    )
    again = dashboard_snapshot(app_context, demo)
    assert holdings_of(again)["market_value"].equals(holdings_of(first)["market_value"])


def test_a_new_quote_is_shown_at_once(app_context, demo):
    before = holdings_of(dashboard_snapshot(app_context, demo)).loc["KO"]
    with app_context.db.session() as session:
        session.execute(update(Quote).where(Quote.ticker == "KO").values(price=99.5))
    after = holdings_of(dashboard_snapshot(app_context, demo)).loc["KO"]
    assert before["price"] != 99.5
    assert after["price"] == 99.5
    assert after["market_value"] == after["quantity"] * 99.5


def test_a_ledger_change_is_shown_at_once(app_context, demo):
    dashboard_snapshot(app_context, demo)
    with app_context.db.session() as session:
        bump_version(session, demo)
        session.add(
            Transaction(
                portfolio_id=demo,
                trade_date=app_context.clock.now().date(),
                kind="BUY",
                ticker="NEWCO",
                quantity=3,
                price=10.0,
            )
        )
    snapshot = dashboard_snapshot(app_context, demo)
    assert "NEWCO" in set(snapshot.holdings.holdings["ticker"])
    assert snapshot.allocation.unpriced == ("NEWCO",)
    assert snapshot.prices_missing and snapshot.needs_refresh


def holdings_frame(values: dict[str, float | None], pct: dict[str, float] | None = None):
    tickers = list(values)
    return pd.DataFrame(
        {
            "ticker": tickers,
            "market_value": [values[t] for t in tickers],
            "day_change_pct": [(pct or {}).get(t, math.nan) for t in tickers],
            "day_change": [(pct or {}).get(t, math.nan) * 100 for t in tickers],
            "price": [10.0] * len(tickers),
        }
    )


def test_allocation_weights_priced_holdings_and_folds_the_tail_into_other():
    values = {f"T{index:02d}": float(100 - index) for index in range(12)} | {"NOPRICE": None}
    currencies = pd.Series({"T00": "EUR"})
    result = allocation(holdings_frame(values), currencies)
    total = sum(100 - index for index in range(12))
    assert [part.label for part in result.by_holding][:2] == ["T00", "T01"]
    assert result.by_holding[-1].label == "Other"
    assert result.by_holding[-1].value == 89.0 + 90.0  # T10 and T11
    assert sum(part.weight for part in result.by_holding) == pytest.approx(1.0)
    by_currency = {part.label: part.value for part in result.by_currency}
    assert by_currency == {"EUR": 100.0, "unknown": total - 100.0}
    assert result.unpriced == ("NOPRICE",)
    assert result.unknown == ("exchange", "asset type")


def test_movers_are_the_largest_rises_then_the_largest_falls():
    pct = {"A": 0.03, "B": -0.05, "C": 0.0, "D": 0.01, "E": -0.01}
    frame = holdings_frame(dict.fromkeys(pct, 1.0), pct)
    assert [(m.ticker, m.day_change_pct) for m in movers(frame)] == [
        ("A", 0.03),
        ("D", 0.01),
        ("E", -0.01),
        ("B", -0.05),
    ]


def test_benchmark_choice_is_kept_per_portfolio_and_a_bad_one_changes_nothing(app_context, demo):
    assert chosen_benchmarks(app_context, demo) == ("SPY",)
    assert choose_benchmarks(app_context, demo, [" qqq", "VTI", "QQQ"]) == ("QQQ", "VTI")
    assert chosen_benchmarks(app_context, demo) == ("QQQ", "VTI")
    with pytest.raises(InvalidInput, match="not a ticker symbol"):
        choose_benchmarks(app_context, demo, ["SPY", "<b>x</b>"])
    with pytest.raises(InvalidInput, match="at least one"):
        choose_benchmarks(app_context, demo, [])
    assert chosen_benchmarks(app_context, demo) == ("QQQ", "VTI")


def test_benchmark_panel_is_cached_by_prices_and_follows_new_ones(app_context, demo):
    assert cached_benchmark_panel(app_context, demo, ("SPY",), "1Y") is None
    panel = benchmark_panel(app_context, demo, ("SPY",), "1Y")
    assert panel.drawable and set(panel.shadows) == {"SPY"}
    assert panel.dates[-1] == "2024-12-04"
    assert cached_benchmark_panel(app_context, demo, ("SPY",), "1Y") == panel
    # Another period is another question.
    assert cached_benchmark_panel(app_context, demo, ("SPY",), "3M") is None
    # New prices of a ticker involved make the cached panel outdated.
    app_context.store.evict("SPY")
    assert cached_benchmark_panel(app_context, demo, ("SPY",), "1Y") is None


@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set")
def test_read_models_live_in_redis_when_redis_is_configured(tmp_path):
    settings = make_settings(tmp_path, "sqlite://", redis_url=TEST_REDIS_URL)
    context = SimpleNamespace(settings=settings)
    key = f"test:{uuid.uuid4().hex}"
    assert isinstance(read_models.read_model_cache(settings), RedisCache)
    assert read_models.cached(context, key, lambda: {"value": 1}) == {"value": 1}
    # Another process (here: a fresh client) reads what this one stored.
    client = redis.Redis.from_url(TEST_REDIS_URL)
    assert client.exists(read_models.KEY_PREFIX + key)
    assert read_models.cached(context, key, lambda: pytest.fail("computed again")) == {"value": 1}
    client.delete(read_models.KEY_PREFIX + key)
