"""The cycle's delivery over HTTP: hours recorded by units, approved or rejected by
communities, all-or-nothing bulk files, and each project's progress, checked against
the published plan's assignments computed here with pandas."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
from conftest import Service, delivery_cycle, narrow_key

from api.db.models import Cycle
from api.db.session import session_scope

DEMO = Path(__file__).resolve().parents[2] / "datasets" / "fuzhou-demo"


def _body(row: pd.Series, hours: int) -> dict[str, Any]:
    return {
        "supplier_kind": row["supplier_kind"],
        "supplier_id": str(row["supplier_id"]),
        "demand_id": str(row["demand_id"]),
        "hours": hours,
    }


def _audit(svc: Service, cycle_id: str) -> list[dict[str, Any]]:
    r = svc.client.get(f"/cycles/{cycle_id}/audit?limit=10000", headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_record_decide_and_progress(each_svc: Service) -> None:
    svc = each_svc
    c = delivery_cycle(svc)
    a = c.assignments
    url = f"/cycles/{c.id}/deliveries"
    # two assignments of 2+ hours, in two different communities and units
    big = a[a["hours"] >= 2]
    first = big.iloc[0]
    second = big[
        (big["community_id"] != first["community_id"]) & (big["unit_id"] != first["unit_id"])
    ].iloc[0]
    unit_key = narrow_key(svc, "unit", units=[str(first["unit_id"])])
    own_community = narrow_key(svc, "community", communities=[str(first["community_id"])])

    # above the planned hours: 422 naming hours; not in the plan: 422 naming the assignment
    r = svc.client.post(url, json=_body(first, int(first["hours"]) + 1), headers=unit_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "hours", r.text
    ghost = {**_body(first, 1), "supplier_id": "NO-SUCH-CADRE"}
    r = svc.client.post(url, json=ghost, headers=svc.h("planner"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "assignment", r.text
    # a unit key for another unit: 403
    r = svc.client.post(url, json=_body(second, 1), headers=unit_key)
    assert r.status_code == 403 and r.json()["code"] == "forbidden_scope", r.text
    # a community may not record
    r = svc.client.post(url, json=_body(first, 1), headers=svc.h("community"))
    assert r.status_code == 403, r.text

    h1 = int(first["hours"]) - 1
    r = svc.client.post(url, json=_body(first, h1), headers=unit_key)
    assert r.status_code == 201, r.text
    d1 = r.json()
    assert d1["status"] == "pending" and d1["version"] == 1 and d1["hours"] == h1
    assert d1["unit_id"] == first["unit_id"] and d1["community_id"] == first["community_id"]
    # one hour is left on it: two more are too many
    r = svc.client.post(url, json=_body(first, 2), headers=unit_key)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "hours", r.text

    r = svc.client.post(url, json=_body(second, int(second["hours"])), headers=svc.h("planner"))
    assert r.status_code == 201, r.text
    d2 = r.json()

    # a community key for another community: 403; its own: approved, once
    r = svc.client.post(
        f"{url}/{d2['id']}/decision", json={"status": "approved"}, headers=own_community
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden_scope", r.text
    r = svc.client.post(
        f"{url}/{d1['id']}/decision", json={"status": "unit"}, headers=own_community
    )
    assert r.status_code == 422, r.text
    r = svc.client.post(
        f"{url}/{d1['id']}/decision", json={"status": "approved"}, headers=own_community
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["decided_by"] is not None
    assert r.json()["decided_at"] is not None
    r = svc.client.post(
        f"{url}/{d1['id']}/decision", json={"status": "rejected"}, headers=own_community
    )
    assert r.status_code == 409 and r.json()["code"] == "delivery_decided", r.text
    assert str(d1["id"]) in r.json()["detail"] and "approved" in r.json()["detail"]
    # a unit may not decide
    r = svc.client.post(f"{url}/{d2['id']}/decision", json={"status": "rejected"}, headers=unit_key)
    assert r.status_code == 403, r.text
    r = svc.client.post(
        f"{url}/{d2['id']}/decision", json={"status": "rejected"}, headers=svc.h("community")
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    # rejected hours do not count: the whole assignment can be recorded again, pending
    r = svc.client.post(url, json=_body(second, int(second["hours"])), headers=svc.h("planner"))
    assert r.status_code == 201, r.text
    d3 = r.json()

    # the list, filtered
    r = svc.client.get(url, headers=svc.h("planner"))
    assert r.json()["total"] == 3
    r = svc.client.get(f"{url}?status=approved", headers=svc.h("planner"))
    assert [i["id"] for i in r.json()["items"]] == [d1["id"]]
    r = svc.client.get(f"{url}?demand_id={second['demand_id']}", headers=svc.h("planner"))
    assert sorted(i["id"] for i in r.json()["items"]) == sorted([d2["id"], d3["id"]])
    r = svc.client.get(url, headers=unit_key)  # a unit key reads its units' deliveries
    assert [i["id"] for i in r.json()["items"]] == [d1["id"]]

    # progress, computed here from the plan's assignments
    planned = a.groupby("demand_id")["hours"].sum()
    ledger = {
        (str(first["demand_id"]), "approved"): h1,
        (str(second["demand_id"]), "rejected"): int(second["hours"]),
        (str(second["demand_id"]), "pending"): int(second["hours"]),
    }
    r = svc.client.get(f"/cycles/{c.id}/progress", headers=svc.h("viewer"))
    assert r.status_code == 200, r.text
    got = {p["demand_id"]: p for p in r.json()}
    assert set(got) == {str(d) for d in planned.index}
    for demand, hours in planned.items():
        p = got[str(demand)]
        approved = ledger.get((str(demand), "approved"), 0)
        assert p["planned_hours"] == hours
        assert p["approved_hours"] == approved
        assert p["pending_hours"] == ledger.get((str(demand), "pending"), 0)
        assert p["rejected_hours"] == ledger.get((str(demand), "rejected"), 0)
        assert p["progress"] == (approved / hours if hours else 0.0)
        want = "not_started" if approved == 0 else "done" if approved >= hours else "in_progress"
        assert p["status"] == want

    # every write is in the audit log, privately, with the hours and the status moves
    log = _audit(svc, c.id)
    recorded = [e for e in log if e["action"] == "record_delivery"]
    assert [e["after"]["hours"] for e in recorded] == [h1, *[int(second["hours"])] * 2]
    assert all(e["visibility"] == "private" for e in recorded)
    assert recorded[0]["after"]["unit_id"] == first["unit_id"]
    decided = [e for e in log if e["action"] in ("confirm_delivery", "reject_delivery")]
    assert [(e["before"]["status"], e["after"]["status"]) for e in decided] == [
        ("pending", "approved"),
        ("pending", "rejected"),
    ]
    # the public reads none of it
    public = svc.client.get(f"/cycles/{c.id}/audit", headers=svc.h("viewer")).json()["items"]
    assert not [e for e in public if e["action"] == "record_delivery"]


def _csv(rows: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    rows.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def test_bulk_file_all_or_nothing(svc: Service) -> None:
    c = delivery_cycle(svc)
    a = c.assignments
    url = f"/cycles/{c.id}/deliveries/file"
    head = {**svc.h("planner"), "Content-Type": "text/csv"}
    rows = a.head(4).copy()
    rows["hours_delivered"] = [str(h) for h in rows["hours"]]
    rows.loc[rows.index[0], "hours_delivered"] = str(int(rows["hours"].iloc[0]) + 1)
    rows.loc[rows.index[1], "hours_delivered"] = "abc"
    rows.loc[rows.index[2], "supplier_id"] = "NO-SUCH-CADRE"
    r = svc.client.post(url, content=_csv(rows), headers=head)
    assert r.status_code == 422 and r.json()["code"] == "invalid_deliveries", r.text
    issues = r.json()["errors"]
    assert [(i["row"], i["column"]) for i in issues] == [
        (2, "hours_delivered"),
        (3, "hours_delivered"),
        (4, "demand_id"),
    ]
    assert issues[0]["value"] == str(int(a["hours"].iloc[0]) + 1) and issues[0]["file"]
    assert all(i["expected"] for i in issues)
    assert svc.client.get(f"/cycles/{c.id}/deliveries", headers=head).json()["total"] == 0
    # a missing column
    r = svc.client.post(url, content=_csv(a.head(2)), headers=head)
    assert r.status_code == 422
    assert [i["column"] for i in r.json()["errors"]] == ["hours_delivered"]

    good = a.head(3).copy()
    good["hours_delivered"] = [int(good["hours"].iloc[0]), 0, 1]
    # a unit key for one unit sending other units' rows: 403, nothing recorded
    units = set(good["unit_id"])
    if len(units) > 1:
        one = narrow_key(svc, "unit", units=[str(good["unit_id"].iloc[0])])
        r = svc.client.post(url, content=_csv(good), headers={**one, "Content-Type": "text/csv"})
        assert r.status_code == 403, r.text
    r = svc.client.post(url, content=_csv(good), headers=head)
    assert r.status_code == 201, r.text
    made = r.json()
    assert [(d["demand_id"], d["hours"]) for d in made] == [
        (str(good["demand_id"].iloc[0]), int(good["hours"].iloc[0])),
        (str(good["demand_id"].iloc[2]), 1),
    ]
    assert all(d["status"] == "pending" for d in made)
    # the same file again: the first row's hours are all recorded already
    r = svc.client.post(url, content=_csv(good), headers=head)
    assert r.status_code == 422
    assert [(i["row"], i["column"]) for i in r.json()["errors"]] == [(2, "hours_delivered")]
    listed = svc.client.get(f"/cycles/{c.id}/deliveries", headers=head).json()
    assert listed["total"] == 2
    log = _audit(svc, c.id)
    assert len([e for e in log if e["action"] == "record_delivery"]) == 2


def test_delivery_needs_phase_and_version(svc: Service) -> None:
    c = delivery_cycle(svc)
    row = c.assignments.iloc[0]
    with session_scope(svc.client.app.state.sessionmaker) as session:
        cycle = session.get(Cycle, c.id)
        assert cycle is not None
        cycle.phase = "published"
    r = svc.client.post(f"/cycles/{c.id}/deliveries", json=_body(row, 1), headers=svc.h("planner"))
    assert r.status_code == 409 and r.json()["code"] == "phase_conflict", r.text
    # a cycle without a published version
    other = svc.client.post(
        "/cycles",
        json={"district": "Gulou", "period": "2027-Q1", "dataset_id": c.dataset_id},
        headers=svc.h("planner"),
    ).json()
    with session_scope(svc.client.app.state.sessionmaker) as session:
        cycle = session.get(Cycle, other["id"])
        assert cycle is not None
        cycle.phase = "delivery"
    r = svc.client.post(
        f"/cycles/{other['id']}/deliveries", json=_body(row, 1), headers=svc.h("planner")
    )
    assert r.status_code == 409 and r.json()["code"] == "not_published", r.text
    r = svc.client.get(f"/cycles/{other['id']}/progress", headers=svc.h("planner"))
    assert r.status_code == 409


def test_bulk_file_unreadable(svc: Service) -> None:
    c = delivery_cycle(svc)
    head = {**svc.h("planner"), "Content-Type": "text/csv"}
    r = svc.client.post(f"/cycles/{c.id}/deliveries/file", content=b"", headers=head)
    assert r.status_code == 422, r.text
    for content in (b"\xff\xfe\x00bad", b'a,"b\n1', b"\n"):
        r = svc.client.post(f"/cycles/{c.id}/deliveries/file", content=content, headers=head)
        assert r.status_code == 422 and r.json()["code"] == "invalid_deliveries", r.text
        assert r.json()["errors"][0]["file"] == "deliveries.csv"


def test_the_exported_csv_reads_back_with_its_formula_cells_restored() -> None:
    """The assignments' CSV as exported writes ``=x`` as ``'=x`` (a spreadsheet would
    run it); read back as deliveries, the cell is ``=x`` again."""
    from api.cycles.delivery import _read_csv
    from matcher.csvsafe import neutralise_formulas

    frame = pd.DataFrame({"supplier_id": ["=cmd|' /C calc'!A0", "C-1"], "hours": ["2", "3"]})
    exported = neutralise_formulas(frame).to_csv(index=False).encode()
    assert b"'=cmd" in exported
    assert _read_csv(exported, "f.csv")["supplier_id"].tolist() == frame["supplier_id"].tolist()
