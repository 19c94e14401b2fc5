"""the quarterly cycle: cycles, their lists, edits, discussion, reviews, objections,
published versions, deliveries, ratings, points, and the append-only audit log

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 16:11:22.796366

Adds tables and three nullable key columns (the cycle scopes ``streets``,
``communities``, ``units``) and nothing else. The audit log and the published versions
refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) by triggers: no code path
rewrites them, and the store would refuse one that tried.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


FROZEN = ("audit_log", "cycle_versions", "cycle_projects")
"""Tables whose rows are never changed once written."""


def _freeze(table: str) -> None:
    """Refuse UPDATE and DELETE on ``table`` (and TRUNCATE on PostgreSQL)."""
    message = f"{table} is append-only: its rows are never changed or deleted"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_frozen() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_frozen()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_frozen()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def _thaw(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {table}_frozen() CASCADE")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=400), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_log_cycle_id"), "audit_log", ["cycle_id"], unique=False)
    op.create_table(
        "cycles",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=200), nullable=False),
        sa.Column("streets", sa.JSON(), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("starts", sa.JSON(), nullable=False),
        sa.Column("base_dataset_id", sa.String(length=32), nullable=False),
        sa.Column("dataset_id", sa.String(length=32), nullable=True),
        sa.Column("draft_run_id", sa.String(length=32), nullable=True),
        sa.Column("previous_cycle_id", sa.String(length=32), nullable=True),
        sa.Column("next_cycle_id", sa.String(length=32), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("phase_since", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_dataset_id"],
            ["datasets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["draft_run_id"],
            ["runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["previous_cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_cycles_district"), "cycles", ["district"], unique=False)
    op.create_index(op.f("ix_cycles_period"), "cycles", ["period"], unique=False)
    op.create_table(
        "cycle_comments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("demand_id", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("by_key", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_cycle_comments_cycle_id"), "cycle_comments", ["cycle_id"], unique=False
    )
    op.create_table(
        "cycle_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supplier_kind", sa.String(length=16), nullable=False),
        sa.Column("supplier_id", sa.String(length=200), nullable=False),
        sa.Column("unit_id", sa.String(length=200), nullable=False),
        sa.Column("demand_id", sa.String(length=200), nullable=False),
        sa.Column("community_id", sa.String(length=200), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_cycle_deliveries_cycle_id"), "cycle_deliveries", ["cycle_id"], unique=False
    )
    op.create_table(
        "cycle_edits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("edits", sa.JSON(), nullable=False),
        sa.Column("run_before", sa.String(length=32), nullable=True),
        sa.Column("run_after", sa.String(length=32), nullable=False),
        sa.Column("churn", sa.JSON(), nullable=True),
        sa.Column("by_key", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_cycle_edits_cycle_id"), "cycle_edits", ["cycle_id"], unique=False)
    op.create_table(
        "cycle_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_key", sa.String(length=400), nullable=False),
        sa.Column("community_id", sa.String(length=200), nullable=True),
        sa.Column("unit_id", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=32), nullable=False),
        sa.Column("carried_from", sa.String(length=16), nullable=True),
        sa.Column("times_carried", sa.Integer(), nullable=False),
        sa.Column("entered_by", sa.Integer(), nullable=True),
        sa.Column("entered_role", sa.String(length=32), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_cycle_entries_cycle_id"), "cycle_entries", ["cycle_id"], unique=False)
    op.create_index(
        "ix_cycle_entries_row", "cycle_entries", ["cycle_id", "table_name", "row_key"], unique=False
    )
    op.create_table(
        "cycle_objections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=200), nullable=False),
        sa.Column("demand_id", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("upheld", sa.Boolean(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_cycle_objections_cycle_id"), "cycle_objections", ["cycle_id"], unique=False
    )
    op.create_table(
        "cycle_points",
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("cadre_id", sa.String(length=200), nullable=False),
        sa.Column("unit_id", sa.String(length=200), nullable=False),
        sa.Column("approved_hours", sa.Integer(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("cycle_id", "cadre_id"),
    )
    op.create_table(
        "cycle_projects",
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("demand_id", sa.String(length=200), nullable=False),
        sa.Column("community_id", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("planned_hours", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lead_unit", sa.String(length=200), nullable=False),
        sa.Column("units", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("cycle_id", "version", "demand_id"),
    )
    op.create_index(
        op.f("ix_cycle_projects_community_id"), "cycle_projects", ["community_id"], unique=False
    )
    op.create_table(
        "cycle_ratings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("demand_id", sa.String(length=200), nullable=False),
        sa.Column("community_id", sa.String(length=200), nullable=False),
        sa.Column("rater", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_cycle_ratings_cycle_id"), "cycle_ratings", ["cycle_id"], unique=False)
    op.create_index(
        "ix_cycle_ratings_once", "cycle_ratings", ["cycle_id", "demand_id", "rater"], unique=True
    )
    op.create_table(
        "cycle_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("by_key", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("voided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_cycle_reviews_cycle_id"), "cycle_reviews", ["cycle_id"], unique=False)
    op.create_table(
        "cycle_versions",
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
        ),
        sa.PrimaryKeyConstraint("cycle_id", "version"),
    )
    op.create_table(
        "rating_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("cycle_id", sa.String(length=32), nullable=False),
        sa.Column("community_id", sa.String(length=200), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_rating_tokens_cycle_id"), "rating_tokens", ["cycle_id"], unique=False)
    # "district_reviewer" is longer than the 16 characters roles had
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column(
            "role", type_=sa.String(length=32), existing_type=sa.String(length=16), nullable=False
        )
    op.add_column("api_keys", sa.Column("streets", sa.JSON(), nullable=True))
    op.add_column("api_keys", sa.Column("communities", sa.JSON(), nullable=True))
    op.add_column("api_keys", sa.Column("units", sa.JSON(), nullable=True))
    for table in FROZEN:
        _freeze(table)


def downgrade() -> None:
    for table in FROZEN:
        _thaw(table)
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column(
            "role", type_=sa.String(length=16), existing_type=sa.String(length=32), nullable=False
        )
    op.drop_column("api_keys", "units")
    op.drop_column("api_keys", "communities")
    op.drop_column("api_keys", "streets")
    op.drop_index(op.f("ix_rating_tokens_cycle_id"), table_name="rating_tokens")
    op.drop_table("rating_tokens")
    op.drop_table("cycle_versions")
    op.drop_index(op.f("ix_cycle_reviews_cycle_id"), table_name="cycle_reviews")
    op.drop_table("cycle_reviews")
    op.drop_index("ix_cycle_ratings_once", table_name="cycle_ratings")
    op.drop_index(op.f("ix_cycle_ratings_cycle_id"), table_name="cycle_ratings")
    op.drop_table("cycle_ratings")
    op.drop_index(op.f("ix_cycle_projects_community_id"), table_name="cycle_projects")
    op.drop_table("cycle_projects")
    op.drop_table("cycle_points")
    op.drop_index(op.f("ix_cycle_objections_cycle_id"), table_name="cycle_objections")
    op.drop_table("cycle_objections")
    op.drop_index("ix_cycle_entries_row", table_name="cycle_entries")
    op.drop_index(op.f("ix_cycle_entries_cycle_id"), table_name="cycle_entries")
    op.drop_table("cycle_entries")
    op.drop_index(op.f("ix_cycle_edits_cycle_id"), table_name="cycle_edits")
    op.drop_table("cycle_edits")
    op.drop_index(op.f("ix_cycle_deliveries_cycle_id"), table_name="cycle_deliveries")
    op.drop_table("cycle_deliveries")
    op.drop_index(op.f("ix_cycle_comments_cycle_id"), table_name="cycle_comments")
    op.drop_table("cycle_comments")
    op.drop_index(op.f("ix_cycles_period"), table_name="cycles")
    op.drop_index(op.f("ix_cycles_district"), table_name="cycles")
    op.drop_table("cycles")
    op.drop_index(op.f("ix_audit_log_cycle_id"), table_name="audit_log")
    op.drop_table("audit_log")
