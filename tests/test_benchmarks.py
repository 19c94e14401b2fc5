"""The benchmark scripts still run against the library they measure (figures aside)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from matcher.solvers.columns import master as columns
from matcher.solvers.netsimplex import NetworkSimplex

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name: str) -> ModuleType:
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
