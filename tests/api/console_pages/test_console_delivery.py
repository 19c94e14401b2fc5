"""The delivery page of a cycle: recording hours (one, or a CSV), confirming and
rejecting them, the progress per project."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
from conftest import delivery_cycle
from console_kit import assert_clean


@pytest.fixture
def cycle(console: Any) -> Any:
    return delivery_cycle(console.svc)


def record(svc: Any, cid: str, row: dict[str, Any], hours: int = 1) -> int:
    """Record a delivery on an assignment with the planner's key; its id."""
    r = svc.client.post(
        f"/cycles/{cid}/deliveries",
        json={
            "supplier_kind": row["supplier_kind"],
            "supplier_id": str(row["supplier_id"]),
            "demand_id": str(row["demand_id"]),
            "hours": hours,
        },
        headers=svc.h("planner"),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def deliveries(svc: Any, cid: str) -> list[dict[str, Any]]:
    r = svc.client.get(f"/cycles/{cid}/deliveries?limit=1000", headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_pages_render_for_roles_and_not_out_of_scope(console: Any, cycle: Any) -> None:
    url = f"/console/cycles/{cycle.id}/delivery"
    for who in ("planner", "community", "unit", "street_reviewer", "district_reviewer"):
        r = console.as_(who).get(url)
        assert r.status_code == 200, (who, r.text[:500])
        assert_clean(r.text)
        assert "<progress" in r.text
    assert console.as_("cangshan").get(url).status_code == 403
    assert console.as_("cangshan").get(f"{url}/template.csv").status_code == 403
    # the notice page shows the published version after the notice
    notice = console.as_("planner").get(f"/console/cycles/{cycle.id}/notice")
    assert notice.status_code == 200 and str(cycle.status["demand_id"].iloc[0]) in notice.text
    assert_clean(notice.text)
    # the template names cadres: for those who record only
    assert console.as_("community").get(f"{url}/template.csv").status_code == 403
    # the forms by role: units record, communities decide
    unit = console.as_("unit").get(url).text
    assert 'name="assignment"' in unit and 'name="file"' in unit and "/delivery/decide" not in unit
    community = console.as_("community").get(url).text
    assert 'name="assignment"' not in community and "/delivery/decide" in community


def test_unit_records_one_and_refusals_keep_values(console: Any, cycle: Any) -> None:
    svc = console.svc
    url = f"/console/cycles/{cycle.id}/delivery"
    a = cycle.assignments
    mine = a[a["unit_id"] == "U-MCA"].iloc[0]
    choice = f"{mine['supplier_kind']}|{mine['supplier_id']}|{mine['demand_id']}"
    unit = console.as_("unit")
    page = unit.get(url).text
    assert f'value="{choice}"' in page
    # another unit's assignment is not offered
    other = a[a["unit_id"] != "U-MCA"].iloc[0]
    assert f'value="{other["supplier_kind"]}|{other["supplier_id"]}|' not in page or (
        other["supplier_id"] in set(a[a["unit_id"] == "U-MCA"]["supplier_id"])
    )
    post = f"{url}/record"
    # more hours than planned: 422 naming the hours, typed value kept
    too_many = int(mine["hours"]) + 1
    r = unit.post(post, {"assignment": choice, "hours": str(too_many)})
    assert r.status_code == 422, r.text[:500]
    assert f'value="{too_many}"' in r.text and 'aria-invalid="true"' in r.text
    # not a number: 422, shown escaped
    r = unit.post(post, {"assignment": choice, "hours": "<script>alert(1)</script>"})
    assert r.status_code == 422
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<script>alert(1)</script>" not in r.text
    # no assignment chosen: 422
    assert unit.post(post, {"assignment": "", "hours": "1"}).status_code == 422
    # another unit's assignment: the service's 403
    other_choice = f"{other['supplier_kind']}|{other['supplier_id']}|{other['demand_id']}"
    assert unit.post(post, {"assignment": other_choice, "hours": "1"}).status_code == 403
    # without the token: 403, nothing recorded
    assert unit.post(post, {"assignment": choice, "hours": "1"}, token=False).status_code == 403
    assert deliveries(svc, cycle.id) == []
    r = unit.post(post, {"assignment": choice, "hours": "1"})
    assert r.status_code == 303, r.text[:500]
    [made] = deliveries(svc, cycle.id)
    assert (made["supplier_id"], made["hours"], made["status"]) == (
        str(mine["supplier_id"]),
        1,
        "pending",
    )
    # the reviewer may not record (403 on the page)
    assert (
        console.as_("street_reviewer").post(post, {"assignment": choice, "hours": "1"}).status_code
        == 403
    )


def test_unit_uploads_a_csv(console: Any, cycle: Any) -> None:
    svc = console.svc
    url = f"/console/cycles/{cycle.id}/delivery"
    unit = console.as_("unit")
    unit.get(url)
    r = unit.client.get(f"{url}/template.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(r.content.decode("utf-8-sig")), dtype=str)
    assert set(frame["unit_id"]) == {"U-MCA"} and (frame["hours_delivered"] == "0").all()
    frame.loc[frame.index[:2], "hours_delivered"] = "1"
    good = frame.to_csv(index=False).encode()
    # a bad file: 422 with the problems listed, nothing recorded
    bad = frame.copy()
    bad.loc[bad.index[0], "hours_delivered"] = "lots"
    files = {"file": ("d.csv", bad.to_csv(index=False).encode(), "text/csv")}
    r = unit.post(f"{url}/file", files=files)
    assert r.status_code == 422, r.text[:500]
    assert "lots" in r.text and "<caption>" in r.text
    assert_clean(r.text)
    assert deliveries(svc, cycle.id) == []
    # without the token: 403
    files = {"file": ("d.csv", good, "text/csv")}
    assert unit.post(f"{url}/file", files=files, token=False).status_code == 403
    r = unit.post(f"{url}/file", files={"file": ("d.csv", good, "text/csv")})
    assert r.status_code == 303, r.text[:500]
    assert len(deliveries(svc, cycle.id)) == 2


def test_community_confirms_many_and_rejects_one(console: Any, cycle: Any) -> None:
    svc = console.svc
    url = f"/console/cycles/{cycle.id}/delivery"
    a = cycle.assignments
    rows = a[a["community_id"] == "C-JUNMEN"].to_dict("records")
    assert len(rows) >= 3
    ids = [record(svc, cycle.id, r) for r in rows[:3]]
    community = console.as_("community")
    page = community.get(url).text
    for ident in ids:
        assert f'id="pick-{ident}"' in page
    post = f"{url}/decide"
    # nothing ticked: 422
    r = community.post(post, {"status": "approved"})
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert (
        community.post(
            post, {"status": "approved", "delivery_id": [str(ids[0])]}, token=False
        ).status_code
        == 403
    )
    r = community.post(post, {"status": "approved", "delivery_id": [str(i) for i in ids[:2]]})
    assert r.status_code == 303, r.text[:500]
    r = community.post(post, {"only": f"{ids[2]}:rejected", "reason": "<b>没有来</b>"})
    assert r.status_code == 303
    status = {d["id"]: d["status"] for d in deliveries(svc, cycle.id)}
    assert [status[i] for i in ids] == ["approved", "approved", "rejected"]
    # the reason is kept, shown to the unit and the planner (as text), and in the API
    assert {d["id"]: d["reason"] for d in deliveries(svc, cycle.id)}[ids[2]] == "<b>没有来</b>"
    assert "&lt;b&gt;没有来&lt;/b&gt;" in console.as_("planner").get(url).text
    # decided already: 409 on the page, the ticks kept, nothing changed
    r = community.post(post, {"status": "rejected", "delivery_id": [str(ids[0])]})
    assert r.status_code == 409 and 'role="alert"' in r.text
    assert {d["id"]: d["status"] for d in deliveries(svc, cycle.id)} == status
    page = community.get(url).text
    assert "<progress" in page
    assert_clean(page)
    # a unit may not decide
    assert console.as_("unit").post(post, {"only": f"{ids[0]}:approved"}).status_code == 403
