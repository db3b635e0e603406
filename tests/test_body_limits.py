"""Request bodies are capped at what the largest ledger import needs, and a larger one is
refused with a 413 JSON message before the server reads it: by its Content-Length, or, sent
chunked without one, once the limit is passed."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dash import Dash
from werkzeug.serving import make_server

from dashapp import context_of, create_app
from dashapp.body_limits import ENVELOPE_BYTES, max_request_bytes
from dashapp.services.portfolios import create_portfolio
from tests.conftest import make_settings
from tests.dash_client import DashClient

MAX_IMPORT_BYTES = 300_000
LIMIT = max_request_bytes(MAX_IMPORT_BYTES)
MESSAGE = "it may be at most 0.5 MB (a ledger file at most 0.3 MB)"
# A body a client claims, of which it sends only the first bytes.
CLAIMED_BYTES = 300_000_000
OWN_ORIGIN = "http://localhost"
# A browser sends a file name of at most 255 bytes.
LONG_NAME = "é" * 123 + "x.csv"


@dataclass(frozen=True)
class RawAnswer:
    status: int
    body: dict
    seconds: float


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Dash]:
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'test.db'}", max_import_bytes=MAX_IMPORT_BYTES
    )
    application = create_app(settings)
    yield application
    context_of(application).close()


@pytest.fixture
def served(app: Dash) -> Iterator[tuple[int, int]]:
    """The app on Werkzeug's threaded server (what `python app.py` runs): its port, and the
    id of a portfolio to import into."""
    portfolio = create_portfolio(context_of(app), "Taxable")
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, portfolio.id
    server.shutdown()
    thread.join(timeout=5)


def ledger_file(size: int) -> bytes:
    """A CSV of our format of exactly `size` bytes (the last note pads it)."""
    head = b"date,type,ticker,quantity,price,fees,notes\n"
    row = b"2024-12-02,BUY,AAPL,1,100,0,bought\n"
    rows = (size - len(head)) // len(row) - 1
    body = head + row * rows
    return body + b"2024-12-02,BUY,AAPL,1,100,0," + b"n" * (size - len(body) - 29) + b"\n"


def preview(app: Dash, portfolio_id: int, raw: bytes) -> dict:
    contents = "data:text/csv;base64," + base64.b64encode(raw).decode()
    return DashClient(app).call(
        "ledger-preview.children",
        {"ledger-upload.contents": contents},
        {"ledger-upload.filename": LONG_NAME, "ledger-portfolio.data": portfolio_id},
    )


def send_and_wait(port: int, head: bytes, sent: bytes, *, chunked: bool = False) -> RawAnswer:
    """Send `head` and the first bytes of a body, then stop sending and read the answer: a
    server that wanted the rest of the body would not answer before the timeout."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        connection.sendall(head)
        if chunked:
            for start in range(0, len(sent), 65_536):
                piece = sent[start : start + 65_536]
                connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        else:
            connection.sendall(sent)
        received = b""
        while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
            piece = connection.recv(65_536)
            if not piece:
                break
            received += piece
    seconds = time.monotonic() - started
    status_line, _, rest = received.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    return RawAnswer(int(status_line.split()[1]), json.loads(body), seconds)


