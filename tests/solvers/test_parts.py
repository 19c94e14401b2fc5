"""Independent parts of the labour flow: labels, part-by-part solves, Ray, several cities.

The Ray tests share one local Ray instance (``ray.init(num_cpus=2)``), as
``tests/analysis/test_ray.py`` does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from plan_files import plan_files

from matcher.cli import main
from matcher.errors import ParameterError, SolverError
from matcher.inputs.dataset import Dataset, dataset_from_frames, load_dataset
from matcher.inputs.generate import combine_cities, generate
from matcher.model.arcs import Problem, build_problem
from matcher.model.rules import active_rules
from matcher.params import PlanParams
from matcher.plans.planner import build_plan, plan
from matcher.plans.result import Plan
from matcher.solvers.flow import FlowResult, solve_flow, useful_arcs
from matcher.solvers.parts import (
    FlowPart,
    component_arcs,
    connected_components,
    solve_component,
    solve_flow_parts,
)
from tests.factories import random_tables

EXAMPLE = Path(__file__).parents[1] / "data" / "example" / "dataset"
PREFIXES = ("A-", "B-")
SEEDS = (1, 2)
OFFSETS = ((0.0, 0.0), (3.0, 0.0))


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cities() -> list[dict[str, pd.DataFrame]]:
    """Two small generated cities (scale 0.02), each a single part of the flow."""
    return [generate(scale=0.02, seed=k) for k in SEEDS]


@pytest.fixture(scope="module")
def two_cities(cities: list[dict[str, pd.DataFrame]]) -> Dataset:
    """Both cities in one dataset: ids prefixed, the second 3 degrees further north."""
    tables = combine_cities(cities, PREFIXES, OFFSETS)
    return dataset_from_frames(tables, "two-cities")


@pytest.fixture(scope="module")
def one_city(cities: list[dict[str, pd.DataFrame]]) -> Dataset:
    return dataset_from_frames(cities[0], "one-city")


def _problem(
    sup_hours: list[int], dem_hours: list[int], arcs: list[tuple[int, int, float]]
) -> Problem:
    s, d, w = (np.array(x) for x in zip(*arcs, strict=True))
    part = FlowPart(
        arc_index=np.arange(len(arcs)),
        supplier_hours=np.array(sup_hours, dtype=np.int64),
        demand_hours=np.array(dem_hours, dtype=np.int64),
        supplier=s.astype(np.int64),
        demand=d.astype(np.int64),
        weight=w.astype(float),
        params=PlanParams(),
    )
    return part.problem()


def _check_flow(problem: Problem, r: FlowResult, whole: FlowResult) -> None:
    """``r`` is a valid flow as good as ``whole`` (within ``whole``'s proven bound)."""
    arcs = problem.arcs
    assert r.flow.dtype == np.int64 and (r.flow >= 0).all()
    assert (r.flow[~useful_arcs(problem)] == 0).all()
    used = np.bincount(arcs.supplier, weights=r.flow, minlength=len(problem.suppliers))
    got = np.bincount(arcs.demand, weights=r.flow, minlength=len(problem.demand_ids))
    assert (used <= problem.suppliers.hours).all() and (got <= problem.demand_hours).all()
    assert r.status == "optimal"
    assert r.objective == pytest.approx(float(np.dot(r.flow, arcs.weight)), abs=1e-9)
    tol = 1e-9 * max(1.0, abs(whole.objective)) + (whole.bound - whole.objective)
    assert abs(r.objective - whole.objective) <= tol
    # The bound is the whole solve's: the parts' rounded optima add up to the whole's.
    assert r.objective <= r.bound == pytest.approx(whole.bound, rel=1e-12)
    assert r.gap == pytest.approx((r.bound - r.objective) / max(abs(r.bound), 1.0))


def _parts_plan(dataset: Dataset) -> Plan:
    """The plan made with the flow solved part by part in this process."""
    problem = build_problem(dataset)
    result = solve_flow_parts(problem)
    return build_plan(dataset, problem, active_rules(dataset, problem.params), result, {})


# --------------------------------------------------------------------------------------
# Components
# --------------------------------------------------------------------------------------


def test_components_of_a_hand_made_problem() -> None:
    # s0-d0, s1-d0, s1-d1: one part; s2-d2: another; s3 has no hours, s4's only arc
    # scores below zero, d3 has no hours: they are in no part.
    problem = _problem(
        sup_hours=[5, 5, 5, 0, 5, 5],
        dem_hours=[4, 4, 4, 4, 0, 4],
        arcs=[
            (0, 0, 1.0),
            (1, 0, 2.0),
            (1, 1, 1.5),
            (2, 2, 3.0),
            (3, 3, 1.0),
            (4, 3, -1.0),
            (4, 2, 0.0),
            (5, 4, 2.0),
        ],
    )
    n, sup, dem = connected_components(problem)
    assert n == 2
    assert sup.tolist() == [0, 0, 1, -1, -1, -1]
    assert dem.tolist() == [0, 0, 1, -1, -1, -1]
    assert [a.tolist() for a in component_arcs(problem)] == [[0, 1, 2], [3]]
    r = solve_flow_parts(problem)
    assert r.flow.tolist() == [3, 1, 4, 4, 0, 0, 0, 0]
    assert r.objective == pytest.approx(3 * 1.0 + 1 * 2.0 + 4 * 1.5 + 4 * 3.0)
    one = solve_component(problem, component_arcs(problem)[1])
    assert one.flow.tolist() == [0, 0, 0, 4, 0, 0, 0, 0] and one.objective == pytest.approx(12.0)


def test_a_problem_with_no_useful_arc_has_no_parts() -> None:
    problem = _problem([0, 3], [2, 2], [(0, 0, 1.0), (1, 1, -2.0)])
    n, sup, dem = connected_components(problem)
    assert n == 0 and (sup == -1).all() and (dem == -1).all()
    r = solve_flow_parts(problem)
    assert r.status == "optimal" and r.objective == 0 and r.bound == 0
    assert (r.flow == 0).all()


@pytest.mark.parametrize("seed", [3, 7, 11, 19])
def test_parts_match_the_whole_flow_on_random_cities(seed: int) -> None:
    problem = build_problem(dataset_from_frames(random_tables(seed)))
    _check_flow(problem, solve_flow_parts(problem), solve_flow(problem))


def test_parts_match_the_whole_flow_on_a_generated_city(one_city: Dataset) -> None:
    problem = build_problem(one_city)
    whole, parts = solve_flow(problem), solve_flow_parts(problem)
    _check_flow(problem, parts, whole)
    # One city is one part here: the same network, so the very same flow.
    assert connected_components(problem)[0] == 1
    assert np.array_equal(parts.flow, whole.flow)


def test_two_cities_are_separate_parts(two_cities: Dataset) -> None:
    problem = build_problem(two_cities)
    n, sup, dem = connected_components(problem)
    assert n >= len(PREFIXES)
    for k in range(n):
        ids = [*problem.suppliers.ids[sup == k], *problem.demand_ids[dem == k]]
        assert len({i[:2] for i in ids}) == 1, f"part {k} mixes cities"
    _check_flow(problem, solve_flow_parts(problem), solve_flow(problem))


def test_two_cities_plan_as_each_city_planned_alone(
    two_cities: Dataset, cities: list[dict[str, pd.DataFrame]]
) -> None:
    both = _parts_plan(two_cities)
    # Each city alone, with its own prefix and where it stands in the pair (a shift in
    # latitude changes distances east-west).
    alone = [
        plan(dataset_from_frames(combine_cities([city], [prefix], [offset])))
        for city, prefix, offset in zip(cities, PREFIXES, OFFSETS, strict=True)
    ]
    tol = 1e-9 * max(1.0, abs(both.objective)) + (both.solver.bound - both.objective)
    assert abs(both.objective - sum(p.objective for p in alone)) <= tol
    for prefix, single in zip(PREFIXES, alone, strict=True):
        for table in ("assignments", "demand_status"):
            mine = getattr(both, table)
            mine = mine[mine["demand_id"].str.startswith(prefix)].reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, getattr(single, table))
    # The whole network, solved at once, reaches the same optimum (perhaps another one).
    whole = plan(two_cities)
    assert abs(whole.objective - both.objective) <= tol


