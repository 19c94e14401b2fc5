"""The cycle's lists over HTTP: rows added (JSON, CSV, workbook) and edited with the
role and scope checks, each write in the audit log, and the snapshot planning opens on."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import ROOT, Service, zip_folder

DEMO = ROOT / "datasets" / "fuzhou-demo"


@pytest.fixture(scope="module")
def demo_zip() -> bytes:
    """The demo dataset as a zip."""
    return zip_folder(Path(DEMO))


def _cycle(svc: Service, demo_zip: bytes, **extra: Any) -> dict[str, Any]:
    ds = svc.upload(demo_zip)
    body = {"district": "Gulou", "period": "2026-Q4", "dataset_id": ds["id"], **extra}
    r = svc.client.post("/cycles", json=body, headers=svc.h("planner"))
    assert r.status_code == 201, r.text
    cycle: dict[str, Any] = r.json()
    return cycle


def _key(svc: Service, **body: Any) -> dict[str, str]:
    r = svc.client.post("/keys", json={"districts": ["Gulou"], **body}, headers=svc.h("admin"))
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["key"]}


def _demand(demand_id: str, community: str = "C-GL-01", **cells: Any) -> dict[str, Any]:
    return {
        "demand_id": demand_id,
        "community_id": community,
        "category": "elderly_care",
        "hours": 10,
        "priority": 3,
        **cells,
    }


def _rows(svc: Service, cid: str, table: str = "demands", role: str = "planner") -> list[Any]:
    r = svc.client.get(f"/cycles/{cid}/lists/{table}?limit=10000", headers=svc.h(role))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    items: list[Any] = body["items"]
    return items


def _audit(svc: Service, cid: str) -> list[dict[str, Any]]:
    r = svc.client.get(f"/cycles/{cid}/audit?limit=1000", headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _gulou_demands() -> pd.DataFrame:
    communities = pd.read_csv(DEMO / "communities.csv")
    demands = pd.read_csv(DEMO / "demands.csv")
    gulou = set(communities.loc[communities["district"] == "Gulou", "community_id"])
    return demands[demands["community_id"].isin(gulou)]


def test_add_one_demand_lists_it_with_origin_and_audit(svc: Service, demo_zip: bytes) -> None:
    cycle = _cycle(svc, demo_zip)
    cid = cycle["id"]
    before = _rows(svc, cid)
    assert len(before) == len(_gulou_demands())
    assert {i["origin"] for i in before} == {"base"}
    r = svc.client.post(
        f"/cycles/{cid}/lists/demands",
        json={"rows": [_demand("N1", description="stairs")], "origin": "hotline"},
        headers=svc.h("community"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["keys"] == ["N1"]
    rows = {i["row"]["demand_id"]: i for i in _rows(svc, cid)}
    assert len(rows) == len(before) + 1
    new = rows["N1"]
    assert new["origin"] == "hotline" and new["entered_role"] == "community"
    assert new["row"]["hours"] == 10 and new["row"]["priority"] == 3
    assert new["entered_at"] is not None
    added = [e for e in _audit(svc, cid) if e["action"] == "add_demand"]
    assert len(added) == 1 and added[0]["target"] == "demands:N1"
    assert added[0]["after"]["row"]["community_id"] == "C-GL-01"


def test_bulk_csv_and_workbook_all_or_none(svc: Service, demo_zip: bytes) -> None:
    cid = _cycle(svc, demo_zip)["id"]
    frame = pd.DataFrame([_demand(f"B{i}", f"C-GL-0{i}") for i in range(1, 4)])
    csv = frame.to_csv(index=False).encode()
    url = f"/cycles/{cid}/lists/demands/file?origin=joint_meeting"
    headers = {**svc.h("planner"), "Content-Type": "text/csv"}
    r = svc.client.post(url, content=csv, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["count"] == 3
    # a bad priority in the file's second data row: nothing of the file is stored
    bad = pd.DataFrame([_demand("B4"), _demand("B5", priority=7), _demand("B6")])
    r = svc.client.post(url, content=bad.to_csv(index=False).encode(), headers=headers)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert [(e["field"], e["row"]) for e in errors] == [("rows[1].priority", 3)]
    ids = {i["row"]["demand_id"] for i in _rows(svc, cid)}
    assert {"B1", "B2", "B3"} <= ids and not {"B4", "B5", "B6"} & ids
    # the same rows as a workbook's demands sheet
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        pd.DataFrame([_demand("W1"), _demand("W2")]).to_excel(
            writer, sheet_name="demands", index=False
        )
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = svc.client.post(
        url, content=buffer.getvalue(), headers={**svc.h("planner"), "Content-Type": xlsx}
    )
    assert r.status_code == 201, r.text
    rows = {i["row"]["demand_id"]: i for i in _rows(svc, cid)}
    assert rows["W2"]["origin"] == "joint_meeting" and rows["W2"]["row"]["hours"] == 10
    assert len([e for e in _audit(svc, cid) if e["action"] == "add_demand"]) == 5


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (_demand("X1", "C-NOWHERE"), "rows[0].community_id"),
        (_demand("X1", "C-TJ-01"), "rows[0].community_id"),  # Taijiang: not the cycle's
        (_demand("X1", priority=6), "rows[0].priority"),
        (_demand("X1", hours=2.5), "rows[0].hours"),
        (_demand("D0001"), "rows[0].demand_id"),  # a base demand's id
        (_demand("X1", colour="red"), "rows[0].colour"),
        ({k: v for k, v in _demand("X1").items() if k != "category"}, "rows[0].category"),
    ],
)
def test_bad_rows_are_named(svc: Service, demo_zip: bytes, row: Any, field: str) -> None:
    cid = _cycle(svc, demo_zip)["id"]
    n = len(_rows(svc, cid))
    r = svc.client.post(
        f"/cycles/{cid}/lists/demands",
        json={"rows": [row], "origin": "online"},
        headers=svc.h("planner"),
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid_rows"
    assert field in [e["field"] for e in body["errors"]], body
    assert len(_rows(svc, cid)) == n
    assert not [e for e in _audit(svc, cid) if e["action"] == "add_demand"]


def test_duplicate_ids_in_one_request(svc: Service, demo_zip: bytes) -> None:
    cid = _cycle(svc, demo_zip)["id"]
    r = svc.client.post(
        f"/cycles/{cid}/lists/demands",
        json={"rows": [_demand("Y1"), _demand("Y2"), _demand("Y1")], "origin": "online"},
        headers=svc.h("planner"),
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["rows[2].demand_id"]
    r = svc.client.post(
        f"/cycles/{cid}/lists/demands",
        json={"rows": [_demand("Y1")], "origin": "online"},
        headers=svc.h("planner"),
    )
    assert r.status_code == 201
    r = svc.client.post(
        f"/cycles/{cid}/lists/demands",
        json={"rows": [_demand("Y1")], "origin": "online"},
        headers=svc.h("planner"),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "rows[0].demand_id"


def test_roles_and_scopes(svc: Service, demo_zip: bytes) -> None:
    cid = _cycle(svc, demo_zip)["id"]
    narrow = _key(svc, role="community", communities=["C-GL-02"])
    r = svc.client.post(
        f"/cycles/{cid}/lists/demands",
        json={"rows": [_demand("Z1", "C-GL-01")], "origin": "home_visit"},
        headers=narrow,
    )
    assert r.status_code == 403, r.text
    assert r.json()["errors"][0]["field"] == "rows[0].community_id"
    r = svc.client.post(
        f"/cycles/{cid}/lists/demands",
        json={"rows": [_demand("Z1", "C-GL-02")], "origin": "home_visit"},
        headers=narrow,
    )
    assert r.status_code == 201, r.text
    # the narrowed key sees its community's demands only
    r = svc.client.get(f"/cycles/{cid}/lists/demands?limit=1000", headers=narrow)
    seen = {i["row"]["community_id"] for i in r.json()["items"]}
    assert seen == {"C-GL-02"}
    gulou = _gulou_demands()
    assert r.json()["total"] == int((gulou["community_id"] == "C-GL-02").sum()) + 1
    # a unit key may not add demands; a community key may not add cadres
    r = svc.client.post(
        f"/cycles/{cid}/lists/demands",
        json={"rows": [_demand("Z2")], "origin": "online"},
        headers=svc.h("unit"),
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden_role"
    cadre = {"cadre_id": "KN1", "unit_id": "U-MORG", "skills": ["digital_help"], "hours": 8}
    r = svc.client.post(
        f"/cycles/{cid}/lists/cadres",
        json={"rows": [cadre], "origin": "online"},
        headers=svc.h("community"),
    )
    assert r.status_code == 403
    # a unit key narrowed to U-MCA adds its cadre, not U-MORG's
    unit = _key(svc, role="unit", units=["U-MCA"])
    r = svc.client.post(
        f"/cycles/{cid}/lists/cadres",
        json={"rows": [cadre], "origin": "online"},
        headers=unit,
    )
    assert r.status_code == 403
    assert r.json()["errors"][0]["field"] == "rows[0].unit_id"
    r = svc.client.post(
        f"/cycles/{cid}/lists/cadres",
        json={"rows": [{**cadre, "unit_id": "U-MCA"}], "origin": "online"},
        headers=unit,
    )
    assert r.status_code == 201, r.text
    cadres = {i["row"]["cadre_id"]: i for i in _rows(svc, cid, "cadres")}
    assert cadres["KN1"]["row"]["skills"] == "digital_help"
    # a resource of an unknown unit
    resource = {"resource_id": "RN1", "unit_id": "U-NONE", "kind": "service", "amount": 5}
    r = svc.client.post(
        f"/cycles/{cid}/lists/resources",
        json={"rows": [resource], "origin": "online"},
        headers=svc.h("unit"),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "rows[0].unit_id"


def test_edit_rows(svc: Service, demo_zip: bytes) -> None:
    cid = _cycle(svc, demo_zip)["id"]
    narrow = _key(svc, role="community", communities=["C-JUNMEN"])
    r = svc.client.patch(
        f"/cycles/{cid}/lists/demands/D0001", json={"values": {"hours": 40}}, headers=narrow
    )
    assert r.status_code == 200, r.text
    assert r.json()["row"]["hours"] == 40 and r.json()["origin"] == "base"
    rows = {i["row"]["demand_id"]: i for i in _rows(svc, cid)}
    assert rows["D0001"]["row"]["hours"] == 40
    assert rows["D0001"]["updated_at"] is not None
    edit = [e for e in _audit(svc, cid) if e["action"] == "edit_demand"]
    assert edit[0]["before"]["row"]["hours"] == 36 and edit[0]["after"]["row"]["hours"] == 40
    # another community's demand; a bad value; the id itself
    other = _gulou_demands()
    other_id = other.loc[other["community_id"] == "C-GL-05", "demand_id"].iloc[0]
    r = svc.client.patch(
        f"/cycles/{cid}/lists/demands/{other_id}", json={"values": {"hours": 1}}, headers=narrow
    )
    assert r.status_code == 403
    r = svc.client.patch(
        f"/cycles/{cid}/lists/demands/D0001", json={"values": {"priority": 0}}, headers=narrow
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "values.priority"
    r = svc.client.patch(
        f"/cycles/{cid}/lists/demands/D0001",
        json={"values": {"demand_id": "D9"}},
        headers=narrow,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "values.demand_id"
    r = svc.client.patch(
        f"/cycles/{cid}/lists/demands/NOPE", json={"values": {"hours": 1}}, headers=narrow
    )
    assert r.status_code == 404
    # the planner edits any demand (the joint meeting's corrections); a unit none: 403
    r = svc.client.patch(
        f"/cycles/{cid}/lists/demands/D0001",
        json={"values": {"hours": 2}},
        headers=svc.h("planner"),
    )
    assert r.status_code == 200 and r.json()["row"]["hours"] == 2
    r = svc.client.patch(
        f"/cycles/{cid}/lists/demands/D0001",
        json={"values": {"hours": 3}},
        headers=svc.h("unit"),
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden_role"
    # a unit edits its resource
    r = svc.client.patch(
        f"/cycles/{cid}/lists/resources/R-JCY-CANTEEN",
        json={"values": {"amount": 100}},
        headers=svc.h("unit"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["row"]["amount"] == 100


def test_open_planning_snapshots_the_cycles_demands(svc: Service, demo_zip: bytes) -> None:
    cid = _cycle(svc, demo_zip)["id"]
    added = [_demand("P1", "C-GL-03"), _demand("P2", "C-GL-16", hours=4)]
    r = svc.client.post(
        f"/cycles/{cid}/lists/demands",
        json={"rows": added, "origin": "hotline"},
        headers=svc.h("planner"),
    )
    assert r.status_code == 201, r.text
    r = svc.client.post(f"/cycles/{cid}/moves/open_planning", headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    cycle = r.json()
    assert cycle["phase"] == "planning" and cycle["dataset_id"]
    r = svc.client.get(f"/datasets/{cycle['dataset_id']}", headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    expected = len(_gulou_demands()) + len(added)
    assert r.json()["tables"]["demands"] == expected
    assert r.json()["districts"] == sorted(
        pd.read_csv(DEMO / "communities.csv")["district"].unique()
    )
    snap = [e for e in _audit(svc, cid) if e["action"] == "snapshot_lists"]
    assert snap and snap[0]["after"]["counts"]["demands"] == expected
    # entering after planning opened: 409 naming the phase
    r = svc.client.post(
        f"/cycles/{cid}/lists/demands",
        json={"rows": [_demand("P3")], "origin": "hotline"},
        headers=svc.h("planner"),
    )
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0] == {
        "field": "phase",
        "value": "planning",
        "allowed": r.json()["errors"][0]["allowed"],
    }
    # a second cycle of the same lists reuses the stored snapshot
    ds = cycle["base_dataset_id"]
    r = svc.client.post(
        "/cycles",
        json={"district": "Gulou", "period": "2027-Q1", "dataset_id": ds},
        headers=svc.h("planner"),
    )
    second = r.json()["id"]
    svc.client.post(
        f"/cycles/{second}/lists/demands",
        json={"rows": added, "origin": "hotline"},
        headers=svc.h("planner"),
    )
    r = svc.client.post(f"/cycles/{second}/moves/open_planning", headers=svc.h("planner"))
    assert r.status_code == 200 and r.json()["dataset_id"] == cycle["dataset_id"]


def test_invalid_lists_keep_the_phase(svc: Service, demo_zip: bytes) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from api.db.models import CycleEntry

    cid = _cycle(svc, demo_zip)["id"]
    engine = create_engine(svc.url)
    with Session(engine) as session:  # a row entered past the checks (an older server)
        session.add(
            CycleEntry(
                cycle_id=cid,
                table_name="demands",
                row_key="BAD",
                community_id="C-GL-01",
                data=_demand("BAD", priority=9),
                origin="online",
                entered_role="planner",
            )
        )
        session.commit()
    engine.dispose()
    r = svc.client.post(f"/cycles/{cid}/moves/open_planning", headers=svc.h("planner"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid_dataset"
    assert [(e["column"], e["value"]) for e in body["errors"]] == [("priority", "9")]
    r = svc.client.get(f"/cycles/{cid}", headers=svc.h("planner"))
    assert r.json()["phase"] == "collecting" and r.json()["dataset_id"] is None


def test_carried_over_rows_through_the_service(svc: Service, demo_zip: bytes) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from api.cycles.access import Actor
    from api.cycles.lists import add_entries
    from api.db.models import Cycle

    cid = _cycle(svc, demo_zip)["id"]
    planner = Actor("planner", None)
    engine = create_engine(svc.url)
    with Session(engine) as session:
        cycle = session.get(Cycle, cid)
        assert cycle is not None
        carried = [
            {**_demand("D0001", "C-JUNMEN", hours=5), "origin": "carried_over"},
            _demand("C9", "C-GL-09", hours=3),
        ]
        add_entries(
            session,
            cycle,
            planner,
            "demands",
            carried,
            "carried_over",
            carried_from="2026-Q3",
            times_carried=[2, 1],
        )
        session.commit()
        # a user's origin may not be carried_over, nor base
        with pytest.raises(Exception, match="origin"):
            add_entries(session, cycle, planner, "demands", [_demand("C10")], "base")
    engine.dispose()
    rows = {i["row"]["demand_id"]: i for i in _rows(svc, cid)}
    assert len(rows) == len(_gulou_demands()) + 1  # D0001 replaced, C9 added
    assert rows["D0001"]["row"]["hours"] == 5
    assert (rows["D0001"]["origin"], rows["D0001"]["carried_from"]) == ("carried_over", "2026-Q3")
    assert [rows[k]["times_carried"] for k in ("D0001", "C9")] == [2, 1]
    r = svc.client.post(
        f"/cycles/{cid}/lists/demands",
        json={"rows": [_demand("C11")], "origin": "carried_over"},
        headers=svc.h("planner"),
    )
    assert r.status_code == 422
