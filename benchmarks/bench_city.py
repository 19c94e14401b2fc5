"""City-scale planning: wall time and peak memory per stage, with baselines side by side.

For each scale of the seeded generator (1.0 = the article's Fuzhou: 3,847 communities,
79,000 cadres) this runs, each in a fresh process so that peak RSS is the run's own:

- the planner with ``flow_solver="columns"`` (column generation over implicit arcs), stage
  by stage (generate is not timed; load, build, solve, tables, write), with its
  objective, bound and gap, its pricing rounds and the arcs it brought in;
- the planner with ``flow_solver="arcs"`` (every candidate arc listed, then OR-Tools), the
  same stages;
- the greedy baseline (highest priority first, nearest tied supplier: a planner with a
  spreadsheet) on the same candidate arcs, and the optimum's gain over it;
- the plain full-arc min-cost flow (OR-Tools over every candidate arc);
- at scales up to --lp-max-scale, a general LP solver (HiGHS, via scipy) on the same model,
  with the ratio of its time to the planner's solve and the agreement of the objectives.

    .venv/bin/python benchmarks/bench_city.py --scales 0.02 0.05 0.1
    .venv/bin/python benchmarks/bench_city.py --scales 1 --lp-max-scale 0 --skip-arcs-above 1
    .venv/bin/python benchmarks/bench_city.py --scales 1 --own-location-share 1 \
        --lp-max-scale 0 --skip-arcs-above 0.5

``--own-location-share 1`` gives every cadre coordinates of its own (the generator's
``explicit_location_share``, 0.05 by default): then no two cadres share a site, the
supplier classes stop aggregating, and each cadre has its own list of communities in
reach. Datasets made independently of the generator may well look like this.

Targets (issue "City scale in seconds"): scale 0.1 within 2 s, scale 1.0 within 10 s and
2 GiB, scale 5 within 90 s and 8 GiB, end to end, on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHILD = "--child"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(folder: str, out: str, lp_max_scale: float, scale: float, solver: str) -> dict[str, Any]:
    """One measured run of the planner with ``solver``; prints a JSON line of figures.

    With the ``arcs`` solver it also runs the baselines on the same candidate arcs.
    """
    t = time.perf_counter()
    stages: dict[str, tuple[float, float]] = {}

    def mark(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        stages[name] = (now - t, _peak_mib())
        t = now

    from matcher.inputs.dataset import load_dataset
    from matcher.model.arcs import build_problem
    from matcher.params import PlanParams
    from matcher.plans.planner import plan
    from matcher.solvers.flow import solve_flow
    from matcher.solvers.greedy import solve_greedy

    mark("import")
    ds = load_dataset(folder)
    mark("load")
    p = plan(ds, PlanParams(flow_solver=solver))
    for name in ("build", "solve", "tables"):
        stages[name] = (p.timings[name], _peak_mib())
    t = time.perf_counter()
    p.write(out)
    mark("write")
    result: dict[str, Any] = {
        "scale": scale,
        "solver": solver,
        "stages": stages,
        "arcs": p.kpis["candidate_arcs"],
        "objective": p.objective,
        "bound": p.solver.bound,
        "gap": p.solver.gap,
        "peak_mib": _peak_mib(),
        "columns": p.kpis.get("column_generation"),
        "solve_split": {
            k: p.timings[k] for k in ("solve_simplex", "solve_pricing") if k in p.timings
        },
    }
    if solver != "arcs":
        return result
    problem = build_problem(ds)
    t0 = time.perf_counter()
    _, greedy = solve_greedy(problem)
    result["greedy"] = {"objective": greedy, "seconds": time.perf_counter() - t0}
    t0 = time.perf_counter()
    plain = solve_flow(problem)
    result["plain_flow"] = {"objective": plain.objective, "seconds": time.perf_counter() - t0}
    if scale <= lp_max_scale:
        result["lp"] = _highs(problem)
    return result


def _highs(problem: Any) -> dict[str, Any]:
    import numpy as np
    import scipy.sparse as sp
    from scipy.optimize import linprog

    a = problem.arcs
    keep = a.weight > 0
    s, d, w = a.supplier[keep], a.demand[keep], a.weight[keep]
    n_s, n = len(problem.suppliers), len(s)
    rows = np.concatenate((s, n_s + d))
    cols = np.concatenate((np.arange(n), np.arange(n)))
    mat = sp.csr_matrix((np.ones(2 * n), (rows, cols)), shape=(n_s + len(problem.demand_ids), n))
    rhs = np.concatenate((problem.suppliers.hours, problem.demand_hours)).astype(float)
    t0 = time.perf_counter()
    res = linprog(-w, A_ub=mat, b_ub=rhs, bounds=(0, None), method="highs")
    return {"objective": -float(res.fun), "seconds": time.perf_counter() - t0, "status": res.status}


def _run(folder: Path, out: Path, scale: float, solver: str, lp_max_scale: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--lp-max-scale", str(lp_max_scale)]
    cmd += [CHILD, str(folder), str(out), str(scale), solver]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, check=True)
    r: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    r["process_wall"] = time.perf_counter() - t0
    return r


def _print_run(r: dict[str, Any]) -> float:
    end_to_end = sum(v[0] for k, v in r["stages"].items() if k != "import")
    extra = ""
    if r.get("columns"):
        cg = r["columns"]
        extra = f"; {cg['rounds']} pricing rounds, {cg['columns']:,} arcs brought in"
    print(f"  [{r['solver']}] process wall {r['process_wall']:.1f} s{extra}")
    for name, (sec, mib) in r["stages"].items():
        print(f"    {name:<8} {sec:8.3f} s   peak RSS {mib:8.0f} MiB")
        split = r.get("solve_split")
        if name == "solve" and split:
            print(
                f"      of which network simplex {split['solve_simplex']:.3f} s "
                f"({r['columns']['pivots']:,} pivots), pricing {split['solve_pricing']:.3f} s"
            )
    print(f"    end to end (load..write) {end_to_end:.2f} s, peak RSS {r['peak_mib']:.0f} MiB")
    print(f"    objective {r['objective']:,.4f}  bound {r['bound']:,.4f}  gap {r['gap']:.1e}")
    return end_to_end


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.02, 0.05, 0.1])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lp-max-scale", type=float, default=0.05, help="run HiGHS up to here")
    ap.add_argument(
        "--skip-arcs-above",
        type=float,
        default=float("inf"),
        help="above this scale, skip the arcs solver and its baselines (they need ~4 GB "
        "and minutes at scale 1)",
    )
    ap.add_argument(
        "--own-location-share",
        type=float,
        default=None,
        help="share of cadres with coordinates of their own (the generator's "
        "explicit_location_share; default 0.05)",
    )
    ap.add_argument(CHILD, nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        folder, out, scale, solver = args.child
        print(json.dumps(child(folder, out, args.lp_max_scale, float(scale), solver)))
        return
    from matcher.inputs.generate import generate
    from matcher.inputs.io import write_tables

    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, python {platform.python_version()}"
    )
    overrides: dict[str, float] = {}
    if args.own_location_share is not None:
        overrides["explicit_location_share"] = args.own_location_share
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as tmp:
            ds = Path(tmp) / "ds"
            write_tables(generate(scale=scale, seed=args.seed, **overrides), ds)
            own = f", own-location share {args.own_location_share:g}" if overrides else ""
            print(f"\nscale {scale:g}{own}")
            cols = _run(ds, Path(tmp) / "plan-c", scale, "columns", args.lp_max_scale)
            print(f"  {cols['arcs']:,} candidate arcs (never listed by the columns solver)")
            t_cols = _print_run(cols)
            if scale > args.skip_arcs_above:
                continue
            r = _run(ds, Path(tmp) / "plan-a", scale, "arcs", args.lp_max_scale)
            t_arcs = _print_run(r)
            rel = abs(r["objective"] - cols["objective"]) / max(abs(r["objective"]), 1.0)
            print(
                f"  columns / arcs end to end = {t_cols / t_arcs:.2f}x, peak RSS "
                f"{cols['peak_mib'] / r['peak_mib']:.2f}x; objectives differ by {rel:.1e}"
            )
        g = r["greedy"]
        gain = (r["objective"] - g["objective"]) / abs(g["objective"]) if g["objective"] else 0.0
        print(
            f"  greedy      objective {g['objective']:,.4f}  ({g['seconds']:.2f} s); "
            f"optimum is {100 * gain:+.2f}% better"
        )
        pf = r["plain_flow"]
        print(
            f"  plain flow  objective {pf['objective']:,.4f}  ({pf['seconds']:.2f} s); "
            f"columns solve / plain = {cols['stages']['solve'][0] / pf['seconds']:.2f}x"
        )
        if "lp" in r:
            lp = r["lp"]
            rel = abs(lp["objective"] - cols["objective"]) / max(abs(lp["objective"]), 1.0)
            print(
                f"  HiGHS LP    objective {lp['objective']:,.4f}  ({lp['seconds']:.2f} s); "
                f"relative difference {rel:.1e}; "
                f"HiGHS / columns solve = {lp['seconds'] / cols['stages']['solve'][0]:.1f}x"
            )


if __name__ == "__main__":
    main()
