"""The spreadsheet baseline: highest priority first, nearest tied supplier first.

This is what a planner does by hand, and what benchmarks compare the optimal plan with.
It is feasible (never over a supplier's or a demand's hours, only along candidate arcs)
but not optimal.
"""

from __future__ import annotations

import numpy as np

from matcher.model.arcs import Problem

__all__ = ["solve_greedy"]


def solve_greedy(problem: Problem) -> tuple[np.ndarray, float]:
    """Assign hours greedily; returns ``(flow per arc, objective)``.

    Demands are taken by priority (highest first, then file order); each takes hours
    from its tied suppliers nearest first (then in supplier order), skipping arcs that
    score zero or less.

    Examples
    --------
    >>> from matcher.inputs.dataset import load_dataset
    >>> from matcher.model.arcs import build_problem
    >>> flow, objective = solve_greedy(build_problem(load_dataset("tests/data/example/dataset")))
    >>> int(flow.sum()), round(objective, 4)
    (34, 122.9116)
    """
    arcs = problem.arcs
    flow = np.zeros(len(arcs), dtype=np.int64)
    useful = np.flatnonzero(arcs.weight > 0)
    prio = problem.demand_priority[arcs.demand[useful]]
    order = useful[np.lexsort((arcs.supplier[useful], arcs.km[useful], arcs.demand[useful], -prio))]
    left_s = problem.suppliers.hours.astype(np.int64).copy()
    left_d = problem.demand_hours.astype(np.int64).copy()
    sup = arcs.supplier[order].tolist()
    dem = arcs.demand[order].tolist()
    for i, s, d in zip(order.tolist(), sup, dem, strict=True):
        give = min(left_s[s], left_d[d])
        if give > 0:
            flow[i] = give
            left_s[s] -= give
            left_d[d] -= give
    return flow, float(np.dot(flow, arcs.weight))
