"""Process-wide settings, made once by each entry point (`python app.py`, gunicorn's master and
workers through `app`, the Celery worker, `python -m dashapp.jobs`) before it builds anything.

Nothing else writes logging configuration, environment variables or library globals:
`create_app` and the constructors only read what is set here.
"""

from __future__ import annotations

import logging

from dashapp.market.yahoo import configure_yfinance
from dashapp.settings import Settings
from dashapp.telemetry import metrics


def configure_process(settings: Settings) -> None:
    """Logging at LOG_LEVEL, the metrics directory shared by the host's processes, and
    yfinance's globals."""
    logging.basicConfig(level=settings.log_level)
    # werkzeug sets its own logger to INFO when it finds it unset, so the embedded server wrote
    # an access line per request whatever LOG_LEVEL said: 2-3 % of its CPU under load.
    logging.getLogger("werkzeug").setLevel(settings.log_level)
    metrics.configure(settings.metrics_dir)
    configure_yfinance(settings.instance_dir / "yfinance")
