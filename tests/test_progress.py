"""Progress of a plan (matcher.progress): stages in order, true bounds, the same plan with
or without a callback, and a callback that raises stops the plan."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ortools.sat.python import cp_model

import matcher
from matcher.inputs.generate import generate
from matcher.params import PlanParams
from matcher.progress import STAGES, Progress, Reporter, reporter
from matcher.solvers.integer.cpsat import solve_reporting

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "data" / "example" / "dataset"


class Stop(Exception):
    """What the raising callbacks raise."""


def _same_plan(a: matcher.Plan, b: matcher.Plan) -> None:
    pd.testing.assert_frame_equal(a.assignments, b.assignments)
    pd.testing.assert_frame_equal(a.demand_status, b.demand_status)
    pd.testing.assert_frame_equal(a.funding, b.funding)
    pd.testing.assert_frame_equal(a.leads, b.leads)
    for k in ("objective", "bound", "gap", "hours_covered"):
        assert a.kpis[k] == b.kpis[k], k


@pytest.fixture(scope="module")
def city() -> matcher.Dataset:
    """A small generated city whose column generation takes several rounds."""
    return matcher.dataset_from_frames(generate(scale=0.01, seed=1), "city")


@pytest.fixture(scope="module")
def rules() -> matcher.Dataset:
    """The example with every integer rule's data: funds, a funder, lead options."""
    tables = matcher.load_dataset(EXAMPLE).tables()
    tables["demands"]["funds"] = [3000.0, 2000.0, None, None, None]
    funder = {
        "resource_id": "F1",
        "unit_id": "U-MUNI",
        "kind": "funds",
        "categories": "",
        "amount": 10000,
    }
    tables["resources"] = pd.concat(
        [tables["resources"], pd.DataFrame([funder])], ignore_index=True
    )
    tables["lead_options"] = pd.DataFrame(
        {
            "demand_id": ["D1", "D1", "D2"],
            "unit_id": ["U-MUNI", "U-JCY", "U-JCY"],
            "effort": [1, 1, 1],
            "cost": [2, 1, 3],
        }
    )
    return matcher.dataset_from_frames(tables, "rules")


def test_stages_come_in_order_with_elapsed_time() -> None:
    seen: list[Progress] = []
    plan = matcher.plan(EXAMPLE, progress=seen.append)
    stages = [p.stage for p in seen]
    assert list(dict.fromkeys(stages)) == list(STAGES)
    assert stages == sorted(stages, key=STAGES.index)  # never back to an earlier stage
    elapsed = [p.elapsed_s for p in seen]
    assert elapsed == sorted(elapsed) and elapsed[0] >= 0
    last = seen[-1]
    assert last.stage == "tables"
    assert last.incumbent == pytest.approx(plan.solver.objective)
    assert last.bound == pytest.approx(plan.solver.bound)
    assert last.to_dict()["stage"] == "tables"


def test_a_loaded_dataset_skips_the_load_stage() -> None:
    seen: list[Progress] = []
    matcher.plan(matcher.load_dataset(EXAMPLE), progress=seen.append)
    assert [p.stage for p in seen] == ["build", "solve", "tables"]


def test_column_generation_reports_rounds_with_true_bounds(city: matcher.Dataset) -> None:
    params = PlanParams(flow_solver="columns")
    seen: list[Progress] = []
    plan = matcher.plan(city, params, progress=seen.append)
    rounds = [p for p in seen if p.round is not None]
    assert len(rounds) >= 2
    assert [p.round for p in rounds] == list(range(1, len(rounds) + 1))
    # Every round that solved the network; the last round, whose pricing finds nothing
    # (the proof), solves nothing new.
    assert len(rounds) in (
        plan.kpis["column_generation"]["rounds"] - 1,
        plan.kpis["column_generation"]["rounds"],
    )
    objective = plan.solver.objective
    for p in rounds:
        assert p.stage == "solve" and p.bound is not None and p.incumbent is not None
        # A maximisation: every round's bound is an upper bound on the optimum.
        assert p.bound >= objective - 1e-6
        assert p.gap is not None and p.gap >= 0
    # A round's bound is computed within a share of the time (else the best before is
    # repeated): never below the plan's own bound, and never rising.
    assert rounds[-1].bound >= plan.solver.bound - 1e-6
    bounds = [p.bound for p in rounds]
    assert bounds == sorted(bounds, reverse=True)
    # The last report, at the tables, carries the plan's own objective and bound.
    assert seen[-1].stage == "tables" and seen[-1].bound == plan.solver.bound
    assert seen[-1].incumbent == plan.solver.objective
    _same_plan(plan, matcher.plan(city, params))