def test_combine_cities_keeps_every_id_apart(cities: list[dict[str, pd.DataFrame]]) -> None:
    tables = combine_cities(cities, PREFIXES, OFFSETS)
    a, b = cities
    cadres = tables["cadres"]
    assert len(cadres) == len(a["cadres"]) + len(b["cadres"])
    homes = cadres["home_community_id"].dropna()
    assert homes.str[:2].isin(PREFIXES).all()
    assert cadres["home_community_id"].isna().sum() == sum(
        c["cadres"]["home_community_id"].isna().sum() for c in cities
    )
    north = tables["communities"]["lat"].iloc[len(a["communities"]) :].to_numpy()
    assert np.allclose(north, b["communities"]["lat"].to_numpy() + 3.0)
    assert tables["alliances"]["street"].str[:2].isin(PREFIXES).all()
    with pytest.raises(ValueError, match="prefixes must differ"):
        combine_cities(cities, ["X-", "X-"])


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ParameterError, match="engine"):
        plan(EXAMPLE, engine="spark")
    problem = build_problem(load_dataset(EXAMPLE))
    with pytest.raises(ParameterError, match="engine"):
        solve_flow_parts(problem, engine="spark")
    with pytest.raises(ParameterError, match="jobs"):
        solve_flow_parts(problem, jobs=0)
    with pytest.raises(SystemExit):
        main(["plan", str(EXAMPLE), "--engine", "spark"])


