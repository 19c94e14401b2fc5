"""Integer rules: the planner's CP-SAT models against HiGHS's MIP solver on the same model.

Two families, on this 2-core machine:

1. labour with ``min_hours`` on a third of the demands and ``max_communities_per_cadre``
   of 1 and 2, about 60 communities, 500 suppliers and 5,000 candidate arcs. Target: a
   plan at least as good as HiGHS reaches in 120 s, within 30 s, with a gap under 1 %.
   The planner runs on HiGHS (its default labour engine, started from the repaired
   flow) and on CP-SAT; "HiGHS alone" is scipy's HiGHS MIP on the same model, cold.
2. lead units (generalized assignment) with 10-20 units and 100-200 demands, tight
   capacities and effort that differs by unit (Martello-Toth types C and D). Target: the
   proven optimum or within 0.5 % of it in 30 s.

Each line prints the planner's objective, bound, gap and time beside HiGHS's objective,
bound and time on the identical model, and the ratio of the two objectives. For lead
units the baselines are HiGHS alone for the same 30 s and a long HiGHS run (the
reference: its incumbent is the best cost known, its bound a proven lower bound on the
optimum), so "within 0.5 % of the optimum" is judged against the optimum's bracket.

    .venv/bin/python benchmarks/bench_integer.py [--planner-seconds 30] [--highs-seconds 120]
        [--reference-seconds 600] [--orlib gapd.txt] [--only labour|leads]

``--orlib FILE`` also runs the instances of an OR-Library GAP file (``gapa.txt`` ..
``gapd.txt``, minimisation; not shipped here) against their published optima.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

import matcher
from matcher.inputs.dataset import Dataset, dataset_from_frames
from matcher.model.arcs import build_problem
from matcher.model.rules import active_rules
from matcher.model.suppliers import CADRE
from matcher.params import PlanParams

CATS = ("elderly_care", "legal_aid", "parking", "digital_help", "health_services", "child_care")


def labour_city(seed: int) -> Dataset:
    """About 60 communities, 500 suppliers, 5,000 candidate arcs; min_hours on a third."""
    rng = np.random.default_rng(seed)
    n_c, n_u, n_k, n_s = 60, 20, 480, 20
    lat0, lon0, km = 26.07, 119.30, 1 / 111.0
    c_lat = lat0 + rng.uniform(-6, 6, n_c) * km
    c_lon = lon0 + rng.uniform(-6, 6, n_c) * km
    comms = pd.DataFrame(
        {
            "community_id": [f"C{i:02d}" for i in range(n_c)],
            "name": [f"Community {i}" for i in range(n_c)],
            "district": "Gulou",
            "street": [f"S{i % 8}" for i in range(n_c)],
            "lat": c_lat,
            "lon": c_lon,
            "households": 2000,
        }
    )
    units = pd.DataFrame(
        {
            "unit_id": [f"U{i:02d}" for i in range(n_u)],
            "name": [f"Unit {i}" for i in range(n_u)],
            "kind": "government",
            "level": "district",
            "district": "Gulou",
            "lat": lat0 + rng.uniform(-6, 6, n_u) * km,
            "lon": lon0 + rng.uniform(-6, 6, n_u) * km,
        }
    )
    home = rng.integers(0, n_c, n_k)
    cadres = pd.DataFrame(
        {
            "cadre_id": [f"K{i:03d}" for i in range(n_k)],
            "unit_id": [f"U{i:02d}" for i in rng.integers(0, n_u, n_k)],
            "skills": [
                ";".join(rng.choice(CATS, size=rng.integers(1, 3), replace=False))
                for _ in range(n_k)
            ],
            "hours": rng.integers(4, 16, n_k),
            "home_community_id": [f"C{i:02d}" for i in home],
            "lat": "",
            "lon": "",
        }
    )
    resources = pd.DataFrame(
        {
            "resource_id": [f"R{i:02d}" for i in range(n_s)],
            "unit_id": [f"U{i:02d}" for i in rng.integers(0, n_u, n_s)],
            "kind": "service",
            "categories": [str(rng.choice(CATS)) for _ in range(n_s)],
            "amount": rng.integers(20, 60, n_s),
            "range_km": 2.0,
        }
    )
    rows = []
    for c in range(n_c):
        for k in rng.choice(len(CATS), size=3, replace=False):
            hours = int(rng.integers(8, 40))
            rows.append(
                {
                    "demand_id": f"D{len(rows):03d}",
                    "community_id": f"C{c:02d}",
                    "category": CATS[k],
                    "hours": hours,
                    "priority": int(rng.integers(1, 6)),
                    "min_hours": int(rng.integers(hours // 3, hours // 2 + 2))
                    if rng.random() < 1 / 3
                    else "",
                }
            )
    tables = {
        "communities": comms,
        "units": units,
        "cadres": cadres,
        "demands": pd.DataFrame(rows),
        "resources": resources,
    }
    # Run with max_travel_km=3.3: about 5,000 candidate arcs, the size the target names.
    return dataset_from_frames(tables, f"labour-city-{seed}")


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


def gap_instance(kind: str, m: int, n: int, seed: int) -> dict[str, pd.DataFrame]:
    """Martello-Toth GAP types C and D as a dataset with lead_options.csv."""
    rng = np.random.default_rng(seed)
    effort = rng.integers(5, 26, (m, n)) if kind == "C" else rng.integers(1, 101, (m, n))
    if kind == "C":
        cost = rng.integers(10, 51, (m, n))
    else:
        cost = 111 - effort + rng.integers(-10, 11, (m, n))
    capacity = np.floor(0.8 * effort.sum(axis=1) / m)
    return gap_tables(cost, effort, capacity)


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


def highs_gap(tables: dict[str, pd.DataFrame], seconds: float) -> dict[str, Any]:
    opts = tables["lead_options"]
    units = list(tables["units"]["unit_id"])
    demands = list(dict.fromkeys(opts["demand_id"]))
    n = len(opts)
    rows, cols, vals, lo, hi = [], [], [], [], []
    for r, d in enumerate(demands):
        for j in np.flatnonzero((opts["demand_id"] == d).to_numpy()):
            rows.append(r)
            cols.append(j)
            vals.append(1.0)
        lo.append(1)
        hi.append(1)
    caps = tables["units"].set_index("unit_id")["lead_capacity"]
    effort = opts["effort"].to_numpy(float)
    for u in units:
        r = len(lo)
        for j in np.flatnonzero((opts["unit_id"] == u).to_numpy()):
            rows.append(r)
            cols.append(j)
            vals.append(float(effort[j]))
        lo.append(-np.inf)
        hi.append(float(caps[u]))
    mat = sp.csr_matrix((vals, (rows, cols)), shape=(len(lo), n))
    t0 = time.perf_counter()
    res = milp(
        opts["cost"].to_numpy(float),
        constraints=LinearConstraint(mat, lo, hi),
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
        options={"time_limit": seconds, "disp": False},
    )
    objective = float(res.fun) if res.x is not None else float("nan")
    bound = float(res.mip_dual_bound) if res.mip_dual_bound is not None else float("nan")
    return {"objective": objective, "bound": bound, "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--planner-seconds", type=float, default=30.0)
    ap.add_argument("--highs-seconds", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reference-seconds", type=float, default=600.0)
    ap.add_argument("--orlib", help="an OR-Library GAP file (gapc.txt, gapd.txt, ...)")
    ap.add_argument("--only", choices=("labour", "leads"))
    ap.add_argument("--types", help="GAP types to run, e.g. D (default C and D)")
    ap.add_argument("--all-sizes", action="store_true", help="also D 5x100 ... 20x100")
    args = ap.parse_args()
    limit = args.planner_seconds
    if args.only != "leads":
        labour(args, limit)
    if args.only != "labour":
        leads(args)


def labour(args: argparse.Namespace, limit: float) -> None:
    print("labour with min_hours (1/3 of demands) and max_communities_per_cadre")
    ds = labour_city(args.seed)
    for m in (1, 2):
        h = None
        for engine in ("highs", "cpsat"):
            params = PlanParams(
                max_travel_km=3.3,
                time_limit_s=limit,
                max_communities_per_cadre=m,
                seed=args.seed,
                integer_solver=engine,
            )
            t0 = time.perf_counter()
            p = matcher.plan(ds, params)
            ours = time.perf_counter() - t0
            if h is None:
                h = highs_labour(ds, params, args.highs_seconds)
            print(
                f"  limit {m}, planner on {engine:<5}: {h['arcs']:,} arcs | planner "
                f"{p.objective:,.3f} (bound {p.solver.bound:,.3f}, gap "
                f"{100 * p.solver.gap:.3f}%, {p.status}, {ours:.1f} s; start "
                f"{p.kpis['start_objective']:,.3f}) | HiGHS alone {h['objective']:,.3f} (bound "
                f"{h['bound']:,.3f}, {h['seconds']:.1f} s) | planner/HiGHS "
                f"{p.objective / h['objective']:.6f}"
            )


# Published optima of OR-Library's GAP types C and D (minimisation), in file order
# (5x100, 5x200, 10x100, 10x200, 20x100, 20x200).
PUBLISHED = {
    "gapc": (1931, 3456, 1402, 2806, 1243, 2391),
    "gapd": (6353, 12742, 6347, 12430, 6185, 12235),
}


def read_orlib(path: Path) -> list[tuple[str, dict[str, pd.DataFrame]]]:
    """The instances of an OR-Library GAP file as datasets with lead_options.csv."""
    numbers = iter(int(v) for v in path.read_text().split())
    out = []
    for _ in range(next(numbers)):
        m, n = next(numbers), next(numbers)
        cost = np.array([next(numbers) for _ in range(m * n)]).reshape(m, n)
        effort = np.array([next(numbers) for _ in range(m * n)]).reshape(m, n)
        capacity = np.array([next(numbers) for _ in range(m)], dtype=float)
        out.append((f"{path.stem} {m}x{n}", gap_tables(cost, effort, capacity)))
    return out


def leads(args: argparse.Namespace) -> None:
    limit = args.planner_seconds
    print("lead units (generalized assignment, Martello-Toth types C and D)")
    sizes = [("C", 10, 100), ("C", 20, 200), ("D", 10, 100), ("D", 20, 200)]
    if args.all_sizes:  # OR-Library's sizes of type D
        sizes += [("D", 5, 100), ("D", 5, 200), ("D", 10, 200), ("D", 20, 100)]
    cases: list[tuple[str, dict[str, pd.DataFrame], float | None]] = [
        (f"type {kind} {m}x{n}", gap_instance(kind, m, n, args.seed), None)
        for kind, m, n in sizes
        if args.types is None or kind in args.types
    ]
    if args.orlib:
        path = Path(args.orlib)
        known = PUBLISHED.get(path.stem, ())
        for i, (name, tables) in enumerate(read_orlib(path)):
            cases.append((name, tables, float(known[i]) if i < len(known) else None))
    for name, tables, published in cases:
        t0 = time.perf_counter()
        p = matcher.plan(dataset_from_frames(tables), PlanParams(time_limit_s=limit))
        ours = time.perf_counter() - t0
        lead = p.kpis["leads"]
        same = highs_gap(tables, limit)
        line = (
            f"  {name}: planner {lead['objective']:,.0f} (bound {lead['bound']:,.1f}, "
            f"{lead['status']}, {ours:.1f} s) | HiGHS alone {limit:.0f} s {same['objective']:,.0f}"
            f" | planner/HiGHS {lead['objective'] / same['objective']:.4f}"
        )
        if published is not None:
            low = high = published
            line += f" | published optimum {published:,.0f}"
        elif lead["status"] == "optimal":
            low = high = lead["objective"]
        else:
            ref = highs_gap(tables, args.reference_seconds)
            low = max(lead["bound"], ref["bound"])
            high = min(ref["objective"], lead["objective"])
            line += (
                f" | reference HiGHS {args.reference_seconds:.0f} s {ref['objective']:,.0f} "
                f"(bound {ref['bound']:,.1f}): optimum in [{low:,.0f}, {high:,.0f}]"
            )
        worst = 100 * (lead["objective"] - low) / low
        best = 100 * (lead["objective"] - high) / high
        verdict = "yes" if worst <= 0.5 else "yes, against the best known" if best <= 0.5 else "NO"
        above = f"{worst:.3f}%" if f"{worst:.3f}" == f"{best:.3f}" else f"{best:.3f}%..{worst:.3f}%"
        print(f"{line} | planner above optimum {above}; within 0.5%: {verdict}", flush=True)


if __name__ == "__main__":
    main()
