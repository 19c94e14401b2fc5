"""A plan against its problem: the indexed dataset, its candidate arcs and the hours the
plan puts on each (:class:`PlanContext`, made by :func:`plan_context`).

Every explanation starts here. The plan is read through :func:`matcher.plans.io.as_plan`
(a :class:`~matcher.plans.result.Plan` or a plan folder) and its dataset through
:func:`matcher.plans.io.plan_dataset`. One demand's explanation needs only the plan's arcs
and those into that demand (:func:`problem_near`), not every candidate arc of the city.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.errors import ExplainError
from matcher.i18n import N_, Text
from matcher.inputs.dataset import Dataset
from matcher.model.arcs import (
    Arcs,
    Indexed,
    Problem,
    TieIndex,
    build_problem,
    hour_score,
    index_dataset,
)
from matcher.model.arrays import csr_expand
from matcher.model.geo import haversine_km
from matcher.model.suppliers import SUPPLIER_KINDS
from matcher.model.ties import ALLIANCE, PAIRING, PROXIMITY, RESIDENCE
from matcher.params import PlanParams
from matcher.plans.io import as_plan, plan_dataset
from matcher.plans.result import Plan

_Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PlanContext:
    """A plan with its dataset, parameters, indexed problem and flow on every arc.

    Attributes
    ----------
    tables
        The plan (its ``assignments`` and ``demand_status``).
    dataset
        The plan's dataset.
    params
        The plan's parameters.
    problem
        The dataset indexed with the plan's parameters, with its candidate arcs (all of
        them, or those :func:`problem_near` lists).
    flow
        Hours the plan puts on each of ``problem.arcs``.
    """

    tables: Plan
    dataset: Dataset
    params: PlanParams
    problem: Problem
    flow: _Ints

    @property
    def used(self) -> _Ints:
        """Hours each supplier gives."""
        a = self.problem.arcs
        n = len(self.problem.suppliers)
        return np.bincount(a.supplier, weights=self.flow, minlength=n).astype(np.int64)

    @property
    def covered(self) -> _Ints:
        """Hours each demand gets."""
        a = self.problem.arcs
        n = len(self.problem.demand_ids)
        return np.bincount(a.demand, weights=self.flow, minlength=n).astype(np.int64)


def plan_context(
    plan: Plan | str | Path,
    dataset: Dataset | str | Path | None,
    demand_id: str | None = None,
) -> PlanContext:
    """The plan against its problem; with ``demand_id``, a problem whose arcs are only
    the plan's and those into that demand (all one demand's explanation reads).

    Raises
    ------
    ExplainError
        If an assignment is no candidate arc of the dataset (see :func:`plan_flow`).
    """
    tables = as_plan(plan)
    ds = plan_dataset(tables, dataset)
    params = tables.params
    if demand_id is None:
        problem = build_problem(ds, params)
    else:
        problem = problem_near(ds, params, tables.assignments, demand_id)
    return PlanContext(tables, ds, params, problem, plan_flow(problem, tables.assignments))


def problem_near(
    dataset: Dataset, params: PlanParams, assignments: pd.DataFrame, demand_id: str
) -> Problem:
    """The problem with only some of its candidate arcs: those the plan's assignments
    use and those into ``demand_id``. Each is the arc :func:`build_problem` lists, found
    by the same rules (the first tie that holds, the skill, the same haversine and
    score), so what a demand's explanation says is the same; listing every arc instead
    grows with suppliers times communities in reach (18 GB at generator scale 1)."""
    ix = index_dataset(dataset, params)
    sup, dem = _pairs_near(ix, assignments, demand_id)
    return ix.problem(_tied_arcs(ix, params, sup, dem))


def _supplier_index(problem: Indexed) -> dict[tuple[str, str], int]:
    """Each supplier's position by its (kind, id)."""
    s = problem.suppliers
    return {
        (SUPPLIER_KINDS[int(k)], str(i)): j
        for j, (k, i) in enumerate(zip(s.kind, s.ids, strict=True))
    }


