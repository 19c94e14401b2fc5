"""Candidate arcs: a tied supplier with the skill, to each demand of the community.

:func:`build_problem` indexes a dataset (:func:`index_dataset`: communities, units,
categories, suppliers, demands and the pairings and alliances as arrays), applies the
tie rules of :mod:`matcher.model.ties` and expands each tied (supplier, community) pair
to the demands there in the supplier's skills (:func:`skill_arcs`), each arc scored by
:func:`hour_score`. The column-generation solver keeps the arcs implicit and starts
from the :class:`TieIndex` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from matcher.inputs.dataset import Dataset
from matcher.model.arrays import ArrayRows, IntArray, csr, csr_expand, id_codes, id_index
from matcher.model.geo import haversine_km
from matcher.model.suppliers import (
    FloatArray,
    Int8Array,
    ObjectArray,
    Suppliers,
    index_suppliers,
)
from matcher.model.ties import (
    alliance_communities,
    alliance_tie,
    first_ties,
    pairing_tie,
    proximity_tie,
    residence_tie,
)
from matcher.params import PlanParams

__all__ = [
    "Arcs",
    "Indexed",
    "Problem",
    "TieIndex",
    "build_problem",
    "hour_score",
    "index_dataset",
    "reachable_supply",
    "skill_arcs",
]

_I = np.int64


@dataclass(frozen=True)
class Arcs(ArrayRows):
    """Candidate arcs: a supplier that may give hours to a demand.

    Sorted by supplier, then community, then demand. ``weight`` is what one hour on the
    arc adds to the objective; arcs with ``weight <= 0`` are kept (they explain
    ``too_far``) but never carry hours.
    """

    supplier: IntArray
    demand: IntArray
    km: FloatArray
    tie: Int8Array
    weight: FloatArray


@dataclass(frozen=True)
class Indexed:
    """A dataset's communities, units, categories, suppliers and demands as arrays."""

    params: PlanParams
    community_ids: ObjectArray
    community_lat: FloatArray
    community_lon: FloatArray
    community_district: ObjectArray
    unit_ids: ObjectArray
    categories: tuple[str, ...]
    suppliers: Suppliers
    demand_ids: ObjectArray
    demand_community: IntArray
    demand_category: IntArray
    demand_hours: IntArray
    demand_priority: np.ndarray


@dataclass(frozen=True)
class Problem(Indexed):
    """A dataset turned into arrays for the solvers, with its candidate arcs.

    Build one with :func:`build_problem`.
    """

    arcs: Arcs


def skill_arcs(
    suppliers: Suppliers,
    sup: np.ndarray,
    comm: np.ndarray,
    demand_community: np.ndarray,
    demand_category: np.ndarray,
    n_categories: int,
) -> tuple[IntArray, IntArray]:
    """Eligibility by skill: expand tied (supplier, community) pairs to the demands there
    whose category is among the supplier's skills.

    Returns ``(pair_index, demand)``: which tied pair each arc comes from, and its demand,
    sorted by pair, then demand (so arcs follow the pairs' supplier-community order, then
    the demands' file order, whatever order the supplier's skills were listed in).
    """
    n_cells = int(demand_community.max(initial=-1)) + 1
    cell = demand_community * n_categories + demand_category
    cell_ptr, cell_dem = csr(cell, np.arange(len(cell), dtype=_I), n_cells * n_categories)
    owner, cat = csr_expand(suppliers.skill_ptr, suppliers.skill_cat, sup)
    comm_of = comm[owner]
    # Communities with no demand lie beyond the demand CSR; they yield no arcs.
    inside = comm_of < n_cells
    owner, cat, comm_of = owner[inside], cat[inside], comm_of[inside]
    arc_owner, dem = csr_expand(cell_ptr, cell_dem, comm_of * n_categories + cat)
    pair = owner[arc_owner]
    # Expansion went skill by skill; restore the order ``Arcs`` promises.
    order = np.lexsort((dem, pair))
    return pair[order], dem[order]


def hour_score(priority: np.ndarray, km: np.ndarray, params: PlanParams) -> np.ndarray:
    """What one hour adds to the objective: ``priority_weight * priority - cost * km``."""
    return params.priority_weight * priority - params.travel_cost_per_km * km


@dataclass(frozen=True)
class TieIndex(Indexed):
    """A dataset indexed for eligibility, before any candidate arc is found.

    :func:`build_problem` expands it to every candidate arc; the column-generation solver
    (:mod:`matcher.solvers.columns`) keeps the arcs implicit and prices them instead.

    Attributes
    ----------
    pair_unit, pair_comm
        Pairings as unit and community indices.
    alliance_unit, alliance_comm
        Unit-community pairs reached through alliances (unique).
    """

    pair_unit: IntArray
    pair_comm: IntArray
    alliance_unit: IntArray
    alliance_comm: IntArray

    def problem(self, arcs: Arcs) -> Problem:
        """The :class:`Problem` of this index with the given candidate arcs."""
        shared = {f.name: getattr(self, f.name) for f in fields(Indexed)}
        return Problem(**shared, arcs=arcs)


