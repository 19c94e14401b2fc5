"""Integer rules: the planner beside HiGHS's MIP solver alone, and lead units against the
published optima of the generalized assignment problem.

1. Labour with ``min_hours`` (60 % of the hours) on a third of the demands and
   ``max_communities_per_cadre`` of 1 and 2, on three cities of the project's generator
   (60, 100 and 150 communities; ``matcher.inputs.generate``). The planner at
   ``--planner-seconds`` (30) beside HiGHS alone (scipy's HiGHS MIP on the identical
   model, cold) at the same time and at ``--highs-seconds`` (120). Target: the planner
   at least as good as HiGHS at 120 s, with a reported gap of at most 1 %.
2. Lead units on the published instances (``--instances DIR``; see
   ``benchmarks/gap_instances.py`` for where they come from): Chu-Beasley / Yagiura types
   C, D and E at 5-20 units x 100-200 demands, and OR-Library's gap1-gap12 (sixty
   maximisation instances, turned into minimisation). The planner's cost at 30 s, its
   bound, and the published optimum. Target: within 0.5 % of it.

Each line prints objective and bound; a verdict closes each part.

    .venv/bin/python benchmarks/bench_integer.py [--planner-seconds 30] [--highs-seconds 120]
        [--instances DIR] [--only labour|leads] [--names d20100 e20200 ...]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from gap_instances import PUBLISHED, minimisation_value, read_instance
from scipy.optimize import Bounds, LinearConstraint, milp

import matcher
from matcher.inputs.dataset import Dataset, dataset_from_frames
from matcher.inputs.generate import GeneratorParams, generate
from matcher.model.arcs import build_problem
from matcher.model.rules import active_rules
from matcher.model.suppliers import CADRE
from matcher.params import PlanParams

CITIES = ((60, 1), (100, 2), (150, 3))
"""Communities and seed of each generated city."""


def labour_city(communities: int, seed: int) -> Dataset:
    """A city of the project's generator with about ``communities`` communities, and
    ``min_hours`` of 60 % of the hours (rounded up) on a third of the demands."""
    tables = generate(scale=communities / GeneratorParams().n_communities, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    demands = tables["demands"].copy()
    on = rng.random(len(demands)) < 1 / 3
    demands["min_hours"] = pd.Series(np.ceil(0.6 * demands["hours"])).where(on)
    tables["demands"] = demands
    return dataset_from_frames(tables, f"city-{communities}-{seed}")


def highs_labour(ds: Dataset, params: PlanParams, seconds: float) -> dict[str, Any]:
    """The same labour model as a MIP for HiGHS: x per arc, y per min_hours demand, z per
    (cadre, community) for the community limit."""
    problem = build_problem(ds, params)
    rules = active_rules(ds, params)
    a = problem.arcs
    cap = np.minimum(problem.suppliers.hours[a.supplier], problem.demand_hours[a.demand])
    idx = np.flatnonzero((a.weight > 0) & (cap > 0))
    n_x = len(idx)
    mins = rules.min_hours
    ydem = [d for d in np.flatnonzero(mins > 0) if (a.demand[idx] == d).any()]
    comm = problem.demand_community[a.demand[idx]]
    sup = a.supplier[idx]
    cadre = problem.suppliers.kind[sup] == CADRE
    pairs = sorted(set(zip(sup[cadre].tolist(), comm[cadre].tolist(), strict=True)))
    zi = {p: n_x + len(ydem) + i for i, p in enumerate(pairs)}
    n = n_x + len(ydem) + len(pairs)
    rows, cols, vals, lo, hi = [], [], [], [], []

    def row(entries: list[tuple[int, float]], low: float, high: float) -> None:
        r = len(lo)
        for c, v in entries:
            rows.append(r)
            cols.append(c)
            vals.append(v)
        lo.append(low)
        hi.append(high)

    for s in np.unique(sup):
        row([(j, 1.0) for j in np.flatnonzero(sup == s)], -np.inf, problem.suppliers.hours[s])
    dem = a.demand[idx]
    for d in np.unique(dem):
        row([(j, 1.0) for j in np.flatnonzero(dem == d)], -np.inf, problem.demand_hours[d])
    for i, d in enumerate(ydem):
        js = np.flatnonzero(dem == d)
        y = n_x + i
        row([(j, 1.0) for j in js] + [(y, -float(mins[d]))], 0, np.inf)
        row([(j, 1.0) for j in js] + [(y, -float(problem.demand_hours[d]))], -np.inf, 0)
    limit = params.max_communities_per_cadre
    if limit is not None:
        for j in np.flatnonzero(cadre):
            row([(j, 1.0), (zi[(sup[j], comm[j])], -float(cap[idx[j]]))], -np.inf, 0)
        by_s: dict[int, list[int]] = {}
        for (s, _c), z in zi.items():
            by_s.setdefault(s, []).append(z)
        for zs in by_s.values():
            row([(z, 1.0) for z in zs], -np.inf, limit)
    mat = sp.csr_matrix((vals, (rows, cols)), shape=(len(lo), n))
    c = np.zeros(n)
    c[:n_x] = -a.weight[idx]
    upper = np.concatenate((cap[idx], np.ones(n - n_x)))
    t0 = time.perf_counter()
    res = milp(
        c,
        constraints=LinearConstraint(mat, lo, hi),
        integrality=np.ones(n),
        bounds=Bounds(np.zeros(n), upper),
        options={"time_limit": seconds, "disp": False},
    )
    objective = -float(res.fun) if res.x is not None else float("nan")
    bound = -float(res.mip_dual_bound) if res.mip_dual_bound is not None else float("nan")
    return {
        "objective": objective,
        "bound": bound,
        "seconds": time.perf_counter() - t0,
        "arcs": n_x,
    }


def gap_tables(
    cost: np.ndarray, effort: np.ndarray, capacity: np.ndarray
) -> dict[str, pd.DataFrame]:
    """A GAP (units x demands cost and effort matrices) as a dataset's tables."""
    m, n = cost.shape
    comms = pd.DataFrame(
        {
            "community_id": ["C0"],
            "name": ["C0"],
            "district": ["Gulou"],
            "street": ["S"],
            "lat": [26.07],
            "lon": [119.3],
            "households": [1000],
        }
    )
    units = pd.DataFrame(
        {
            "unit_id": [f"U{i:02d}" for i in range(m)],
            "name": [f"Unit {i}" for i in range(m)],
            "kind": "government",
            "level": "district",
            "district": "Gulou",
            "lat": 26.07,
            "lon": 119.3,
            "lead_capacity": capacity,
        }
    )
    demands = pd.DataFrame(
        {
            "demand_id": [f"D{j:03d}" for j in range(n)],
            "community_id": "C0",
            "category": "coordination",
            "hours": 0,
            "priority": 3,
        }
    )
    opts = pd.DataFrame(
        [
            {
                "demand_id": f"D{j:03d}",
                "unit_id": f"U{i:02d}",
                "effort": int(effort[i, j]),
                "cost": int(cost[i, j]),
            }
            for j in range(n)
            for i in range(m)
        ]
    )
    cadres = pd.DataFrame(
        {
            "cadre_id": ["K0"],
            "unit_id": ["U00"],
            "skills": ["coordination"],
            "hours": [0],
            "home_community_id": [""],
            "lat": [""],
            "lon": [""],
        }
    )
    return {
        "communities": comms,
        "units": units,
        "demands": demands,
        "cadres": cadres,
        "lead_options": opts,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--planner-seconds", type=float, default=30.0)
    ap.add_argument("--highs-seconds", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--instances", help="folder of GAP instance files (gap_instances.py)")
    ap.add_argument("--only", choices=("labour", "leads"))
    ap.add_argument("--names", nargs="*", help="only these instances (file names)")
    args = ap.parse_args()
    if args.only != "leads":
        labour(args)
    if args.only != "labour":
        if args.instances is None:
            ap.error("lead units need --instances DIR (see benchmarks/gap_instances.py)")
        leads(args)


def labour(args: argparse.Namespace) -> None:
    print("labour with min_hours (60 % of the hours, a third of the demands)")
    worst_gap, worst_ratio = 0.0, math.inf
    for communities, seed in CITIES:
        ds = labour_city(communities, seed)
        for m in (1, 2):
            params = PlanParams(
                time_limit_s=args.planner_seconds, max_communities_per_cadre=m, seed=args.seed
            )
            t0 = time.perf_counter()
            p = matcher.plan(ds, params)
            ours = time.perf_counter() - t0
            same = highs_labour(ds, params, args.planner_seconds)
            long = highs_labour(ds, params, args.highs_seconds)
            worst_gap = max(worst_gap, p.solver.gap)
            worst_ratio = min(worst_ratio, p.objective / long["objective"])
            print(
                f"  {communities} communities, limit {m}, {same['arcs']:,} arcs | planner "
                f"{p.objective:,.2f} (bound {p.solver.bound:,.2f}, gap {100 * p.solver.gap:.2f}%, "
                f"{ours:.1f} s; repaired start {p.kpis['start_objective']:,.2f}) | HiGHS alone "
                f"{args.planner_seconds:.0f} s {_highs(same)} | {args.highs_seconds:.0f} s "
                f"{_highs(long)} | planner/HiGHS {args.highs_seconds:.0f} s "
                f"{p.objective / long['objective']:.6f}",
                flush=True,
            )
    print(
        f"  worst gap {100 * worst_gap:.2f}% (target 1 %); worst planner/HiGHS "
        f"{args.highs_seconds:.0f} s {worst_ratio:.6f} (target at least 1)"
    )


def _highs(run: dict[str, Any]) -> str:
    gap = 100 * (run["bound"] - run["objective"]) / abs(run["bound"])
    return f"{run['objective']:,.2f} (bound {run['bound']:,.2f}, gap {gap:.2f}%)"


def leads(args: argparse.Namespace) -> None:
    print(f"lead units on published GAP instances, planner at {args.planner_seconds:.0f} s")
    folder = Path(args.instances)
    names = args.names or [n for n in PUBLISHED if (folder / n).exists()]
    worst, proven, seen = 0.0, 0, 0
    for name in names:
        sense, published, _ = PUBLISHED[name]
        raw = read_instance(folder / name)
        assert not isinstance(raw, list), f"{name}: one instance a file"
        own, effort, capacity = raw  # costs as the file gives them (profits for "max")
        cost = own if sense == "min" else own.max() - own
        target = published if sense == "min" else minimisation_value(published, own)
        t0 = time.perf_counter()
        p = matcher.plan(
            dataset_from_frames(gap_tables(cost, effort, capacity)),
            PlanParams(time_limit_s=args.planner_seconds, seed=args.seed),
        )
        ours = time.perf_counter() - t0
        lead = p.kpis["leads"]
        above = 100 * (lead["objective"] - target) / target
        worst = max(worst, above)
        proven += lead["status"] == "optimal"
        seen += 1
        shown = _sense(sense, lead["objective"], own)
        bound = _sense(sense, lead["bound"], own)
        kind = "bound" if sense == "min" else "upper bound"
        print(
            f"  {name} ({sense}): planner {shown:,.0f} ({kind} {bound:,.1f}, {lead['status']}, "
            f"{ours:.1f} s) | published {published:,.0f} | above {above:.3f}%",
            flush=True,
        )
    print(
        f"  {seen} instances: worst {worst:.3f}% above the published optimum (target 0.5 %); "
        f"{proven} proven optimal"
    )


def _sense(sense: str, cost: float, own: np.ndarray) -> float:
    """A minimisation cost in the instance's own sense (profit for ``max``; ``own``: the
    file's profits)."""
    return cost if sense == "min" else own.shape[1] * own.max() - cost


if __name__ == "__main__":
    main()
