"""Why a demand got the hours it got (:func:`demand_explanation`,
:class:`DemandExplanation`).

A demand not fully met is explained by its reason code (``demand_status.csv``), the
nearest suppliers that could have served it (tied to its community and with its skill;
when there are none, the nearest with its skill and no tie), and what those suppliers
serve instead, each with its hour score: an hour goes where it scores more. One
demand's explanation looks only at the plan's arcs and the arcs into that demand, found
by the planner's own rules, never at every candidate arc of the city;
:func:`demand_explanations` explains many demands against every candidate arc at once.

>>> import matcher
>>> ex = demand_explanation(
...     matcher.plan("tests/data/example/dataset"), "tests/data/example/dataset", "D1"
... )
>>> ex.demand["status"]
'met'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.analysis.explain.context import PlanContext, plan_context
from matcher.analysis.explain.params import ExplainParams
from matcher.analysis.explain.text import demand_text, explanation_in, instead_text
from matcher.analysis.explain.values import ASSIGNMENT_VALUE_COLUMNS, records, value_table
from matcher.errors import ExplainError
from matcher.i18n import N_, SOURCE_LANG, Text
from matcher.inputs.dataset import Dataset
from matcher.inputs.io import plain_value
from matcher.model.geo import haversine_km
from matcher.model.suppliers import SUPPLIER_KINDS
from matcher.model.ties import TIES
from matcher.plans.reasons import reason_text
from matcher.plans.result import Plan

NEAREST_COLUMNS = (
    "demand_id",
    "rank",
    "supplier_kind",
    "supplier_id",
    "unit_id",
    "km",
    "tie",
    "eligible",
    "hour_score",
    "hours",
    "hours_here",
    "hours_elsewhere",
    "hours_left",
    "serves_instead",
)

_Ints = npt.NDArray[np.int64]
# (supplier kind, supplier id) -> row positions of its assignments in a value table
SupplierRows = dict[tuple[str, str], _Ints]


@dataclass(frozen=True)
class DemandExplanation:
    """Why one demand got the hours it got.

    Attributes
    ----------
    demand
        Its row of ``demand_status`` (a dict), plus ``community_name``.
    reason_text
        The reason in plain English (empty for a met demand).
    assignments
        Who serves it, with hour score and value
        (:func:`~matcher.analysis.explain.assignment_values` columns).
    nearest
        The nearest suppliers that could serve it (``eligible``: tied to its community
        with its skill) or, when none could, the nearest with its skill; with their
        hour score here, and hours given here, elsewhere and left.
    elsewhere
        What those suppliers serve instead: their other assignments with hour scores.
    """

    demand: dict[str, Any]
    reason_text: str
    assignments: pd.DataFrame
    nearest: pd.DataFrame
    elsewhere: pd.DataFrame

    def to_dict(self, lang: str = SOURCE_LANG) -> dict[str, Any]:
        """JSON-ready: the demand, its reason, and the three tables as lists of rows; the
        reason and what the nearest suppliers serve instead in ``lang``."""
        data = {
            "demand": self.demand,
            "reason_text": self.reason_text,
            "assignments": records(self.assignments),
            "nearest": records(self.nearest),
            "elsewhere": records(self.elsewhere),
        }
        return explanation_in(data, lang)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemandExplanation:
        """The explanation back from :meth:`to_dict` (what the service keeps)."""
        return cls(
            demand=dict(data["demand"]),
            reason_text=str(data["reason_text"]),
            assignments=pd.DataFrame(data["assignments"], columns=list(ASSIGNMENT_VALUE_COLUMNS)),
            nearest=pd.DataFrame(data["nearest"], columns=list(NEAREST_COLUMNS)),
            elsewhere=pd.DataFrame(data["elsewhere"], columns=list(ASSIGNMENT_VALUE_COLUMNS)),
        )

    def scoped(self, districts: Sequence[str]) -> DemandExplanation:
        """The explanation as a reader of ``districts`` may see it: what the suppliers
        serve instead is listed only in those districts (hour totals stay whole)."""
        keep = self.elsewhere["district"].isin(list(districts))
        elsewhere = self.elsewhere[keep].reset_index(drop=True)
        nearest = self.nearest.copy()
        nearest["serves_instead"] = [
            instead_text(
                elsewhere[(elsewhere["supplier_kind"] == k) & (elsewhere["supplier_id"] == i)]
            )
            for k, i in zip(nearest["supplier_kind"], nearest["supplier_id"], strict=True)
        ]
        return dataclasses.replace(self, elsewhere=elsewhere, nearest=nearest)

    def text(self, lang: str = SOURCE_LANG) -> str:
        """A few lines for people, in ``lang``."""
        return demand_text(self, lang)


def demand_explanation(
    plan: Plan | str | Path,
    dataset: Dataset | str | Path | None,
    demand_id: str,
    params: ExplainParams | None = None,
) -> DemandExplanation:
    """Explain one demand: its reason, its suppliers, and the nearest that went elsewhere.

    Reads only the plan's arcs and those into the demand (cheap at any scale).

    Parameters
    ----------
    plan, dataset
        As for :func:`~matcher.analysis.explain.assignment_values`.
    demand_id
        The demand.
    params
        ``nearest``: how many suppliers to list.

    Raises
    ------
    ExplainError
        If the dataset has no such demand.
    """
    ctx = plan_context(plan, dataset, demand_id=demand_id)
    return explain_demand(ctx, demand_id, params or ExplainParams())


def demand_explanations(
    plan: Plan | str | Path,
    dataset: Dataset | str | Path | None = None,
    demand_ids: Iterable[str] | None = None,
    params: ExplainParams | None = None,
) -> dict[str, DemandExplanation]:
    """Explain many demands at once, against every candidate arc of the dataset: the
    plan is indexed once, where :func:`demand_explanation` indexes it per demand (on
    fewer arcs; both say the same).

    Parameters
    ----------
    plan, dataset
        As for :func:`~matcher.analysis.explain.assignment_values`.
    demand_ids
        The demands; default every demand of the plan not fully met, in its order.
    params
        ``nearest``: how many suppliers to list per demand.

    Returns
    -------
    dict
        Each demand's :class:`DemandExplanation`, in the order given.

    Raises
    ------
    ExplainError
        If the dataset has no such demand.
    """
    ctx = plan_context(plan, dataset)
    if demand_ids is None:
        demand_ids = unmet_demands(ctx)
    return explain_demands(ctx, demand_ids, params or ExplainParams())


def unmet_demands(ctx: PlanContext) -> list[str]:
    """The plan's demands not fully met, in its order."""
    status = ctx.tables.demand_status
    return status.loc[status["status"] != "met", "demand_id"].astype(str).tolist()


