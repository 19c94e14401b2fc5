"""Who may serve whom: supplier locations, the four tie rules, and candidate arcs.

A supplier (a cadre, or a ``service`` resource) may give hours to a demand when the
demand's category is among its skills and a tie holds between the supplier and the
demand's community. The ties are tried in the spec's order and an arc reports the first
that holds:

1. :func:`residence_tie` -- the cadre lives in the community;
2. :func:`pairing_tie` -- the supplier's unit is paired with the community;
3. :func:`alliance_tie` -- the supplier's unit belongs to an alliance of the community's
   district and street;
4. :func:`proximity_tie` -- the community is within the supplier's radius.

Everything here works on arrays; candidate arcs number in the tens of millions at city
scale, far beyond what a graph library should hold.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from matcher.inputs.dataset import Dataset
from matcher.model.geo import haversine_km, pairs_within, unit_xyz
from matcher.params import PlanParams

__all__ = [
    "ALLIANCE",
    "CADRE",
    "PAIRING",
    "PROXIMITY",
    "RESIDENCE",
    "SERVICE",
    "SUPPLIER_KINDS",
    "TIES",
    "Arcs",
    "Indexed",
    "Problem",
    "Suppliers",
    "TieIndex",
    "alliance_communities",
    "alliance_tie",
    "build_problem",
    "csr",
    "csr_expand",
    "first_ties",
    "hour_score",
    "index_dataset",
    "pairing_tie",
    "proximity_tie",
    "reachable_supply",
    "residence_tie",
    "skill_arcs",
    "supplier_locations",
]

TIES: tuple[str, ...] = ("residence", "pairing", "alliance", "proximity")
"""The tie names, in the order they are tried; an arc's ``tie`` code indexes this."""

RESIDENCE, PAIRING, ALLIANCE, PROXIMITY = range(4)
SUPPLIER_KINDS: tuple[str, ...] = ("cadre", "service")
CADRE, SERVICE = 0, 1

_I = np.int64


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=_I), np.zeros(0, dtype=_I)


def csr(rows: np.ndarray, items: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Group ``items`` by ``rows`` (values in ``0..n_rows-1``) as CSR ``(ptr, items)``.

    Items keep their relative order within each row (stable).
    """
    order = np.argsort(rows, kind="stable")
    counts = np.bincount(rows, minlength=n_rows) if len(rows) else np.zeros(n_rows, dtype=_I)
    ptr = np.zeros(n_rows + 1, dtype=_I)
    np.cumsum(counts, out=ptr[1:])
    return ptr, items[order].astype(_I, copy=False)


def csr_expand(
    ptr: np.ndarray, items: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each entry of ``rows``, every item of that CSR row.

    Returns ``(owner, item)``: ``owner`` indexes ``rows``; both ``int64``.

    Examples
    --------
    >>> ptr, items = np.array([0, 2, 3]), np.array([7, 8, 9])
    >>> [a.tolist() for a in csr_expand(ptr, items, np.array([1, 0]))]
    [[0, 1, 1], [9, 7, 8]]
    """
    rows = rows.astype(_I, copy=False)
    counts = ptr[rows + 1] - ptr[rows]
    total = int(counts.sum())
    if total == 0:
        return _empty()
    owner = np.repeat(np.arange(len(rows), dtype=_I), counts)
    ends = np.cumsum(counts)
    within = np.arange(total, dtype=_I) - np.repeat(ends - counts, counts)
    return owner, items[np.repeat(ptr[rows], counts) + within]


@dataclass(frozen=True)
class Suppliers:
    """Every supplier as arrays: cadres first (in file order), then service resources.

    Attributes
    ----------
    kind
        ``CADRE`` or ``SERVICE`` (``int8``).
    ids
        Cadre or resource ids.
    row
        The supplier's row in its own table (0-based).
    unit
        Index of the supplier's unit in ``Problem.unit_ids``.
    hours
        Hours the supplier can give.
    lat, lon
        Where the supplier stands (see :func:`supplier_locations`).
    home
        Index of the cadre's home community, or -1.
    radius_km
        The proximity radius: ``max_travel_km``, or a service's ``range_km``.
    skill_ptr, skill_cat
        CSR of the supplier's skills as category indices.
    """

    kind: np.ndarray
    ids: np.ndarray
    row: np.ndarray
    unit: np.ndarray
    hours: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    home: np.ndarray
    radius_km: np.ndarray
    skill_ptr: np.ndarray
    skill_cat: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Arcs:
    """Candidate arcs: a supplier that may give hours to a demand.

    Sorted by supplier, then community, then demand. ``weight`` is what one hour on the
    arc adds to the objective; arcs with ``weight <= 0`` are kept (they explain
    ``too_far``) but never carry hours.
    """

    supplier: np.ndarray
    demand: np.ndarray
    km: np.ndarray
    tie: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.supplier)


