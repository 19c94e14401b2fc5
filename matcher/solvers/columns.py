"""Exact labour plans at city scale: column generation over implicit candidate arcs.

At city scale the candidate arcs number in the tens of millions (every cadre times
every community within 5 km, times the demands there its skills fit), yet an optimal
plan uses a few hundred thousand. This solver never lists them all. It works on an
aggregated network whose optimum equals the plain model's, adds arcs only when the
current duals say they pay, and proves optimality by pricing every implicit arc.

The aggregated network
----------------------
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
every path is a plain arc. A group that only one class reaches is no node of its own:
its arcs leave that class directly (see :class:`_Layout`). (A source node feeding the
classes would be equivalent, but the network simplex then hangs every class under it and
moves larger subtrees per pivot: without it, the final master at generator scale 0.3
solves in 9.8 s instead of 14.6 s.)

Column generation
-----------------
Group-to-cell and tie arcs are implicit. The restricted network starts with the best
few arcs of each group and class (zero prices), and is solved by the warm-started
network simplex of :mod:`matcher.solvers.netsimplex`, over all its arcs each round (so
no arc already in it ever prices out again). Its node potentials price every
implicit arc in compiled loops over each site's communities within reach (found once,
on a spatial grid of communities): a community is skipped when its distance already
shows no arc there can have a negative reduced cost. Pricing runs on
``params.workers`` threads over :data:`PARTS` fixed parts of the sites (and of the
classes); each part keeps its own lists per cell, folded together in part order, so the
columns do not depend on the number of threads. The most negative arcs of each group
enter, and the loop repeats until none is negative: then the potentials are dual
feasible for the whole network and the flow is optimal for it, exactly (in the integer
costs; the reported bound adds the rounding of scores, as :mod:`matcher.solvers.flow`
does).

Warm start
----------
A plan's final potentials, read as marginal values (:class:`Duals`: an hour more of each
supplier, of each demand), can start the column generation of a similar dataset, such as
a what-if scenario of it: the first round is then priced at those values instead of zero,
and brings in each group's and class's arcs that price within :data:`WARM_SLACK` of tight
(instead of its best-scoring ones). The later rounds, and the proof of optimality, are as
without it, so the plan is as exact either way; where the optimum is not unique, the plan
may be another optimal one, the same for the same start. At generator scale 1 a scenario
re-planned from its base plan's values took 14.2 s instead of 29.8 s (demand 30 % higher in
one district), 13.3 s instead of 34.3 s (10 % of the cadres at half their hours), and the
base itself 5.0 s instead of 24.5 s (``benchmarks/bench_warm.py``).

Distances are haversine, as everywhere. The grid uses a local planar projection only
to skip work: ``LOWER * planar`` is a proven lower bound on the great-circle distance
for points less than one radian apart, so nothing eligible is ever skipped. The
compiled haversine and numpy's differ in the last bits (on 108 of 200,000 random pairs
in the city, by up to 1.4e-14 km), so a pair within ``1e-9`` relative of a radius is
*borderline*: :func:`matcher.model.geo.haversine_km`, the plain model's own distance, decides
whether it is within reach (see :func:`_within_by_plain_distance`). With cadres at
coordinates of their own, a city-scale dataset has such a pair about every other time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from matcher.errors import SolverError
from matcher.i18n import N_, Text
from matcher.model.eligibility import (
    ALLIANCE,
    PAIRING,
    PROXIMITY,
    RESIDENCE,
    Arcs,
    Problem,
    TieIndex,
    csr,
    csr_expand,
    hour_score,
)
from matcher.model.geo import EARTH_RADIUS_KM, haversine_km
from matcher.params import PlanParams
from matcher.plans.reasons import decide_reasons
from matcher.solvers.netsimplex import NetworkSimplex
from matcher.solvers.outcomes import ColumnResult, Duals, NotApplicable

__all__ = [
    "BORDER",
    "LOWER",
    "MAX_SPAN_RAD",
    "PARTS",
    "WARM_FIRST_ROUND",
    "WARM_SLACK",
    "ColumnResult",
    "Duals",
    "Network",
    "NotApplicable",
    "build_network",
    "compact_problem",
    "dual_bound",
    "overlap",
    "solve_columns",
]

_I = np.int64
LOWER = 0.95
"""``LOWER * planar distance`` bounds the haversine distance from below (see module doc)."""
MAX_SPAN_RAD = 0.5
"""Datasets spanning more latitude or longitude than this (radians) use the plain model."""
BORDER = 1e-9
"""Relative distance to a radius within which a pair is borderline: the plain model's
distance decides it."""
PARTS = 16
"""Pricing splits the sites, and the classes, into this many parts, priced in parallel.

A fixed number, not the number of threads, so the columns (hence the plan) are the same
on every machine."""


WARM_SLACK = 0.003
"""With a warm start, the first round brings in arcs that price below this (in score)
at the start's values: at generator scale 0.3, 0.001 took 0.71 s, 0.003 0.60 s, 0.01
0.75 s (re-planning the same dataset from its own values; 2.5 s cold)."""
WARM_FIRST_ROUND = 4
"""With a warm start, arcs each group and class may bring in in the first round (the
three changed scenarios of ``bench_warm.py`` at scale 0.3: 3.3 to 3.4 s in all with 4,
3.9 s with 8 and a slack of 0.01)."""


# --------------------------------------------------------------------------- network
@dataclass(frozen=True)
class Network:
    """The aggregated network of a :class:`~matcher.model.eligibility.TieIndex` (see module doc).

    Nodes are numbered classes, then groups, then cells, then the sink.
    """

    # supplier classes
    class_of: np.ndarray  # per supplier (-1: no skill)
    class_site: np.ndarray
    class_unit: np.ndarray
    class_home: np.ndarray
    class_hours: np.ndarray
    class_members: np.ndarray  # supplier ids grouped by class, file order
    class_member_ptr: np.ndarray
    class_skill_ptr: np.ndarray
    class_skill_owner: np.ndarray  # per (class, skill) entry: its class
    class_skill_cat: np.ndarray
    class_skill_group: np.ndarray
    # sites and groups
    site_lat: np.ndarray
    site_lon: np.ndarray
    site_r: np.ndarray
    site_group_ptr: np.ndarray
    near_ptr: np.ndarray  # per site: the communities within its radius ...
    near_comm: np.ndarray
    near_km: np.ndarray  # ... and their distance
    group_site: np.ndarray
    group_cat: np.ndarray
    # demand cells
    cell_of: np.ndarray  # per demand (-1: zero hours)
    cell_kg: np.ndarray
    cell_prio: np.ndarray
    cell_hours: np.ndarray
    kg_cell_ptr: np.ndarray
    kg_cells: np.ndarray
    kg_demands: np.ndarray  # per (community, category): demands, zero-hour ones included
    # communities
    comm_lat: np.ndarray
    comm_lon: np.ndarray
    # ties beyond the radius
    unit_tie_ptr: np.ndarray
    unit_tie_comm: np.ndarray
    tie_ptr: np.ndarray  # per class: communities tied beyond its radius
    tie_comm: np.ndarray
    tie_km: np.ndarray
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


def _factorize(*columns: np.ndarray) -> np.ndarray:
    """Codes of the rows of ``columns`` in order of first appearance."""
    if len(columns[0]) == 0:
        return np.zeros(0, dtype=_I)
    codes, _ = pd.MultiIndex.from_arrays(list(columns)).factorize()
    return np.asarray(codes, dtype=_I)


def _skill_keys(ptr: np.ndarray, cat: np.ndarray, n: int, n_cat: int) -> np.ndarray:
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


def _projection(
    lat: np.ndarray, lon: np.ndarray, all_lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    c_min = float(np.cos(np.radians(np.abs(all_lat).max()))) if len(all_lat) else 1.0
    return (
        EARTH_RADIUS_KM * np.radians(lon) * c_min,
        EARTH_RADIUS_KM * np.radians(lat),
    )


def _within_by_plain_distance(
    lat: np.ndarray, lon: np.ndarray, radius: np.ndarray, ix: TieIndex, comm: np.ndarray
) -> np.ndarray:
    """Whether each point is within its radius of community ``comm``, decided exactly as
    the plain model's proximity rule does (:func:`matcher.model.eligibility.proximity_tie`):
    numpy's haversine against the radius, element-wise, so the same whatever the batch."""
    km = haversine_km(lat, lon, ix.community_lat[comm], ix.community_lon[comm])
    inside: np.ndarray = km <= radius
    return inside