def test_every_round_can_report_its_own_bound(
    city: matcher.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no limit on the bound's share of the time, each round reports the bound of
    its own potentials: the last one's is the plan's (the same potentials)."""
    from matcher.solvers.columns import master

    monkeypatch.setattr(master, "BOUND_SHARE", 1e9)
    seen: list[Progress] = []
    plan = matcher.plan(city, PlanParams(flow_solver="columns"), progress=seen.append)
    rounds = [p for p in seen if p.round is not None]
    assert all(p.bound is not None and p.bound >= plan.solver.objective for p in rounds)
    assert rounds[-1].bound == pytest.approx(plan.solver.bound, rel=1e-9)
    assert rounds[-1].gap is not None and rounds[-1].gap < 1e-6
    assert rounds[0].bound is not None and rounds[0].bound > rounds[-1].bound


@pytest.mark.parametrize("solver", ["highs", "cpsat"])
def test_integer_rules_report_each_part_and_keep_the_plan(
    rules: matcher.Dataset, solver: str
) -> None:
    params = PlanParams(integer_solver=solver, max_communities_per_cadre=1)
    seen: list[Progress] = []
    plan = matcher.plan(rules, params, progress=seen.append)
    parts = [p.part for p in seen if p.part is not None]
    assert list(dict.fromkeys(parts)) == ["labour", "funds", "leads"]
    for p in seen:
        if p.part is None or p.incumbent is None or p.bound is None:
            continue
        if p.part == "leads":  # a cost: the bound is a lower bound
            assert p.bound <= p.incumbent + 1e-9
        else:  # a score: an upper bound
            assert p.bound >= p.incumbent - 1e-9
    ends = {p.part: p for p in seen if p.part is not None and p.incumbent is not None}
    assert ends["leads"].incumbent == pytest.approx(plan.kpis["leads"]["objective"])
    assert seen[-1].stage == "tables"
    assert seen[-1].incumbent == pytest.approx(plan.kpis["objective"])
    _same_plan(plan, matcher.plan(rules, params))


def test_a_highs_search_reports_a_few_times_a_second() -> None:
    """HiGHS runs in a thread of its own; its search is reported from the caller's,
    throttled, and a callback that raises there stops the plan at once."""
    from tests.factories import hard_city

    ds = hard_city(0.01)
    params = PlanParams(integer_solver="highs", max_communities_per_cadre=1, time_limit_s=3)
    seen: list[Progress] = []
    matcher.plan(ds, params, progress=seen.append)
    labour = [p for p in seen if p.part == "labour" and p.incumbent is not None]
    assert len(labour) >= 3
    assert all(p.bound is not None and p.bound >= p.incumbent for p in labour)
    # THROTTLE_S apart, give or take the clock; the last is the model's end, at once.
    gaps = np.diff([p.elapsed_s for p in labour[:-1]])
    assert (gaps >= 0.2).all()

    def stop_in_the_search(p: Progress) -> None:
        if p.part == "labour" and p.incumbent is not None and p.elapsed_s > 1.0:
            raise Stop

    began = time.perf_counter()
    with pytest.raises(Stop):
        matcher.plan(ds, params.replace(time_limit_s=30), progress=stop_in_the_search)
    assert time.perf_counter() - began < 10  # not at the end of the 30 s search


def test_a_raising_callback_stops_the_plan(city: matcher.Dataset) -> None:
    def stop_in_round_two(p: Progress) -> None:
        if p.round == 2:
            raise Stop

    with pytest.raises(Stop):
        matcher.plan(city, PlanParams(flow_solver="columns"), progress=stop_in_round_two)

    def stop_at_tables(p: Progress) -> None:
        if p.stage == "tables":
            raise Stop

    with pytest.raises(Stop):
        matcher.plan(EXAMPLE, progress=stop_at_tables)


def test_a_raising_callback_stops_a_cpsat_search() -> None:
    """CP-SAT reports from its own thread: the exception stops the search and is raised
    in the caller's."""
    model = cp_model.CpModel()
    xs = [model.new_int_var(0, 10, f"x{i}") for i in range(30)]
    model.add(sum(xs) <= 100)
    model.maximize(sum((i % 7 + 1) * x for i, x in enumerate(xs)))
    calls: list[Progress] = []

    def stop(p: Progress) -> None:
        calls.append(p)
        raise Stop

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    with pytest.raises(Stop):
        solve_reporting(solver, model, reporter(stop), "labour", lambda o, b: (o, b))
    assert len(calls) == 1 and calls[0].part == "labour"
    # Without a listener, no callback is attached.
    status = solve_reporting(solver, model, reporter(None), "labour", lambda o, b: (o, b))
    assert status == cp_model.OPTIMAL


def test_throttled_reports_are_spaced() -> None:
    clock = iter(np.arange(0.0, 10.0, 0.1))
    seen: list[Progress] = []
    report = Reporter(seen.append, clock=lambda: float(next(clock)))
    for i in range(20):  # two seconds, one call every 0.1 s
        report.throttled("solve", incumbent=float(i), part="leads")
    assert 6 <= len(seen) <= 8  # about four a second
    report("tables")  # a plain call is never dropped
    assert seen[-1].stage == "tables" and report.last is seen[-1]