@dataclass(frozen=True)
class Indexed:
    """A dataset's communities, units, categories, suppliers and demands as arrays."""

    params: PlanParams
    community_ids: np.ndarray
    community_lat: np.ndarray
    community_lon: np.ndarray
    community_district: np.ndarray
    unit_ids: np.ndarray
    categories: tuple[str, ...]
    suppliers: Suppliers
    demand_ids: np.ndarray
    demand_community: np.ndarray
    demand_category: np.ndarray
    demand_hours: np.ndarray
    demand_priority: np.ndarray


@dataclass(frozen=True)
class Problem(Indexed):
    """A dataset turned into arrays for the solvers, with its candidate arcs.

    Build one with :func:`build_problem`.
    """

    arcs: Arcs


def _index(ids: pd.Series) -> dict[str, int]:
    return {v: i for i, v in enumerate(ids.tolist())}


def _codes(values: pd.Series, index: dict[str, int]) -> np.ndarray:
    """Positions of ``values`` in ``index``; -1 for an empty cell."""
    mapped = values.map(index)
    return mapped.fillna(-1).to_numpy(dtype=_I)


def supplier_locations(
    dataset: Dataset,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where each supplier stands, per the spec: cadres first, then service resources.

    A cadre stands at its own ``lat``/``lon`` if given, else at its home community,
    else at its unit. A service resource stands at its unit.

    Returns
    -------
    (cadre_lat, cadre_lon, service_lat, service_lon)
        ``float64`` arrays in file order (services: only ``kind == "service"`` rows).
    """
    cadres, units, comms = dataset.cadres, dataset.units, dataset.communities
    unit_idx = _codes(cadres["unit_id"], _index(units["unit_id"]))
    home_idx = _codes(cadres["home_community_id"], _index(comms["community_id"]))
    ulat, ulon = units["lat"].to_numpy(float), units["lon"].to_numpy(float)
    clat, clon = comms["lat"].to_numpy(float), comms["lon"].to_numpy(float)
    lat, lon = cadres["lat"].to_numpy(float).copy(), cadres["lon"].to_numpy(float).copy()
    own = ~np.isnan(lat)
    at_home = ~own & (home_idx >= 0)
    at_unit = ~own & ~at_home
    lat[at_home], lon[at_home] = clat[home_idx[at_home]], clon[home_idx[at_home]]
    lat[at_unit], lon[at_unit] = ulat[unit_idx[at_unit]], ulon[unit_idx[at_unit]]
    res = dataset.resources
    res = res[res["kind"] == "service"]
    r_unit = _codes(res["unit_id"], _index(units["unit_id"]))
    return lat, lon, ulat[r_unit], ulon[r_unit]


def _suppliers(dataset: Dataset, params: PlanParams, categories: dict[str, int]) -> Suppliers:
    cadres, units, comms = dataset.cadres, dataset.units, dataset.communities
    services = dataset.resources
    services = services[services["kind"] == "service"].reset_index(drop=True)
    unit_index = _index(units["unit_id"])
    c_lat, c_lon, s_lat, s_lon = supplier_locations(dataset)
    n_c, n_s = len(cadres), len(services)
    all_cats = np.arange(len(categories), dtype=_I)

    owners: list[np.ndarray] = []
    cats: list[np.ndarray] = []
    for offset, lists in ((0, cadres["skills"]), (n_c, services["categories"])):
        for i, text in enumerate(lists.tolist()):
            # A service with no categories serves any category (the spec's "empty = any").
            codes = (
                np.array([categories[c] for c in text.split(";")], dtype=_I) if text else all_cats
            )
            owners.append(np.full(len(codes), offset + i, dtype=_I))
            cats.append(codes)
    owner = np.concatenate(owners) if owners else np.zeros(0, dtype=_I)
    cat = np.concatenate(cats) if cats else np.zeros(0, dtype=_I)
    skill_ptr, skill_cat = csr(owner, cat, n_c + n_s)

    range_km = services["range_km"].to_numpy(float)
    radius = np.concatenate(
        (
            np.full(n_c, params.max_travel_km),
            np.where(np.isnan(range_km), params.max_travel_km, range_km),
        )
    )
    return Suppliers(
        kind=np.concatenate((np.full(n_c, CADRE, np.int8), np.full(n_s, SERVICE, np.int8))),
        ids=np.concatenate(
            (cadres["cadre_id"].to_numpy(object), services["resource_id"].to_numpy(object))
        ),
        row=np.concatenate((np.arange(n_c, dtype=_I), np.arange(n_s, dtype=_I))),
        unit=np.concatenate(
            (_codes(cadres["unit_id"], unit_index), _codes(services["unit_id"], unit_index))
        ),
        hours=np.concatenate(
            (
                cadres["hours"].to_numpy(_I),
                np.rint(services["amount"].to_numpy(float)).astype(_I),
            )
        ),
        lat=np.concatenate((c_lat, s_lat)),
        lon=np.concatenate((c_lon, s_lon)),
        home=np.concatenate(
            (
                _codes(cadres["home_community_id"], _index(comms["community_id"])),
                np.full(n_s, -1, dtype=_I),
            )
        ),
        radius_km=radius,
        skill_ptr=skill_ptr,
        skill_cat=skill_cat,
    )


def residence_tie(suppliers: Suppliers) -> tuple[np.ndarray, np.ndarray]:
    """Tie 1, ``residence``: a cadre is tied to the community it lives in.

    Returns ``(supplier, community)`` index arrays.
    """
    s = np.flatnonzero(suppliers.home >= 0).astype(_I)
    return s, suppliers.home[s]


def pairing_tie(
    suppliers: Suppliers, pair_unit: np.ndarray, pair_community: np.ndarray, n_units: int
) -> tuple[np.ndarray, np.ndarray]:
    """Tie 2, ``pairing``: a supplier is tied to every community its unit is paired with.

    Parameters
    ----------
    pair_unit, pair_community
        The pairings as unit and community indices.
    """
    ptr, comm = csr(pair_unit, pair_community, n_units)
    owner, c = csr_expand(ptr, comm, suppliers.unit)
    return owner, c


def alliance_communities(
    member_alliance: np.ndarray,
    member_unit: np.ndarray,
    alliance_place: np.ndarray,
    community_place: np.ndarray,
    n_units: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The communities each unit reaches through its alliances, as unit-community pairs.

    An alliance covers the communities whose (district, street) is its own; ``*_place``
    are integer codes of (district, street). Pairs are unique.
    """
    if len(member_unit) == 0 or len(community_place) == 0:
        return _empty()
    n_places = int(max(alliance_place.max(initial=-1), community_place.max(initial=-1))) + 1
    place_ptr, place_comm = csr(
        community_place, np.arange(len(community_place), dtype=_I), n_places
    )
    owner, comm = csr_expand(place_ptr, place_comm, alliance_place[member_alliance])
    unit = member_unit[owner]
    key = np.unique(unit * len(community_place) + comm)
    return key // len(community_place), key % len(community_place)


def alliance_tie(
    suppliers: Suppliers, unit_comm_unit: np.ndarray, unit_comm_comm: np.ndarray, n_units: int
) -> tuple[np.ndarray, np.ndarray]:
    """Tie 3, ``alliance``: a supplier is tied to the communities its unit's alliances cover.

    Parameters
    ----------
    unit_comm_unit, unit_comm_comm
        Unit-community pairs from :func:`alliance_communities`.
    """
    ptr, comm = csr(unit_comm_unit, unit_comm_comm, n_units)
    return csr_expand(ptr, comm, suppliers.unit)


def proximity_tie(
    suppliers: Suppliers, community_lat: np.ndarray, community_lon: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Tie 4, ``proximity``: a supplier is tied to communities within its radius.

    Suppliers standing at the same place with the same radius (cadres living in one
    community, say) are searched once, with a k-d tree on the unit sphere.
    """
    if len(suppliers) == 0 or len(community_lat) == 0:
        return _empty()
    spots = np.column_stack((suppliers.lat, suppliers.lon, suppliers.radius_km))
    uniq, inverse = np.unique(spots, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    from scipy.spatial import cKDTree  # only the plain model lists arcs with k-d trees

    tree = cKDTree(unit_xyz(community_lat, community_lon))
    spot, comm = pairs_within(uniq[:, 0], uniq[:, 1], uniq[:, 2], tree)
    # pairs_within's radius is a chord with slack; keep only pairs truly within range.
    km = haversine_km(uniq[spot, 0], uniq[spot, 1], community_lat[comm], community_lon[comm])
    keep = km <= uniq[spot, 2]
    spot, comm = spot[keep], comm[keep]
    spot_ptr, spot_sup = csr(inverse.astype(_I), np.arange(len(suppliers), dtype=_I), len(uniq))
    # Expand each (spot, community) pair to the suppliers standing at that spot.
    order = np.argsort(spot, kind="stable")
    spot, comm = spot[order], comm[order]
    owner, sup = csr_expand(spot_ptr, spot_sup, spot)
    return sup, comm[owner]


def first_ties(
    rules: list[tuple[np.ndarray, np.ndarray]], n_communities: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge the pairs of each rule (given in the spec's order) keeping the first tie.

    Returns ``(supplier, community, tie)`` unique pairs sorted by supplier, community.
    """
    sup = np.concatenate([r[0] for r in rules]) if rules else np.zeros(0, dtype=_I)
    comm = np.concatenate([r[1] for r in rules]) if rules else np.zeros(0, dtype=_I)
    tie = np.concatenate([np.full(len(r[0]), k, np.int8) for k, r in enumerate(rules)])
    key = sup * max(n_communities, 1) + comm
    order = np.lexsort((tie, key))
    key, tie = key[order], tie[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, tie = key[first], tie[first]
    n = max(n_communities, 1)
    return key // n, key % n, tie


def skill_arcs(
    suppliers: Suppliers,
    sup: np.ndarray,
    comm: np.ndarray,
    demand_community: np.ndarray,
    demand_category: np.ndarray,
    n_categories: int,
) -> tuple[np.ndarray, np.ndarray]:
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

    pair_unit: np.ndarray
    pair_comm: np.ndarray
    alliance_unit: np.ndarray
    alliance_comm: np.ndarray

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
    comm_index = _index(comms["community_id"])
    unit_index = _index(units["unit_id"])
    cat_names = sorted(
        set(demands["category"])
        | {c for text in dataset.cadres["skills"] for c in text.split(";") if c}
        | {c for text in dataset.resources["categories"] for c in text.split(";") if c}
    )
    categories = {c: i for i, c in enumerate(cat_names)}
    suppliers = _suppliers(dataset, params, categories)
    n_units = len(units)

    pairings = dataset.pairings
    pair_unit = _codes(pairings["unit_id"], unit_index)
    pair_comm = _codes(pairings["community_id"], comm_index)

    places = pd.MultiIndex.from_arrays([comms["district"], comms["street"]]).unique()
    comm_place = places.get_indexer(pd.MultiIndex.from_arrays([comms["district"], comms["street"]]))
    alliances = dataset.alliances
    all_place = places.get_indexer(
        pd.MultiIndex.from_arrays([alliances["district"], alliances["street"]])
    ).astype(_I)
    members = dataset.alliance_members
    mem_alliance = _codes(members["alliance_id"], _index(alliances["alliance_id"]))
    mem_unit = _codes(members["unit_id"], unit_index)
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
        demand_community=_codes(demands["community_id"], comm_index),
        demand_category=demands["category"].map(categories).to_numpy(_I),
        demand_hours=demands["hours"].to_numpy(_I),
        demand_priority=demands["priority"].to_numpy(_I),
        pair_unit=pair_unit,
        pair_comm=pair_comm,
        alliance_unit=au,
        alliance_comm=ac,
    )


def build_problem(dataset: Dataset, params: PlanParams | None = None) -> Problem:
    """Index a dataset for the solvers and find every candidate arc.

    Parameters
    ----------
    dataset
        A validated dataset.
    params
        Run parameters (defaults if ``None``).

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
