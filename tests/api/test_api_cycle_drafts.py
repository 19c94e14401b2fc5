"""The cycle's draft over HTTP: plan runs on the cycle's lists, the adopted run, the
planner's edits (stable re-plans stored as runs) checked against the stored plan
tables, and the stable plan against the cycle before's published list."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import ROOT, Service, zip_folder
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from api.db.models import Cycle, CycleReview, CycleVersion, utcnow

DEMO = ROOT / "datasets" / "fuzhou-demo"
KEY = ["supplier_kind", "supplier_id", "demand_id"]
BIG = 10_000.0  # a change penalty above every arc's worth: no hour is added or moved


@pytest.fixture(scope="module")
def demo_zip() -> bytes:
    """The demo dataset as a zip."""
    return zip_folder(Path(DEMO))


def _planning(svc: Service, demo_zip: bytes, period: str = "2026-Q4") -> dict[str, Any]:
    ds = svc.upload(demo_zip)
    r = svc.client.post(
        "/cycles",
        json={"district": "Gulou", "period": period, "dataset_id": ds["id"]},
        headers=svc.h("planner"),
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = svc.client.post(f"/cycles/{cid}/moves/open_planning", headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    cycle: dict[str, Any] = r.json()
    return cycle


def _run(svc: Service, cid: str, **body: Any) -> dict[str, Any]:
    r = svc.client.post(f"/cycles/{cid}/runs", json=body, headers=svc.h("planner"))
    assert r.status_code == 202, r.text
    run = svc.wait(r.json()["id"], timeout=120)
    assert run["status"] == "succeeded", run
    return run


def _adopt(svc: Service, cid: str, run_id: str) -> dict[str, Any]:
    r = svc.client.post(f"/cycles/{cid}/draft", json={"run_id": run_id}, headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _assignments(svc: Service, run_id: str) -> pd.DataFrame:
    r = svc.client.get(f"/runs/{run_id}/assignments.csv", headers=svc.h("viewer"))
    assert r.status_code == 200, r.text
    frame = pd.read_csv(io.StringIO(r.text), dtype={"supplier_id": str, "demand_id": str})
    out = frame.groupby(KEY, as_index=False)["hours"].sum()
    return pd.DataFrame(out[out["hours"] > 0])


def _hours(frame: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    return {
        (str(k), str(s), str(d)): int(h)
        for k, s, d, h in frame[[*KEY, "hours"]].itertuples(index=False)
    }


def _changed(before: pd.DataFrame, after: pd.DataFrame) -> int:
    """Σ |h1 - h0| over every supplier-demand pair, written out."""
    a, b = _hours(before), _hours(after)
    return sum(abs(b.get(k, 0) - a.get(k, 0)) for k in set(a) | set(b))


def _edit(svc: Service, cid: str, edits: list[dict[str, Any]], penalty: float = 0.0) -> Any:
    return svc.client.post(
        f"/cycles/{cid}/draft/edits",
        json={"edits": edits, "change_penalty": penalty},
        headers=svc.h("planner"),
    )


def _audit(svc: Service, cid: str, role: str = "planner") -> list[dict[str, Any]]:
    r = svc.client.get(f"/cycles/{cid}/audit?limit=1000", headers=svc.h(role))
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_run_adopt_and_read_the_draft(svc: Service, demo_zip: bytes) -> None:
    cycle = _planning(svc, demo_zip)
    cid = cycle["id"]
    run = _run(svc, cid)
    assert run["dataset_id"] == cycle["dataset_id"]
    assert [e["action"] for e in _audit(svc, cid)][-1] == "run_plan"
    # a run of another dataset, an unknown run
    other = svc.start_run(cycle["base_dataset_id"])
    svc.wait(other["id"], timeout=120)
    r = svc.client.post(
        f"/cycles/{cid}/draft", json={"run_id": other["id"]}, headers=svc.h("planner")
    )
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "run_id"
    r = svc.client.post(f"/cycles/{cid}/draft", json={"run_id": "nope"}, headers=svc.h("planner"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "run_id"
    # a review given before the draft changes is voided by the adoption
    engine = create_engine(svc.url)
    with Session(engine) as session:
        session.add(
            CycleReview(cycle_id=cid, phase="street_review", decision="approve", at=utcnow())
        )
        session.commit()
    draft = _adopt(svc, cid, run["id"])
    with Session(engine) as session:
        review = session.execute(
            select(CycleReview).where(CycleReview.cycle_id == cid)
        ).scalar_one()
        assert review.voided_at is not None
        assert session.get(Cycle, cid).draft_run_id == run["id"]  # type: ignore[union-attr]
    engine.dispose()
    assert draft["run_id"] == run["id"] and draft["objective"] == run["objective"]
    # the projects: the Gulou demands asking for hours, with the plan's hours
    communities = pd.read_csv(DEMO / "communities.csv")
    demands = pd.read_csv(DEMO / "demands.csv")
    gulou = set(communities.loc[communities["district"] == "Gulou", "community_id"])
    asked = demands[demands["community_id"].isin(gulou) & (demands["hours"] > 0)]
    projects = draft["projects"]
    assert sorted(p["demand_id"] for p in projects) == sorted(asked["demand_id"])
    assigned = _assignments(svc, run["id"]).groupby("demand_id")["hours"].sum()
    for p in projects:
        assert p["planned_hours"] == int(assigned.get(p["demand_id"], 0))
        assert sum(s["hours"] for s in p["suppliers"]) == p["planned_hours"]
    # the public list for a community key: no supplier, no cadre named
    r = svc.client.get(f"/cycles/{cid}/draft", headers=svc.h("community"))
    assert r.status_code == 200 and r.json()["public"] is True
    assert "suppliers" not in r.json()["projects"][0]
    cadres = set(pd.read_csv(DEMO / "cadres.csv")["cadre_id"])
    assert not any(c in r.text for c in cadres)
    adopted = [e for e in _audit(svc, cid, "street_reviewer") if e["action"] == "adopt_run"]
    assert adopted and adopted[0]["after"]["run"] == run["id"]
    # a community key may not queue runs; not before planning opens either
    r = svc.client.post(f"/cycles/{cid}/runs", json={}, headers=svc.h("community"))
    assert r.status_code == 403


def test_edits_exclude_pin_move(svc: Service, demo_zip: bytes) -> None:
    cid = _planning(svc, demo_zip)["id"]
    run = _run(svc, cid)
    _adopt(svc, cid, run["id"])
    before = _assignments(svc, run["id"])
    cadres = before[before["supplier_kind"] == "cadre"].sort_values(KEY).reset_index(drop=True)
    k, s, d, h = cadres.loc[0, [*KEY, "hours"]]
    # exclude, with a penalty no new hour is worth: the rest is kept, the pair is gone
    r = _edit(
        svc, cid, [{"action": "exclude", "supplier_kind": k, "supplier_id": s, "demand_id": d}], BIG
    )
    assert r.status_code == 201, r.text
    result = r.json()
    after = _assignments(svc, result["run_id"])
    expected = _hours(before)
    del expected[(k, s, d)]
    assert _hours(after) == expected
    assert result["churn"]["hours_removed"] == h and result["churn"]["hours_changed"] == h
    assert result["churn"]["assignments_removed"] == 1
    assert result["objective_before"] == run["objective"]
    assert result["objective_after"] < run["objective"]
    r = svc.client.get(f"/cycles/{cid}/draft", headers=svc.h("planner"))
    assert r.json()["run_id"] == result["run_id"]
    # pin one assignment, no penalty: it stays exactly, the plan is optimal again
    k2, s2, d2, h2 = cadres.loc[1, [*KEY, "hours"]]
    r = _edit(
        svc, cid, [{"action": "pin", "supplier_kind": k2, "supplier_id": s2, "demand_id": d2}]
    )
    assert r.status_code == 201, r.text
    pinned = r.json()
    after_pin = _assignments(svc, pinned["run_id"])
    assert _hours(after_pin)[(k2, s2, d2)] == h2
    assert pinned["churn"]["hours_changed"] == _changed(after, after_pin)
    # move one hour to another supplier serving the same demand (one with other work)
    current = after_pin
    busy = current.groupby(["supplier_kind", "supplier_id"])["demand_id"].nunique()
    move = None
    for demand, rows in current.groupby("demand_id"):
        rows = rows[rows["hours"] >= 2]
        for giver in rows.itertuples(index=False):
            takers = current[
                (current["demand_id"] == demand) & (current["supplier_id"] != giver.supplier_id)
            ]
            for taker in takers.itertuples(index=False):
                if busy[(taker.supplier_kind, taker.supplier_id)] > 1:
                    move = (giver, taker)
                    break
            if move:
                break
        if move:
            break
    assert move is not None
    giver, taker = move
    r = _edit(
        svc,
        cid,
        [
            {
                "action": "move_hours",
                "supplier_kind": giver.supplier_kind,
                "supplier_id": giver.supplier_id,
                "demand_id": giver.demand_id,
                "hours": 1,
                "to_kind": taker.supplier_kind,
                "to_id": taker.supplier_id,
            }
        ],
    )
    assert r.status_code == 201, r.text
    moved = _hours(_assignments(svc, r.json()["run_id"]))
    assert moved[(giver.supplier_kind, giver.supplier_id, giver.demand_id)] == giver.hours - 1
    assert moved[(taker.supplier_kind, taker.supplier_id, taker.demand_id)] == taker.hours + 1
    # the edits, oldest first
    r = svc.client.get(f"/cycles/{cid}/edits", headers=svc.h("planner"))
    edits = r.json()
    assert [e["run_before"] for e in edits] == [run["id"], result["run_id"], pinned["run_id"]]
    assert [e["edits"][0]["action"] for e in edits] == ["exclude", "pin", "move_hours"]
    assert len([e for e in _audit(svc, cid) if e["action"] == "edit_draft"]) == 3
    # the edits name cadres: not for a community key
    r = svc.client.get(f"/cycles/{cid}/edits", headers=svc.h("community"))
    assert r.status_code == 403


def test_refused_edits(svc: Service, demo_zip: bytes) -> None:
    cid = _planning(svc, demo_zip)["id"]
    run = _run(svc, cid)
    _adopt(svc, cid, run["id"])
    a = _assignments(svc, run["id"]).sort_values(KEY).reset_index(drop=True)
    k, s, d, h = a.loc[0, [*KEY, "hours"]]
    base = {"supplier_kind": k, "supplier_id": s, "demand_id": d}
    cases = [
        ({"action": "pin", **base, "supplier_id": "NOBODY"}, "edits[0].supplier_id"),
        ({"action": "pin", **base, "supplier_kind": "robot"}, "edits[0].supplier_kind"),
        (
            {
                "action": "move_hours",
                **base,
                "hours": int(h) + 1,
                "to_kind": "cadre",
                "to_id": "K-OTHER",
            },
            "edits[0].hours",
        ),
    ]
    for edit, field in cases:
        r = _edit(svc, cid, [edit])
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == field
    r = _edit(
        svc,
        cid,
        [{"action": "move_hours", **base, "hours": 1, "to_kind": "cadre", "to_id": "K-GONE"}],
    )
    assert r.status_code == 422 and r.json()["code"] == "replan_refused"
    r = svc.client.get(f"/cycles/{cid}/edits", headers=svc.h("planner"))
    assert r.json() == []
    # a draft run with an integer rule cannot be re-planned
    ruled = _run(svc, cid, integer_rules={"max_communities_per_cadre": 3})
    _adopt(svc, cid, ruled["id"])
    r = _edit(svc, cid, [{"action": "pin", **base}])
    assert r.status_code == 422 and r.json()["code"] == "invalid_parameter"


def test_stable_plan_against_the_cycle_before(svc: Service, demo_zip: bytes) -> None:
    first = _planning(svc, demo_zip)
    run = _run(svc, first["id"])
    _adopt(svc, first["id"], run["id"])
    second = _planning(svc, demo_zip, "2027-Q1")
    r = svc.client.post(
        f"/cycles/{second['id']}/draft/stable", json={"change_penalty": 1}, headers=svc.h("planner")
    )
    assert r.status_code == 409 and r.json()["code"] == "no_previous_list"
    engine = create_engine(svc.url)
    with Session(engine) as session:  # the first cycle published (another route's work)
        session.add(CycleVersion(cycle_id=first["id"], version=1, run_id=run["id"]))
        session.get(Cycle, second["id"]).previous_cycle_id = first["id"]  # type: ignore[union-attr]
        session.commit()
    engine.dispose()
    previous = _assignments(svc, run["id"])
    churns = {}
    for penalty in (0.0, BIG):
        r = svc.client.post(
            f"/cycles/{second['id']}/draft/stable",
            json={"change_penalty": penalty},
            headers=svc.h("planner"),
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["run_before"] == run["id"]
        now = _assignments(svc, body["run_id"])
        assert body["churn"]["hours_changed"] == _changed(previous, now)
        churns[penalty] = body["churn"]["hours_changed"]
    # the same lists: with the large penalty nothing changes
    assert churns[BIG] == 0 <= churns[0.0]
    r = svc.client.get(f"/cycles/{second['id']}/edits", headers=svc.h("planner"))
    assert [e["action"] for e in r.json()] == ["stable_plan", "stable_plan"]
