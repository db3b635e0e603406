"""User B cannot reach user A's portfolios by any address or callback: each answers B exactly as
for a portfolio (or transaction, or proposal) that does not exist, and an anonymous client gets
401 (API, Dash) or the sign-in page (pages).

The walk covers every rule of the Flask URL map and every callback of the Dash callback map. A
rule or callback that this file does not know fails the test with a message asking to classify
it: that is how a new route or callback that forgets the owner check is caught.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from dash import Dash
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from dashapp import context_of, create_app
from dashapp.accounts.users import create_user, find_user_named
from dashapp.db.models import Portfolio, Transaction
from dashapp.not_found import PAGES
from dashapp.services.corporate_actions import propose_corporate_actions
from dashapp.services.ownership import Actor, acting_as
from dashapp.services.portfolios import create_portfolio, get_portfolio
from dashapp.services.transactions import TransactionDraft, add_transaction, list_transactions
from dashapp.ui.backtest.form import FORM_FIELDS, form_request
from tests.accounts.test_sign_in import OWN_ORIGIN, PASSWORD, session_token, signed_in_client
from tests.conftest import make_settings

# A's things are named so that a leak of them is unmistakable in any answer.
A_NAME = "Quillwort Family Fund"
A_TICKERS = ("QXWV", "AAPL")
# Ids start high, so that replacing an id in an answer's text replaces nothing else.
FILLER_PORTFOLIO, FILLER_TRANSACTION = 700_000, 800_000
MISSING_PORTFOLIO, MISSING_TRANSACTION = 799_999, 899_999
MISSING_KEY = "SPLIT:ZZQQ:2020-08-31"
CSV = b"date,type,ticker,quantity,price,fees,currency,note\n2024-12-02,BUY,QXWV,1,10,0,USD,\n"
TRANSACTION = {
    "trade_date": "2024-12-02",
    "kind": "BUY",
    "ticker": "MSFT",
    "quantity": 1,
    "price": 1,
}
READ_METHODS = {"GET"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
PATH_IDS = {"portfolio_id", "transaction_id", "key"}


@dataclass
class World:
    """Users A and B signed in, an anonymous client, and A's portfolio, transaction, proposal."""

    app: Dash
    a: FlaskClient
    b: FlaskClient
    anonymous: FlaskClient
    a_portfolio: int
    a_transaction: int
    a_key: str
    b_portfolio: int
    replaced: dict[str, str] = field(default_factory=dict)

    def normalized(self, answer: str) -> str:
        """The answer with A's ids and the missing ones written alike."""
        for raw, placeholder in self.replaced.items():
            answer = answer.replace(raw, placeholder)
        return answer


@pytest.fixture
def world(tmp_path, database_url, clock) -> Iterator[World]:
    app = create_app(make_settings(tmp_path, database_url, auth="accounts"), clock=clock)
    yield built_world(app, clock)
    context_of(app).close()


def built_world(app: Dash, clock) -> World:
    """Users admin, alice (A) and bob (B) in `app`; A's portfolio, transactions and proposal."""
    context = context_of(app)
    # The first account takes over the migration's `local` user; A and B are ordinary users.
    create_user(context.db, "admin", PASSWORD, admin=True)
    create_user(context.db, "alice", PASSWORD)
    create_user(context.db, "bob", PASSWORD)
    _start_ids_high(context, find_user_named(context.db, "admin").id)
    with acting_as(Actor(find_user_named(context.db, "alice").id)):
        a_portfolio = create_portfolio(context, A_NAME).id
        a_transaction = add_transaction(
            context,
            a_portfolio,
            TransactionDraft(
                trade_date="2024-12-02", kind="BUY", ticker="QXWV", quantity=5, price=20
            ),
        ).id
        # Held across AAPL's 2020 split: the ledger has a proposal with a key.
        add_transaction(
            context,
            a_portfolio,
            TransactionDraft(
                trade_date="2020-01-02", kind="BUY", ticker="AAPL", quantity=4, price=300
            ),
        )
        context.store.fill(["AAPL", "QXWV", "SPY"], date(2020, 1, 2), clock.now().date())
        a_key = next(
            p.key for p in propose_corporate_actions(context, a_portfolio) if p.kind == "SPLIT"
        )
    with acting_as(Actor(find_user_named(context.db, "bob").id)):
        b_portfolio = create_portfolio(context, "Bob's own").id
    assert a_portfolio == FILLER_PORTFOLIO + 1 and a_transaction == FILLER_TRANSACTION + 1
    return World(
        app=app,
        a=signed_in_client(app, "alice"),
        b=signed_in_client(app, "bob"),
        anonymous=app.server.test_client(),
        a_portfolio=a_portfolio,
        a_transaction=a_transaction,
        a_key=a_key,
        b_portfolio=b_portfolio,
        replaced={
            str(a_portfolio): "<portfolio>",
            str(MISSING_PORTFOLIO): "<portfolio>",
            str(a_transaction): "<transaction>",
            str(MISSING_TRANSACTION): "<transaction>",
            a_key: "<key>",
            MISSING_KEY: "<key>",
        },
    )


