"""A whole quarter over HTTP, on SQLite and on PostgreSQL: intake, plan, adopt, edit,
discussion, two reviews (one return), public notice with an objection, answer, publish,
deliveries (one rejected), ratings, points, close, and the next cycle with its
carried-over demands and a stable plan whose churn is reported.

Every successful write on a cycle route appends to the audit log (checked on each), and
every write route of the cycle is taken at least once."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import text

from matcher.cycle.delivery import EXPORT_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "datasets" / "fuzhou-demo"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def cycle_write_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path template) of the OpenAPI schema that writes to a cycle:
    under /cycles and /public."""
    out = set()
    for path, operations in app.openapi()["paths"].items():
        if path.startswith(("/cycles", "/public")):
            out |= {(m.upper(), path) for m in operations if m.upper() in WRITES}
    return out


@dataclass
class Quarter:
    """The service under test, with a record of the writes made and their audit."""

    svc: Any
    templates: list[tuple[str, re.Pattern[str], str]] = field(default_factory=list)
    taken: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        for method, path in cycle_write_routes(self.svc.client.app):
            regex = "^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"
            self.templates.append((method, re.compile(regex), path))

    def audit_count(self) -> int:
        with self.svc.client.app.state.engine.connect() as conn:
            return int(conn.execute(text("select count(*) from audit_log")).scalar_one())

    def call(
        self, method: str, path: str, role: str | None, status: int = 200, **kwargs: Any
    ) -> Any:
        """A request as ``role`` (None: the public) that must answer ``status``; a write
        that succeeds must add to the audit log, one that is refused must not."""
        headers = dict(kwargs.pop("headers", {}))
        if role is not None:
            headers.update(self.svc.h(role))
        before = self.audit_count()
        r = self.svc.client.request(method, path, headers=headers, **kwargs)
        assert r.status_code == status, (method, path, role, r.status_code, r.text[:2000])
        after = self.audit_count()
        if method in WRITES:
            bare = path.split("?")[0]
            if r.status_code < 300:
                assert after > before, f"{method} {path} wrote no audit entry"
                for m, regex, template in self.templates:
                    if m == method and regex.match(bare):
                        self.taken.add((m, template))
            else:
                assert after == before, f"refused {method} {path} wrote to the audit log"
        try:
            return r.json()
        except ValueError:
            return r.text


