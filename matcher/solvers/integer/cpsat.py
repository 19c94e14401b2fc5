"""OR-Tools CP-SAT as the integer rules use it: one way to set up its solver, read its
status, scale scores to whole numbers and find why a model is infeasible."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from matcher.params import PlanParams
from matcher.progress import Reporter

__all__ = ["STATUS", "cpsat_solver", "infeasible_core", "scaled", "solve_reporting"]

STATUS = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}
"""The CP-SAT statuses that come with a solution, as the plan names them."""


def cpsat_solver(params: PlanParams, deadline: float | None = None) -> cp_model.CpSolver:
    """A CP-SAT solver seeded, limited to the gap and stopped at ``deadline`` (a
    ``time.perf_counter()`` value; ``time_limit_s`` from now without one)."""
    s = cp_model.CpSolver()
    p = s.parameters
    p.num_workers = params.workers
    p.random_seed = params.seed
    p.relative_gap_limit = params.gap_limit
    left = params.time_limit_s if deadline is None else deadline - time.perf_counter()
    p.max_time_in_seconds = max(left, 0.1)
    # Interleaved workers search in a fixed order: a search that ends by proof (not by
    # the time limit) gives the same plan every run.
    p.interleave_search = params.deterministic and params.workers > 1
    return s


def scaled(values: npt.NDArray[np.float64], scale: float) -> tuple[npt.NDArray[np.int64], float]:
    """Integer coefficients and the largest rounding error per unit.

    >>> ints, err = scaled(np.array([0.5, 1.25]), 2.0)  # halves: 1.25 rounds to 1.0
    >>> ints.tolist(), err
    ([1, 2], 0.25)
    """
    ints = np.rint(values * scale)
    err = float(np.abs(values - ints / scale).max(initial=0.0))
    return ints.astype(np.int64), err


def infeasible_core(
    model: cp_model.CpModel, lits: dict[Any, cp_model.IntVar], limit: float
) -> list[Any]:
    """Keys of a small set of assumption literals that cannot all hold (all if unknown)."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # cores of assumptions need a single worker
    solver.parameters.max_time_in_seconds = limit
    status = solver.solve(model)
    if status != cp_model.INFEASIBLE:
        return list(lits)
    core = set(solver.sufficient_assumptions_for_infeasibility())
    return [k for k, v in lits.items() if v.index in core] or list(lits)


class _Improvements(cp_model.CpSolverSolutionCallback):
    """Reports each improved solution (throttled) in the model's own units; an exception
    the report raises stops the search and is kept for :func:`solve_reporting` to raise."""

    def __init__(
        self, report: Reporter, part: str, units: Callable[[float, float], tuple[float, float]]
    ) -> None:
        super().__init__()
        self.report, self.part, self.units = report, part, units
        self.error: BaseException | None = None

    def on_solution_callback(self) -> None:
        if self.error is not None:
            return
        try:
            incumbent, bound = self.units(self.objective_value, self.best_objective_bound)
            self.report.throttled("solve", incumbent=incumbent, bound=bound, part=self.part)
        except BaseException as exc:  # raised again in the caller's thread
            self.error = exc
            self.stop_search()


def solve_reporting(
    solver: cp_model.CpSolver,
    model: cp_model.CpModel,
    report: Reporter | None,
    part: str,
    units: Callable[[float, float], tuple[float, float]],
) -> cp_model.CpSolverStatus:
    """``solver.solve(model)``, its improvements reported to ``report`` as ``part``.

    ``units`` turns CP-SAT's objective and bound (in scaled integers) into the model's
    own. The callback is attached only when someone listens; CP-SAT calls it from its
    own thread, one solution at a time, and it does not change the search. An exception
    the report raises stops the search and is raised here.
    """
    if report is None or not report.active:
        return solver.solve(model)
    watch = _Improvements(report, part, units)
    status = solver.solve(model, watch)
    if watch.error is not None:
        raise watch.error
    return status