def _start_ids_high(context, owner: int) -> None:
    """A filler portfolio and transaction of the admin at high ids: later rows follow them."""
    with context.db.session() as session:
        session.add(
            Portfolio(id=FILLER_PORTFOLIO, user_id=owner, name="filler", base_currency="USD")
        )
        session.flush()
        session.add(
            Transaction(
                id=FILLER_TRANSACTION,
                portfolio_id=FILLER_PORTFOLIO,
                trade_date=date(2024, 12, 2),
                kind="DEPOSIT",
                quantity=1,
                price=1.0,
            )
        )
    if context.db.engine.dialect.name == "postgresql":
        with context.db.engine.begin() as connection:
            for table in ("portfolios", "transactions"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT max(id) FROM {table}))"
                    )
                )


# --- The URL map -------------------------------------------------------------------------------

# Anonymous answers: the gate's 401 JSON, the gate's redirect to the sign-in page, or the route's
# own answer (public: the gate lets anyone through).
UNAUTHORIZED, SIGN_IN, PUBLIC = "401 JSON", "sign-in page", "public"

# Rules without a portfolio, transaction or proposal in their path: (method, a concrete path,
# what an anonymous client gets). User-level routes list or create the user's own things only.
OTHER_RULES: dict[str, list[tuple[str, str, str]]] = {
    "/static/<path:filename>": [("GET", "/static/none.css", SIGN_IN)],
    "/assets/<path:filename>": [("GET", "/assets/vendor/bootstrap-5.3.6.min.css", PUBLIC)],
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": [
        ("GET", "/_dash-component-suites/dash/none.js", PUBLIC)
    ],
    "/_dash-layout": [("GET", "/_dash-layout", UNAUTHORIZED)],
    "/_dash-dependencies": [("GET", "/_dash-dependencies", UNAUTHORIZED)],
    # Its callbacks are walked below.
    "/_dash-update-component": [("POST", "/_dash-update-component", UNAUTHORIZED)],
    "/_reload-hash": [("GET", "/_reload-hash", UNAUTHORIZED)],
    "/_favicon.ico": [("GET", "/_favicon.ico", PUBLIC)],
    "/": [("GET", "/", SIGN_IN)],
    # Pages; /portfolios/<id> and /portfolios/<id>/reports are walked below.
    "/<path:path>": [("GET", "/portfolios", SIGN_IN), ("GET", "/compare", SIGN_IN)],
    "/metrics": [("GET", "/metrics", UNAUTHORIZED)],
    "/healthz": [("GET", "/healthz", PUBLIC)],
    "/signin": [("GET", "/signin", PUBLIC), ("POST", "/signin", PUBLIC)],
    "/signout": [("POST", "/signout", SIGN_IN)],
    # The user's own list, and a new portfolio of their own.
    "/api/portfolios": [
        ("GET", "/api/portfolios", UNAUTHORIZED),
        ("POST", "/api/portfolios", UNAUTHORIZED),
    ],
    # The body may name a portfolio: walked in test_a_backtest_of_another_users_portfolio_is_404.
    "/api/backtests": [("POST", "/api/backtests", UNAUTHORIZED)],
    "/api/openapi.json": [("GET", "/api/openapi.json", PUBLIC)],
    "/api/docs": [("GET", "/api/docs", PUBLIC)],
}

# What a state-changing request of a rule sends, so that it reaches the owner check: keyed by
# the rule's endpoint.
BODIES: dict[str, Callable[[World, FlaskClient], dict[str, Any]]] = {
    "api.rename": lambda w, c: {"json": {"name": "Taken over"}},
    "api.new_transaction": lambda w, c: {"json": TRANSACTION},
    "api.edit_transaction": lambda w, c: {"json": TRANSACTION},
    "api.import_file": lambda w, c: {
        "data": {"file": (io.BytesIO(CSV), "ledger.csv")},
        "headers": {"X-CSRF-Token": "" if c is w.anonymous else session_token(c)},
    },
}


