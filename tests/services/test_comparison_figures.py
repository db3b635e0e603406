"""The comparison service's figures pinned to numbers worked out by hand (issue 16 step 7).

A portfolio buys 10 AMZN at the close of 2024-06-03 and holds them; it is compared with AMZN
itself (the demo's AMZN pays no dividends) and with SPY from 2024-06-03 to 2024-11-29. The demo
market's AMZN closed at 183.61982887 on the first session and at 215.63598119 on the last, 126
sessions later; every expected number below follows from those two closes.
"""

from __future__ import annotations

from datetime import date

import pytest

from dashapp.db.models import Transaction
from dashapp.services.comparison import compare
from dashapp.services.comparison_requests import parse_request
from dashapp.services.portfolios import create_portfolio

FIRST_CLOSE, LAST_CLOSE = 183.61982887, 215.63598119
METRIC_KEYS = {
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "xirr",
}
RELATIVE_KEYS = {"beta", "alpha", "correlation", "tracking_error", "information_ratio"}


@pytest.fixture
def mirror(app_context) -> dict:
    """The comparison of the 10-AMZN portfolio with AMZN and SPY."""
    app_context.store.fill(["AMZN", "SPY"], date(2024, 5, 1), date(2024, 12, 4))
    bars = app_context.store.read_bars(["AMZN"], date(2024, 6, 3), date(2024, 11, 29))
    closes = bars["close"].tolist()
    assert [closes[0], closes[-1]] == pytest.approx([FIRST_CLOSE, LAST_CLOSE], rel=1e-10)
    portfolio = create_portfolio(app_context, "Mirror")
    with app_context.db.session() as session:
        session.add(
            Transaction(
                portfolio_id=portfolio.id,
                trade_date=date(2024, 6, 3),
                kind="BUY",
                ticker="AMZN",
                quantity=10,
                price=closes[0],
                fees=0.0,
            )
        )
    request = parse_request(portfolio.id, "AMZN,SPY", None, "2024-06-03", "2024-11-29")
    return compare(app_context, request)


def test_a_held_stock_returns_what_its_closes_say(mirror):
    dates = mirror["series"]["dates"]
    assert (dates[0], dates[-1], len(dates)) == ("2024-06-03", "2024-11-29", 126)
    # Value: 10 x 183.61982887 = 1,836.1982887 on the first close, 10 x 215.63598119 =
    # 2,156.3598119 on the last; the gain is 2,156.3598119 - 1,836.1982887 = 320.1615232.
    value = mirror["series"]["portfolio"]["value"]
    assert [value[0], value[-1]] == pytest.approx([1_836.1982887, 2_156.3598119], rel=1e-9)
    assert mirror["breakdown"]["portfolio"]["total_gain"] == pytest.approx(320.1615232, rel=1e-8)
    mine = mirror["metrics"]["portfolio"]
    # Total return 215.63598119 / 183.61982887 - 1 = 0.17436108.
    assert mine["total_return"] == pytest.approx(0.17436108, rel=1e-7)
    # The money went in at the first close, so the returns start on the second session, as a
    # benchmark's do: 125 returns, and CAGR = 1.17436108^(252 / 125) - 1 = 0.38267506.
    assert mine["cagr"] == pytest.approx(0.38267506, rel=1e-7)
    # XIRR: 2024-06-03 to 2024-11-29 is 179 days: 1.17436108^(365 / 179) - 1 = 0.38781947.
    assert mine["xirr"] == pytest.approx(0.38781947, rel=1e-7)


def test_the_stock_as_benchmark_has_the_same_money_and_beta_one(mirror):
    amzn = mirror["metrics"]["AMZN"]
    # The shadow buys AMZN with the same 1,836.1982887 at the same close: same end, same gain.
    assert mirror["series"]["benchmarks"]["AMZN"]["shadow_value"][-1] == pytest.approx(
        2_156.3598119, rel=1e-9
    )
    assert mirror["breakdown"]["AMZN"]["total_gain"] == pytest.approx(320.1615232, rel=1e-8)
    assert amzn["total_return"] == pytest.approx(0.17436108, rel=1e-7)
    assert amzn["xirr"] == pytest.approx(0.38781947, rel=1e-7)
    # Its returns start on the second session too: the same 125 returns, the same CAGR.
    assert amzn["cagr"] == pytest.approx(0.38267506, rel=1e-7)
    assert amzn["cagr"] == pytest.approx(mirror["metrics"]["portfolio"]["cagr"], rel=1e-12)
    for name in ("total_return", "volatility", "sharpe", "sortino", "max_drawdown", "calmar"):
        assert amzn[name] == pytest.approx(mirror["metrics"]["portfolio"][name], rel=1e-9), name
    # Against itself: beta 1, alpha (1 + mean(r - 1 x b))^252 - 1 = 0, correlation 1,
    # tracking error 0, and an information ratio of 0 / 0: none.
    assert amzn["beta"] == pytest.approx(1.0, rel=1e-9)
    assert amzn["alpha"] == pytest.approx(0.0, abs=1e-9)
    assert amzn["correlation"] == pytest.approx(1.0, rel=1e-9)
    assert amzn["tracking_error"] == 0.0
    assert amzn["information_ratio"] is None
    # The same wealth path has the same worst fall.
    assert amzn["max_drawdown"] == pytest.approx(mirror["metrics"]["portfolio"]["max_drawdown"])


def test_every_documented_metric_is_a_number(mirror):
    assert set(mirror["metrics"]) == {"portfolio", "AMZN", "SPY"}
    assert set(mirror["metrics"]["portfolio"]) == METRIC_KEYS
    spy = mirror["metrics"]["SPY"]
    assert set(spy) == METRIC_KEYS | RELATIVE_KEYS
    assert all(isinstance(value, float) for value in spy.values()), spy
    assert all(isinstance(value, float) for value in mirror["metrics"]["portfolio"].values())
    # SPY pays dividends: its shadow earns some, the portfolio none.
    assert mirror["breakdown"]["SPY"]["dividends"] > 0
    assert mirror["breakdown"]["portfolio"]["dividends"] == 0.0
