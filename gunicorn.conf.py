"""gunicorn reads this file from the working directory: the deployment's once-only start-up,
Prometheus multiprocess housekeeping and a stuck-request watchdog.

on_starting runs in the master, before any worker exists: it configures logging and the metrics
directory (inherited by the workers it forks), then publishes MARKET_DATA, migrates the schema
under the migration lock and, in demo mode, seeds and warms the demo portfolio
(services/deployment.py), so that workers only import the app. A dependency that cannot be
used stops the master there with one line naming the setting. on_reload (SIGHUP) prepares
again for the code it is about to start, and logs a failure instead of stopping.

Every worker writes its metrics to files in one directory (settings.metrics_dir, exported as
PROMETHEUS_MULTIPROC_DIR before prometheus_client is imported) and `/metrics` sums them.
- on_starting: files of processes that no longer run are left from an earlier start; removing
  them resets the counters, as any restart does. Files of live processes (a clock process on
  this host) stay.
- child_exit: `multiprocess.mark_process_dead` drops a dead worker's live-gauge files; its
  counters and histograms stay in the sums, as Prometheus counters must.

And a stuck-request watchdog. gunicorn's `--timeout` only restarts a worker whose main loop
stops: a gthread worker's main loop keeps running while every one of its threads waits on a
dead dependency, so the worker would never be replaced. Every wait has a timeout of its own
(database, Redis, cache, upstream), so a request should never outlive `--timeout`; if one does,
the watchdog thread logs it and ends the worker, and the master starts a fresh one.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from app import cannot_start, configure_process, settings_from
from dashapp.services.deployment import prepare_deployment
from dashapp.settings import SettingsError, is_loopback, refuse_open_bind
from dashapp.telemetry import metrics


def on_starting(server: Any) -> None:
    settings = settings_from()
    configure_process(settings)
    if not settings.accounts:
        # A unix socket is local by nature; every TCP address must be a loopback one.
        for address in server.cfg.address:
            if isinstance(address, tuple) and not is_loopback(str(address[0])):
                cannot_start(SettingsError("HOST", refuse_open_bind(str(address[0]))))
    for leftover in metrics.directory().glob("*.db"):
        pid = leftover.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)
    try:
        prepare_deployment(settings)
    except SettingsError as error:
        cannot_start(error)


def on_reload(server: Any) -> None:
    """SIGHUP starts workers of the code now on disk, which may bring migrations: run them
    first. A failure (a dependency down, a migration that fails) is logged with its cause,
    and the master goes on: stopping it would end the service the old workers still give."""
    try:
        prepare_deployment(settings_from())
    except Exception:
        server.log.exception("StockTracker could not prepare the reloaded code")


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(metrics.directory()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


WATCHDOG_INTERVAL_SECONDS = 1.0
# Exit status of a worker the watchdog ended (the master just starts another).
STUCK_WORKER_STATUS = 70


def post_worker_init(worker: Any) -> None:
    worker.request_starts = {}
    if worker.cfg.timeout > 0:
        threading.Thread(
            target=_watch, args=(worker,), name="stuck-request-watchdog", daemon=True
        ).start()


def pre_request(worker: Any, req: Any) -> None:
    worker.request_starts[threading.get_ident()] = (time.monotonic(), req.path)


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    worker.request_starts.pop(threading.get_ident(), None)


def _watch(worker: Any) -> None:
    limit = worker.cfg.timeout
    while True:
        time.sleep(WATCHDOG_INTERVAL_SECONDS)
        now = time.monotonic()
        for started, path in list(worker.request_starts.values()):
            if now - started > limit:
                worker.log.critical(
                    "request to %s has run %.0f s, past --timeout %s s: restarting worker %s",
                    path,
                    now - started,
                    limit,
                    worker.pid,
                )
                # Threads blocked in C cannot be interrupted, and a normal exit would wait for
                # them: leave at once; the master sees the exit and starts a new worker.
                os._exit(STUCK_WORKER_STATUS)
