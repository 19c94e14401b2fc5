"""What the solvers return: the column generation's result and duals, the integer rules'
outcomes and the plan's result.

They live apart from :mod:`matcher.solvers.columns` and :mod:`matcher.solvers.integer` so
that ``import matcher``, and a plan that does not use those solvers, read them without
loading numba, CP-SAT, HiGHS's MIP or the generalized assignment code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matcher.errors import Finding
from matcher.model.arcs import Arcs
from matcher.solvers.flow import FlowResult

__all__ = ["ColumnResult", "Duals", "IntegerResult", "NotApplicable", "Part", "part_kpis"]


@dataclass(frozen=True)
class Part:
    """One model's outcome: objective, bound, gap, status (maximisation unless noted)."""

    status: str
    objective: float
    bound: float
    wall_seconds: float
    engine: str = "ortools.cp_sat"

    @property
    def gap(self) -> float:
        """Relative gap between objective and bound."""
        return abs(self.bound - self.objective) / max(abs(self.bound), 1.0)


@dataclass(frozen=True)
class IntegerResult(FlowResult):
    """A plan under integer rules.

    Besides the :class:`FlowResult` fields (the combined labour + funds objective, bound
    and gap), it carries each model's outcome, the funding and lead tables, and what the
    repaired flow start scored.
    """

    labour: Part | None = None
    funds: Part | None = None
    leads: Part | None = None
    start_objective: float | None = None
    funded: np.ndarray | None = field(default=None, repr=False)
    funding: pd.DataFrame | None = field(default=None, repr=False)
    lead_table: pd.DataFrame | None = field(default=None, repr=False)
    findings: tuple[Finding, ...] = ()


def part_kpis(part: Part | None) -> dict[str, Any] | None:
    """One model's outcome as KPIs."""
    if part is None:
        return None
    return {
        "status": part.status,
        "objective": round(part.objective, 6),
        "bound": round(part.bound, 6),
        "gap": float(f"{part.gap:.3g}"),
        "seconds": round(part.wall_seconds, 4),
        "solver": part.engine,
    }


class NotApplicable(Exception):
    """The dataset falls outside what this solver handles; use the plain model."""


@dataclass(frozen=True)
class Duals:
    """A labour plan's LP duals: what one hour more of a supplier, or of a demand, would
    add to its objective at the margin (in score). Where the LP is degenerate they are one
    choice among several; :mod:`matcher.analysis.explain` finds what a whole extra hour adds.

    They are what a column generation needs to start near the end (see the module doc,
    "Warm start"), for instance to plan a scenario of a dataset already planned:
    ``solve_columns(ix, warm_start=base.duals)``, or ``plan(dataset, warm_start=base_plan)``.
    Only their ids tie them to a dataset: suppliers and demands the next dataset lacks
    are ignored, and its new ones start at 0.

    Attributes
    ----------
    supplier
        Per supplier, indexed by ``(kind, id)`` (``kind``: ``"cadre"`` or ``"service"``);
        0 for a supplier with hours left unused.
    demand
        Per demand, indexed by demand id; 0 for a demand left short.

    A supplier or demand of 0 hours (or a supplier without skills) is no node of the
    network and gets 0, whatever an hour of it would be worth.
    """

    supplier: pd.Series
    demand: pd.Series

    def __post_init__(self) -> None:
        for name in ("supplier", "demand"):
            values = getattr(self, name)
            if not isinstance(values, pd.Series):
                raise TypeError(f"Duals.{name} must be a pandas Series, not {type(values)}")
            try:
                finite = bool(np.isfinite(values.to_numpy(dtype=np.float64)).all())
            except (TypeError, ValueError):
                finite = False
            if not finite:
                raise ValueError(f"Duals.{name} holds values that are not finite numbers")


@dataclass(frozen=True)
class ColumnResult(FlowResult):
    """A :class:`FlowResult` on the compact arcs that carry hours, with what the plain
    model would have reported over all of its arcs.

    Attributes
    ----------
    arcs
        The supplier-demand arcs with hours (the ``flow`` is on these).
    reasons
        Per demand, why it is not fully met (``""`` if met), as
        :func:`matcher.plans.planner.demand_reasons` decides over all candidate arcs.
    candidate_arcs
        How many candidate arcs the plain model has.
    rounds, columns
        Pricing rounds, and implicit arcs brought into the network.
    pivots
        Network simplex pivots over all rounds.
    simplex_seconds, pricing_seconds
        Wall time in the network simplex, and in pricing the implicit arcs.
    duals
        The marginal values at the optimum, to warm-start a similar plan with.
    """

    arcs: Arcs | None = None
    reasons: np.ndarray | None = None
    candidate_arcs: int = 0
    rounds: int = 0
    columns: int = 0
    pivots: int = 0
    simplex_seconds: float = 0.0
    pricing_seconds: float = 0.0
    duals: Duals | None = field(default=None, repr=False)
