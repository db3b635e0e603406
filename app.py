"""Entry points: `python app.py [--demo]` runs the dev server; `gunicorn app:server` serves the
web and `celery -A app:celery worker` runs background callbacks.

Importing this module defines functions and nothing else. `server`, `app` and `celery` are
built on first use (PEP 562 module `__getattr__`) without touching the schema: gunicorn's
master (gunicorn.conf.py), `python app.py` or `python -m dashapp.db upgrade` migrates once per
deployment, and a Celery worker waits for that before it takes jobs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from celery.signals import worker_init
from dash import Dash

from dashapp import context_of, create_app
from dashapp.db.migrate import SchemaNotReady
from dashapp.process import configure_process
from dashapp.security_headers import QuietRequestHandler
from dashapp.services.deployment import MarketDataMismatch, join_deployment, prepare_deployment
from dashapp.settings import Settings, SettingsError, is_loopback, refuse_open_bind

# gunicorn's WORKER_BOOT_ERROR: its master stops, instead of starting workers that fail forever.
CANNOT_START = 3
BUILT_ON_FIRST_USE = ("app", "server", "celery")


def cannot_start(error: Exception) -> NoReturn:
    """One line naming the setting (and the host it points at), no traceback."""
    print(f"StockTracker cannot start: {error}", file=sys.stderr, flush=True)
    sys.exit(CANNOT_START)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="StockTracker portfolio dashboard")
    parser.add_argument(
        "--demo", action="store_true", help="offline demo market and demo portfolio"
    )
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="migrate the database (with --demo: seed and warm the demo portfolio), then exit",
    )
    arguments, _ = parser.parse_known_args(argv)
    return arguments


def settings_from(*, demo: bool = False) -> Settings:
    environ = dict(os.environ)
    if demo:
        environ["STOCKTRACKER_DEMO"] = "1"
    try:
        return Settings.from_env(environ)
    except SettingsError as error:
        cannot_start(error)


def build(settings: Settings) -> Dash:
    """The web app of a deployed process: it neither migrates nor seeds."""
    try:
        # Unreachable database or Redis: StartupError, a SettingsError, within the timeouts.
        return create_app(settings, migrate=False)
    except SettingsError as error:
        cannot_start(error)


def __getattr__(name: str) -> Any:
    """`app`, `server` and `celery`, built once, when gunicorn or Celery first asks for them."""
    if name not in BUILT_ON_FIRST_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    settings = settings_from()
    configure_process(settings)
    dash_app = build(settings)
    # The Celery app for `celery -A app:celery worker`, present when REDIS_URL is set.
    celery_app = dash_app.server.extensions.get("celery")
    if celery_app is not None:
        # Sent only when a worker starts (before it takes jobs), not when the web builds this.
        worker_init.connect(_join_as_celery_worker, weak=False, dispatch_uid=__name__)
    globals().update(app=dash_app, server=dash_app.server, celery=celery_app)
    return globals()[name]


def _join_as_celery_worker(**_: Any) -> None:
    """Wait for the schema at head and follow the web's MARKET_DATA, or stop with one line."""
    try:
        join_deployment(context_of(globals()["app"]), "Celery worker", _say)
    except (SchemaNotReady, MarketDataMismatch) as reason:
        print(f"StockTracker worker cannot start: {reason}", file=sys.stderr, flush=True)
        sys.exit(CANNOT_START)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str]) -> None:
    """`python app.py [--demo] [--prepare-only]`: prepare the deployment, then serve."""
    arguments = parse_arguments(argv)
    settings = settings_from(demo=arguments.demo)
    if not arguments.prepare_only and not settings.accounts and not is_loopback(settings.host):
        cannot_start(SettingsError("HOST", refuse_open_bind(settings.host)))
    configure_process(settings)
    try:
        prepare_deployment(settings)
    except SettingsError as error:
        cannot_start(error)
    if not arguments.prepare_only:
        # Its Server header names the app, not the Werkzeug and Python versions.
        build(settings).run(
            host=settings.host,
            port=settings.port,
            debug=False,
            request_handler=QuietRequestHandler,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
