"""gunicorn reads this file from the working directory: Prometheus multiprocess housekeeping.

Every worker writes its metrics to files in one directory (settings.metrics_dir, exported as
PROMETHEUS_MULTIPROC_DIR before prometheus_client is imported) and `/metrics` sums them.
- on_starting: files of processes that no longer run are left from an earlier start; removing
  them resets the counters, as any restart does. Files of live processes (a clock process on
  this host) stay.
- child_exit: `multiprocess.mark_process_dead` drops a dead worker's live-gauge files; its
  counters and histograms stay in the sums, as Prometheus counters must.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dashapp.settings import Settings
from dashapp.telemetry import metrics


def _metrics_dir() -> Path:
    return metrics.configure(Settings.from_env().metrics_dir)


def on_starting(server: Any) -> None:
    for leftover in _metrics_dir().glob("*.db"):
        pid = leftover.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_metrics_dir()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
