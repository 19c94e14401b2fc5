"""The discussion's comments, the public notice's objections and the published versions
over HTTP: who may comment or answer in which phase (403 / 409), a demand not in the
draft (422), publishing refused while an objection is open or a review is missing,
version 1 frozen by the store, and a revised list published as version 2 with its diff.

The cycle is put in a phase with its snapshot and draft directly (the routes that get it
there are another part's; the end-to-end test drives them all)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from api.db.models import Cycle, CycleReview, CycleVersion

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "datasets" / "fuzhou-demo"


def gulou_demands(folder: Path = DEMO) -> pd.DataFrame:
    """The demo's Gulou demands with their community (read from the CSV files)."""
    demands = pd.read_csv(folder / "demands.csv", dtype={"demand_id": str})
    communities = pd.read_csv(folder / "communities.csv")
    merged = demands.merge(communities[["community_id", "district"]], on="community_id")
    return merged[merged["district"] == "Gulou"].reset_index(drop=True)


def new_cycle(svc: Any, dataset_id: str) -> str:
    """A Gulou cycle made by the planner; its id."""
    r = svc.client.post(
        "/cycles",
        json={"district": "Gulou", "period": "2026-Q4", "dataset_id": dataset_id},
        headers=svc.h("planner"),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def planned(svc: Any, dataset_id: str) -> str:
    """A succeeded run of ``dataset_id``; its id."""
    run = svc.start_run(dataset_id)
    assert svc.wait(run["id"])["status"] == "succeeded"
    return str(run["id"])


def stage(
    svc: Any,
    cycle_id: str,
    phase: str,
    *,
    dataset_id: str,
    run_id: str,
    approve: tuple[str, ...] = ("street_review", "district_review"),
) -> None:
    """Put the cycle in ``phase`` with its snapshot, its draft and the reviews'
    approvals of that draft (as the other routes would have left them)."""
    with svc.client.app.state.sessionmaker() as session:
        row = session.get(Cycle, cycle_id)
        row.phase = phase
        row.dataset_id = dataset_id
        row.draft_run_id = run_id
        for review in approve:
            session.add(
                CycleReview(
                    cycle_id=cycle_id,
                    phase=review,
                    decision="approve",
                    reason="",
                    run_id=run_id,
                    by_key=None,
                    at=dt.datetime(2026, 11, 1),
                )
            )
        session.commit()


@pytest.fixture
def setup(svc: Any, zipper: Any) -> dict[str, Any]:
    """The demo stored, a Gulou cycle, and a run of the demo for its draft."""
    dataset = str(svc.upload(zipper(DEMO))["id"])
    return {"dataset": dataset, "cycle": new_cycle(svc, dataset), "run": planned(svc, dataset)}


def key(svc: Any, role: str, **scope: Any) -> dict[str, str]:
    """Headers with a new Gulou key of ``role`` narrowed by ``scope``."""
    r = svc.client.post(
        "/keys", json={"role": role, "districts": ["Gulou"], **scope}, headers=svc.h("admin")
    )
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["key"]}


def audit_of(svc: Any, cycle_id: str, role: str = "planner") -> list[dict[str, Any]]:
    """The cycle's audit entries as ``role`` reads them."""
    r = svc.client.get(f"/cycles/{cycle_id}/audit?limit=500", headers=svc.h(role))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


# ---------------------------------------------------------------------------- comments


