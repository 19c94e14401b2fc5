"""The labour model's start: the flow optimum repaired until it meets the rules.

Each round confines cadres over their community limit to the communities where they
score most and closes demands below their minimum, then solves the flow again on what is
left, so that freed hours go where they score. The result meets ``min_hours`` and
``max_communities_per_cadre`` (not the coverage floor, which is left to the search): a
good plan at once, which the search then improves.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.model.arcs import Problem
from matcher.model.rules import ActiveRules
from matcher.model.suppliers import CADRE
from matcher.solvers.flow import solve_flow

__all__ = ["repair_flow"]


def _over_limit(problem: Problem, flow: npt.NDArray[np.int64], limit: int) -> npt.NDArray[np.bool_]:
    """Arcs of cadres over their community limit that lie outside their best communities.

    A cadre over the limit keeps the ``limit`` communities where its hours score most.
    """
    arcs = problem.arcs
    on = np.flatnonzero(flow > 0)
    sup, comm = arcs.supplier[on], problem.demand_community[arcs.demand[on]]
    cadre = problem.suppliers.kind[sup] == CADRE
    on, sup, comm = on[cadre], sup[cadre], comm[cadre]
    frame = pd.DataFrame({"s": sup, "c": comm, "v": flow[on] * arcs.weight[on]})
    per = frame.groupby(["s", "c"], sort=True)["v"].sum().reset_index()
    per = per.sort_values(["s", "v", "c"], ascending=[True, False, True], kind="stable")
    per["rank"] = per.groupby("s").cumcount()
    over = per["s"].isin(per.loc[per["rank"] >= limit, "s"])
    kept = per[over & (per["rank"] < limit)]
    over_s = np.unique(per.loc[over, "s"].to_numpy())
    if len(over_s) == 0:
        return np.zeros(len(arcs), dtype=bool)
    n_c = len(problem.community_ids)
    arc_comm = problem.demand_community[arcs.demand]
    allowed = np.isin(arcs.supplier * n_c + arc_comm, kept["s"].to_numpy() * n_c + kept["c"])
    return np.isin(arcs.supplier, over_s) & ~allowed


def repair_flow(
    problem: Problem,
    flow: npt.NDArray[np.int64],
    rules: ActiveRules,
    rounds: int = 30,
    deadline: float | None = None,
    round_seconds: float = 0.0,
) -> npt.NDArray[np.int64]:
    """Turn the flow optimum into a plan that satisfies ``min_hours`` and the community
    limit, re-solving the flow after each repair so that freed hours go where they score.

    Each round, a cadre over its limit is confined to the communities where it scored
    most, and a demand below its minimum is closed; then the flow is solved again on
    what is left. Confinements and closures accumulate, so the rounds end. (The coverage
    floor is left to the search.) No round starts that would end past ``deadline`` (a
    ``time.perf_counter()`` value), judged by the last round's time (the first by
    ``round_seconds``, the time of the flow it repairs): what still breaks a rule is
    then dropped, as after the last round.
    """
    arcs = problem.arcs
    allowed = np.ones(len(arcs), dtype=bool)
    hours = problem.demand_hours.copy()
    mins = rules.min_hours
    limit = rules.max_communities_per_cadre
    f = flow.copy()
    last = round_seconds
    for _ in range(rounds):
        begun = time.perf_counter()
        if deadline is not None and begun + last >= deadline:
            break
        changed = False
        if limit is not None:
            cut = _over_limit(problem, f, limit)
            if cut.any():
                allowed &= ~cut
                changed = True
        if (mins > 0).any():
            got = np.bincount(arcs.demand, weights=f, minlength=len(mins))
            short = (got > 0) & (got < mins)
            if short.any():
                hours[short] = 0
                changed = True
        if not changed:
            return f
        f = _flow_on(problem, allowed, hours)
        last = time.perf_counter() - begun
    # Past the rounds, drop whatever still breaks a rule (a safe, feasible plan).
    if limit is not None:
        f[_over_limit(problem, f, limit)] = 0
    got = np.bincount(arcs.demand, weights=f, minlength=len(mins))
    f[((got > 0) & (got < mins))[arcs.demand]] = 0
    return f


def _flow_on(
    problem: Problem, allowed: npt.NDArray[np.bool_], demand_hours: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The flow optimum using only ``allowed`` arcs and the given demand hours."""
    keep = np.flatnonzero(allowed)
    a = problem.arcs
    sub = dataclasses.replace(
        problem,
        demand_hours=demand_hours,
        arcs=dataclasses.replace(
            a,
            supplier=a.supplier[keep],
            demand=a.demand[keep],
            km=a.km[keep],
            tie=a.tie[keep],
            weight=a.weight[keep],
        ),
    )
    flow = np.zeros(len(a), dtype=np.int64)
    flow[keep] = solve_flow(sub).flow
    return flow
