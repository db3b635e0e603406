"""portfolios: names unique case-insensitively, so no selector shows two identical entries

Existing duplicates (same name once trimmed and lower-cased) keep the oldest portfolio's name;
the others become "<name> (2)", "<name> (3)", ... before the unique index is created.

Revision ID: 0003_unique_portfolio_names
Revises: 0002_dashboard_benchmarks
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_unique_portfolio_names"
down_revision = "0002_dashboard_benchmarks"
branch_labels = None
depends_on = None

INDEX = "uq_portfolios_name_ci"


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, name FROM portfolios ORDER BY id")).all()
    taken = {name.strip().lower() for _, name in rows}
    seen: set[str] = set()
    for portfolio_id, name in rows:
        key = name.strip().lower()
        if key not in seen:
            seen.add(key)
            continue
        number = 2
        while f"{name.strip()} ({number})".lower() in taken:
            number += 1
        renamed = f"{name.strip()} ({number})"
        taken.add(renamed.lower())
        seen.add(renamed.lower())
        connection.execute(
            sa.text("UPDATE portfolios SET name = :name WHERE id = :id"),
            {"name": renamed, "id": portfolio_id},
        )
    op.create_index(INDEX, "portfolios", [sa.text("lower(trim(name))")], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="portfolios")