def test_comments_by_role_and_phase(svc: Any, setup: dict[str, Any]) -> None:
    cycle, demands = setup["cycle"], gulou_demands()
    stage(svc, cycle, "discussion", dataset_id=setup["dataset"], run_id=setup["run"])
    first = demands.iloc[0]
    url = f"/cycles/{cycle}/comments"
    for role, kind in (("community", "support"), ("unit", "question"), ("planner", "objection")):
        body = {"demand_id": first["demand_id"], "kind": kind, "body": f"{role} says"}
        r = svc.client.post(url, json=body, headers=svc.h(role))
        assert r.status_code == 201, (role, r.text)
        assert r.json()["role"] == role and r.json()["kind"] == kind
    # a comment on the whole draft
    r = svc.client.post(url, json={"kind": "question", "body": "why?"}, headers=svc.h("unit"))
    assert r.status_code == 201 and r.json()["demand_id"] is None
    # reviewers and viewers do not comment
    for role in ("street_reviewer", "district_reviewer", "viewer"):
        r = svc.client.post(url, json={"kind": "support", "body": "x"}, headers=svc.h(role))
        assert r.status_code == 403, (role, r.text)
    # a demand that is not in the draft (another district's, or unknown)
    other = pd.read_csv(DEMO / "demands.csv")
    outside = sorted(set(other["demand_id"]) - set(demands["demand_id"]))[0]
    for demand in (outside, "NOPE"):
        r = svc.client.post(
            url, json={"demand_id": demand, "kind": "support", "body": "x"}, headers=svc.h("unit")
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "demand_id"
    # bad bodies name their field
    for bad, field in (({"kind": "cheer", "body": "x"}, "kind"), ({"kind": "support"}, "body")):
        r = svc.client.post(url, json=bad, headers=svc.h("unit"))
        assert r.status_code == 422 and field in r.text
    r = svc.client.post(url, json={"kind": "support", "body": "x" * 2001}, headers=svc.h("unit"))
    assert r.status_code == 422
    # everyone in scope reads them, oldest first
    listed = svc.client.get(url, headers=svc.h("street_reviewer"))
    assert listed.status_code == 200
    assert [c["role"] for c in listed.json()] == ["community", "unit", "planner", "unit"]
    # the reviewers read the comments in the audit, the public does not
    assert sum(e["action"] == "comment" for e in audit_of(svc, cycle, "street_reviewer")) == 4
    assert not any(e["action"] == "comment" for e in audit_of(svc, cycle, "community"))
    # out of the discussion: 409 naming the phase
    stage(svc, cycle, "street_review", dataset_id=setup["dataset"], run_id=setup["run"])
    r = svc.client.post(url, json={"kind": "support", "body": "late"}, headers=svc.h("community"))
    assert r.status_code == 409 and r.json()["code"] == "phase_conflict"
    assert r.json()["errors"][0]["value"] == "street_review"


def test_a_narrowed_community_key_comments_on_its_communities_only(
    svc: Any, setup: dict[str, Any]
) -> None:
    cycle, demands = setup["cycle"], gulou_demands()
    stage(svc, cycle, "discussion", dataset_id=setup["dataset"], run_id=setup["run"])
    mine = demands.iloc[0]
    theirs = demands[demands["community_id"] != mine["community_id"]].iloc[0]
    headers = key(svc, "community", communities=[mine["community_id"]])
    url = f"/cycles/{cycle}/comments"
    r = svc.client.post(
        url, json={"demand_id": mine["demand_id"], "kind": "support", "body": "ok"}, headers=headers
    )
    assert r.status_code == 201, r.text
    r = svc.client.post(
        url,
        json={"demand_id": theirs["demand_id"], "kind": "objection", "body": "no"},
        headers=headers,
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden_scope"
    assert r.json()["errors"][0]["field"] == "demand_id"
    # a key of another district does not even read the cycle
    taijiang = svc.client.post(
        "/keys", json={"role": "community", "districts": ["Taijiang"]}, headers=svc.h("admin")
    ).json()["key"]
    assert svc.client.get(url, headers={"X-API-Key": taijiang}).status_code == 403


# ---------------------------------------------------------------------------- objections


def test_objections_are_filed_by_anyone_and_answered_by_a_planner(
    svc: Any, setup: dict[str, Any]
) -> None:
    cycle, demands = setup["cycle"], gulou_demands()
    row = demands.iloc[0]
    url = f"/public/cycles/{cycle}/objections"
    body = {
        "community_id": row["community_id"],
        "demand_id": row["demand_id"],
        "body": "The hours are too few",
        "contact": "phone 13800000000",
    }
    # not on notice yet: the public may not object
    stage(svc, cycle, "district_review", dataset_id=setup["dataset"], run_id=setup["run"])
    r = svc.client.post(url, json=body)
    assert r.status_code == 409 and r.json()["code"] == "phase_conflict"
    stage(svc, cycle, "public_notice", dataset_id=setup["dataset"], run_id=setup["run"])
    assert svc.client.post("/public/cycles/nope/objections", json=body).status_code == 404
    r = svc.client.post(url, json={**body, "community_id": "C-TJ-01"})  # Taijiang's
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "community_id"
    other = demands[demands["community_id"] != row["community_id"]].iloc[0]["demand_id"]
    r = svc.client.post(url, json={**body, "demand_id": other})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "demand_id"
    r = svc.client.post(url, json={**body, "contact": "x" * 201})
    assert r.status_code == 422
    r = svc.client.post(url, json=body)  # no key at all
    assert r.status_code == 201, r.text
    filed = r.json()
    assert "contact" not in filed and "body" not in filed
    # the contact: planners only
    mine = svc.client.get(f"/cycles/{cycle}/objections", headers=svc.h("planner")).json()
    assert [o["contact"] for o in mine] == ["phone 13800000000"]
    seen = svc.client.get(f"/cycles/{cycle}/objections", headers=svc.h("street_reviewer")).json()
    assert [o["contact"] for o in seen] == [None] and seen[0]["body"] == body["body"]
    # the public audit entry names neither the text nor the contact
    entries = [e for e in audit_of(svc, cycle) if e["action"] == "object"]
    assert len(entries) == 1 and entries[0]["visibility"] == "public"
    assert entries[0]["after"] == {
        "objection": filed["id"],
        "community_id": row["community_id"],
        "demand_id": row["demand_id"],
    }
    assert "13800000000" not in str(entries) and "too few" not in str(entries)
    # answers: planners, once
    answer = f"/cycles/{cycle}/objections/{filed['id']}/answer"
    reply = {"answer": "Two more hours are planned", "upheld": False}
    assert svc.client.post(answer, json=reply, headers=svc.h("community")).status_code == 403
    assert (
        svc.client.post(
            f"/cycles/{cycle}/objections/999/answer", json=reply, headers=svc.h("planner")
        ).status_code
        == 404
    )
    r = svc.client.post(answer, json=reply, headers=svc.h("planner"))
    assert r.status_code == 200, r.text
    assert r.json()["answer"] == reply["answer"] and r.json()["upheld"] is False
    r = svc.client.post(answer, json=reply, headers=svc.h("planner"))
    assert r.status_code == 409 and r.json()["code"] == "already_answered"
    answered = [e for e in audit_of(svc, cycle, "community") if e["action"] == "answer_objection"]
    assert answered[0]["after"]["answer"] == reply["answer"]
    assert answered[0]["after"]["upheld"] is False


# ---------------------------------------------------------------------------- publishing


def move(svc: Any, cycle_id: str, action: str, reason: str = "") -> Any:
    """Take a move as the planner."""
    return svc.client.post(
        f"/cycles/{cycle_id}/moves/{action}", json={"reason": reason}, headers=svc.h("planner")
    )


def test_publish_waits_for_every_answer_and_both_reviews(svc: Any, setup: dict[str, Any]) -> None:
    cycle, demands = setup["cycle"], gulou_demands()
    # the district's approval is missing
    stage(
        svc,
        cycle,
        "public_notice",
        dataset_id=setup["dataset"],
        run_id=setup["run"],
        approve=("street_review",),
    )
    r = move(svc, cycle, "publish")
    assert r.status_code == 409 and r.json()["code"] == "review_missing"
    assert r.json()["errors"][0]["value"] == "district_review"
    stage(
        svc,
        cycle,
        "public_notice",
        dataset_id=setup["dataset"],
        run_id=setup["run"],
        approve=("district_review",),
    )
    row = demands.iloc[3]
    for text in ("first", "second"):
        r = svc.client.post(
            f"/public/cycles/{cycle}/objections",
            json={"community_id": row["community_id"], "body": text},
        )
        assert r.status_code == 201
    ids = [o["id"] for o in svc.client.get(f"/cycles/{cycle}/objections", headers=svc.h()).json()]
    r = move(svc, cycle, "publish")
    assert r.status_code == 409 and r.json()["code"] == "objections_open"
    assert r.json()["errors"][0]["value"] == 2
    svc.client.post(
        f"/cycles/{cycle}/objections/{ids[0]}/answer",
        json={"answer": "noted", "upheld": False},
        headers=svc.h("planner"),
    )
    r = move(svc, cycle, "publish")
    assert r.status_code == 409 and r.json()["errors"][0]["value"] == 1
    assert svc.client.get(f"/cycles/{cycle}/versions", headers=svc.h()).json() == []
    svc.client.post(
        f"/cycles/{cycle}/objections/{ids[1]}/answer",
        json={"answer": "noted too", "upheld": False},
        headers=svc.h("planner"),
    )
    r = move(svc, cycle, "publish")
    assert r.status_code == 200, r.text
    assert r.json()["phase"] == "published"
    versions = svc.client.get(f"/cycles/{cycle}/versions", headers=svc.h("community")).json()
    assert [(v["version"], v["run_id"], v["projects"]) for v in versions] == [
        (1, setup["run"], len(demands))
    ]
    one = svc.client.get(f"/cycles/{cycle}/versions/1", headers=svc.h("unit")).json()
    assert one["diff"] is None
    assert sorted(p["demand_id"] for p in one["items"]) == sorted(demands["demand_id"])
    asked = dict(zip(demands["demand_id"], demands["hours"], strict=True))
    for p in one["items"]:
        assert p["hours"] == asked[p["demand_id"]]
        assert p["planned_hours"] == sum(u["hours"] for u in p["units"]) <= p["hours"]
        assert all(set(u) == {"unit_id", "hours"} for u in p["units"])  # no supplier
    assert svc.client.get(f"/cycles/{cycle}/versions/2", headers=svc.h()).status_code == 404
    published = [e for e in audit_of(svc, cycle, "community") if e["action"] == "publish_version"]
    assert published[0]["after"] == {"version": 1, "projects": len(demands)}
    # the planner may no longer answer: the notice is over
    r = svc.client.post(
        f"/cycles/{cycle}/objections/{ids[0]}/answer",
        json={"answer": "again", "upheld": True},
        headers=svc.h("planner"),
    )
    assert r.status_code == 409


def test_a_revised_list_is_published_as_version_2_with_its_diff(
    svc: Any, setup: dict[str, Any], tmp_path: Path, zipper: Any
) -> None:
    cycle = setup["cycle"]
    stage(svc, cycle, "public_notice", dataset_id=setup["dataset"], run_id=setup["run"])
    assert move(svc, cycle, "publish").status_code == 200
    assert move(svc, cycle, "revise").status_code == 422  # needs a reason
    assert move(svc, cycle, "revise", "a community's demand changed").status_code == 200
    # the revised lists: one Gulou demand asks for 2 hours instead of its own
    folder = tmp_path / "revised"
    shutil.copytree(DEMO, folder)
    demands = pd.read_csv(folder / "demands.csv", dtype={"demand_id": str})
    gulou = gulou_demands()
    changed = gulou.iloc[0]["demand_id"]
    demands.loc[demands["demand_id"] == changed, "hours"] = 2
    demands.to_csv(folder / "demands.csv", index=False)
    revised = str(svc.upload(zipper(folder))["id"])
    run = planned(svc, revised)
    stage(svc, cycle, "public_notice", dataset_id=revised, run_id=run)
    assert move(svc, cycle, "publish").status_code == 200
    versions = svc.client.get(f"/cycles/{cycle}/versions", headers=svc.h()).json()
    assert [(v["version"], v["run_id"]) for v in versions] == [(1, setup["run"]), (2, run)]
    one = svc.client.get(f"/cycles/{cycle}/versions/1", headers=svc.h()).json()
    two = svc.client.get(f"/cycles/{cycle}/versions/2", headers=svc.h()).json()
    before = {p["demand_id"]: p for p in one["items"]}
    after = {p["demand_id"]: p for p in two["items"]}
    assert before[changed]["hours"] == int(gulou.iloc[0]["hours"]) and after[changed]["hours"] == 2
    diff = two["diff"]
    assert diff["from_version"] == 1 and diff["from_run"] == setup["run"]
    # the diff's demands are exactly those whose status or planned hours moved
    moved = sorted(
        d
        for d in after
        if (before[d]["planned_hours"], before[d]["status"])
        != (after[d]["planned_hours"], after[d]["status"])
    )
    assert sorted(d["demand_id"] for d in diff["demands"]) == moved
    assert changed in moved  # at most 2 hours now, it asked for more before
    for d in diff["demands"]:
        assert d["covered_before"] == before[d["demand_id"]]["planned_hours"]
        assert d["covered_after"] == after[d["demand_id"]]["planned_hours"]
    assert diff["summary"]["demands_changed"] == len(moved)
    assert "supplier_id" not in str(diff)
    # version 1 is as it was
    assert svc.client.get(f"/cycles/{cycle}/versions/1", headers=svc.h()).json() == one


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_a_published_version_is_frozen_in_the_store(
    store: str,
    request: pytest.FixtureRequest,
    service_factory: Callable[..., AbstractContextManager[Any]],
    zipper: Any,
) -> None:
    url = request.getfixturevalue("sqlite_url" if store == "sqlite" else "pg_url")
    with service_factory(url) as svc:
        dataset = str(svc.upload(zipper(DEMO))["id"])
        cycle = new_cycle(svc, dataset)
        run = planned(svc, dataset)
        stage(svc, cycle, "public_notice", dataset_id=dataset, run_id=run)
        assert move(svc, cycle, "publish").status_code == 200
        with svc.client.app.state.sessionmaker() as session:
            with pytest.raises(DBAPIError):
                session.execute(
                    update(CycleVersion)
                    .where(CycleVersion.cycle_id == cycle)
                    .values(run_id=run, published_by=99)
                )
                session.flush()
            session.rollback()
            assert session.get(CycleVersion, (cycle, 1)).published_by != 99
