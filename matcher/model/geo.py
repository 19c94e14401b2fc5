"""Great-circle distances and radius search on the sphere.

Points go on the unit sphere in 3-D; a great-circle radius becomes a straight-line
(chord) radius, which a k-d tree answers exactly. No supplier is ever compared with
every community.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

__all__ = [
    "EARTH_RADIUS_KM",
    "GENERATOR_KM_PER_DEG_LAT",
    "GENERATOR_KM_PER_DEG_LON_EQ",
    "KM_PER_DEG_LAT",
    "chord_for_km",
    "haversine_km",
    "pairs_within",
    "unit_xyz",
]

EARTH_RADIUS_KM = 6371.0
"""Mean Earth radius used for every distance (the spec's worked example uses it)."""
KM_PER_DEG_LAT = EARTH_RADIUS_KM * math.pi / 180.0
"""Kilometres per degree of latitude on that sphere (about 111.195): the distances'
own scale, for turning degrees into km and back where :func:`haversine_km` would."""

GENERATOR_KM_PER_DEG_LAT = 110.574
"""Kilometres per degree of latitude with which the synthetic city
(:mod:`matcher.inputs.generate`) and the scenarios' surge
(:mod:`matcher.analysis.scenario`) place new
points on a flat map around Fuzhou: the WGS-84 ellipsoid's meridian degree at the equator,
not :data:`KM_PER_DEG_LAT`. Only where points are drawn, never in a distance; kept as it
is because seeded cities and scenarios must come out exactly as they always have."""
GENERATOR_KM_PER_DEG_LON_EQ = 111.320
"""Kilometres per degree of longitude at the equator (the WGS-84 ellipsoid's), times the
cosine of the latitude, for the same flat maps as :data:`GENERATOR_KM_PER_DEG_LAT`."""


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (element-wise).

    Examples
    --------
    >>> round(float(haversine_km(np.array([26.0869]), np.array([119.3008]),
    ...                          np.array([26.0537]), np.array([119.3058]))[0]), 4)
    3.7253
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    km: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return km


def unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points in degrees as an ``(n, 3)`` array on the unit sphere."""
    phi, lmb = np.radians(lat), np.radians(lon)
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lmb), cos_phi * np.sin(lmb), np.sin(phi)))


def chord_for_km(km: float) -> float:
    """The straight-line distance on the unit sphere matching ``km`` along the surface."""
    angle = min(km / EARTH_RADIUS_KM, np.pi)
    return float(2.0 * np.sin(angle / 2.0))


def pairs_within(
    src_lat: np.ndarray,
    src_lon: np.ndarray,
    src_radius_km: np.ndarray,
    dst_tree: cKDTree,
) -> tuple[np.ndarray, np.ndarray]:
    """All (source, destination) index pairs within each source's own radius.

    Parameters
    ----------
    src_lat, src_lon
        Source points in degrees.
    src_radius_km
        Each source's radius in km.
    dst_tree
        A ``cKDTree`` over destination points made with :func:`unit_xyz`.

    Returns
    -------
    (src_index, dst_index)
        ``int64`` arrays, sorted by source then destination.

    Notes
    -----
    Sources are grouped by radius (a dataset has few distinct radii), and each group is
    answered by one tree-against-tree query, whose cost grows with the pairs found
    rather than with sources times destinations. A small slack on the chord keeps
    pairs at exactly the radius; :func:`haversine_km` then decides.
    """
    from scipy.spatial import cKDTree  # only the plain model searches with k-d trees

    src_idx: list[np.ndarray] = []
    dst_idx: list[np.ndarray] = []
    xyz = unit_xyz(src_lat, src_lon)
    for radius in np.unique(src_radius_km):
        members = np.flatnonzero(src_radius_km == radius)
        tree = cKDTree(xyz[members])
        chord = chord_for_km(float(radius)) * (1 + 1e-9) + 1e-12
        found = tree.sparse_distance_matrix(dst_tree, chord, output_type="ndarray")
        src_idx.append(members[found["i"].astype(np.int64)])
        dst_idx.append(found["j"].astype(np.int64))
    if not src_idx:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    s = np.concatenate(src_idx)
    d = np.concatenate(dst_idx)
    order = np.lexsort((d, s))
    return s[order], d[order]
