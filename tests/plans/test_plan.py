"""The Plan object: reason codes, tables, KPIs, writing, and the entry point's contract."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import matcher
from matcher.inputs.dataset import load_dataset
from matcher.model.arcs import build_problem
from matcher.plans.planner import demand_reasons
from matcher.plans.tables import ASSIGNMENT_COLUMNS, DEMAND_STATUS_COLUMNS
from matcher.solvers.flow import solve_flow


def _status(path: Path) -> pd.DataFrame:
    return matcher.plan(path).demand_status.set_index("demand_id")


def test_each_reason_code_on_the_reasons_dataset(reasons_dir: Path) -> None:
    st = _status(reasons_dir)
    assert st.loc["D1", ["status", "reason"]].tolist() == ["partial", "supply_short"]
    assert st.loc["D2", ["status", "reason"]].tolist() == ["met", ""]
    assert st.loc["D3", ["status", "reason"]].tolist() == ["unmet", "capacity_taken"]
    assert st.loc["D4", ["status", "reason"]].tolist() == ["unmet", "too_far"]
    assert st.loc["D5", ["status", "reason"]].tolist() == ["unmet", "no_eligible_supplier"]


def test_zero_hour_demand_is_met_with_no_reason(reasons_dir: Path) -> None:
    st = _status(reasons_dir)
    assert st.loc["D6", ["covered_hours", "status", "reason"]].tolist() == [0, "met", ""]


def test_demand_reasons_function_matches_plan_table(reasons_dir: Path) -> None:
    problem = build_problem(load_dataset(reasons_dir))
    result = solve_flow(problem)
    reasons = demand_reasons(problem, result.flow)
    assert list(reasons) == [
        "supply_short",
        "",
        "capacity_taken",
        "too_far",
        "no_eligible_supplier",
        "",
    ]


def test_too_far_turns_into_an_assignment_when_travel_is_free(reasons_dir: Path) -> None:
    # With no travel cost the far pairing scores its priority, so K3 serves D4.
    p = matcher.plan(reasons_dir, matcher.PlanParams(travel_cost_per_km=0.0))
    st = p.demand_status.set_index("demand_id")
    assert st.loc["D4", "covered_hours"] == 6
    row = p.assignments.set_index("demand_id").loc["D4"]
    assert (row["supplier_id"], row["tie"]) == ("K3", "pairing")


def test_tables_have_the_spec_columns(example_dir: Path) -> None:
    p = matcher.plan(example_dir)
    assert tuple(p.assignments.columns) == ASSIGNMENT_COLUMNS
    assert tuple(p.demand_status.columns) == DEMAND_STATUS_COLUMNS


def test_kpis_name_every_key_the_spec_asks_for(example_dir: Path) -> None:
    k = matcher.plan(example_dir).kpis
    for key in (
        "objective",
        "weighted_hours",
        "travel_hour_km",
        "hours_demanded",
        "hours_covered",
        "coverage",
        "coverage_by_district",
        "coverage_by_category",
        "solver_status",
        "bound",
        "gap",
        "solve_seconds",
        "supplier_utilization",
        "communities_zero_coverage",
    ):
        assert key in k, key
    assert k["solver_status"] == "optimal" and k["proven_optimal"] is True
    assert k["bound"] >= k["objective"]
    assert 0 <= k["gap"] < 1e-6


def test_kpis_add_up(reasons_dir: Path) -> None:
    p = matcher.plan(reasons_dir)
    k = p.kpis
    assert k["hours_covered"] == int(p.assignments["hours"].sum())
    assert k["hours_demanded"] == int(p.demand_status["hours"].sum())
    by_district = k["coverage_by_district"]
    assert sum(v["hours_covered"] for v in by_district.values()) == k["hours_covered"]
    assert k["communities_zero_coverage"] == ["B", "C"]
    assert k["reasons"] == {
        "no_eligible_supplier": 1,
        "too_far": 1,
        "capacity_taken": 1,
        "supply_short": 1,
    }
    u = k["supplier_utilization"]
    assert (u["hours_available"], u["hours_used"]) == (19, 9)


def test_write_produces_plan_folder(tmp_path: Path, example_dir: Path) -> None:
    p = matcher.plan(example_dir)
    paths = p.write(tmp_path / "plan")
    assert sorted(x.name for x in paths) == [
        "assignments.csv",
        "demand_status.csv",
        "funding.csv",
        "kpis.json",
        "leads.csv",
        "run.json",
    ]
    kpis = json.loads((tmp_path / "plan" / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["hours_covered"] == 40
    run = json.loads((tmp_path / "plan" / "run.json").read_text(encoding="utf-8"))
    assert run["params"]["max_travel_km"] == 5.0
    assert run["dataset_hash"] == load_dataset(example_dir).content_hash
    back = pd.read_csv(tmp_path / "plan" / "assignments.csv", dtype={"supplier_id": str})
    assert back["hours"].sum() == 40


def test_plan_accepts_a_dataset_or_a_path(example_dir: Path) -> None:
    a = matcher.plan(example_dir)
    b = matcher.plan(load_dataset(example_dir))
    assert a.assignments.equals(b.assignments)


def test_plan_does_not_change_the_dataset(example_dir: Path) -> None:
    ds = load_dataset(example_dir)
    before = ds.content_hash
    matcher.plan(ds)
    assert ds.content_hash == before


def test_summary_mentions_status_and_coverage(example_dir: Path) -> None:
    text = matcher.plan(example_dir).text()
    assert "optimal" in text
    assert "40 of 44" in text


def test_invalid_folder_raises_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(matcher.DatasetError):
        matcher.plan(tmp_path / "nowhere")


# What a plan by the column solver must not load: the plain model's k-d trees and
# component count, OR-Tools' flow, CP-SAT and HiGHS (a fifth of `matcher plan`'s time at
# scale 0.1 before they were imported where used).
_LAZY = (
    "scipy.sparse",
    "scipy.spatial",
    "ortools.graph.python.min_cost_flow",
    "ortools.sat.python.cp_model",
    "highspy",
)


def test_a_column_solver_plan_loads_no_plain_model_or_integer_solver(
    example_dir: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    code = (
        "import sys, matcher\n"
        "from matcher.params import PlanParams\n"
        f"p = matcher.plan({str(example_dir)!r}, PlanParams(flow_solver='columns'))\n"
        f"p.write({str(tmp_path / 'plan')!r})\n"
        "print(p.kpis['solver'])\n"
        f"print(','.join(m for m in {_LAZY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0].startswith("matcher.columns")
    assert out[1] == ""


def test_import_matcher_and_a_plain_plan_load_no_numba(example_dir: Path) -> None:
    """numba is the column generation's: `import matcher` and a plan by the plain model
    (OR-Tools' min-cost flow) do without it, and without Babel (English needs no
    catalogue)."""
    import subprocess
    import sys

    code = (
        "import sys, matcher\n"
        "loaded = [m for m in ('numba', 'babel', 'matcher.solvers.columns') if m in sys.modules]\n"
        "print(','.join(loaded))\n"
        "from matcher.params import PlanParams\n"
        f"p = matcher.plan({str(example_dir)!r}, PlanParams(flow_solver='arcs'))\n"
        "print(p.kpis['solver'])\n"
        "print(','.join(m for m in ('numba', 'babel') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == ""
    assert out[1].startswith("ortools")
    assert out[2] == ""
