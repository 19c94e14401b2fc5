"""One source for each shared rule: the Earth's constants, the generator's degree scale,
the "English (中文)" name rule, the missing-cell test, the category codes and the plan's
output columns. Each is defined once and the other modules use it, not a copy."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matcher import params
from matcher.analysis.scenario import changes as scenario
from matcher.inputs import generate
from matcher.inputs.io import is_missing, plain_value
from matcher.inputs.names import display_name
from matcher.model import geo
from matcher.plans.tables import FUNDING_COLUMNS, LEAD_COLUMNS
from matcher.report import format as report

ROOT = Path(__file__).resolve().parents[1]


def test_earth_constants_agree() -> None:
    assert geo.EARTH_RADIUS_KM == 6371.0
    assert geo.EARTH_RADIUS_KM * math.pi / 180.0 == geo.KM_PER_DEG_LAT
    one_degree = geo.haversine_km(
        np.array([26.0]), np.array([119.3]), np.array([27.0]), np.array([119.3])
    )
    assert float(one_degree[0]) == pytest.approx(geo.KM_PER_DEG_LAT, rel=1e-12)
    assert math.pi * geo.EARTH_RADIUS_KM == params.MAX_TRAVEL_KM
    assert geo.chord_for_km(params.MAX_TRAVEL_KM) == pytest.approx(2.0)


def test_the_column_kernel_uses_the_same_radius() -> None:
    from matcher.solvers.columns.reach import hav_rad

    lat = np.radians(np.array([26.0, 26.5]))
    lon = np.radians(np.array([119.3, 119.6]))
    km = hav_rad.py_func(lat[0], lon[0], math.cos(lat[0]), lat[1], lon[1], math.cos(lat[1]))
    want = geo.haversine_km(*np.degrees([lat[:1], lon[:1], lat[1:], lon[1:]]))[0]
    assert km == pytest.approx(float(want), rel=1e-12)


def test_generator_and_scenarios_share_one_degree_scale() -> None:
    # 110.574 km (the ellipsoid's meridian degree at the equator) places generated points;
    # it is not the sphere's 111.195 and must not change, or seeded cities would move.
    assert geo.GENERATOR_KM_PER_DEG_LAT == 110.574
    assert geo.GENERATOR_KM_PER_DEG_LON_EQ == 111.320
    assert generate._KM_PER_DEG_LAT is geo.GENERATOR_KM_PER_DEG_LAT
    assert (
        geo.GENERATOR_KM_PER_DEG_LON_EQ * math.cos(math.radians(generate._METRO_LAT))
        == generate._KM_PER_DEG_LON
    )
    assert scenario.GENERATOR_KM_PER_DEG_LAT is geo.GENERATOR_KM_PER_DEG_LAT
    assert not hasattr(scenario, "_KM_PER_DEG_LAT")
    assert not hasattr(report, "_KM_PER_DEG_LAT")


@pytest.mark.parametrize(
    ("name", "en", "zh"),
    [
        ("Military Gate Community (军门社区)", "Military Gate Community", "军门社区"),
        ("Military Gate Community（军门社区）", "Military Gate Community", "军门社区"),
        ("Dongjie Street  (东街街道) ", "Dongjie Street", "东街街道"),
        ("Unit 3 (east)", "Unit 3 (east)", "Unit 3 (east)"),
        ("军门社区", "军门社区", "军门社区"),
        ("Minfa (West Lake) Plaza (闽发西湖广场)", "Minfa (West Lake) Plaza", "闽发西湖广场"),
        ("Tangbian", "Tangbian", "Tangbian"),
        ("", "", ""),
    ],
)
def test_one_rule_for_bilingual_names(name: str, en: str, zh: str) -> None:
    assert display_name(name, "en") == en
    assert display_name(name, "zh") == zh
    # The report's short labels follow the same rule.
    assert report.short_name(name) == zh


def test_missing_cells() -> None:
    for value in (None, pd.NA, pd.NaT, float("nan"), np.float64("nan")):
        assert is_missing(value), value
        assert plain_value(value) is None
    for value in (0, 0.0, "", "x", False, np.int64(0)):
        assert not is_missing(value), value
    assert plain_value(np.int64(7)) == 7 and type(plain_value(np.int64(7))) is int
    assert type(plain_value(np.float64(1.5))) is float
    assert plain_value("a") == "a"


def test_the_demo_builder_uses_the_generators_categories() -> None:
    path = ROOT / "datasets" / "build_fuzhou_demo.py"
    spec = importlib.util.spec_from_file_location("_build_fuzhou_demo", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert module.CATEGORIES is generate.CATEGORIES


def test_the_solvers_write_the_plans_columns(example_dir: Path) -> None:
    from matcher.plans.planner import plan

    p = plan(example_dir)
    assert tuple(p.funding.columns) == FUNDING_COLUMNS
    assert tuple(p.leads.columns) == LEAD_COLUMNS


def test_the_reason_codes_are_the_spec_order_of_the_reason_table() -> None:
    from matcher.plans.reasons import REASON_TEXTS, REASONS, reason_text

    assert REASONS == (
        "no_eligible_supplier",
        "too_far",
        "capacity_taken",
        "supply_short",
        "below_min_hours",
        "not_funded",
    )
    assert all(reason_text(r) and reason_text(r, "zh", short=True) for r in REASON_TEXTS)


def test_the_stored_result_tables_are_the_plans_columns_with_their_places() -> None:
    """api.store's SQL tables hold matcher.plans.planner's columns (one declaration) plus each row's
    community, district and category, in a fixed order dashboards rely on."""
    from api import store
    from matcher.plans.tables import ASSIGNMENT_COLUMNS, FUNDING_COLUMNS

    assert [
        *ASSIGNMENT_COLUMNS[:5],
        "district",
        *ASSIGNMENT_COLUMNS[5:],
    ] == store.ASSIGNMENT_FIELDS
    assert [*FUNDING_COLUMNS[:4], "district", "category", "amount"] == store.FUNDING_FIELDS
    assert store.LEAD_FIELDS == [
        "demand_id",
        "unit_id",
        "community_id",
        "district",
        "category",
        "effort",
        "cost",
    ]
    for fields in (store.ASSIGNMENT_FIELDS, store.FUNDING_FIELDS, store.LEAD_FIELDS):
        assert set(store.PLACES) <= set(fields)
