"""Bring the schema up to date with Alembic, once per deployment, and let the other processes
wait for it.

One process migrates: `python -m dashapp.db upgrade`, gunicorn's master (gunicorn.conf.py) or
`python app.py`, under a lock shared by every process using the database. Web workers, Celery
workers and the clock never migrate: they ask where the schema is and wait for its head.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from dashapp.db.engine import wait_for_advisory_lock

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
# Any constant works; it only has to be the same in every process of this app.
POSTGRES_MIGRATION_LOCK = 7_413_020_241


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_to_head(engine: Engine, lock_dir: Path) -> None:
    """Run pending migrations under a lock shared by every process using this database."""
    with _migration_lock(engine, lock_dir):
        command.upgrade(alembic_config(engine), "head")


@dataclass(frozen=True)
class SchemaState:
    """Where the database's schema is (`current`, None when it has none yet) and where this
    code needs it (`head`)."""

    current: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        where = self.current or "no revision (an empty database)"
        return f"the database schema is at {where}, this code needs {self.head}"


class SchemaNotReady(RuntimeError):
    """The schema is not at this code's head: behind after waiting, or a revision this code
    does not know (the database was migrated by newer code)."""


# How often a waiting process asks again, and how often it says that it still waits.
SCHEMA_POLL_SECONDS = 1.0
SCHEMA_REPORT_SECONDS = 10.0


def schema_state(engine: Engine) -> SchemaState:
    """Read the revision stamped in the database; creates nothing (an empty SQLite file stays
    empty)."""
    head = _scripts(engine).get_current_head()
    # Read Alembic's table directly: its MigrationContext logs two INFO lines per look, and a
    # waiting worker looks every second.
    with engine.connect() as connection:
        current = (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if inspect(connection).has_table("alembic_version")
            else None
        )
    return SchemaState(current=current, head=head or "")


def wait_for_head(
    engine: Engine,
    seconds: float,
    say: Callable[[str], None],
    *,
    process: str,
) -> SchemaState:
    """Return once the schema is at head; raise SchemaNotReady after `seconds`, or at once for
    a revision this code does not know.

    A worker or clock started beside the web (honcho, a platform's release) finds an empty
    database for the seconds the web's master takes to migrate it: it waits instead of failing
    the whole start, and says what it waits for and who migrates.
    """
    known = {revision.revision for revision in _scripts(engine).walk_revisions()}
    started = time.monotonic()
    reported_at: float | None = None
    while True:
        state = schema_state(engine)
        waited = time.monotonic() - started
        if state.at_head:
            if reported_at is not None:
                say(f"{process}: the database schema is at {state.head}, starting")
            return state
        if state.current is not None and state.current not in known:
            raise SchemaNotReady(
                f"{state.describe()}; {state.current} is unknown here, so the database was "
                "migrated by newer code: run the same version of StockTracker everywhere"
            )
        if waited >= seconds:
            raise SchemaNotReady(
                f"{state.describe()} and nothing migrated it within {seconds:g} s "
                "(SCHEMA_WAIT_SECONDS): run `python -m dashapp.db upgrade`, or start the web "
                "(its gunicorn master migrates)"
            )
        if reported_at is None or waited - reported_at >= SCHEMA_REPORT_SECONDS:
            say(
                f"{process}: waiting for the database schema: {state.describe()}; the web's "
                "gunicorn master or `python -m dashapp.db upgrade` migrates it"
            )
            reported_at = waited
        time.sleep(SCHEMA_POLL_SECONDS)


def _scripts(engine: Engine) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(engine))


@contextmanager
def _migration_lock(engine: Engine, lock_dir: Path) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            wait_for_advisory_lock(connection, POSTGRES_MIGRATION_LOCK)
            connection.commit()
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": POSTGRES_MIGRATION_LOCK}
                )
                connection.commit()
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / "migrate.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
