"""What changed from one plan to another: assignments and demands.

The one plan diff: :func:`matcher.analysis.compare.compare_plans`, the report's
comparison section and the service's ``/runs/{id}/diff`` all read it.

>>> import matcher
>>> from dataclasses import replace
>>> base = matcher.plan("tests/data/example/dataset")
>>> fewer = replace(base, assignments=base.assignments.iloc[1:], label="fewer")
>>> d = diff_plans(base, fewer)
>>> d.assignments[["change", "hours_before", "hours_after"]].to_dict("records")
[{'change': 'removed', 'hours_before': 4, 'hours_after': 0}]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from matcher.plans.result import Plan

__all__ = [
    "ASSIGNMENT_DIFF_COLUMNS",
    "ASSIGNMENT_KEY",
    "DEMAND_DIFF_COLUMNS",
    "PlanDiff",
    "diff_plans",
]

ASSIGNMENT_KEY = ("supplier_kind", "supplier_id", "demand_id")
"""What makes an assignment the same one in two plans: who serves which demand."""

ASSIGNMENT_DIFF_COLUMNS = (
    "plan",
    "change",
    "supplier_kind",
    "supplier_id",
    "unit_id",
    "demand_id",
    "community_id",
    "category",
    "hours_before",
    "hours_after",
)
"""An assignment added, removed or changed in hours (``change``), with both hours."""

DEMAND_DIFF_COLUMNS = (
    "plan",
    "demand_id",
    "community_id",
    "district",
    "category",
    "status_before",
    "status_after",
    "covered_before",
    "covered_after",
    "reason_after",
)
"""A demand whose status or covered hours changed (``absent`` where a plan lacks it)."""

_ASSIGNMENT_INFO = ("unit_id", "community_id", "category")
_DEMAND_INFO = ("community_id", "district", "category", "status", "covered_hours", "reason")


@dataclass(frozen=True)
class PlanDiff:
    """The changes from ``before`` to ``after``.

    Attributes
    ----------
    assignments
        :data:`ASSIGNMENT_DIFF_COLUMNS`, sorted by demand, then supplier.
    demands
        :data:`DEMAND_DIFF_COLUMNS`, sorted by demand.
    """

    assignments: pd.DataFrame
    demands: pd.DataFrame

    def status_changes(self) -> pd.DataFrame:
        """The demands whose status changed (not only their covered hours)."""
        d = self.demands
        return d[(d["status_before"] != d["status_after"]).to_numpy()]


def diff_plans(before: Plan, after: Plan) -> PlanDiff:
    """Assignments added, removed or changed in hours, and demands whose status or
    covered hours changed, from ``before`` to ``after`` (``plan`` is ``after.label``).

    Rows of one supplier and demand are added up; zero-hour rows count as absent.
    """
    return PlanDiff(
        _assignment_changes(before.assignments, after.assignments, after.label),
        _demand_changes(before.demand_status, after.demand_status, after.label),
    )


def _by_key(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.astype({c: str for c in (*ASSIGNMENT_KEY, *_ASSIGNMENT_INFO)})
    grouped = f.groupby(list(ASSIGNMENT_KEY), sort=False, as_index=False).agg(
        {"hours": "sum", **dict.fromkeys(_ASSIGNMENT_INFO, "first")}
    )
    return grouped[grouped["hours"] > 0]


def _assignment_changes(before: pd.DataFrame, after: pd.DataFrame, label: str) -> pd.DataFrame:
    m = _by_key(before).merge(
        _by_key(after), on=list(ASSIGNMENT_KEY), how="outer", suffixes=("_before", "_after")
    )
    h0 = m["hours_before"].fillna(0).astype(np.int64)
    h1 = m["hours_after"].fillna(0).astype(np.int64)
    change = np.where(h0 == 0, "added", np.where(h1 == 0, "removed", "changed"))
    out = pd.DataFrame({"plan": label, "change": change})
    for c in ASSIGNMENT_KEY:
        out[c] = m[c].to_numpy()
    for c in _ASSIGNMENT_INFO:
        out[c] = m[f"{c}_after"].fillna(m[f"{c}_before"]).to_numpy()
    out["hours_before"], out["hours_after"] = h0.to_numpy(), h1.to_numpy()
    out = out[(h0 != h1).to_numpy()]
    out = out.sort_values(["demand_id", "supplier_kind", "supplier_id"], kind="stable")
    return out[list(ASSIGNMENT_DIFF_COLUMNS)].reset_index(drop=True)


def _demand_changes(before: pd.DataFrame, after: pd.DataFrame, label: str) -> pd.DataFrame:
    cols = ["demand_id", *_DEMAND_INFO]
    s = (
        before[cols]
        .astype({"demand_id": str})
        .merge(
            after[cols].astype({"demand_id": str}),
            on="demand_id",
            how="outer",
            suffixes=("_before", "_after"),
        )
    )
    status0, status1 = s["status_before"].fillna("absent"), s["status_after"].fillna("absent")
    covered0 = s["covered_hours_before"].fillna(0).astype(np.int64)
    covered1 = s["covered_hours_after"].fillna(0).astype(np.int64)
    moved = ((status0 != status1) | (covered0 != covered1)).to_numpy()

    def either(column: str) -> np.ndarray:
        return s[f"{column}_after"].fillna(s[f"{column}_before"]).to_numpy()[moved]

    demands = pd.DataFrame(
        {
            "plan": label,
            "demand_id": s["demand_id"].to_numpy()[moved],
            "community_id": either("community_id"),
            "district": either("district"),
            "category": either("category"),
            "status_before": status0.to_numpy()[moved],
            "status_after": status1.to_numpy()[moved],
            "covered_before": covered0.to_numpy()[moved],
            "covered_after": covered1.to_numpy()[moved],
            "reason_after": s["reason_after"].fillna("").to_numpy()[moved],
        },
        columns=list(DEMAND_DIFF_COLUMNS),
    )
    return demands.sort_values("demand_id", kind="stable").reset_index(drop=True)