def _pairs_with_borderline(
    kernel: Callable[..., None],
    args: tuple[object, ...],
    n_rows: int,
    row_lat: np.ndarray,
    row_lon: np.ndarray,
    row_r: np.ndarray,
    ix: TieIndex,
    keep_within: bool,
    comm_dtype: type,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Run a pair kernel's three passes (see :func:`_near_pairs`), deciding its
    borderline pairs by the plain model's distance in between; returns each row's
    pointers into the lists, the communities, the distances, and the borderline count."""
    count = np.zeros((n_rows, 2), dtype=_I)
    bl_ptr = np.zeros(n_rows + 1, dtype=_I)
    ptr = np.zeros(n_rows + 1, dtype=_I)
    no_c: np.ndarray = np.zeros(0, comm_dtype)
    no_i, no_f, no_v = np.zeros(0, _I), np.zeros(0), np.zeros(0, np.int8)
    with _threads(ix.params.workers):
        kernel(*args, _parts(np.ones(n_rows)), 0, count, bl_ptr, no_i, no_v, ptr, no_c, no_f)
        np.cumsum(count[:, 1], out=bl_ptr[1:])
        bl_comm = np.zeros(int(bl_ptr[-1]), dtype=_I)
        if len(bl_comm):
            kernel(*args, _parts(count[:, 1]), 1, count, bl_ptr, bl_comm, no_v, ptr, no_c, no_f)
        bl_row = np.repeat(np.arange(n_rows, dtype=_I), count[:, 1])
        inside = _within_by_plain_distance(
            row_lat[bl_row], row_lon[bl_row], row_r[bl_row], ix, bl_comm
        )
        keep = inside if keep_within else ~inside
        np.cumsum(count[:, 0] + np.bincount(bl_row[keep], minlength=n_rows), out=ptr[1:])
        comm: np.ndarray = np.zeros(int(ptr[-1]), dtype=comm_dtype)
        km = np.zeros(int(ptr[-1]))
        work = count.sum(axis=1) + 1
        kernel(*args, _parts(work), 2, count, bl_ptr, bl_comm, keep.astype(np.int8), ptr, comm, km)
    return ptr, comm, km, len(bl_comm)


def build_network(ix: TieIndex) -> Network:
    """Aggregate a dataset's suppliers and demands into the column-generation network.

    Raises
    ------
    NotApplicable
        If the dataset spans more than :data:`MAX_SPAN_RAD` of latitude or longitude.
    """
    s = ix.suppliers
    n_sup, n_cat = len(s), len(ix.categories)
    all_lat = np.concatenate((s.lat, ix.community_lat))
    all_lon = np.concatenate((s.lon, ix.community_lon))
    if len(all_lat) and (
        np.radians(np.ptp(all_lat)) > MAX_SPAN_RAD or np.radians(np.ptp(all_lon)) > MAX_SPAN_RAD
    ):
        raise NotApplicable("the dataset spans too large an area for the planar grid")

    # Supplier classes (suppliers without skills have no arcs and join none).
    has_skill = np.diff(s.skill_ptr) > 0
    skill_key = _skill_keys(s.skill_ptr, s.skill_cat, n_sup, n_cat)
    site_all = _factorize(s.lat, s.lon, s.radius_km)
    who = np.flatnonzero(has_skill)
    class_of = np.full(n_sup, -1, dtype=_I)
    class_of[who] = _factorize(site_all[who], s.unit[who], s.home[who], skill_key[who])
    n_classes = int(class_of.max(initial=-1)) + 1
    member_ptr, members = csr(class_of[who], who, n_classes)
    rep = members[member_ptr[:-1]]
    class_hours = np.bincount(class_of[who], weights=s.hours[who], minlength=n_classes)
    # Sites renumbered over classes, in order of first appearance.
    site_codes, site_first = np.unique(site_all[rep], return_inverse=True)
    class_site = site_first.astype(_I)
    first_rep = np.zeros(len(site_codes), dtype=_I)
    first_rep[class_site[::-1]] = rep[::-1]
    site_lat, site_lon, site_r = s.lat[first_rep], s.lon[first_rep], s.radius_km[first_rep]

    # Groups: (site, category) for every skill present at a site.
    sk_owner, sk_cat = csr_expand(s.skill_ptr, s.skill_cat, rep)
    class_skill_ptr = np.zeros(n_classes + 1, dtype=_I)
    np.cumsum(np.bincount(sk_owner, minlength=n_classes), out=class_skill_ptr[1:])
    gkey = class_site[sk_owner] * n_cat + sk_cat
    group_keys, class_skill_group = np.unique(gkey, return_inverse=True)
    group_site, group_cat = group_keys // n_cat, group_keys % n_cat
    site_group_ptr = np.zeros(len(site_lat) + 1, dtype=_I)
    np.cumsum(np.bincount(group_site, minlength=len(site_lat)), out=site_group_ptr[1:])

    # Demand cells: (community, category, priority), demands with hours only.
    n_comm = len(ix.community_ids)
    kg = ix.demand_community * n_cat + ix.demand_category
    live = ix.demand_hours > 0
    prio = ix.demand_priority
    p_span = int(prio.max(initial=0)) - int(prio.min(initial=0)) + 1
    ckey = kg * p_span + (prio - int(prio.min(initial=0)))
    cell_keys, cell_inv = np.unique(ckey[live], return_inverse=True)
    cell_of = np.full(len(kg), -1, dtype=_I)
    cell_of[live] = cell_inv
    cell_kg = cell_keys // p_span
    cell_prio = cell_keys % p_span + int(prio.min(initial=0))
    cell_hours = np.bincount(cell_inv, weights=ix.demand_hours[live], minlength=len(cell_keys))
    n_kg = n_comm * n_cat
    kg_cell_ptr, kg_cells = csr(cell_kg, np.arange(len(cell_kg), dtype=_I), n_kg)
    kg_demands = np.bincount(kg, minlength=n_kg).astype(_I)

    # Grid of communities on the local plane.
    site_x, site_y = _projection(site_lat, site_lon, all_lat)
    comm_x, comm_y = _projection(ix.community_lat, ix.community_lon, all_lat)
    r_typ = float(np.median(site_r)) if len(site_r) else 1.0
    size = max(r_typ / 2.0, 0.25)
    x0 = float(comm_x.min(initial=0.0))
    y0 = float(comm_y.min(initial=0.0))
    nbx = int((comm_x.max(initial=0.0) - x0) / size) + 1
    nby = int((comm_y.max(initial=0.0) - y0) / size) + 1
    while nbx * nby > 4_000_000:
        size *= 2.0
        nbx = int((comm_x.max(initial=0.0) - x0) / size) + 1
        nby = int((comm_y.max(initial=0.0) - y0) / size) + 1
    bx = ((comm_x - x0) / size).astype(_I)
    by = ((comm_y - y0) / size).astype(_I)
    bin_ptr, bin_comm = csr(bx * nby + by, np.arange(n_comm, dtype=_I), nbx * nby)
    # Every site's communities within its radius, found once on the grid: each pricing
    # round then streams through them instead of searching the grid again.
    site_rad = _radians(site_lat.astype(np.float64), site_lon.astype(np.float64))
    comm_rad = _radians(ix.community_lat.astype(np.float64), ix.community_lon.astype(np.float64))
    near_args = (
        *site_rad,
        site_r.astype(np.float64),
        site_x,
        site_y,
        *comm_rad,
        comm_x,
        comm_y,
        x0,
        y0,
        size,
        nbx,
        nby,
        bin_ptr,
        bin_comm,
    )
    # Two bytes a community where they fit: with cadres at coordinates of their own, scale
    # 1.0 lists 115 million pairs.
    near_dtype = np.uint16 if n_comm <= np.iinfo(np.uint16).max else np.int32
    near_ptr, near_comm, near_km, border = _pairs_with_borderline(
        _near_pairs, near_args, len(site_lat), site_lat, site_lon, site_r, ix, True, near_dtype
    )

    # Pairing and alliance communities per unit (unique); residence is per class.
    n_units = len(ix.unit_ids)
    tu = np.concatenate((ix.pair_unit, ix.alliance_unit)).astype(_I)
    tc = np.concatenate((ix.pair_comm, ix.alliance_comm)).astype(_I)
    ok = (tu >= 0) & (tc >= 0)
    tkey = np.unique(tu[ok] * max(n_comm, 1) + tc[ok])
    unit_tie_ptr, unit_tie_comm = csr(tkey // max(n_comm, 1), tkey % max(n_comm, 1), n_units)
    class_unit = s.unit[rep].astype(_I)
    class_home = s.home[rep].astype(_I)
    tie_args = (
        class_site,
        class_unit,
        class_home,
        *site_rad,
        site_r.astype(np.float64),
        unit_tie_ptr,
        unit_tie_comm,
        *comm_rad,
    )
    tie_ptr, tie_comm, tie_km, tie_border = _pairs_with_borderline(
        _tie_pairs,
        tie_args,
        n_classes,
        site_lat[class_site],
        site_lon[class_site],
        site_r[class_site],
        ix,
        False,
        np.int64,
    )
    border += tie_border

    return Network(
        class_of=class_of,
        class_site=class_site,
        class_unit=class_unit,
        class_home=class_home,
        class_hours=class_hours.astype(_I),
        class_members=members,
        class_member_ptr=member_ptr,
        class_skill_ptr=class_skill_ptr,
        class_skill_owner=sk_owner,
        class_skill_cat=sk_cat.astype(_I),
        class_skill_group=class_skill_group.astype(_I),
        site_lat=site_lat,
        site_lon=site_lon,
        site_r=site_r.astype(np.float64),
        site_group_ptr=site_group_ptr,
        near_ptr=near_ptr,
        near_comm=near_comm,
        near_km=near_km,
        group_site=group_site.astype(_I),
        group_cat=group_cat.astype(_I),
        cell_of=cell_of,
        cell_kg=cell_kg.astype(_I),
        cell_prio=cell_prio.astype(_I),
        cell_hours=cell_hours.astype(_I),
        kg_cell_ptr=kg_cell_ptr,
        kg_cells=kg_cells,
        kg_demands=kg_demands,
        comm_lat=ix.community_lat,
        comm_lon=ix.community_lon,
        unit_tie_ptr=unit_tie_ptr,
        unit_tie_comm=unit_tie_comm,
        tie_ptr=tie_ptr,
        tie_comm=tie_comm,
        tie_km=tie_km,
        border=border,
        n_cat=n_cat,
    )


# --------------------------------------------------------------------------- kernels
@numba.njit(cache=True, inline="always")
def _hav_rad(p1: float, l1: float, c1: float, p2: float, l2: float, c2: float) -> float:
    """Haversine km from radians and the cosines of the latitudes (see :func:`_radians`)."""
    dphi = p2 - p1
    dlmb = l2 - l1
    a = math.sin(dphi / 2) ** 2 + c1 * c2 * math.sin(dlmb / 2) ** 2
    a = min(max(a, 0.0), 1.0)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@numba.njit(cache=True)
def _radians(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latitudes and longitudes in radians and the latitudes' cosines, computed once per
    point for :func:`_hav_rad`."""
    phi, lmb, cos = np.empty(len(lat)), np.empty(len(lat)), np.empty(len(lat))
    for i in range(len(lat)):
        phi[i] = math.radians(lat[i])
        lmb[i] = math.radians(lon[i])
        cos[i] = math.cos(phi[i])
    return phi, lmb, cos


@numba.njit(cache=True, inline="always")
def _window(
    xp: float, yp: float, r: float, x0: float, y0: float, size: float, nbx: int, nby: int
) -> tuple[int, int, int, int]:
    """The grid cells (inclusive ranges in x and y) that may hold a point within ``r``."""
    reach = r / LOWER
    return (
        max(math.floor((xp - reach - x0) / size), 0),
        min(math.floor((xp + reach - x0) / size), nbx - 1),
        max(math.floor((yp - reach - y0) / size), 0),
        min(math.floor((yp + reach - y0) / size), nby - 1),
    )


@numba.njit(cache=True, inline="always")
def _gap(v: float, lo: float, size: float) -> float:
    """Distance along one axis from ``v`` to the interval ``[lo, lo + size]``."""
    return max(lo - v, 0.0, v - (lo + size))


@numba.njit(cache=True, inline="always")
def _on_radius(km: float, r: float) -> int:
    """1 if ``km`` is within :data:`BORDER` (relative) of the radius ``r``: borderline."""
    return 1 if abs(km - r) <= BORDER * max(r, 1.0) else 0


@numba.njit(cache=True, inline="always")
def _cost(w: float, scale: float) -> int:
    c = int(np.rint(w * scale))
    return -max(c, 1)


@numba.njit(cache=True, inline="always")
def _keep(
    top_rc: np.ndarray,
    top_head: np.ndarray,
    top_cost: np.ndarray,
    row: int,
    rc: int,
    head: int,
    cost: int,
) -> None:
    """Keep the ``m`` most negative reduced costs of a row (no duplicate heads)."""
    m = top_rc.shape[1]
    worst = 0
    for j in range(m):
        if top_head[row, j] == head:
            return
        if top_rc[row, j] > top_rc[row, worst]:
            worst = j
    if rc < top_rc[row, worst]:
        top_rc[row, worst] = rc
        top_head[row, worst] = head
        top_cost[row, worst] = cost


@numba.njit(cache=True, inline="always")
def _pair_step(
    mode: int,
    k: int,
    km: float,
    r: float,
    keep_within: bool,
    j: int,
    b: int,
    comm: np.ndarray,
    km_out: np.ndarray,
    bl_comm: np.ndarray,
    bl_keep: np.ndarray,
) -> tuple[int, int, int]:
    """One pair of a pair kernel (see :func:`_near_pairs`): returns the next slot, the
    next borderline slot, and 1 if the pair is surely kept (0 otherwise)."""
    border = _on_radius(km, r)
    if border:
        if mode == 1:
            bl_comm[b] = k
        keep = mode == 2 and bl_keep[b] != 0
        b += 1
    else:
        keep = (km <= r) == keep_within
    if keep and mode == 2:
        comm[j] = k
        km_out[j] = km
        j += 1
    return j, b, 1 if keep and not border else 0


@numba.njit(cache=True, parallel=True)
def _near_pairs(
    site_phi: np.ndarray,
    site_lmb: np.ndarray,
    site_cos: np.ndarray,
    site_r: np.ndarray,
    site_x: np.ndarray,
    site_y: np.ndarray,
    comm_phi: np.ndarray,
    comm_lmb: np.ndarray,
    comm_cos: np.ndarray,
    comm_x: np.ndarray,
    comm_y: np.ndarray,
    x0: float,
    y0: float,
    size: float,
    nbx: int,
    nby: int,
    bin_ptr: np.ndarray,
    bin_comm: np.ndarray,
    part_ptr: np.ndarray,
    mode: int,
    count: np.ndarray,
    bl_ptr: np.ndarray,
    bl_comm: np.ndarray,
    bl_keep: np.ndarray,
    ptr: np.ndarray,
    comm: np.ndarray,
    km_out: np.ndarray,
) -> None:
    """The communities within each site's radius, with their distance, in three passes
    over the sites (in parallel over the parts ``part_ptr`` bounds):

    * ``mode`` 0 counts, per site, the pairs surely within (``count[p, 0]``) and the
      borderline ones (``count[p, 1]``);
    * ``mode`` 1 records the borderline pairs' communities from ``bl_ptr[p]`` on;
    * ``mode`` 2 fills ``comm`` and ``km_out`` from ``ptr[p]`` on, with the borderline
      pairs whose ``bl_keep`` is 1.

    Every site writes only its own slots, so the lists do not depend on the threads.
    The grid only skips work (``LOWER * planar`` bounds the distance from below).
    """
    for t in numba.prange(len(part_ptr) - 1):
        for p in range(part_ptr[t], part_ptr[t + 1]):
            if mode == 1 and count[p, 1] == 0:
                continue
            j = ptr[p] if mode == 2 else 0
            b = bl_ptr[p] if mode != 0 else 0
            sure = 0
            r = site_r[p]
            xp, yp = site_x[p], site_y[p]
            bx_lo, bx_hi, by_lo, by_hi = _window(xp, yp, r, x0, y0, size, nbx, nby)
            for bx in range(bx_lo, bx_hi + 1):
                dx = _gap(xp, x0 + bx * size, size)
                for by in range(by_lo, by_hi + 1):
                    cell = bx * nby + by
                    dy = _gap(yp, y0 + by * size, size)
                    if LOWER * math.sqrt(dx * dx + dy * dy) > r:
                        continue
                    for q in range(bin_ptr[cell], bin_ptr[cell + 1]):
                        k = bin_comm[q]
                        ex = comm_x[k] - xp
                        ey = comm_y[k] - yp
                        if LOWER * math.sqrt(ex * ex + ey * ey) > r:
                            continue
                        km = _hav_rad(
                            site_phi[p],
                            site_lmb[p],
                            site_cos[p],
                            comm_phi[k],
                            comm_lmb[k],
                            comm_cos[k],
                        )
                        j, b, one = _pair_step(
                            mode, k, km, r, True, j, b, comm, km_out, bl_comm, bl_keep
                        )
                        sure += one
            if mode == 0:
                count[p, 0] = sure
                count[p, 1] = b


@numba.njit(cache=True, parallel=True)
def _price_groups(
    part_ptr: np.ndarray,
    site_group_ptr: np.ndarray,
    group_cat: np.ndarray,
    pi_group: np.ndarray,
    near_ptr: np.ndarray,
    near_comm: np.ndarray,
    near_km: np.ndarray,
    n_cat: int,
    kg_cell_ptr: np.ndarray,
    kg_cells: np.ndarray,
    cell_prio: np.ndarray,
    pi_cell: np.ndarray,
    a_kg: np.ndarray,
    a_comm: np.ndarray,
    pw: float,
    tc: float,
    scale: float,
    top_rc: np.ndarray,
    top_head: np.ndarray,
    top_cost: np.ndarray,
    cell_rc: np.ndarray,
    cell_head: np.ndarray,
    cell_cost: np.ndarray,
) -> None:
    """Price every group -> cell arc; keep the most negative per group and per cell.

    The sites are priced in parallel, in the parts ``part_ptr`` bounds. A group belongs
    to one site, so parts write disjoint rows of the groups' lists; each part ``t`` keeps
    its own lists per cell (``cell_*[t]``), folded together by :func:`_merge_parts`.

    Reduced cost ``cost + pi_group - pi_cell``. ``a_kg`` is, per (community, category),
    the largest ``pw * prio * scale + pi_cell`` of its cells (``a_comm``: over a
    community's categories); a pair can only price negative when
    ``pi_group + tc * scale * km < a_kg + 1``.
    """
    cs = tc * scale
    for t in numba.prange(len(part_ptr) - 1):
        e_rc, e_head, e_cost = cell_rc[t], cell_head[t], cell_cost[t]
        for p in range(part_ptr[t], part_ptr[t + 1]):
            g_lo, g_hi = site_group_ptr[p], site_group_ptr[p + 1]
            if g_lo == g_hi:
                continue
            pmin = pi_group[g_lo]
            for g in range(g_lo, g_hi):
                pmin = min(pmin, pi_group[g])
            for j in range(near_ptr[p], near_ptr[p + 1]):
                k = near_comm[j]
                km = near_km[j]
                if pmin + cs * km >= a_comm[k] + 1.0:
                    continue
                for g in range(g_lo, g_hi):
                    kgi = k * n_cat + group_cat[g]
                    if pi_group[g] + cs * km >= a_kg[kgi] + 1.0:
                        continue
                    for q in range(kg_cell_ptr[kgi], kg_cell_ptr[kgi + 1]):
                        c = kg_cells[q]
                        w = pw * cell_prio[c] - tc * km
                        if w <= 0:
                            continue
                        cost = _cost(w, scale)
                        rc = cost + pi_group[g] - pi_cell[c]
                        if rc < 0:
                            _keep(top_rc, top_head, top_cost, g, rc, c, cost)
                            if e_rc.shape[1]:
                                _keep(e_rc, e_head, e_cost, c, rc, g, cost)


@numba.njit(cache=True, parallel=True)
def _tie_pairs(
    class_site: np.ndarray,
    class_unit: np.ndarray,
    class_home: np.ndarray,
    site_phi: np.ndarray,
    site_lmb: np.ndarray,
    site_cos: np.ndarray,
    site_r: np.ndarray,
    unit_tie_ptr: np.ndarray,
    unit_tie_comm: np.ndarray,
    comm_phi: np.ndarray,
    comm_lmb: np.ndarray,
    comm_cos: np.ndarray,
    part_ptr: np.ndarray,
    mode: int,
    count: np.ndarray,
    bl_ptr: np.ndarray,
    bl_comm: np.ndarray,
    bl_keep: np.ndarray,
    ptr: np.ndarray,
    comm: np.ndarray,
    km_out: np.ndarray,
) -> None:
    """The communities each class is tied to beyond its radius, with their distance, in
    the three passes of :func:`_near_pairs` over the classes: a pair is kept when it is
    *not* within the radius (else it is reached through the class's groups)."""
    for t in numba.prange(len(part_ptr) - 1):
        for c in range(part_ptr[t], part_ptr[t + 1]):
            if mode == 1 and count[c, 1] == 0:
                continue
            j = ptr[c] if mode == 2 else 0
            b = bl_ptr[c] if mode != 0 else 0
            sure = 0
            p = class_site[c]
            r = site_r[p]
            u = class_unit[c]
            lo = unit_tie_ptr[u] if u >= 0 else 0
            hi = unit_tie_ptr[u + 1] if u >= 0 else 0
            h = class_home[c]
            n_home = 1 if h >= 0 else 0
            for q in range(lo - n_home, hi):
                k = h if q < lo else unit_tie_comm[q]
                if q >= lo and k == h:
                    continue
                km = _hav_rad(
                    site_phi[p], site_lmb[p], site_cos[p], comm_phi[k], comm_lmb[k], comm_cos[k]
                )
                j, b, one = _pair_step(mode, k, km, r, False, j, b, comm, km_out, bl_comm, bl_keep)
                sure += one
            if mode == 0:
                count[c, 0] = sure
                count[c, 1] = b


@numba.njit(cache=True, parallel=True)
def _price_ties(
    part_ptr: np.ndarray,
    tie_ptr: np.ndarray,
    tie_comm: np.ndarray,
    tie_km: np.ndarray,
    class_skill_ptr: np.ndarray,
    class_skill_cat: np.ndarray,
    pi_class: np.ndarray,
    n_cat: int,
    kg_cell_ptr: np.ndarray,
    kg_cells: np.ndarray,
    cell_prio: np.ndarray,
    pi_cell: np.ndarray,
    a_kg: np.ndarray,
    pw: float,
    tc: float,
    scale: float,
    top_rc: np.ndarray,
    top_head: np.ndarray,
    top_cost: np.ndarray,
) -> None:
    """Price every class -> cell arc of a tie beyond the class's radius, the parts of
    the classes that ``part_ptr`` bounds in parallel (they write disjoint rows)."""
    cs = tc * scale
    for part in numba.prange(len(part_ptr) - 1):
        for c in range(part_ptr[part], part_ptr[part + 1]):
            for t in range(tie_ptr[c], tie_ptr[c + 1]):
                k = tie_comm[t]
                km = tie_km[t]
                for sk in range(class_skill_ptr[c], class_skill_ptr[c + 1]):
                    kgi = k * n_cat + class_skill_cat[sk]
                    if pi_class[c] + cs * km >= a_kg[kgi] + 1.0:
                        continue
                    for q in range(kg_cell_ptr[kgi], kg_cell_ptr[kgi + 1]):
                        cell = kg_cells[q]
                        w = pw * cell_prio[cell] - tc * km
                        if w <= 0:
                            continue
                        cost = _cost(w, scale)
                        rc = cost + pi_class[c] - pi_cell[cell]
                        if rc < 0:
                            _keep(top_rc, top_head, top_cost, c, rc, cell, cost)


@numba.njit(cache=True)
def _merge_parts(
    part_rc: np.ndarray,
    part_head: np.ndarray,
    part_cost: np.ndarray,
    top_rc: np.ndarray,
    top_head: np.ndarray,
    top_cost: np.ndarray,
) -> None:
    """Fold the parts' lists into one, in part order (deterministic)."""
    for t in range(part_rc.shape[0]):
        for row in range(part_rc.shape[1]):
            for j in range(part_rc.shape[2]):
                if part_head[t, row, j] >= 0:
                    _keep(
                        top_rc,
                        top_head,
                        top_cost,
                        row,
                        part_rc[t, row, j],
                        part_head[t, row, j],
                        part_cost[t, row, j],
                    )


@numba.njit(cache=True)
def _scan_eligible(
    site_group_ptr: np.ndarray,
    group_cat: np.ndarray,
    g_count: np.ndarray,
    near_ptr: np.ndarray,
    near_comm: np.ndarray,
    near_km: np.ndarray,
    n_cat: int,
    kg_want: np.ndarray,
    tie_ptr: np.ndarray,
    tie_comm: np.ndarray,
    tie_km: np.ndarray,
    class_skill_ptr: np.ndarray,
    class_skill_cat: np.ndarray,
    c_count: np.ndarray,
    out: np.ndarray,
    far_km: np.ndarray,
) -> None:
    """Per (community, category), sum the counts of the eligible suppliers.

    ``g_count`` (per group) and ``c_count`` (per class) hold three counts: suppliers,
    suppliers with hours used, suppliers with hours left; ``out`` receives their sums
    over the suppliers eligible for each wanted (community, category), ``far_km`` the
    largest distance of an eligible supplier with hours left.
    """
    for p in range(len(site_group_ptr) - 1):
        g_lo, g_hi = site_group_ptr[p], site_group_ptr[p + 1]
        for j in range(near_ptr[p], near_ptr[p + 1]):
            k = near_comm[j]
            km = near_km[j]
            for g in range(g_lo, g_hi):
                kgi = k * n_cat + group_cat[g]
                if not kg_want[kgi]:
                    continue
                for z in range(3):
                    out[kgi, z] += g_count[g, z]
                if g_count[g, 2] > 0 and km > far_km[kgi]:
                    far_km[kgi] = km
    for c in range(len(tie_ptr) - 1):
        for t in range(tie_ptr[c], tie_ptr[c + 1]):
            k = tie_comm[t]
            km = tie_km[t]
            for sk in range(class_skill_ptr[c], class_skill_ptr[c + 1]):
                kgi = k * n_cat + class_skill_cat[sk]
                if not kg_want[kgi]:
                    continue
                for z in range(3):
                    out[kgi, z] += c_count[c, z]
                if c_count[c, 2] > 0 and km > far_km[kgi]:
                    far_km[kgi] = km


@numba.njit(cache=True)
def _dual_bound(
    site_group_ptr: np.ndarray,
    group_cat: np.ndarray,
    near_ptr: np.ndarray,
    near_comm: np.ndarray,
    near_km: np.ndarray,
    n_cat: int,
    kg_cell_ptr: np.ndarray,
    kg_cells: np.ndarray,
    cell_prio: np.ndarray,
    v_cell: np.ndarray,
    b_kg: np.ndarray,
    b_comm: np.ndarray,
    tie_ptr: np.ndarray,
    tie_comm: np.ndarray,
    tie_km: np.ndarray,
    class_skill_ptr: np.ndarray,
    class_skill_cat: np.ndarray,
    class_skill_group: np.ndarray,
    pw: float,
    tc: float,
    u_class: np.ndarray,
) -> None:
    """The smallest dual value of every class given the cells' duals ``v_cell``.

    ``u_class[c]`` becomes ``max(0, max over c's eligible cells e of (w_ce - v_e))``, so
    ``(u_class, v_cell)`` is dual feasible for every candidate arc. ``b_kg`` is, per
    (community, category), the largest ``pw * prio - v`` of its cells (``b_comm``: over
    a community's categories).
    """
    n_g = len(group_cat)
    best = np.zeros(n_g)
    for p in range(len(site_group_ptr) - 1):
        g_lo, g_hi = site_group_ptr[p], site_group_ptr[p + 1]
        if g_lo == g_hi:
            continue
        for j in range(near_ptr[p], near_ptr[p + 1]):
            k = near_comm[j]
            km = near_km[j]
            low = best[g_lo]
            for g in range(g_lo, g_hi):
                low = min(low, best[g])
            if b_comm[k] - tc * km <= low:
                continue
            for g in range(g_lo, g_hi):
                kgi = k * n_cat + group_cat[g]
                if b_kg[kgi] - tc * km <= best[g]:
                    continue
                for q in range(kg_cell_ptr[kgi], kg_cell_ptr[kgi + 1]):
                    c = kg_cells[q]
                    w = pw * cell_prio[c] - tc * km
                    if w > 0 and w - v_cell[c] > best[g]:
                        best[g] = w - v_cell[c]
    for c in range(len(tie_ptr) - 1):
        u = 0.0
        for sk in range(class_skill_ptr[c], class_skill_ptr[c + 1]):
            u = max(u, best[class_skill_group[sk]])
        for t in range(tie_ptr[c], tie_ptr[c + 1]):
            k = tie_comm[t]
            km = tie_km[t]
            for sk in range(class_skill_ptr[c], class_skill_ptr[c + 1]):
                kgi = k * n_cat + class_skill_cat[sk]
                if b_kg[kgi] - tc * km <= u:
                    continue
                for q in range(kg_cell_ptr[kgi], kg_cell_ptr[kgi + 1]):
                    e = kg_cells[q]
                    w = pw * cell_prio[e] - tc * km
                    if w > 0 and w - v_cell[e] > u:
                        u = w - v_cell[e]
        u_class[c] = u


# --------------------------------------------------------------------------- solver
_KIND_NAMES = np.array(["cadre", "service"], dtype=object)
_START_MAX = 1e6  # score; far above any hour's worth


def _supplier_keys(ix: TieIndex) -> pd.MultiIndex:
    sup = ix.suppliers
    return pd.MultiIndex.from_arrays([_KIND_NAMES[sup.kind], sup.ids], names=["kind", "id"])


def _duals_of(ix: TieIndex, net: Network, lay: _Layout, pi: np.ndarray, scale: float) -> Duals:
    """The marginal values that the final potentials ``pi`` give (see :class:`Duals`)."""
    sink = lay.sink
    cls = net.class_of
    u = np.zeros(len(cls))
    has = cls >= 0
    u[has] = np.maximum(0, pi[cls[has]] - pi[sink]) / scale
    cell = net.cell_of
    v = np.zeros(len(cell))
    has = cell >= 0
    v[has] = np.maximum(0, pi[sink] - pi[lay.cell0 + cell[has]]) / scale
    return Duals(
        supplier=pd.Series(u, index=_supplier_keys(ix), name="value"),
        demand=pd.Series(v, index=pd.Index(ix.demand_ids, name="demand_id"), name="value"),
    )


def _start_potentials(
    ix: TieIndex, net: Network, lay: _Layout, start: Duals, scale: float
) -> np.ndarray:
    """Node potentials from another plan's values, to price the first round at.

    A class takes the least value of its members that ``start`` knows (0 if none), a cell
    the greatest of its demands' (0 if none): the choices that price more arcs in, not
    fewer. A group node takes the least of its classes', as a class feeding it at the
    optimum would (its arc costs 0).
    """
    pi = np.zeros(lay.sink + 1, dtype=_I)
    # Clipped to what an int64 potential holds with room to spare: a start is only a guess.
    u = start.supplier.reindex(_supplier_keys(ix)).to_numpy(dtype=np.float64)
    u = np.clip(u, 0.0, _START_MAX)
    cls = net.class_of
    ok = (cls >= 0) & np.isfinite(u)
    cu = np.full(net.n_classes, np.inf)
    np.minimum.at(cu, cls[ok], u[ok])
    cu[~np.isfinite(cu)] = 0.0
    pi[: lay.n_c] = np.rint(cu * scale).astype(_I)
    owner = net.class_skill_owner[lay.sk_arc]
    node = lay.group_node[net.class_skill_group[lay.sk_arc]]
    if len(node):
        gmin = np.full(lay.sink + 1, np.iinfo(_I).max, dtype=_I)
        np.minimum.at(gmin, node, pi[owner])
        gmin[gmin == np.iinfo(_I).max] = 0  # (every group node has two classes or more)
        pi[lay.n_c : lay.cell0] = gmin[lay.n_c : lay.cell0]
    v = np.clip(start.demand.reindex(pd.Index(ix.demand_ids)).to_numpy(np.float64), 0, _START_MAX)
    cell = net.cell_of
    ok = (cell >= 0) & np.isfinite(v)
    cv = np.zeros(net.n_cells)
    np.maximum.at(cv, cell[ok], v[ok])
    pi[lay.cell0 : lay.sink] = -np.rint(cv * scale).astype(_I)
    return pi


def dual_bound(net: Network, params: PlanParams, v_cell: np.ndarray) -> float:
    """An upper bound on the optimum from any cell duals ``v_cell >= 0`` (weak duality).

    Each class takes the smallest dual that keeps every one of its candidate arcs
    feasible, found by scanning all implicit arcs; the bound is then
    ``sum(hours_c * u_c) + sum(hours_e * v_e)``.
    """
    pw, tc = float(params.priority_weight), float(params.travel_cost_per_km)
    n_kg = len(net.kg_cell_ptr) - 1
    b_kg = np.full(n_kg, -np.inf)
    np.maximum.at(b_kg, net.cell_kg, pw * net.cell_prio - v_cell)
    b_comm = b_kg.reshape(-1, net.n_cat).max(axis=1) if n_kg else np.zeros(0)
    u = np.zeros(net.n_classes)
    _dual_bound(
        net.site_group_ptr,
        net.group_cat,
        net.near_ptr,
        net.near_comm,
        net.near_km,
        net.n_cat,
        net.kg_cell_ptr,
        net.kg_cells,
        net.cell_prio,
        v_cell,
        b_kg,
        b_comm,
        net.tie_ptr,
        net.tie_comm,
        net.tie_km,
        net.class_skill_ptr,
        net.class_skill_cat,
        net.class_skill_group,
        pw,
        tc,
        u,
    )
    return float(np.dot(net.class_hours, u) + np.dot(net.cell_hours, v_cell))


def _top(rows: int, m: int, parts: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty lists of the ``m`` best arcs per row (one set per part if ``parts``): their
    reduced costs, heads (-1: none) and costs."""
    shape = (parts, rows, m) if parts else (rows, m)
    return np.zeros(shape, dtype=_I), np.full(shape, -1, dtype=_I), np.zeros(shape, dtype=_I)


def _taken(
    top: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arcs kept in per-row lists: their rows, heads and costs, by row then head."""
    _rc, head, cost = top
    row, col = np.nonzero(head >= 0)
    order = np.lexsort((head[row, col], row))
    row, col = row[order], col[order]
    return row.astype(_I), head[row, col], cost[row, col]


@dataclass
class _Master:
    """The restricted network and the implicit arcs brought into it so far."""

    net: Network
    lay: _Layout
    ns: NetworkSimplex
    n_fixed: int
    # Node ids as int32 (< 2**28 nodes): at scale 5 the arcs brought in number 10 million.
    tail: list[np.ndarray]
    head: list[np.ndarray]

    def add(self, tail: np.ndarray, head: np.ndarray, cost: np.ndarray) -> int:
        """Add arcs to the network (none of them already in it); returns how many."""
        if len(tail) == 0:
            return 0
        # Above any cell's hours, so an arc never sits at its upper bound.
        cap = np.full(len(tail), int(self.net.cell_hours.max(initial=0)) + 1, dtype=_I)
        self.ns.add_arcs(tail, head, cap, cost)
        self.tail.append(tail.astype(np.int32))
        self.head.append(head.astype(np.int32))
        return len(tail)


_PARALLEL = threading.Lock()


@contextmanager
def _threads(workers: int) -> Iterator[None]:
    """Run the parallel pricing kernels on ``workers`` threads, one plan at a time.

    numba's ``workqueue`` threading layer (its fallback when neither TBB nor OpenMP is
    installed) aborts the process if two Python threads launch parallel kernels at once.
    """
    with _PARALLEL:
        before = numba.get_num_threads()
        most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
        numba.set_num_threads(max(1, min(workers, most)))
        try:
            yield
        finally:
            numba.set_num_threads(before)


def _parts(work: np.ndarray, parts: int | None = None) -> np.ndarray:
    """Split ``0..len(work)`` into ``parts`` (default :data:`PARTS`) consecutive ranges of
    about equal summed ``work``; returns their ``len + 1`` bounds."""
    k = PARTS if parts is None else parts
    cum = np.cumsum(work, dtype=np.float64)
    total = cum[-1] if len(cum) else 0.0
    cuts = np.searchsorted(cum, total * np.arange(1, k) / k, side="right")
    return np.concatenate(([0], cuts, [len(work)])).astype(_I)


@dataclass(frozen=True)
class _Layout:
    """The nodes of the flow network: classes, shared groups, cells, then the sink.

    A group that only one class reaches is not a node: its arcs leave that class itself
    (the same arcs and scores, one node and one arc fewer). With cadres at coordinates of
    their own every group is such a group, and at generator scale 1.0 about half are.
    """

    n_c: int
    n_gn: int  # groups that are nodes (reached by two classes or more)
    n_e: int
    sink: int
    group_node: np.ndarray  # per group: its node, or its one class's
    sk_arc: np.ndarray  # the (class, skill) entries with a class -> group arc, in order

    @property
    def cell0(self) -> int:
        """The first cell's node."""
        return self.n_c + self.n_gn


def _layout(net: Network) -> _Layout:
    n_c, n_g, n_e = net.n_classes, net.n_groups, net.n_cells
    shared = np.bincount(net.class_skill_group, minlength=n_g) > 1
    n_gn = int(shared.sum())
    group_node = np.zeros(n_g, dtype=_I)
    group_node[shared] = n_c + np.arange(n_gn, dtype=_I)
    sk_arc = np.flatnonzero(shared[net.class_skill_group])
    lone = np.flatnonzero(~shared[net.class_skill_group])
    group_node[net.class_skill_group[lone]] = net.class_skill_owner[lone]
    return _Layout(n_c, n_gn, n_e, n_c + n_gn + n_e, group_node, sk_arc.astype(_I))


def solve_columns(
    ix: TieIndex,
    per_round: int = 2,
    first_round: int = 2,
    per_cell: int = 4,
    max_rounds: int = 10_000,
    warm_start: Duals | None = None,
) -> ColumnResult:
    """Solve the labour objective of ``ix`` exactly by column generation.

    Parameters
    ----------
    ix
        From :func:`matcher.model.eligibility.index_dataset`.
    per_round, first_round
        Arcs each group and class may bring in per pricing round; the first round is
        priced at zero potentials, so it brings in each one's best-scoring arcs.
    per_cell
        Arcs each demand cell may bring in per round besides (its most negative ones
        from any group), so that cells many groups compete for get options of their
        own. At generator scale 0.3, 2, 2 and 4 took 2.92 s; 2, 2 and 2 took 2.87 s, and
        other mixes up to 3.17 s (3, 3, 4: 2.96 s; 4, 4, 4: 3.05 s; 2, 4, 4: 3.17 s).
    max_rounds
        A safeguard; column generation ends long before.
    warm_start
        Marginal values of a similar plan (its :attr:`ColumnResult.duals`) to price the
        first round at (module doc, "Warm start"); ``first_round`` is then
        :data:`WARM_FIRST_ROUND`. The plan is optimal either way.

    Returns
    -------
    ColumnResult
        The flow on the compact arcs that carry hours, with the demands' reasons and the
        plain model's candidate-arc count.

    Raises
    ------
    NotApplicable
        If the dataset is outside what this solver handles (see :func:`build_network`).

    Examples
    --------
    >>> from matcher.inputs.dataset import load_dataset
    >>> from matcher.model.eligibility import index_dataset
    >>> r = solve_columns(index_dataset(load_dataset("tests/data/example/dataset")))
    >>> r.status, round(r.objective, 4), r.candidate_arcs
    ('optimal', 139.6961, 9)
    """
    start = time.perf_counter()
    params = ix.params
    net = build_network(ix)
    pw, tc, scale = params.priority_weight, params.travel_cost_per_km, params.cost_scale
    lay = _layout(net)
    n_c, n_g, n_e, sink = lay.n_c, net.n_groups, lay.n_e, lay.sink
    cell0 = lay.cell0
    n_nodes = sink + 1
    total = int(net.class_hours.sum())
    supplies = np.zeros(n_nodes, dtype=_I)
    supplies[:n_c] = net.class_hours
    supplies[sink] = -total
    ns = NetworkSimplex(n_nodes, supplies)
    big = max(total, 1)
    sk_owner = net.class_skill_owner
    # Fixed arcs: class -> sink (hours left unused), class -> shared group, cell -> sink.
    ns.add_arcs(np.arange(n_c), np.full(n_c, sink), net.class_hours, np.zeros(n_c, _I))
    n_sk = len(lay.sk_arc)
    ns.add_arcs(
        sk_owner[lay.sk_arc],
        lay.group_node[net.class_skill_group[lay.sk_arc]],
        np.full(n_sk, big, _I),
        np.zeros(n_sk, _I),
    )
    cells = cell0 + np.arange(n_e, dtype=_I)
    ns.add_arcs(cells, np.full(n_e, sink), net.cell_hours, np.zeros(n_e, _I))
    n_fixed = n_c + n_sk + n_e
    master = _Master(net, lay, ns, n_fixed, [], [])

    # Cells only ever gain columns from groups and classes of their category.
    cell_a = pw * net.cell_prio.astype(np.float64) * scale
    n_kg = len(net.kg_cell_ptr) - 1
    rounds = 0
    pi = np.zeros(n_nodes, dtype=_I)
    n_near = np.diff(net.near_ptr) * np.diff(net.site_group_ptr)
    site_parts = _parts(n_near)
    class_parts = _parts(np.diff(net.tie_ptr) * np.diff(net.class_skill_ptr))
    # The parts' lists per cell are cleared each round, not made anew: at scale 5 a new set
    # (16 x 100,000 cells) took 0.18 s a round, mostly page faults.
    parts_e = _top(n_e, per_cell, parts=PARTS)
    pivots, t_simplex, t_pricing = 0, 0.0, 0.0
    for rounds in range(1, max_rounds + 1):
        t_round = time.perf_counter()
        m = first_round if rounds == 1 else per_round
        if rounds == 1 and warm_start is not None:
            # Lowering the classes' and groups' potentials by the slack makes the kernels
            # keep the arcs that price below it, not only the negative ones.
            m = WARM_FIRST_ROUND
            pi = _start_potentials(ix, net, lay, warm_start, scale)
            pi[:cell0] -= round(WARM_SLACK * scale)
        pi_group = pi[lay.group_node]
        pi_cell = pi[cell0 : cell0 + n_e]
        a_cell = cell_a + pi_cell
        a_kg = np.full(n_kg, -np.inf)
        np.maximum.at(a_kg, net.cell_kg, a_cell)
        a_comm = a_kg.reshape(-1, net.n_cat).max(axis=1) if n_kg else np.zeros(0)
        top_g = _top(n_g, m)
        top_e = _top(n_e, per_cell)
        parts_e[0].fill(0)  # what _keep reads: rc 0 and no head, as _top makes them
        parts_e[1].fill(-1)
        with _threads(params.workers):
            _price_groups(
                site_parts,
                net.site_group_ptr,
                net.group_cat,
                pi_group,
                net.near_ptr,
                net.near_comm,
                net.near_km,
                net.n_cat,
                net.kg_cell_ptr,
                net.kg_cells,
                net.cell_prio,
                pi_cell,
                a_kg,
                a_comm,
                pw,
                tc,
                scale,
                *top_g,
                *parts_e,
            )
            _merge_parts(*parts_e, *top_e)
            top_c = _top(n_c, m)
            _price_ties(
                class_parts,
                net.tie_ptr,
                net.tie_comm,
                net.tie_km,
                net.class_skill_ptr,
                net.class_skill_cat,
                pi[:n_c],
                net.n_cat,
                net.kg_cell_ptr,
                net.kg_cells,
                net.cell_prio,
                pi_cell,
                a_kg,
                pw,
                tc,
                scale,
                *top_c,
            )
        g_tail, g_head, g_cost = _taken(top_g)
        g_tail = lay.group_node[g_tail]
        if per_cell:
            e_cell, e_group, e_cost = _taken(top_e)
            e_tail = lay.group_node[e_group]
            fresh = ~np.isin(e_tail * n_e + e_cell, g_tail * n_e + g_head)
            g_tail = np.concatenate((g_tail, e_tail[fresh]))
            g_head = np.concatenate((g_head, e_cell[fresh]))
            g_cost = np.concatenate((g_cost, e_cost[fresh]))
        c_tail, c_head, c_cost = _taken(top_c)
        added = master.add(g_tail, cell0 + g_head, g_cost)
        added += master.add(c_tail, cell0 + c_head, c_cost)
        t_pricing += time.perf_counter() - t_round
        if added == 0 and rounds > 1:
            break
        # Every arc in the network is priced (this round's first), so none of them has a
        # negative reduced cost when the kernels above run again: they only ever offer
        # arcs not yet in. Pricing only this round's arcs (NetworkSimplex.solve_within)
        # let old arcs come back as copies that took the rounds' places: at scale 1, 63
        # rounds, 2.30 million arcs and 43.7 s, against 12 rounds, 0.90 million and 29.7 s.
        t_round = time.perf_counter()
        status = ns.solve()
        t_simplex += time.perf_counter() - t_round
        pivots += ns.pivots
        if status != "optimal":
            raise SolverError(
                Text(N_("network simplex ended with status {status}"), status=repr(status))
            )
        pi = ns.potentials
        if added == 0 and warm_start is None:
            # Round 1 priced at zero: no arc at all (a warm start's round 1 proves nothing).
            break
    else:  # pragma: no cover - a safeguard
        raise SolverError(
            Text(N_("column generation did not converge in {n} rounds"), n=max_rounds)
        )

    flows = ns.flows
    arcs, flow = _disaggregate(ix, master, flows)
    weight = arcs.weight
    objective = float(np.dot(flow, weight))
    rounded_optimum = -ns.optimal_cost / scale
    # Every arc's integer cost is within 1 unit of its score (rint, and at least 1).
    hours = min(total, int(net.cell_hours.sum()))
    # The final potentials, read as duals of the cells, give a second bound over every
    # implicit arc with the true (unrounded) scores: usually the tighter one.
    v_cell = np.maximum(0, pi[sink] - pi[cell0 : cell0 + n_e]) / scale
    bound = max(min(rounded_optimum + hours / scale, dual_bound(net, params, v_cell)), objective)
    gap = (bound - objective) / max(abs(bound), 1.0)
    reasons, n_arcs = _reasons(ix, net, arcs, flow)
    return ColumnResult(
        flow=flow,
        status="optimal",
        objective=objective,
        bound=bound,
        gap=gap,
        wall_seconds=time.perf_counter() - start,
        solver="matcher.columns+network_simplex",
        arcs=arcs,
        reasons=reasons,
        candidate_arcs=n_arcs,
        rounds=rounds,
        columns=sum(len(t) for t in master.tail),
        pivots=pivots,
        simplex_seconds=t_simplex,
        pricing_seconds=t_pricing,
        duals=_duals_of(ix, net, lay, pi, scale),
    )


def overlap(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay two partitions of one line end to end and intersect them.

    ``left`` and ``right`` are piece lengths (``>= 0``) with equal sums. Returns, for
    every stretch where a left piece meets a right piece, ``(left_index, right_index,
    length)`` in line order. This is the "north-west corner" split used to hand a
    class's hours to its members and a cell's hours to its demands.

    Examples
    --------
    >>> left, right, length = overlap(np.array([3, 2]), np.array([1, 4]))
    >>> left.tolist(), right.tolist(), length.tolist()
    ([0, 0, 1], [0, 1, 1], [1, 2, 2])
    """
    lb = np.cumsum(left)
    rb = np.cumsum(right)
    if len(lb) and len(rb) and lb[-1] != rb[-1]:
        raise ValueError(f"partitions differ in length: {lb[-1]} and {rb[-1]}")
    ends = np.union1d(lb, rb)
    ends = ends[ends > 0]
    starts = np.concatenate(([0], ends[:-1]))
    length = ends - starts
    li = np.searchsorted(lb, ends, side="left")
    ri = np.searchsorted(rb, ends, side="left")
    keep = length > 0
    return li[keep].astype(_I), ri[keep].astype(_I), length[keep].astype(_I)


def _disaggregate(ix: TieIndex, master: _Master, flows: np.ndarray) -> tuple[Arcs, np.ndarray]:
    """Hand the aggregated flow to suppliers and demands: compact arcs and their hours."""
    net, lay = master.net, master.lay
    n_c, n_e = lay.n_c, lay.n_e
    # Per (class, skill) entry, its flow into a shared group (a lone group's flows leave
    # its class directly, as a tie's do).
    f_cg = np.zeros(len(net.class_skill_group), dtype=_I)
    f_cg[lay.sk_arc] = flows[n_c : n_c + len(lay.sk_arc)]
    f_imp = flows[master.n_fixed :]
    on = f_imp > 0
    tail = np.concatenate(master.tail)[on].astype(_I) if master.tail else np.zeros(0, _I)
    head = np.concatenate(master.head)[on] - lay.cell0 if master.head else np.zeros(0, _I)
    head = head.astype(_I)
    f_imp = f_imp[on]
    # Shared groups' nodes are numbered in the order of the groups.
    via_group = tail >= n_c

    # Through groups: match each group's inflows (classes) to its outflows (cells).
    sk_owner = net.class_skill_owner
    cg = np.flatnonzero(f_cg > 0)
    cg = cg[np.lexsort((sk_owner[cg], net.class_skill_group[cg]))]
    gt = np.flatnonzero(via_group)
    gt = gt[np.lexsort((head[gt], tail[gt]))]
    li, ri, amount = overlap(f_cg[cg], f_imp[gt])
    pc_class = np.concatenate((sk_owner[cg][li], tail[~via_group]))
    pc_cell = np.concatenate((head[gt][ri], head[~via_group]))
    pc_hours = np.concatenate((amount, f_imp[~via_group]))
    key = pc_class * max(n_e, 1) + pc_cell
    key, inv = np.unique(key, return_inverse=True)
    pc_hours = np.bincount(inv, weights=pc_hours).astype(_I)
    pc_class, pc_cell = key // max(n_e, 1), key % max(n_e, 1)

    # Class -> members (file order), the unused hours last.
    s = ix.suppliers
    used_c = np.bincount(pc_class, weights=pc_hours, minlength=n_c).astype(_I)
    spare = net.class_hours - used_c
    piece_class = np.concatenate((pc_class, np.arange(n_c, dtype=_I)))
    piece_hours = np.concatenate((pc_hours, spare))
    piece_cell = np.concatenate((pc_cell, np.full(n_c, -1, _I)))
    order = np.lexsort((piece_cell < 0, piece_class))
    piece_cell, piece_hours = piece_cell[order], piece_hours[order]
    member_hours = s.hours[net.class_members]
    li, ri, amount = overlap(piece_hours, member_hours)
    real = piece_cell[li] >= 0
    ps_sup = net.class_members[ri][real]
    ps_cell = piece_cell[li][real]
    ps_hours = amount[real]

    # Cell -> demands (file order), the unmet hours last.
    got = np.bincount(ps_cell, weights=ps_hours, minlength=n_e).astype(_I)
    dem_live = np.flatnonzero(net.cell_of >= 0)
    dem_cell = net.cell_of[dem_live]
    dorder = np.lexsort((dem_live, dem_cell))
    dem_live, dem_cell = dem_live[dorder], dem_cell[dorder]
    q_cell = np.concatenate((ps_cell, np.arange(n_e, dtype=_I)))
    q_sup = np.concatenate((ps_sup, np.full(n_e, -1, _I)))
    q_hours = np.concatenate((ps_hours, net.cell_hours - got))
    order = np.lexsort((q_sup, q_sup < 0, q_cell))
    q_sup, q_hours = q_sup[order], q_hours[order]
    li, ri, amount = overlap(q_hours, ix.demand_hours[dem_live])
    real = q_sup[li] >= 0
    sup = q_sup[li][real]
    dem = dem_live[ri][real]
    hours = amount[real]
    comm = ix.demand_community[dem]
    order = np.lexsort((dem, comm, sup))
    sup, dem, hours, comm = sup[order], dem[order], hours[order], comm[order]
    km = haversine_km(s.lat[sup], s.lon[sup], ix.community_lat[comm], ix.community_lon[comm])
    n_comm = max(len(ix.community_ids), 1)
    unit = s.unit[sup]
    pair_keys = np.unique(ix.pair_unit * n_comm + ix.pair_comm)
    ally_keys = np.unique(ix.alliance_unit * n_comm + ix.alliance_comm)
    tie = np.full(len(sup), PROXIMITY, dtype=np.int8)
    tie[np.isin(unit * n_comm + comm, ally_keys)] = ALLIANCE
    tie[np.isin(unit * n_comm + comm, pair_keys)] = PAIRING
    tie[s.home[sup] == comm] = RESIDENCE
    if np.any((tie == PROXIMITY) & (km > s.radius_km[sup])):
        raise SolverError(Text(N_("a disaggregated arc has no tie; the column network is wrong")))
    arcs = Arcs(
        supplier=sup,
        demand=dem,
        km=km,
        tie=tie,
        weight=hour_score(ix.demand_priority[dem], km, ix.params),
    )
    return arcs, hours


def _reasons(ix: TieIndex, net: Network, arcs: Arcs, flow: np.ndarray) -> tuple[np.ndarray, int]:
    """Each demand's reason as the plain model decides it, and its candidate-arc count."""
    s = ix.suppliers
    n_sup, n_d = len(s), len(ix.demand_ids)
    used = np.bincount(arcs.supplier, weights=flow, minlength=n_sup).astype(_I)
    left = s.hours - used
    count = np.column_stack((np.ones(n_sup, _I), (used > 0).astype(_I), (left > 0).astype(_I)))
    member = net.class_of >= 0
    c_count = np.zeros((net.n_classes, 3), dtype=_I)
    np.add.at(c_count, net.class_of[member], count[member])
    g_count = np.zeros((net.n_groups, 3), dtype=_I)
    np.add.at(g_count, net.class_skill_group, c_count[net.class_skill_owner])

    n_kg = len(net.kg_demands)
    kg_want = net.kg_demands > 0
    out = np.zeros((n_kg, 3), dtype=_I)
    far_km = np.full(n_kg, -1.0)
    _scan_eligible(
        net.site_group_ptr,
        net.group_cat,
        g_count,
        net.near_ptr,
        net.near_comm,
        net.near_km,
        net.n_cat,
        kg_want,
        net.tie_ptr,
        net.tie_comm,
        net.tie_km,
        net.class_skill_ptr,
        net.class_skill_cat,
        c_count,
        out,
        far_km,
    )
    n_arcs = int(np.dot(out[:, 0], net.kg_demands))
    kg = ix.demand_community * net.n_cat + ix.demand_category
    covered = np.bincount(arcs.demand, weights=flow, minlength=n_d).astype(_I)
    # Suppliers that gave all their used hours to this one demand.
    only_here = np.bincount(
        arcs.demand, weights=(used[arcs.supplier] == flow) & (flow > 0), minlength=n_d
    )
    far_w = hour_score(ix.demand_priority, far_km[kg], ix.params)
    reasons = decide_reasons(
        short=covered < ix.demand_hours,
        has_arc=out[kg, 0] > 0,
        too_far=(far_km[kg] >= 0) & (far_w <= 0),
        taken=out[kg, 1] > only_here,
        spare=out[kg, 2] > 0,
    )
    return reasons, n_arcs


def compact_problem(ix: TieIndex, result: ColumnResult) -> Problem:
    """The :class:`Problem` whose arcs are the result's compact arcs."""
    if result.arcs is None:
        raise ValueError("the result carries no arcs")
    return ix.problem(result.arcs)