def page_token(html: str) -> str:
    """The form token of a public page (the client keeps its cookie)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no form token on the page"
    return found.group(1)


def demo_frames() -> dict[str, pd.DataFrame]:
    """The demo's tables, read here with pandas (not through the planner)."""
    return {
        name: pd.read_csv(DEMO / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("communities", "demands", "cadres", "units")
    }


def run_quarter(q: Quarter, zipper: Any) -> None:
    svc = q.svc
    frames = demo_frames()
    gulou = frames["communities"].query("district == 'Gulou'")["community_id"].tolist()
    base = svc.upload(zipper(DEMO))["id"]

    # --- intake ---------------------------------------------------------------------
    cycle = q.call(
        "POST",
        "/cycles",
        "planner",
        201,
        json={"district": "Gulou", "period": "2026-Q4", "dataset_id": base},
    )
    cid = cycle["id"]
    c = f"/cycles/{cid}"
    new_demand = {
        "demand_id": "D9001",
        "community_id": gulou[0],
        "category": "elderly_care",
        # more than the cadres near it can give: partly met, carried into the next quarter
        "hours": 5000,
        "priority": 5,
        "description": "Stair-lift visits raised on the hotline",
    }
    q.call(
        "POST",
        f"{c}/lists/demands",
        "community",
        201,
        json={"rows": [new_demand], "origin": "hotline"},
    )
    # the same id again, and a community outside Gulou: refused, naming the field
    r = q.call(
        "POST",
        f"{c}/lists/demands",
        "community",
        422,
        json={"rows": [new_demand], "origin": "hotline"},
    )
    assert any(e.get("field") == "demand_id" or e.get("column") == "demand_id" for e in r["errors"])
    csv = f"demand_id,community_id,category,hours,priority\nD9002,{gulou[1]},digital_help,6,3\n"
    q.call(
        "POST",
        f"{c}/lists/demands/file?origin=joint_meeting",
        "planner",
        201,
        content=csv.encode(),
        headers={"Content-Type": "text/csv"},
    )
    q.call("PATCH", f"{c}/lists/demands/D9002", "community", 200, json={"values": {"hours": 8}})
    cadre = {
        "cadre_id": "K9001",
        "unit_id": frames["units"]["unit_id"].iloc[0],
        "skills": "elderly_care;digital_help",
        "hours": 16,
        "home_community_id": gulou[0],
    }
    q.call(
        "POST", f"{c}/lists/cadres", "unit", 201, json={"rows": [cadre], "origin": "joint_meeting"}
    )
    q.call("POST", f"{c}/moves/submit", "planner", 409)
    q.call("POST", f"{c}/moves/open_planning", "planner")
    q.call(
        "POST",
        f"{c}/lists/demands",
        "community",
        409,
        json={"rows": [new_demand], "origin": "hotline"},
    )
    listed = q.call("GET", f"{c}/lists/demands?limit=10000", "planner")
    base_gulou = frames["demands"]["community_id"].isin(gulou).sum()
    assert listed["total"] == base_gulou + 2

    # --- plan, adopt, edit ------------------------------------------------------------
    run = q.call("POST", f"{c}/runs", "planner", 202, json={})
    run = svc.wait(run["id"])
    assert run["status"] == "succeeded"
    q.call("POST", f"{c}/draft", "planner", json={"run_id": run["id"]})
    draft = q.call("GET", f"{c}/draft", "planner")
    projects = {p["demand_id"]: p for p in draft["projects"]}
    assert "D9001" in projects and set(projects) <= set(frames["demands"]["demand_id"]) | {
        "D9001",
        "D9002",
    }
    served = [p for p in draft["projects"] if p["suppliers"]]
    first = served[0]["suppliers"][0]
    edited = q.call(
        "POST",
        f"{c}/draft/edits",
        "planner",
        201,
        json={
            "edits": [
                {
                    "action": "exclude",
                    "supplier_kind": first["supplier_kind"],
                    "supplier_id": first["supplier_id"],
                    "demand_id": served[0]["demand_id"],
                }
            ]
        },
    )
    assert edited["churn"]["hours_removed"] >= first["hours"] or edited["churn"]
    q.call("POST", f"{c}/moves/submit", "planner")

    # --- discussion, two reviews (one return) ------------------------------------------
    some = next(p for p in served if p["community_id"] in gulou)
    q.call(
        "POST",
        f"{c}/comments",
        "community",
        201,
        json={"kind": "support", "body": "Good", "demand_id": some["demand_id"]},
    )
    q.call("POST", f"{c}/comments", "unit", 201, json={"kind": "question", "body": "Which days?"})
    q.call("POST", f"{c}/comments", "street_reviewer", 403, json={"kind": "question", "body": "?"})
    q.call("POST", f"{c}/moves/submit", "planner")
    q.call("POST", f"{c}/moves/approve", "street_reviewer")
    q.call(
        "POST", f"{c}/moves/return", "district_reviewer", json={"reason": "Pin the canteen help"}
    )
    assert q.call("GET", c, "planner")["phase"] == "planning"
    pinned = q.call("GET", f"{c}/draft", "planner")["projects"]
    keep = next(p for p in pinned if p["suppliers"])["suppliers"][0]
    q.call(
        "POST",
        f"{c}/draft/edits",
        "planner",
        201,
        json={
            "edits": [
                {
                    "action": "pin",
                    "supplier_kind": keep["supplier_kind"],
                    "supplier_id": keep["supplier_id"],
                    "demand_id": next(p for p in pinned if p["suppliers"])["demand_id"],
                }
            ]
        },
    )
    q.call("POST", f"{c}/moves/submit", "planner")
    q.call("POST", f"{c}/moves/submit", "planner")
    q.call("POST", f"{c}/moves/approve", "street_reviewer")
    q.call("POST", f"{c}/moves/approve", "district_reviewer")
    assert q.call("GET", c, "planner")["phase"] == "public_notice"

    # --- public notice, an objection, its answer, publishing ----------------------------
    page = svc.client.get(f"/public/cycles/{cid}/communities/{some['community_id']}")
    assert page.status_code == 200 and some["demand_id"] in page.text
    objection = q.call(
        "POST",
        f"/public/cycles/{cid}/objections",
        None,
        201,
        json={
            "community_id": some["community_id"],
            "demand_id": some["demand_id"],
            "body": "The lane needs more hours",
            "contact": "138-0000-0000",
        },
    )
    # a second one through the page's form, as a phone would send it (the page first:
    # the form carries its token)
    shown = q.call("GET", f"/public/cycles/{cid}/communities/{some['community_id']}", None)
    form = q.call(
        "POST",
        f"/public/cycles/{cid}/objections/form",
        None,
        content=(
            f"csrf_token={page_token(shown)}&community_id={some['community_id']}"
            "&body=More+evenings&contact="
        ).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "<form" in form
    refused = q.call("POST", f"{c}/moves/publish", "planner", 409)
    assert refused["code"] == "objections_open"
    filed = q.call("GET", f"{c}/objections", "planner")
    assert filed[0]["id"] == objection["id"] and len(filed) == 2
    for o in filed:
        q.call(
            "POST",
            f"{c}/objections/{o['id']}/answer",
            "planner",
            json={"answer": "Hours added next quarter", "upheld": False},
        )
    q.call("POST", f"{c}/moves/publish", "planner")
    versions = q.call("GET", f"{c}/versions", "planner")
    assert [v["version"] for v in versions] == [1]
    page = svc.client.get(f"/public/cycles/{cid}/communities/{some['community_id']}?lang=en")
    assert "138-0000-0000" not in page.text

    # --- delivery: one approved, one rejected ---------------------------------------------
    q.call("POST", f"{c}/moves/start_delivery", "planner")
    final = q.call("GET", f"{c}/draft", "planner")["projects"]
    cadre_rows = [(p, s) for p in final for s in p["suppliers"] if s["supplier_kind"] == "cadre"]
    (p1, s1), (p2, s2) = (
        cadre_rows[0],
        next(x for x in cadre_rows[1:] if x[0]["demand_id"] != cadre_rows[0][0]["demand_id"]),
    )

    def deliver(p: dict[str, Any], s: dict[str, Any], hours: int, status: int = 201) -> Any:
        return q.call(
            "POST",
            f"{c}/deliveries",
            "unit",
            status,
            json={
                "supplier_kind": "cadre",
                "supplier_id": s["supplier_id"],
                "demand_id": p["demand_id"],
                "hours": hours,
            },
        )

    over = deliver(p1, s1, s1["hours"] + 1, 422)
    assert any(e.get("field") == "hours" for e in over["errors"])
    d1 = deliver(p1, s1, s1["hours"])
    d2 = deliver(p2, s2, s2["hours"])
    # a third assignment in bulk, in the export's format
    p3, s3 = next(
        x for x in cadre_rows if x[0]["demand_id"] not in (p1["demand_id"], p2["demand_id"])
    )
    run_id = versions[0]["run_id"]
    rows = svc.client.get(f"/runs/{run_id}/assignments?limit=10000", headers=svc.h("planner"))
    export = pd.DataFrame(rows.json()["items"])
    export = export[
        (export.supplier_id == s3["supplier_id"]) & (export.demand_id == p3["demand_id"])
    ]
    export = export[[c for c in EXPORT_COLUMNS if c != "hours_delivered"]].assign(hours_delivered=1)
    bulk = q.call(
        "POST",
        f"{c}/deliveries/file",
        "unit",
        201,
        content=export.to_csv(index=False).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert [(d["supplier_id"], d["hours"], d["status"]) for d in bulk] == [
        (s3["supplier_id"], 1, "pending")
    ]
    q.call("POST", f"{c}/deliveries/{d1['id']}/decision", "community", json={"status": "approved"})
    q.call("POST", f"{c}/deliveries/{d2['id']}/decision", "community", json={"status": "rejected"})
    q.call(
        "POST", f"{c}/deliveries/{d2['id']}/decision", "community", 409, json={"status": "approved"}
    )
    progress = {p["demand_id"]: p for p in q.call("GET", f"{c}/progress", "planner")}
    assert progress[p1["demand_id"]]["approved_hours"] >= s1["hours"]
    assert progress[p2["demand_id"]]["rejected_hours"] == s2["hours"]

    # --- evaluation: ratings and points -----------------------------------------------------
    q.call("POST", f"{c}/moves/start_evaluation", "planner")
    tokens = q.call(
        "POST",
        f"{c}/rating-tokens",
        "community",
        201,
        json={"community_id": p1["community_id"], "count": 4},
    )["tokens"]
    for token, rating in zip(tokens[:3], (5, 5, 4), strict=True):
        q.call(
            "POST",
            f"/public/cycles/{cid}/ratings",
            None,
            201,
            json={
                "demand_id": p1["demand_id"],
                "token": token,
                "rating": rating,
                "comment": "thanks",
            },
        )
    q.call(
        "POST",
        f"/public/cycles/{cid}/ratings",
        None,
        409,
        json={"demand_id": p1["demand_id"], "token": tokens[0], "rating": 1},
    )
    q.call(
        "POST", f"{c}/ratings", "community", 201, json={"demand_id": p1["demand_id"], "rating": 4}
    )
    # a resident rates through the community's page; a wrong token is refused there too
    page = f"/public/cycles/{cid}/ratings/form"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # the link a QR code printed on the notice points at: the project chosen in the form
    shown = q.call(
        "GET",
        f"/public/cycles/{cid}/communities/{p1['community_id']}?demand={p1['demand_id']}",
        None,
    )
    assert f'<option value="{p1["demand_id"]}" selected>' in shown and 'id="rate"' in shown
    assert f"?demand={p1['demand_id']}#rate" in shown
    fields = (
        f"csrf_token={page_token(shown)}&community_id={p1['community_id']}"
        f"&demand_id={p1['demand_id']}&rating=3&comment="
    )
    wrong = q.call("POST", page, None, 403, content=f"{fields}&token=nope".encode(), headers=form)
    assert "nope" in wrong  # what was typed is kept
    # without the page's form token nothing is counted (the same resident's token works after)
    unsigned = fields.split("&", 1)[1]
    q.call("POST", page, None, 403, content=f"{unsigned}&token={tokens[3]}".encode(), headers=form)
    thanks = q.call(
        "POST", page, None, content=f"{fields}&token={tokens[3]}".encode(), headers=form
    )
    assert p1["demand_id"] in thanks
    q.call("POST", f"{c}/moves/close", "planner")
    points = {r["cadre_id"]: r for r in q.call("GET", f"{c}/points", "planner")}
    mean = (5 + 5 + 4 + 4 + 3) / 5
    factor = 1 + 0.5 * (mean - 3) / (5 - 3)
    assert points[s1["supplier_id"]]["approved_hours"] == s1["hours"]
    assert points[s1["supplier_id"]]["points"] == pytest.approx(s1["hours"] * factor, abs=1e-6)
    assert (
        s2["supplier_id"] not in points
        or points[s2["supplier_id"]]["approved_hours"] == 0
        or s2["supplier_id"] == s1["supplier_id"]
    )

    # --- the next cycle ---------------------------------------------------------------------
    nxt = q.call("POST", f"{c}/next", "planner", 201, json={})
    assert nxt["period"] == "2027-Q1" and nxt["previous_cycle_id"] == cid
    n = f"/cycles/{nxt['id']}"
    carried = q.call("GET", f"{n}/lists/demands?limit=10000", "planner")["items"]
    status = svc.client.get(
        f"/runs/{versions[0]['run_id']}/demand_status?limit=10000",
        headers=svc.h("planner"),
    ).json()["items"]
    short = {
        d["demand_id"]: d["hours"] - d["covered_hours"]
        for d in status
        if d["covered_hours"] < d["hours"]
    }
    assert short, "the quarter left nothing to carry over"
    assert {d["row"]["demand_id"]: int(d["row"]["hours"]) for d in carried} == short
    assert all(d["origin"] == "carried_over" and d["carried_from"] == "2026-Q4" for d in carried)
    q.call("POST", f"{n}/moves/open_planning", "planner")
    stable = q.call("POST", f"{n}/draft/stable", "planner", 201, json={"change_penalty": 1.0})
    # The carried demand keeps the cadres that served it; the demands met last quarter
    # are gone, so their hours count as removed.
    churn = stable["churn"]
    assert churn["hours_kept"] > 0 and churn["hours_removed"] > 0, churn
    assert q.call("GET", n, "planner")["draft_run_id"] == stable["run_id"]
    audit = q.call("GET", f"{c}/audit?limit=1000", "planner")
    assert Counter(e["action"] for e in audit["items"])["approve"] == 3


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_whole_quarter_over_http(
    db: str, request: pytest.FixtureRequest, service_factory: Any, zipper: Any
) -> None:
    url = request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_url")
    with service_factory(url) as svc:
        q = Quarter(svc)
        run_quarter(q, zipper)
        missing = cycle_write_routes(svc.client.app) - q.taken
        assert missing == set(), f"write routes the quarter never took: {sorted(missing)}"
