"""Random sequences of actions by random roles on a cycle, over HTTP (hypothesis'
stateful testing): no action the role table or the phase forbids succeeds, a refused
action changes nothing stored, every change has its audit entry, a published version
never changes, and delivered hours and ratings add up wherever they are shown."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import text

from api.db.models import Base
from matcher.cycle.phases import PHASES, TRANSITIONS
from matcher.cycle.roles import ROLES, can

EXAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "example" / "dataset"
KEYED = ("community", "unit", "planner", "street_reviewer", "district_reviewer", "admin")
MOVES = tuple(dict.fromkeys(t.action for t in TRANSITIONS))
CYCLE_TABLES = [t.name for t in Base.metadata.sorted_tables if t.name != "alembic_version"]

# What the phase expects next, and who does it: the machine's "advance" rule takes it, so
# that random sequences get through the whole cycle, not only its first phases.
NEXT_MOVE = {
    "collecting": ("planner", "open_planning"),
    "planning": ("planner", "submit"),
    "discussion": ("planner", "submit"),
    "street_review": ("street_reviewer", "approve"),
    "district_review": ("district_reviewer", "approve"),
    "public_notice": ("planner", "publish"),
    "published": ("planner", "start_delivery"),
    "delivery": ("planner", "start_evaluation"),
    "evaluation": ("planner", "close"),
}

ROLE = st.sampled_from((*KEYED, "legit", "legit", "legit"))
"""A random role, or (as often as not) "legit": a role that may take the action now."""

TOUR: list[tuple[str, dict[str, Any]]] = [
    ("add_demand", {"role": "community", "hours": 5}),
    ("advance", {}),  # open_planning
    ("adopt", {"role": "planner"}),
    ("edit", {"role": "planner", "action": "pin"}),
    ("advance", {}),  # submit
    ("comment", {"role": "community", "kind": "support"}),
    ("advance", {}),  # submit
    ("advance", {}),  # the street approves
    ("advance", {}),  # the district approves
    ("object", {"demand": "D1", "role": None}),
    ("advance", {}),  # answered; publish
    ("advance", {}),  # start_delivery
    ("deliver", {"role": "unit", "hours": 2}),
    ("decide", {"role": "community", "status": "approved", "which": 1}),
    ("deliver", {"role": "planner", "hours": 1}),
    ("decide", {"role": "community", "status": "rejected", "which": 1}),
    ("advance", {}),  # start_evaluation
    ("tokens_for_residents", {"role": "community"}),
    ("rate", {"rating": 5, "which": 0, "role": None}),
    ("rate", {"rating": 4, "which": 1, "role": None}),
    ("advance", {}),  # close
]
"""A whole quarter, one action of each kind, in order."""

WORLD: dict[str, Any] = {}
"""The service and the example's dataset and plan, shared by every machine of a test."""


def store_state(svc: Any) -> dict[str, int]:
    """Rows per table of the store (what a refused request must leave as it was)."""
    with svc.client.app.state.engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"select count(*) from {t}")).scalar_one())
            for t in CYCLE_TABLES
        }


def versions_fingerprint(svc: Any, cycle_id: str) -> dict[int, str]:
    """Each published version of a cycle, hashed with its projects."""
    out = {}
    with svc.client.app.state.engine.connect() as conn:
        for (version,) in conn.execute(
            text("select version from cycle_versions where cycle_id = :c"), {"c": cycle_id}
        ):
            rows = conn.execute(
                text(
                    "select v.run_id, v.published_at, v.diff, p.demand_id, p.planned_hours, "
                    "p.units from cycle_versions v join cycle_projects p on "
                    "p.cycle_id = v.cycle_id and p.version = v.version "
                    "where v.cycle_id = :c and v.version = :v order by p.demand_id"
                ),
                {"c": cycle_id, "v": version},
            ).all()
            out[int(version)] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


