"""Tests of the synthetic-city generator (``matcher.inputs.generate``)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.inputs.generate import (
    CATEGORIES,
    COLUMNS,
    DISTRICTS,
    GENERATED_TABLES,
    GeneratorParams,
    generate,
    write_tables,
)

Tables = dict[str, pd.DataFrame]

ID_COLUMNS = {
    "communities": "community_id",
    "units": "unit_id",
    "cadres": "cadre_id",
    "demands": "demand_id",
    "resources": "resource_id",
    "alliances": "alliance_id",
}
INT_COLUMNS = {
    "communities": ("households",),
    "cadres": ("hours",),
    "demands": ("hours", "priority"),
    "resources": ("amount",),
}
FLOAT_COLUMNS = {
    "communities": ("lat", "lon"),
    "units": ("lat", "lon"),
    "cadres": ("lat", "lon"),
    "resources": ("range_km",),
}
CENTRES = {
    "Gulou": (26.08, 119.30),
    "Taijiang": (26.06, 119.31),
    "Cangshan": (26.03, 119.32),
    "Jin'an": (26.09, 119.35),
    "Mawei": (25.99, 119.45),
    "Changle": (25.96, 119.52),
}
SHORT = ("legal_aid", "disability_support", "housing_repair", "child_care")
AMPLE = ("epidemic_prevention", "safety_patrol")


@pytest.fixture(scope="module")
def small() -> Tables:
    return generate(scale=0.1, seed=11)


@pytest.fixture(scope="module")
def full() -> Tables:
    return generate(scale=1.0, seed=0)


def _km(lat1: object, lon1: object, lat2: object, lon2: object) -> np.ndarray:
    """Haversine kilometres, elementwise."""
    p1, p2 = np.radians(np.asarray(lat1, float)), np.radians(np.asarray(lat2, float))
    dlon = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * 6371.0 * np.arcsin(np.sqrt(a)))


def _category_supply(t: Tables) -> pd.DataFrame:
    """Per category: demand, supply with hours split over skills, and every hour counted.

    Service resources with empty categories (any) count only in the totals.
    """
    k = t["cadres"]
    r = t["resources"].dropna(subset=["categories"])
    items = pd.concat(
        [
            pd.DataFrame({"cat": k["skills"].str.split(";"), "hours": k["hours"]}),
            pd.DataFrame({"cat": r["categories"].str.split(";"), "hours": r["amount"]}),
        ],
        ignore_index=True,
    )
    items["share"] = items["hours"] / items["cat"].str.len()
    long = items.explode("cat")
    demand = t["demands"].groupby("category")["hours"].sum()
    out = pd.DataFrame(
        {
            "demand": demand,
            "split": long.groupby("cat")["share"].sum(),
            "full": long.groupby("cat")["hours"].sum(),
        }
    ).fillna(0.0)
    out["split_ratio"] = out["split"] / out["demand"]
    out["full_ratio"] = out["full"] / out["demand"]
    return out


def _standing_district(t: Tables) -> pd.Series:
    """Each cadre's district: its home community's, else its unit's."""
    k = t["cadres"]
    comm_district = t["communities"].set_index("community_id")["district"]
    unit_district = t["units"].set_index("unit_id")["district"]
    home = k["home_community_id"].map(comm_district)
    return home.fillna(k["unit_id"].map(unit_district))


def _check_integrity(t: Tables) -> None:
    assert tuple(t) == GENERATED_TABLES
    for name, col in ID_COLUMNS.items():
        ids = t[name][col]
        assert ids.notna().all() and ids.is_unique, name
    communities = set(t["communities"]["community_id"])
    units = set(t["units"]["unit_id"])
    alliances = set(t["alliances"]["alliance_id"])
    k = t["cadres"]
    assert k["unit_id"].isin(units).all()
    assert k["home_community_id"].dropna().isin(communities).all()
    assert t["demands"]["community_id"].isin(communities).all()
    assert t["resources"]["unit_id"].isin(units).all()
    assert t["pairings"]["unit_id"].isin(units).all()
    assert t["pairings"]["community_id"].isin(communities).all()
    assert not t["pairings"].duplicated().any()
    m = t["alliance_members"]
    assert m["alliance_id"].isin(alliances).all()
    assert m["unit_id"].isin(units).all()
    assert not m.duplicated().any()
    assert set(m["alliance_id"]) == alliances
    streets = set(zip(t["communities"]["district"], t["communities"]["street"], strict=True))
    named = set(zip(t["alliances"]["district"], t["alliances"]["street"], strict=True))
    assert named <= streets
    assert not t["demands"].duplicated(["community_id", "category"]).any()


