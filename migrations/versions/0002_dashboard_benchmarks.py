"""portfolios.dashboard_benchmarks: the ETFs each portfolio's dashboard compares it with

Revision ID: 0002_dashboard_benchmarks
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_dashboard_benchmarks"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portfolios", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dashboard_benchmarks", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("portfolios", schema=None) as batch_op:
        batch_op.drop_column("dashboard_benchmarks")
