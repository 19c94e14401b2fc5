"""A seeded synthetic city shaped like the Fuzhou of the article, for tests and benchmarks.

At ``scale=1.0`` the city has the article's figures: 3,847 residential communities in six
urban districts, 90 municipal units paired with 201 communities, 79,000 cadres sent down
and 368 alliances. ``scale`` multiplies every count. Below scale 1 the map is the real one,
only sparser; above it the map grows (more streets over a wider area) so that the number
of communities a cadre finds within 5 km stays about the same, and the number of
(cadre, community) pairs within 5 km grows about linearly with ``scale``.

The data are built so that planning matters: some skills are scarce (legal aid,
disability support, housing repair, child care), others plentiful (epidemic prevention,
safety patrols), the outlying districts (Mawei, Changle) have few cadres living or
working there, and total supply is a little below total demand.

Everything is drawn from ``numpy.random.Generator`` streams derived from ``seed``, and
every step is vectorised, so the same ``(scale, seed, overrides)`` gives the same frames
and byte-identical files, and scale 5 (about 400,000 cadres) takes seconds.

Examples
--------
>>> tables = generate(scale=0.05, seed=1)
>>> sorted(tables) == sorted(GENERATED_TABLES)
True
>>> len(tables["communities"])
192
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.i18n import N_, Text
from matcher.inputs.io import write_tables
from matcher.inputs.schema import TABLES_BY_NAME, Kind
from matcher.model.geo import GENERATOR_KM_PER_DEG_LAT, GENERATOR_KM_PER_DEG_LON_EQ

__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "DISTRICTS",
    "GENERATED_TABLES",
    "GeneratorParams",
    "combine_cities",
    "draw_cadre_hours",
    "draw_cadre_units",
    "generate",
    "place_cadres",
    "unit_size",
    "write_tables",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]


CATEGORIES: tuple[str, ...] = (
    "elderly_care",
    "elderly_meals",
    "legal_aid",
    "parking",
    "property_mediation",
    "epidemic_prevention",
    "digital_help",
    "child_care",
    "health_services",
    "environment",
    "safety_patrol",
    "housing_repair",
    "employment",
    "disability_support",
    "cultural_activities",
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "communities": ("community_id", "name", "district", "street", "lat", "lon", "households"),
    "units": ("unit_id", "name", "kind", "level", "district", "lat", "lon"),
    "cadres": ("cadre_id", "unit_id", "skills", "hours", "home_community_id", "lat", "lon"),
    "demands": ("demand_id", "community_id", "category", "hours", "priority"),
    "resources": ("resource_id", "unit_id", "kind", "categories", "amount", "range_km"),
    "pairings": ("unit_id", "community_id"),
    "alliances": ("alliance_id", "name", "district", "street"),
    "alliance_members": ("alliance_id", "unit_id"),
}
"""The columns of each generated table, in the order the spec gives them (the spec's
required columns and the optional ones the generator fills)."""

GENERATED_TABLES: tuple[str, ...] = tuple(COLUMNS)
"""The tables the generator makes (a dataset's, without ``lead_options``)."""


class _District(NamedTuple):
    name: str
    lat: float
    lon: float
    share: float  # of the city's communities
    radius_km: float  # street centres lie within this radius at scale 1
    muni_weight: float  # where municipal units sit (the old core)
    outskirts: bool  # sparser streets, smaller communities


DISTRICTS: tuple[_District, ...] = (
    _District("Gulou", 26.08, 119.30, 0.21, 2.8, 0.40, False),
    _District("Taijiang", 26.06, 119.31, 0.15, 2.6, 0.20, False),
    _District("Cangshan", 26.03, 119.32, 0.24, 4.5, 0.22, False),
    _District("Jin'an", 26.09, 119.35, 0.16, 4.0, 0.18, False),
    _District("Mawei", 25.99, 119.45, 0.10, 5.0, 0.0, True),
    _District("Changle", 25.96, 119.52, 0.14, 7.0, 0.0, True),
)
"""The six urban districts: centre, share of communities and radius at scale 1."""

# The map is scaled about this point, so scale 1 keeps the districts where they are.
_METRO_LAT, _METRO_LON = 26.05, 119.34
# Degrees to km on a flat map about that point (see matcher.model.geo for why not 111.195).
_KM_PER_DEG_LAT = GENERATOR_KM_PER_DEG_LAT
_KM_PER_DEG_LON = GENERATOR_KM_PER_DEG_LON_EQ * math.cos(math.radians(_METRO_LAT))

# Per category: how often a community lists it, hours factor, base priority, and the
# supply/demand ratio it gets unless it is a configured short or ample category.
_CATEGORY_TRAITS: dict[str, tuple[float, float, int, float]] = {
    "elderly_care": (0.60, 1.2, 4, 0.90),
    "elderly_meals": (0.45, 1.0, 4, 0.80),
    "legal_aid": (0.35, 0.5, 3, 1.00),
    "parking": (0.40, 0.8, 3, 1.00),
    "property_mediation": (0.35, 0.6, 2, 0.90),
    "epidemic_prevention": (0.50, 1.5, 4, 1.00),
    "digital_help": (0.30, 0.5, 2, 1.30),
    "child_care": (0.35, 0.8, 3, 1.00),
    "health_services": (0.45, 0.9, 3, 1.00),
    "environment": (0.40, 1.0, 2, 1.20),
    "safety_patrol": (0.40, 1.0, 3, 1.00),
    "housing_repair": (0.30, 0.8, 3, 1.00),
    "employment": (0.25, 0.6, 3, 0.90),
    "disability_support": (0.20, 0.6, 4, 1.00),
    "cultural_activities": (0.35, 0.7, 1, 1.40),
}

# Relative cadre counts per unit by (kind, level): municipal bureaus are the big ones.
_UNIT_SIZE = {
    "municipal": 400.0,
    "district": 200.0,
    "street": 40.0,
    "enterprise": 100.0,
    "social_org": 30.0,
    "institution": 150.0,
}

_DEPARTMENTS = (
    "Civil Affairs Bureau", "Justice Bureau", "Health Commission", "Housing Bureau",
    "Education Bureau", "Fiscal Bureau", "Human Resources Bureau", "Transport Bureau",
    "Ecology Bureau", "Market Regulation Bureau", "Public Security Bureau",
    "Emergency Management Bureau", "Culture and Tourism Bureau", "Commerce Bureau",
    "Natural Resources Bureau", "Water Bureau", "Statistics Bureau", "Audit Bureau",
    "Veterans Affairs Bureau", "Urban Management Bureau", "Development Commission",
    "Industry Bureau", "Agriculture Bureau", "Sports Bureau", "Archives Bureau",
    "Organization Department", "Publicity Department", "United Front Department",
    "Political-Legal Committee", "Federation of Trade Unions",
)  # fmt: skip
_SYLLABLE_A = (
    "Dong", "Xi", "Bei", "Hua", "Jin", "Yu", "Feng", "Ming", "He", "Long", "Fu",
    "Rong", "Min", "Jiang", "Shan", "Qing", "An", "Xin", "Ping", "Tai", "Cang", "Gu", "Mei",
    "Lian", "Wu", "San", "Bai", "Hong", "Shui",
)  # fmt: skip
_SYLLABLE_B = (
    "jie", "lin", "yuan", "hu", "ting", "cheng", "men", "qiao", "tang", "shan", "bian",
    "xia", "pu", "kou", "zhou", "ping", "hua", "fang", "li", "ao",
)  # fmt: skip
_INDUSTRIES = (
    "Logistics", "Catering", "Property Services", "Telecom", "Pharmacy", "Construction",
    "Retail", "Bank", "Insurance", "Software", "Power Supply", "Water Supply",
)  # fmt: skip
_SOCIAL_ORGS = (
    "Volunteer Association", "Elderly Care Center", "Legal Aid Society", "Youth Federation",
    "Disabled Persons' Federation", "Neighbourhood Mutual Aid Society", "Charity Foundation",
)  # fmt: skip
_INSTITUTIONS = (
    "Hospital", "Clinic", "Primary School", "Middle School", "University", "Library",
    "Kindergarten", "Cultural Center",
)  # fmt: skip

# Specialist social organisations and institutions do give scarce-skill service hours.
_SCARCE_WEIGHT_BY_PROVIDER = {"enterprise": 0.0, "social_org": 1.0, "institution": 0.3}


def _refuse(message: str, name: str, value: object) -> NoReturn:
    """A generator parameter that cannot take ``value``: ``message`` names it."""
    raise ValueError(Text(message, name=name, value=repr(value)))


def _check_range(name: str, value: object, lo: float, hi: float = math.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _refuse(N_("GeneratorParams.{name} must be a number, got {value}"), name, value)
    number = float(value)
    if not (math.isfinite(number) and lo <= number <= hi):
        message = (
            N_("GeneratorParams.{name} must be at least {lo}, got {value}")
            if hi == math.inf
            else N_("GeneratorParams.{name} must be between {lo} and {hi}, got {value}")
        )
        raise ValueError(Text(message, name=name, lo=lo, hi=hi, value=repr(value)))


def _check_int(name: str, value: object, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        _refuse(N_("GeneratorParams.{name} must be an integer, got {value}"), name, value)
    if value < lo:
        raise ValueError(
            Text(
                N_("GeneratorParams.{name} must be at least {lo}, got {value}"),
                name=name,
                lo=lo,
                value=repr(value),
            )
        )


def _check_pair(name: str, value: object, lo: int, hi: int) -> None:
    ok = (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )
    if not ok or not (lo <= value[0] <= value[1] <= hi):  # type: ignore[index]
        raise ValueError(
            Text(
                N_(
                    "GeneratorParams.{name} must be a pair (low, high) of integers with "
                    "{lo} <= low <= high <= {hi}, got {value}"
                ),
                name=name,
                lo=lo,
                hi=hi,
                value=repr(value),
            )
        )


def _check_scale(scale: float) -> None:
    """``scale`` is a finite number greater than 0."""
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise ValueError(
            Text(
                N_("GeneratorParams.{name} must be a number, got {value}"),
                name="scale",
                value=repr(scale),
            )
        )
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(
            Text(
                N_("GeneratorParams.{name} must be greater than 0, got {value}"),
                name="scale",
                value=repr(scale),
            )
        )


def _check_names(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, tuple) or not all(v in allowed for v in value):
        raise ValueError(
            Text(
                N_("GeneratorParams.{name} must be a tuple of names from {allowed}, got {value}"),
                name=name,
                allowed=repr(allowed),
                value=repr(value),
            )
        )
    if len(set(value)) != len(value):
        _refuse(N_("GeneratorParams.{name} has repeated names: {value}"), name, value)


@dataclass(frozen=True)
class GeneratorParams:
    """Every knob of the synthetic city, with the article's Fuzhou as the default.

    Counts named ``n_*`` are the counts at ``scale=1``; the generated count is
    ``max(1, round(n * scale))``.

    Parameters
    ----------
    scale
        Multiplies every count; above 1 the map grows too (see ``geo_exponent``). > 0.
    seed
        Seed of every random stream, an integer >= 0.
    n_communities
        Residential communities (3,847 in the article).
    n_municipal_units
        Municipal government units (90 in the article), each paired with communities.
    n_paired_communities
        Distinct communities paired with municipal units (201 in the article).
    n_cadres
        Cadres sent down to the communities (79,000 in the article).
    n_alliances
        Alliances of units serving a street (368 "neighbourhood red alliances").
    n_district_units, n_enterprises, n_social_orgs, n_institutions
        Other units; one street office per street comes on top of these.
    communities_per_street
        Mean number of communities in a street; the number of streets follows from it.
    demands_per_community
        (low, high) demands per community, each in a different category; high <= 15.
    max_demand_hours
        Upper bound on a demand's hours.
    cadre_hours
        (low, high) whole hours a cadre can give; most give 8-24.
    home_share
        Share of cadres who registered in the community where they live.
    home_in_unit_district_share
        Of those, the share living in their unit's district (the rest anywhere).
    explicit_location_share
        Share of cadres with their own ``lat``/``lon``.
    supply_demand_ratio
        Total supplied hours (cadres and services) over total demanded hours.
    short_categories, short_supply_ratio
        Scarce skills and their supply/demand ratio (hours split evenly over a
        supplier's skills); few cadres have a scarce skill as a side skill.
    ample_categories, ample_supply_ratio
        Plentiful skills and their supply/demand ratio.
    outlying_districts
        Districts where fewer units sit and fewer cadres live.
    outlying_weight
        Relative weight of an outlying district when units and homes are placed.
    resources_per_provider
        Mean service resources per enterprise, social organization or institution.
    any_category_share
        Share of service resources with empty ``categories`` (any category).
    alliance_members
        (low, high) member units per alliance.
    geo_exponent
        Above scale 1 the map's linear size grows as ``scale ** geo_exponent`` (below
        scale 1 the map stays the real one). 0.5 would keep the mean density; the
        default 0.65 grows a little faster, which offsets the smaller share of a
        cadre's 5 km disc that falls off the edge of a bigger map, so that the number
        of (cadre, community) pairs within 5 km stays about proportional to ``scale``.

    Examples
    --------
    >>> GeneratorParams(scale=0.5).n_communities
    3847
    >>> GeneratorParams(scale=-1)
    Traceback (most recent call last):
    ...
    ValueError: GeneratorParams.scale must be greater than 0, got -1
    """

    scale: float = 1.0
    seed: int = 0
    n_communities: int = 3847
    n_municipal_units: int = 90
    n_paired_communities: int = 201
    n_cadres: int = 79_000
    n_alliances: int = 368
    n_district_units: int = 72
    n_enterprises: int = 120
    n_social_orgs: int = 60
    n_institutions: int = 48
    communities_per_street: float = 30.0
    demands_per_community: tuple[int, int] = (3, 8)
    max_demand_hours: int = 150
    cadre_hours: tuple[int, int] = (4, 40)
    home_share: float = 0.65
    home_in_unit_district_share: float = 0.75
    explicit_location_share: float = 0.05
    supply_demand_ratio: float = 0.95
    short_categories: tuple[str, ...] = (
        "legal_aid",
        "disability_support",
        "housing_repair",
        "child_care",
    )
    short_supply_ratio: float = 0.4
    ample_categories: tuple[str, ...] = ("epidemic_prevention", "safety_patrol")
    ample_supply_ratio: float = 1.8
    outlying_districts: tuple[str, ...] = ("Mawei", "Changle")
    outlying_weight: float = 0.4
    resources_per_provider: float = 1.2
    any_category_share: float = 0.1
    alliance_members: tuple[int, int] = (2, 8)
    geo_exponent: float = 0.65

    def __post_init__(self) -> None:
        _check_scale(self.scale)
        _check_int("seed", self.seed, 0)
        for name in (
            "n_communities",
            "n_municipal_units",
            "n_paired_communities",
            "n_cadres",
            "n_alliances",
        ):
            _check_int(name, getattr(self, name), 1)
        for name in ("n_district_units", "n_enterprises", "n_social_orgs", "n_institutions"):
            _check_int(name, getattr(self, name), 0)
        _check_range("communities_per_street", self.communities_per_street, 1.0)
        _check_pair("demands_per_community", self.demands_per_community, 1, len(CATEGORIES))
        _check_int("max_demand_hours", self.max_demand_hours, 1)
        _check_pair("cadre_hours", self.cadre_hours, 1, 10_000)
        for name in (
            "home_share",
            "home_in_unit_district_share",
            "explicit_location_share",
            "any_category_share",
        ):
            _check_range(name, getattr(self, name), 0.0, 1.0)
        for name in ("supply_demand_ratio", "short_supply_ratio", "ample_supply_ratio"):
            _check_range(name, getattr(self, name), 0.01, 100.0)
        _check_names("short_categories", self.short_categories, CATEGORIES)
        _check_names("ample_categories", self.ample_categories, CATEGORIES)
        if set(self.short_categories) & set(self.ample_categories):
            raise ValueError(
                Text(
                    N_(
                        "GeneratorParams.ample_categories must not share names with "
                        "short_categories"
                    )
                )
            )
        _check_names(
            "outlying_districts", self.outlying_districts, tuple(d.name for d in DISTRICTS)
        )
        _check_range("outlying_weight", self.outlying_weight, 0.0, 100.0)
        _check_range("resources_per_provider", self.resources_per_provider, 0.0, 4.0)
        _check_pair("alliance_members", self.alliance_members, 1, 100)
        _check_range("geo_exponent", self.geo_exponent, 0.0, 1.0)

    def count(self, base: int) -> int:
        """The count at this scale of something numbering ``base`` at scale 1.

        Examples
        --------
        >>> GeneratorParams(scale=0.1).count(3847)
        385
        """
        return max(1, round(base * self.scale))

    @property
    def map_scale(self) -> float:
        """Linear size of the map relative to scale 1."""
        return float(max(self.scale, 1.0) ** self.geo_exponent)


def _rng(cfg: GeneratorParams, stream: int) -> np.random.Generator:
    # One independent stream per step, so changing one knob does not reshuffle the rest.
    return np.random.default_rng(np.random.SeedSequence([cfg.seed, stream]))


def _ids(prefix: str, n: int, width: int) -> StrArray:
    digits = np.char.zfill(np.arange(1, n + 1).astype(str), max(width, len(str(n))))
    return np.char.add(prefix, digits)


def _allocate(total: int, weights: FloatArray) -> IntArray:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    w = np.asarray(weights, dtype=np.float64)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = total * w / w.sum()
    out = np.floor(exact).astype(np.int64)
    rest = total - int(out.sum())
    order = np.argsort(-(exact - out), kind="stable")
    out[order[:rest]] += 1
    return np.asarray(out, dtype=np.int64)


def _weighted_pick(
    rng: np.random.Generator,
    cdf: FloatArray,
    lo: IntArray,
    hi: IntArray,
) -> IntArray:
    """For each row, an index in ``[lo, hi)`` drawn with the weights behind ``cdf``.

    ``cdf`` is the inclusive cumulative sum of the weights over all items; rows with
    ``lo == hi`` get -1.
    """
    base = np.where(lo > 0, cdf[np.maximum(lo - 1, 0)], 0.0)
    top = np.where(hi > 0, cdf[np.maximum(hi - 1, 0)], 0.0)
    target = base + rng.random(len(lo)) * (top - base)
    idx = np.searchsorted(cdf, target, side="right").astype(np.int64)
    idx = np.clip(idx, lo, np.maximum(hi - 1, lo))
    return np.where(hi > lo, idx, -1)


def _gumbel_keys(rng: np.random.Generator, weights: FloatArray) -> FloatArray:
    # Sorting log-weight + Gumbel noise draws without replacement in proportion to weight.
    with np.errstate(divide="ignore"):
        logw = np.log(weights)
    return logw + rng.gumbel(size=weights.shape)


def _to_degrees(x_km: FloatArray, y_km: FloatArray) -> tuple[FloatArray, FloatArray]:
    lat = np.round(_METRO_LAT + y_km / _KM_PER_DEG_LAT, 6)
    lon = np.round(_METRO_LON + x_km / _KM_PER_DEG_LON, 6)
    return lat, lon


# Unit groups: (group, kind, level, id prefix). Street offices come one per street.
_GROUPS: tuple[tuple[str, str, str, str], ...] = (
    ("municipal", "government", "municipal", "U-M"),
    ("district", "government", "district", "U-D"),
    ("street", "government", "street", "U-S"),
    ("enterprise", "enterprise", "none", "U-E"),
    ("social_org", "social_org", "none", "U-O"),
    ("institution", "institution", "none", "U-I"),
)
_G_MUNI, _G_DISTRICT, _G_STREET, _G_ENTERPRISE, _G_SOCIAL, _G_INSTITUTION = range(6)
_PROVIDER_GROUPS = (_G_ENTERPRISE, _G_SOCIAL, _G_INSTITUTION)
_NONE = len(CATEGORIES)  # "no category" in a packed skill code


@dataclass
class _City:
    n: int
    x: FloatArray  # km east of the metro centre
    y: FloatArray  # km north of the metro centre
    district: IntArray
    street: IntArray
    households: IntArray
    district_start: IntArray  # communities are contiguous per district
    district_end: IntArray
    street_name: npt.NDArray[np.str_]
    street_district: IntArray
    street_x: FloatArray
    street_y: FloatArray
    street_size: IntArray
    street_start: IntArray  # streets are contiguous per district
    street_end: IntArray


@dataclass
class _Units:
    group: IntArray
    district: IntArray
    street: IntArray  # the street of a street office, else -1
    x: FloatArray
    y: FloatArray
    ids: npt.NDArray[np.str_]
    names: list[str]

    @property
    def n(self) -> int:
        return len(self.group)


def _district_weights(cfg: GeneratorParams, shares: bool = True) -> FloatArray:
    w = np.array([d.share if shares else 1.0 for d in DISTRICTS])
    outlying = np.array([d.name in cfg.outlying_districts for d in DISTRICTS])
    return np.where(outlying, w * cfg.outlying_weight, w)


def _district_offsets(cfg: GeneratorParams) -> tuple[FloatArray, FloatArray]:
    g = cfg.map_scale
    cx = np.array([(d.lon - _METRO_LON) * _KM_PER_DEG_LON * g for d in DISTRICTS])
    cy = np.array([(d.lat - _METRO_LAT) * _KM_PER_DEG_LAT * g for d in DISTRICTS])
    return cx, cy


def _make_city(cfg: GeneratorParams) -> _City:
    rng = _rng(cfg, 1)
    g = cfg.map_scale
    n = cfg.count(cfg.n_communities)
    per_district = _allocate(n, np.array([d.share for d in DISTRICTS]))
    cx, cy = _district_offsets(cfg)
    xs, ys, streets, names, sxs, sys_, sds, sizes_all = [], [], [], [], [], [], [], []
    n_streets = 0
    for di, d in enumerate(DISTRICTS):
        n_d = int(per_district[di])
        if n_d == 0:
            continue
        n_st = min(n_d, max(1, round(n_d / cfg.communities_per_street)))
        # One community per street, the rest in unequal shares (about 20-40 at the default).
        sizes = 1 + _allocate(n_d - n_st, rng.uniform(0.75, 1.25, n_st))
        # A little denser towards the district centre than uniform over the disc.
        r = d.radius_km * g * rng.random(n_st) ** 0.6
        theta = rng.uniform(0.0, 2 * math.pi, n_st)
        sx = cx[di] + r * np.cos(theta)
        sy = cy[di] + r * np.sin(theta)
        spread = rng.uniform(0.25, 0.6, n_st) * (1.3 if d.outskirts else 1.0)
        which = np.repeat(np.arange(n_st), sizes)
        xs.append(sx[which] + rng.normal(size=n_d) * spread[which])
        ys.append(sy[which] + rng.normal(size=n_d) * spread[which])
        streets.append(which + n_streets)
        names.append(_ids(f"{d.name}-S", n_st, 2))
        sxs.append(sx)
        sys_.append(sy)
        sds.append(np.full(n_st, di, dtype=np.int64))
        sizes_all.append(sizes)
        n_streets += n_st
    district = np.repeat(np.arange(len(DISTRICTS)), per_district).astype(np.int64)
    street_district = np.concatenate(sds)
    outlying = np.array([d.outskirts for d in DISTRICTS])[district]
    hh = np.where(outlying, 2000.0, 2800.0) * np.exp(rng.normal(0.0, 0.55, n))
    ends = np.cumsum(per_district).astype(np.int64)
    d_index = np.arange(len(DISTRICTS))
    return _City(
        n=n,
        x=np.concatenate(xs),
        y=np.concatenate(ys),
        district=district,
        street=np.concatenate(streets).astype(np.int64),
        households=np.clip(np.rint(hh), 500, 8000).astype(np.int64),
        district_start=ends - per_district,
        district_end=ends,
        street_name=np.concatenate(names),
        street_district=street_district,
        street_x=np.concatenate(sxs),
        street_y=np.concatenate(sys_),
        street_size=np.concatenate(sizes_all).astype(np.int64),
        street_start=np.searchsorted(street_district, d_index, side="left").astype(np.int64),
        street_end=np.searchsorted(street_district, d_index, side="right").astype(np.int64),
    )


def _group_count(cfg: GeneratorParams, base: int) -> int:
    return 0 if base == 0 else cfg.count(base)


def _unit_names(
    group: int, district: IntArray, street: IntArray, city: _City, rng: np.random.Generator
) -> list[str]:
    n = len(district)
    dn = [DISTRICTS[i].name for i in district]
    a = rng.integers(0, len(_SYLLABLE_A), n)
    b = rng.integers(0, len(_SYLLABLE_B), n)
    pick = rng.integers(0, 1 << 16, n)
    if group == _G_MUNI:
        return [
            f"Fuzhou {_DEPARTMENTS[i % len(_DEPARTMENTS)]}"
            + ("" if i < len(_DEPARTMENTS) else f" (office {i // len(_DEPARTMENTS) + 1})")
            for i in range(n)
        ]
    if group == _G_DISTRICT:
        return [f"{dn[i]} District {_DEPARTMENTS[pick[i] % len(_DEPARTMENTS)]}" for i in range(n)]
    if group == _G_STREET:
        return [f"{city.street_name[s]} Street Office" for s in street]
    pool = {_G_ENTERPRISE: _INDUSTRIES, _G_SOCIAL: _SOCIAL_ORGS, _G_INSTITUTION: _INSTITUTIONS}
    words = pool[group]
    return [
        f"{_SYLLABLE_A[a[i]]}{_SYLLABLE_B[b[i]]} {words[pick[i] % len(words)]} ({dn[i]})"
        for i in range(n)
    ]


def _make_units(cfg: GeneratorParams, city: _City) -> _Units:
    rng = _rng(cfg, 2)
    g = cfg.map_scale
    cx, cy = _district_offsets(cfg)
    n_st = len(city.street_name)
    counts = (
        cfg.count(cfg.n_municipal_units),
        _group_count(cfg, cfg.n_district_units),
        n_st,
        _group_count(cfg, cfg.n_enterprises),
        _group_count(cfg, cfg.n_social_orgs),
        _group_count(cfg, cfg.n_institutions),
    )
    muni_w = np.array([d.muni_weight for d in DISTRICTS])
    spread_w = _district_weights(cfg)
    street_cdf = np.cumsum(city.street_size.astype(np.float64))
    groups, districts, streets, xs, ys, names = [], [], [], [], [], []
    for gi, n in enumerate(counts):
        if gi == _G_STREET:
            dist = city.street_district
            street = np.arange(n_st, dtype=np.int64)
            x = city.street_x[street] + rng.normal(0.0, 0.15, n)
            y = city.street_y[street] + rng.normal(0.0, 0.15, n)
        else:
            # Shares fixed by weight (not drawn) keep each district's supply steady by seed.
            w = muni_w if gi == _G_MUNI else spread_w
            dist = rng.permutation(np.repeat(np.arange(len(DISTRICTS)), _allocate(n, w)))
            street = np.full(n, -1, dtype=np.int64)
            if gi == _G_MUNI:
                # Municipal bureaus sit in their district's centre.
                x = cx[dist] + rng.normal(0.0, 1.0 * g, n)
                y = cy[dist] + rng.normal(0.0, 1.0 * g, n)
            else:
                # Others sit in a street of their district, busier streets more likely.
                near = _weighted_pick(
                    rng, street_cdf, city.street_start[dist], city.street_end[dist]
                )
                has = near >= 0
                safe = np.maximum(near, 0)
                x = np.where(has, city.street_x[safe], cx[dist]) + rng.normal(0.0, 0.6, n)
                y = np.where(has, city.street_y[safe], cy[dist]) + rng.normal(0.0, 0.6, n)
        groups.append(np.full(n, gi, dtype=np.int64))
        districts.append(dist)
        streets.append(street)
        xs.append(x)
        ys.append(y)
        names.extend(_unit_names(gi, dist, street, city, rng))
    ids = np.concatenate([_ids(_GROUPS[gi][3], n, 3) for gi, n in enumerate(counts)])
    return _Units(
        group=np.concatenate(groups),
        district=np.concatenate(districts),
        street=np.concatenate(streets),
        x=np.concatenate(xs),
        y=np.concatenate(ys),
        ids=ids,
        names=names,
    )


def _make_pairings(cfg: GeneratorParams, city: _City, units: _Units) -> tuple[IntArray, IntArray]:
    rng = _rng(cfg, 3)
    muni = np.flatnonzero(units.group == _G_MUNI)
    n_m = len(muni)
    n_p = min(cfg.count(cfg.n_paired_communities), city.n)
    paired = rng.choice(city.n, size=n_p, replace=False).astype(np.int64)
    order = rng.permutation(n_m)
    if n_p >= n_m:
        # Every unit gets one community first, so each unit and each community has a pair.
        owner = np.concatenate([order, rng.integers(0, n_m, n_p - n_m)])
        comm = paired
    else:
        owner = order
        comm = paired[np.arange(n_m) % n_p]
    # Some communities are co-built by two municipal units.
    twice = rng.random(n_p) < 0.1
    owner = np.concatenate([owner, rng.integers(0, n_m, int(twice.sum()))])
    comm = np.concatenate([comm, paired[twice]])
    unit_idx = [muni[owner]]
    comm_idx = [comm]
    # Other units pair with a few communities in their own district.
    ones_cdf = np.arange(1, city.n + 1, dtype=np.float64)
    for gi in (_G_DISTRICT, _G_ENTERPRISE, _G_SOCIAL, _G_INSTITUTION):
        members = np.flatnonzero(units.group == gi)
        k = len(members)
        if gi == _G_DISTRICT:
            draw = rng.integers(1, 5, k)
        else:
            draw = rng.binomial(3 if gi == _G_SOCIAL else 2, 0.3 if gi == _G_SOCIAL else 0.4, k)
        who = np.repeat(members, draw)
        d = units.district[who]
        pick = _weighted_pick(rng, ones_cdf, city.district_start[d], city.district_end[d])
        unit_idx.append(who[pick >= 0])
        comm_idx.append(pick[pick >= 0])
    key = np.unique(np.concatenate(unit_idx) * city.n + np.concatenate(comm_idx))
    return key // city.n, key % city.n


@dataclass
class _Cadres:
    unit: IntArray
    hours: IntArray
    home: IntArray  # community index or -1
    lat: FloatArray  # NaN where the cadre has no own location
    lon: FloatArray


def unit_size(kind: str, level: str) -> float:
    """A unit's relative number of cadres by its ``kind`` and ``level``, as generated.

    Government units are sized by level (a municipal bureau is the largest; a government
    unit of level ``none`` counts as a district one), the others by kind.

    Examples
    --------
    >>> unit_size("government", "municipal") > unit_size("enterprise", "none")
    True
    """
    if kind == "government":
        return _UNIT_SIZE.get(level, _UNIT_SIZE["district"])
    return _UNIT_SIZE[kind]


def draw_cadre_units(rng: np.random.Generator, size: FloatArray, n: int) -> IntArray:
    """The unit of each of ``n`` cadres, drawn as the generator does, sorted.

    A unit's chance is its relative ``size`` (by kind and level, see ``_UNIT_SIZE``)
    times a log-normal factor, so units of one kind still differ in size.
    """
    w = size * np.exp(rng.normal(0.0, 0.5, len(size)))
    # Sorted so that a unit's cadres are listed together.
    return np.sort(rng.choice(len(size), size=n, p=w / w.sum())).astype(np.int64)


def draw_cadre_hours(rng: np.random.Generator, n: int, lo: int, hi: int) -> IntArray:
    """Whole hours of ``n`` cadres: log-normal around 14 (most give 8-24), within [lo, hi]."""
    median = min(max(14.0, lo), hi)
    return np.clip(np.rint(median * np.exp(rng.normal(0.0, 0.4, n))), lo, hi).astype(np.int64)


def place_cadres(
    rng: np.random.Generator,
    cfg: GeneratorParams,
    *,
    households: IntArray,
    comm_x: FloatArray,
    comm_y: FloatArray,
    comm_weight: FloatArray,
    district_start: IntArray,
    district_end: IntArray,
    cadre_district: IntArray,
    unit_x: FloatArray,
    unit_y: FloatArray,
) -> tuple[IntArray, FloatArray, FloatArray, BoolArray]:
    """Where new cadres live and stand, as the generator places them.

    A share ``cfg.home_share`` registers in a home community: mostly one of their unit's
    district (``cfg.home_in_unit_district_share``), chosen by households, else one
    anywhere, chosen by households times ``comm_weight``. A share
    ``cfg.explicit_location_share`` gets its own coordinates, about 1 km from home (or
    from its unit without a home).

    Parameters
    ----------
    rng
        The random stream (draws are made in a fixed order).
    cfg
        The shares above.
    households, comm_x, comm_y, comm_weight
        Per community: households, position (km on a local plane) and a weight for homes
        chosen anywhere. Communities must be contiguous by district.
    district_start, district_end
        Per district, its communities' index range ``[start, end)`` (empty: none).
    cadre_district
        Per cadre, its unit's district (an index into ``district_start``).
    unit_x, unit_y
        Per cadre, its unit's position (km).

    Returns
    -------
    (home, x, y, own)
        Home community index (-1: none); a position (km) near home or the unit; and
        whether the cadre is given that position as its own ``lat``/``lon``.
    """
    n = len(cadre_district)
    has_home = rng.random(n) < cfg.home_share
    local = rng.random(n) < cfg.home_in_unit_district_share
    hh = households.astype(np.float64)
    ud = cadre_district
    near = _weighted_pick(rng, np.cumsum(hh), district_start[ud], district_end[ud])
    # Fewer cadres choose to live in the outlying districts.
    anywhere_w = hh * comm_weight
    far = _weighted_pick(
        rng, np.cumsum(anywhere_w), np.zeros(n, dtype=np.int64), np.full(n, len(hh), np.int64)
    )
    home = np.where(local & (near >= 0), near, far)
    home = np.where(has_home, home, -1).astype(np.int64)

    own = rng.random(n) < cfg.explicit_location_share
    safe = np.maximum(home, 0)
    bx = np.where(home >= 0, comm_x[safe], unit_x) + rng.normal(0.0, 1.0, n)
    by = np.where(home >= 0, comm_y[safe], unit_y) + rng.normal(0.0, 1.0, n)
    return home, bx, by, own


def _make_cadres(cfg: GeneratorParams, city: _City, units: _Units) -> _Cadres:
    rng = _rng(cfg, 4)
    n = cfg.count(cfg.n_cadres)
    size = np.array([_UNIT_SIZE[gr[0]] for gr in _GROUPS])[units.group]
    unit = draw_cadre_units(rng, size, n)
    lo, hi = cfg.cadre_hours
    hours = draw_cadre_hours(rng, n, lo, hi)
    home, bx, by, own = place_cadres(
        rng,
        cfg,
        households=city.households,
        comm_x=city.x,
        comm_y=city.y,
        comm_weight=_district_weights(cfg, shares=False)[city.district],
        district_start=city.district_start,
        district_end=city.district_end,
        cadre_district=units.district[unit],
        unit_x=units.x[unit],
        unit_y=units.y[unit],
    )
    lat, lon = _to_degrees(bx, by)
    return _Cadres(
        unit=unit,
        hours=hours,
        home=home,
        lat=np.where(own, lat, np.nan),
        lon=np.where(own, lon, np.nan),
    )


def _skill_table() -> npt.NDArray[np.object_]:
    """Skill strings by packed code ``a * 256 + b * 16 + c`` (``_NONE`` = no skill)."""
    table = np.full(16 * 256, "", dtype=object)
    for a in range(len(CATEGORIES)):
        for b in range(16):
            for c in range(16):
                parts = [CATEGORIES[i] for i in (a, b, c) if i != _NONE]
                table[a * 256 + b * 16 + c] = ";".join(parts)
    return table


_SKILLS = _skill_table()


def _top_three(keys: FloatArray, take: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """The best three columns per row; columns beyond ``take`` or with -inf are ``_NONE``."""
    rows = np.arange(keys.shape[0])
    out = []
    keys = keys.copy()
    for j in range(3):
        best = np.argmax(keys, axis=1)
        ok = np.isfinite(keys[rows, best]) & (take > j)
        out.append(np.where(ok, best, _NONE).astype(np.int64))
        keys[rows, best] = -np.inf
    return out[0], out[1], out[2]


@dataclass
class _Resources:
    unit: IntArray
    amount: IntArray
    code: IntArray  # packed categories; _NONE * 273 is "any"
    range_km: FloatArray
    split: FloatArray  # hours per category, each resource's amount split over its categories


def _make_resources(cfg: GeneratorParams, units: _Units) -> _Resources:
    rng = _rng(cfg, 5)
    providers = np.flatnonzero(np.isin(units.group, _PROVIDER_GROUPS))
    count = np.minimum(rng.poisson(cfg.resources_per_provider, len(providers)), 4)
    if count.sum() == 0 and len(providers) and cfg.resources_per_provider > 0:
        count[0] = 1  # a tiny city still gets one service
    unit = np.repeat(providers, count).astype(np.int64)
    n = len(unit)
    amount = np.clip(np.rint(100.0 * np.exp(rng.normal(0.0, 0.6, n))), 20, 400).astype(np.int64)
    take = np.where(rng.random(n) < cfg.any_category_share, 0, rng.integers(1, 4, n))
    freq = np.array([_CATEGORY_TRAITS[c][0] for c in CATEGORIES])
    short = np.array([c in cfg.short_categories for c in CATEGORIES])
    scarce_w = np.array([_SCARCE_WEIGHT_BY_PROVIDER[_GROUPS[gi][0]] for gi in units.group[unit]])
    w = np.where(short[None, :], freq[None, :] * scarce_w[:, None], freq[None, :])
    a, b, c = _top_three(_gumbel_keys(rng, w), take)
    code = a * 256 + b * 16 + c
    n_cat = (a != _NONE).astype(np.int64) + (b != _NONE) + (c != _NONE)
    split = np.zeros(len(CATEGORIES))
    share = amount / np.maximum(n_cat, 1)
    for col in (a, b, c):
        has = col != _NONE
        split += np.bincount(col[has], weights=share[has], minlength=len(CATEGORIES))
    split += amount[n_cat == 0].sum() / len(CATEGORIES)
    range_km = np.where(rng.random(n) < 0.7, rng.integers(4, 21, n) / 2.0, np.nan)
    return _Resources(unit=unit, amount=amount, code=code, range_km=range_km, split=split)


@dataclass
class _Demands:
    community: IntArray
    category: IntArray
    hours: IntArray
    priority: IntArray


def _make_demands(cfg: GeneratorParams, city: _City, total_hours: float) -> _Demands:
    rng = _rng(cfg, 6)
    n_cat = len(CATEGORIES)
    lo, hi = cfg.demands_per_community
    hh = city.households.astype(np.float64)
    k = lo + rng.binomial(hi - lo, 0.3 + 0.4 * (hh - 500.0) / 7500.0)
    freq = np.array([_CATEGORY_TRAITS[c][0] for c in CATEGORIES])
    # The old core asks more for elderly care and parking; the outskirts for jobs and repair.
    tilt_core = {"elderly_care": 1.2, "elderly_meals": 1.2, "parking": 1.3}
    tilt_out = {"environment": 1.3, "employment": 1.4, "housing_repair": 1.2}
    tilt = np.ones((2, n_cat))
    for j, c in enumerate(CATEGORIES):
        tilt[0, j] = tilt_core.get(c, 1.0)
        tilt[1, j] = tilt_out.get(c, 1.0)
    outlying = np.array([d.outskirts for d in DISTRICTS], dtype=np.int64)[city.district]
    keys = _gumbel_keys(rng, freq[None, :] * tilt[outlying])
    rank = np.empty_like(keys, dtype=np.int64)
    np.put_along_axis(rank, np.argsort(-keys, axis=1), np.arange(n_cat)[None, :], axis=1)
    comm, cat = np.nonzero(rank < k[:, None])
    comm = comm.astype(np.int64)
    cat = cat.astype(np.int64)
    factor = np.array([_CATEGORY_TRAITS[c][1] for c in CATEGORIES])
    raw = hh[comm] / 2500.0 * factor[cat] * np.exp(rng.normal(0.0, 0.45, len(comm)))
    raw[rng.random(len(comm)) < 0.02] = 0.0  # listed but needing no hours this period
    hours = _calibrate(raw, total_hours, cfg.max_demand_hours)
    base = np.array([_CATEGORY_TRAITS[c][2] for c in CATEGORIES])
    noise = rng.choice(np.array([-1, 0, 1]), size=len(comm), p=[0.25, 0.5, 0.25])
    priority = np.clip(base[cat] + noise, 1, 5).astype(np.int64)
    return _Demands(community=comm, category=cat, hours=hours, priority=priority)


def _calibrate(raw: FloatArray, target: float, cap: int) -> IntArray:
    """Whole hours ``clip(rint(m * raw), 0, cap)`` with ``m`` chosen so they sum to ~target."""

    def hours(m: float) -> IntArray:
        return np.clip(np.rint(m * raw), 0, cap).astype(np.int64)

    lo, hi = 0.0, 1.0
    while hours(hi).sum() < target and hi < 1e12:
        lo, hi = hi, hi * 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if hours(mid).sum() < target:
            lo = mid
        else:
            hi = mid
    return hours(hi)


def _category_targets(cfg: GeneratorParams, demand: FloatArray, supply: float) -> FloatArray:
    """Hours of supply per category that give the configured shortage structure."""
    ratio = np.array([_CATEGORY_TRAITS[c][3] for c in CATEGORIES])
    fixed = np.zeros(len(CATEGORIES), dtype=bool)
    for j, c in enumerate(CATEGORIES):
        if c in cfg.short_categories:
            ratio[j], fixed[j] = cfg.short_supply_ratio, True
        elif c in cfg.ample_categories:
            ratio[j], fixed[j] = cfg.ample_supply_ratio, True
    target = ratio * demand
    free = target[~fixed].sum()
    if free > 0:
        # The ordinary categories take whatever the short and ample ones leave.
        target[~fixed] *= max(supply - target[fixed].sum(), 0.05 * free) / free
    total = target.sum()
    return target * (supply / total) if total > 0 else np.full(len(demand), supply / len(demand))


def _assign_skills(
    cfg: GeneratorParams, cadres: _Cadres, target: FloatArray
) -> npt.NDArray[np.object_]:
    """Skills per cadre so that the hours split over skills meet ``target`` per category.

    A cadre's first skill is drawn from ``p``, the other ones from ``q``, which leaves out
    the short categories so that scarce skills stay scarce even counting every hour of a
    multi-skilled cadre towards each of its skills.
    """
    rng = _rng(cfg, 7)
    n = len(cadres.hours)
    n_cat = len(CATEGORIES)
    h = cadres.hours.astype(np.float64)
    k = rng.choice(np.array([1, 2, 3]), size=n, p=[0.45, 0.35, 0.20])
    h1 = float((h / k).sum())
    h2 = float((h * (k - 1) / k).sum())
    short = np.array([c in cfg.short_categories for c in CATEGORIES])
    q = np.where(short, 0.0, target)
    q = q / q.sum() if q.sum() > 0 else np.full(n_cat, 1.0 / n_cat)
    p = np.clip(target - h2 * q, 0.0, None) / max(h1, 1e-9)
    p = p / p.sum() if p.sum() > 0 else np.full(n_cat, 1.0 / n_cat)
    first = rng.choice(n_cat, size=n, p=p).astype(np.int64)
    keys = _gumbel_keys(rng, np.broadcast_to(q, (n, n_cat)).copy())
    keys[np.arange(n), first] = -np.inf
    b, c, _ = _top_three(keys, k - 1)
    return _SKILLS[first * 256 + b * 16 + c]  # type: ignore[no-any-return]


def _make_alliances(
    cfg: GeneratorParams, city: _City, units: _Units
) -> tuple[IntArray, IntArray, IntArray]:
    """Each alliance's street, and (alliance, unit) member pairs."""
    rng = _rng(cfg, 8)
    n_a = cfg.count(cfg.n_alliances)
    n_st = len(city.street_name)
    size = city.street_size.astype(np.float64)
    if n_a >= n_st:
        # Every street has an alliance; busy streets have more.
        extra = rng.choice(n_st, size=n_a - n_st, p=size / size.sum())
        street = np.concatenate([np.arange(n_st), extra])
    else:
        street = np.argsort(-_gumbel_keys(rng, size))[:n_a]
    street = np.sort(street).astype(np.int64)
    lo, hi = cfg.alliance_members
    hi = min(hi, units.n)
    m = np.minimum(rng.integers(lo, hi + 1, n_a), units.n)
    base = np.full(units.n, 1e-4)
    base[units.group == _G_MUNI] = 0.15
    provider = np.isin(units.group, _PROVIDER_GROUPS)
    a_idx, u_idx = [], []
    # In blocks, so a large scale never builds a full alliances x units matrix.
    for start in range(0, n_a, 256):
        st = street[start : start + 256]
        d = city.street_district[st]
        same = units.district[None, :] == d[:, None]
        w = np.broadcast_to(base, same.shape).copy()
        w[same & provider[None, :]] = 1.0
        w[same & (units.group == _G_DISTRICT)[None, :]] = 0.6
        w[same & (units.group == _G_STREET)[None, :]] = 0.05
        w[units.street[None, :] == st[:, None]] = 50.0  # the street's own office leads
        order = np.argsort(-_gumbel_keys(rng, w), axis=1)[:, :hi]
        keep = np.arange(order.shape[1])[None, :] < m[start : start + 256, None]
        rows = np.broadcast_to(np.arange(start, start + len(st))[:, None], order.shape)
        a_idx.append(rows[keep])
        u_idx.append(order[keep])
    a = np.concatenate(a_idx).astype(np.int64)
    u = np.concatenate(u_idx).astype(np.int64)
    sort = np.lexsort((u, a))
    return street, a[sort], u[sort]


def _occurrence(values: IntArray) -> IntArray:
    """1, 2, ... numbering of equal values in a sorted array."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(values)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(values)]))
    return np.asarray(np.arange(len(values)) - first + 1, dtype=np.int64)


def _optional(values: StrArray | npt.NDArray[np.object_], present: BoolArray) -> pd.Series:
    """A text column empty (missing) where ``present`` is false."""
    return pd.Series(values).where(present)


def generate(scale: float = 1.0, seed: int = 0, **overrides: Any) -> dict[str, pd.DataFrame]:
    """Generate a synthetic city: one frame per table of the planning-model spec.

    Parameters
    ----------
    scale
        Multiplies every count (communities, units, cadres, pairings, alliances);
        above 1 the map grows so that the density a cadre sees stays that of scale 1.
    seed
        Seed of every random draw; the same arguments give identical frames.
    **overrides
        Any other field of :class:`GeneratorParams`.

    Returns
    -------
    dict[str, pandas.DataFrame]
        Keyed by the names in :data:`GENERATED_TABLES`, columns as in :data:`COLUMNS`. Ids and
        text are strings, hours, amounts, households and priorities are ``int64``,
        coordinates and ``range_km`` are floats; empty optional cells are missing (NaN).

    Raises
    ------
    ValueError
        If a setting is out of range (the message names the field).
    TypeError
        If an override is not a field of :class:`GeneratorParams`.

    Examples
    --------
    >>> t = generate(scale=0.1, seed=7)
    >>> len(t["cadres"]), len(t["alliances"])
    (7900, 37)
    >>> list(t["cadres"].columns)
    ['cadre_id', 'unit_id', 'skills', 'hours', 'home_community_id', 'lat', 'lon']
    """
    cfg = GeneratorParams(scale=scale, seed=seed, **overrides)
    city = _make_city(cfg)
    units = _make_units(cfg, city)
    pair_unit, pair_comm = _make_pairings(cfg, city, units)
    cadres = _make_cadres(cfg, city, units)
    resources = _make_resources(cfg, units)
    demands, skills = _match_supply(cfg, city, cadres, resources)
    a_street, m_alliance, m_unit = _make_alliances(cfg, city, units)

    comm_ids = _ids("C", city.n, 5)
    alliance_ids = _ids("A", len(a_street), 4)
    return {
        "communities": _communities_frame(cfg, city, comm_ids),
        "units": _units_frame(units),
        "cadres": _cadres_frame(cadres, skills, units, comm_ids),
        "demands": _demands_frame(demands, comm_ids),
        "resources": _resources_frame(resources, units),
        "pairings": pd.DataFrame(
            {"unit_id": units.ids[pair_unit], "community_id": comm_ids[pair_comm]}
        ),
        "alliances": _alliances_frame(city, a_street, alliance_ids),
        "alliance_members": pd.DataFrame(
            {"alliance_id": alliance_ids[m_alliance], "unit_id": units.ids[m_unit]}
        ),
    }


def _match_supply(
    cfg: GeneratorParams, city: _City, cadres: _Cadres, resources: _Resources
) -> tuple[_Demands, npt.NDArray[np.object_]]:
    """The demands, sized to the supply (``supply_demand_ratio``), and each cadre's skills,
    drawn so that the hours per category meet the short and ample targets."""
    supply = float(cadres.hours.sum() + resources.amount.sum())
    demands = _make_demands(cfg, city, supply / cfg.supply_demand_ratio)
    demand_by_cat = np.bincount(
        demands.category, weights=demands.hours.astype(np.float64), minlength=len(CATEGORIES)
    ).astype(np.float64)
    target = _category_targets(cfg, demand_by_cat, supply)
    cadre_target = np.clip(target - resources.split, 0.0, None)
    cadre_target *= cadres.hours.sum() / max(cadre_target.sum(), 1e-9)
    return demands, _assign_skills(cfg, cadres, cadre_target)


_DISTRICT_NAMES = np.array([d.name for d in DISTRICTS])


def _communities_frame(cfg: GeneratorParams, city: _City, comm_ids: StrArray) -> pd.DataFrame:
    """The communities table; names drawn from syllables (streams 9 and 10)."""
    a_syl = np.array(_SYLLABLE_A)[_rng(cfg, 9).integers(0, len(_SYLLABLE_A), city.n)]
    b_syl = np.array(_SYLLABLE_B)[_rng(cfg, 10).integers(0, len(_SYLLABLE_B), city.n)]
    c_lat, c_lon = _to_degrees(city.x, city.y)
    return pd.DataFrame(
        {
            "community_id": comm_ids,
            "name": np.char.add(np.char.add(a_syl, b_syl), " Community"),
            "district": _DISTRICT_NAMES[city.district],
            "street": city.street_name[city.street],
            "lat": c_lat,
            "lon": c_lon,
            "households": city.households,
        }
    )


def _units_frame(units: _Units) -> pd.DataFrame:
    """The units table."""
    u_lat, u_lon = _to_degrees(units.x, units.y)
    return pd.DataFrame(
        {
            "unit_id": units.ids,
            "name": units.names,
            "kind": np.array([gr[1] for gr in _GROUPS])[units.group],
            "level": np.array([gr[2] for gr in _GROUPS])[units.group],
            "district": _DISTRICT_NAMES[units.district],
            "lat": u_lat,
            "lon": u_lon,
        }
    )


def _cadres_frame(
    cadres: _Cadres, skills: npt.NDArray[np.object_], units: _Units, comm_ids: StrArray
) -> pd.DataFrame:
    """The cadres table; a cadre without a home community has an empty cell."""
    return pd.DataFrame(
        {
            "cadre_id": _ids("K", len(cadres.unit), 6),
            "unit_id": units.ids[cadres.unit],
            "skills": pd.Series(skills, dtype=str),
            "hours": cadres.hours,
            "home_community_id": _optional(comm_ids[np.maximum(cadres.home, 0)], cadres.home >= 0),
            "lat": cadres.lat,
            "lon": cadres.lon,
        }
    )


def _demands_frame(demands: _Demands, comm_ids: StrArray) -> pd.DataFrame:
    """The demands table."""
    return pd.DataFrame(
        {
            "demand_id": _ids("D", len(demands.hours), 6),
            "community_id": comm_ids[demands.community],
            "category": np.array(CATEGORIES)[demands.category],
            "hours": demands.hours,
            "priority": demands.priority,
        }
    )


def _resources_frame(resources: _Resources, units: _Units) -> pd.DataFrame:
    """The resources table, all services; one for any category has empty ``categories``."""
    res_n = len(resources.unit)
    return pd.DataFrame(
        {
            "resource_id": _ids("R", res_n, 4),
            "unit_id": units.ids[resources.unit],
            "kind": np.full(res_n, "service"),
            "categories": _optional(
                _SKILLS[np.where(resources.code >= _NONE * 256, 0, resources.code)],
                resources.code < _NONE * 256,
            ),
            "amount": resources.amount,
            "range_km": resources.range_km,
        }
    )


def _alliances_frame(city: _City, a_street: IntArray, alliance_ids: StrArray) -> pd.DataFrame:
    """The alliances table: one per street in ``a_street``, named after it (a street's
    second alliance and on numbered)."""
    nth = _occurrence(a_street)
    a_names = np.char.add(city.street_name[a_street], " Neighborhood Red Alliance")
    a_names = np.where(nth > 1, np.char.add(np.char.add(a_names, " "), nth.astype(str)), a_names)
    return pd.DataFrame(
        {
            "alliance_id": alliance_ids,
            "name": a_names,
            "district": _DISTRICT_NAMES[city.street_district[a_street]],
            "street": city.street_name[a_street],
        }
    )


_PLACE_COLUMNS = ("district", "street")
"""Text columns that place a row in a city; prefixed too, so that two cities' streets of
one name do not merge (an alliance covers its (district, street) wherever it is)."""


def combine_cities(
    cities: Sequence[Mapping[str, pd.DataFrame]],
    prefixes: Sequence[str],
    offsets: Sequence[tuple[float, float]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Put several cities' tables into one dataset, keeping every city's ids apart.

    Every id and reference column (``community_id``, ``unit_id``, ``cadre_id``,
    ``home_community_id``, ...; whatever the spec's schema marks as an id or a reference)
    and the ``district`` and ``street`` columns get the city's prefix; each city's
    coordinates (``lat``/``lon`` of communities, units and cadres; empty cells stay
    empty) are shifted by its offset; then the tables are stacked city by city. Cities
    far enough apart (a few degrees) share no tie, so they are independent parts of the
    labour flow.

    Parameters
    ----------
    cities
        One ``dict`` of frames per city (from :func:`generate`, or a loaded dataset's
        ``tables()``).
    prefixes
        One distinct prefix per city, such as ``"A-"``.
    offsets
        ``(degrees latitude, degrees longitude)`` added to each city's coordinates
        (default: none).

    Returns
    -------
    dict[str, pandas.DataFrame]
        One frame per table that some city has.

    Raises
    ------
    ValueError
        If the numbers of cities, prefixes and offsets differ, or prefixes repeat.

    Examples
    --------
    >>> a, b = generate(scale=0.02, seed=1), generate(scale=0.02, seed=2)
    >>> both = combine_cities([a, b], ["A-", "B-"], [(0.0, 0.0), (3.0, 0.0)])
    >>> len(both["cadres"]) == len(a["cadres"]) + len(b["cadres"])
    True
    >>> both["cadres"]["cadre_id"].iloc[-1]
    'B-K001580'
    """
    offsets = list(offsets) if offsets is not None else [(0.0, 0.0)] * len(cities)
    if not len(cities) == len(prefixes) == len(offsets):
        raise ValueError(Text(N_("give one prefix and one offset per city")))
    if len(set(prefixes)) != len(prefixes):
        raise ValueError(Text(N_("prefixes must differ, or two cities' ids could collide")))
    names = [n for n in TABLES_BY_NAME if any(n in c for c in cities)]
    out: dict[str, pd.DataFrame] = {}
    for name in names:
        schema = TABLES_BY_NAME[name]
        ids = {c.name for c in schema.columns if c.kind in (Kind.ID, Kind.REF)}
        frames = [
            _moved(city[name], ids, prefix, offset)
            for city, prefix, offset in zip(cities, prefixes, offsets, strict=True)
            if name in city
        ]
        out[name] = pd.concat(frames, ignore_index=True)
    return out


def _moved(
    frame: pd.DataFrame, ids: set[str], prefix: str, offset: tuple[float, float]
) -> pd.DataFrame:
    """A copy of one city's table with ``prefix`` before its ids, references and places,
    and ``offset`` added to its coordinates."""
    frame = frame.copy()
    for col in frame.columns:
        if col in ids or col in _PLACE_COLUMNS:
            # Empty optional references (a cadre with no home) stay empty.
            frame[col] = frame[col].where(frame[col].isna(), prefix + frame[col].astype(str))
    if "lat" in frame.columns:
        dlat, dlon = offset
        frame["lat"] = frame["lat"].astype(float) + dlat
        frame["lon"] = frame["lon"].astype(float) + dlon
    return frame
