"""accounts: users, API tokens, the ledger's change history, and an owner for every portfolio

Existing portfolios go to a first user, `local`, created here without a password: the one
implicit user of AUTH=local. The first account made with `python -m dashapp.accounts
create-user` takes that user over (name, password), and with it the portfolios made so far.
Portfolio names become unique per owner instead of across the whole database.

Revision ID: 0004_accounts
Revises: 0003_unique_portfolio_names
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_accounts"
down_revision = "0003_unique_portfolio_names"
branch_labels = None
depends_on = None

LOCAL_USER = "local"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("failed_signins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_users_username_ci", "users", [sa.text("lower(username)")], unique=True)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=5), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('read','write')", name="ck_api_tokens_scope"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    users = sa.table(
        "users",
        sa.column("username", sa.String),
        sa.column("is_admin", sa.Boolean),
        sa.column("failed_signins", sa.Integer),
    )
    op.bulk_insert(users, [{"username": LOCAL_USER, "is_admin": True, "failed_signins": 0}])
    connection = op.get_bind()
    local_id = connection.execute(
        sa.text("SELECT id FROM users WHERE username = :name"), {"name": LOCAL_USER}
    ).scalar_one()

    op.drop_index("uq_portfolios_name_ci", table_name="portfolios")
    with op.batch_alter_table("portfolios", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
    connection.execute(sa.text("UPDATE portfolios SET user_id = :id"), {"id": local_id})
    with op.batch_alter_table("portfolios", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            "fk_portfolios_user_id", "users", ["user_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.drop_column("owner_id")
    op.create_index(
        "uq_portfolios_owner_name_ci",
        "portfolios",
        ["user_id", sa.text("lower(trim(name))")],
        unique=True,
    )

    op.create_table(
        "ledger_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["portfolio_id"], ["portfolios.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_ledger_changes_portfolio_at", "ledger_changes", ["portfolio_id", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_changes_portfolio_at", table_name="ledger_changes")
    op.drop_table("ledger_changes")
    op.drop_index("uq_portfolios_owner_name_ci", table_name="portfolios")
    with op.batch_alter_table("portfolios", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("owner_id", sa.String(length=64), nullable=False, server_default="local")
        )
        batch_op.drop_constraint("fk_portfolios_user_id", type_="foreignkey")
        batch_op.drop_column("user_id")
    op.create_index(
        "uq_portfolios_name_ci", "portfolios", [sa.text("lower(trim(name))")], unique=True
    )
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("uq_users_username_ci", table_name="users")
    op.drop_table("users")