def _request(
    world: World,
    client: FlaskClient,
    method: str,
    path: str,
    endpoint: str,
    headers: dict[str, str] | None = None,
) -> TestResponse:
    options = (
        BODIES[endpoint](world, client) if method not in READ_METHODS and endpoint in BODIES else {}
    )
    sent = {"Origin": OWN_ORIGIN, **(headers or {}), **options.pop("headers", {})}
    return client.open(path, method=method, headers=sent, **options)


def _path(rule: str, portfolio_id: int, transaction_id: int, key: str) -> str:
    return (
        rule.replace("<portfolio_id>", str(portfolio_id))
        .replace("<transaction_id>", str(transaction_id))
        .replace("<path:key>", key)
    )


def _is_sign_in_redirect(answer: TestResponse) -> bool:
    return answer.status_code == 302 and answer.headers["Location"].startswith("/signin?next=")


def _is_unauthorized(answer: TestResponse) -> bool:
    return answer.status_code == 401 and answer.is_json and "error" in answer.get_json()


def test_every_route_hides_another_users_portfolio_as_missing(world: World):
    rules = list(world.app.server.url_map.iter_rules())
    unclassified = [
        rule.rule
        for rule in rules
        if not set(rule.arguments) & PATH_IDS and rule.rule not in OTHER_RULES
    ]
    assert not unclassified, (
        "classify these routes in tests/accounts/test_isolation_walk.py: a route that takes a "
        "portfolio, transaction or proposal needs one of those in its path arguments; any other "
        f"goes into OTHER_RULES with what an anonymous client gets: {unclassified}"
    )
    owned_rules = 0
    checked = set()
    for rule in rules:
        methods = sorted(rule.methods - IGNORED_METHODS)
        if set(rule.arguments) & PATH_IDS:
            owned_rules += 1
            for method in methods:
                _check_owned_rule(world, rule.rule, rule.endpoint, method)
            continue
        for method, path, expected in OTHER_RULES[rule.rule]:
            if method not in methods:
                continue  # one address, a rule per method
            checked.add((rule.rule, method, path))
            answer = world.anonymous.open(path, method=method)
            answer.close()
            got = (
                UNAUTHORIZED
                if _is_unauthorized(answer)
                else SIGN_IN
                if _is_sign_in_redirect(answer)
                else PUBLIC
            )
            assert got == expected, f"anonymous {method} {path}: {answer.status}"
    listed = {
        (rule, method, path) for rule, entries in OTHER_RULES.items() for method, path, _ in entries
    }
    assert not listed - checked, f"no longer routes, remove from OTHER_RULES: {listed - checked}"
    assert owned_rules >= 15
    _assert_a_keeps_everything(world)


def _check_owned_rule(world: World, rule: str, endpoint: str, method: str) -> None:
    a_path = _path(rule, world.a_portfolio, world.a_transaction, world.a_key)
    missing_path = _path(rule, MISSING_PORTFOLIO, MISSING_TRANSACTION, MISSING_KEY)
    probes = [(a_path, missing_path)]
    if "<transaction_id>" in rule or "<path:key>" in rule:
        # B's own portfolio with A's transaction or proposal: as missing as one that never was.
        probes.append(
            (
                _path(rule, world.b_portfolio, world.a_transaction, world.a_key),
                _path(rule, world.b_portfolio, MISSING_TRANSACTION, MISSING_KEY),
            )
        )
    conditional = {}
    if method in READ_METHODS:
        # First, so that whatever A's answer leaves in a cache is there when B asks; and the
        # probe reaches A's data: A itself is answered.
        own = _request(world, world.a, method, a_path, endpoint)
        assert own.status_code == 200, f"{method} {a_path} as A: {own.status} {own.text[:300]}"
        if "ETag" in own.headers:
            # B replaying A's ETag learns nothing from a 304 either.
            conditional = {"If-None-Match": own.headers["ETag"]}
    for others, missing in probes:
        by_b = _request(world, world.b, method, others, endpoint, conditional)
        as_missing = _request(world, world.b, method, missing, endpoint, conditional)
        where = f"{method} {others} as B"
        assert by_b.status_code == 404, f"{where}: {by_b.status} {by_b.text[:300]}"
        assert as_missing.status_code == 404, f"{method} {missing}: {as_missing.status}"
        assert world.normalized(by_b.text) == world.normalized(as_missing.text), where
        # What B sent (A's proposal key names a ticker) comes back in B's error; nothing else.
        _assert_nothing_of_a(world.normalized(by_b.text), where)
    anonymous = _request(world, world.anonymous, method, a_path, endpoint)
    assert _is_unauthorized(anonymous), f"anonymous {method} {a_path}: {anonymous.status}"


