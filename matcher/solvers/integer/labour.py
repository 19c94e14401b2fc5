"""What the two labour engines (:mod:`~matcher.solvers.integer.labour_highs`,
:mod:`~matcher.solvers.integer.labour_cpsat`) share: the arcs their model needs, its
repaired start, and that start kept as the plan when no search fits the time left.

The rules only take plans away, so the flow optimum without them bounds every plan under
them: it is the bound reported when the repaired start is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.model.arcs import Problem
from matcher.model.rules import ActiveRules
from matcher.progress import Reporter
from matcher.solvers.flow import FlowResult, solve_flow
from matcher.solvers.integer.deadline import repair_deadline
from matcher.solvers.integer.repair import repair_flow
from matcher.solvers.outcomes import Part

__all__ = [
    "LabourArcs",
    "LabourSolution",
    "LabourStart",
    "keep_start",
    "labour_arcs",
    "labour_start",
]

LabourSolution = tuple[npt.NDArray[np.int64], Part, float]
"""The hours per candidate arc, the outcome, and the repaired start's objective."""


@dataclass(frozen=True)
class LabourArcs:
    """The candidate arcs that get a variable, and every arc's capacity."""

    idx: npt.NDArray[np.int64]
    """Rows of ``problem.arcs`` with room for an hour (and, without floors, a score)."""
    cap: npt.NDArray[np.int64]
    """Per arc of ``problem.arcs``: the smaller of its supplier's and demand's hours."""


def labour_arcs(problem: Problem, rules: ActiveRules) -> LabourArcs:
    """The arcs the labour model needs: those with room for an hour; without coverage
    floors, only those whose hours score (an hour that scores <= 0 is never needed)."""
    arcs = problem.arcs
    cap = np.minimum(problem.suppliers.hours[arcs.supplier], problem.demand_hours[arcs.demand])
    use = cap > 0
    if rules.coverage_floor is None:
        use &= arcs.weight > 0
    return LabourArcs(np.flatnonzero(use), cap)


@dataclass(frozen=True)
class LabourStart:
    """The flow optimum without the rules, and that flow repaired to satisfy them."""

    relaxed: FlowResult
    flow: npt.NDArray[np.int64]
    objective: float
    """What the repaired flow scores."""
    weight: npt.NDArray[np.float64]
    """What an hour scores, per arc (``problem.arcs.weight``)."""


def labour_start(
    problem: Problem, rules: ActiveRules, deadline: float | None, report: Reporter | None = None
) -> LabourStart:
    """The repaired start, within the repair's share of the time left before ``deadline``
    (:func:`~matcher.solvers.integer.deadline.repair_deadline`); reported to ``report``
    (the first plan of the search, the relaxed flow's optimum its bound)."""
    relaxed = solve_flow(problem)
    flow = repair_flow(
        problem,
        relaxed.flow,
        rules,
        deadline=repair_deadline(deadline),
        round_seconds=relaxed.wall_seconds,
    )
    weight = problem.arcs.weight
    start = LabourStart(relaxed, flow, float(np.dot(flow, weight)), weight)
    if report is not None:
        bound = max(relaxed.bound, start.objective)
        report("solve", incumbent=start.objective, bound=bound, part="labour")
    return start


def keep_start(
    start: LabourStart, began: float, engine: str, flow: npt.NDArray[np.int64] | None = None
) -> LabourSolution:
    """The repaired start, or ``flow`` that improves on it, as the plan (``feasible``),
    the relaxed flow's optimum its bound; ``began`` is when the labour model was started
    (a ``time.perf_counter()`` value)."""
    kept = start.flow if flow is None else flow
    objective = float(np.dot(kept, start.weight))
    bound = max(start.relaxed.bound, objective)
    part = Part("feasible", objective, bound, time.perf_counter() - began, engine=engine)
    return kept, part, start.objective
