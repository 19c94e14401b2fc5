"""Runs with a scenario: the changed data are planned, stored once, and the base is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import matcher
from matcher.inputs.dataset import dataset_from_frames

EXAMPLE = "tests/data/example/dataset"
# the service plans the run's own dataset: a scenario file's ``base`` has no place there
MORE_SUPPLY = {
    k: v
    for k, v in json.loads(Path("tests/data/scenarios/more-supply.json").read_text()).items()
    if k != "base"
}
DOUBLE_CARE = {
    "name": "double-care",
    "changes": [{"type": "scale_demand", "factor": 2, "where": {"category": "elderly_care"}}],
}


def _doubled_by_hand() -> matcher.Dataset:
    """The example with elderly-care hours doubled, made with pandas alone."""
    tables = matcher.load_dataset(EXAMPLE).tables()
    demands = tables["demands"].copy()
    care = demands["category"] == "elderly_care"
    demands.loc[care, "hours"] = demands.loc[care, "hours"].astype(int) * 2
    return dataset_from_frames({**tables, "demands": demands})


def test_a_scenario_run_plans_the_changed_data(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    body = {"scenario": DOUBLE_CARE, "params": {"travel_cost_per_km": 0.05}}
    run = svc.wait(svc.start_run(ds["id"], **body)["id"])
    assert run["status"] == "succeeded", run
    assert run["base_dataset_id"] == ds["id"] and run["dataset_id"] != ds["id"]
    assert run["scenario"]["name"] == "double-care"
    expected = matcher.plan(_doubled_by_hand())
    assert run["objective"] == pytest.approx(expected.objective, abs=1e-6)
    assert run["hours_demanded"] == expected.kpis["hours_demanded"]
    # the changed data are a dataset of their own; the base is as it was
    changed = svc.client.get(f"/datasets/{run['dataset_id']}", headers=svc.h("viewer")).json()
    base = svc.client.get(f"/datasets/{ds['id']}", headers=svc.h("viewer")).json()
    assert "double-care" in changed["name"] and base == ds
    plain = svc.wait(svc.start_run(ds["id"])["id"])
    assert plain["objective"] == pytest.approx(matcher.plan(EXAMPLE).objective, abs=1e-6)
    # the same scenario again plans the same stored data
    again = svc.wait(svc.start_run(ds["id"], **body, label="again")["id"])
    assert again["dataset_id"] == run["dataset_id"]
    diff = svc.client.get(
        f"/runs/{run['id']}/diff", params={"against": plain["id"]}, headers=svc.h("viewer")
    ).json()
    assert diff["demand_changes"]


def test_set_changes_override_the_parameters(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    run = svc.wait(svc.start_run(ds["id"], scenario=MORE_SUPPLY)["id"])
    assert run["status"] == "succeeded", run
    assert run["params"]["travel_cost_per_km"] == 0.1
    tables = svc.client.get(f"/datasets/{run['dataset_id']}", headers=svc.h("viewer")).json()
    base = matcher.load_dataset(EXAMPLE)
    assert tables["tables"]["cadres"] == len(base.cadres) + 1 + 6
    assert tables["tables"]["pairings"] == len(base.table("pairings")) + 1


@pytest.mark.parametrize(
    ("scenario", "field"),
    [
        (
            {"changes": [{"type": "remove", "table": "cadres", "ids": ["K1", "K99"]}]},
            "scenario.changes[0].ids[1]",
        ),
        (
            {"changes": [{"type": "scale_demand", "factor": 2, "where": {"distrct": "Gulou"}}]},
            "scenario.changes[0].where",
        ),
        (
            {"changes": [{"type": "set", "params": {"max_travel_km": -1}}]},
            "scenario.changes[0].params.max_travel_km",
        ),
        ({"changes": [{"type": "teleport"}]}, "scenario.changes[0]"),
        (
            {"changes": [{"type": "surge", "count": 9_000_000, "skills": ["parking"], "hours": 4}]},
            "scenario.changes[0].count",
        ),
    ],
)
def test_a_scenario_that_does_not_fit_is_422_naming_the_change(
    svc, example_zip: bytes, scenario: dict[str, object], field: str
) -> None:
    ds = svc.upload(example_zip)
    before = svc.client.get("/datasets", headers=svc.h("viewer")).json()["total"]
    r = svc.client.post(
        "/runs", json={"dataset_id": ds["id"], "scenario": scenario}, headers=svc.h("planner")
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid_scenario"
    assert body["errors"][0]["field"].startswith(field), body
    # nothing was stored
    assert svc.client.get("/datasets", headers=svc.h("viewer")).json()["total"] == before
    assert svc.client.get("/runs", headers=svc.h("viewer")).json()["total"] == 0


# ---- warm starts ------------------------------------------------------------------------

COLUMNS = {"flow_solver": "columns"}


def test_a_warm_started_scenario_run_reaches_the_cold_optimum(
    db_url: str, service_factory, example_zip: bytes
) -> None:
    """The base run keeps its LP duals in ``run_duals`` (those of the library's plan); a
    scenario run started from them reaches the optimum of the scenario planned cold."""
    lib = matcher.plan(EXAMPLE, matcher.PlanParams(flow_solver="columns"))
    assert lib.duals is not None
    with service_factory(db_url) as svc:
        ds = svc.upload(example_zip)
        base = svc.wait(svc.start_run(ds["id"], params=COLUMNS)["id"])
        assert base["status"] == "succeeded", base
        body = {"scenario": DOUBLE_CARE, "params": COLUMNS}
        cold = svc.wait(svc.start_run(ds["id"], **body)["id"])
        warm = svc.wait(svc.start_run(ds["id"], **body, warm_start_run_id=base["id"])["id"])
        assert warm["status"] == "succeeded" and warm["proven_optimal"], warm
        assert warm["warm_start_run_id"] == base["id"] and cold["warm_start_run_id"] is None
        assert warm["objective"] == pytest.approx(cold["objective"], abs=1e-6)
        expected = matcher.plan(_doubled_by_hand()).objective
        assert warm["objective"] == pytest.approx(expected, abs=1e-6)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "select item, supplier_kind, item_id, value from run_duals "
                "where run_id = :r order by row_no"
            ),
            {"r": base["id"]},
        ).all()
    engine.dispose()
    kept = {(item, kind, key): value for item, kind, key, value in rows}
    want = {("supplier", k, i): v for (k, i), v in lib.duals.supplier.items() if v > 0}
    want |= {("demand", None, d): v for d, v in lib.duals.demand.items() if v > 0}
    assert want and kept.keys() == want.keys()
    assert all(kept[k] == pytest.approx(want[k]) for k in want)


def test_a_warm_start_must_be_a_succeeded_plan_run(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    h = svc.h("planner")
    body = {"dataset_id": ds["id"], "warm_start_run_id": "nope"}
    r = svc.client.post("/runs", json=body, headers=h)
    assert r.status_code == 404 and "nope" in r.json()["detail"], r.text
    rec = svc.client.post(
        "/recommendations", json={"kind": "pairings", "dataset_id": ds["id"]}, headers=h
    )
    assert rec.status_code == 202, rec.text
    r = svc.client.post("/runs", json={**body, "warm_start_run_id": rec.json()["id"]}, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_warm_start"
    assert r.json()["errors"][0]["field"] == "warm_start_run_id"
    assert "recommendation" in r.json()["detail"]


@pytest.mark.parametrize(
    ("scenario", "english", "chinese"),
    [
        (
            {"changes": [{"type": "set", "params": {"max_travel_km": -1}}]},
            "scenario scenario, change 1 (set), field 'params.max_travel_km': got -1, expected",
            "第 1 项变更（set），字段“params.max_travel_km”：填写的是 -1，应为不小于 0",
        ),
        (
            {"changes": [{"type": "remove", "table": "cadres", "ids": ["K1", "K99"]}]},
            "field 'ids[1]': cadre id 'K99' is not in the dataset",
            "字段“ids[1]”：cadre id 'K99' 不在数据集中",
        ),
        (
            {"changes": [{"type": "surge", "count": 9_000_000, "skills": ["parking"], "hours": 4}]},
            "scenario change 1 (surge), field 'count': at most 500,000 cadres per request",
            "情景第 1 项变更（surge），字段“count”：每次请求最多 500,000 名干部",
        ),
    ],
)
def test_a_scenario_that_does_not_fit_is_422_in_the_request_language(
    svc, example_zip: bytes, scenario: dict[str, object], english: str, chinese: str
) -> None:
    ds = svc.upload(example_zip)
    body = {"dataset_id": ds["id"], "scenario": scenario}
    en = svc.client.post("/runs", json=body, headers=svc.h("planner"))
    zh = svc.client.post("/runs", json=body, headers={**svc.h("planner"), "Accept-Language": "zh"})
    assert en.status_code == zh.status_code == 422, zh.text
    assert en.json()["code"] == zh.json()["code"] == "invalid_scenario"
    assert en.json()["errors"][0]["field"] == zh.json()["errors"][0]["field"]
    assert english in en.json()["detail"], en.json()
    assert chinese in zh.json()["detail"], zh.json()
