"""The aggregated network the column generation works on.

* **Supplier classes**: suppliers standing at the same place with the same radius,
  unit, home community and skills are interchangeable (same arcs, same scores); a class
  holds their summed hours. Its members are filled in file order afterwards.
* **Sites and groups**: a *site* is a (place, radius); a *group* is a site and one
  category. Every supplier of a site with that skill reaches, through the group, every
  demand of that category within the radius, at the site's distance. So the
  proximity-eligible arcs are ``class -> group -> cell``, one group arc per skill
  instead of one per supplier.
* **Tie arcs**: residence, pairing and alliance ties to communities beyond the radius
  go straight from a class to a cell.
* **Demand cells**: demands of one community, category and priority are
  interchangeable too; a cell holds their hours and is split in file order afterwards.

``class -> group -> cell -> sink`` (plus tie arcs, and ``class -> sink`` for hours
better left unused), each class supplying its hours, is a min-cost flow whose optimum
equals the plain model's: every plain arc ``(s, d)`` is a path of the same score, and
every path is a plain arc.

>>> from matcher.inputs.dataset import load_dataset
>>> from matcher.model.arcs import index_dataset
>>> net = build_network(index_dataset(load_dataset("tests/data/example/dataset")))
>>> net.n_classes, net.n_groups, net.n_cells
(6, 7, 5)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.model.arcs import TieIndex
from matcher.model.arrays import csr, csr_expand
from matcher.solvers.columns.reach import check_span, near_communities, tied_communities

__all__ = ["Network", "build_network"]

_I = np.int64
_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Network:
    """The aggregated network of a :class:`~matcher.model.arcs.TieIndex` (see module doc).

    Nodes are numbered classes, then groups, then cells, then the sink.
    """

    # supplier classes
    class_of: _Ints  # per supplier (-1: no skill)
    class_site: _Ints
    class_unit: _Ints
    class_home: _Ints
    class_hours: _Ints
    class_members: _Ints  # supplier ids grouped by class, file order
    class_member_ptr: _Ints
    class_skill_ptr: _Ints
    class_skill_owner: _Ints  # per (class, skill) entry: its class
    class_skill_cat: _Ints
    class_skill_group: _Ints
    # sites and groups
    site_lat: _Floats
    site_lon: _Floats
    site_r: _Floats
    site_group_ptr: _Ints
    near_ptr: _Ints  # per site: the communities within its radius ...
    near_comm: npt.NDArray[np.integer]  # (uint16 where they fit)
    near_km: _Floats  # ... and their distance
    group_site: _Ints
    group_cat: _Ints
    # demand cells
    cell_of: _Ints  # per demand (-1: zero hours)
    cell_kg: _Ints
    cell_prio: _Ints
    cell_hours: _Ints
    kg_cell_ptr: _Ints
    kg_cells: _Ints
    kg_demands: _Ints  # per (community, category): demands, zero-hour ones included
    # communities
    comm_lat: _Floats
    comm_lon: _Floats
    # ties beyond the radius
    unit_tie_ptr: _Ints
    unit_tie_comm: _Ints
    tie_ptr: _Ints  # per class: communities tied beyond its radius
    tie_comm: _Ints
    tie_km: _Floats
    border: int  # borderline pairs (near or tied), decided by the plain model's distance
    n_cat: int

    @property
    def n_classes(self) -> int:
        """Number of supplier classes."""
        return len(self.class_site)

    @property
    def n_groups(self) -> int:
        """Number of (site, category) groups."""
        return len(self.group_site)

    @property
    def n_cells(self) -> int:
        """Number of demand cells."""
        return len(self.cell_kg)


_NETWORK_FIELDS = frozenset(f.name for f in fields(Network))


def _factorize(*columns: npt.NDArray[np.generic]) -> _Ints:
    """Codes of the rows of ``columns`` in order of first appearance."""
    if len(columns[0]) == 0:
        return np.zeros(0, dtype=_I)
    codes, _ = pd.MultiIndex.from_arrays(list(columns)).factorize()
    return np.asarray(codes, dtype=_I)


def _skill_keys(ptr: _Ints, cat: _Ints, n: int, n_cat: int) -> _Ints:
    """One integer per supplier naming its set of skills (equal sets, equal keys)."""
    counts = np.diff(ptr)
    owner = np.repeat(np.arange(n, dtype=_I), counts)
    if n_cat <= 62:
        bits = np.zeros(n, dtype=_I)
        np.bitwise_or.at(bits, owner, np.left_shift(_I(1), cat.astype(_I)))
        return bits
    text = pd.Series(cat.astype(str)).groupby(owner).agg(lambda v: ";".join(sorted(v)))
    keys = np.full(n, -1, dtype=_I)
    keys[text.index.to_numpy(_I)] = pd.factorize(text.to_numpy(object))[0]
    return keys


@dataclass(frozen=True)
class _Classes:
    """The supplier classes and their sites (fields as in :class:`Network`)."""

    class_of: _Ints
    class_site: _Ints
    class_unit: _Ints
    class_home: _Ints
    class_hours: _Ints
    class_members: _Ints
    class_member_ptr: _Ints
    first: _Ints  # per class: its first member, whose skills and place are the class's
    site_lat: _Floats
    site_lon: _Floats
    site_r: _Floats


def _supplier_classes(ix: TieIndex) -> _Classes:
    """Group the suppliers into classes (suppliers without skills have no arcs and join
    none), and the classes' places into sites, in order of first appearance."""
    s = ix.suppliers
    n_sup = len(s)
    has_skill = np.diff(s.skill_ptr) > 0
    skill_key = _skill_keys(s.skill_ptr, s.skill_cat, n_sup, len(ix.categories))
    site_all = _factorize(s.lat, s.lon, s.radius_km)
    who = np.flatnonzero(has_skill)
    class_of = np.full(n_sup, -1, dtype=_I)
    class_of[who] = _factorize(site_all[who], s.unit[who], s.home[who], skill_key[who])
    n_classes = int(class_of.max(initial=-1)) + 1
    member_ptr, members = csr(class_of[who], who, n_classes)
    first = members[member_ptr[:-1]]
    class_hours = np.bincount(class_of[who], weights=s.hours[who], minlength=n_classes)
    site_codes, site_first = np.unique(site_all[first], return_inverse=True)
    class_site = site_first.astype(_I)
    site_rep = np.zeros(len(site_codes), dtype=_I)
    site_rep[class_site[::-1]] = first[::-1]
    return _Classes(
        class_of=class_of,
        class_site=class_site,
        class_unit=s.unit[first].astype(_I),
        class_home=s.home[first].astype(_I),
        class_hours=class_hours.astype(_I),
        class_members=members,
        class_member_ptr=member_ptr,
        first=first,
        site_lat=s.lat[site_rep],
        site_lon=s.lon[site_rep],
        site_r=s.radius_km[site_rep].astype(np.float64),
    )


