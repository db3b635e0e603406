"""A page of another origin cannot change a signed-in user's ledger through their browser.

The app runs in AUTH=accounts and Chromium signs in as A. A second local server (another port
of 127.0.0.1: the same site, so the SameSite=Lax session cookie IS sent with its requests, which
is what makes the attack real) serves pages that try a multipart CSV import by an auto-submitted
form, and a Dash callback that adds a WITHDRAWAL by fetch() with credentials, as JSON, as a form
and as text/plain (the last two need no CORS preflight). A recorder around the app's WSGI
callable sees each request arrive with the session cookie and answered 403 by the CSRF check.
Afterwards A's ledger, counted through the API as A, is unchanged; the same requests made from
the app's own page go through, so the refusals are the origin's doing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dashapp import context_of
from dashapp.accounts.users import create_user, find_user_named
from dashapp.services.ownership import Actor, acting_as
from dashapp.services.portfolios import create_portfolio
from dashapp.services.transactions import TransactionDraft, add_transaction
from tests.accounts.test_isolation_walk import Probe, callback_body, callback_name
from tests.accounts.test_sign_in import PASSWORD, SESSION_COOKIE

pytestmark = pytest.mark.browser

CSV = "date,type,ticker,quantity,price,fees,currency,note\n2024-12-03,WITHDRAWAL,,1,5000,0,USD,\n"
LEDGER_CHANGE = "dashapp.ui.transactions.callbacks.change"
REFUSED = "another site"


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    status: int
    origin: str | None
    content_type: str
    with_session: bool


class Recorder:
    """WSGI middleware: every request the app answered, with its Origin and whether the
    session cookie came along."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app
        self.seen: list[Seen] = []

    def __call__(self, environ: dict, start_response: Any) -> Any:
        def recording(status: str, headers: list, exc_info: Any = None) -> Any:
            self.seen.append(
                Seen(
                    environ["REQUEST_METHOD"],
                    environ["PATH_INFO"],
                    int(status.split()[0]),
                    environ.get("HTTP_ORIGIN"),
                    environ.get("CONTENT_TYPE", ""),
                    f"{SESSION_COOKIE}=" in environ.get("HTTP_COOKIE", ""),
                )
            )
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, recording)

    def posts(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.method == "POST" and seen.path == path]


class OtherOrigin:
    """A second local server: the attacker's pages, from memory."""

    def __init__(self, pages: dict[str, str]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def attacked(live_apps) -> Iterator[tuple[str, int, Recorder, Any]]:
    """The app in AUTH=accounts with A's portfolio of one transaction, served and recorded."""
    app = live_apps.build(auth="accounts")
    context = context_of(app)
    create_user(context.db, "admin", PASSWORD, admin=True)
    create_user(context.db, "alice", PASSWORD)
    with acting_as(Actor(find_user_named(context.db, "alice").id)):
        portfolio = create_portfolio(context, "Alice's savings").id
        add_transaction(
            context,
            portfolio,
            TransactionDraft(trade_date="2024-12-02", kind="DEPOSIT", quantity=1, price=10_000),
        )
    recorder = Recorder(app.server.wsgi_app)
    app.server.wsgi_app = recorder
    yield live_apps.serve(app), portfolio, recorder, app


def sign_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/signin")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/", timeout=15_000)


def ledger_count(page, url: str, portfolio: int) -> int:
    """A's transactions, counted through the API with A's session."""
    answer = page.request.get(f"{url}/api/portfolios/{portfolio}/transactions")
    assert answer.status == 200, answer.text()
    return len(answer.json())


def withdrawal_body(app, portfolio: int) -> dict[str, Any]:
    """What the renderer posts when A presses Add with a WITHDRAWAL of 5,000 in the form."""
    [(key, spec)] = [
        (key, spec)
        for key, spec in app.callback_map.items()
        if callback_name(key, spec) == LEDGER_CHANGE
    ]
    values = {
        "ledger-add.n_clicks": 1,
        "ledger-portfolio.data": portfolio,
        "ledger-trade_date.value": "2024-12-03",
        "ledger-kind.value": "WITHDRAWAL",
        "ledger-quantity.value": "1",
        "ledger-price.value": "5000",
    }
    return callback_body(key, spec, Probe(values, ["ledger-add.n_clicks"]))


