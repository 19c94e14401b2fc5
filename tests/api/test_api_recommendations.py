"""Pairing and alliance recommendation runs through the API: queued and run by the real
dispatcher and worker processes on SQLite and PostgreSQL, read back as tables, CSV and
summary, checked against the library called in-process and against an independent
re-plan; district scopes; bad input; contradictions; the 0001 -> 0002 migration."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import head_revision
from sqlalchemy import MetaData, create_engine, insert, text

import matcher
from api.db.session import make_engine, make_sessionmaker, session_scope
from matcher.analysis.recommend import (
    AllianceParams,
    PairingParams,
    recommend_alliances,
    recommend_pairings,
)

ROOT = Path(__file__).resolve().parents[2]
PAIRINGS = ROOT / "tests" / "data" / "pairings" / "tiny"
ALLIANCES = ROOT / "tests" / "data" / "alliances" / "tiny"
EXAMPLE = ROOT / "tests" / "data" / "example" / "dataset"
SERVICE_DOC = ROOT / "docs" / "service.md"

PAIRING_TABLES = {
    "recommendations": "pairing_recommendations.csv",
    "districts": "pairing_districts.csv",
    "units": "pairing_units.csv",
    "pairings": "pairings.csv",
    "before_after": "before_after.csv",
}
ALLIANCE_TABLES = {
    "recommendations": "alliance_recommendations.csv",
    "gaps": "alliance_gaps.csv",
    "candidates": "alliance_candidates.csv",
    "alliances": "alliances.csv",
    "alliance_members": "alliance_members.csv",
    "before_after": "before_after.csv",
}


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The library's results in-process, and the files the CLI writes for them."""
    out = tmp_path_factory.mktemp("expected")
    pairing = recommend_pairings(
        matcher.load_dataset(PAIRINGS), PairingParams(max_communities=1), matcher.PlanParams()
    )
    alliance = recommend_alliances(
        matcher.load_dataset(ALLIANCES), AllianceParams(radius_km=8.0), matcher.PlanParams()
    )
    pairing.write(out / "pairings")
    alliance.write(out / "alliances")
    return {
        "pairings": (pairing, out / "pairings", PAIRING_TABLES),
        "alliances": (alliance, out / "alliances", ALLIANCE_TABLES),
    }


def _post(svc: Any, body: dict[str, Any], role: str = "planner", **headers: str) -> Any:
    return svc.client.post("/recommendations", json=body, headers={**svc.h(role), **headers})


def _start(svc: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = _post(svc, body)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/recommendations/{r.json()['id']}"
    run: dict[str, Any] = r.json()
    return run


def _wait(svc: Any, run_id: str, timeout: float = 60) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        r = svc.client.get(f"/recommendations/{run_id}", headers=svc.h("viewer"))
        assert r.status_code == 200, r.text
        run: dict[str, Any] = r.json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            return run
        assert time.monotonic() < deadline, f"run stuck in {run['status']}"
        time.sleep(0.05)


def _without_times(summary: dict[str, Any]) -> dict[str, Any]:
    # Seconds differ from run to run; the source is the store's dataset id there.
    return {k: v for k, v in summary.items() if k not in ("seconds", "dataset")}


def _same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True).astype(object).where(got.notna().to_numpy(), None),
        want.reset_index(drop=True).astype(object).where(want.notna().to_numpy(), None),
        check_dtype=False,
    )