@dataclass(frozen=True)
class _Groups:
    """The classes' skills and the (site, category) groups (fields as in :class:`Network`)."""

    class_skill_ptr: _Ints
    class_skill_owner: _Ints
    class_skill_cat: _Ints
    class_skill_group: _Ints
    site_group_ptr: _Ints
    group_site: _Ints
    group_cat: _Ints


def _groups(ix: TieIndex, classes: _Classes) -> _Groups:
    """A group for every skill present at a site, numbered by site then category."""
    n_cat, n_classes, n_sites = len(ix.categories), len(classes.class_site), len(classes.site_r)
    s = ix.suppliers
    sk_owner, sk_cat = csr_expand(s.skill_ptr, s.skill_cat, classes.first)
    class_skill_ptr = np.zeros(n_classes + 1, dtype=_I)
    np.cumsum(np.bincount(sk_owner, minlength=n_classes), out=class_skill_ptr[1:])
    gkey = classes.class_site[sk_owner] * n_cat + sk_cat
    group_keys, class_skill_group = np.unique(gkey, return_inverse=True)
    group_site, group_cat = group_keys // n_cat, group_keys % n_cat
    site_group_ptr = np.zeros(n_sites + 1, dtype=_I)
    np.cumsum(np.bincount(group_site, minlength=n_sites), out=site_group_ptr[1:])
    return _Groups(
        class_skill_ptr=class_skill_ptr,
        class_skill_owner=sk_owner,
        class_skill_cat=sk_cat.astype(_I),
        class_skill_group=class_skill_group.astype(_I),
        site_group_ptr=site_group_ptr,
        group_site=group_site.astype(_I),
        group_cat=group_cat.astype(_I),
    )


