"""The discussion page of a cycle: comments, reviews, the reviewers' forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from console_kit import assert_clean, call, discussion_cycle, junmen_project

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "datasets" / "fuzhou-demo"


@pytest.fixture
def cycle(console: Any) -> str:
    return discussion_cycle(console.svc)


def test_pages_render_for_roles_and_not_out_of_scope(console: Any, cycle: str) -> None:
    url = f"/console/cycles/{cycle}/discussion"
    for who in ("planner", "community", "unit", "street_reviewer", "district_reviewer"):
        r = console.as_(who).get(url)
        assert r.status_code == 200, (who, r.text[:500])
        assert_clean(r.text)
        assert 'aria-current="page"' in r.text
    assert console.as_("cangshan").get(url).status_code == 403
    # the comment form for those who may comment, no review form in discussion
    assert 'name="body"' in console.as_("community").get(url).text
    assert 'name="body"' not in console.as_("street_reviewer").get(url).text
    assert "/review/approve" not in console.as_("street_reviewer").get(url).text


def test_comment_form_escapes_and_keeps_refused_values(console: Any, cycle: str) -> None:
    svc = console.svc
    url = f"/console/cycles/{cycle}/discussion"
    post = f"{url}/comments"
    community = console.as_("community")
    community.get(url)
    demand = junmen_project(svc, cycle)
    r = community.post(
        post, {"kind": "support", "body": "<script>alert(1)</script>", "demand_id": demand}
    )
    assert r.status_code == 303, r.text[:500]
    page = community.get(url).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page
    listed = call(svc, "GET", f"/cycles/{cycle}/comments", "planner")
    assert listed[-1]["demand_id"] == demand and listed[-1]["role"] == "community"

    # a demand not of the draft: 422, the error, the text kept
    r = community.post(
        post, {"kind": "question", "body": "Which days exactly?", "demand_id": "NOPE"}
    )
    assert r.status_code == 422
    assert "Which days exactly?" in r.text and 'role="alert"' in r.text
    assert_clean(r.text)
    # an empty body: 422 naming it
    r = console.as_("unit").post(post, {"kind": "question", "body": "  "})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text
    # a reviewer may not comment (the service's 403, on the same page)
    r = console.as_("street_reviewer").post(post, {"kind": "question", "body": "Why?"})
    assert r.status_code == 403 and 'role="alert"' in r.text
    # no token: 403, nothing stored
    before = len(call(svc, "GET", f"/cycles/{cycle}/comments", "planner"))
    r = community.post(post, {"kind": "support", "body": "no token"}, token=False)
    assert r.status_code == 403
    assert len(call(svc, "GET", f"/cycles/{cycle}/comments", "planner")) == before
    assert console.as_("cangshan").post(post, {"kind": "support", "body": "x"}).status_code == 403


def test_reviews_return_needs_a_reason_and_are_listed(console: Any, cycle: str) -> None:
    svc = console.svc
    url = f"/console/cycles/{cycle}/discussion"
    call(svc, "POST", f"/cycles/{cycle}/moves/submit", "planner")  # to street_review
    street = console.as_("street_reviewer")
    page = street.get(url).text
    review = f"/console/cycles/{cycle}/discussion/review"
    assert f"{review}/return" in page and 'id="return-reason"' in page
    # a return without a reason: this page again, with why, the note kept elsewhere
    r = street.post(f"{review}/return", {"reason": "  "})
    assert r.status_code == 422 and 'id="return-reason-error"' in r.text
    assert "<h1>" in r.text and 'aria-invalid="true"' in r.text
    r = street.post(f"{review}/approve", {"reason": "<b>fine</b>"})
    assert r.status_code == 303
    district = console.as_("district_reviewer")
    page = district.get(url).text
    assert "&lt;b&gt;fine&lt;/b&gt;" in page
    r = district.post(f"{review}/return", {"reason": "Pin the canteen"})
    assert r.status_code == 303
    page = console.as_("planner").get(url).text
    assert "Pin the canteen" in page
    # the community does not read the reviews' reasons
    assert "Pin the canteen" not in console.as_("community").get(url).text
