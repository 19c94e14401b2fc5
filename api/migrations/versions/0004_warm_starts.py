"""warm starts: runs.warm_start_run_id and the run_duals table

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 02:00:00

Adds one nullable column and one new table: a plan run may start from the LP duals of an
earlier plan run, which plan runs made by the column solver now keep in ``run_duals``.
Nothing stored is rewritten; every earlier run keeps the column empty and has no duals
(a run asking to start from one of those plans cold).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("warm_start_run_id", sa.String(length=32), nullable=True))
    op.create_table(
        "run_duals",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("row_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("item", sa.String(length=16), nullable=False),
        sa.Column("supplier_kind", sa.String(length=16), nullable=True),
        sa.Column("item_id", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "row_no"),
    )


def downgrade() -> None:
    op.drop_table("run_duals")
    # A plain drop: SQLite's batch mode would re-create ``runs`` and cascade-delete plans.
    op.drop_column("runs", "warm_start_run_id")
