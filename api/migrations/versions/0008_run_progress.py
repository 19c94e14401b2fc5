"""run progress: runs.progress

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 19:20:00

Adds one nullable JSON column and nothing else: the latest progress of a run
(:class:`matcher.progress.Progress` as a dict), written by its worker while it plans and
kept once it ends. Every earlier run keeps it empty.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("progress", sa.JSON(), nullable=True))


def downgrade() -> None:
    # A plain drop: SQLite's batch mode would re-create ``runs`` and cascade-delete plans.
    op.drop_column("runs", "progress")