def _pairs_near(ix: TieIndex, assignments: pd.DataFrame, demand_id: str) -> tuple[_Ints, _Ints]:
    """(supplier, demand) pairs that may be arcs, sorted and once each: the plan's
    assignments (those naming a known supplier and demand; :func:`plan_flow` reports
    the rest) and every supplier with ``demand_id``."""
    sup_index = _supplier_index(ix)
    dem_index = {str(d): j for j, d in enumerate(ix.demand_ids)}
    pairs = [
        (sup_index.get((str(k), str(i)), -1), dem_index.get(str(d), -1))
        for k, i, d in zip(
            assignments["supplier_kind"],
            assignments["supplier_id"],
            assignments["demand_id"],
            strict=True,
        )
    ]
    sup = np.asarray([p[0] for p in pairs], dtype=np.int64)
    dem = np.asarray([p[1] for p in pairs], dtype=np.int64)
    known = (sup >= 0) & (dem >= 0)
    sup, dem = sup[known], dem[known]
    if demand_id in dem_index:
        n_s = len(ix.suppliers)
        sup = np.concatenate((sup, np.arange(n_s, dtype=np.int64)))
        dem = np.concatenate((dem, np.full(n_s, dem_index[demand_id], dtype=np.int64)))
    n_d = max(len(ix.demand_ids), 1)
    key = np.unique(sup * n_d + dem)
    return key // n_d, key % n_d


def _tied_arcs(ix: TieIndex, params: PlanParams, sup: _Ints, dem: _Ints) -> Arcs:
    """The pairs that are candidate arcs, as :func:`build_problem` finds them: the
    supplier has the demand's skill and a tie holds (the first, in the spec's order, as
    ``first_ties`` keeps it), with the same distance and hour score."""
    s = ix.suppliers
    comm = ix.demand_community[dem]
    # The skill: the demand's category among the supplier's.
    owner, cat = csr_expand(s.skill_ptr, s.skill_cat, sup)
    skilled = np.zeros(len(sup), dtype=bool)
    skilled[owner[cat == ix.demand_category[dem][owner]]] = True
    sup, dem, comm = sup[skilled], dem[skilled], comm[skilled]
    n_c = max(len(ix.community_ids), 1)
    unit_comm = s.unit[sup].astype(np.int64) * n_c + comm
    paired = np.isin(unit_comm, ix.pair_unit.astype(np.int64) * n_c + ix.pair_comm)
    allied = np.isin(unit_comm, ix.alliance_unit.astype(np.int64) * n_c + ix.alliance_comm)
    km = haversine_km(s.lat[sup], s.lon[sup], ix.community_lat[comm], ix.community_lon[comm])
    near = km <= s.radius_km[sup]
    tie = np.select(
        [s.home[sup] == comm, paired, allied, near],
        [RESIDENCE, PAIRING, ALLIANCE, PROXIMITY],
        default=-1,
    ).astype(np.int8)
    ok = tie >= 0
    sup, dem, km, tie = sup[ok], dem[ok], km[ok], tie[ok]
    weight = hour_score(ix.demand_priority[dem], km, params)
    return Arcs(supplier=sup, demand=dem, km=km, tie=tie, weight=weight)


def plan_flow(problem: Problem, assignments: pd.DataFrame) -> _Ints:
    """Hours on each of ``problem.arcs`` from a plan's assignments.

    Raises
    ------
    ExplainError
        If an assignment is no arc of ``problem`` (no such supplier, demand or tie).
    """
    n_d = max(len(problem.demand_ids), 1)
    sup_index = _supplier_index(problem)
    dem_index = {str(d): j for j, d in enumerate(problem.demand_ids)}
    keys = problem.arcs.supplier * n_d + problem.arcs.demand
    order = np.argsort(keys, kind="stable")
    flow = np.zeros(len(keys), dtype=np.int64)
    rows = zip(
        assignments["supplier_kind"].astype(str),
        assignments["supplier_id"].astype(str),
        assignments["demand_id"].astype(str),
        assignments["hours"],
        strict=True,
    )
    for row, (kind, sid, did, hours) in enumerate(rows, start=2):
        sup, dem = sup_index.get((kind, sid)), dem_index.get(did)
        pos = -1
        if sup is not None and dem is not None:
            key = sup * n_d + dem
            at = int(np.searchsorted(keys, key, sorter=order))
            if at < len(keys) and keys[order[at]] == key:
                pos = int(order[at])
        if pos < 0:
            raise ExplainError(
                Text(
                    N_(
                        "assignments.csv, row {row}: {kind} {supplier} cannot serve demand "
                        "{demand} in this dataset with the plan's parameters (no such "
                        "supplier, demand or tie); give the dataset the plan was made from"
                    ),
                    row=row,
                    kind=kind,
                    supplier=sid,
                    demand=did,
                )
            )
        flow[pos] += int(hours)
    return flow


__all__: Sequence[str] = ("PlanContext", "plan_context", "plan_flow", "problem_near")
