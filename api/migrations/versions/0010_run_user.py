"""the console's user who queued a run (the per-key cap on queued runs holds for them too)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 20:50:00

Adds one nullable column, ``runs.created_by_user``, and nothing else.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("created_by_user", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("created_by_user")
