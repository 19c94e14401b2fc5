"""the console's users and the service's own secrets; the audit log names a user

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 19:05:00

Adds two tables and one nullable column (``audit_log.user_id``) and nothing else.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("districts", sa.JSON(), nullable=True),
        sa.Column("streets", sa.JSON(), nullable=True),
        sa.Column("communities", sa.JSON(), nullable=True),
        sa.Column("units", sa.JSON(), nullable=True),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # A plain ADD COLUMN on both stores: a batch copy of audit_log on SQLite would drop
    # the triggers that keep it append-only.
    op.add_column("audit_log", sa.Column("user_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place, keeping the triggers
    op.execute("ALTER TABLE audit_log DROP COLUMN user_id")
    op.drop_table("service_secrets")
    op.drop_table("users")
