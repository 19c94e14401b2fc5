"""HiGHS's MIP solver for the integer rules: one way to build, quiet and run its models."""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

from matcher.params import PlanParams


def quiet_highs() -> Any:
    """A HiGHS instance that prints nothing (its banner goes to the C-level stdout)."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    h.setOptionValue("output_flag", False)
    return h


def integer_lp(
    mat: Any,
    cost: np.ndarray,
    upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    *,
    maximize: bool = False,
) -> Any:
    """The all-integer MIP ``min/max cost @ x`` s.t. ``row_lower <= mat @ x <= row_upper``.

    ``mat`` is the constraint matrix in CSC form; every variable lies in ``[0, upper]``.
    """
    import highspy

    n = len(cost)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(row_lower)
    if maximize:
        lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = np.zeros(n), upper
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr
    lp.a_matrix_.index_ = mat.indices
    lp.a_matrix_.value_ = mat.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    return lp


def set_start(h: Any, x: np.ndarray) -> None:
    """Give HiGHS a (feasible) starting solution, so that it starts with an incumbent."""
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = [float(v) for v in x]
    sol.value_valid = True
    h.setSolution(sol)


def highs_mip(
    mat: Any,
    cost: np.ndarray,
    upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    params: PlanParams,
    time_limit: float,
    maximize: bool,
) -> Any:
    """A HiGHS instance holding :func:`integer_lp`, seeded and limited, ready to run."""
    h = quiet_highs()
    h.setOptionValue("random_seed", params.seed)
    h.setOptionValue("mip_rel_gap", params.gap_limit)
    # A little is kept back for reading the solution out within the limit.
    h.setOptionValue("time_limit", max(0.97 * time_limit, 0.1))
    h.passModel(integer_lp(mat, cost, upper, row_lower, row_upper, maximize=maximize))
    return h
