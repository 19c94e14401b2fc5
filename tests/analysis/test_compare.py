"""Plan comparison (``matcher.analysis.compare``): KPI table, deltas and the plan diff.

The diff is checked against one made by hand from the two plans' tables; the diff of a
plan with itself must be empty; folders written by ``Plan.write`` compare as the plans
themselves; the CLI writes text, CSV and JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from factories import PROFILES, random_tables

from matcher.analysis.compare import compare_plans
from matcher.cli import main
from matcher.errors import CompareError
from matcher.inputs.dataset import dataset_from_frames, load_dataset
from matcher.plans.io import read_plan
from matcher.plans.planner import plan
from matcher.plans.result import Plan

EXAMPLE = Path(__file__).parents[1] / "data" / "example" / "dataset"


@pytest.fixture(scope="module")
def pair() -> tuple[Plan, Plan]:
    tables = random_tables(3, PROFILES["dense"])
    before = plan(dataset_from_frames(tables))
    d = tables["demands"].copy()
    d["hours"] = [int(h) * 2 if i % 3 == 0 else int(h) for i, h in enumerate(d["hours"])]
    c = tables["cadres"].iloc[3:].reset_index(drop=True)
    after = plan(dataset_from_frames({**tables, "demands": d, "cadres": c}))
    return before, after


def test_a_plan_compared_with_itself_has_no_diff(pair: tuple[Plan, Plan]) -> None:
    before, _ = pair
    c = compare_plans([before, before], names=["a", "b"])
    assert c.assignments.empty and c.demands.empty
    numeric = c.deltas.loc["b"].dropna()
    assert len(numeric) > 10 and (numeric == 0).all()


def test_diff_equals_a_diff_by_hand(pair: tuple[Plan, Plan]) -> None:
    before, after = pair
    c = compare_plans([before, after], names=["before", "after"])

    def hours(p: Plan) -> dict[tuple[str, str, str], int]:
        out: dict[tuple[str, str, str], int] = {}
        for r in p.assignments.itertuples():
            key = (r.supplier_kind, r.supplier_id, r.demand_id)
            out[key] = out.get(key, 0) + int(r.hours)
        return out

    old, new = hours(before), hours(after)
    expected = {
        k: (old.get(k, 0), new.get(k, 0)) for k in set(old) | set(new) if old.get(k) != new.get(k)
    }
    got = {
        (r.supplier_kind, r.supplier_id, r.demand_id): (r.hours_before, r.hours_after)
        for r in c.assignments.itertuples()
    }
    assert got == expected and expected
    kinds = {
        (r.supplier_kind, r.supplier_id, r.demand_id): r.change for r in c.assignments.itertuples()
    }
    for k, (h0, h1) in expected.items():
        assert kinds[k] == ("added" if h0 == 0 else "removed" if h1 == 0 else "changed")
    s0 = before.demand_status.set_index("demand_id")
    s1 = after.demand_status.set_index("demand_id")
    moved = sorted(
        d
        for d in s0.index
        if (s0.at[d, "status"], s0.at[d, "covered_hours"])
        != (s1.at[d, "status"], s1.at[d, "covered_hours"])
    )
    assert c.demands["demand_id"].tolist() == moved
    status_changed = sum(s0.at[d, "status"] != s1.at[d, "status"] for d in moved)
    assert c.table().set_index("plan").at["after", "diff_demands_status_changed"] == status_changed
    assert set(c.demands["plan"]) <= {"after"}
    for name in ("objective", "hours_covered", "coverage"):
        assert c.deltas.at["after", name] == pytest.approx(after.kpis[name] - before.kpis[name])


def test_folders_compare_as_the_plans(tmp_path: Path, pair: tuple[Plan, Plan]) -> None:
    before, after = pair
    before.write(tmp_path / "before")
    after.write(tmp_path / "after")
    from_folders = compare_plans([tmp_path / "before", tmp_path / "after"])
    in_memory = compare_plans([before, after], names=["before", "after"])
    assert from_folders.names == ("before", "after")
    a = from_folders.assignments.astype(str).reset_index(drop=True)
    b = in_memory.assignments.astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert from_folders.to_dict()["deltas"] == in_memory.to_dict()["deltas"]
    record = read_plan(tmp_path / "after")
    assert record.kpis["objective"] == after.kpis["objective"]


def test_write_and_cli_formats(
    tmp_path: Path, pair: tuple[Plan, Plan], capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = pair
    before.write(tmp_path / "base")
    after.write(tmp_path / "changed")
    plans = [str(tmp_path / "base"), str(tmp_path / "changed")]
    assert main(["compare", *plans, "--out", str(tmp_path / "cmp")]) == 0
    capsys.readouterr()
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert table["plan"].tolist() == ["base", "changed"]
    assert table.loc[1, "delta_objective"] == pytest.approx(
        after.kpis["objective"] - before.kpis["objective"], abs=1e-5
    )
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text(encoding="utf-8"))
    assert data["reference"] == "base"
    assert len(data["assignment_changes"]) == len(
        pd.read_csv(tmp_path / "cmp" / "comparison_assignments.csv")
    )
    assert main(["compare", *plans, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["plans"] == ["base", "changed"]
    assert main(["compare", *plans, "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("plan,objective,delta_objective")
    assert main(["compare", *plans]) == 0
    text = capsys.readouterr().out
    assert "Comparison against base" in text and "changed: assignments" in text


def test_unreadable_plan_folders_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan(load_dataset(EXAMPLE)).write(tmp_path / "half")
    (tmp_path / "half" / "assignments.csv").unlink()
    assert main(["compare", str(tmp_path / "half")]) == 2
    assert "assignments.csv is missing" in capsys.readouterr().err
    (tmp_path / "half" / "kpis.json").write_text("{}", encoding="utf-8")
    assert main(["compare", str(tmp_path / "half")]) == 2
    assert "kpis.json: key 'hours_demanded' is missing" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(CompareError):
        compare_plans([])


def test_same_names_are_told_apart() -> None:
    p = plan(load_dataset(EXAMPLE))
    assert compare_plans([p, p]).names == ("plan", "plan-2")
    with pytest.raises(CompareError, match="named"):
        compare_plans([p, p], names=["x", "x"])