def index_dataset(dataset: Dataset, params: PlanParams | None = None) -> TieIndex:
    """Index a dataset's suppliers, demands and ties as arrays (no candidate arcs yet).

    Parameters
    ----------
    dataset
        A validated dataset.
    params
        Run parameters (defaults if ``None``).
    """
    params = params or PlanParams()
    comms, units, demands = dataset.communities, dataset.units, dataset.demands
    comm_index = id_index(comms["community_id"])
    unit_index = id_index(units["unit_id"])
    cat_names = sorted(
        set(demands["category"])
        | {c for text in dataset.cadres["skills"] for c in text.split(";") if c}
        | {c for text in dataset.resources["categories"] for c in text.split(";") if c}
    )
    categories = {c: i for i, c in enumerate(cat_names)}
    suppliers = index_suppliers(dataset, params, categories)
    n_units = len(units)

    pairings = dataset.pairings
    pair_unit = id_codes(pairings["unit_id"], unit_index)
    pair_comm = id_codes(pairings["community_id"], comm_index)

    places = pd.MultiIndex.from_arrays([comms["district"], comms["street"]]).unique()
    comm_place = places.get_indexer(pd.MultiIndex.from_arrays([comms["district"], comms["street"]]))
    alliances = dataset.alliances
    all_place = places.get_indexer(
        pd.MultiIndex.from_arrays([alliances["district"], alliances["street"]])
    ).astype(_I)
    members = dataset.alliance_members
    mem_alliance = id_codes(members["alliance_id"], id_index(alliances["alliance_id"]))
    mem_unit = id_codes(members["unit_id"], unit_index)
    # Alliances of a street no community has (-1) cover nothing.
    covering = all_place[mem_alliance] >= 0 if len(mem_alliance) else np.zeros(0, bool)
    au, ac = alliance_communities(
        mem_alliance[covering],
        mem_unit[covering],
        np.where(all_place < 0, 0, all_place),
        comm_place.astype(_I),
        n_units,
    )
    return TieIndex(
        params=params,
        community_ids=comms["community_id"].to_numpy(object),
        community_lat=comms["lat"].to_numpy(float),
        community_lon=comms["lon"].to_numpy(float),
        community_district=comms["district"].to_numpy(object),
        unit_ids=units["unit_id"].to_numpy(object),
        categories=tuple(cat_names),
        suppliers=suppliers,
        demand_ids=demands["demand_id"].to_numpy(object),
        demand_community=id_codes(demands["community_id"], comm_index),
        demand_category=demands["category"].map(categories).to_numpy(_I),
        demand_hours=demands["hours"].to_numpy(_I),
        demand_priority=demands["priority"].to_numpy(_I),
        pair_unit=pair_unit,
        pair_comm=pair_comm,
        alliance_unit=au,
        alliance_comm=ac,
    )


def build_problem(dataset: Dataset, params: PlanParams | None = None) -> Problem:
    """Index a dataset for the solvers (as :func:`index_dataset` does) and find every
    candidate arc.

    Examples
    --------
    >>> from matcher.inputs.dataset import load_dataset
    >>> p = build_problem(load_dataset("tests/data/example/dataset"))
    >>> len(p.suppliers), len(p.demand_ids)
    (6, 5)
    """
    ix = index_dataset(dataset, params)
    params = ix.params
    suppliers = ix.suppliers
    c_lat, c_lon = ix.community_lat, ix.community_lon
    n_comm, n_units = len(ix.community_ids), len(ix.unit_ids)
    rules = [
        residence_tie(suppliers),
        pairing_tie(suppliers, ix.pair_unit, ix.pair_comm, n_units),
        alliance_tie(suppliers, ix.alliance_unit, ix.alliance_comm, n_units),
        proximity_tie(suppliers, c_lat, c_lon),
    ]
    sup, comm, tie = first_ties(rules, n_comm)

    d_comm, d_prio = ix.demand_community, ix.demand_priority
    pair_km = haversine_km(suppliers.lat[sup], suppliers.lon[sup], c_lat[comm], c_lon[comm])
    pair_of_arc, dem = skill_arcs(
        suppliers, sup, comm, d_comm, ix.demand_category, len(ix.categories)
    )
    km = pair_km[pair_of_arc]
    arcs = Arcs(
        supplier=sup[pair_of_arc],
        demand=dem,
        km=km,
        tie=tie[pair_of_arc],
        weight=hour_score(d_prio[dem], km, params),
    )
    return ix.problem(arcs)


def reachable_supply(problem: Problem) -> pd.DataFrame:
    """Supply that can reach each community, against its demand, per category.

    For every (community, category) with demand: the hours demanded, and the hours of
    the distinct suppliers with that skill tied to the community (a supplier tied to
    several communities counts in each, so the figure is an upper bound on what the
    community can get).

    Returns
    -------
    DataFrame
        ``community_id, category, hours_demanded, suppliers, supply_hours, ratio``.
    """
    d = problem
    n_cat = len(d.categories)
    cell = d.demand_community * n_cat + d.demand_category
    demanded = pd.Series(d.demand_hours).groupby(cell).sum()
    arc_cell = cell[d.arcs.demand]
    key = np.unique(arc_cell * len(d.suppliers) + d.arcs.supplier)
    sup_cell, sup = key // max(len(d.suppliers), 1), key % max(len(d.suppliers), 1)
    supply = pd.Series(d.suppliers.hours[sup]).groupby(sup_cell).agg(["sum", "count"])
    out = pd.DataFrame({"hours_demanded": demanded})
    out["suppliers"] = supply["count"].reindex(out.index).fillna(0).astype(_I)
    out["supply_hours"] = supply["sum"].reindex(out.index).fillna(0).astype(_I)
    cells = out.index.to_numpy(_I)
    out.insert(0, "category", np.asarray(d.categories, dtype=object)[cells % n_cat])
    out.insert(0, "community_id", d.community_ids[cells // n_cat])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = np.where(
            out["hours_demanded"] > 0, out["supply_hours"] / out["hours_demanded"], np.nan
        )
    return out.reset_index(drop=True)
