"""Runs and results through the API: lifecycle, idempotency, results, cancel, limits."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import matcher
from matcher.errors import InfeasibleError
from matcher.plans.tables import TIMING_KEYS
from tests.api.conftest import zip_folder

EXAMPLE = "tests/data/example/dataset"
REASONS = Path("tests/data/reasons")


@pytest.fixture(scope="module")
def expected() -> matcher.Plan:
    return matcher.plan(EXAMPLE)


def test_run_lifecycle_and_results_match_the_library(svc, example_zip: bytes, expected) -> None:
    ds = svc.upload(example_zip)
    r = svc.client.post(
        "/runs", json={"dataset_id": ds["id"], "label": "base"}, headers=svc.h("planner")
    )
    assert r.status_code == 202
    assert r.headers["location"] == f"/runs/{r.json()['id']}"
    assert r.json()["status"] in ("queued", "running")
    run = svc.wait(r.json()["id"])
    assert run["status"] == "succeeded", run
    assert run["solver_status"] == "optimal" and run["proven_optimal"] is True
    assert run["objective"] == pytest.approx(expected.objective)
    assert run["bound"] >= run["objective"] and 0 <= run["gap"] < 1e-6
    assert run["run_seconds"] > 0 and run["queue_seconds"] >= 0
    assert {"load", "build", "solve", "tables", "store"} <= set(run["timings"])
    h = svc.h("viewer")
    kpis = svc.client.get(f"/runs/{run['id']}/kpis", headers=h).json()
    drop = set(TIMING_KEYS)
    assert {k: v for k, v in kpis.items() if k not in drop} == {
        k: v for k, v in expected.kpis.items() if k not in drop
    }

    # assignments: JSON pages, filters, CSV identical to matcher plan's, Parquet
    page = svc.client.get(f"/runs/{run['id']}/assignments?limit=4", headers=h).json()
    assert page["total"] == len(expected.assignments) and len(page["items"]) == 4
    rest = svc.client.get(f"/runs/{run['id']}/assignments?limit=4&offset=4", headers=h).json()
    rows = pd.DataFrame(page["items"] + rest["items"])
    cols = list(expected.assignments.columns)
    pd.testing.assert_frame_equal(
        rows[cols].reset_index(drop=True),
        expected.assignments.astype(object).reset_index(drop=True),
        check_dtype=False,
    )
    for name, value in [
        ("district", "Taijiang"),
        ("community_id", "C-JUNMEN"),
        ("category", "parking"),
        ("unit_id", "U-MUNI"),
    ]:
        got = svc.client.get(f"/runs/{run['id']}/assignments?{name}={value}", headers=h).json()
        assert got["total"] > 0 and all(i[name] == value for i in got["items"])
        assert got["total"] < page["total"]
    csv = svc.client.get(f"/runs/{run['id']}/assignments.csv", headers=h)
    assert csv.headers["content-type"].startswith("text/csv")
    buffer = io.StringIO()
    expected.assignments.to_csv(buffer, index=False, lineterminator="\n", na_rep="")
    assert csv.text == buffer.getvalue()
    pq = svc.client.get(f"/runs/{run['id']}/assignments.parquet?district=Gulou", headers=h)
    frame = pd.read_parquet(io.BytesIO(pq.content))
    communities = matcher.load_dataset(EXAMPLE).communities
    gulou = set(communities.loc[communities["district"] == "Gulou", "community_id"])
    assert len(frame) > 0 and set(frame["community_id"]) <= gulou

    # demand status
    status = svc.client.get(f"/runs/{run['id']}/demand_status?status=partial", headers=h).json()
    assert [i["demand_id"] for i in status["items"]] == ["D3"]
    assert status["items"][0]["reason"] == "supply_short"
    csv = svc.client.get(f"/runs/{run['id']}/demand_status.csv", headers=h).text
    back = pd.read_csv(io.StringIO(csv), keep_default_na=False)
    assert list(back.columns) == list(expected.demand_status.columns)
    assert back["covered_hours"].tolist() == expected.demand_status["covered_hours"].tolist()
    pq = svc.client.get(f"/runs/{run['id']}/demand_status.parquet", headers=h)
    assert len(pd.read_parquet(io.BytesIO(pq.content))) == len(expected.demand_status)

    # communities as GeoJSON, [lon, lat]
    geo = svc.client.get(f"/runs/{run['id']}/communities.geojson", headers=h)
    assert geo.headers["content-type"].startswith("application/geo+json")
    fc = geo.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 3
    communities = communities.set_index("community_id")
    for feature in fc["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        c = communities.loc[feature["id"]]
        assert (lon, lat) == (pytest.approx(c["lon"]), pytest.approx(c["lat"]))
        p = feature["properties"]
        if p["hours_demanded"]:
            assert p["coverage"] == pytest.approx(p["hours_covered"] / p["hours_demanded"])


def test_integer_rules_funding_and_leads(svc, rules_zip: bytes) -> None:
    ds = svc.upload(rules_zip)
    run = svc.wait(svc.start_run(ds["id"], integer_rules={"coverage_floor": 0.2})["id"])
    assert run["status"] == "succeeded", run
    assert run["params"]["coverage_floor"] == 0.2
    assert set(run["kpis"]["rules"]) >= {"funds", "lead_units", "coverage_floor"}
    h = svc.h("viewer")
    funding = svc.client.get(f"/runs/{run['id']}/funding", headers=h).json()
    assert {(f["demand_id"], f["amount"]) for f in funding["items"]} == {("D1", 3000), ("D2", 2000)}
    assert {f["district"] for f in funding["items"]} == {"Gulou", "Taijiang"}
    leads = svc.client.get(f"/runs/{run['id']}/leads?district=Gulou", headers=h).json()
    assert [(lead["demand_id"], lead["unit_id"]) for lead in leads["items"]] == [("D1", "U-JCY")]
    csv = svc.client.get(f"/runs/{run['id']}/funding.csv", headers=h).text
    assert csv.splitlines()[0] == "resource_id,unit_id,demand_id,community_id,amount"
    csv = svc.client.get(f"/runs/{run['id']}/leads.csv", headers=h).text
    assert csv.splitlines()[0] == "demand_id,unit_id,effort,cost"
    r = svc.client.get(f"/runs/{run['id']}/leads?status=met", headers=h)
    assert r.status_code == 422  # leads have no status
    off = svc.wait(svc.start_run(ds["id"], integer_rules={"funds": False, "leads": False})["id"])
    assert off["params"]["apply_funds"] is False
    assert svc.client.get(f"/runs/{off['id']}/funding", headers=h).json()["total"] == 0


def test_list_runs_filters_and_pages(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    before = datetime.now(UTC) - timedelta(seconds=1)
    ids = [svc.start_run(ds["id"], label=label)["id"] for label in ("a", "b", "a")]
    for i in ids:
        svc.wait(i)
    h = svc.h("viewer")
    got = svc.client.get("/runs?label=a", headers=h).json()
    assert got["total"] == 2 and {r["id"] for r in got["items"]} == {ids[0], ids[2]}
    assert (
        svc.client.get(f"/runs?dataset_id={ds['id']}&status=succeeded", headers=h).json()["total"]
        == 3
    )
    assert svc.client.get("/runs?status=failed", headers=h).json()["total"] == 0
    page = svc.client.get("/runs?limit=2&offset=0", headers=h).json()
    assert len(page["items"]) == 2 and page["total"] == 3 and page["items"][0]["id"] == ids[2]
    stamp = before.isoformat().replace("+00:00", "Z")
    assert svc.client.get("/runs", params={"created_after": stamp}, headers=h).json()["total"] == 3
    assert svc.client.get("/runs", params={"created_before": stamp}, headers=h).json()["total"] == 0
    assert svc.client.get("/runs?status=nope", headers=h).status_code == 422


def test_idempotency_key(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    h = {**svc.h("planner"), "Idempotency-Key": "k-1"}
    body = {"dataset_id": ds["id"], "label": "once", "params": {"seed": 3}}
    first = svc.client.post("/runs", json=body, headers=h)
    second = svc.client.post("/runs", json=body, headers=h)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["location"] == first.headers["location"]
    svc.wait(first.json()["id"])
    third = svc.client.post("/runs", json=body, headers=h)
    assert third.json()["id"] == first.json()["id"] and third.json()["status"] == "succeeded"
    assert svc.client.get("/runs?label=once", headers=svc.h("viewer")).json()["total"] == 1
    other = svc.client.post("/runs", json={**body, "label": "twice"}, headers=h)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("extra", "status", "field"),
    [
        ({"params": {"max_travel_km": -1}}, 422, "params.max_travel_km"),
        ({"params": {"nope": 1}}, 422, "params.nope"),
        ({"params": {"seed": "x"}}, 422, "params.seed"),
        ({"integer_rules": {"funding": True}}, 422, "integer_rules.funding"),
        ({"integer_rules": {"leads": {"max": 2}}}, 422, "integer_rules.leads"),
        ({"integer_rules": {"coverage_floor": 1.5}}, 422, "integer_rules.coverage_floor"),
        (
            {"integer_rules": {"max_communities_per_cadre": 0}},
            422,
            "integer_rules.max_communities_per_cadre",
        ),
        ({"params": {"coverage_floor": 0.5}}, 422, "params.coverage_floor"),
        ({"time_limit_s": 0}, 422, "time_limit_s"),
        ({"unknown": 1}, 422, "unknown"),
    ],
)
def test_bad_run_requests_are_422_naming_the_field(
    svc, example_zip: bytes, extra, status, field
) -> None:
    ds = svc.upload(example_zip)
    r = svc.client.post("/runs", json={"dataset_id": ds["id"], **extra}, headers=svc.h("planner"))
    assert r.status_code == status, r.text
    assert field in {e.get("field") for e in r.json()["errors"]}, r.json()
    if extra.get("integer_rules", {}).get("funding"):
        assert "integer rule 'funding' is not available" in r.json()["detail"]


def test_time_limit_is_capped_by_the_server(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    run = svc.start_run(ds["id"], time_limit_s=10**9)
    assert run["time_limit_s"] == svc.client.app.state.settings.run_time_limit_s
    assert svc.start_run(ds["id"], time_limit_s=5)["time_limit_s"] == 5


def test_run_of_unknown_dataset_is_404(svc) -> None:
    r = svc.client.post("/runs", json={"dataset_id": "nope"}, headers=svc.h("planner"))
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert svc.client.get("/runs/nope", headers=svc.h("viewer")).status_code == 404
    assert svc.client.get("/runs/nope/kpis", headers=svc.h("viewer")).status_code == 404


def test_queue_cancel_and_time_limit(svc, example_zip: bytes, slow_zip: bytes) -> None:
    slow = svc.upload(slow_zip)
    small = svc.upload(example_zip)
    long_run = svc.start_run(slow["id"], label="slow")
    svc.wait(long_run["id"], until=("running",))
    queued = svc.start_run(small["id"], label="waits")
    time.sleep(0.3)
    r = svc.client.get(f"/runs/{queued['id']}", headers=svc.h("viewer")).json()
    assert r["status"] == "queued"  # one run at a time (MATCHER_MAX_CONCURRENT_RUNS=1)
    assert (
        svc.client.get(f"/runs/{queued['id']}/assignments", headers=svc.h("viewer")).status_code
        == 409
    )
    health = svc.client.get("/health").json()
    assert health["running"] == 1 and health["queued"] == 1

    r = svc.client.post(f"/runs/{long_run['id']}/cancel", headers=svc.h("planner"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert svc.client.delete(f"/runs/{queued['id']}", headers=svc.h("planner")).status_code == 409
    done = svc.wait(queued["id"], timeout=30)
    assert done["status"] == "succeeded"
    cancelled = svc.client.get(f"/runs/{long_run['id']}", headers=svc.h("viewer")).json()
    assert cancelled["status"] == "cancelled" and cancelled["error"] == "cancelled by request"
    again = svc.client.post(f"/runs/{long_run['id']}/cancel", headers=svc.h("planner"))
    assert again.status_code == 409

    limited = svc.start_run(slow["id"], label="limited", time_limit_s=1.0)
    failed = svc.wait(limited["id"], timeout=30)
    assert failed["status"] == "failed"
    assert failed["error"].startswith("time limit exceeded"), failed["error"]
    assert failed["run_seconds"] < 10


@pytest.fixture
def two_workers(
    sqlite_url: str, service_factory: Callable[..., AbstractContextManager]
) -> Iterator:
    with service_factory(sqlite_url, max_concurrent_runs=2) as service:
        yield service


def test_concurrent_runs_setting(two_workers, slow_zip: bytes, example_zip: bytes) -> None:
    svc = two_workers
    slow = svc.upload(slow_zip)
    a = svc.start_run(slow["id"])
    b = svc.start_run(slow["id"])
    svc.wait(a["id"], until=("running",))
    svc.wait(b["id"], until=("running",))
    assert svc.client.get("/health").json()["running"] == 2
    for run in (a, b):
        svc.client.post(f"/runs/{run['id']}/cancel", headers=svc.h("planner"))
    small = svc.upload(example_zip)
    assert svc.wait(svc.start_run(small["id"])["id"])["status"] == "succeeded"


def test_run_request_covers_every_plan_parameter() -> None:
    from api.schemas import IntegerRulesCreate, ParamsCreate

    rules = IntegerRulesCreate(
        min_hours=True, funds=True, leads=True, max_communities_per_cadre=1, coverage_floor=0.5
    ).to_params()
    assert set(ParamsCreate.model_fields) | set(rules) == set(matcher.PlanParams.names())
    assert not set(ParamsCreate.model_fields) & set(rules)


def test_a_contradiction_fails_the_run_with_its_diagnosis(svc) -> None:
    # Coverage floors of 100 % that the shared suppliers cannot all meet: the same
    # diagnosis as `matcher plan` gives, as text and as data naming the communities.
    ds = svc.upload(zip_folder(REASONS))
    run = svc.wait(svc.start_run(ds["id"], integer_rules={"coverage_floor": 1.0})["id"])
    assert run["status"] == "failed"
    with pytest.raises(InfeasibleError) as local:
        matcher.plan(REASONS, matcher.PlanParams(coverage_floor=1.0))
    assert run["error"] == str(local.value)
    diagnosis = run["kpis"]["diagnosis"]
    assert diagnosis == [f.to_dict() for f in local.value.findings]
    assert all(f["rule"] == "coverage_floor" and f["communities"] for f in diagnosis)