def _check_values(t: Tables) -> None:
    for name in GENERATED_TABLES:
        assert tuple(t[name].columns) == COLUMNS[name], name
    for name, cols in INT_COLUMNS.items():
        for col in cols:
            assert t[name][col].dtype == np.int64, (name, col)
    for name, cols in FLOAT_COLUMNS.items():
        for col in cols:
            assert t[name][col].dtype == np.float64, (name, col)
    c = t["communities"]
    assert c["households"].between(500, 8000).all()
    assert c["lat"].between(25.0, 27.0).all() and c["lon"].between(118.5, 120.5).all()
    assert set(c["district"]) <= set(CENTRES)
    assert c["street"].str.fullmatch(r"[A-Za-z']+-S\d{2,}").all()
    assert (c["street"].str.split("-S").str[0] == c["district"]).all()
    u = t["units"]
    assert set(u["kind"]) <= {"government", "enterprise", "social_org", "institution"}
    assert set(u["level"]) <= {"municipal", "district", "street", "none"}
    k = t["cadres"]
    assert k["hours"].between(4, 40).all()
    skills = k["skills"].str.split(";")
    assert skills.map(len).between(1, 3).all()
    assert set(skills.explode()) <= set(CATEGORIES)
    assert not skills.map(lambda s: len(set(s)) != len(s)).any()
    assert (k["lat"].isna() == k["lon"].isna()).all()
    d = t["demands"]
    assert d["hours"].between(0, 150).all()
    assert d["priority"].between(1, 5).all()
    assert set(d["category"]) <= set(CATEGORIES)
    per_comm = d.groupby("community_id").size()
    assert per_comm.between(3, 8).all()
    assert len(per_comm) == len(c)
    r = t["resources"]
    assert (r["kind"] == "service").all()
    assert r["amount"].between(20, 400).all()
    cats = r["categories"].dropna().str.split(";")
    assert cats.map(len).between(1, 3).all() and set(cats.explode()) <= set(CATEGORIES)
    assert r["range_km"].dropna().between(2, 10).all()
    assert r["unit_id"].str.match(r"U-[EOI]").all()  # enterprises, social orgs, institutions
    sizes = t["alliance_members"].groupby("alliance_id").size()
    assert sizes.between(2, 8).all()


def test_constants() -> None:
    assert GENERATED_TABLES == (
        "communities",
        "units",
        "cadres",
        "demands",
        "resources",
        "pairings",
        "alliances",
        "alliance_members",
    )
    assert len(CATEGORIES) == 15 == len(set(CATEGORIES))
    assert set(COLUMNS) == set(GENERATED_TABLES)
    assert {d.name for d in DISTRICTS} == set(CENTRES)


