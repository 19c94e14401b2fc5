"""What-if scenarios re-planned from their base plan's duals, against planning them cold.

A planner who has the city's plan and asks "what if" changes part of the data and plans
again. ``plan(dataset, warm_start=base_plan)`` starts the column solver from the base
plan's LP duals (:mod:`matcher.solvers.columns`, "Warm start"). For each scenario of a
generated dataset this plans it cold and warm in this process (numba's code compiled
beforehand, on a tiny dataset), and prints the solve seconds, pricing rounds, simplex
pivots and the ratio; the two objectives must agree (both are proven optimal), which the
script checks.

    .venv/bin/python benchmarks/bench_warm.py --scale 1
    .venv/bin/python benchmarks/bench_warm.py --scale 0.3

Scenarios: the base itself again; demand 30 % higher in one district; a tenth of the
cadres at half their hours; a twentieth of the cadres gone and every other cadre's hours
up a fifth (a surge of volunteers, and some away).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

Frames = dict[str, pd.DataFrame]


def _copy(f: Frames) -> Frames:
    return {k: v.copy() for k, v in f.items()}


def _district_demand(f: Frames) -> Frames:
    f = _copy(f)
    comms = f["communities"]
    district = comms["district"].iloc[0]
    here = f["demands"]["community_id"].isin(comms["community_id"][comms["district"] == district])
    f["demands"].loc[here, "hours"] = np.ceil(f["demands"].loc[here, "hours"] * 1.3).astype(int)
    return f


def _half_hours(f: Frames) -> Frames:
    f = _copy(f)
    pick = np.random.default_rng(1).random(len(f["cadres"])) < 0.1
    f["cadres"].loc[pick, "hours"] = np.maximum(1, f["cadres"].loc[pick, "hours"] // 2)
    return f


def _surge(f: Frames) -> Frames:
    f = _copy(f)
    cad = f["cadres"]
    away = np.random.default_rng(2).random(len(cad)) < 0.05
    cad = cad[~away].copy()
    cad["hours"] = np.ceil(cad["hours"] * 1.2).astype(int)
    f["cadres"] = cad
    return f


SCENARIOS: list[tuple[str, Callable[[Frames], Frames]]] = [
    ("the base again", _copy),
    ("demand +30 % in one district", _district_demand),
    ("10 % of cadres at half hours", _half_hours),
    ("5 % of cadres away, the rest +20 % hours", _surge),
]


def run(scale: float, seed: int = 0) -> list[dict[str, Any]]:
    """Plan each scenario cold and warm; prints a line each and returns the figures."""
    from matcher.inputs.dataset import dataset_from_frames
    from matcher.inputs.generate import generate
    from matcher.params import PlanParams
    from matcher.plans.planner import plan
    from matcher.solvers.columns import ColumnResult

    params = PlanParams(flow_solver="columns")
    plan(dataset_from_frames(generate(scale=0.01, seed=seed)), params)  # compile numba
    frames = generate(scale=scale, seed=seed)
    t0 = time.perf_counter()
    base = plan(dataset_from_frames(frames), params)
    print(f"scale {scale}, seed {seed}: base plan {time.perf_counter() - t0:.2f} s")
    rows = []
    for name, change in SCENARIOS:
        ds = dataset_from_frames(change(frames))
        cold = plan(ds, params)
        warm = plan(ds, params, warm_start=base)
        c, w = cold.solver, warm.solver
        assert isinstance(c, ColumnResult) and isinstance(w, ColumnResult)
        if abs(c.objective - w.objective) > 1e-6 * max(abs(c.objective), 1.0):
            raise SystemExit(f"{name}: warm objective {w.objective} against cold {c.objective}")
        row = {
            "scenario": name,
            "cold_seconds": cold.timings["solve"],
            "warm_seconds": warm.timings["solve"],
            "cold_rounds": c.rounds,
            "warm_rounds": w.rounds,
            "cold_pivots": c.pivots,
            "warm_pivots": w.pivots,
            "objective": w.objective,
        }
        rows.append(row)
        print(
            f"  {name:<42} cold {row['cold_seconds']:7.2f} s ({c.rounds:2d} rounds, "
            f"{c.pivots:9,} pivots)  warm {row['warm_seconds']:7.2f} s ({w.rounds:2d} rounds, "
            f"{w.pivots:9,} pivots)  {row['warm_seconds'] / row['cold_seconds']:.2f} x; "
            f"objective {w.objective:,.4f} both"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    run(args.scale, args.seed)


if __name__ == "__main__":
    main()
