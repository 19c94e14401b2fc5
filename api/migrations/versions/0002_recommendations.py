"""recommendation runs: runs.kind, recommendations and recommendation_rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:00:00

Adds only: a column with a default (every stored run is a ``plan``) and two new tables.
Nothing stored is rewritten.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "runs",
        sa.Column("kind", sa.String(length=16), server_default="plan", nullable=False),
    )
    op.create_table(
        "recommendations",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("tables", sa.JSON(), nullable=True),
        sa.Column("objective_before", sa.Float(), nullable=True),
        sa.Column("objective_after", sa.Float(), nullable=True),
        sa.Column("gain", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "recommendation_rows",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("district", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "table_name", "row_no"),
    )
    op.create_index(
        "ix_recommendation_rows_run_table_district",
        "recommendation_rows",
        ["run_id", "table_name", "district"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_recommendation_rows_run_table_district", table_name="recommendation_rows")
    op.drop_table("recommendation_rows")
    op.drop_table("recommendations")
    # A plain ALTER TABLE (SQLite 3.35+): a batch copy would drop and re-create runs,
    # and with foreign keys on, dropping it would cascade to the plan tables.
    op.drop_column("runs", "kind")
