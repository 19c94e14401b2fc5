"""The benchmark scripts still run against the library they measure (figures aside)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

import matcher
from matcher.params import PlanParams
from matcher.solvers.columns import master as columns
from matcher.solvers.netsimplex import NetworkSimplex

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name: str) -> ModuleType:
    if str(BENCHMARKS) not in sys.path:
        sys.path.append(str(BENCHMARKS))  # a script imports its sibling modules
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_master_records_the_masters_and_cuts_them_down_to_the_same_optimum() -> None:
    bench = _script("bench_master")
    figures = bench.run(0.02, 0, [0.0, 1e5], ortools=True, round_costs=[1, 50_000])
    # run() raises if a cold solve, OR-Tools or a cut-down master misses the optimum, or if
    # a rounded-cost optimum lies below it or further above than the rounding allows.
    assert figures["cold_pivots"] > 0 and figures["warm_pivots"] > 0
    assert figures["rc<=0"]["arcs"] <= figures["rc<=100000"]["arcs"]
    assert figures["round1"]["excess"] == 0  # multiples of 1: the costs themselves
    assert figures["round50000"]["excess"] > 0  # 0.05 of score: coarse enough to lose some
    assert "ortools_seconds" in figures
    # The solver's own simplex class is back in place.
    assert columns.NetworkSimplex is NetworkSimplex


def test_bench_warm_plans_each_scenario_cold_and_warm_to_one_optimum() -> None:
    bench = _script("bench_warm")
    rows = bench.run(0.02)
    # run() raises if a warm-started plan's objective differs from the cold one.
    assert [r["scenario"] for r in rows] == [name for name, _ in bench.SCENARIOS]
    assert all(r["cold_rounds"] > 0 and r["warm_rounds"] > 0 for r in rows)


def test_bench_integer_highs_alone_solves_the_planners_labour_model() -> None:
    """HiGHS alone, the benchmark's baseline, is the same model: on a city small enough
    for both to prove it, both reach the same optimum."""
    bench = _script("bench_integer")
    ds = bench.labour_city(8, 5)
    mins = ds.demands["min_hours"]
    assert 0.2 < mins.notna().mean() < 0.5  # about a third
    for limit in (1, 2):
        params = PlanParams(time_limit_s=60, max_communities_per_cadre=limit, seed=1)
        ours = matcher.plan(ds, params)
        alone = bench.highs_labour(ds, params, 60)
        assert ours.status == "optimal"
        # HiGHS alone stops at its default relative gap, 1e-4.
        assert alone["objective"] <= ours.objective + 1e-9
        assert alone["objective"] == pytest.approx(ours.objective, rel=1e-4)
        assert alone["bound"] >= ours.objective - 1e-9
