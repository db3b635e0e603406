"""Two portfolios never share a name (trimmed, case-insensitive): every selector lists them by name."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from dashapp.db.engine import make_engine
from dashapp.db.migrate import alembic_config
from dashapp.services.portfolios import (
    InvalidInput,
    create_portfolio,
    list_portfolios,
    rename_portfolio,
)


def test_a_name_taken_in_another_case_or_with_spaces_is_refused_on_create(app_context):
    create_portfolio(app_context, "Retirement")
    for name in ("Retirement", "  retirement ", "RETIREMENT"):
        with pytest.raises(InvalidInput) as refused:
            create_portfolio(app_context, name)
        assert refused.value.field == "name"
        assert refused.value.reason == 'a portfolio named "Retirement" exists already'
    assert [p.name for p in list_portfolios(app_context)] == ["Retirement"]


def test_renaming_onto_another_portfolios_name_is_refused_but_a_new_case_of_its_own_is_not(
    app_context,
):
    first = create_portfolio(app_context, "Growth")
    second = create_portfolio(app_context, "Income")
    with pytest.raises(InvalidInput) as refused:
        rename_portfolio(app_context, second.id, " growth")
    assert refused.value.field == "name"
    assert rename_portfolio(app_context, first.id, "GROWTH").name == "GROWTH"
    assert sorted(p.name for p in list_portfolios(app_context)) == ["GROWTH", "Income"]


def test_the_database_refuses_a_duplicate_that_skips_the_service(app_context):
    """The unique index catches what a concurrent request could slip past the check."""
    create_portfolio(app_context, "Trading")
    with (
        pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"),
        app_context.db.engine.begin() as connection,
    ):
        connection.execute(
            text(
                "INSERT INTO portfolios (user_id, name, base_currency, version)"
                " VALUES (1, ' trading', 'USD', 1)"
            )
        )


def test_the_migration_renames_existing_duplicates_before_indexing(database_url):
    engine = make_engine(database_url)
    try:
        config = alembic_config(engine)
        command.upgrade(config, "0002_dashboard_benchmarks")
        with engine.begin() as connection:
            for name in ("Family", "family ", "FAMILY", "Family (2)", "Solo"):
                connection.execute(
                    text(
                        "INSERT INTO portfolios (owner_id, name, base_currency, version)"
                        " VALUES ('local', :name, 'USD', 1)"
                    ),
                    {"name": name},
                )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            names = connection.scalars(text("SELECT name FROM portfolios ORDER BY id")).all()
            owners = connection.execute(
                text(
                    "SELECT DISTINCT users.username, users.password_hash FROM portfolios"
                    " JOIN users ON users.id = portfolios.user_id"
                )
            ).all()
    finally:
        engine.dispose()
    # Migration 0004 gives the single-user data to a first user, who has no password yet.
    assert owners == [("local", None)]
    # The oldest keeps its name; "Family (2)" was taken already, so the copies count on.
    assert names == ["Family", "family (3)", "FAMILY (4)", "Family (2)", "Solo"]
