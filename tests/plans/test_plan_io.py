"""The plan contract: a plan folder read back is the plan written, every check of
``read_plan`` names the file, row and column, and ``diff_plans`` agrees with a diff by hand."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import matcher
from matcher.errors import PlanFolderError
from matcher.plans.diff import ASSIGNMENT_DIFF_COLUMNS, DEMAND_DIFF_COLUMNS, diff_plans
from matcher.plans.io import plan_dataset, read_plan
from matcher.plans.tables import PLAN_FILES, PLAN_TABLES

EXAMPLE = Path(__file__).parents[1] / "data" / "example" / "dataset"


@pytest.fixture(scope="module")
def example_plan() -> matcher.Plan:
    return matcher.plan(EXAMPLE)


@pytest.fixture
def folder(tmp_path: Path, example_plan: matcher.Plan) -> Path:
    example_plan.write(tmp_path / "plan")
    return tmp_path / "plan"


def test_a_folder_reads_back_as_the_plan_written(folder: Path, example_plan: matcher.Plan) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted(PLAN_FILES)
    back = read_plan(folder)
    assert back.label == "plan"  # the folder's name
    for spec in PLAN_TABLES:
        got, want = getattr(back, spec.name), getattr(example_plan, spec.name)
        assert tuple(got.columns) == spec.columns
        for column, kind in spec.dtypes.items():
            if kind == "int":
                assert got[column].dtype == np.int64, column
            elif kind == "float":
                assert got[column].dtype == np.float64, column
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False
        )
    assert back.kpis == json.loads((folder / "kpis.json").read_text(encoding="utf-8"))
    assert back.params == example_plan.params
    assert back.status == example_plan.status == "optimal"
    assert back.objective == example_plan.kpis["objective"]
    assert back.dataset_hash == example_plan.dataset_hash
    assert plan_dataset(back).content_hash == example_plan.dataset_hash
    # Written again, the folder is the same byte for byte.
    back.write(folder.parent / "again")
    for name in ("assignments.csv", "demand_status.csv", "kpis.json"):
        assert (folder / name).read_bytes() == (folder.parent / "again" / name).read_bytes()


def test_optional_tables_may_be_absent(folder: Path) -> None:
    (folder / "funding.csv").unlink()
    (folder / "leads.csv").unlink()
    back = read_plan(folder)
    assert back.funding.empty and back.leads.empty
    assert list(back.leads.columns) == ["demand_id", "unit_id", "effort", "cost"]


def _edit_csv(path: Path, row: int, column: str, value: str) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 2, column] = value
    frame.to_csv(path, index=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: shutil.rmtree(f), "does not exist"),
        (lambda f: (f / "assignments.csv").unlink(), "assignments.csv is missing"),
        (lambda f: (f / "run.json").unlink(), "run.json is missing"),
        (lambda f: (f / "kpis.json").write_text("[1, 2]"), "expected a JSON object"),
        (lambda f: (f / "kpis.json").write_text("{nope"), "not valid JSON"),
        (lambda f: (f / "kpis.json").write_text("{}"), "key 'hours_demanded' is missing"),
        (
            lambda f: (f / "demand_status.csv").write_text("demand_id,status\nD1,met\n"),
            "demand_status.csv, row 1: column 'community_id' is missing",
        ),
        (
            lambda f: _edit_csv(f / "assignments.csv", 3, "hours", "many"),
            "assignments.csv, row 3, column 'hours': got 'many', expected a whole number",
        ),
        (
            lambda f: _edit_csv(f / "assignments.csv", 2, "hours", "2.5"),
            "assignments.csv, row 2, column 'hours': got '2.5', expected a whole number",
        ),
        (
            lambda f: _edit_csv(f / "assignments.csv", 2, "km", "far"),
            "assignments.csv, row 2, column 'km': got 'far', expected a number",
        ),
        (
            lambda f: (f / "run.json").write_text('{"params": {"max_travel_km": -1}}'),
            "run.json: parameter max_travel_km=-1",
        ),
        (
            lambda f: (f / "run.json").write_text('{"params": {"no_such": 1}}'),
            "run.json: parameter",
        ),
    ],
)
def test_every_check_names_the_file_row_and_column(
    folder: Path, change: object, message: str
) -> None:
    change(folder)  # type: ignore[operator]
    with pytest.raises(PlanFolderError, match=message.replace("(", r"\(")):
        read_plan(folder)


def test_a_blank_number_cell_reads_as_missing_where_a_column_may_be_blank(folder: Path) -> None:
    # funds is blank for a demand asking no funds; hours may never be blank.
    back = read_plan(folder)
    assert back.demand_status["funds"].isna().all()
    _edit_csv(folder / "demand_status.csv", 2, "hours", "")
    with pytest.raises(PlanFolderError, match="row 2, column 'hours'"):
        read_plan(folder)


def test_the_dataset_must_be_the_plans(folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(EXAMPLE, other)
    demands = pd.read_csv(other / "demands.csv", dtype=str, keep_default_na=False)
    demands.loc[0, "hours"] = str(int(demands.loc[0, "hours"]) + 1)
    demands.to_csv(other / "demands.csv", index=False)
    assert read_plan(folder, dataset=EXAMPLE).label == "plan"
    with pytest.raises(PlanFolderError, match="content hash"):
        read_plan(folder, dataset=other)
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    run["dataset"] = str(tmp_path / "gone")
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    with pytest.raises(PlanFolderError, match="which is not here"):
        plan_dataset(read_plan(folder))


def _by_hand(before: matcher.Plan, after: matcher.Plan) -> tuple[dict, dict]:
    key = ["supplier_kind", "supplier_id", "demand_id"]

    def hours(plan: matcher.Plan) -> dict[tuple[str, ...], int]:
        out: dict[tuple[str, ...], int] = {}
        for row in plan.assignments.itertuples(index=False):
            k = tuple(str(getattr(row, c)) for c in key)
            out[k] = out.get(k, 0) + int(row.hours)
        return {k: h for k, h in out.items() if h > 0}

    h0, h1 = hours(before), hours(after)
    assignments = {k: (h0.get(k, 0), h1.get(k, 0)) for k in h0.keys() | h1.keys()}
    s0 = before.demand_status.set_index("demand_id")
    s1 = after.demand_status.set_index("demand_id")
    demands = {
        d: (
            s0.at[d, "status"],
            s1.at[d, "status"],
            s0.at[d, "covered_hours"],
            s1.at[d, "covered_hours"],
        )
        for d in s0.index
    }
    return (
        {k: v for k, v in assignments.items() if v[0] != v[1]},
        {d: v for d, v in demands.items() if v[0] != v[1] or v[2] != v[3]},
    )


def test_diff_plans_equals_a_diff_by_hand(example_plan: matcher.Plan) -> None:
    ds = matcher.load_dataset(EXAMPLE)
    cadres = ds.cadres
    cadres.loc[cadres.index[0], "hours"] = 1  # fewer hours: assignments and coverage move
    after = replace(matcher.plan(ds.replace(cadres=cadres)), label="fewer")
    d = diff_plans(example_plan, after)
    assert tuple(d.assignments.columns) == ASSIGNMENT_DIFF_COLUMNS
    assert tuple(d.demands.columns) == DEMAND_DIFF_COLUMNS
    assignments, demands = _by_hand(example_plan, after)
    assert assignments and demands
    got = {
        (r.supplier_kind, r.supplier_id, r.demand_id): (r.hours_before, r.hours_after)
        for r in d.assignments.itertuples(index=False)
    }
    assert got == assignments
    for r in d.assignments.itertuples(index=False):
        assert r.change == (
            "added" if r.hours_before == 0 else "removed" if r.hours_after == 0 else "changed"
        )
    got_demands = {
        r.demand_id: (r.status_before, r.status_after, r.covered_before, r.covered_after)
        for r in d.demands.itertuples(index=False)
    }
    assert got_demands == demands
    assert set(d.demands["plan"]) == {"fewer"}
    moved = {k for k, v in demands.items() if v[0] != v[1]}
    assert set(d.status_changes()["demand_id"]) == moved
    empty = diff_plans(example_plan, example_plan)
    assert empty.assignments.empty and empty.demands.empty
