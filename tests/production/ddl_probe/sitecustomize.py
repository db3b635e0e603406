"""Loaded by every Python process whose PYTHONPATH starts here (see tests/production/ddl.py):
appends `<pid> <statement>` for each DDL statement SQLAlchemy sends to DDL_PROBE_FILE."""

import os

from sqlalchemy import event
from sqlalchemy.engine import Engine

DDL_WORDS = ("CREATE", "ALTER", "DROP")


@event.listens_for(Engine, "before_cursor_execute")
def _record(conn, cursor, statement, parameters, context, executemany):
    words = statement.lstrip().split(None, 2)
    if words and words[0].upper() in DDL_WORDS:
        line = f"{os.getpid()} {' '.join(words[:2])}\n"
        with open(os.environ["DDL_PROBE_FILE"], "a") as probe:
            probe.write(line)