def test_same_seed_same_frames() -> None:
    a = generate(scale=0.05, seed=3)
    b = generate(scale=0.05, seed=3)
    for name in GENERATED_TABLES:
        pd.testing.assert_frame_equal(a[name], b[name])
    c = generate(scale=0.05, seed=4)
    assert not a["cadres"].equals(c["cadres"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_twice_gives_identical_bytes(tmp_path: Path, fmt: str) -> None:
    first = write_tables(generate(scale=0.05, seed=5), tmp_path / "a", fmt)  # type: ignore[arg-type]
    second = write_tables(generate(scale=0.05, seed=5), tmp_path / "b", fmt)  # type: ignore[arg-type]
    assert [p.name for p in first] == [f"{t}.{fmt}" for t in GENERATED_TABLES]
    for p, q in zip(first, second, strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name


def test_scale_one_counts(full: Tables) -> None:
    c, u, k = full["communities"], full["units"], full["cadres"]
    assert len(c) == 3847
    assert len(k) == 79_000
    assert len(full["alliances"]) == 368
    muni = u[u["level"] == "municipal"]
    assert len(muni) == 90 and (muni["kind"] == "government").all()
    assert 200 <= len(u) <= 1000
    assert set(u["kind"]) == {"government", "enterprise", "social_org", "institution"}
    p = full["pairings"]
    mp = p[p["unit_id"].isin(muni["unit_id"])]
    assert mp["community_id"].nunique() == 201
    assert set(mp["unit_id"]) == set(muni["unit_id"])
    assert len(p) > len(mp)  # other units pair too
    other = p[~p["unit_id"].isin(muni["unit_id"])]
    same = other["unit_id"].map(u.set_index("unit_id")["district"]) == other["community_id"].map(
        c.set_index("community_id")["district"]
    )
    assert same.all()
    _check_integrity(full)
    _check_values(full)


def test_scale_one_geography(full: Tables) -> None:
    c = full["communities"]
    assert set(c["district"]) == set(CENTRES)
    counts = c["district"].value_counts()
    assert counts.max() / counts.min() > 1.5
    for name, (lat, lon) in CENTRES.items():
        part = c[c["district"] == name]
        assert _km(part["lat"], part["lon"], lat, lon).mean() < 8.0, name
        assert _km(part["lat"].mean(), part["lon"].mean(), lat, lon) < 3.0, name
    per_street = c.groupby(["district", "street"]).size()
    assert 20 <= per_street.mean() <= 40
    assert per_street.between(10, 50).all()
    # Communities cluster around their street's centre, a few hundred metres to ~1.5 km.
    centre = c.groupby("street")[["lat", "lon"]].transform("mean")
    spread = _km(c["lat"], c["lon"], centre["lat"], centre["lon"])
    assert 0.2 < np.median(spread) < 1.5
    assert np.quantile(spread, 0.9) < 2.5
    # The old core is dense, the outskirts sparse: more communities near a core centre.
    near_gulou = (_km(c["lat"], c["lon"], *CENTRES["Gulou"]) < 3).sum()
    near_changle = (_km(c["lat"], c["lon"], *CENTRES["Changle"]) < 3).sum()
    assert near_gulou > 3 * near_changle


def test_scale_one_cadres(full: Tables) -> None:
    k, u = full["cadres"], full["units"]
    assert 0.6 <= k["home_community_id"].notna().mean() <= 0.7
    assert 0.04 <= k["lat"].notna().mean() <= 0.06
    assert k["hours"].between(8, 24).mean() > 0.7
    per_unit = k["unit_id"].map(u.set_index("unit_id")["level"]).value_counts()
    muni_mean = per_unit["municipal"] / 90
    assert muni_mean > 2 * (len(k) / len(u))  # municipal units are big
    home_district = k["home_community_id"].map(
        full["communities"].set_index("community_id")["district"]
    )
    unit_district = k["unit_id"].map(u.set_index("unit_id")["district"])
    has = home_district.notna()
    assert (home_district[has] == unit_district[has]).mean() > 0.6


def test_scale_one_planning_matters(full: Tables) -> None:
    supply = full["cadres"]["hours"].sum() + full["resources"]["amount"].sum()
    demand = full["demands"]["hours"].sum()
    assert 0.8 <= supply / demand <= 1.1
    ratios = _category_supply(full)
    split, every_hour = ratios["split_ratio"], ratios["full_ratio"]
    assert split[list(SHORT)].between(0.3, 0.6).all()
    assert (every_hour[list(SHORT)] < 0.7).all()
    assert (split[list(AMPLE)] > 1.5).all()
    by_district = pd.DataFrame(
        {
            "supply": full["cadres"]["hours"].groupby(_standing_district(full)).sum(),
            "demand": full["demands"]
            .merge(full["communities"], on="community_id")
            .groupby("district")["hours"]
            .sum(),
        }
    )
    ratio = by_district["supply"] / by_district["demand"]
    outskirts, core = ratio[["Mawei", "Changle"]], ratio.drop(["Mawei", "Changle"])
    assert outskirts.max() < core.min()
    assert outskirts.mean() < 0.6 * core.mean()


def test_demand_hours_follow_households(small: Tables) -> None:
    d = small["demands"].merge(small["communities"], on="community_id")
    per_comm = d.groupby("community_id").agg(h=("hours", "sum"), hh=("households", "first"))
    assert per_comm["h"].corr(per_comm["hh"]) > 0.5
    assert len(set(small["demands"]["category"])) == 15


@pytest.mark.parametrize("scale", [0.1, 0.01])
def test_integrity_and_values(small: Tables, scale: float) -> None:
    t = small if scale == 0.1 else generate(scale=scale, seed=2)
    _check_integrity(t)
    _check_values(t)


def test_shortage_structure_small(small: Tables) -> None:
    ratios = _category_supply(small)
    assert ratios["full_ratio"].min() < 0.7
    assert ratios["split_ratio"].max() > 1.3
    assert (ratios.loc[list(SHORT), "split_ratio"] < 0.7).all()


@pytest.mark.parametrize("scale", [0.01, 0.001, 1e-6])
def test_tiny_scales_are_valid(scale: float) -> None:
    t = generate(scale=scale, seed=1)
    for name in GENERATED_TABLES:
        assert len(t[name]) >= 1, name
    _check_integrity(t)
    assert len(t["communities"]) == max(1, round(3847 * scale))
    assert len(t["cadres"]) == max(1, round(79_000 * scale))


def test_scale_multiplies_counts() -> None:
    a = generate(scale=0.05, seed=0)
    b = generate(scale=0.1, seed=0)
    for t, s in ((a, 0.05), (b, 0.1)):
        assert len(t["communities"]) == round(3847 * s)
        assert len(t["cadres"]) == round(79_000 * s)
        assert len(t["alliances"]) == round(368 * s)
        units = t["units"]
        muni = units.loc[units["level"] == "municipal", "unit_id"]
        assert len(muni) == round(90 * s)
        pairs = t["pairings"]
        assert pairs.loc[pairs["unit_id"].isin(muni), "community_id"].nunique() == round(201 * s)
    assert b["communities"]["street"].nunique() > a["communities"]["street"].nunique()


def test_map_grows_above_scale_one() -> None:
    assert GeneratorParams(scale=0.2).map_scale == 1.0
    assert GeneratorParams(scale=1.0).map_scale == 1.0
    assert GeneratorParams(scale=4.0).map_scale > 2.0  # faster than sqrt(scale)
    # Few cadres keep this fast; only the communities matter here.
    one = generate(scale=1.0, seed=0, n_cadres=100)["communities"]
    two = generate(scale=2.0, seed=0, n_cadres=50)["communities"]
    assert two["street"].nunique() > 1.8 * one["street"].nunique()
    assert two["lon"].std() > 1.3 * one["lon"].std()

    def mean_within_5km(c: pd.DataFrame) -> float:
        sample = c.sample(200, random_state=0)
        km = _km(sample["lat"].to_numpy()[:, None], sample["lon"].to_numpy()[:, None],
                 c["lat"].to_numpy()[None, :], c["lon"].to_numpy()[None, :])  # fmt: skip
        return float((km <= 5.0).sum(axis=1).mean())

    # A community sees about as many others within 5 km: pairs grow ~linearly with scale.
    assert 0.75 < mean_within_5km(two) / mean_within_5km(one) < 1.35


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scale", -1.0),
        ("scale", 0.0),
        ("scale", float("nan")),
        ("scale", "big"),
        ("seed", -3),
        ("seed", 1.5),
        ("n_cadres", 0),
        ("n_communities", -5),
        ("n_enterprises", -1),
        ("home_share", 1.5),
        ("explicit_location_share", -0.1),
        ("supply_demand_ratio", 0.0),
        ("demands_per_community", (5, 3)),
        ("demands_per_community", (1, 16)),
        ("cadre_hours", (0, 10)),
        ("short_categories", ("legal_aid", "astrology")),
        ("ample_categories", ("legal_aid",)),
        ("outlying_districts", ("Atlantis",)),
        ("alliance_members", (3,)),
        ("geo_exponent", 2.0),
        ("communities_per_street", 0.5),
    ],
)
def test_config_rejects_bad_values(field: str, value: object) -> None:
    kwargs = {field: value}
    with pytest.raises(ValueError, match=re.escape(field)):
        GeneratorParams(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=re.escape(field)):
        generate(**kwargs)  # type: ignore[arg-type]


def test_unknown_override_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="no_such_knob"):
        generate(scale=0.01, no_such_knob=1)


