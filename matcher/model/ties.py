"""The four tie rules, in the spec's order: who is tied to which community.

A supplier (a cadre, or a ``service`` resource) may give hours to a demand when the
demand's category is among its skills and a tie holds between the supplier and the
demand's community. The ties are tried in the spec's order and an arc reports the first
that holds:

1. :func:`residence_tie` -- the cadre lives in the community;
2. :func:`pairing_tie` -- the supplier's unit is paired with the community;
3. :func:`alliance_tie` -- the supplier's unit belongs to an alliance of the community's
   district and street;
4. :func:`proximity_tie` -- the community is within the supplier's radius.

Each rule returns ``(supplier, community)`` index pairs; :func:`first_ties` merges them.
Everything here works on arrays; candidate arcs number in the tens of millions at city
scale, far beyond what a graph library should hold (the tie graph of organizations is
:mod:`matcher.model.graph`).

>>> residence = (np.array([0]), np.array([2]))
>>> pairing = (np.array([0, 1]), np.array([2, 2]))
>>> sup, comm, tie = first_ties([residence, pairing], 3)
>>> sup.tolist(), comm.tolist(), [TIES[t] for t in tie]
([0, 1], [2, 2], ['residence', 'pairing'])
"""

from __future__ import annotations

import numpy as np

from matcher.model.arrays import IntArray, csr, csr_expand, empty_pairs
from matcher.model.geo import haversine_km, pairs_within, unit_xyz
from matcher.model.suppliers import Suppliers

__all__ = [
    "ALLIANCE",
    "PAIRING",
    "PROXIMITY",
    "RESIDENCE",
    "TIES",
    "alliance_communities",
    "alliance_tie",
    "first_ties",
    "pairing_tie",
    "proximity_tie",
    "residence_tie",
]

TIES: tuple[str, ...] = ("residence", "pairing", "alliance", "proximity")
"""The tie names, in the order they are tried; an arc's ``tie`` code indexes this."""

RESIDENCE, PAIRING, ALLIANCE, PROXIMITY = range(4)

_I = np.int64


def residence_tie(suppliers: Suppliers) -> tuple[IntArray, IntArray]:
    """Tie 1, ``residence``: a cadre is tied to the community it lives in.

    Returns ``(supplier, community)`` index arrays.
    """
    s = np.flatnonzero(suppliers.home >= 0).astype(_I)
    return s, suppliers.home[s]


def pairing_tie(
    suppliers: Suppliers, pair_unit: np.ndarray, pair_community: np.ndarray, n_units: int
) -> tuple[IntArray, IntArray]:
    """Tie 2, ``pairing``: a supplier is tied to every community its unit is paired with
    (``pair_unit``, ``pair_community``: the pairings as unit and community indices)."""
    return _through_units(suppliers, pair_unit, pair_community, n_units)


def alliance_communities(
    member_alliance: np.ndarray,
    member_unit: np.ndarray,
    alliance_place: np.ndarray,
    community_place: np.ndarray,
    n_units: int,
) -> tuple[IntArray, IntArray]:
    """The communities each unit reaches through its alliances, as unit-community pairs.

    An alliance covers the communities whose (district, street) is its own; ``*_place``
    are integer codes of (district, street). Pairs are unique.
    """
    if len(member_unit) == 0 or len(community_place) == 0:
        return empty_pairs()
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
) -> tuple[IntArray, IntArray]:
    """Tie 3, ``alliance``: a supplier is tied to the communities its unit's alliances
    cover (``unit_comm_unit``, ``unit_comm_comm``: the pairs of
    :func:`alliance_communities`)."""
    return _through_units(suppliers, unit_comm_unit, unit_comm_comm, n_units)


def _through_units(
    suppliers: Suppliers, unit: np.ndarray, community: np.ndarray, n_units: int
) -> tuple[IntArray, IntArray]:
    """Each supplier tied to every community its unit is linked to by the
    (``unit``, ``community``) pairs: ``(supplier, community)`` index arrays."""
    ptr, comm = csr(unit, community, n_units)
    return csr_expand(ptr, comm, suppliers.unit)


def proximity_tie(
    suppliers: Suppliers, community_lat: np.ndarray, community_lon: np.ndarray
) -> tuple[IntArray, IntArray]:
    """Tie 4, ``proximity``: a supplier is tied to communities within its radius.

    Suppliers standing at the same place with the same radius (cadres living in one
    community, say) are searched once, with a k-d tree on the unit sphere.
    """
    if len(suppliers) == 0 or len(community_lat) == 0:
        return empty_pairs()
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
    rules: list[tuple[IntArray, IntArray]], n_communities: int
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
