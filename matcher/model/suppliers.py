"""Who can give hours: cadres and service resources as arrays, and where each stands.

>>> from matcher.inputs.dataset import load_dataset
>>> from matcher.params import PlanParams
>>> ds = load_dataset("tests/data/example/dataset")
>>> skills = {c for text in ds.cadres["skills"] for c in text.split(";")}
>>> categories = {c: i for i, c in enumerate(sorted(skills | set(ds.demands["category"])))}
>>> s = index_suppliers(ds, PlanParams(), categories)
>>> len(s), [SUPPLIER_KINDS[k] for k in s.kind[[0, -1]]]
(6, ['cadre', 'service'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.inputs.dataset import Dataset
from matcher.model.arrays import ArrayRows, IntArray, csr, id_codes, id_index
from matcher.params import PlanParams

__all__ = [
    "CADRE",
    "SERVICE",
    "SUPPLIER_KINDS",
    "FloatArray",
    "Int8Array",
    "ObjectArray",
    "Suppliers",
    "index_suppliers",
    "supplier_locations",
]

SUPPLIER_KINDS: tuple[str, ...] = ("cadre", "service")
"""The kinds of supplier; a supplier's ``kind`` code indexes this."""
CADRE, SERVICE = 0, 1

FloatArray = npt.NDArray[np.float64]
Int8Array = npt.NDArray[np.int8]
ObjectArray = npt.NDArray[np.object_]

_I = np.int64


@dataclass(frozen=True)
class Suppliers(ArrayRows):
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

    kind: Int8Array
    ids: ObjectArray
    row: IntArray
    unit: IntArray
    hours: IntArray
    lat: FloatArray
    lon: FloatArray
    home: IntArray
    radius_km: FloatArray
    skill_ptr: IntArray
    skill_cat: IntArray


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
    unit_idx = id_codes(cadres["unit_id"], id_index(units["unit_id"]))
    home_idx = id_codes(cadres["home_community_id"], id_index(comms["community_id"]))
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
    r_unit = id_codes(res["unit_id"], id_index(units["unit_id"]))
    return lat, lon, ulat[r_unit], ulon[r_unit]


def index_suppliers(dataset: Dataset, params: PlanParams, categories: dict[str, int]) -> Suppliers:
    """Every supplier of a dataset as arrays (:class:`Suppliers`); ``categories`` maps a
    category to its index."""
    cadres, units, comms = dataset.cadres, dataset.units, dataset.communities
    services = dataset.resources
    services = services[services["kind"] == "service"].reset_index(drop=True)
    unit_index = id_index(units["unit_id"])
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
            (id_codes(cadres["unit_id"], unit_index), id_codes(services["unit_id"], unit_index))
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
                id_codes(cadres["home_community_id"], id_index(comms["community_id"])),
                np.full(n_s, -1, dtype=_I),
            )
        ),
        radius_km=radius,
        skill_ptr=skill_ptr,
        skill_cat=skill_cat,
    )
