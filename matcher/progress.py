"""Progress of a long plan: one callback, called as the plan goes through its stages.

A city-scale plan takes tens of seconds, and a plan with integer rules may search until
its time limit. :func:`matcher.plan` takes ``progress=``, a :data:`ProgressCallback`
that it calls with a :class:`Progress` at each stage (:data:`STAGES`), at each round of
the column generation, and as the integer rules' searches improve their plan or bound.

The solvers do not call the callback themselves: they call a :class:`Reporter`
(:func:`reporter`), which holds the run's start time (so that no solver computes its
own elapsed time), computes the gap, and can throttle chatty loops
(:meth:`Reporter.throttled`).

Calls are rare (a stage, a round, an improvement at most every
:data:`THROTTLE_S`), so they cost nothing measurable, and they never change the plan:
the same dataset and parameters give the same plan with a callback or without one.

A callback that raises stops the plan: the exception propagates out of
:func:`matcher.plan` (a caller may cancel a run that way), and no plan is returned, so
none is half made. Calls come one at a time, while :func:`matcher.plan` runs: from the
thread that called it, except CP-SAT's improvements, which CP-SAT reports from its own
thread (a callback that raises there stops the search, and the exception is raised in
the caller's thread).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "PARTS",
    "STAGES",
    "THROTTLE_S",
    "Progress",
    "ProgressCallback",
    "Reporter",
    "reporter",
]

Stage = Literal["load", "build", "solve", "tables"]
STAGES: tuple[Stage, ...] = ("load", "build", "solve", "tables")
"""The stages of a plan, in the order they run: ``load`` (read and validate the
dataset), ``build`` (its ties and candidate arcs), ``solve``, ``tables`` (the plan's
tables, reasons and KPIs)."""

PARTS = ("labour", "funds", "leads")
"""What an integer-rules search may be at (:attr:`Progress.part`), in the order they run."""

THROTTLE_S = 0.25
"""Least seconds between two calls of :meth:`Reporter.throttled` that reach the callback
(at most four a second from a chatty loop)."""


@dataclass(frozen=True)
class Progress:
    """Where a plan is now.

    >>> p = Progress("solve", 12.34, round=7, bound=12345.6)
    >>> p.to_dict()["round"], p.to_dict()["gap"]
    (7, None)
    """

    stage: Stage
    """One of :data:`STAGES`."""
    elapsed_s: float
    """Seconds since the run started (when its :class:`Reporter` was made)."""
    round: int | None = None
    """Column generation: the round just solved (1, 2, ...); else ``None``."""
    incumbent: float | None = None
    """The objective of the best plan found so far. Column generation: the restricted
    network's optimum (its scores rounded to ``cost_scale`` as the solver uses them, so
    within a rounding of the plan it would give). Integer rules: the score (``labour``,
    ``funds``, to maximise) or the cost (``leads``, to minimise) of the current part."""
    bound: float | None = None
    """A proven bound on the optimum of what :attr:`incumbent` measures: an upper bound
    for a score (column generation, ``labour``, ``funds``), a lower bound for a cost
    (``leads``). ``None`` until one is known."""
    gap: float | None = None
    """``|bound - incumbent| / max(|bound|, 1)`` when both are known (as the plan's own
    gap is measured); else ``None``."""
    part: str | None = None
    """Integer rules: which model is searching, one of :data:`PARTS`; else ``None``."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (the service stores and returns this).

        >>> Progress("load", 0.5).to_dict()
        {'stage': 'load', 'elapsed_s': 0.5, 'round': None, 'incumbent': None, \
'bound': None, 'gap': None, 'part': None}
        """
        return asdict(self)


ProgressCallback = Callable[[Progress], None]
"""What :func:`matcher.plan` calls with each :class:`Progress`."""


def _gap(incumbent: float | None, bound: float | None) -> float | None:
    if incumbent is None or bound is None:
        return None
    return abs(bound - incumbent) / max(abs(bound), 1.0)


class Reporter:
    """A callback turned into a stage reporter that carries the run's start time.

    The solvers take one and call it with what they know; a reporter without a callback
    (:attr:`active` false) does nothing, so they need not check. :attr:`last` keeps the
    last :class:`Progress` sent.

    >>> seen = []
    >>> report = reporter(seen.append)
    >>> report("solve", round=1, incumbent=90.0, bound=100.0)
    >>> p = seen[-1]
    >>> p.stage, p.round, p.gap, p.elapsed_s >= 0
    ('solve', 1, 0.1, True)
    >>> reporter(None)("build")  # no callback: nothing happens
    """

    def __init__(
        self,
        callback: ProgressCallback | None,
        start: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.callback = callback
        self.clock = clock
        self.start = clock() if start is None else start
        self.last: Progress | None = None
        self._sent_at = -float("inf")

    @property
    def active(self) -> bool:
        """Whether anyone listens: work done only to report (a bound the solver does not
        need) is skipped when not."""
        return self.callback is not None

    def __call__(
        self,
        stage: Stage,
        *,
        round: int | None = None,
        incumbent: float | None = None,
        bound: float | None = None,
        part: str | None = None,
    ) -> None:
        """Send a :class:`Progress` now (a stage's start, a round, a part's result)."""
        if self.callback is not None:
            self._send(self.clock(), stage, round, incumbent, bound, part)

    def _send(
        self,
        now: float,
        stage: Stage,
        round: int | None,
        incumbent: float | None,
        bound: float | None,
        part: str | None,
    ) -> None:
        assert self.callback is not None
        progress = Progress(
            stage,
            now - self.start,
            round=round,
            incumbent=incumbent,
            bound=bound,
            gap=_gap(incumbent, bound),
            part=part,
        )
        self._sent_at = now
        self.last = progress
        self.callback(progress)

    def throttled(
        self,
        stage: Stage,
        *,
        incumbent: float | None = None,
        bound: float | None = None,
        part: str | None = None,
    ) -> None:
        """Like calling it, but dropped when the last call was less than
        :data:`THROTTLE_S` ago: for loops that may improve many times a second.

        >>> ticks = iter([0.0, 0.0, 0.1, 0.3])  # the start, then three calls
        >>> seen = []
        >>> report = Reporter(seen.append, clock=lambda: next(ticks))
        >>> for x in (1.0, 2.0, 3.0):
        ...     report.throttled("solve", incumbent=x)
        >>> [p.incumbent for p in seen]
        [1.0, 3.0]
        """
        if self.callback is None:
            return
        now = self.clock()
        if now - self._sent_at >= THROTTLE_S:
            self._send(now, stage, None, incumbent, bound, part)


def reporter(callback: ProgressCallback | None, start: float | None = None) -> Reporter:
    """A :class:`Reporter` for ``callback`` (``None``: one that does nothing), its clock
    started now or at ``start`` (a ``time.perf_counter()`` value)."""
    return Reporter(callback, start)
