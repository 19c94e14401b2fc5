"""City-scale planning: wall time and peak memory per stage, with baselines side by side.

For each scale of the seeded generator (1.0 = the article's Fuzhou: 3,847 communities,
79,000 cadres) this runs, in a fresh process so that peak RSS is the run's own:

- the planner, stage by stage (generate is not timed; load, build, solve, tables, write),
  with its objective, bound and gap;
- the greedy baseline (highest priority first, nearest tied supplier: a planner with a
  spreadsheet) on the same candidate arcs, and the optimum's gain over it;
- the plain full-arc min-cost flow (OR-Tools over every candidate arc);
- at scales up to --lp-max-scale, a general LP solver (HiGHS, via scipy) on the same model,
  with the ratio of its time to the planner's solve and the agreement of the objectives.

    .venv/bin/python benchmarks/bench_city.py --scales 0.02 0.05 0.1

Targets (issue "City scale in seconds"): scale 0.1 within 2 s, scale 1.0 within 10 s and
2 GiB, scale 5 within 90 s and 8 GiB, end to end, on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
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


def child(folder: str, out: str, lp_max_scale: float, scale: float) -> dict[str, Any]:
    """One measured run; prints a JSON line of figures."""
    t = time.perf_counter()
    stages: dict[str, tuple[float, float]] = {}

    def mark(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        stages[name] = (now - t, _peak_mib())
        t = now

    from matcher.dataset import load_dataset
    from matcher.eligibility import build_problem
    from matcher.plan import plan
    from matcher.solvers.flow import solve_flow
    from matcher.solvers.greedy import solve_greedy

    mark("import")
    ds = load_dataset(folder)
    mark("load")
    p = plan(ds)
    for name in ("build", "solve", "tables"):
        stages[name] = (p.timings[name], _peak_mib())
    t = time.perf_counter()
    p.write(out)
    mark("write")
    result: dict[str, Any] = {
        "scale": scale,
        "stages": stages,
        "arcs": p.kpis["candidate_arcs"],
        "objective": p.objective,
        "bound": p.solver.bound,
        "gap": p.solver.gap,
        "peak_mib": _peak_mib(),
    }
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.02, 0.05, 0.1])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lp-max-scale", type=float, default=0.05, help="run HiGHS up to here")
    ap.add_argument(CHILD, nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        folder, out, scale = args.child
        print(json.dumps(child(folder, out, args.lp_max_scale, float(scale))))
        return
    from matcher.generate import generate
    from matcher.io import write_tables

    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as tmp:
            write_tables(generate(scale=scale, seed=args.seed), Path(tmp) / "ds")
            cmd = [sys.executable, __file__, "--lp-max-scale", str(args.lp_max_scale)]
            cmd += [CHILD, str(Path(tmp) / "ds"), str(Path(tmp) / "plan"), str(scale)]
            t0 = time.perf_counter()
            run = subprocess.run(cmd, capture_output=True, text=True, check=True)
            wall = time.perf_counter() - t0
        r = json.loads(run.stdout.strip().splitlines()[-1])
        end_to_end = sum(v[0] for k, v in r["stages"].items() if k != "import")
        print(f"\nscale {scale:g}: {r['arcs']:,} candidate arcs; process wall {wall:.1f} s")
        for name, (sec, mib) in r["stages"].items():
            print(f"  {name:<8} {sec:8.3f} s   peak RSS {mib:8.0f} MiB")
        print(f"  end to end (load..write) {end_to_end:.2f} s, peak RSS {r['peak_mib']:.0f} MiB")
        print(
            f"  planner     objective {r['objective']:,.4f}  bound {r['bound']:,.4f}  "
            f"gap {r['gap']:.1e}"
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
            f"planner solve / plain = {r['stages']['solve'][0] / pf['seconds']:.2f}x"
        )
        if "lp" in r:
            lp = r["lp"]
            rel = abs(lp["objective"] - r["objective"]) / max(abs(lp["objective"]), 1.0)
            print(
                f"  HiGHS LP    objective {lp['objective']:,.4f}  ({lp['seconds']:.2f} s); "
                f"relative difference {rel:.1e}; "
                f"HiGHS / planner solve = {lp['seconds'] / r['stages']['solve'][0]:.0f}x"
            )


if __name__ == "__main__":
    main()