def test_overrides_apply() -> None:
    t = generate(scale=0.02, seed=0, n_cadres=1000, home_share=0.0)
    assert len(t["cadres"]) == 20
    assert t["cadres"]["home_community_id"].isna().all()


def test_csv_round_trip(tmp_path: Path, small: Tables) -> None:
    paths = write_tables(small, tmp_path)
    assert [p.name for p in paths] == [f"{t}.csv" for t in GENERATED_TABLES]
    for name, path in zip(GENERATED_TABLES, paths, strict=True):
        raw = path.read_bytes()
        assert b"\r" not in raw
        raw.decode("utf-8")
        text = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert tuple(text.columns) == COLUMNS[name]
        assert len(text) == len(small[name])
        cells = text.to_numpy().ravel()
        assert not np.isin(cells, ["nan", "NaN", "None", "<NA>"]).any(), name
        for col in INT_COLUMNS.get(name, ()):
            assert text[col].str.fullmatch(r"\d+").all(), (name, col)
        back = pd.read_csv(path, dtype={c: str for c in COLUMNS[name] if c.endswith("_id")})
        expected = small[name]
        for col in COLUMNS[name]:
            got, want = back[col], expected[col]
            if want.dtype.kind in "if":
                np.testing.assert_array_equal(got.to_numpy(float), want.to_numpy(float))
            else:
                assert got.fillna("").astype(str).tolist() == want.fillna("").astype(str).tolist()
    cadres = pd.read_csv(tmp_path / "cadres.csv", dtype=str, keep_default_na=False)
    assert (cadres["home_community_id"] == "").any() and (cadres["lat"] == "").any()


def test_write_tables_rejects_bad_input(tmp_path: Path) -> None:
    t = generate(scale=0.01)
    with pytest.raises(ValueError, match="fmt"):
        write_tables(t, tmp_path, "xlsx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="file stem"):
        write_tables({"../evil": t["units"]}, tmp_path)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scale=st.floats(min_value=0.002, max_value=0.03),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_any_small_city_is_consistent(scale: float, seed: int) -> None:
    t = generate(scale=scale, seed=seed)
    _check_integrity(t)
    assert t["cadres"]["hours"].between(4, 40).all()
    assert t["demands"]["priority"].between(1, 5).all()