class CycleMachine(RuleBasedStateMachine):
    """One cycle, driven by random roles through random actions."""

    @initialize()
    def make_cycle(self) -> None:
        self.svc = WORLD["svc"]
        r = self.svc.client.post(
            "/cycles",
            json={"district": "Gulou", "period": "2026-Q4", "dataset_id": WORLD["dataset"]},
            headers=self.svc.h("planner"),
        )
        assert r.status_code == 201, r.text
        self.id = r.json()["id"]
        self.url = f"/cycles/{self.id}"
        self.versions: dict[int, str] = {}
        self.ratings = 0
        self.tokens: list[str] = []

    # ---- helpers -----------------------------------------------------------------------

    def phase(self) -> str:
        return str(self.svc.client.get(self.url, headers=self.svc.h("planner")).json()["phase"])

    def get(self, path: str) -> Any:
        r = self.svc.client.get(f"{self.url}{path}", headers=self.svc.h("planner"))
        return r.json() if r.status_code == 200 else None

    def send(
        self, role: str | None, action: str | None, method: str, path: str, **kwargs: Any
    ) -> Any:
        """A write as ``role`` (None: the public) taking ``action`` of the role table;
        checks what a write must: no 500, no forbidden success, audit on success, nothing
        changed on a refusal."""
        phase = self.phase()
        before = store_state(self.svc)
        headers = self.svc.h(role) if role else {}
        r = self.svc.client.request(method, path, headers=headers, **kwargs)
        after = store_state(self.svc)
        assert r.status_code < 500, (role, action, path, r.text)
        if r.status_code < 300:
            WORLD["done"].add(action)
            if action is not None:
                assert can(role or "public", phase, action), (role, phase, action, r.text)
            assert after["audit_log"] > before["audit_log"], (role, action, path)
        else:
            WORLD["refused"].setdefault(action, set()).add((phase, r.status_code, r.text[:80]))
            assert after == before, (role, action, path, r.status_code, r.text)
            if action is not None and not can(role or "public", phase, action):
                assert r.status_code in (403, 404, 409), (role, phase, action, r.text)
        return r

    def who(self, role: str | None, action: str) -> str | None:
        """``role``; for "legit", first bring the cycle to a phase that allows ``action``
        (when one is still ahead) with what the action needs, then a role that may."""
        if role != "legit":
            return role
        self.reach(action)
        self.needs(action)
        phase = self.phase()
        legit = next((r for r in (*KEYED, "public") if can(r, phase, action)), "planner")
        return None if legit == "public" else legit

    def reach(self, action: str) -> None:
        for _ in range(len(PHASES)):
            phase = self.phase()
            allows = [p for p in PHASES if any(can(r, p, action) for r in ROLES)]
            if not allows or phase in allows or PHASES.index(phase) > PHASES.index(allows[-1]):
                return
            self.advance_now()

    def needs(self, action: str) -> None:
        """What ``action`` needs first: a draft to edit, a delivery to decide, tokens to
        rate with (each done by the role that would do it)."""
        phase = self.phase()
        if action == "edit_draft" and phase == "planning":
            self.send(
                "planner", "adopt_run", "POST", f"{self.url}/draft", json={"run_id": self.run()}
            )
        if action in ("confirm_delivery", "reject_delivery") and phase == "delivery":
            pending = [
                d
                for d in (self.get("/deliveries") or {"items": []})["items"]
                if d["status"] == "pending"
            ]
            if not pending:
                self.deliver_hours("planner", 1)
        if action == "rate" and phase == "evaluation" and not self.tokens:
            self.issue("planner")

    def served(self) -> tuple[str, dict[str, Any]]:
        """The first assignment of the draft (a made-up one when there is none)."""
        draft = self.get("/draft")
        pairs = [
            (p["demand_id"], s)
            for p in (draft or {"projects": []})["projects"]
            for s in p["suppliers"]
        ]
        return pairs[0] if pairs else ("D1", {"supplier_kind": "cadre", "supplier_id": "K4"})

    def run(self) -> str:
        """A succeeded plan run of the cycle's lists (planned once per distinct lists)."""
        dataset = self.svc.client.get(self.url, headers=self.svc.h("planner")).json()["dataset_id"]
        if dataset is not None and dataset not in WORLD["runs"]:
            r = self.send("planner", "run_plan", "POST", f"{self.url}/runs", json={})
            if r.status_code == 202:
                WORLD["runs"][dataset] = self.svc.wait(r.json()["id"])["id"]
        return str(WORLD["runs"].get(dataset, WORLD["run"]))

    def advance_now(self) -> None:
        """The move the phase expects, by the role that makes it (with what it needs)."""
        phase = self.phase()
        if phase == "planning":
            self.send(
                "planner", "adopt_run", "POST", f"{self.url}/draft", json={"run_id": self.run()}
            )
        if phase == "public_notice":
            for o in self.get("/objections") or []:
                if o.get("answer") is None:
                    self.send(
                        "planner",
                        "answer_objection",
                        "POST",
                        f"{self.url}/objections/{o['id']}/answer",
                        json={"answer": "seen", "upheld": False},
                    )
        if phase in NEXT_MOVE:
            role, action = NEXT_MOVE[phase]
            self.send(role, action, "POST", f"{self.url}/moves/{action}", json={"reason": "ok"})

    def deliver_hours(self, role: str | None, hours: int) -> None:
        demand, supplier = self.served()
        body = {
            "supplier_kind": supplier["supplier_kind"],
            "supplier_id": supplier["supplier_id"],
            "demand_id": demand,
            "hours": hours,
        }
        self.send(role, "record_delivery", "POST", f"{self.url}/deliveries", json=body)

    def issue(self, role: str | None) -> None:
        r = self.send(
            role,
            "issue_rating_tokens",
            "POST",
            f"{self.url}/rating-tokens",
            json={"community_id": "C-JUNMEN", "count": 2},
        )
        if r.status_code == 201:
            self.tokens += r.json()["tokens"]

    # ---- rules -------------------------------------------------------------------------

    @rule(role=st.sampled_from(KEYED), action=st.sampled_from(MOVES))
    def move(self, role: str, action: str) -> None:
        self.send(role, action, "POST", f"{self.url}/moves/{action}", json={"reason": "why"})

    # hypothesis has no rule weights: the move the phase expects, as three rules, moves
    # the cycle on about as often as anything else happens in it
    @rule()
    def advance(self) -> None:
        self.advance_now()

    @rule()
    def advance_more(self) -> None:
        self.advance_now()

    @rule()
    def advance_again(self) -> None:
        self.advance_now()

    @rule(role=ROLE, hours=st.integers(-1, 30))
    def add_demand(self, role: str, hours: int) -> None:
        row = {
            "demand_id": f"X{hours + 10}",
            "community_id": "C-JUNMEN",
            "category": "elderly_care",
            "hours": hours,
            "priority": 3,
        }
        self.send(
            self.who(role, "add_demand"),
            "add_demand",
            "POST",
            f"{self.url}/lists/demands",
            json={"rows": [row], "origin": "hotline"},
        )

    @rule(role=ROLE)
    def adopt(self, role: str) -> None:
        who = self.who(role, "adopt_run")
        self.send(who, "adopt_run", "POST", f"{self.url}/draft", json={"run_id": self.run()})

    @rule(role=ROLE, action=st.sampled_from(("exclude", "pin")))
    def edit(self, role: str, action: str) -> None:
        who = self.who(role, "edit_draft")
        demand, supplier = self.served()
        edit = {
            "action": action,
            "supplier_kind": supplier["supplier_kind"],
            "supplier_id": supplier["supplier_id"],
            "demand_id": demand,
        }
        self.send(who, "edit_draft", "POST", f"{self.url}/draft/edits", json={"edits": [edit]})

    @rule(role=ROLE, kind=st.sampled_from(("support", "objection", "question")))
    def comment(self, role: str, kind: str) -> None:
        self.send(
            self.who(role, "comment"),
            "comment",
            "POST",
            f"{self.url}/comments",
            json={"kind": kind, "body": "a comment"},
        )

    @rule(demand=st.sampled_from(("D1", "D5", None)), role=st.sampled_from((None, "legit")))
    def object(self, demand: str | None, role: str | None) -> None:
        body = {"community_id": "C-JUNMEN", "body": "an objection", "contact": "13800000000"}
        if demand:
            body["demand_id"] = demand
        who = self.who(role, "object")
        self.send(who, "object", "POST", f"/public/cycles/{self.id}/objections", json=body)

    @rule(role=ROLE, hours=st.integers(0, 20))
    def deliver(self, role: str, hours: int) -> None:
        self.deliver_hours(self.who(role, "record_delivery"), hours)

    @rule(role=ROLE, status=st.sampled_from(("approved", "rejected")), which=st.integers(1, 4))
    def decide(self, role: str, status: str, which: int) -> None:
        action = "confirm_delivery" if status == "approved" else "reject_delivery"
        who = self.who(role, action)
        items = (self.get("/deliveries") or {"items": []})["items"]
        pending = [d for d in items if d["status"] == "pending"] or items
        ident = pending[(which - 1) % len(pending)]["id"] if pending else which
        self.send(
            who, action, "POST", f"{self.url}/deliveries/{ident}/decision", json={"status": status}
        )

    @rule(role=ROLE)
    def tokens_for_residents(self, role: str) -> None:
        self.issue(self.who(role, "issue_rating_tokens"))

    @rule(rating=st.integers(0, 6), which=st.integers(0, 3), role=st.sampled_from((None, "legit")))
    def rate(self, rating: int, which: int, role: str | None) -> None:
        who = self.who(role, "rate")
        token = self.tokens[which % len(self.tokens)] if self.tokens else "no-token"
        r = self.send(
            who,
            "rate",
            "POST",
            f"/public/cycles/{self.id}/ratings",
            json={"demand_id": self.served()[0], "token": token, "rating": rating},
        )
        if r.status_code == 201:
            self.ratings += 1

    # ---- invariants --------------------------------------------------------------------

    @invariant()
    def note_phase(self) -> None:
        WORLD["phases"].add(self.phase())

    @invariant()
    def published_versions_never_change(self) -> None:
        now = versions_fingerprint(self.svc, self.id)
        for version, digest in self.versions.items():
            assert now.get(version) == digest, f"version {version} changed"
        self.versions = now

    @invariant()
    def hours_and_ratings_add_up(self) -> None:
        r = self.svc.client.get(f"{self.url}/deliveries?limit=1000", headers=self.svc.h("planner"))
        if r.status_code != 200:
            return
        rows = r.json()["items"]
        progress = self.svc.client.get(f"{self.url}/progress", headers=self.svc.h("planner"))
        if progress.status_code == 200:
            for status in ("pending", "approved", "rejected"):
                listed = sum(d["hours"] for d in rows if d["status"] == status)
                shown = sum(p[f"{status}_hours"] for p in progress.json())
                assert listed == shown, (status, listed, shown)
            planned = {p["demand_id"]: p["planned_hours"] for p in progress.json()}
            for p in progress.json():
                assert p["approved_hours"] + p["pending_hours"] <= planned[p["demand_id"]]
        ratings = self.svc.client.get(
            f"{self.url}/ratings?level=project", headers=self.svc.h("planner")
        )
        if ratings.status_code == 200:
            assert sum(g["count"] for g in ratings.json()) == self.ratings


