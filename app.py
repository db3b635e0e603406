"""Entry point: `python app.py [--demo]` runs the dev server; `gunicorn app:server` serves it."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from dashapp import context_of, create_app
from dashapp.services.demo import seed_demo_portfolio, warm_demo_cache
from dashapp.services.deployment import MarketDataMismatch, check_market_data, publish_market_data
from dashapp.settings import Settings, SettingsError

# gunicorn's WORKER_BOOT_ERROR: its master stops, instead of starting workers that fail forever.
CANNOT_START = 3


def _cannot_start(error: SettingsError) -> NoReturn:
    """One line naming the setting (and the host it points at), no traceback."""
    print(f"StockTracker cannot start: {error}", file=sys.stderr, flush=True)
    sys.exit(CANNOT_START)


def _settings(argv: list[str]) -> Settings:
    parser = argparse.ArgumentParser(description="StockTracker portfolio dashboard")
    parser.add_argument(
        "--demo", action="store_true", help="offline demo market and demo portfolio"
    )
    arguments, _ = parser.parse_known_args(argv)
    environ = dict(os.environ)
    if arguments.demo:
        environ["STOCKTRACKER_DEMO"] = "1"
    try:
        return Settings.from_env(environ)
    except SettingsError as error:
        _cannot_start(error)


settings = _settings(sys.argv[1:] if __name__ == "__main__" else [])
try:
    # Unreachable database or Redis: StartupError, a SettingsError, within the connect timeouts.
    app = create_app(settings)
except SettingsError as error:
    _cannot_start(error)
server = app.server
# The Celery app for `celery -A app:celery worker`, present when REDIS_URL is set.
celery = server.extensions.get("celery")


def _is_celery_worker(argv: list[str]) -> bool:
    """`celery -A app:celery worker` imports this module as well: it follows the web."""
    program = os.path.basename(argv[0]) if argv else ""
    return "worker" in argv[1:] and (program == "celery" or argv[0].endswith("celery/__main__.py"))


if _is_celery_worker(sys.argv):
    try:
        check_market_data(context_of(app), "Celery worker")
    except MarketDataMismatch as mismatch:
        sys.exit(f"StockTracker worker cannot start: {mismatch}")
else:
    publish_market_data(context_of(app))

if settings.demo:
    # Seeding and warming happen before the first request, never on a request's path.
    demo_portfolio = seed_demo_portfolio(context_of(app))
    warm_demo_cache(context_of(app), demo_portfolio)

if __name__ == "__main__":
    app.run(host=settings.host, port=settings.port, debug=False)
