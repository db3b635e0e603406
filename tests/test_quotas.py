"""Per-user quotas (dashapp/quotas.py): a user may start as many as the quota and the next is
told when to try again; users, admins included, have quotas of their own; the processes of a
host count together; Redis storage when TEST_REDIS_URL is set. Then as a client meets them: the
API's 429 with Retry-After, and a page's message with nothing started."""

from __future__ import annotations

import base64
import logging
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from limits.storage import RedisStorage
from sqlalchemy import func, select

from dashapp import context_of, create_app
from dashapp.db.models import FetchLog
from dashapp.quotas import OverQuota, Quotas, install_quotas
from dashapp.services.ledger_fields import TransactionDraft
from dashapp.services.ownership import ANONYMOUS, Actor, acting_as
from dashapp.services.portfolios import create_portfolio
from dashapp.services.transactions import add_transaction
from dashapp.settings import Settings
from dashapp.ui.cache import ids as cache_ids
from dashapp.ui.dashboard import ids as dashboard_ids
from tests.api.test_transactions_api import upload
from tests.conftest import TEST_REDIS_URL, make_settings
from tests.dash_client import DashClient
from tests.ui.test_backtest_page import ask
from tests.ui.test_cache_roles import message, run_in_background

LIMITS = {"warm": "3/minute", "sweep": "2 per 10 minutes"}
REFUSAL = re.compile(
    r"You have started (\d+) (.+) in the last (.+); try again in (\d+) s"
    r" \(at (\d\d:\d\d:\d\d) UTC\)\."
)
STORAGES = ["host", "redis"]


@pytest.fixture(params=STORAGES)
def quota_settings(request: pytest.FixtureRequest, tmp_path) -> Settings:
    redis_url = None
    if request.param == "redis":
        if not TEST_REDIS_URL:
            pytest.skip("TEST_REDIS_URL is not set")
        redis_url = TEST_REDIS_URL
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}", redis_url=redis_url)


@pytest.fixture
def quotas(quota_settings: Settings) -> Iterator[Quotas]:
    quotas = install_quotas(Flask("quota-test"), quota_settings, LIMITS)
    yield quotas
    storage = quotas.limiter.storage
    if isinstance(storage, RedisStorage):
        storage.storage.close()


@pytest.fixture
def users() -> tuple[int, int, int]:
    """Three user ids no other test (or other test run on the same Redis) uses."""
    base = uuid.uuid4().int % 10**12 + 10
    return base, base + 1, base + 2


def refusal(quotas: Quotas, kind: str) -> OverQuota:
    with pytest.raises(OverQuota) as refused:
        quotas.charge(kind)
    return refused.value


def test_a_user_may_start_the_quota_and_the_next_is_told_when_to_try_again(quotas, users):
    with acting_as(Actor(users[0])):
        first = time.time()
        for _ in range(3):
            quotas.charge("warm")
        refused = refusal(quotas, "warm")
    assert refused.status == 429
    count, noun, window, wait, at = REFUSAL.fullmatch(refused.message).groups()
    assert (count, noun, window) == ("3", "warms", "minute")
    # The oldest of the three leaves the window a minute after it started.
    assert int(wait) == refused.retry_after
    assert first + 60 - 2 <= time.time() + refused.retry_after <= first + 61
    told = datetime.strptime(at, "%H:%M:%S").time()
    expected = datetime.fromtimestamp(first + 60, UTC)
    assert abs(datetime.combine(expected.date(), told, UTC) - expected) < timedelta(seconds=2)


def test_each_user_has_a_quota_of_their_own_and_an_admin_the_same(quotas, users):
    alice, bob, admin = users
    with acting_as(Actor(alice)):
        for _ in range(3):
            quotas.charge("warm")
    with acting_as(Actor(bob)):
        for _ in range(3):
            quotas.charge("warm")
        refusal(quotas, "warm")
    with acting_as(Actor(admin, is_admin=True)):
        for _ in range(3):
            quotas.charge("warm")
        refusal(quotas, "warm")
    with acting_as(Actor(alice)):
        refusal(quotas, "warm")
        # Kinds apart: the warms spent leave the sweeps untouched.
        quotas.charge("sweep")


