"""The public notice page of a cycle: the list on notice, objections and answers,
publishing, the published versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from console_kit import assert_clean, call, discussion_cycle, junmen_project

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "datasets" / "fuzhou-demo"


def notice_cycle(svc: Any) -> str:
    """A Gulou cycle in ``public_notice`` (both reviews approved) through the JSON API."""
    cid = discussion_cycle(svc)
    call(svc, "POST", f"/cycles/{cid}/moves/submit", "planner")
    call(svc, "POST", f"/cycles/{cid}/moves/approve", "street_reviewer")
    call(svc, "POST", f"/cycles/{cid}/moves/approve", "district_reviewer")
    return cid


def object_to(svc: Any, cid: str, body: str, demand: str | None = None) -> int:
    """File an objection to C-JUNMEN's projects (the public JSON route)."""
    r = svc.client.post(
        f"/public/cycles/{cid}/objections",
        json={
            "community_id": "C-JUNMEN",
            "demand_id": demand,
            "body": body,
            "contact": "138-0000-0000",
        },
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


@pytest.fixture
def cycle(console: Any) -> str:
    return notice_cycle(console.svc)


def test_pages_render_for_roles_and_not_out_of_scope(console: Any, cycle: str) -> None:
    svc = console.svc
    object_to(svc, cycle, "More evening hours please")
    url = f"/console/cycles/{cycle}/notice"
    for who in ("planner", "community", "unit", "street_reviewer", "district_reviewer"):
        r = console.as_(who).get(url)
        assert r.status_code == 200, (who, r.text[:500])
        assert_clean(r.text)
        assert "More evening hours please" in r.text
        assert f"/public/cycles/{cycle}/communities/C-JUNMEN" in r.text
    assert console.as_("cangshan").get(url).status_code == 403
    # the objector's contact: planners only
    assert "138-0000-0000" in console.as_("planner").get(url).text
    assert "138-0000-0000" not in console.as_("community").get(url).text
    # the answer form and the publish button: planners only
    assert "/answer" in console.as_("planner").get(url).text
    assert "/answer" not in console.as_("community").get(url).text
    assert "/moves/publish" not in console.as_("community").get(url).text


def test_answer_publish_and_versions(console: Any, cycle: str) -> None:
    svc = console.svc
    demand = junmen_project(svc, cycle)
    first = object_to(svc, cycle, "<script>alert(1)</script>", demand)
    url = f"/console/cycles/{cycle}/notice"
    planner = console.as_("planner")
    page = planner.get(url).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page
    answer = f"{url}/objections/{first}/answer"
    # refused: no yes/no; the answer typed is kept
    r = planner.post(answer, {"answer": "Hours added next quarter"})
    assert r.status_code == 422 and "Hours added next quarter" in r.text
    assert 'aria-invalid="true"' in r.text or "field-error" in r.text
    # refused: empty answer, the choice kept
    r = planner.post(answer, {"answer": " ", "upheld": "no"})
    assert r.status_code == 422 and 'value="no" checked' in r.text
    assert_clean(r.text)
    # without the token: 403; a community may not answer (403 on the page)
    assert planner.post(answer, {"answer": "x", "upheld": "no"}, token=False).status_code == 403
    r = console.as_("community").post(answer, {"answer": "x", "upheld": "no"})
    assert r.status_code == 403
    # publish refused while the objection is open (the move route's 409)
    r = planner.post(f"/console/cycles/{cycle}/moves/publish")
    assert r.status_code == 409
    r = planner.post(answer, {"answer": "<i>Hours</i> added next quarter", "upheld": "no"})
    assert r.status_code == 303
    page = planner.get(url).text
    assert "&lt;i&gt;Hours&lt;/i&gt;" in page
    # a second answer: 409 on the page
    r = planner.post(answer, {"answer": "again", "upheld": "yes"})
    assert r.status_code == 409 and 'role="alert"' in r.text
    r = planner.post(f"/console/cycles/{cycle}/moves/publish")
    assert r.status_code == 303
    page = planner.get(url).text
    assert 'id="version-1"' in page
    assert call(svc, "GET", f"/cycles/{cycle}/versions", "planner")[0]["version"] == 1
    # revise, back through the reviews, publish again: version 2 with its differences
    call(svc, "POST", f"/cycles/{cycle}/moves/revise", "planner", json={"reason": "Fix"})
    draft = call(svc, "GET", f"/cycles/{cycle}/draft", "planner")
    served = next(p for p in draft["projects"] if p["suppliers"])
    s = served["suppliers"][0]
    call(
        svc,
        "POST",
        f"/cycles/{cycle}/draft/edits",
        "planner",
        201,
        json={
            "edits": [
                {
                    "action": "exclude",
                    "supplier_kind": s["supplier_kind"],
                    "supplier_id": s["supplier_id"],
                    "demand_id": served["demand_id"],
                }
            ]
        },
    )
    for role, move in (
        ("planner", "submit"),
        ("planner", "submit"),
        ("street_reviewer", "approve"),
        ("district_reviewer", "approve"),
        ("planner", "publish"),
    ):
        call(svc, "POST", f"/cycles/{cycle}/moves/{move}", role)
    page = console.as_("community").get(url).text
    assert 'id="version-2"' in page and 'id="version-1"' in page
    assert_clean(page)
    assert 'id="diff-2"' in page and 'id="diff-1"' not in page
    diff = call(svc, "GET", f"/cycles/{cycle}/versions/2", "planner")["diff"]
    assert diff["summary"]["assignments_removed"] >= 1
    for d in diff["demands"]:
        assert d["demand_id"] in page