def _assert_nothing_of_a(answer: str, where: str) -> None:
    for secret in (A_NAME, *A_TICKERS):
        assert secret not in answer, f"{where} shows A's {secret!r}: {answer[:500]}"


def _assert_a_keeps_everything(world: World) -> None:
    context = context_of(world.app)
    with acting_as(Actor(find_user_named(context.db, "alice").id)):
        assert get_portfolio(context, world.a_portfolio).name == A_NAME
        assert {row.ticker for row in list_transactions(context, world.a_portfolio)} == set(
            A_TICKERS
        )
        assert len(list_transactions(context, world.a_portfolio)) == 2


@pytest.mark.parametrize(
    "asked",
    [
        {"strategy": "buy_and_hold", "period": "1Y"},
        # A ticker, with "my" money flows: those of the portfolio named.
        {"ticker": "SPY", "strategy": "buy_and_hold", "period": "1Y", "contributions": "mine"},
    ],
)
def test_a_backtest_of_another_users_portfolio_is_404(world: World, asked: dict[str, Any]):
    def post(client: FlaskClient, portfolio_id: int) -> TestResponse:
        body = {**asked, "portfolio_id": portfolio_id}
        return client.post("/api/backtests", json=body, headers={"Origin": OWN_ORIGIN})

    # A first: what its run leaves in a cache is there when B asks.
    own = post(world.a, world.a_portfolio)
    assert own.status_code in (200, 202), own.text
    by_b, as_missing = post(world.b, world.a_portfolio), post(world.b, MISSING_PORTFOLIO)
    assert by_b.status_code == as_missing.status_code == 404, by_b.text
    assert world.normalized(by_b.text) == world.normalized(as_missing.text)
    assert post(world.anonymous, world.a_portfolio).status_code == 401


def test_a_name_another_user_took_is_free(world: World):
    """Names are unique per owner: B creating or renaming to A's name learns nothing of it."""
    origin = {"Origin": OWN_ORIGIN}
    created = world.b.post("/api/portfolios", json={"name": A_NAME}, headers=origin)
    assert created.status_code == 201, created.text
    renamed = world.b.patch(
        f"/api/portfolios/{world.b_portfolio}", json={"name": A_NAME + " 2"}, headers=origin
    )
    assert renamed.status_code == 200, renamed.text
    # Taken by B itself, the name is refused: the check above could fail.
    again = world.b.post("/api/portfolios", json={"name": A_NAME}, headers=origin)
    assert again.status_code == 400, again.text


# --- Pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/portfolios/{id}", "/portfolios/{id}/reports"])
def test_another_users_portfolio_page_is_the_missing_page(world: World, page: str):
    def opened(client: FlaskClient, portfolio_id: int) -> tuple[int, str]:
        path = page.format(id=portfolio_id)
        index = client.get(path)
        layout = client.get("/_dash-layout", headers={"Referer": f"{OWN_ORIGIN}{path}"})
        assert layout.status_code == 200, layout.text
        return index.status_code, layout.get_data(as_text=True)

    by_b, as_missing = opened(world.b, world.a_portfolio), opened(world.b, MISSING_PORTFOLIO)
    assert by_b[0] == as_missing[0]
    assert world.normalized(by_b[1]) == world.normalized(as_missing[1])
    _assert_nothing_of_a(by_b[1], f"{page} as B")
    own = opened(world.a, world.a_portfolio)
    assert own[0] == 200 and A_NAME in own[1]
    anonymous = world.anonymous.get(page.format(id=world.a_portfolio))
    assert _is_sign_in_redirect(anonymous)


# Pages that show the shared price store, which holds every ticker anyone fetched prices for.
SHARED_PRICE_PAGES = {"/cache"}