def test_the_window_moves_a_start_frees_its_place_when_it_leaves(quotas, users, monkeypatch):
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    with acting_as(Actor(users[0])):
        quotas.charge("sweep")
        now[0] += 300
        quotas.charge("sweep")
        now[0] += 200
        refused = refusal(quotas, "sweep")
        # Redis keeps the times to 14 digits: a fraction of a millisecond may round up.
        assert refused.retry_after in (100, 101)
        assert REFUSAL.fullmatch(refused.message).group(3) == "10 minutes"
        now[0] += 101
        quotas.charge("sweep")
        refusal(quotas, "sweep")


def test_an_anonymous_request_can_start_nothing(quotas):
    with acting_as(ANONYMOUS):
        refused = refusal(quotas, "warm")
    assert refused.status == 401 and refused.retry_after is None
    assert refused.message == "Sign in first: only a signed-in user may start warms."


def test_the_processes_of_a_host_count_into_one_quota(tmp_path, users):
    """Two workers (two limiters on one CACHE_DIR, as gunicorn's two processes have): one
    quota, not one each as limits' "memory://" would give."""
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}")
    first = install_quotas(Flask("worker-1"), settings, LIMITS)
    second = install_quotas(Flask("worker-2"), settings, LIMITS)
    with acting_as(Actor(users[0])):
        first.charge("warm")
        second.charge("warm")
        first.charge("warm")
        refusal(second, "warm")
        refusal(first, "warm")


def test_a_quota_storage_that_fails_lets_the_work_through_and_says_so(tmp_path, users, caplog):
    # Nothing listens on port 1: every Redis call fails at once.
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'unused.db'}", redis_url="redis://127.0.0.1:1/0"
    )
    quotas = install_quotas(Flask("no-redis"), settings, LIMITS)
    with acting_as(Actor(users[0])), caplog.at_level(logging.WARNING, "dashapp.quotas"):
        for _ in range(5):
            quotas.charge("warm")
    assert caplog.messages.count("the quota storage failed: one warm let through uncounted") == 5


# ----- as a client meets them ------------------------------------------------------------------

BACKTEST = {"ticker": "AAPL", "strategy": "sma_crossover", "fast": 10, "slow": 30}


def test_the_api_answers_429_with_retry_after_once_the_backtests_are_spent(app, client):
    context = context_of(app)
    context.store.fill(["AAPL", "SPY"], date(2023, 6, 1), date(2024, 12, 4))
    for n in range(20):
        # A different question each time: each one is computed.
        answer = client.post("/api/backtests", json={**BACKTEST, "commission": n / 10_000})
        assert answer.status_code == 200, answer.get_data(as_text=True)
    assert context.counters.get("backtests_computed") == 20
    refused = client.post("/api/backtests", json={**BACKTEST, "commission": 0.005})
    assert refused.status_code == 429
    count, noun, _window, wait, _at = REFUSAL.fullmatch(refused.get_json()["error"]).groups()
    assert (count, noun) == ("20", "backtests")
    assert refused.headers["Retry-After"] == wait and 1 <= int(wait) <= 60
    assert context.counters.get("backtests_computed") == 20
    # A sweep draws on a quota of its own.
    sweep = {**BACKTEST, "sweep": True, "fast_windows": [5, 10], "slow_windows": [20, 30]}
    assert client.post("/api/backtests", json=sweep).status_code == 200


def test_the_backtest_page_says_when_to_run_again_and_computes_nothing(app):
    context = context_of(app)
    context.store.fill(["AAPL", "SPY"], date(2023, 6, 1), date(2024, 12, 4))
    page = DashClient(app)
    sweep = {"sweep": ["sweep"], "fast-windows": [5, 10], "slow-windows": [20, 30]}
    for cash in (10_000, 20_000, 30_000):
        answered = ask(page, **sweep, cash=cash)["backtest-message"]["children"]
        assert "Backtested AAPL" in str(answered)
    computed = context.counters.get("backtests_computed")
    refused = ask(page, **sweep, cash=40_000)
    text = refused["backtest-message"]["children"]["props"]["children"]
    count, noun, _window, _wait, _at = REFUSAL.fullmatch(text).groups()
    assert (count, noun) == ("3", "sweeps")
    assert refused["backtest-result"]["data"] == {
        "warnings": ["Nothing to show: see the message above."]
    }
    assert context.counters.get("backtests_computed") == computed


