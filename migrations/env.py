"""Alembic environment: runs on the engine the app hands over, or on sqlalchemy.url from the CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from dashapp.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url")
    )
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration copies a table, drops it and renames the copy: with foreign keys
            # on, the drop would cascade into the rows that point at it (a portfolio's
            # transactions). SQLite ignores this pragma inside a transaction, so it comes first.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


run_migrations_online()