@dataclass(frozen=True)
class _Cells:
    """The demand cells (fields as in :class:`Network`)."""

    cell_of: _Ints
    cell_kg: _Ints
    cell_prio: _Ints
    cell_hours: _Ints
    kg_cell_ptr: _Ints
    kg_cells: _Ints
    kg_demands: _Ints


def _demand_cells(ix: TieIndex) -> _Cells:
    """One cell per (community, category, priority) of the demands with hours, and the
    cells of each (community, category)."""
    n_cat = len(ix.categories)
    kg = ix.demand_community * n_cat + ix.demand_category
    live = ix.demand_hours > 0
    prio = ix.demand_priority
    p_min = int(prio.min(initial=0))
    p_span = int(prio.max(initial=0)) - p_min + 1
    cell_keys, cell_inv = np.unique((kg * p_span + (prio - p_min))[live], return_inverse=True)
    cell_of = np.full(len(kg), -1, dtype=_I)
    cell_of[live] = cell_inv
    cell_kg = cell_keys // p_span
    cell_hours = np.bincount(cell_inv, weights=ix.demand_hours[live], minlength=len(cell_keys))
    n_kg = len(ix.community_ids) * n_cat
    kg_cell_ptr, kg_cells = csr(cell_kg, np.arange(len(cell_kg), dtype=_I), n_kg)
    return _Cells(
        cell_of=cell_of,
        cell_kg=cell_kg.astype(_I),
        cell_prio=(cell_keys % p_span + p_min).astype(_I),
        cell_hours=cell_hours.astype(_I),
        kg_cell_ptr=kg_cell_ptr,
        kg_cells=kg_cells,
        kg_demands=np.bincount(kg, minlength=n_kg).astype(_I),
    )


def _network_fields(part: _Classes | _Groups | _Cells) -> dict[str, Any]:
    """The fields of ``part`` that :class:`Network` keeps, by name."""
    return {f.name: getattr(part, f.name) for f in fields(part) if f.name in _NETWORK_FIELDS}


def build_network(ix: TieIndex) -> Network:
    """Aggregate a dataset's suppliers and demands into the column-generation network.

    Raises
    ------
    NotApplicable
        If the dataset spans more than :data:`~matcher.solvers.columns.reach.MAX_SPAN_RAD`
        of latitude or longitude.
    """
    check_span(ix)
    classes = _supplier_classes(ix)
    groups = _groups(ix, classes)
    cells = _demand_cells(ix)
    sites = (classes.site_lat, classes.site_lon, classes.site_r)
    near_ptr, near_comm, near_km, near_border = near_communities(ix, *sites)
    unit_tie_ptr, unit_tie_comm, (tie_ptr, tie_comm, tie_km, tie_border) = tied_communities(
        ix, classes.class_site, classes.class_unit, classes.class_home, *sites
    )
    return Network(
        **_network_fields(classes),
        **_network_fields(groups),
        **_network_fields(cells),
        near_ptr=near_ptr,
        near_comm=near_comm,
        near_km=near_km,
        comm_lat=ix.community_lat,
        comm_lon=ix.community_lon,
        unit_tie_ptr=unit_tie_ptr,
        unit_tie_comm=unit_tie_comm,
        tie_ptr=tie_ptr,
        tie_comm=tie_comm,
        tie_km=tie_km,
        border=near_border + tie_border,
        n_cat=len(ix.categories),
    )