def import_page(url: str, portfolio: int) -> str:
    """An auto-submitting multipart form with a CSV file, aimed at the app's import."""
    return f"""<!DOCTYPE html><html><body>
<form id="f" method="post" enctype="multipart/form-data"
 action="{url}/api/portfolios/{portfolio}/import">
<input type="file" name="file" id="file"></form>
<script>
const file = new File([{json.dumps(CSV)}], "win.csv", {{type: "text/csv"}});
const chosen = new DataTransfer();
chosen.items.add(file);
document.getElementById("file").files = chosen.files;
document.getElementById("f").submit();
</script></body></html>"""


FETCHES = """
window.attempts = (async () => {
  const body = JSON.stringify(BODY);
  const sent = {
    json: {headers: {"Content-Type": "application/json"}, body},
    text: {headers: {"Content-Type": "text/plain"}, body},
    form: {body: new URLSearchParams({payload: body})},
  };
  const outcome = {};
  for (const [name, options] of Object.entries(sent)) {
    try {
      const answer = await fetch(TARGET, {method: "POST", credentials: "include", ...options});
      outcome[name] = answer.status;
    } catch (error) {
      outcome[name] = "blocked";
    }
  }
  return outcome;
})();
"""


def fetch_page(url: str, body: dict[str, Any]) -> str:
    script = FETCHES.replace("BODY", json.dumps(body)).replace(
        "TARGET", json.dumps(f"{url}/_dash-update-component")
    )
    return f"<!DOCTYPE html><html><body><script>{script}</script></body></html>"


def test_another_origin_can_neither_import_nor_call_back_into_a_signed_in_session(attacked, page):
    url, portfolio, recorder, app = attacked
    sign_in(page, url, "alice")
    before = ledger_count(page, url, portfolio)
    import_path = f"/api/portfolios/{portfolio}/import"
    other = OtherOrigin(
        {
            "/import.html": import_page(url, portfolio),
            "/fetch.html": fetch_page(url, withdrawal_body(app, portfolio)),
        }
    )
    try:
        # (a) The form navigates the tab to the app's answer.
        page.goto(f"{other.url}/import.html")
        page.wait_for_url(f"{url}{import_path}", timeout=15_000)
        assert REFUSED in page.inner_text("body")
        [forged_import] = recorder.posts(import_path)
        assert forged_import.status == 403
        assert forged_import.origin == other.url
        assert forged_import.content_type.startswith("multipart/form-data")
        # Same site, so the cookie went along: the refusal is the CSRF check, not a 401.
        assert forged_import.with_session

        # (b) fetch() with credentials: the JSON one is stopped at its preflight, the form and
        # text/plain ones (no preflight) reach the app with the cookie and are refused.
        page.goto(f"{other.url}/fetch.html")
        outcome = page.evaluate("window.attempts")
        assert outcome["json"] == "blocked"
        forged_calls = recorder.posts("/_dash-update-component")
        assert [(seen.status, seen.with_session) for seen in forged_calls] == [
            (403, True),
            (403, True),
        ]
        assert {seen.content_type.split(";")[0] for seen in forged_calls} == {
            "text/plain",
            "application/x-www-form-urlencoded",
        }
        assert all(seen.origin == other.url for seen in forged_calls)
    finally:
        other.close()

    page.goto(f"{url}/portfolios/{portfolio}")
    page.wait_for_selector("#ledger-grid .ag-row", timeout=20_000)
    assert ledger_count(page, url, portfolio) == before

    # The same requests from the app's own page go through: only the origin was wrong.
    own_import = page.evaluate(
        """async ([path, csv]) => {
          const form = new FormData();
          form.append("file", new File([csv], "own.csv", {type: "text/csv"}));
          form.append("csrf_token", document.querySelector("input[name=csrf_token]").value);
          const answer = await fetch(path, {method: "POST", body: form});
          return [answer.status, await answer.text()];
        }""",
        [import_path, CSV],
    )
    assert own_import[0] == 201, own_import
    own_call = page.evaluate(
        """async (body) => (await fetch("/_dash-update-component", {
          method: "POST", headers: {"Content-Type": "application/json"},
          body: JSON.stringify(body)})).status""",
        withdrawal_body(app, portfolio),
    )
    assert own_call == 200
    assert ledger_count(page, url, portfolio) == before + 2
