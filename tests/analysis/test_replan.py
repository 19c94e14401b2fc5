"""Stable re-planning (``matcher.analysis.replan``): checked against independent computations.

- zero penalty and no pins: the objective is the plain optimum (an LP of the reference
  model, ``factories.lp_optimum``);
- every assignment pinned and nothing changed: the previous plan comes back;
- the penalized objective equals an LP of the penalized model with pins
  (``factories.lp_stable_optimum``), on seeded random cities whose previous plan was made
  on other data (so some previous assignments are no longer possible);
- churn equals a count made from the two assignment tables by hand;
- impossible pins and integer rules are refused with errors naming them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import (
    PROFILES,
    Key,
    lp_optimum,
    lp_stable_optimum,
    random_tables,
    reference_model,
)

from matcher.analysis.replan import replan
from matcher.cli import main
from matcher.errors import ParameterError, ReplanError
from matcher.inputs.dataset import Dataset, dataset_from_frames, load_dataset
from matcher.plans.planner import plan
from matcher.plans.result import Plan

EXAMPLE = Path(__file__).parents[1] / "data" / "example" / "dataset"


def close(actual: float, expected: float) -> bool:
    return abs(actual - expected) <= max(1e-6 * abs(expected), 1e-6)


def flows(p: Plan) -> dict[Key, int]:
    a = p.assignments
    return {
        (str(k), str(s), str(d)): int(h)
        for k, s, d, h in zip(a.supplier_kind, a.supplier_id, a.demand_id, a.hours, strict=True)
    }


def perturbed(tables: dict[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    """The same city a week later: demand hours changed, a few cadres gone or changed."""
    rng = np.random.default_rng([seed, 99])
    out = {k: v.copy() for k, v in tables.items()}
    d = out["demands"]
    d["hours"] = [max(0, int(h) + int(rng.integers(-3, 4))) for h in d["hours"]]
    c = out["cadres"]
    if len(c) > 2:
        c = c.drop(index=c.index[rng.random(len(c)) < 0.15]).reset_index(drop=True)
        c["hours"] = [max(0, int(h) + int(rng.integers(-2, 3))) for h in c["hours"]]
    out["cadres"] = c
    return out


def week(seed: int, profile: str) -> tuple[dict[str, pd.DataFrame], Plan, Dataset]:
    """A random city's plan, and the changed city to re-plan."""
    tables = random_tables(seed, PROFILES[profile])
    before = plan(dataset_from_frames(tables))
    after = perturbed(tables, seed)
    return after, before, dataset_from_frames(after)


@pytest.mark.parametrize(
    ("seed", "profile"), [(s, "small") for s in range(6)] + [(s, "dense") for s in range(3)]
)
def test_zero_penalty_gives_the_plain_optimum(seed: int, profile: str) -> None:
    tables, before, ds = week(seed, profile)
    result = replan(ds, before, change_penalty=0.0)
    assert close(result.objective, lp_optimum(reference_model(tables)))
    assert close(result.objective, plan(ds).objective)
    assert result.kpis["bound"] >= result.objective


@pytest.mark.parametrize(
    ("seed", "profile"), [(s, "small") for s in range(4)] + [(s, "dense") for s in range(2)]
)
def test_everything_pinned_and_nothing_changed_gives_the_old_plan(seed: int, profile: str) -> None:
    ds = dataset_from_frames(random_tables(seed, PROFILES[profile]))
    before = plan(ds)
    again = replan(ds, before, pinned="all", change_penalty=0.3)
    pd.testing.assert_frame_equal(again.assignments, before.assignments)
    pd.testing.assert_frame_equal(again.demand_status, before.demand_status)
    assert close(again.objective, before.objective)
    churn = again.kpis["churn"]
    assert churn["hours_changed"] == 0 and churn["assignments_kept"] == len(before.assignments)


def test_a_positive_penalty_on_unchanged_data_keeps_an_optimal_plan() -> None:
    ds = dataset_from_frames(random_tables(5, PROFILES["dense"]))
    before = plan(ds)
    again = replan(ds, before, change_penalty=0.01)
    assert again.kpis["churn"]["hours_changed"] == 0
    assert close(again.objective, before.objective)


CASES = [(s, "small", pen) for s, pen in zip(range(6), (0.0, 0.2, 0.5, 1.0, 2.0, 5.0), strict=True)]
CASES += [(s, "dense", pen) for s, pen in zip(range(3), (0.3, 1.0, 3.0), strict=True)]


@pytest.mark.parametrize(("seed", "profile", "penalty"), CASES)
def test_penalized_objective_equals_an_lp(seed: int, profile: str, penalty: float) -> None:
    tables, before, ds = week(seed, profile)
    model = reference_model(tables)
    previous = flows(before)
    # Pin every third previous assignment that is still possible and still fits.
    candidates = [k for k in sorted(previous) if k in model.arcs][::3]
    sup_left = {k: s.hours for k, s in model.suppliers.items()}
    dem_left = {k: d.hours for k, d in model.demands.items()}
    pins = []
    for k in candidates:
        h = previous[k]
        if sup_left[k[:2]] >= h and dem_left[k[2]] >= h:
            sup_left[k[:2]] -= h
            dem_left[k[2]] -= h
            pins.append(k)
    result = replan(ds, before, change_penalty=penalty, pinned=pins)
    expected = lp_stable_optimum(model, previous, penalty, frozenset(pins))
    r = result.kpis["replan"]
    assert close(r["penalized_objective"], expected), (r, expected)
    assert r["penalized_bound"] >= r["penalized_objective"] - 1e-9
    new = flows(result)
    for k in pins:
        assert new[k] == previous[k]
    # The reported objective is the true one, re-scored with the reference weights.
    assert close(result.objective, sum(h * model.arcs[k].weight for k, h in new.items()))
    changed = sum(abs(new.get(k, 0) - previous.get(k, 0)) for k in set(new) | set(previous))
    assert close(r["penalized_objective"], result.objective - penalty * changed)
    assert result.kpis["churn"]["hours_changed"] == changed