def explain_demands(
    ctx: PlanContext,
    demand_ids: Iterable[str],
    params: ExplainParams,
    values: pd.DataFrame | None = None,
) -> dict[str, DemandExplanation]:
    """:func:`demand_explanations` of a plan already set against its problem; the value
    table (``values``, when already found) and each supplier's rows in it are found once
    for all the demands."""
    values = value_table(ctx) if values is None else values
    groups = supplier_rows(values)
    return {d: explain_demand(ctx, d, params, values, groups) for d in demand_ids}


def supplier_rows(values: pd.DataFrame) -> SupplierRows:
    """Row positions of each supplier's assignments in ``values``."""
    if values.empty:
        return {}
    grouped = values.groupby(["supplier_kind", "supplier_id"], sort=False).indices
    out: SupplierRows = {}
    for key, rows in grouped.items():
        pair: tuple[Any, Any] = key  # type: ignore[assignment]
        out[(str(pair[0]), str(pair[1]))] = np.asarray(rows)
    return out


def explain_demand(
    ctx: PlanContext,
    demand_id: str,
    params: ExplainParams,
    values: pd.DataFrame | None = None,
    groups: SupplierRows | None = None,
) -> DemandExplanation:
    """:func:`demand_explanation` of a plan already set against its problem (``values``
    and ``groups``: its value table and :func:`supplier_rows`, when already found)."""
    d, demand = _demand_row(ctx, demand_id)
    values = value_table(ctx) if values is None else values
    groups = supplier_rows(values) if groups is None else groups
    own = values[values["demand_id"] == demand_id].reset_index(drop=True)
    near = _nearest(ctx, d, params.nearest)
    s, p = ctx.problem.suppliers, ctx.problem
    kinds = np.asarray(SUPPLIER_KINDS, dtype=object)[s.kind[near.sup]]
    instead, parts = [], []
    for k, sid in zip(kinds.tolist(), s.ids[near.sup].tolist(), strict=True):
        rows = groups.get((k, sid), np.zeros(0, dtype=np.int64))
        mine = values.iloc[rows]
        mine = mine[mine["demand_id"] != demand_id]
        parts.append(mine)
        instead.append(instead_text(mine))
    elsewhere = (
        pd.concat(parts, ignore_index=True) if parts else values.iloc[:0].reset_index(drop=True)
    )
    used = ctx.used
    nearest = pd.DataFrame(
        {
            "demand_id": demand_id,
            "rank": np.arange(1, len(near.sup) + 1),
            "supplier_kind": kinds,
            "supplier_id": s.ids[near.sup],
            "unit_id": p.unit_ids[s.unit[near.sup]],
            "km": np.round(near.km, 4),
            "tie": near.tie,
            "eligible": near.eligible,
            "hour_score": np.round(near.score, 6),
            "hours": s.hours[near.sup],
            "hours_here": near.here,
            "hours_elsewhere": used[near.sup] - near.here,
            "hours_left": s.hours[near.sup] - used[near.sup],
            "serves_instead": np.asarray(instead, dtype=object),
        },
        columns=list(NEAREST_COLUMNS),
    )
    reason = str(demand.get("reason") or "")
    return DemandExplanation(demand, reason_text(reason), own, nearest, elsewhere)


