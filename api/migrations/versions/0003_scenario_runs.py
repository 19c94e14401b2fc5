"""scenario runs: runs.base_dataset_id and runs.scenario

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 12:00:00

Adds only two nullable columns: a run made with a scenario plans a dataset of its own
(the scenario applied to ``base_dataset_id``) and records the scenario it was asked for.
Nothing stored is rewritten; every earlier run keeps both empty.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("base_dataset_id", sa.String(length=32), nullable=True))
    op.add_column("runs", sa.Column("scenario", sa.JSON(), nullable=True))


def downgrade() -> None:
    # A plain drop: SQLite's batch mode would re-create ``runs`` and cascade-delete plans.
    op.drop_column("runs", "scenario")
    op.drop_column("runs", "base_dataset_id")
