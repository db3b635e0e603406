"""A live app served from a thread and a headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from dashapp import context_of, create_app
from dashapp.clock import FrozenClock
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from tests.conftest import make_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class LiveServer:
    def __init__(self, app, host: str = "127.0.0.1") -> None:
        self.app = app
        self._server = make_server(host, 0, app.server, threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("chromium is required (REQUIRE_BROWSER is set) but was not found")
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    # The app's CSP forbids eval and inline scripts, which Playwright's string predicates
    # (wait_for_function) and axe's injected script need. The policy itself is exercised,
    # unbypassed, on every page by test_csp_browser.py.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    opened = context.new_page()
    yield opened
    context.close()


class LiveApps:
    """Builds apps on a test's own database and serves them until the test ends."""

    def __init__(self, tmp_path: Path, clock: FrozenClock) -> None:
        self.tmp_path = tmp_path
        self.clock = clock
        self.servers: list[LiveServer] = []

    def build(self, provider=None, **overrides: object):
        settings = make_settings(
            self.tmp_path, f"sqlite:///{self.tmp_path / 'live.db'}", **overrides
        )
        return create_app(settings, clock=self.clock, provider=provider)

    def serve(self, app) -> str:
        server = LiveServer(app).__enter__()
        self.servers.append(server)
        return server.url

    def close(self) -> None:
        for server in self.servers:
            server.__exit__()


@pytest.fixture
def live_apps(tmp_path: Path, clock: FrozenClock) -> Iterator[LiveApps]:
    apps = LiveApps(tmp_path, clock)
    yield apps
    apps.close()


@pytest.fixture
def demo(live_apps: LiveApps) -> tuple[str, int]:
    """The demo portfolio, its prices warm, served: (base URL, portfolio id)."""
    app = live_apps.build()
    context = context_of(app)
    portfolio_id = seed_demo_portfolio(context)
    warm_demo_cache(context, portfolio_id)
    return live_apps.serve(app), portfolio_id
