"""Cycles over HTTP: made, read and moved by the role table; 403 for a wrong role or
scope, 409 naming the phase and what it allows, 422 naming the field; the audit log and
the published versions refuse to be rewritten, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.db.models import Cycle

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "datasets" / "fuzhou-demo"


@pytest.fixture
def demo(svc: Any, zipper: Any) -> str:
    """The demo dataset, stored; its id."""
    return str(svc.upload(zipper(DEMO))["id"])


def new_cycle(svc: Any, dataset_id: str, **body: Any) -> dict[str, Any]:
    """A cycle for Gulou, 2026-Q4, made by the planner (asserts 201)."""
    payload = {"district": "Gulou", "period": "2026-Q4", "dataset_id": dataset_id, **body}
    r = svc.client.post("/cycles", json=payload, headers=svc.h("planner"))
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def set_phase(svc: Any, cycle_id: str, phase: str, **values: Any) -> None:
    """Put a stored cycle in ``phase`` directly (the routes that get it there are tested
    by the end-to-end test)."""
    with svc.client.app.state.sessionmaker() as session:
        row = session.get(Cycle, cycle_id)
        row.phase = phase
        for name, value in values.items():
            setattr(row, name, value)
        session.commit()


def test_a_planner_makes_a_cycle_and_everyone_in_scope_reads_it(svc: Any, demo: str) -> None:
    cycle = new_cycle(svc, demo, skipped=["discussion"], starts={"collecting": "2026-10-01"})
    assert cycle["phase"] == "collecting"
    assert "discussion" not in cycle["phases"]
    assert cycle["moves"] == ["open_planning"]
    assert cycle["your_actions"] == [
        "add_cadre",
        "add_demand",
        "add_resource",
        "edit_demand",
        "edit_resource",
        "open_planning",
    ]
    for role in ("community", "unit", "street_reviewer", "district_reviewer", "gulou", "admin"):
        r = svc.client.get(f"/cycles/{cycle['id']}", headers=svc.h(role))
        assert r.status_code == 200, (role, r.text)
    community = svc.client.get(f"/cycles/{cycle['id']}", headers=svc.h("community")).json()
    assert community["your_actions"] == ["add_demand", "edit_demand"]
    listed = svc.client.get("/cycles", headers=svc.h("community")).json()
    assert [c["id"] for c in listed["items"]] == [cycle["id"]]


def test_a_key_of_another_district_or_street_is_refused(svc: Any, demo: str) -> None:
    cycle = new_cycle(svc, demo)
    r = svc.client.post(
        "/keys",
        json={"role": "street_reviewer", "districts": ["Taijiang"]},
        headers=svc.h("admin"),
    )
    taijiang = {"X-API-Key": r.json()["key"]}
    r = svc.client.get(f"/cycles/{cycle['id']}", headers=taijiang)
    assert r.status_code == 403 and r.json()["code"] == "forbidden_scope"
    assert svc.client.get("/cycles", headers=taijiang).json()["total"] == 0
    # A street reviewer of one street does not review a whole district's list.
    r = svc.client.post(
        "/keys",
        json={"role": "street_reviewer", "districts": ["Gulou"], "streets": ["Dongjie"]},
        headers=svc.h("admin"),
    )
    assert r.status_code == 201 and r.json()["streets"] == ["Dongjie"]
    dongjie = {"X-API-Key": r.json()["key"]}
    assert svc.client.get(f"/cycles/{cycle['id']}", headers=dongjie).status_code == 403
    street_cycle = new_cycle(svc, demo, streets=["Dongjie"])
    assert svc.client.get(f"/cycles/{street_cycle['id']}", headers=dongjie).status_code == 200


def test_only_planners_make_cycles_and_bad_fields_are_named(svc: Any, demo: str) -> None:
    body = {"district": "Gulou", "period": "2026-Q4", "dataset_id": demo}
    for role in ("community", "street_reviewer", "viewer"):
        r = svc.client.post("/cycles", json=body, headers=svc.h(role))
        assert r.status_code == 403 and r.json()["code"] == "forbidden_role", role
        assert "planner" in r.json()["detail"]
    cases = [
        ({"period": "2026-Q5"}, "period"),
        ({"skipped": ["planning"]}, "skipped"),
        ({"starts": {"planning": "2026-10-10", "collecting": "2026-10-20"}}, "starts.planning"),
        ({"starts": {"discussion": "2026-10-10"}, "skipped": ["discussion"]}, "starts.discussion"),
    ]
    for change, field in cases:
        r = svc.client.post("/cycles", json={**body, **change}, headers=svc.h("planner"))
        assert r.status_code == 422, (change, r.text)
        fields = [e.get("field") for e in r.json()["errors"]]
        assert field in fields, (change, r.json())
    r = svc.client.post("/cycles", json={**body, "dataset_id": "nope"}, headers=svc.h("planner"))
    assert r.status_code == 404
    assert svc.client.get("/cycles", headers=svc.h("planner")).json()["total"] == 0


def test_moves_follow_the_role_table_and_the_phases(svc: Any, demo: str) -> None:
    cycle = new_cycle(svc, demo)
    url = f"/cycles/{cycle['id']}/moves"
    r = svc.client.post(f"{url}/submit", headers=svc.h("community"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden_role"
    r = svc.client.post(f"{url}/submit", headers=svc.h("planner"))
    assert r.status_code == 409 and r.json()["code"] == "phase_conflict"
    assert r.json()["errors"][0]["value"] == "collecting"
    assert "open_planning" in r.json()["errors"][0]["allowed"]
    assert "'collecting'" in r.json()["detail"]
    r = svc.client.post(f"{url}/jump", headers=svc.h("planner"))
    assert r.status_code == 422  # not a move at all
    # A review phase: approve moves on, return needs a reason and goes back to planning.
    set_phase(svc, cycle["id"], "street_review")
    r = svc.client.post(f"{url}/return", json={"reason": " "}, headers=svc.h("street_reviewer"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = svc.client.post(
        f"{url}/return",
        json={"reason": "too few hours in Dongjie"},
        headers=svc.h("street_reviewer"),
    )
    assert r.status_code == 200 and r.json()["phase"] == "planning"
    set_phase(svc, cycle["id"], "street_review")
    r = svc.client.post(f"{url}/approve", headers=svc.h("district_reviewer"))
    assert r.status_code == 409  # the district reviews after the street
    r = svc.client.post(f"{url}/approve", headers=svc.h("street_reviewer"))
    assert r.status_code == 200 and r.json()["phase"] == "district_review"
    log = svc.client.get(f"/cycles/{cycle['id']}/audit", headers=svc.h("planner")).json()
    actions = [e["action"] for e in log["items"]]
    assert actions == ["create_cycle", "review_return", "return", "review_approve", "approve"]
    # The reviewers read their entries and the public ones; others only the public ones.
    seen = svc.client.get(f"/cycles/{cycle['id']}/audit", headers=svc.h("community")).json()
    assert {e["visibility"] for e in seen["items"]} == {"public"}
    assert seen["total"] == 3
    reviewer = svc.client.get(f"/cycles/{cycle['id']}/audit", headers=svc.h("street_reviewer"))
    assert reviewer.json()["total"] == 5


def test_a_skipped_phase_passes_its_moves_on(svc: Any, demo: str) -> None:
    cycle = new_cycle(svc, demo, skipped=["discussion", "street_review"])
    set_phase(svc, cycle["id"], "planning", draft_run_id=None)
    url = f"/cycles/{cycle['id']}/moves"
    r = svc.client.post(f"{url}/submit", headers=svc.h("planner"))
    assert r.status_code == 409 and r.json()["code"] == "no_draft"
    run = svc.wait(svc.start_run(demo)["id"])
    set_phase(svc, cycle["id"], "planning", draft_run_id=run["id"])
    r = svc.client.post(f"{url}/submit", headers=svc.h("planner"))
    assert r.status_code == 200 and r.json()["phase"] == "district_review"


def test_a_stale_move_loses(svc: Any, demo: str) -> None:
    from api.cycles import core
    from api.cycles.access import Actor
    from api.errors import ApiError

    cycle = new_cycle(svc, demo)
    factory = svc.client.app.state.sessionmaker
    with factory() as first, factory() as second:
        a = first.get(Cycle, cycle["id"])
        b = second.get(Cycle, cycle["id"])
        a.phase = b.phase = "street_review"
        first.commit()
        second.expunge(b)
        core.move(first, a, Actor("street_reviewer", None, ("Gulou",)), "approve")
        first.commit()
        with pytest.raises(ApiError) as refused:
            core.move(second, b, Actor("street_reviewer", None, ("Gulou",)), "approve")
        assert refused.value.status == 409 and refused.value.code == "concurrent_change"


@pytest.mark.parametrize("table", ["audit_log", "cycle_versions", "cycle_projects"])
def test_the_frozen_tables_refuse_updates_and_deletes(
    db_url: str, service_factory: Any, zipper: Any, table: str
) -> None:
    from sqlalchemy import insert

    from api.db.models import AuditEntry, CycleProject, CycleVersion, utcnow

    with service_factory(db_url) as svc:
        demo = svc.upload(zipper(DEMO))["id"]
        cycle = new_cycle(svc, demo)
        run = svc.wait(svc.start_run(demo)["id"])
        engine = svc.client.app.state.engine
        with engine.begin() as conn:
            conn.execute(
                insert(CycleVersion).values(
                    cycle_id=cycle["id"], version=1, run_id=run["id"], published_at=utcnow()
                )
            )
            conn.execute(
                insert(CycleProject).values(
                    cycle_id=cycle["id"],
                    version=1,
                    demand_id="D1",
                    community_id="C1",
                    district="Gulou",
                    category="elderly_care",
                    priority=1,
                    hours=3,
                    planned_hours=3,
                    status="met",
                    lead_unit="",
                    units=[],
                )
            )
        with engine.connect() as conn:
            assert conn.execute(text(f"select count(*) from {table}")).scalar_one() >= 1
        for statement in (f"update {table} set cycle_id = cycle_id", f"delete from {table}"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        if engine.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(f"truncate {table} cascade"))
        with engine.connect() as conn:
            assert conn.execute(text(f"select count(*) from {table}")).scalar_one() >= 1
        assert AuditEntry.__tablename__ == "audit_log"