def test_integer_rules_are_planned_in_process(tmp_path: Path, capsys: Any) -> None:
    # No Ray is needed: integer rules couple the parts, so the plan is made here.
    params = PlanParams(max_communities_per_cadre=1)
    here = plan(EXAMPLE, params)
    ray_asked = plan(EXAMPLE, params, engine="ray", ray_address="127.0.0.1:1")
    assert here.kpis["rules"] and ray_asked.objective == here.objective
    assert ray_asked.assignments.equals(here.assignments)
    options = ["--param", "max_communities_per_cadre=1", "--engine", "ray", "--quiet"]
    assert main(["plan", str(EXAMPLE), "--out", str(tmp_path), *options]) == 0
    assert "made in this process" in capsys.readouterr().err


def test_cli_without_ray_installed_is_a_clean_error(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails
    code = main(["plan", str(EXAMPLE), "--out", str(tmp_path), "--engine", "ray"])
    err = capsys.readouterr().err
    assert code == 1 and "needs the ray package" in err and "Traceback" not in err
    with pytest.raises(SolverError, match="needs the ray package"):
        solve_flow_parts(build_problem(load_dataset(EXAMPLE)), engine="ray")


# --------------------------------------------------------------------------------------
# On Ray
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray() -> Any:
    ray = pytest.importorskip("ray")  # in the dev extra: `make test` always has it
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_plan_equals_the_in_process_plan(
    tmp_path: Path, one_city: Dataset, local_ray: Any
) -> None:
    plan(one_city).write(tmp_path / "here")
    plan(one_city, engine="ray").write(tmp_path / "ray")
    assert plan_files(tmp_path / "ray") == plan_files(tmp_path / "here")
    assert local_ray.is_initialized()  # a Ray the caller started is left running


def test_ray_parts_equal_local_parts_on_two_cities(
    tmp_path: Path, two_cities: Dataset, local_ray: Any
) -> None:
    problem = build_problem(two_cities)
    here = solve_flow_parts(problem)
    for jobs in (1, 3):
        there = solve_flow_parts(problem, engine="ray", jobs=jobs)
        assert np.array_equal(there.flow, here.flow)
        assert (there.objective, there.bound, there.status) == (
            here.objective,
            here.bound,
            here.status,
        )
    _parts_plan(two_cities).write(tmp_path / "here")
    plan(two_cities, engine="ray").write(tmp_path / "ray")
    plan(two_cities).write(tmp_path / "default")
    assert plan_files(tmp_path / "ray") == plan_files(tmp_path / "here")
    # The default in-process plan is the same plan: the engine never changes it.
    assert plan_files(tmp_path / "default") == plan_files(tmp_path / "here")


def test_cli_plan_engine_ray(tmp_path: Path, local_ray: Any) -> None:
    base = ["plan", str(EXAMPLE), "--quiet", "--out"]
    assert main([*base, str(tmp_path / "here")]) == 0
    options = ["--engine", "ray", "--jobs", "2"]
    assert main([*base, str(tmp_path / "ray"), *options]) == 0
    assert plan_files(tmp_path / "ray") == plan_files(tmp_path / "here")
