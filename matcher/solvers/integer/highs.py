"""HiGHS's MIP solver for the integer rules: one way to build, quiet and run its models."""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.params import PlanParams

__all__ = [
    "ABANDON_AFTER_S",
    "INTERRUPT_LP_NONZEROS",
    "SETUP_SECONDS_PER_NONZERO",
    "Seen",
    "highs_in_time",
    "highs_mip",
    "integer_lp",
    "quiet_highs",
    "run_until",
    "set_start",
    "stop_at",
]


_F = npt.NDArray[np.float64]

Seen = dict[str, Any]
"""What a running HiGHS search last said (``incumbent``, ``bound``: its primal and dual
bounds), written by its interrupt callback in its thread, read by :func:`run_until`'s
watch in the caller's; ``stop`` set true there interrupts it."""


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
    mat: Any, cost: _F, upper: _F, row_lower: _F, row_upper: _F, *, maximize: bool = False
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


def set_start(h: Any, x: npt.NDArray[np.float64] | npt.NDArray[np.bool_]) -> None:
    """Give HiGHS a (feasible) starting solution, so that it starts with an incumbent."""
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = [float(v) for v in x]
    sol.value_valid = True
    h.setSolution(sol)


SETUP_SECONDS_PER_NONZERO = 3e-6
"""What HiGHS takes per nonzero of a MIP to presolve it and set up its search, during
which it does not look at its time limit. Measured on the labour model of a generated
city at scale 0.05 (``min_hours`` on a third of the demands, one community per cadre:
1.65 million nonzeros), on this project's 2-core machine: 2.5 s of presolve and 0.3 s
more before its first node, 1.7 microseconds per nonzero; taken here with room for a
busy machine. (Switching presolve off is worse: HiGHS then spent 11 to 25 s setting up
its search on that model, limit unchecked.)"""


def highs_in_time(nonzeros: int, seconds: float) -> bool:
    """Whether HiGHS can presolve and set up a MIP of ``nonzeros`` within ``seconds``
    (else the caller keeps the start it has, rather than overrun its time limit)."""
    return seconds >= 0.05 + SETUP_SECONDS_PER_NONZERO * nonzeros


def highs_mip(
    lp: Any, nonzeros: int, params: PlanParams, time_limit: float, seen: Seen | None = None
) -> Any:
    """A HiGHS instance holding ``lp`` (from :func:`integer_lp`, of ``nonzeros``
    nonzeros), seeded and limited, ready to run; its search's bounds go to ``seen``."""
    h = quiet_highs()
    h.setOptionValue("random_seed", params.seed)
    h.setOptionValue("mip_rel_gap", params.gap_limit)
    # A little is kept back for reading the solution out within the limit.
    h.setOptionValue("time_limit", max(0.97 * time_limit, 0.1))
    stop_at(h, time.perf_counter() + max(time_limit, 0.1), nonzeros, seen=seen)
    h.passModel(lp)
    return h


ABANDON_AFTER_S = 0.25
"""How long past its deadline a HiGHS run may take to wind up before it is left behind."""


def run_until(h: Any, deadline: float, watch: Callable[[], None] | None = None) -> bool:
    """Run HiGHS (set up by :func:`highs_mip`) in a thread of its own and wait for it
    until ``deadline`` + :data:`ABANDON_AFTER_S`; returns whether it finished.

    HiGHS stops itself at its time limit and :func:`stop_at`'s interrupts, but some of
    its phases check neither (presolve, setting up the search: seconds on city-scale
    models). A run still busy then is left to end on its own in its thread (it stops at
    its next check, and holds nothing the caller uses) and the caller keeps the start
    it has, so the plan keeps to its time limit. (A plain thread, not highspy's
    ``startSolve``, whose lock is shared by every instance: a run left behind would
    block the next one.)

    ``watch``, if given, is called every ``THROTTLE_S`` while HiGHS runs (to report what
    its interrupt callback saw, :data:`Seen`), in this thread; an exception it raises is
    raised here, the run left to stop at its next check.
    """
    from matcher.progress import THROTTLE_S

    thread = threading.Thread(target=h.run, name="highs-mip", daemon=True)
    thread.start()  # HiGHS releases the interpreter while it solves
    end = deadline + ABANDON_AFTER_S
    if watch is not None:
        while thread.is_alive() and time.perf_counter() < end:
            thread.join(min(THROTTLE_S, max(end - time.perf_counter(), 0.0)))
            if thread.is_alive():
                watch()
    thread.join(max(end - time.perf_counter(), 0.0))
    if thread.is_alive():
        _left_behind(thread)
        return False
    return True


_BEHIND: list[threading.Thread] = []
WAIT_AT_EXIT_S = 60.0
"""How long a process that ends waits for HiGHS runs it left behind: they stop at their
next check, and a C++ thread still running when the interpreter ends aborts it."""


def _left_behind(thread: threading.Thread) -> None:
    """Remember a run left behind, so that the process waits for it before it ends."""
    if not _BEHIND:
        atexit.register(_wait_for_behind)
    _BEHIND.append(thread)


def _wait_for_behind() -> None:
    end = time.perf_counter() + WAIT_AT_EXIT_S
    for thread in _BEHIND:
        thread.join(max(end - time.perf_counter(), 0.0))


INTERRUPT_LP_NONZEROS = 100_000
"""From this many nonzeros up, HiGHS's LP solves are interrupted at the deadline too."""


def stop_at(
    h: Any,
    deadline: float,
    nonzeros: int,
    cancelled: Callable[[], bool] | None = None,
    seen: Seen | None = None,
) -> None:
    """Interrupt HiGHS at ``deadline`` (a ``time.perf_counter()`` value).

    HiGHS checks its own ``time_limit`` between phases only: on the labour model of a
    generated city at scale 0.02 (287,000 nonzeros) its solve after presolve ran 2.7 s
    past it. Its interrupt callbacks are called within phases: the branch-and-bound's
    always, the
    simplex and interior-point solvers' for models of :data:`INTERRUPT_LP_NONZEROS` or
    more (on small models a Python call per iteration would cost more than it saves,
    and their LPs end soon anyway). ``cancelled``, if given, stops it early when true;
    ``seen``, if given, gets the search's primal and dual bounds (:data:`Seen`), and
    ``seen["stop"]`` stops it too.
    """

    def interrupt(event: Any) -> None:
        if seen is not None:
            out = event.data_out
            seen["incumbent"], seen["bound"] = out.mip_primal_bound, out.mip_dual_bound
        stop = seen is not None and seen.get("stop", False)
        if time.perf_counter() >= deadline or stop or (cancelled is not None and cancelled()):
            event.interrupt()

    h.cbMipInterrupt.subscribe(interrupt)
    if nonzeros >= INTERRUPT_LP_NONZEROS:
        h.cbSimplexInterrupt.subscribe(interrupt)
        h.cbIpmInterrupt.subscribe(interrupt)