def _check_against_library(svc: Any, run: dict[str, Any], kind: str, expected: Any) -> None:
    result, folder, tables = expected[kind]
    h = svc.h("viewer")
    assert run["status"] == "succeeded", run
    assert run["kind"] == kind and run["error"] is None
    assert run["tables"] == {name: len(getattr(result, _attr(name))) for name in tables}
    assert run["gain"] == pytest.approx(result.gain, abs=1e-9)
    assert run["objective_after"] == pytest.approx(result.after.objective, abs=1e-9)
    assert {"load", "replan", "store"} <= set(run["timings"])
    assert run["run_seconds"] > 0 and run["queue_seconds"] >= 0
    assert _without_times(run["summary"]) == _without_times(result.summary)
    got = svc.client.get(f"/recommendations/{run['id']}/summary", headers=h).json()
    assert _without_times(got) == _without_times(result.summary)
    for name, file in tables.items():
        want = getattr(result, _attr(name))
        csv = svc.client.get(f"/recommendations/{run['id']}/tables/{name}.csv", headers=h)
        assert csv.status_code == 200, csv.text
        assert csv.headers["content-type"].startswith("text/csv")
        assert f'filename="{file}"' in csv.headers["content-disposition"]
        assert csv.text == (folder / file).read_text(encoding="utf-8"), name
        page = svc.client.get(f"/recommendations/{run['id']}/tables/{name}", headers=h).json()
        assert page["total"] == len(want) and page["columns"] == list(want.columns)
        rows = pd.DataFrame(page["items"], columns=page["columns"])
        _same_frame(rows, want)


def _attr(name: str) -> str:
    return "comparison" if name == "before_after" else name


def test_pairing_and_alliance_runs_match_the_library(
    db_url: str, service_factory: Any, zipper: Any, expected: dict[str, Any]
) -> None:
    with service_factory(db_url) as svc:
        ds_p = svc.upload(zipper(PAIRINGS))
        ds_a = svc.upload(zipper(ALLIANCES))
        queued_p = _start(
            svc,
            {
                "kind": "pairings",
                "dataset_id": ds_p["id"],
                "label": "weekly",
                "options": {"max_communities": 1},
            },
        )
        assert queued_p["status"] in ("queued", "running")
        assert queued_p["options"]["max_communities"] == 1
        assert queued_p["options"]["min_partners"] == 1  # the library's default, shown
        queued_a = _start(
            svc,
            {"kind": "alliances", "dataset_id": ds_a["id"], "options": {"radius_km": 8.0}},
        )
        run_p, run_a = _wait(svc, queued_p["id"]), _wait(svc, queued_a["id"])
        _check_against_library(svc, run_p, "pairings", expected)
        _check_against_library(svc, run_a, "alliances", expected)

        # Independently of the recommender: plan the dataset with the pairings and the
        # alliances the API returned; the objective is the run's objective_after.
        h = svc.h("viewer")
        pairs = svc.client.get(f"/recommendations/{run_p['id']}/tables/pairings", headers=h)
        new = [r for r in pairs.json()["items"] if r["status"] == "new"]
        assert {(r["unit_id"], r["community_id"]) for r in new} == {
            ("U1", "C1"),
            ("U2", "C2"),
            ("U3", "C3"),
        }  # the best set (tests/data/pairings/tiny/README.md)
        paired = matcher.load_dataset(PAIRINGS).replace(
            pairings=pd.DataFrame(new)[["unit_id", "community_id"]].astype(object)
        )
        assert matcher.plan(paired).objective == pytest.approx(run_p["objective_after"], abs=1e-6)
        assert matcher.plan(PAIRINGS).objective == pytest.approx(run_p["objective_before"])
        base = f"/recommendations/{run_a['id']}/tables/"
        alliances = svc.client.get(base + "alliances", headers=h).json()["items"]
        members = svc.client.get(base + "alliance_members", headers=h).json()["items"]
        assert sorted(m["unit_id"] for m in members if m["status"] == "new") == ["E1", "E2"]
        allied = matcher.load_dataset(ALLIANCES).replace(
            alliances=pd.DataFrame(alliances)[["alliance_id", "name", "district", "street"]],
            alliance_members=pd.DataFrame(members)[["alliance_id", "unit_id"]],
        )
        assert matcher.plan(allied).objective == pytest.approx(run_a["objective_after"], abs=1e-6)

        # history: listed under /recommendations, not among the plan runs
        listed = svc.client.get("/recommendations", headers=h).json()
        assert [i["id"] for i in listed["items"]] == [run_a["id"], run_p["id"]]
        only = svc.client.get("/recommendations?kind=pairings&label=weekly", headers=h).json()
        assert [i["id"] for i in only["items"]] == [run_p["id"]]
        assert svc.client.get("/runs", headers=h).json()["total"] == 0
        r = svc.client.get(f"/runs/{run_p['id']}", headers=h)
        assert r.status_code == 404 and f"/recommendations/{run_p['id']}" in r.json()["detail"]

        # docs/service.md's dashboard query, on this store
        engine = create_engine(db_url)
        with engine.connect() as conn:
            rows = conn.execute(text(doc_query())).mappings().all()
        engine.dispose()
        comparison = expected["pairings"][0].comparison
        want = comparison[(comparison["kpi"] == "coverage") & (comparison["district"] != "")]
        assert [(r["district"], r["coverage_before"], r["coverage_after"]) for r in rows] == [
            (d, pytest.approx(b), pytest.approx(a))
            for d, b, a in zip(want["district"], want["before"], want["after"], strict=True)
        ]

        # delete: the run and its rows go
        p = svc.h("planner")
        r = svc.client.post(f"/recommendations/{run_p['id']}/cancel", headers=p)
        assert r.status_code == 409 and r.json()["code"] == "run_finished"
        assert svc.client.delete(f"/recommendations/{run_p['id']}", headers=p).status_code == 204
        assert svc.client.get(f"/recommendations/{run_p['id']}", headers=h).status_code == 404
        engine = create_engine(db_url)
        with engine.connect() as conn:
            left = conn.execute(
                text("select count(*) from recommendation_rows where run_id = :r"),
                {"r": run_p["id"]},
            ).scalar_one()
        engine.dispose()
        assert left == 0


