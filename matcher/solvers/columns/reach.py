"""Which communities each site and class reaches, found once before the column generation.

A *site* (a place and a radius) reaches the communities within its radius; a supplier
class reaches besides the communities it is tied to beyond it (home, pairing, alliance).
Both lists are found by compiled kernels in three passes (count, borderline, fill), the
sites' on a grid of communities.

Distances are haversine, as everywhere. The grid uses a local planar projection only to
skip work: ``LOWER * planar`` is a proven lower bound on the great-circle distance for
points less than one radian apart, so nothing eligible is ever skipped. The compiled
haversine (:func:`hav_rad`) and numpy's differ in the last bits (on 108 of 200,000 random
pairs in the city, by up to 1.4e-14 km), so a pair within :data:`BORDER` (relative) of a
radius is *borderline*: :func:`matcher.model.geo.haversine_km`, the plain model's own
distance, decides whether it is within reach (see :func:`_within_by_plain_distance`). With
cadres at coordinates of their own, a city-scale dataset has such a pair about every other
time.

>>> phi, lmb, cos = radians(np.array([26.0, 27.0]), np.array([119.3, 119.3]))
>>> round(hav_rad(phi[0], lmb[0], cos[0], phi[1], lmb[1], cos[1]), 3)
111.195
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np
import numpy.typing as npt

from matcher.model.arcs import TieIndex
from matcher.model.arrays import csr
from matcher.model.geo import EARTH_RADIUS_KM, haversine_km
from matcher.solvers.columns.parallel import parts, threads
from matcher.solvers.outcomes import NotApplicable

__all__ = [
    "BORDER",
    "LOWER",
    "MAX_SPAN_RAD",
    "check_span",
    "hav_rad",
    "near_communities",
    "radians",
    "tied_communities",
]

_I = np.int64
LOWER = 0.95
"""``LOWER * planar distance`` bounds the haversine distance from below (see module doc)."""
MAX_SPAN_RAD = 0.5
"""Datasets spanning more latitude or longitude than this (radians) use the plain model."""
BORDER = 1e-9
"""Relative distance to a radius within which a pair is borderline: the plain model's
distance decides it."""

_Pairs = tuple[npt.NDArray[np.int64], npt.NDArray[np.integer], npt.NDArray[np.float64], int]
"""Per row, pointers into the lists; the communities; their distances; the borderline count."""


# --------------------------------------------------------------------------- kernels
@numba.njit(cache=True, inline="always")
def hav_rad(p1: float, l1: float, c1: float, p2: float, l2: float, c2: float) -> float:
    """Haversine km from radians and the cosines of the latitudes (see :func:`radians`)."""
    dphi = p2 - p1
    dlmb = l2 - l1
    a = math.sin(dphi / 2) ** 2 + c1 * c2 * math.sin(dlmb / 2) ** 2
    a = min(max(a, 0.0), 1.0)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@numba.njit(cache=True)
def radians(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latitudes and longitudes in radians and the latitudes' cosines, computed once per
    point for :func:`hav_rad`."""
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
    """The grid bins (inclusive ranges in x and y) that may hold a point within ``r``."""
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
def _pair_step(
    mode: int,
    comm: int,
    km: float,
    r: float,
    keep_within: bool,
    j: int,
    b: int,
    out_comm: np.ndarray,
    out_km: np.ndarray,
    bl_comm: np.ndarray,
    bl_keep: np.ndarray,
) -> tuple[int, int, int]:
    """One pair of a pair kernel (see :func:`_near_pairs`): returns the next slot, the
    next borderline slot, and 1 if the pair is surely kept (0 otherwise)."""
    border = _on_radius(km, r)
    if border:
        if mode == 1:
            bl_comm[b] = comm
        keep = mode == 2 and bl_keep[b] != 0
        b += 1
    else:
        keep = (km <= r) == keep_within
    if keep and mode == 2:
        out_comm[j] = comm
        out_km[j] = km
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
    out_comm: np.ndarray,
    out_km: np.ndarray,
) -> None:
    """The communities within each site's radius, with their distance, in three passes
    over the sites (in parallel over the parts ``part_ptr`` bounds):

    * ``mode`` 0 counts, per site, the pairs surely within (``count[site, 0]``) and the
      borderline ones (``count[site, 1]``);
    * ``mode`` 1 records the borderline pairs' communities from ``bl_ptr[site]`` on;
    * ``mode`` 2 fills ``out_comm`` and ``out_km`` from ``ptr[site]`` on, with the
      borderline pairs whose ``bl_keep`` is 1.

    Every site writes only its own slots, so the lists do not depend on the threads.
    The grid only skips work (``LOWER * planar`` bounds the distance from below).
    """
    for part in numba.prange(len(part_ptr) - 1):
        for site in range(part_ptr[part], part_ptr[part + 1]):
            if mode == 1 and count[site, 1] == 0:
                continue
            j = ptr[site] if mode == 2 else 0
            b = bl_ptr[site] if mode != 0 else 0
            sure = 0
            r = site_r[site]
            xp, yp = site_x[site], site_y[site]
            bx_lo, bx_hi, by_lo, by_hi = _window(xp, yp, r, x0, y0, size, nbx, nby)
            for bx in range(bx_lo, bx_hi + 1):
                dx = _gap(xp, x0 + bx * size, size)
                for by in range(by_lo, by_hi + 1):
                    grid_bin = bx * nby + by
                    dy = _gap(yp, y0 + by * size, size)
                    if LOWER * math.sqrt(dx * dx + dy * dy) > r:
                        continue
                    for q in range(bin_ptr[grid_bin], bin_ptr[grid_bin + 1]):
                        comm = bin_comm[q]
                        ex = comm_x[comm] - xp
                        ey = comm_y[comm] - yp
                        if LOWER * math.sqrt(ex * ex + ey * ey) > r:
                            continue
                        km = hav_rad(
                            site_phi[site],
                            site_lmb[site],
                            site_cos[site],
                            comm_phi[comm],
                            comm_lmb[comm],
                            comm_cos[comm],
                        )
                        j, b, one = _pair_step(
                            mode, comm, km, r, True, j, b, out_comm, out_km, bl_comm, bl_keep
                        )
                        sure += one
            if mode == 0:
                count[site, 0] = sure
                count[site, 1] = b


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
    out_comm: np.ndarray,
    out_km: np.ndarray,
) -> None:
    """The communities each class is tied to beyond its radius, with their distance, in
    the three passes of :func:`_near_pairs` over the classes: a pair is kept when it is
    *not* within the radius (else it is reached through the class's groups)."""
    for part in numba.prange(len(part_ptr) - 1):
        for cls in range(part_ptr[part], part_ptr[part + 1]):
            if mode == 1 and count[cls, 1] == 0:
                continue
            j = ptr[cls] if mode == 2 else 0
            b = bl_ptr[cls] if mode != 0 else 0
            sure = 0
            site = class_site[cls]
            r = site_r[site]
            unit = class_unit[cls]
            lo = unit_tie_ptr[unit] if unit >= 0 else 0
            hi = unit_tie_ptr[unit + 1] if unit >= 0 else 0
            home = class_home[cls]
            n_home = 1 if home >= 0 else 0
            for q in range(lo - n_home, hi):
                comm = home if q < lo else unit_tie_comm[q]
                if q >= lo and comm == home:
                    continue
                km = hav_rad(
                    site_phi[site],
                    site_lmb[site],
                    site_cos[site],
                    comm_phi[comm],
                    comm_lmb[comm],
                    comm_cos[comm],
                )
                j, b, one = _pair_step(
                    mode, comm, km, r, False, j, b, out_comm, out_km, bl_comm, bl_keep
                )
                sure += one
            if mode == 0:
                count[cls, 0] = sure
                count[cls, 1] = b


