"""a community's reason for rejecting (or a note on confirming) delivered hours

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 19:40:00

Adds one nullable column, ``cycle_deliveries.reason``, and nothing else.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cycle_deliveries", sa.Column("reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cycle_deliveries") as batch:
        batch.drop_column("reason")
