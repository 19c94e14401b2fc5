"""``GET /runs/{id}/diff``: a run against another, as ``matcher.analysis.compare`` sees the
plans."""

from __future__ import annotations

import matcher
from matcher.analysis.compare import compare_plans

EXAMPLE = "tests/data/example/dataset"


def _changes(rows: list[dict[str, object]], keys: tuple[str, ...]) -> set[tuple[object, ...]]:
    return {tuple(r[k] for k in keys) for r in rows}


def test_diff_of_a_run_with_itself_is_empty(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    run = svc.wait(svc.start_run(ds["id"])["id"])
    r = svc.client.get(
        f"/runs/{run['id']}/diff", params={"against": run["id"]}, headers=svc.h("viewer")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["assignment_changes"] == [] and body["demand_changes"] == []
    assert body["reference"] == run["id"] and len(body["plans"]) == 2
    for deltas in body["deltas"].values():
        assert all(v in (0, 0.0, None) for v in deltas.values())


def test_diff_equals_the_library_comparison_of_the_same_plans(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    base = svc.wait(svc.start_run(ds["id"])["id"])
    dear = svc.wait(svc.start_run(ds["id"], params={"travel_cost_per_km": 1.0})["id"])
    r = svc.client.get(
        f"/runs/{dear['id']}/diff", params={"against": base["id"]}, headers=svc.h("viewer")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["plans"] == [base["id"], dear["id"]]
    # the same two plans made in this process, compared by the library
    local = compare_plans(
        [
            matcher.plan(EXAMPLE),
            matcher.plan(EXAMPLE, matcher.PlanParams(travel_cost_per_km=1.0)),
        ]
    ).to_dict()
    assert local["assignment_changes"] and local["demand_changes"]
    keys = ("supplier_id", "demand_id", "change", "hours_before", "hours_after")
    assert _changes(body["assignment_changes"], keys) == _changes(local["assignment_changes"], keys)
    assert _changes(
        body["demand_changes"], ("demand_id", "status_before", "status_after", "covered_after")
    ) == _changes(
        local["demand_changes"], ("demand_id", "status_before", "status_after", "covered_after")
    )
    delta = body["deltas"][dear["id"]]["objective"]
    assert abs(delta - (dear["objective"] - base["objective"])) < 1e-6


def test_scoped_keys_compare_only_their_districts(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    base = svc.wait(svc.start_run(ds["id"])["id"])
    dear = svc.wait(svc.start_run(ds["id"], params={"travel_cost_per_km": 1.0})["id"])
    url = f"/runs/{dear['id']}/diff"
    everyone = svc.client.get(url, params={"against": base["id"]}, headers=svc.h("viewer"))
    scoped = svc.client.get(url, params={"against": base["id"]}, headers=svc.h("gulou"))
    assert scoped.status_code == 200, scoped.text
    rows = everyone.json()["demand_changes"]
    mine = scoped.json()["demand_changes"]
    assert mine == [d for d in rows if d["district"] == "Gulou"]
    # city-wide totals are other districts' results: a scoped key sees none of them
    seen = scoped.json()["kpis"][base["id"]]
    assert seen["objective"] is None and seen["hours_covered"] is None
    assert {k for k in seen if k.startswith("coverage.")} == {"coverage.Gulou"}
    assert abs(everyone.json()["kpis"][base["id"]]["objective"] - base["objective"]) < 1e-5


def test_diff_refusals(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    run = svc.wait(svc.start_run(ds["id"])["id"])
    url = f"/runs/{run['id']}/diff"
    assert svc.client.get(url, headers=svc.h("viewer")).status_code == 422
    r = svc.client.get(url, params={"against": "nope"}, headers=svc.h("viewer"))
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert svc.client.get(url, params={"against": run["id"]}).status_code == 401