def test_the_cache_page_says_when_to_refresh_again_and_fetches_nothing(app):
    page = DashClient(app)

    def refresh(ticker: str) -> str:
        answer = run_in_background(
            page,
            f"{cache_ids.MESSAGE}.children",
            {f"{cache_ids.REFRESH}.n_clicks": 1},
            {f"{cache_ids.TICKER}.value": ticker, f"{cache_ids.VERSION}.data": 0},
        )
        return message(answer)

    def fetches() -> int:
        with context_of(app).db.session() as session:
            return session.scalar(select(func.count()).select_from(FetchLog))

    for ticker in ("AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "AMD", "IBM", "KO"):
        before = fetches()
        assert refresh(ticker).startswith(f"Refreshed {ticker}")
        assert fetches() > before
    before = fetches()
    count, noun, window, wait, _at = REFUSAL.fullmatch(refresh("PEP")).groups()
    assert (count, noun, window) == ("10", "refreshes", "minute") and 1 <= int(wait) <= 60
    assert fetches() == before
    # The dashboard's Refresh prices draws on the same quota: its job fetches nothing either.
    context = context_of(app)
    portfolio = create_portfolio(context, "Mine").id
    add_transaction(context, portfolio, TransactionDraft("2024-03-01", "BUY", "PEP", "2", "160"))
    dashboard = run_in_background(
        page,
        f"{dashboard_ids.REFRESH_STATUS}.children",
        {f"{dashboard_ids.REFRESH_REQUEST}.data": {"portfolio_id": portfolio, "manual": True}},
        {f"{dashboard_ids.AUTO_REFRESHED}.data": [], f"{dashboard_ids.ALLOCATION_BY}.value": None},
    )
    said = dashboard[dashboard_ids.REFRESH_STATUS]["children"]["props"]["children"]
    assert REFUSAL.fullmatch(said).group(2) == "refreshes"
    assert dashboard_ids.DASHBOARD_BODY not in dashboard
    assert fetches() == before


def test_the_quota_settings_set_the_limits(tmp_path, users):
    """QUOTA_WARMS=2/minute in the environment: the third warm in a minute is refused."""
    settings = Settings.from_env(
        {"QUOTA_WARMS": "2/minute"},
        instance_dir=tmp_path / "instance",
        cache_dir=tmp_path / "cache",
    )
    quotas = install_quotas(Flask("configured"), settings)
    with acting_as(Actor(users[0])):
        quotas.charge("warm")
        quotas.charge("warm")
        assert "You have started 2 warms" in refusal(quotas, "warm").message


def test_imports_past_the_quota_answer_429_in_the_api_and_a_message_in_the_page(
    tmp_path, sqlite_url, clock
):
    """QUOTA_IMPORTS=2/minute: two files read (an API import, a page preview); the third is
    refused in both places, and nothing of it is stored."""
    app = create_app(make_settings(tmp_path, sqlite_url, quota_imports="2/minute"), clock=clock)
    try:
        client = app.server.test_client()
        portfolio = client.post("/api/portfolios", json={"name": "Imports"}).get_json()["id"]
        csv = (
            b"date,type,ticker,quantity,price,fees,currency,note\n2024-01-02,BUY,SPY,1,470,0,USD,\n"
        )
        assert upload(client, portfolio, csv).status_code == 201
        page = DashClient(app)
        contents = "data:text/csv;base64," + base64.b64encode(csv).decode()
        preview = page.call(
            "ledger-preview.children",
            {"ledger-upload.contents": contents},
            state={"ledger-upload.filename": "a.csv", "ledger-portfolio.data": portfolio},
        )
        assert "You have started" not in str(preview)
        refused = upload(client, portfolio, csv)
        assert refused.status_code == 429
        assert "2 ledger imports or previews" in refused.get_json()["error"]
        assert int(refused.headers["Retry-After"]) >= 1
        again = page.call(
            "ledger-preview.children",
            {"ledger-upload.contents": contents},
            state={"ledger-upload.filename": "a.csv", "ledger-portfolio.data": portfolio},
        )
        assert "You have started 2 ledger imports or previews" in str(again)
        ledger = client.get(f"/api/portfolios/{portfolio}/transactions").get_json()
        assert len(ledger) == 1
    finally:
        context_of(app).close()