@pytest.mark.parametrize(("seed", "penalty"), [(0, 0.0), (1, 0.01), (2, 0.5), (3, 2.0)])
def test_forbidden_pairs_are_not_used_and_the_objective_equals_an_lp(
    seed: int, penalty: float
) -> None:
    tables, before, ds = week(seed, "dense")
    model = reference_model(tables)
    previous = flows(before)
    # Forbid every other previous assignment still possible, and one arc never used.
    banned = [k for k in sorted(previous) if k in model.arcs][::2]
    banned += [next(k for k in sorted(model.arcs) if k not in previous)]
    kept = {k: h for k, h in previous.items() if k not in banned}
    frame = pd.DataFrame(
        [(*k, h) for k, h in kept.items()],
        columns=["supplier_kind", "supplier_id", "demand_id", "hours"],
    )
    result = replan(ds, frame, change_penalty=penalty, forbidden=banned)
    new = flows(result)
    assert not set(new) & set(banned)
    expected = lp_stable_optimum(model, kept, penalty, forbidden=frozenset(banned))
    r = result.kpis["replan"]
    assert close(r["penalized_objective"], expected), (r, expected)
    assert r["forbidden_pairs"] == len(banned)
    assert result.kpis["bound"] >= result.objective - 1e-9
    with pytest.raises(ParameterError, match="forbidden"):
        replan(ds, before, pinned=[banned[0]], forbidden=banned[:1])


def test_churn_counts_equal_a_count_by_hand() -> None:
    tables, before, ds = week(2, "dense")
    result = replan(ds, before, change_penalty=0.5)
    old, new = flows(before), flows(result)
    keys = set(old) | set(new)
    c = result.kpis["churn"]
    assert c["assignments_kept"] == sum(1 for k in keys if old.get(k) == new.get(k))
    assert c["assignments_added"] == sum(1 for k in keys if k not in old)
    assert c["assignments_removed"] == sum(1 for k in keys if k not in new)
    assert c["assignments_changed"] == sum(
        1 for k in keys if k in old and k in new and old[k] != new[k]
    )
    assert c["hours_added"] == sum(max(new.get(k, 0) - old.get(k, 0), 0) for k in keys)
    assert c["hours_removed"] == sum(max(old.get(k, 0) - new.get(k, 0), 0) for k in keys)
    model = reference_model(tables)
    assert c["previous_unavailable"] == sum(1 for k in old if k not in model.arcs)


def test_previous_plan_from_a_folder_and_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = load_dataset(EXAMPLE)
    before = plan(ds)
    before.write(tmp_path / "before")
    again = replan(ds, tmp_path / "before", pinned="all")
    pd.testing.assert_frame_equal(again.assignments, before.assignments)
    code = main(
        [
            "replan",
            str(EXAMPLE),
            "--previous",
            str(tmp_path / "before"),
            "--out",
            str(tmp_path / "after"),
            "--change-penalty",
            "0.5",
            "--pin-all",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "churn" in capsys.readouterr().out
    assert (tmp_path / "after" / "assignments.csv").read_bytes() == (
        tmp_path / "before" / "assignments.csv"
    ).read_bytes()


def test_impossible_pins_are_refused_naming_them(tmp_path: Path) -> None:
    ds = load_dataset(EXAMPLE)
    before = plan(ds)
    cadres = ds.cadres
    gone = ds.replace(
        cadres=cadres[cadres.cadre_id != "K1"],
    )
    with pytest.raises(ReplanError, match="cadre K1 is no longer in the dataset"):
        replan(gone, before, pinned="all")
    # Not pinned: its hours simply count as removed.
    result = replan(gone, before)
    assert result.kpis["churn"]["previous_unavailable"] == sum(
        1 for k in flows(before) if k[1] == "K1"
    )
    fewer = cadres.copy()
    fewer.loc[fewer.cadre_id == "K4", "hours"] = 1
    with pytest.raises(ReplanError, match="supplier K4"):
        replan(ds.replace(cadres=fewer), before, pinned="all")
    with pytest.raises(ReplanError, match="not in the previous plan"):
        replan(ds, before, pinned=[("cadre", "K2", "D1")])
    with pytest.raises(ParameterError, match="change_penalty"):
        replan(ds, before, change_penalty=-1)
    (tmp_path / "empty").mkdir()
    code = main(["replan", str(EXAMPLE), "--previous", str(tmp_path / "empty")])
    assert code == 2


def test_integer_rules_are_refused() -> None:
    ds = load_dataset(EXAMPLE)
    before = plan(ds)
    d = ds.demands
    d["min_hours"] = [4, None, None, None, None]
    with pytest.raises(ParameterError, match="min_hours"):
        replan(ds.replace(demands=d), before)
