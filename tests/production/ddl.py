"""Which process sent which DDL: a sitecustomize module, put first on a child's PYTHONPATH,
records `<pid> <statement>` for every CREATE, ALTER and DROP that SQLAlchemy sends."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

PROBE_DIR = Path(__file__).resolve().parent / "ddl_probe"


def probe_env(record: Path) -> dict[str, str]:
    """Environment that makes a child process (and those it forks) record its DDL in `record`."""
    path = os.pathsep.join(filter(None, [str(PROBE_DIR), os.environ.get("PYTHONPATH", "")]))
    return {"PYTHONPATH": path, "DDL_PROBE_FILE": str(record)}


def ddl_by_process(record: Path) -> Counter[int]:
    """Number of DDL statements per process id."""
    if not record.exists():
        return Counter()
    return Counter(int(line.split(" ", 1)[0]) for line in record.read_text().splitlines())