@pytest.fixture
def world(sqlite_url: str, service_factory: Any, zipper: Any) -> Iterator[None]:
    """The service, the example's dataset as a cycle's lists snapshot it, and its plan."""
    with service_factory(sqlite_url) as svc:
        dataset = svc.upload(zipper(EXAMPLE))["id"]
        # the lists of an unchanged cycle are the base dataset less other districts'
        # demands: snapshot one cycle to learn that dataset, and plan it once
        r = svc.client.post(
            "/cycles",
            json={"district": "Gulou", "period": "2026-Q3", "dataset_id": dataset},
            headers=svc.h("planner"),
        )
        cycle = r.json()["id"]
        svc.client.post(f"/cycles/{cycle}/moves/open_planning", headers=svc.h("planner"))
        snapshot = svc.client.get(f"/cycles/{cycle}", headers=svc.h("planner")).json()["dataset_id"]
        run = svc.wait(svc.start_run(snapshot)["id"])
        assert run["status"] == "succeeded"
        WORLD.update(
            svc=svc,
            dataset=dataset,
            run=run["id"],
            runs={snapshot: run["id"]},
            done=set(),
            phases=set(),
            refused={},
        )
        yield
        WORLD.clear()


def test_random_actions_by_random_roles(world: None) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        CycleMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=40,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    # One directed tour through the whole cycle with the same checks, so that every kind
    # of action is taken however the random sequences fell (hypothesis leaves rules out
    # of some sequences on purpose).
    tour = CycleMachine()
    tour.make_cycle()
    for name, kwargs in TOUR:
        getattr(tour, name)(**kwargs)
        tour.note_phase()
        tour.published_versions_never_change()
        tour.hours_and_ratings_add_up()
    assert tour.phase() == "closed"
    # The checks above held of every kind of action, through the whole cycle.
    assert WORLD["phases"] >= {"planning", "public_notice", "delivery", "evaluation", "closed"}
    wanted = {"add_demand", "adopt_run", "edit_draft", "comment", "object", "publish"}
    wanted |= {"record_delivery", "confirm_delivery", "issue_rating_tokens", "rate", "close"}
    missing = wanted - WORLD["done"]
    assert not missing, {
        a: sorted(x for x in WORLD["refused"].get(a, ()) if x[0] not in ("closed",))[:8]
        for a in missing
    }
