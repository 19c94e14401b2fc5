"""The audit log's pages: every role reads what its role reads, in its scope, newest
first, by page, filtered; a cycle's log under its tabs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_kit import ConsoleKit

from api.cycles import audit
from api.cycles.access import Actor
from api.db.models import User
from api.db.session import session_scope
from tests.api.conftest import ROOT, zip_folder


@pytest.fixture
def logged(console: ConsoleKit) -> dict[str, Any]:
    """A Gulou cycle (opened through the API) with entries of each visibility, and an
    administration entry."""
    svc = console.svc
    dataset = svc.upload(zip_folder(ROOT / "datasets" / "fuzhou-demo"))
    made = svc.client.post(
        "/cycles",
        json={"district": "Gulou", "period": "2026-Q4", "dataset_id": dataset["id"]},
        headers=svc.h("planner"),
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    with session_scope(svc.client.app.state.sessionmaker) as session:
        planner = session.query(User).filter_by(username="planner").one()
        me = Actor("planner", None, ("Gulou",), user_id=planner.id)
        audit.record(
            session,
            me,
            "comment",
            cycle_id=cid,
            target="<script>alert(1)</script>",
            after={"text": "<b>bold</b>", "n": 1},
            visibility="reviewers",
        )
        audit.record(session, me, "edit_draft", cycle_id=cid, target="private-draft-edit")
        for i in range(60):
            audit.record(
                session,
                Actor("planner", 7),
                "snapshot_lists",
                cycle_id=cid,
                target=f"bulk-{i:02d}",
                before={"i": i},
                visibility="private",
            )
        audit.record(
            session,
            Actor("admin", None, user_id=1),
            "create_user",
            cycle_id=None,
            target="user admin-made-entry",
        )
    return {"cycle": cid}


def test_planner_reads_all_of_the_cycle_newest_first(console: ConsoleKit, logged: Any) -> None:
    cid = logged["cycle"]
    b = console.as_("planner")
    r = b.get(f"/console/cycles/{cid}/audit?lang=en")
    assert r.status_code == 200
    text = r.text
    assert 'aria-current="page"' in text and f"/console/cycles/{cid}/lists" in text  # the tabs
    assert "bulk-59" in text and "bulk-10" in text and "bulk-09" not in text  # 50 a page
    assert text.index("bulk-59") < text.index("bulk-10")  # newest first
    assert "admin-made-entry" not in text
    r2 = b.get(f"/console/cycles/{cid}/audit?lang=en&offset=50&limit=50")
    assert "bulk-09" in r2.text and "private-draft-edit" in r2.text and "cycle opened" in r2.text
    assert "bulk-59" not in r2.text
    assert 'rel="prev"' in r2.text
    # the script in a target and in a value is shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r2.text
    assert "<script>alert(1)</script>" not in r2.text and "<b>bold</b>" not in r2.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in r2.text
    # who: role and the user's name, or the key
    assert "Gulou planner" in r2.text and "key 7" in text


def test_filters(console: ConsoleKit, logged: Any) -> None:
    cid = logged["cycle"]
    b = console.as_("planner")
    r = b.get(f"/console/cycles/{cid}/audit?lang=en&action=comment")
    assert r.status_code == 200 and "&lt;script&gt;" in r.text and "bulk-" not in r.text
    r = b.get(f"/console/audit?lang=en&cycle={cid}&action=edit_draft&role=planner")
    assert "private-draft-edit" in r.text and "bulk-" not in r.text
    assert "1 entries" in r.text
    r = b.get("/console/audit?lang=en&role=admin")
    assert "Nothing" in r.text or "No entry" in r.text


def test_reviewers_and_communities_read_less(console: ConsoleKit, logged: Any) -> None:
    cid = logged["cycle"]
    for role in ("street_reviewer", "district_reviewer"):
        r = console.as_(role).get(f"/console/cycles/{cid}/audit?lang=en")
        assert r.status_code == 200, role
        assert (
            "&lt;script&gt;" in r.text and "bulk-" not in r.text and "private-draft" not in r.text
        )
    r = console.as_("community").get(f"/console/cycles/{cid}/audit?lang=en")
    assert r.status_code == 200 and "&lt;script&gt;" not in r.text and "bulk-" not in r.text
    r = console.as_("community").get("/console/audit?lang=en")
    assert r.status_code == 200 and "bulk-" not in r.text and "admin-made-entry" not in r.text


def test_out_of_scope(console: ConsoleKit, logged: Any) -> None:
    cid = logged["cycle"]
    b = console.as_("cangshan")
    assert b.get(f"/console/cycles/{cid}/audit").status_code == 403
    assert b.get(f"/console/audit?cycle={cid}").status_code == 403
    r = b.get("/console/audit?lang=en")
    assert r.status_code == 200 and "bulk-" not in r.text and "admin-made-entry" not in r.text
    assert b.get("/console/cycles/nope/audit").status_code == 404


def test_admin_reads_the_administration(console: ConsoleKit, logged: Any) -> None:
    r = console.as_("admin").get("/console/audit?lang=en")
    assert r.status_code == 200
    ids = re.findall(r'\sid="([^"]+)"', r.text)
    assert len(ids) == len(set(ids)) and r.text.count("<h1") == 1
    assert "admin-made-entry" in r.text and "user created" in r.text
    assert "admin-made-entry" not in console.as_("planner").get("/console/audit").text
    # the page's own administration is logged and shown too
    admin = console.as_("admin")
    admin.post(
        "/console/users",
        {
            "username": "zhang",
            "role": "unit",
            "units": "U-MCA",
            "password": "password-1234",
            "password2": "password-1234",
        },
    )
    r = admin.get("/console/audit?lang=en&action=create_user")
    assert "user zhang" in r.text and "password-1234" not in r.text
