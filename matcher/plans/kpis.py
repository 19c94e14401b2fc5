"""The plan's KPIs (``kpis.json``): coverage, utilization, reasons, the solver's proof.

>>> ratio(40, 44)
0.909091
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from matcher.model.arcs import Problem
from matcher.model.suppliers import SUPPLIER_KINDS
from matcher.plans.reasons import REASONS
from matcher.solvers.flow import FlowResult

__all__ = ["DIGITS", "compute_kpis", "coverage_by", "ratio", "rounded"]

DIGITS = 6
"""Decimals of every fractional figure in ``kpis.json``."""


def rounded(x: float) -> float:
    """A figure as ``kpis.json`` writes it: a float of :data:`DIGITS` decimals."""
    return round(float(x), DIGITS)


def ratio(num: float, den: float) -> float | None:
    """``num / den`` rounded as ``kpis.json`` rounds ratios; ``None`` when ``den`` is 0."""
    return rounded(num / den) if den > 0 else None


def coverage_by(status: pd.DataFrame, key: str) -> dict[str, dict[str, Any]]:
    """Hours demanded and covered and their ratio per value of ``key`` of a
    ``demand_status`` table (``kpis.json``'s ``coverage_by_district``/``_category``)."""
    grouped = status.groupby(key, sort=True)[["hours", "covered_hours"]].sum()
    return {
        str(name): {
            "hours_demanded": int(row.hours),
            "hours_covered": int(row.covered_hours),
            "coverage": ratio(row.covered_hours, row.hours),
        }
        for name, row in grouped.iterrows()
    }


def compute_kpis(
    problem: Problem, status: pd.DataFrame, flow: np.ndarray, result: FlowResult
) -> dict[str, Any]:
    """The plan's KPIs: every key the spec names, plus utilization and zero coverage."""
    arcs = problem.arcs
    hours_demanded = int(problem.demand_hours.sum())
    hours_covered = int(flow.sum())
    s = problem.suppliers
    used = np.bincount(arcs.supplier, weights=flow, minlength=len(s)).astype(np.int64)
    utilization: dict[str, Any] = {
        "hours_available": int(s.hours.sum()),
        "hours_used": int(used.sum()),
        "utilization": ratio(used.sum(), s.hours.sum()),
        "suppliers": len(s),
        "suppliers_used": int((used > 0).sum()),
    }
    for code, kind in enumerate(SUPPLIER_KINDS):
        mask = s.kind == code
        utilization[f"{kind}_hours_available"] = int(s.hours[mask].sum())
        utilization[f"{kind}_hours_used"] = int(used[mask].sum())
        utilization[f"{kind}_utilization"] = ratio(used[mask].sum(), s.hours[mask].sum())
    per_comm = status.groupby("community_id", sort=False)[["hours", "covered_hours"]].sum()
    zero = per_comm[(per_comm["hours"] > 0) & (per_comm["covered_hours"] == 0)]
    counts = status["status"].value_counts()
    reasons = status.loc[status["reason"] != "", "reason"].value_counts()
    return {
        "objective": rounded(result.objective),
        "weighted_hours": rounded(np.dot(flow, problem.demand_priority[arcs.demand])),
        # From the km written in assignments.csv (4 decimals), so the tables add up.
        "travel_hour_km": rounded(np.dot(flow, np.round(arcs.km, 4))),
        "hours_demanded": hours_demanded,
        "hours_covered": hours_covered,
        "coverage": ratio(hours_covered, hours_demanded),
        "demands": len(status),
        "demands_met": int(counts.get("met", 0)),
        "demands_partial": int(counts.get("partial", 0)),
        "demands_unmet": int(counts.get("unmet", 0)),
        "reasons": {r: int(reasons.get(r, 0)) for r in REASONS if reasons.get(r, 0)},
        "coverage_by_district": coverage_by(status, "district"),
        "coverage_by_category": coverage_by(status, "category"),
        "supplier_utilization": utilization,
        "communities_zero_coverage": sorted(str(c) for c in zero.index),
        "communities_zero_coverage_count": len(zero),
        "solver": result.solver,
        "solver_status": result.status,
        "proven_optimal": result.proven_optimal,
        "bound": rounded(result.bound),
        "gap": float(f"{result.gap:.3g}") if math.isfinite(result.gap) else None,
        "candidate_arcs": len(arcs),
        "solve_seconds": round(result.wall_seconds, 4),
    }