def doc_query() -> str:
    """The recommendation query of docs/service.md (tested as shown)."""
    body = SERVICE_DOC.read_text(encoding="utf-8")
    section = body[body.index("## Recommendation runs") :]
    start = section.index("```sql") + len("```sql")
    return section[start : section.index("```", start)].strip().rstrip(";")


def test_district_scoped_keys_read_their_rows(svc: Any, zipper: Any) -> None:
    ds_p = svc.upload(zipper(PAIRINGS))
    ds_a = svc.upload(zipper(ALLIANCES))
    run_p = _wait(svc, _start(svc, {"kind": "pairings", "dataset_id": ds_p["id"]})["id"])
    run_a = _start(svc, {"kind": "alliances", "dataset_id": ds_a["id"]})
    run_a = _wait(svc, run_a["id"])
    assert run_p["status"] == run_a["status"] == "succeeded"
    g, v = svc.h("gulou"), svc.h("viewer")
    base = f"/recommendations/{run_p['id']}"
    for table in ("recommendations", "districts", "pairings", "before_after"):
        own = svc.client.get(f"{base}/tables/{table}", headers=g).json()
        every = svc.client.get(f"{base}/tables/{table}", headers=v).json()
        assert own["total"] > 0 and {i["district"] for i in own["items"]} == {"Gulou"}
        assert own["total"] < every["total"], table
        csv = pd.read_csv(io.StringIO(svc.client.get(f"{base}/tables/{table}.csv", headers=g).text))
        if "district" in csv.columns:
            assert set(csv["district"]) == {"Gulou"}
        assert len(csv) == own["total"]
        other = svc.client.get(f"{base}/tables/{table}?district=Taijiang", headers=g)
        assert other.status_code == 403 and other.json()["code"] == "forbidden_district"
    mine = svc.client.get(f"{base}/tables/pairings?district=Taijiang", headers=v).json()
    assert mine["total"] > 0 and {i["community_id"] for i in mine["items"]} == {"C3"}
    refused = {f"{base}/tables/units": "forbidden_table", f"{base}/summary": "forbidden_summary"}
    for path, code in refused.items():
        r = svc.client.get(path, headers=g)
        assert r.status_code == 403 and r.json()["code"] == code, r.text
    r = svc.client.get(f"{base}/tables/units?district=Gulou", headers=v)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "district"
    view = svc.client.get(base, headers=g).json()
    assert view["summary"] is None and view["gain"] is None and view["status"] == "succeeded"
    members = svc.client.get(
        f"/recommendations/{run_a['id']}/tables/alliance_members", headers=g
    ).json()
    assert members["total"] > 0 and {i["district"] for i in members["items"]} == {"Gulou"}
    r = svc.client.get(f"/recommendations/{run_a['id']}/tables/units", headers=v)
    assert r.status_code == 404 and r.json()["code"] == "no_table"
    assert "gaps" in r.json()["detail"]