def _demand_row(ctx: PlanContext, demand_id: str) -> tuple[int, dict[str, Any]]:
    """The demand's index in the problem and its ``demand_status`` row (plain values,
    with ``community_name``)."""
    hit = np.flatnonzero(ctx.problem.demand_ids == demand_id)
    if len(hit) == 0:
        raise ExplainError(
            Text(
                N_("demand {demand} is not in dataset {source}"),
                demand=repr(demand_id),
                source=ctx.dataset.source,
            )
        )
    status = ctx.tables.demand_status
    row = status[status["demand_id"].astype(str) == demand_id]
    if len(row) == 0:
        raise ExplainError(
            Text(
                N_("demand {demand} is not in the plan's demand_status table"),
                demand=repr(demand_id),
            )
        )
    demand = {str(k): plain_value(v) for k, v in row.iloc[0].to_dict().items()}
    comm = ctx.dataset.communities
    names = dict(zip(comm["community_id"].astype(str), comm["name"].astype(str), strict=True))
    demand["community_name"] = names.get(str(demand["community_id"]), "")
    return int(hit[0]), demand


@dataclass(frozen=True)
class _Near:
    """The nearest suppliers for a demand: positions, km, tie name, hour score there,
    hours given there, and whether they are tied (``eligible``) or only skilled."""

    sup: _Ints
    km: npt.NDArray[np.float64]
    tie: npt.NDArray[np.object_]
    score: npt.NDArray[np.float64]
    here: _Ints
    eligible: bool


def _nearest(ctx: PlanContext, d: int, n: int) -> _Near:
    """The ``n`` nearest suppliers with an arc to demand ``d`` or, when none has one,
    the ``n`` nearest with its skill (scored as if tied); nearest first, then by kind and
    file row."""
    p, s, a = ctx.problem, ctx.problem.suppliers, ctx.problem.arcs
    arc_of = np.flatnonzero(a.demand == d)
    if len(arc_of):
        tie = np.asarray(TIES, dtype=object)[a.tie[arc_of]]
        near = _Near(
            a.supplier[arc_of], a.km[arc_of], tie, a.weight[arc_of], ctx.flow[arc_of], True
        )
    else:
        c = int(p.demand_community[d])
        owner = np.repeat(np.arange(len(s)), np.diff(s.skill_ptr))
        cand = np.unique(owner[s.skill_cat == p.demand_category[d]])
        km = haversine_km(
            s.lat[cand],
            s.lon[cand],
            np.full(len(cand), p.community_lat[c]),
            np.full(len(cand), p.community_lon[c]),
        )
        pw, tc = ctx.params.priority_weight, ctx.params.travel_cost_per_km
        score = pw * p.demand_priority[d] - tc * km
        none = np.full(len(cand), "", dtype=object)
        near = _Near(cand, km, none, score, np.zeros(len(cand), dtype=np.int64), False)
    order = np.lexsort((s.row[near.sup], s.kind[near.sup], np.round(near.km, 9)))[:n]
    return dataclasses.replace(
        near,
        sup=near.sup[order],
        km=near.km[order],
        tie=near.tie[order],
        score=near.score[order],
        here=near.here[order],
    )


__all__: Sequence[str] = (
    "NEAREST_COLUMNS",
    "DemandExplanation",
    "SupplierRows",
    "demand_explanation",
    "demand_explanations",
    "explain_demand",
    "explain_demands",
    "supplier_rows",
    "unmet_demands",
)
