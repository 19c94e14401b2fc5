"""The evaluation page of a cycle: rating tokens shown once, the committee's rating, the
ratings' aggregates, the points after closing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import delivery_cycle
from console_kit import assert_clean, call


@pytest.fixture
def cycle(console: Any) -> Any:
    """A Gulou cycle in ``evaluation`` with a confirmed delivery on a C-JUNMEN project
    (its demand id as ``.delivered``)."""
    svc = console.svc
    made = delivery_cycle(svc)
    a = made.assignments
    row = a[a["community_id"] == "C-JUNMEN"].iloc[0]
    d = call(
        svc,
        "POST",
        f"/cycles/{made.id}/deliveries",
        "planner",
        201,
        json={
            "supplier_kind": row["supplier_kind"],
            "supplier_id": str(row["supplier_id"]),
            "demand_id": str(row["demand_id"]),
            "hours": int(row["hours"]),
        },
    )
    call(
        svc,
        "POST",
        f"/cycles/{made.id}/deliveries/{d['id']}/decision",
        "community",
        json={"status": "approved"},
    )
    call(svc, "POST", f"/cycles/{made.id}/moves/start_evaluation", "planner")
    made.delivered = str(row["demand_id"])
    made.cadre = str(row["supplier_id"]) if row["supplier_kind"] == "cadre" else None
    return made


def test_pages_render_for_roles_and_not_out_of_scope(console: Any, cycle: Any) -> None:
    url = f"/console/cycles/{cycle.id}/evaluation"
    for who in ("planner", "community", "unit", "street_reviewer", "district_reviewer"):
        r = console.as_(who).get(url)
        assert r.status_code == 200, (who, r.text[:500])
        assert_clean(r.text)
        assert f"/public/cycles/{cycle.id}/communities/C-JUNMEN" in r.text
    assert console.as_("cangshan").get(url).status_code == 403
    assert 'name="count"' in console.as_("planner").get(url).text
    community = console.as_("community").get(url).text
    assert 'name="count"' in community and 'name="rating"' in community
    assert 'name="count"' not in console.as_("unit").get(url).text


def test_tokens_are_shown_once_and_rate(console: Any, cycle: Any) -> None:
    svc = console.svc
    url = f"/console/cycles/{cycle.id}/evaluation"
    community = console.as_("community")
    community.get(url)
    post = f"{url}/tokens"
    # refused: no number, a community outside the user's scope; typed values kept
    r = community.post(post, {"community_id": "C-JUNMEN", "count": "0"})
    assert r.status_code == 422 and 'value="0"' in r.text and 'aria-invalid="true"' in r.text
    r = community.post(post, {"community_id": "C-GL-01", "count": "2"})
    assert r.status_code == 403 and 'value="2"' in r.text
    assert (
        community.post(post, {"community_id": "C-JUNMEN", "count": "2"}, token=False).status_code
        == 403
    )
    r = community.post(post, {"community_id": "C-JUNMEN", "count": "3"})
    assert r.status_code == 200, r.text[:500]
    tokens = re.findall(r"<code>([^<]+)</code>", r.text)
    assert len(tokens) == 3 and 'class="print-sheet"' in r.text
    assert_clean(r.text)
    # not shown again
    page = community.get(url).text
    assert all(t not in page for t in tokens)
    # a token rates the delivered project on the public route
    rated = svc.client.post(
        f"/public/cycles/{cycle.id}/ratings",
        json={"demand_id": cycle.delivered, "token": tokens[0], "rating": 5},
    )
    assert rated.status_code == 201, rated.text
    page = console.as_("planner").get(url).text
    assert cycle.delivered in page


def test_committee_rating_and_points(console: Any, cycle: Any) -> None:
    svc = console.svc
    url = f"/console/cycles/{cycle.id}/evaluation"
    community = console.as_("community")
    page = community.get(url).text
    assert f'value="{cycle.delivered}"' in page
    post = f"{url}/ratings"
    # refused: a rating of 9, the comment kept and escaped
    r = community.post(
        post, {"demand_id": cycle.delivered, "rating": "9", "comment": "<script>alert(1)</script>"}
    )
    assert r.status_code == 422, r.text[:500]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<script>alert(1)</script>" not in r.text
    assert (
        community.post(post, {"demand_id": cycle.delivered, "rating": "4"}, token=False).status_code
        == 403
    )
    r = community.post(post, {"demand_id": cycle.delivered, "rating": "4", "comment": "good"})
    assert r.status_code == 303, r.text[:500]
    # once per committee member: 409 on the page
    r = community.post(post, {"demand_id": cycle.delivered, "rating": "5"})
    assert r.status_code == 409 and 'role="alert"' in r.text
    ratings = call(svc, "GET", f"/cycles/{cycle.id}/ratings?level=project", "planner")
    assert [(x["group"], x["count"]) for x in ratings] == [(cycle.delivered, 1)]
    # the planner may not rate
    assert (
        console.as_("planner").post(post, {"demand_id": cycle.delivered, "rating": "4"}).status_code
        == 403
    )
    # closed: the points, for planners (not for the community)
    call(svc, "POST", f"/cycles/{cycle.id}/moves/close", "planner")
    page = console.as_("planner").get(url).text
    assert 'id="points"' in page
    assert_clean(page)
    if cycle.cadre:
        assert cycle.cadre in page
    assert 'id="points"' not in console.as_("community").get(url).text