def test_bad_input_is_a_422_naming_the_field(svc: Any, zipper: Any) -> None:
    ds = svc.upload(zipper(PAIRINGS))["id"]
    cases = [
        ({"kind": "pairings", "options": {"min_partners": -1}}, "pairings.options.min_partners"),
        ({"kind": "pairings", "options": {"value": "guess"}}, "pairings.options.value"),
        ({"kind": "pairings", "options": {"unknown": 1}}, "pairings.options.unknown"),
        ({"kind": "alliances", "options": {"radius_km": 0}}, "alliances.options.radius_km"),
        ({"kind": "alliances", "params": {"max_travel_km": -1}}, "alliances.params.max_travel_km"),
        # the library's own checks: across fields, and against the dataset
        (
            {"kind": "pairings", "options": {"min_partners": 2, "max_partners": 1}},
            "pairings.options.max_partners",
        ),
        (
            {"kind": "pairings", "options": {"scope": {"district": ["Nowhere"]}}},
            "pairings.options.scope",
        ),
    ]
    for body, field in cases:
        r = _post(svc, {"dataset_id": ds, **body})
        assert r.status_code == 422, (body, r.text)
        assert field in [e.get("field") for e in r.json()["errors"]], (field, r.json())
    for body in ({"dataset_id": ds, "kind": "marriages"}, {"dataset_id": ds}):
        r = _post(svc, body)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind", r.text
    r = _post(svc, {"dataset_id": "missing", "kind": "alliances"})
    assert r.status_code == 404
    assert _post(svc, {"dataset_id": ds, "kind": "pairings"}, role="viewer").status_code == 403
    assert svc.client.get("/recommendations", headers=svc.h("viewer")).json()["total"] == 0


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0 * math.acos(min(1.0, c))


def test_contradictions_fail_the_run_with_the_diagnosis(svc: Any, zipper: Any) -> None:
    ds = svc.upload(zipper(PAIRINGS))["id"]
    # Which communities have no unit within 10.5 km, computed here from the tables.
    comms = pd.read_csv(PAIRINGS / "communities.csv")
    units = pd.read_csv(PAIRINGS / "units.csv")
    lonely = sorted(
        c.community_id
        for c in comms.itertuples()
        if all(_km(c.lat, c.lon, u.lat, u.lon) > 10.5 for u in units.itertuples())
    )
    assert lonely  # the case is a contradiction
    body = {"kind": "pairings", "dataset_id": ds, "options": {"max_km": 10.5}}
    run = _wait(svc, _start(svc, body)["id"])
    assert run["status"] == "failed"
    assert f"communities: {', '.join(lonely)}" in run["error"], run["error"]
    assert "fewer candidate units" in run["error"]
    r = svc.client.get(f"/recommendations/{run['id']}/tables/recommendations", headers=svc.h())
    assert r.status_code == 409 and r.json()["code"] == "no_results"
    # a cap column that is not whole numbers: the dataset's file, row and column
    body = {"kind": "pairings", "dataset_id": ds, "options": {"cap_column": "name"}}
    run = _wait(svc, _start(svc, body)["id"])
    assert run["status"] == "failed"
    assert "units.csv, row 2, column 'name': got 'Justice bureau'" in run["error"]