# --------------------------------------------------------------------------- drivers
def check_span(ix: TieIndex) -> None:
    """Raise :class:`NotApplicable` if the dataset spans more than :data:`MAX_SPAN_RAD`
    of latitude or longitude (the planar grid's bound would not hold)."""
    s = ix.suppliers
    all_lat = np.concatenate((s.lat, ix.community_lat))
    all_lon = np.concatenate((s.lon, ix.community_lon))
    if len(all_lat) and (
        np.radians(np.ptp(all_lat)) > MAX_SPAN_RAD or np.radians(np.ptp(all_lon)) > MAX_SPAN_RAD
    ):
        raise NotApplicable("the dataset spans too large an area for the planar grid")


def _projection(
    lat: npt.NDArray[np.floating],
    lon: npt.NDArray[np.floating],
    all_lat: npt.NDArray[np.floating],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    c_min = float(np.cos(np.radians(np.abs(all_lat).max()))) if len(all_lat) else 1.0
    return (
        EARTH_RADIUS_KM * np.radians(lon) * c_min,
        EARTH_RADIUS_KM * np.radians(lat),
    )


def _grid(
    comm_x: npt.NDArray[np.float64],
    comm_y: npt.NDArray[np.float64],
    site_r: npt.NDArray[np.float64],
) -> tuple[float, float, float, int, int, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Bins of the communities on the plane, about half a typical radius wide: their
    origin ``x0, y0``, width, counts ``nbx, nby``, and the CSR of their communities."""
    n_comm = len(comm_x)
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
    return x0, y0, size, nbx, nby, bin_ptr, bin_comm


def _within_by_plain_distance(
    lat: npt.NDArray[np.floating],
    lon: npt.NDArray[np.floating],
    radius: npt.NDArray[np.floating],
    ix: TieIndex,
    comm: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """Whether each point is within its radius of community ``comm``, decided exactly as
    the plain model's proximity rule does (:func:`matcher.model.arcs.proximity_tie`):
    numpy's haversine against the radius, element-wise, so the same whatever the batch."""
    km = haversine_km(lat, lon, ix.community_lat[comm], ix.community_lon[comm])
    inside: npt.NDArray[np.bool_] = km <= radius
    return inside


def _pairs_with_borderline(
    kernel: Callable[..., None],
    args: tuple[object, ...],
    row_lat: npt.NDArray[np.floating],
    row_lon: npt.NDArray[np.floating],
    row_r: npt.NDArray[np.floating],
    ix: TieIndex,
    keep_within: bool,
    comm_dtype: type[np.integer],
) -> _Pairs:
    """Run a pair kernel's three passes (see :func:`_near_pairs`) over the rows (sites or
    classes, standing at ``row_lat, row_lon`` with radius ``row_r``), deciding their
    borderline pairs by the plain model's distance in between."""
    n_rows = len(row_lat)
    count = np.zeros((n_rows, 2), dtype=_I)
    bl_ptr = np.zeros(n_rows + 1, dtype=_I)
    ptr = np.zeros(n_rows + 1, dtype=_I)
    no_c: np.ndarray = np.zeros(0, comm_dtype)
    no_i, no_f, no_v = np.zeros(0, _I), np.zeros(0), np.zeros(0, np.int8)
    with threads(ix.params.workers):
        kernel(*args, parts(np.ones(n_rows)), 0, count, bl_ptr, no_i, no_v, ptr, no_c, no_f)
        np.cumsum(count[:, 1], out=bl_ptr[1:])
        bl_comm = np.zeros(int(bl_ptr[-1]), dtype=_I)
        if len(bl_comm):
            kernel(*args, parts(count[:, 1]), 1, count, bl_ptr, bl_comm, no_v, ptr, no_c, no_f)
        bl_row = np.repeat(np.arange(n_rows, dtype=_I), count[:, 1])
        inside = _within_by_plain_distance(
            row_lat[bl_row], row_lon[bl_row], row_r[bl_row], ix, bl_comm
        )
        keep = inside if keep_within else ~inside
        np.cumsum(count[:, 0] + np.bincount(bl_row[keep], minlength=n_rows), out=ptr[1:])
        comm: npt.NDArray[np.integer] = np.zeros(int(ptr[-1]), dtype=comm_dtype)
        km = np.zeros(int(ptr[-1]))
        work = count.sum(axis=1) + 1
        kernel(*args, parts(work), 2, count, bl_ptr, bl_comm, keep.astype(np.int8), ptr, comm, km)
    return ptr, comm, km, len(bl_comm)


def near_communities(
    ix: TieIndex,
    site_lat: npt.NDArray[np.floating],
    site_lon: npt.NDArray[np.floating],
    site_r: npt.NDArray[np.float64],
) -> _Pairs:
    """Every site's communities within its radius, found once on a grid of communities:
    each pricing round then streams through them instead of searching the grid again.

    Returns the CSR pointers per site, the communities (``uint16`` where they fit: with
    cadres at coordinates of their own, generator scale 1.0 lists 115 million pairs), their
    distances, and the number of borderline pairs.
    """
    all_lat = np.concatenate((ix.suppliers.lat, ix.community_lat))
    site_x, site_y = _projection(site_lat, site_lon, all_lat)
    comm_x, comm_y = _projection(ix.community_lat, ix.community_lon, all_lat)
    site_rad = radians(site_lat.astype(np.float64), site_lon.astype(np.float64))
    comm_rad = radians(ix.community_lat.astype(np.float64), ix.community_lon.astype(np.float64))
    args = (
        *site_rad,
        site_r,
        site_x,
        site_y,
        *comm_rad,
        comm_x,
        comm_y,
        *_grid(comm_x, comm_y, site_r),
    )
    n_comm = len(ix.community_ids)
    dtype = np.uint16 if n_comm <= np.iinfo(np.uint16).max else np.int32
    return _pairs_with_borderline(_near_pairs, args, site_lat, site_lon, site_r, ix, True, dtype)


def tied_communities(
    ix: TieIndex,
    class_site: npt.NDArray[np.int64],
    class_unit: npt.NDArray[np.int64],
    class_home: npt.NDArray[np.int64],
    site_lat: npt.NDArray[np.floating],
    site_lon: npt.NDArray[np.floating],
    site_r: npt.NDArray[np.float64],
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], int],
]:
    """Every class's communities tied to it beyond its radius: its home's, and its unit's
    pairing and alliance communities (per unit, unique).

    Returns the units' CSR of tied communities, then the classes' pairs as
    :func:`near_communities` does (communities as ``int64``).
    """
    n_comm, n_units = len(ix.community_ids), len(ix.unit_ids)
    tu = np.concatenate((ix.pair_unit, ix.alliance_unit)).astype(_I)
    tc = np.concatenate((ix.pair_comm, ix.alliance_comm)).astype(_I)
    ok = (tu >= 0) & (tc >= 0)
    tkey = np.unique(tu[ok] * max(n_comm, 1) + tc[ok])
    unit_tie_ptr, unit_tie_comm = csr(tkey // max(n_comm, 1), tkey % max(n_comm, 1), n_units)
    site_rad = radians(site_lat.astype(np.float64), site_lon.astype(np.float64))
    comm_rad = radians(ix.community_lat.astype(np.float64), ix.community_lon.astype(np.float64))
    args = (
        class_site,
        class_unit,
        class_home,
        *site_rad,
        site_r,
        unit_tie_ptr,
        unit_tie_comm,
        *comm_rad,
    )
    rows = (site_lat[class_site], site_lon[class_site], site_r[class_site])
    ptr, comm, km, border = _pairs_with_borderline(_tie_pairs, args, *rows, ix, False, np.int64)
    return unit_tie_ptr, unit_tie_comm, (ptr, comm.astype(_I, copy=False), km, border)
