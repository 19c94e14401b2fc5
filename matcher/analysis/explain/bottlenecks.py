"""Bottlenecks: the marginal value of one more hour of skill s in district D
(:func:`bottlenecks`).

Supply is held by suppliers, not by districts, so the hour has to be placed at a
supplier:

* a supplier *belongs to* a district (:func:`supplier_districts`): a cadre to its home
  community's district, else to its unit's; a service resource to its unit's;
* *one more hour of skill s at supplier x* is one more supplier exactly like x (the same
  unit, home, position and radius, hence the same ties and distances) with skill s only
  and one hour. For a supplier whose only skill is s this is the same as giving x one
  more hour;
* the marginal value of (s, D) is the largest gain of the optimal labour objective from
  one more hour of skill s at any one supplier of D with skill s; 0 when the hour would
  stay unused. It is exact (to the solver's rounding of scores, ``1/cost_scale`` per
  hour): an integer gain of the re-solved plan, not a rate.

It is computed from the optimal flow's potentials (``method="duals"``, see
:mod:`matcher.analysis.explain.residual`) or by re-solving (``method="resolve"``; see
:mod:`matcher.analysis.explain.marginal`). The path behind the best arc says which demand
the new hour serves first, which hours move, and whose covered hours rise
(``gaining_demand_id``; empty when the new hour only replaces a worse one).

Marginal values are defined for the labour flow; a plan whose labour model has integer
rules (``min_hours``, ``max_communities_per_cadre``, ``coverage_floor``) has none and
:func:`bottlenecks` refuses it. Funds and lead units do not change the labour flow.

>>> import matcher
>>> table = bottlenecks(matcher.plan("tests/data/example/dataset"))
>>> list(table.columns[:4])
['rank', 'skill', 'district', 'marginal_value']
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.analysis.explain.context import PlanContext, plan_context
from matcher.analysis.explain.marginal import Best, best_by_duals, best_by_resolve
from matcher.analysis.explain.params import ExplainParams
from matcher.analysis.explain.residual import Residual, path_moves, residual_network
from matcher.analysis.explain.values import records
from matcher.errors import ExplainError
from matcher.i18n import N_, Text
from matcher.inputs.dataset import Dataset
from matcher.model.arcs import Problem
from matcher.model.rules import active_rules
from matcher.model.suppliers import SUPPLIER_KINDS
from matcher.plans.result import Plan

BOTTLENECK_COLUMNS = (
    "rank",
    "skill",
    "district",
    "marginal_value",
    "suppliers",
    "supplier_hours",
    "supplier_kind",
    "supplier_id",
    "demand_id",
    "community_id",
    "gaining_demand_id",
    "gaining_community_id",
    "moves",
)


def supplier_districts(problem: Problem, dataset: Dataset) -> npt.NDArray[np.object_]:
    """The district each supplier belongs to: a cadre's home community's, else its unit's;
    a service resource's unit's."""
    unit_district = dataset.units["district"].astype(str).to_numpy(object)
    s = problem.suppliers
    out = unit_district[s.unit].copy()
    home = s.home >= 0
    out[home] = problem.community_district[s.home[home]]
    return np.asarray(out, dtype=object)


def bottlenecks(
    plan: Plan | str | Path,
    dataset: Dataset | str | Path | None = None,
    params: ExplainParams | None = None,
) -> pd.DataFrame:
    """The marginal value of one more hour of each skill in each district, ranked.

    See the module's notes for the exact definition. One row per (skill, district)
    with at least one supplier of that skill in that district.

    Parameters
    ----------
    plan, dataset
        As for :func:`~matcher.analysis.explain.assignment_values`; the plan must be
        optimal.
    params
        ``method``: ``"duals"`` (default) or ``"resolve"``.

    Returns
    -------
    DataFrame
        ``rank``, ``skill``, ``district``, ``marginal_value`` (the objective's gain),
        ``suppliers`` and ``supplier_hours`` of that skill there, the supplier to add the
        hour at (``supplier_kind``, ``supplier_id``), the demand the hour serves first
        (``demand_id``, ``community_id``), the demand whose covered hours rise
        (``gaining_demand_id``, ``gaining_community_id``; empty when the new hour only
        replaces a worse one) and the hours that move (``moves``). Empty supplier and
        demand columns where the value is 0. Sorted by value (largest first), then
        district and skill.

    Raises
    ------
    ExplainError
        If the plan's labour model has integer rules (marginal values are those of the
        labour flow), or the plan is not optimal.
    """
    return rank_bottlenecks(plan_context(plan, dataset), params or ExplainParams())[0]


def rank_bottlenecks(
    ctx: PlanContext, params: ExplainParams
) -> tuple[pd.DataFrame, list[tuple[str, ...]]]:
    """:func:`bottlenecks`, and per row every demand it names (``demand_id``,
    ``gaining_demand_id`` and the demands of ``moves``, in order of mention), for
    readers scoped to districts.

    Raises
    ------
    ExplainError
        As :func:`bottlenecks` does.
    """
    p = ctx.problem
    res = _optimal_residual(ctx)
    districts = supplier_districts(p, ctx.dataset)
    cells = _skill_cells(p, districts)
    a = p.arcs
    useful = np.flatnonzero((a.weight > 0) & (p.demand_hours[a.demand] > 0))
    best: Best
    if params.method == "duals":
        best = best_by_duals(p, res, districts, useful)
    else:
        best = best_by_resolve(ctx, districts, useful, cells)
    rows = [
        _bottleneck_row(p, res, r, best.get((str(r["district"]), int(r["cat"]))))
        for r in records(cells)
    ]
    out = pd.DataFrame(rows, columns=[*(c for c in BOTTLENECK_COLUMNS if c != "rank"), "_named"])
    out = out.sort_values(
        ["marginal_value", "district", "skill"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    named_rows = [tuple(x) for x in out.pop("_named")]
    return out, named_rows


def _optimal_residual(ctx: PlanContext) -> Residual:
    """The residual network of the plan's flow, for a plan that has marginal values."""
    rules = active_rules(ctx.dataset, ctx.params)
    if rules.labour:
        names = [r for r in rules.names() if r not in ("funds", "lead_units")]
        raise ExplainError(
            Text(
                N_(
                    "marginal values are those of the labour flow; this plan's labour "
                    "model has integer rules ({rules}), so it has none"
                ),
                rules=", ".join(names),
            )
        )
    res = residual_network(ctx.problem, ctx.flow)
    if res is None:
        raise ExplainError(
            Text(
                N_(
                    "the plan's flow is not optimal for this dataset and its parameters "
                    "(one more hour could be moved for more value), so its marginal values "
                    "are undefined"
                )
            )
        )
    return res