def test_idempotency_key(svc: Any, zipper: Any) -> None:
    ds = svc.upload(zipper(ALLIANCES))["id"]
    body = {"kind": "alliances", "dataset_id": ds}
    first = _post(svc, body, **{"Idempotency-Key": "k1"})
    again = _post(svc, body, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = _post(svc, {**body, "label": "x"}, **{"Idempotency-Key": "k1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert _wait(svc, first.json()["id"])["status"] == "succeeded"


def test_migration_keeps_a_0001_store(db_url: str, service_factory: Any) -> None:
    """A store made at revision 0001 with a plan run in it upgrades to the newest revision
    and the run still reads back, with its rows."""
    from alembic import command
    from alembic.config import Config

    from api import store
    from api.db.session import MIGRATIONS

    engine = make_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    dataset = matcher.load_dataset(EXAMPLE)
    result = matcher.plan(dataset)
    with engine.begin() as conn:
        old = MetaData()
        old.reflect(conn)
        assert "kind" not in old.tables["runs"].c and "recommendations" not in old.tables
    with session_scope(make_sessionmaker(engine)) as session:
        store.save_dataset(session, dataset, "d0001", "example")
    with engine.begin() as conn:
        conn.execute(
            insert(old.tables["runs"]).values(
                id="r0001",
                dataset_id="d0001",
                label="before the upgrade",
                status="running",
                params=matcher.PlanParams().to_dict(),
                integer_rules={},
                time_limit_s=600.0,
                request_hash="0" * 64,
                created_at=pd.Timestamp("2026-11-01 08:00").to_pydatetime(),
                claim_token="t",
            )
        )
    with session_scope(make_sessionmaker(engine)) as session:
        assert store.save_plan(session, "r0001", "t", result, dataset, {"solve": 0.1})
    engine.dispose()

    with service_factory(db_url) as svc:  # migrates to the newest revision on startup
        h = svc.h("viewer")
        run = svc.client.get("/runs/r0001", headers=h).json()
        assert run["status"] == "succeeded" and run["label"] == "before the upgrade"
        assert run["objective"] == pytest.approx(result.objective)
        assert [r["id"] for r in svc.client.get("/runs", headers=h).json()["items"]] == ["r0001"]
        csv = svc.client.get("/runs/r0001/assignments.csv", headers=h).text
        buffer = io.StringIO()
        result.assignments.to_csv(buffer, index=False, lineterminator="\n", na_rep="")
        assert csv == buffer.getvalue()
        assert svc.client.get("/recommendations", headers=h).json()["total"] == 0
        # the upgraded store takes recommendation runs too
        rec = _wait(svc, _start(svc, {"kind": "pairings", "dataset_id": "d0001"})["id"])
        assert rec["status"] == "succeeded", rec
    engine = create_engine(db_url)
    with engine.connect() as conn:
        version = conn.execute(text("select version_num from alembic_version")).scalar_one()
        kinds = dict(conn.execute(text("select id, kind from runs")).all())
    engine.dispose()
    assert version == head_revision()
    assert kinds == {"r0001": "plan", rec["id"]: "pairings"}


def test_a_bad_option_is_a_422_in_the_request_language(svc: Any, zipper: Any) -> None:
    ds = svc.upload(zipper(PAIRINGS))["id"]
    cases = [
        (
            {"kind": "pairings", "options": {"min_partners": 2, "max_partners": 1}},
            "pairings.options.max_partners",
            "parameter max_partners=1: expected at least min_partners=2",
            "参数 max_partners=1：应为不小于 min_partners=2",
        ),
        (
            {"kind": "pairings", "options": {"scope": {"district": ["Nowhere"]}}},
            "pairings.options.scope",
            "parameter scope='district=Nowhere': expected a district that some community",
            "参数 scope='district=Nowhere'：应为数据集中某个社区具有的 district",
        ),
    ]
    for body, field, english, chinese in cases:
        en = _post(svc, {"dataset_id": ds, **body})
        zh = _post(svc, {"dataset_id": ds, **body}, **{"Accept-Language": "zh-CN,zh;q=0.9"})
        assert en.status_code == zh.status_code == 422, (en.text, zh.text)
        e, z = en.json(), zh.json()
        # The same code and field in both; the sentences in the reader's language.
        assert e["code"] == z["code"] == "invalid_parameter"
        assert e["errors"][0]["field"] == z["errors"][0]["field"] == field
        assert e["detail"].startswith(english), e
        assert z["detail"].startswith(chinese), z
        assert z["errors"][0]["message"] in z["detail"]