def test_no_page_of_b_shows_a_portfolio_of_a(world: World):
    """Every page as B (the layout the browser fetches for it) leaves A's portfolio out: its
    name everywhere, its tickers everywhere but the shared price store."""
    for path in sorted(PAGES):
        by_b = _layout(world.b, path)
        assert A_NAME not in by_b, f"{path} as B names A's portfolio"
        if path not in SHARED_PRICE_PAGES:
            assert A_TICKERS[0] not in by_b, f"{path} as B shows A's ticker"
            # The page lists portfolios at all: A sees its own there.
            assert A_NAME in _layout(world.a, path), f"{path} as A does not show A's portfolio"


def _layout(client: FlaskClient, path: str) -> str:
    """The layout the renderer fetches for the page at `path`."""
    layout = client.get("/_dash-layout", headers={"Referer": f"{OWN_ORIGIN}{path}"})
    assert layout.status_code == 200, f"{path}: {layout.status}"
    return layout.get_data(as_text=True)


# --- The Dash callback map ---------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One callback request: values by "id.property" (a pattern input takes a list of (id,
    value) pairs), the inputs that changed, and whether it only reads (then A, asking the same,
    must get an answer that differs from a missing portfolio's: the probe reaches A's data)."""

    values: dict[str, Any]
    changed: list[str]
    reads: bool = True


def _clicked(kind: str, index: object) -> Probe:
    """A click on one button of a pattern-matching set ({"type": kind, "index": ...})."""
    pattern = json.dumps({"index": ["ALL"], "type": kind}, separators=(",", ":"))
    concrete = {"index": index, "type": kind}
    changed = json.dumps(concrete, separators=(",", ":"))
    return Probe({f"{pattern}.n_clicks": [(concrete, 1)]}, [f"{changed}.n_clicks"])


def _with(probe: Probe, values: dict[str, Any], reads: bool = False) -> Probe:
    return Probe({**probe.values, **values}, probe.changed, reads)


def _backtest_form(portfolio_id: int, mine: bool = False) -> dict[str, Any]:
    """The backtest form on the portfolio's basket, or on SPY with the portfolio's own money
    flows (`mine`)."""
    return {
        "subject": "ticker" if mine else "portfolio",
        "ticker": "SPY" if mine else None,
        "portfolio": portfolio_id,
        "strategy": "buy_and_hold",
        "fast": 10,
        "slow": 30,
        "frequency": "monthly",
        "amount": 1000,
        "period": "1Y",
        "dates-start": None,
        "dates-end": None,
        "cash": 100_000,
        "commission": 0.0,
        "fixed-fee": 0,
        "fill": "next_open",
        "whole-shares": [],
        "contributions": "mine" if mine else "lump",
        "benchmark": "SPY",
        "sweep": [],
        "metric": "total_return",
        "fast-windows": [2, 100],
        "slow-windows": [2, 100],
    }


def _upload() -> str:
    return "data:text/csv;base64," + base64.b64encode(CSV).decode()


def _ledger_form(portfolio_id: int, transaction_id: int | None) -> dict[str, Any]:
    return {
        "ledger-portfolio.data": portfolio_id,
        "ledger-editing.data": transaction_id,
        "ledger-trade_date.value": "2024-12-02",
        "ledger-kind.value": "BUY",
        "ledger-ticker.value": "MSFT",
        "ledger-quantity.value": "1",
        "ledger-price.value": "1",
        "ledger-fees.value": "0",
        "ledger-note.value": "",
    }


# Callbacks that take a portfolio (or transaction, or proposal): the requests that name one.
# Each gets A's ids and the missing ones; B's answers must be alike.
OWNED_CALLBACKS: dict[str, Callable[[World, int, int, str], list[Probe]]] = {
    "dashapp.ui.shell.route": lambda w, p, t, k: [
        Probe({"url.pathname": f"/portfolios/{p}"}, ["url.pathname"]),
        Probe({"url.pathname": f"/portfolios/{p}/reports"}, ["url.pathname"]),
    ],
    "dashapp.ui.dashboard.callbacks.render_holdings": lambda w, p, t, k: [
        Probe(
            {
                "portfolio-select.value": p,
                "auto-refreshed.data": [],
                "allocation-by.value": "holding",
            },
            ["portfolio-select.value"],
        )
    ],
    "dashapp.ui.dashboard.callbacks.refresh_prices": lambda w, p, t, k: [
        Probe(
            {
                "refresh-request.data": {"portfolio_id": p, "manual": True},
                "auto-refreshed.data": [],
                "allocation-by.value": "holding",
            },
            ["refresh-request.data"],
        )
    ],
    "dashapp.ui.dashboard.callbacks.switch_allocation": lambda w, p, t, k: [
        Probe(
            {"allocation-by.value": "holding", "portfolio-select.value": p}, ["allocation-by.value"]
        )
    ],
    "dashapp.ui.dashboard.callbacks.ask_benchmark": lambda w, p, t, k: [
        Probe(
            {
                "portfolio-select.value": p,
                "panel-period.value": "1Y",
                "panel-benchmarks.value": ["SPY"],
            },
            ["portfolio-select.value"],
        ),
        # Keeps the choice: a change of the portfolio's settings.
        Probe(
            {
                "portfolio-select.value": p,
                "panel-period.value": "1Y",
                "panel-benchmarks.value": ["QQQ"],
            },
            ["panel-benchmarks.value"],
            reads=False,
        ),
    ],
    "dashapp.ui.dashboard.callbacks.draw_benchmark": lambda w, p, t, k: [
        Probe(
            {"benchmark-request.data": {"portfolio_id": p, "benchmarks": ["SPY"], "period": "1Y"}},
            ["benchmark-request.data"],
        )
    ],
    "dashapp.ui.compare.callbacks.ask": lambda w, p, t, k: [
        Probe(
            {
                "compare-run.n_clicks": 1,
                "compare-portfolio.value": p,
                "compare-period.value": "1Y",
                "compare-benchmarks.value": ["SPY"],
            },
            ["compare-run.n_clicks"],
        )
    ],
    "dashapp.ui.compare.callbacks.run_comparison": lambda w, p, t, k: [
        Probe(
            {
                "compare-job.data": {
                    "portfolio_id": p,
                    "benchmarks": ["SPY"],
                    "period": "1Y",
                    "start": None,
                    "end": None,
                    "asked": "compare-run",
                }
            },
            ["compare-job.data"],
        )
    ],
    "dashapp.ui.backtest.callbacks.ask": lambda w, p, t, k: [
        Probe(
            {
                "backtest-run.n_clicks": 1,
                **{
                    f"{component}.{prop}": _backtest_form(p)[name]
                    for name, (component, prop) in FORM_FIELDS.items()
                },
            },
            ["backtest-run.n_clicks"],
        )
    ],
    "dashapp.ui.backtest.callbacks.run_job": lambda w, p, t, k: [
        Probe({"backtest-job.data": form_request(_backtest_form(p))}, ["backtest-job.data"]),
        Probe(
            {"backtest-job.data": form_request(_backtest_form(p, mine=True))}, ["backtest-job.data"]
        ),
    ],
    "dashapp.ui.portfolios.ask": lambda w, p, t, k: [
        _clicked("portfolio-rename", p),
        _clicked("portfolio-delete", p),
    ],
    "dashapp.ui.portfolios.change": lambda w, p, t, k: [
        Probe(
            {
                "portfolios-rename-save.n_clicks": 1,
                "portfolios-rename-name.value": "Taken over",
                "portfolios-target.data": p,
            },
            ["portfolios-rename-save.n_clicks"],
            reads=False,
        ),
        Probe(
            {"portfolios-delete-confirm.n_clicks": 1, "portfolios-target.data": p},
            ["portfolios-delete-confirm.n_clicks"],
            reads=False,
        ),
    ],
    "dashapp.ui.transactions.callbacks.change": lambda w, p, t, k: [
        Probe({"ledger-add.n_clicks": 1, **_ledger_form(p, None)}, ["ledger-add.n_clicks"], False),
        Probe({"ledger-save.n_clicks": 1, **_ledger_form(p, t)}, ["ledger-save.n_clicks"], False),
        Probe(
            {"ledger-delete-confirm.n_clicks": 1, **_ledger_form(p, t)},
            ["ledger-delete-confirm.n_clicks"],
            False,
        ),
        # B's own portfolio, A's transaction.
        Probe(
            {"ledger-save.n_clicks": 1, **_ledger_form(w.b_portfolio, t)},
            ["ledger-save.n_clicks"],
            False,
        ),
        Probe(
            {"ledger-delete-confirm.n_clicks": 1, **_ledger_form(w.b_portfolio, t)},
            ["ledger-delete-confirm.n_clicks"],
            False,
        ),
    ],
    "dashapp.ui.transactions.callbacks.check": lambda w, p, t, k: [
        Probe({"ledger-check.data": ["QXWV"], "ledger-portfolio.data": p}, ["ledger-check.data"])
    ],
    "dashapp.ui.transactions.callbacks.preview": lambda w, p, t, k: [
        Probe(
            {
                "ledger-upload.contents": _upload(),
                "ledger-upload.filename": "a.csv",
                "ledger-portfolio.data": p,
            },
            ["ledger-upload.contents"],
        )
    ],
    "dashapp.ui.transactions.callbacks.import_file": lambda w, p, t, k: [
        Probe(
            {
                "ledger-import.n_clicks": 1,
                "ledger-upload.contents": _upload(),
                "ledger-upload.filename": "a.csv",
                "ledger-portfolio.data": p,
            },
            ["ledger-import.n_clicks"],
            reads=False,
        )
    ],
    "dashapp.ui.transactions.callbacks.proposals": lambda w, p, t, k: [
        Probe(
            {
                "ledger-grid.rowData": [],
                "ledger-portfolio.data": p,
                "ledger-proposals-more.is_open": True,
            },
            ["ledger-grid.rowData"],
        )
    ],
    "dashapp.ui.transactions.callbacks.accept": lambda w, p, t, k: [
        _with(_clicked("ledger-proposal", k), {"ledger-portfolio.data": p}),
        # B's own portfolio, A's proposal.
        _with(_clicked("ledger-proposal", k), {"ledger-portfolio.data": w.b_portfolio}),
    ],
    "dashapp.ui.transactions.history.reread": lambda w, p, t, k: [
        Probe({"ledger-grid.rowData": [], "ledger-portfolio.data": p}, ["ledger-grid.rowData"])
    ],
    "dashapp.ui.transactions.history.show_older": lambda w, p, t, k: [
        Probe(
            {
                "ledger-history-older.n_clicks": 1,
                "ledger-portfolio.data": p,
                "ledger-history-cursor.data": 2**31 - 1,
            },
            ["ledger-history-older.n_clicks"],
        )
    ],
    "dashapp.ui.reports.change_method": lambda w, p, t, k: [
        Probe(
            {"reports-method.value": "average", "reports-portfolio.data": p},
            ["reports-method.value"],
        )
    ],
}

# Callbacks that take no portfolio, and why.
NO_PORTFOLIO = {
    "clientside:dashboard-panels-slot.children": "mounts a block the page already holds",
    "dashapp.ui.dashboard.callbacks.add_portfolio": "creates a portfolio of the user's own",
    "dashapp.ui.compare.callbacks.add_benchmark": "checks typed ticker symbols",
    "dashapp.ui.compare.callbacks.draw": "draws the result the page holds; its currency comes "
    "from the user's own list",
    "dashapp.ui.compare.callbacks.explain_numbers": "tabulates the result the page holds",
    "dashapp.ui.backtest.callbacks.choose_subject": "offers strategies",
    "dashapp.ui.backtest.callbacks.show_fields": "shows form fields",
    "dashapp.ui.backtest.callbacks.draw": "draws the result the page holds",
    "dashapp.ui.transactions.callbacks.select": "fills the form from the row the grid holds",
    "dashapp.ui.transactions.callbacks.ask_delete": "describes the row the grid holds",
    "dashapp.ui.transactions.callbacks.toggle_proposals": "opens a disclosure",
    "dashapp.ui.cache.callbacks.redraw": "shared prices (cache page)",
    "dashapp.ui.cache.callbacks.choose_ticker": "shared prices (cache page)",
    "dashapp.ui.cache.callbacks.refresh_one": "shared prices (cache page)",
    "dashapp.ui.cache.callbacks.ask_to_evict": "shared prices (cache page)",
    "dashapp.ui.cache.callbacks.evict": "shared prices (cache page)",
    "dashapp.ui.cache.callbacks.warm_now": "shared prices (cache page)",
    "dashapp.ui.cache.callbacks.cancel_warm": "shared prices (cache page)",
    "dash.dash.cancel_call": "Dash's cancel of a background job",
}


def callback_name(key: str, spec: dict[str, Any]) -> str:
    function = spec.get("callback")
    if function is None:
        return f"clientside:{key}"
    return f"{function.__module__}.{function.__qualname__.rsplit('.', 1)[-1]}"


def callback_body(key: str, spec: dict[str, Any], probe: Probe) -> dict[str, Any]:
    def item(entry: dict[str, str]) -> Any:
        name = f"{entry['id']}.{entry['property']}"
        value = probe.values.get(name)
        if entry["id"].startswith("{"):
            return [
                {"id": concrete, "property": entry["property"], "value": clicks}
                for concrete, clicks in (value or [])
            ]
        return {"id": entry["id"], "property": entry["property"], "value": value}

    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]
    known = {f"{e['id']}.{e['property']}" for e in [*spec["inputs"], *spec.get("state", [])]}
    unknown = set(probe.values) - known
    assert not unknown, f"{key}: the probe names {unknown}, which the callback does not take"
    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": [item(entry) for entry in spec["inputs"]],
        "state": [item(entry) for entry in spec.get("state", [])],
        "changedPropIds": probe.changed,
    }


def call(client: FlaskClient, key: str, spec: dict[str, Any], probe: Probe) -> tuple[int, str]:
    """POST the callback as the renderer does; a background one is polled until it answers."""
    body = callback_body(key, spec, probe)
    headers = {"Origin": OWN_ORIGIN}
    answer = client.post("/_dash-update-component", json=body, headers=headers)
    if not spec.get("background") or answer.status_code != 200:
        return answer.status_code, answer.get_data(as_text=True)
    started = answer.get_json()
    if "response" in started or "cacheKey" not in started:
        return answer.status_code, answer.get_data(as_text=True)
    poll = f"/_dash-update-component?cacheKey={started['cacheKey']}&job={started['job']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reply = client.post(poll, json=body, headers=headers)
        if reply.status_code != 200:
            return reply.status_code, reply.get_data(as_text=True)
        reply_body = reply.get_json() or {}
        if "response" in reply_body:
            return 200, json.dumps(reply_body["response"], sort_keys=True)
        time.sleep(0.1)
    raise AssertionError(f"{key}: the background job never answered")


def test_every_callback_hides_another_users_portfolio_as_missing(world: World):
    callbacks = [
        (key, spec, callback_name(key, spec)) for key, spec in world.app.callback_map.items()
    ]
    unclassified = [
        name for _, _, name in callbacks if name not in NO_PORTFOLIO and name not in OWNED_CALLBACKS
    ]
    assert not unclassified, (
        "classify these callbacks in tests/accounts/test_isolation_walk.py: OWNED_CALLBACKS "
        "with the requests that name a portfolio, transaction or proposal, or NO_PORTFOLIO with "
        f"the reason: {unclassified}"
    )
    probed = sum(
        walk_callback(world, key, spec, name)
        for key, spec, name in callbacks
        if name in OWNED_CALLBACKS
    )
    assert probed >= len(OWNED_CALLBACKS)
    _assert_a_keeps_everything(world)


def walk_callback(world: World, key: str, spec: dict[str, Any], name: str) -> int:
    """Each probe of the callback as B with A's ids and with missing ones: alike, and nothing of
    A's; a probe that reads is asked by A first. Returns the number of probes."""
    with_a = OWNED_CALLBACKS[name](world, world.a_portfolio, world.a_transaction, world.a_key)
    with_missing = OWNED_CALLBACKS[name](world, MISSING_PORTFOLIO, MISSING_TRANSACTION, MISSING_KEY)
    for probe, missing_probe in zip(with_a, with_missing, strict=True):
        where = f"{name} as B with A's ids ({probe.changed[0]})"
        # A first: what its answer leaves in a cache is there when B asks.
        own = call(world.a, key, spec, probe) if probe.reads else None
        by_b = call(world.b, key, spec, probe)
        as_missing = call(world.b, key, spec, missing_probe)
        assert by_b[0] == as_missing[0], f"{where}: {by_b} vs {as_missing}"
        # A missing portfolio is the user's mistake, never a server error and a traceback.
        assert as_missing[0] < 500, f"{name} with a missing portfolio: {as_missing}"
        assert world.normalized(by_b[1]) == world.normalized(as_missing[1]), where
        _assert_nothing_of_a(world.normalized(by_b[1]), where)
        if own is not None:
            assert world.normalized(own[1]) != world.normalized(as_missing[1]), (
                f"{name}: A's own answer is a missing portfolio's; the probe reaches nothing"
            )
    return len(with_a)


def test_an_anonymous_callback_request_is_401(world: World):
    for key, spec in world.app.callback_map.items():
        if callback_name(key, spec) == "dashapp.ui.shell.route":
            probe = Probe({"url.pathname": f"/portfolios/{world.a_portfolio}"}, ["url.pathname"])
            answer = world.anonymous.post(
                "/_dash-update-component", json=callback_body(key, spec, probe)
            )
            assert _is_unauthorized(answer), answer.status
            return
    raise AssertionError("the router callback is gone")