def http_head(port: int, method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_the_limit_holds_a_ledger_file_as_base64_and_its_envelope():
    assert max_request_bytes(3) == 4 + ENVELOPE_BYTES
    assert max_request_bytes(4) == 8 + ENVELOPE_BYTES
    assert max_request_bytes(2_000_000) == 2_666_668 + 65_536


def test_a_file_at_the_import_limit_reaches_the_preview(app):
    """The largest file the import takes, base64 inside Dash's callback JSON with a long file
    name, passes the body limit and is previewed."""
    portfolio = create_portfolio(context_of(app), "Taxable")
    raw = ledger_file(MAX_IMPORT_BYTES)
    assert len(raw) == MAX_IMPORT_BYTES
    answer = preview(app, portfolio.id, raw)
    assert answer["ledger-import"]["disabled"] is False
    assert f"{raw.count(b'BUY'):,} transactions" in json.dumps(answer["ledger-preview"])


def test_a_file_just_over_the_import_limit_gets_the_imports_own_message(app):
    """One byte over: still within the body's envelope, so the page says why in words."""
    portfolio = create_portfolio(context_of(app), "Taxable")
    answer = preview(app, portfolio.id, ledger_file(MAX_IMPORT_BYTES + 1))
    assert "larger than the limit of 300,000 bytes" in json.dumps(answer["ledger-preview"])
    assert answer["ledger-import"]["disabled"] is True


@pytest.mark.parametrize(
    ("path", "content_type", "headers"),
    [
        ("/_dash-update-component", "application/json", {}),
        ("/api/portfolios", "application/json", {}),
        # The CSRF check reads a same-origin form's token from the body: the limit holds there.
        ("/api/portfolios/1/import", "multipart/form-data; boundary=x", {"Origin": OWN_ORIGIN}),
        ("/signout", "application/x-www-form-urlencoded", {"Origin": OWN_ORIGIN}),
        ("/no/such/page", "text/plain", {}),
    ],
)
def test_a_body_over_the_limit_is_refused_with_a_json_message(app, path, content_type, headers):
    answer = app.server.test_client().post(
        path, data=b"x" * (LIMIT + 1), content_type=content_type, headers=headers
    )
    assert answer.status_code == 413
    assert MESSAGE in answer.get_json()["error"]


def test_a_body_at_the_limit_is_not_refused_for_its_size(app):
    answer = app.server.test_client().post(
        "/api/portfolios", data=b"x" * LIMIT, content_type="application/json"
    )
    # The API's own JSON limit (64 KiB) answers, not the body limit.
    assert answer.status_code == 413
    assert answer.get_json() == {"error": "a JSON body is at most 65,536 bytes"}


@pytest.mark.parametrize("path", ["/_dash-update-component", "/api/portfolios/{id}/import"])
def test_a_huge_declared_body_is_refused_before_it_is_sent(served, path):
    """300 MB announced, 16 bytes sent: the 413 arrives at once, so the server read none of
    the rest (before, the import read all of a 525 MB upload)."""
    port, portfolio_id = served
    is_upload = path.endswith("import")
    head = http_head(
        port,
        "POST",
        path.format(id=portfolio_id),
        {
            "Content-Type": "multipart/form-data; boundary=x" if is_upload else "application/json",
            "Content-Length": str(CLAIMED_BYTES),
            "Origin": f"http://127.0.0.1:{port}",
        },
    )
    answer = send_and_wait(port, head, b"--x\r\n{" + b" " * 10)
    assert answer.status == 413
    assert MESSAGE in answer.body["error"]
    assert answer.seconds < 5


@pytest.mark.parametrize(
    "path",
    [
        "/_dash-update-component",
        # The CSRF check parses the same-origin form until the limit stops it; Werkzeug's
        # parser leaves the part it was spooling to be closed by the garbage collector.
        pytest.param(
            "/api/portfolios/{id}/import",
            marks=pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
        ),
    ],
)
def test_a_chunked_body_without_a_length_is_cut_at_the_limit(served, path):
    """No Content-Length: the server reads up to the limit, then answers 413 while the client
    still has (by its own account) more to send."""
    port, portfolio_id = served
    is_upload = path.endswith("import")
    head = http_head(
        port,
        "POST",
        path.format(id=portfolio_id),
        {
            "Content-Type": "multipart/form-data; boundary=x" if is_upload else "application/json",
            "Transfer-Encoding": "chunked",
            "Origin": f"http://127.0.0.1:{port}",
        },
    )
    opening = (
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        if is_upload
        else b'{"output": "'
    )
    answer = send_and_wait(port, head, opening + b"a" * (LIMIT + 256 * 1024), chunked=True)
    assert answer.status == 413
    assert MESSAGE in answer.body["error"]
    assert answer.seconds < 5