def _skill_cells(p: Problem, districts: npt.NDArray[np.object_]) -> pd.DataFrame:
    """Every (district, category index ``cat``) with a supplier of that skill there, with
    how many ``suppliers`` and their ``supplier_hours``; sorted."""
    s = p.suppliers
    owner = np.repeat(np.arange(len(s)), np.diff(s.skill_ptr))
    cell = pd.DataFrame({"district": districts[owner], "cat": s.skill_cat, "sup": owner})
    cell["hours"] = s.hours[owner]
    return (
        cell.groupby(["district", "cat"], sort=True)
        .agg(suppliers=("sup", "nunique"), supplier_hours=("hours", "sum"))
        .reset_index()
    )


def _bottleneck_row(
    p: Problem, res: Residual, cell: dict[str, Any], found: tuple[float, int] | None
) -> dict[str, Any]:
    """One row of the table: a skill cell, and where its extra hour goes when it adds
    value (``found``: the gain and the arc it takes first)."""
    row: dict[str, Any] = {
        "skill": p.categories[int(cell["cat"])],
        "district": cell["district"],
        "marginal_value": 0.0,
        "suppliers": int(cell["suppliers"]),
        "supplier_hours": int(cell["supplier_hours"]),
        "supplier_kind": "",
        "supplier_id": "",
        "demand_id": "",
        "community_id": "",
        "gaining_demand_id": "",
        "gaining_community_id": "",
        "moves": "",
        "_named": (),
    }
    if found is None:
        return row
    gain, arc = found
    s, a = p.suppliers, p.arcs
    named: list[int] = []
    moves, gaining = path_moves(p, res, arc, named)
    row["_named"] = tuple(dict.fromkeys(str(p.demand_ids[d]) for d in named))
    d = int(a.demand[arc])
    row.update(
        marginal_value=round(gain, 6),
        supplier_kind=SUPPLIER_KINDS[int(s.kind[a.supplier[arc]])],
        supplier_id=str(s.ids[a.supplier[arc]]),
        demand_id=str(p.demand_ids[d]),
        community_id=str(p.community_ids[p.demand_community[d]]),
        moves="; ".join(moves),
    )
    if gaining >= 0:
        row["gaining_demand_id"] = str(p.demand_ids[gaining])
        row["gaining_community_id"] = str(p.community_ids[p.demand_community[gaining]])
    return row


__all__: Sequence[str] = (
    "BOTTLENECK_COLUMNS",
    "bottlenecks",
    "rank_bottlenecks",
    "supplier_districts",
)
