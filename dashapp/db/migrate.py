"""Bring the schema up to date with Alembic, once, even when several workers start together."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

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
