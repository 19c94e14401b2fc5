"""What the integer rules' solvers return: each model's outcome and the plan's result.

They live apart from :mod:`matcher.solvers.integer` so that a plan without integer rules
reads them without loading CP-SAT, HiGHS's MIP and the generalized assignment code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matcher.errors import Finding
from matcher.solvers.flow import FlowResult

__all__ = ["IntegerResult", "Part", "part_kpis"]


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
