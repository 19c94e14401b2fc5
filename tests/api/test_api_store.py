"""The store on SQLite and on PostgreSQL: migrations, plan tables as SQL, restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import head_revision
from sqlalchemy import create_engine, text

import matcher
from api.db.models import Base
from api.db.session import make_engine, migrate
from api.worker import INTERRUPTED

SERVICE_DOC = Path(__file__).resolve().parents[2] / "docs" / "service.md"


def doc_query() -> str:
    """The example query of docs/service.md's store section (so that it is tested as shown)."""
    text = SERVICE_DOC.read_text(encoding="utf-8")
    section = text[text.index("## The store: tables for dashboards") :]
    block = section[
        section.index("```sql") + len("```sql") : section.index("```", section.index("```sql") + 6)
    ]
    return block.strip().rstrip(";")


def test_migrations_reach_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        version = conn.execute(text("select version_num from alembic_version")).scalar_one()
    engine.dispose()
    assert diff == []
    assert version == head_revision() == "0010"  # runs.created_by_user (0010_run_user.py)


def test_every_table_and_column_is_documented() -> None:
    """docs/service.md has a row for every table of the store listing all its columns
    (what dashboards read is documented, and nothing documented is missing)."""
    doc = SERVICE_DOC.read_text(encoding="utf-8")
    rows: dict[str, list[str]] = {}
    for line in doc.splitlines():
        if line.startswith("| `"):
            rows.setdefault(line.split("|")[1].strip().strip("`"), []).append(line)
    for table in Base.metadata.sorted_tables:
        assert table.name in rows, f"{table.name} is not in docs/service.md"
        missing = [
            c.name
            for c in table.columns
            if not any(f"`{c.name}`" in line for line in rows[table.name])
        ]
        assert missing == [], f"{table.name}: {missing} are not in docs/service.md"


def test_plan_rows_are_queryable_sql_tables(
    db_url: str, service_factory, example_zip: bytes
) -> None:
    expected = matcher.plan("tests/data/example/dataset")
    with service_factory(db_url) as svc:
        ds = svc.upload(example_zip)
        run = svc.wait(svc.start_run(ds["id"], label="weekly")["id"])
        assert run["status"] == "succeeded"
    engine = create_engine(db_url)
    with engine.connect() as conn:
        n = conn.execute(
            text("select count(*) from assignments where run_id = :r"), {"r": run["id"]}
        ).scalar_one()
        hours = conn.execute(
            text("select sum(hours) from assignments where run_id = :r"), {"r": run["id"]}
        ).scalar_one()
        rows = conn.execute(text(doc_query())).mappings().all()
        objective = conn.execute(
            text("select value from run_kpis where run_id = :r and name = 'objective'"),
            {"r": run["id"]},
        ).scalar_one()
        gulou = conn.execute(
            text(
                "select value from run_kpis where run_id = :r "
                "and name = 'coverage_by_district.Gulou.coverage'"
            ),
            {"r": run["id"]},
        ).scalar_one()
        stored = conn.execute(
            text("select count(*) from dataset_tables where dataset_id = :d"), {"d": ds["id"]}
        ).scalar_one()
    engine.dispose()
    assert n == len(expected.assignments)
    assert hours == expected.kpis["hours_covered"]
    by_district = expected.kpis["coverage_by_district"]
    assert [r["district"] for r in rows] == sorted(by_district)
    for r in rows:
        assert r["hours_covered"] == by_district[r["district"]]["hours_covered"]
        assert float(r["coverage"]) == pytest.approx(
            by_district[r["district"]]["coverage"], abs=1e-6
        )
    assert objective == pytest.approx(expected.kpis["objective"])
    assert gulou == pytest.approx(by_district["Gulou"]["coverage"])
    assert stored == len(matcher.load_dataset("tests/data/example/dataset").counts())


def test_restart_keeps_finished_work_and_fails_interrupted_runs(
    db_url: str, service_factory, example_zip: bytes
) -> None:
    with service_factory(db_url) as svc:
        ds = svc.upload(example_zip)
        done = svc.wait(svc.start_run(ds["id"], label="kept")["id"])
        assert done["status"] == "succeeded"
    # a run left 'running' by a server that died
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into runs (id, dataset_id, status, params, integer_rules, time_limit_s, "
                "request_hash, created_at, started_at, claim_token) values "
                "('crashed', :d, 'running', '{}', '{}', 60, 'x', :t, :t, 'tok')"
            ),
            {"d": ds["id"], "t": "2026-01-01 00:00:00"},
        )
    engine.dispose()
    with service_factory(db_url) as svc:
        crashed = svc.client.get("/runs/crashed", headers=svc.h("viewer")).json()
        assert crashed["status"] == "failed" and crashed["error"] == INTERRUPTED
        kept = svc.client.get(f"/runs/{done['id']}", headers=svc.h("viewer")).json()
        assert kept["status"] == "succeeded" and kept["objective"] == done["objective"]
        rows = svc.client.get(f"/runs/{done['id']}/assignments", headers=svc.h("viewer")).json()
        assert rows["total"] > 0
        assert svc.client.get(f"/datasets/{ds['id']}", headers=svc.h("viewer")).status_code == 200


def test_a_request_commits_before_its_response_is_sent() -> None:
    """The request's session ends (commit or rollback) when the route returns, before
    the response goes out (FastAPI's default would commit after it: a client could act on
    a 201 whose rows are not yet committed)."""
    from typing import get_args

    from api.deps import SessionDep

    depends = get_args(SessionDep)[1]
    assert depends.scope == "function"
