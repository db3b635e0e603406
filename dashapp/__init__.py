"""StockTracker: the application factory that builds the Dash app around a Flask server."""

from __future__ import annotations

from pathlib import Path

from celery import Celery
from dash import Dash
from flask import Flask

from dashapp.accounts.web import install_accounts
from dashapp.api.backtests import backtest_blueprint
from dashapp.api.history import history_blueprint
from dashapp.api.openapi import openapi_blueprint
from dashapp.api.portfolios import api_blueprint
from dashapp.api.reports import reports_blueprint
from dashapp.asset_caching import cache_versioned_files
from dashapp.body_limits import install_body_limits
from dashapp.clock import Clock
from dashapp.dash_errors import register_dash_client_errors
from dashapp.http_cache import install_http_cache
from dashapp.json_answers import OrjsonProvider
from dashapp.market.providers import MarketDataProvider
from dashapp.not_found import register_not_found
from dashapp.quotas import install_quotas
from dashapp.secret_key import secret_key_of
from dashapp.security_headers import install_security_headers
from dashapp.services import cache_status
from dashapp.services.context import AppContext, build_context
from dashapp.services.shared_cache import SharedCache
from dashapp.settings import Settings
from dashapp.telemetry import metrics
from dashapp.telemetry.health import register_health
from dashapp.telemetry.timing import (
    TimedProvider,
    install_db_timing,
    install_request_timing,
)
from dashapp.ui import shell
from dashapp.ui.background_jobs import PerRequestCeleryManager, ThreadedDiskcacheManager
from dashapp.ui.first_paint import install_first_paint
from dashapp.ui.transactions.history import register_history_callbacks
from dashapp.ui.validation import validation_layout

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
CONTEXT_KEY = "stocktracker"


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    provider: MarketDataProvider | None = None,
    migrate: bool = True,
) -> Dash:
    """Build a Dash app with its Flask server, database, price store and callbacks.

    Nothing happens at import time; each call builds an independent app (tests build many).
    `migrate=True` brings a fresh database to head (tests, benches). The deployed processes
    pass False: their schema is migrated once per deployment (gunicorn's master, `python
    app.py`, `python -m dashapp.db upgrade`), never by a web or Celery worker. Logging and
    other process-wide settings belong to the entry points, not here.
    """
    settings = settings or Settings.from_env()
    app_context = build_context(settings, clock=clock, provider=provider, migrate=migrate)
    server = Flask("dashapp")
    server.json = OrjsonProvider(server)
    # Background-callback job handles are signed with this key: every worker must share it.
    server.secret_key = secret_key_of(settings)
    server.extensions[CONTEXT_KEY] = app_context
    manager = _background_manager(app_context)
    if isinstance(manager, PerRequestCeleryManager):
        server.extensions["celery"] = manager.handle
    app = Dash(
        "dashapp",
        server=server,
        title="StockTracker",
        assets_folder=str(ASSETS_DIR),
        # Dash does not require it with validation_layout; it stays for cost: with it False,
        # Dash 4 writes the whole validation layout (tens of kB of JSON) into the config of
        # every index page it serves (dash.py, `Dash._config`) for the browser to check on
        # each load. tests/ui/test_callback_ids.py makes that check once, on the server.
        suppress_callback_exceptions=True,
        background_callback_manager=manager,
        external_stylesheets=[],
        update_title=None,
    )
    # Every page in each of its states, drawn once from blank values: it reads nothing.
    app.validation_layout = validation_layout()
    app.layout = lambda: shell.layout(app_context)
    install_first_paint(app, app_context)
    shell.register_callbacks(app, app_context)
    # First, so that its hooks time every answer, those that other hooks cut short included.
    _install_telemetry(app, app_context)
    # Right after the timing, before every other hook and view: who a request acts for decides
    # what the rest may see.
    install_accounts(server, app_context)
    # A body over the limit is refused (413) before anything reads it, quotas included.
    install_body_limits(server, settings)
    # Per-user quotas on the expensive work; the pages and the API count into the same ones.
    install_quotas(server, settings)
    server.register_blueprint(api_blueprint(app_context))
    server.register_blueprint(backtest_blueprint(app_context))
    server.register_blueprint(openapi_blueprint())
    register_not_found(app)
    register_dash_client_errors(app)
    server.register_blueprint(reports_blueprint(app_context))
    # A portfolio's history: its JSON, and its card's callbacks on the transactions page.
    server.register_blueprint(history_blueprint(app_context))
    register_history_callbacks(app, app_context)
    install_http_cache(server, app_context)
    cache_versioned_files(server)
    # Last: the CSP allows each inline clientside callback by its hash, so all must be known.
    install_security_headers(app)
    _register_component_libraries(app)
    return app


def _register_component_libraries(app: Dash) -> None:
    """Run Dash's one-time server set-up now, so every component library is registered before
    the first request of any kind.

    Dash does it in a before_request hook that marks itself done before it has registered
    anything: a gthread worker's second thread, serving `/_dash-component-suites/...` while the
    first still validates the layout, answered 500 "dash is not a registered library", and a
    browser that met such a fresh (or recycled) worker stayed on "Loading..." for good.
    """
    with app.server.test_request_context("/"):
        app._setup_server()


def context_of(app: Dash) -> AppContext:
    return app.server.extensions[CONTEXT_KEY]


def _install_telemetry(app: Dash, app_context: AppContext) -> None:
    """Server-Timing and a latency histogram for every request, `/metrics` and `/healthz`."""
    cache_status.count_cache_use(app_context)
    install_db_timing(app_context.db.engine)
    app_context.store.provider = TimedProvider(app_context.store.provider)
    install_request_timing(app.server, lambda: app.callback_map, metrics.observe_request)
    metrics.register_metrics(app.server, lambda: cache_status.metric_families(app_context))
    register_health(
        app.server,
        cache_status.health_checks(app_context, celery=app.server.extensions.get("celery")),
    )


def _background_manager(
    app_context: AppContext,
) -> ThreadedDiskcacheManager | PerRequestCeleryManager:
    """Celery on Redis when REDIS_URL is set (several hosts), else threads of the web process
    with their state in a diskcache under CACHE_DIR (see ui/background_jobs.py for why not
    Dash's forked processes).

    The diskcache must be a shared directory: a private one per process makes jobs started by
    one gunicorn worker invisible to the worker that the browser polls next.
    """
    settings = app_context.settings
    if settings.redis_url:
        return PerRequestCeleryManager(celery_app(settings))
    return ThreadedDiskcacheManager(
        SharedCache(
            str(Path(settings.cache_dir) / "callbacks"), timeout=settings.cache_timeout_seconds
        )
    )


def celery_app(settings: Settings) -> Celery:
    """The Celery app that runs background callbacks (`celery -A app:celery worker`)."""
    application = Celery("stocktracker", broker=settings.redis_url, backend=settings.redis_url)
    # A dead or frozen Redis fails a callback's start or poll within seconds: socket timeouts
    # on broker and backend, and one quick retry instead of Celery's default of retrying for
    # tens of seconds.
    timeout = settings.redis_timeout_seconds
    quick_retry = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
    application.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_timeout=timeout,
        broker_transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
        redis_socket_timeout=timeout,
        redis_socket_connect_timeout=timeout,
        result_backend_transport_options={"retry_policy": quick_retry},
        task_publish_retry_policy=quick_retry,
    )
    return application


__all__ = ["context_of", "create_app"]
