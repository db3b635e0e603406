"""Shared fixtures: a network guard for the whole session, settings, databases, apps and clients.

Database tests run on SQLite always and on PostgreSQL too when TEST_DATABASE_URL is set; each
PostgreSQL test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import curl_cffi.requests
import pytest
import requests.adapters
from dash import Dash
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from dashapp import context_of, create_app
from dashapp.clock import FrozenClock
from dashapp.services.context import AppContext, build_context
from dashapp.settings import Settings
from dashapp.telemetry import metrics

# A Wednesday evening after the close: the 2024-12-04 session is complete.
AFTER_CLOSE = datetime(2024, 12, 4, 22, 0, tzinfo=UTC)
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "").strip()


class NetworkBlocked(RuntimeError):
    """A test tried to reach something outside this machine."""


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _install_network_guard() -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: object) -> None:
        if sock.family == socket.AF_UNIX:
            return
        host = address[0] if isinstance(address, tuple) else address
        if not _is_loopback(host):
            raise NetworkBlocked(f"test tried to connect to {address!r}")

    def guarded_connect(sock: socket.socket, address: object) -> None:
        check(sock, address)
        return real_connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: object) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host is not None and not _is_loopback(host if isinstance(host, str) else str(host)):
            raise NetworkBlocked(f"test tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def blocked_http(*args: object, **kwargs: object) -> object:
        # curl_cffi opens its own sockets below Python's socket module: stop it at the API.
        raise NetworkBlocked(f"test tried an HTTP request: {args[1:2]!r}")

    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    socket.getaddrinfo = guarded_getaddrinfo
    curl_cffi.requests.Session.request = blocked_http
    requests.adapters.HTTPAdapter.send = blocked_http


def pytest_configure(config: pytest.Config) -> None:
    _install_network_guard()


@pytest.fixture(scope="session", autouse=True)
def metrics_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One metrics directory for the test process, set once as an entry point sets it
    (`create_app` never does). The rest of `configure_process`, logging and yfinance, is left
    to the tests about them."""
    return metrics.configure(tmp_path_factory.mktemp("prometheus"))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(AFTER_CLOSE)


DATABASES = ["sqlite", *(["postgresql"] if TEST_DATABASE_URL else [])]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with postgres_schema() as url:
        yield url


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL of TEST_DATABASE_URL whose search_path is a new, empty schema, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(TEST_DATABASE_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in TEST_DATABASE_URL else "?"
    try:
        yield f"{TEST_DATABASE_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    return Settings.from_env(
        {},
        instance_dir=tmp_path / "instance",
        cache_dir=tmp_path / "cache",
        database_url=database_url,
        market_data="demo",
        secret_key="test-secret",
        **overrides,
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def app_context(settings: Settings, clock: FrozenClock) -> Iterator[AppContext]:
    context = build_context(settings, clock=clock)
    yield context
    context.close()


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Iterator[Dash]:
    application = create_app(settings, clock=clock)
    yield application
    context_of(application).close()


@pytest.fixture
def client(app: Dash) -> FlaskClient:
    return app.server.test_client()
