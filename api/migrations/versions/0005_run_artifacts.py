"""run artifacts: a run's report, bottlenecks, summaries and explanations, kept

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 09:00:00

Adds one table and nothing else: the reads that compute on request (the HTML report,
bottlenecks, summaries, a demand's explanation) are computed once, by the run's worker or
by a read worker, and kept in ``run_artifacts``. Runs stored before have none and get
theirs computed on their first read.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_artifacts",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("other_run_id", sa.String(length=32), nullable=True),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["other_run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("run_artifacts")
