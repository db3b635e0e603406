"""`python -m dashapp.db upgrade` brings the schema to head, once per deployment (a release step);
`python -m dashapp.db current` says where it is.

Exit 0 on success (for `current`: the schema is at head), 1 with one line on stderr otherwise.
Settings come from the environment as for every process (DATABASE_URL, or the default SQLite
file under INSTANCE_DIR; STOCKTRACKER_DEMO=1 for the demo's own database).
"""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from dashapp.db.engine import Database
from dashapp.db.migrate import schema_state, upgrade_to_head
from dashapp.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashapp.db", description=__doc__)
    parser.add_argument("command", choices=("upgrade", "current"))
    arguments = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        return _fail(arguments.command, str(error))
    logging.basicConfig(level=settings.log_level)
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    try:
        before = schema_state(db.engine)
        if arguments.command == "current":
            print(before.describe())
            return 0 if before.at_head else 1
        if before.at_head:
            print(f"database schema: already at {before.head}")
            return 0
        upgrade_to_head(db.engine, settings.instance_dir)
        print(f"database schema: {before.current or 'empty'} -> {schema_state(db.engine).current}")
        return 0
    except OperationalError as error:
        return _fail(
            arguments.command,
            f"DATABASE_URL: cannot connect to {_where(settings.database_url)} "
            f"({_first_line(error)})",
        )
    finally:
        db.dispose()


def _fail(command: str, reason: str) -> int:
    what = "upgrade the database" if command == "upgrade" else "read the database schema"
    print(f"StockTracker cannot {what}: {reason}", file=sys.stderr)
    return 1


def _where(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def _first_line(error: OperationalError) -> str:
    lines = [line.strip() for line in str(error.orig or error).splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:200]


if __name__ == "__main__":
    sys.exit(main())
