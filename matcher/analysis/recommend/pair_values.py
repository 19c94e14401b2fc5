"""What a candidate pairing is worth alone: the exact gain by re-solving the flow with its
arcs, or the proxy estimate from the current optimal plan's shadow prices.
"""

from __future__ import annotations

import numpy as np

from matcher.analysis.recommend.pair_candidates import Candidates, with_arcs
from matcher.model.arcs import Problem
from matcher.model.arrays import csr
from matcher.solvers.flow import solve_flow

__all__ = ["exact_gains", "proxy_values"]


def exact_gains(
    problem: Problem, cands: Candidates, base_flow: np.ndarray, which: np.ndarray
) -> tuple[np.ndarray, list[dict[str, int]]]:
    """The true gain of adding each candidate in ``which`` alone, by re-solving the flow.

    Returns the gains (0 for candidates not in ``which`` or adding no arc) and, per
    candidate, the hours its new arcs carry into demands unmet before, by category.
    Adding arcs never lowers the optimum, so a gain below 0 can only be the solver's
    rounding (below 1e-6 per hour) and is reported as 0.
    """
    gains = np.zeros(len(cands))
    served: list[dict[str, int]] = [{} for _ in range(len(cands))]
    ptr, order = csr(cands.arc_pair, np.arange(len(cands.arc_pair)), len(cands))
    base_objective = float(np.dot(base_flow, problem.arcs.weight))
    covered = np.bincount(problem.arcs.demand, weights=base_flow, minlength=len(problem.demand_ids))
    unmet = covered < problem.demand_hours
    for k in which.tolist():
        idx = order[ptr[k] : ptr[k + 1]]
        if len(idx) == 0:
            continue
        aug = with_arcs(problem, cands.arc_supplier[idx], cands.arc_demand[idx],
                        cands.arc_km[idx], cands.arc_weight[idx])  # fmt: skip
        result = solve_flow(aug)
        gains[k] = max(result.objective - base_objective, 0.0)
        new_flow = result.flow[len(problem.arcs) :]
        by_cat: dict[str, int] = {}
        for d, h in zip(cands.arc_demand[idx].tolist(), new_flow.tolist(), strict=True):
            if h > 0 and unmet[d]:
                cat = problem.categories[problem.demand_category[d]]
                by_cat[cat] = by_cat.get(cat, 0) + int(h)
        served[k] = dict(sorted(by_cat.items()))
    return gains, served


def proxy_values(
    problem: Problem, cands: Candidates, flow: np.ndarray
) -> tuple[np.ndarray, list[dict[str, int]]]:
    """Estimated gain of each candidate alone, from the current optimal ``flow``.

    Each new arc's hour is worth its score minus the supplier's shadow price (0 when the
    supplier has hours left, else the lowest score among the arcs it is used on: what
    its last hour earns now) minus the demand's (0 when it is short, else the lowest
    score among the hours it gets: what a better hour would replace). Hours are poured,
    best worth first, into the community's unmet hours (or, for a met demand, its hours),
    each supplier giving at most its hours. Returns the values and the unmet hours
    served by category.
    """
    price, dem_price, resid = _shadow_prices(problem, flow)
    room = np.where(resid > 0, resid, problem.demand_hours)
    worth = cands.arc_weight - price[cands.arc_supplier] - dem_price[cands.arc_demand]
    useful = (worth > 0) & (room[cands.arc_demand] > 0)
    values = np.zeros(len(cands))
    served: list[dict[str, int]] = [{} for _ in range(len(cands))]
    idx = np.flatnonzero(useful)
    # Best worth first within each candidate; ties in file order of supplier, demand.
    idx = idx[np.lexsort((cands.arc_demand[idx], cands.arc_supplier[idx], -worth[idx],
                          cands.arc_pair[idx]))]  # fmt: skip
    start = 0
    while start < len(idx):
        k = int(cands.arc_pair[idx[start]])
        end = start
        while end < len(idx) and cands.arc_pair[idx[end]] == k:
            end += 1
        values[k], served[k] = _pour(problem, cands, idx[start:end], worth, room, resid)
        start = end
    return values, served


def _shadow_prices(problem: Problem, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The suppliers' and the demands' shadow prices in the optimal ``flow``, and each
    demand's hours less those covered."""
    arcs = problem.arcs
    s = problem.suppliers
    used = np.bincount(arcs.supplier, weights=flow, minlength=len(s)).astype(np.int64)
    left = s.hours - used
    price = np.zeros(len(s))
    busy = flow > 0
    if busy.any():
        low = np.full(len(s), np.inf)
        np.minimum.at(low, arcs.supplier[busy], arcs.weight[busy])
        full = (left <= 0) & np.isfinite(low)
        price[full] = low[full]
    covered = np.bincount(arcs.demand, weights=flow, minlength=len(problem.demand_ids))
    resid = problem.demand_hours - covered.astype(np.int64)
    # A met demand's shadow price: the lowest score among the hours it gets (a better
    # supplier would replace those); an unmet demand's is 0.
    dem_price = np.zeros(len(problem.demand_ids))
    if busy.any():
        low_d = np.full(len(problem.demand_ids), np.inf)
        np.minimum.at(low_d, arcs.demand[busy], arcs.weight[busy])
        met = (resid <= 0) & np.isfinite(low_d)
        dem_price[met] = low_d[met]
    return price, dem_price, resid


def _pour(
    problem: Problem,
    cands: Candidates,
    arcs: np.ndarray,
    worth: np.ndarray,
    room: np.ndarray,
    resid: np.ndarray,
) -> tuple[float, dict[str, int]]:
    """One candidate's value: its ``arcs`` (best worth first) poured into the demands'
    ``room``, each supplier giving at most its hours; and the unmet hours served by
    category."""
    s = problem.suppliers
    give: dict[int, int] = {}
    need: dict[int, int] = {}
    total = 0.0
    by_cat: dict[str, int] = {}
    for a in arcs.tolist():
        sp, d = int(cands.arc_supplier[a]), int(cands.arc_demand[a])
        h = min(give.setdefault(sp, int(s.hours[sp])), need.setdefault(d, int(room[d])))
        if h <= 0:
            continue
        give[sp] -= h
        need[d] -= h
        total += h * float(worth[a])
        if resid[d] > 0:
            cat = problem.categories[problem.demand_category[d]]
            by_cat[cat] = by_cat.get(cat, 0) + h
    return total, dict(sorted(by_cat.items()))
