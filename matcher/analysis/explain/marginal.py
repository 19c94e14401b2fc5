"""Where one more hour of a skill in a district adds most: per (district, category), the
arc for the extra hour and the objective's gain, found two ways.

* :func:`best_by_duals` reads it from the residual network's longest paths
  (:mod:`matcher.analysis.explain.residual`): one more hour at supplier x for demand d
  adds ``score(x, d) + V[d]``, and the best such arc is the marginal value.
* :func:`best_by_resolve` re-solves the flow once per distinct supplier position with a
  clone of the supplier holding the one hour (slow; for checking).

``tests/analysis/test_explain.py`` checks both against a re-solve of the dataset with the extra
hour, by the planner and by an independent LP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.analysis.explain.context import PlanContext
from matcher.analysis.explain.residual import UNREACHABLE, Residual, solver_costs
from matcher.analysis.explain.values import records
from matcher.model.arcs import Arcs, Problem
from matcher.model.suppliers import Suppliers
from matcher.solvers.flow import solve_flow

_Ints = npt.NDArray[np.int64]

# (district, category index) -> (gain, the arc the extra hour takes first)
Best = dict[tuple[str, int], tuple[float, int]]


def best_by_duals(
    p: Problem, res: Residual, districts: npt.NDArray[np.object_], useful: _Ints
) -> Best:
    """Per (district, category): the best arc for one more hour and its true gain."""
    a = p.arcs
    n_s = len(p.suppliers)
    dv = res.value[n_s + a.demand[useful]]
    ok = dv > UNREACHABLE
    arcs = useful[ok]
    gain = solver_costs(p)[arcs] + dv[ok]
    keep = gain > 0
    arcs, gain = arcs[keep], gain[keep]
    frame = pd.DataFrame(
        {
            "district": districts[a.supplier[arcs]],
            "cat": p.demand_category[a.demand[arcs]],
            "gain": gain,
            "arc": arcs,
        }
    )
    # Largest gain; of equal gains the first supplier, then demand, in file order.
    frame = frame.sort_values(["gain", "arc"], ascending=[False, True], kind="stable")
    first = frame.drop_duplicates(["district", "cat"])
    out: Best = {}
    for r in records(first):
        arc = int(r["arc"])
        true_gain = float(a.weight[arc] + res.true[n_s + a.demand[arc]])
        out[(str(r["district"]), int(r["cat"]))] = (max(true_gain, 0.0), arc)
    return out


def best_by_resolve(
    ctx: PlanContext, districts: npt.NDArray[np.object_], useful: _Ints, cells: pd.DataFrame
) -> Best:
    """Per (district, category): the best gain by re-solving with each distinct clone."""
    p = ctx.problem
    a = p.arcs
    base = solve_flow(p).objective
    cat_of = p.demand_category[a.demand[useful]]
    out: Best = {}
    for r in records(cells):
        district, cat = str(r["district"]), int(r["cat"])
        mine = useful[(cat_of == cat) & (districts[a.supplier[useful]] == district)]
        best = _best_clone(p, base, mine)
        if best is not None:
            out[(district, cat)] = best
    return out


def _best_clone(p: Problem, base: float, mine: _Ints) -> tuple[float, int] | None:
    """The largest gain of one more hour at any supplier of the arcs ``mine`` (on those
    arcs only), by re-solving; ``None`` when none adds anything."""
    a = p.arcs
    best: tuple[float, int] | None = None
    tried: set[tuple[Any, ...]] = set()
    for sup in np.unique(a.supplier[mine]).tolist():
        arcs = mine[a.supplier[mine] == sup]
        # Suppliers at the same place with the same ties have the same arcs.
        sig = (tuple(a.demand[arcs].tolist()), tuple(np.round(a.weight[arcs], 12)))
        if sig in tried:
            continue
        tried.add(sig)
        result = solve_flow(_with_clone(p, sup, arcs))
        gain = result.objective - base
        extra = result.flow[len(a) :]
        if gain > 1e-9 and (best is None or gain > best[0] + 1e-9):
            used = np.flatnonzero(extra > 0)
            best = (gain, int(arcs[used[0]] if len(used) else arcs[0]))
    return best


def _with_clone(problem: Problem, sup: int, arcs: _Ints) -> Problem:
    """``problem`` with one more supplier like ``sup``: one hour, on ``arcs`` only."""
    s = problem.suppliers
    a = problem.arcs
    new = len(s)

    def add(x: np.ndarray, v: Any) -> np.ndarray:
        return np.concatenate((x, np.asarray([v], dtype=x.dtype)))

    cat = problem.demand_category[a.demand[arcs[0]]] if len(arcs) else 0
    clone = Suppliers(
        kind=add(s.kind, s.kind[sup]),
        ids=add(s.ids, f"{s.ids[sup]}+1"),
        row=add(s.row, -1),
        unit=add(s.unit, s.unit[sup]),
        hours=add(s.hours, 1),
        lat=add(s.lat, s.lat[sup]),
        lon=add(s.lon, s.lon[sup]),
        home=add(s.home, s.home[sup]),
        radius_km=add(s.radius_km, s.radius_km[sup]),
        skill_ptr=add(s.skill_ptr, s.skill_ptr[-1] + 1),
        skill_cat=add(s.skill_cat, cat),
    )
    extra = Arcs(
        supplier=np.concatenate((a.supplier, np.full(len(arcs), new, dtype=a.supplier.dtype))),
        demand=np.concatenate((a.demand, a.demand[arcs])),
        km=np.concatenate((a.km, a.km[arcs])),
        tie=np.concatenate((a.tie, a.tie[arcs])),
        weight=np.concatenate((a.weight, a.weight[arcs])),
    )
    return dataclasses.replace(problem, suppliers=clone, arcs=extra)


__all__: Sequence[str] = ("Best", "best_by_duals", "best_by_resolve")
