"""Feasibility and explanation invariants of every plan, checked on many random cities.

Guards, property by property, what any labour plan must satisfy whatever the data: no
supplier or demand over its hours; every assignment on an arc the spec allows (skill and
a tie), reporting the first tie in spec order, with the haversine distance and whole
positive hours; ``demand_status`` agreeing with the assignments; each ``reason``
re-derived from the spec's wording (``no_eligible_supplier``, ``too_far``,
``capacity_taken``, ``supply_short``, in that order) with the reference model's own
eligibility; KPIs adding up. Cities come from ``factories.random_tables`` with seeds and
parameters drawn by hypothesis (derandomized, so CI sees the same examples every run).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest
from factories import (
    PROFILES,
    Key,
    ReferenceModel,
    haversine,
    random_tables,
    reference_for,
    reference_model,
    reference_reasons,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from matcher.inputs.dataset import dataset_from_frames
from matcher.params import PlanParams
from matcher.plans.planner import plan
from matcher.plans.result import Plan

PROPERTY_SETTINGS = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

PARAMS = [
    PlanParams(),
    PlanParams(),
    PlanParams(travel_cost_per_km=0.4),  # far arcs score below zero: too_far appears
    PlanParams(max_travel_km=2.0),
    PlanParams(max_travel_km=8.0, travel_cost_per_km=1.0),
    PlanParams(max_travel_km=0.0, priority_weight=2.0),
    PlanParams(travel_cost_per_km=0.0),
]

cases = st.tuples(
    st.integers(min_value=0, max_value=2**32 - 1),
    st.sampled_from(["small", "small", "dense", "tiny"]),
    st.sampled_from(PARAMS),
)


@dataclass(frozen=True)
class Solved:
    """A random city, its plan, and the reference model of the same city."""

    plan: Plan
    model: ReferenceModel
    flow: dict[Key, int]


def _solve(case: tuple[int, str, PlanParams]) -> Solved:
    seed, profile, params = case
    tables = random_tables(seed, PROFILES[profile])
    result = plan(dataset_from_frames(tables), params)
    model = reference_for(tables, params)
    flow: dict[Key, int] = {}
    for r in result.assignments.itertuples():
        key = (r.supplier_kind, r.supplier_id, r.demand_id)
        assert key not in flow, f"{key} assigned on two rows"
        flow[key] = int(r.hours)
    return Solved(result, model, flow)


@PROPERTY_SETTINGS
@given(cases)
def test_no_supplier_and_no_demand_over_its_hours(case: tuple[int, str, PlanParams]) -> None:
    s = _solve(case)
    given_by: dict[tuple[str, str], int] = {}
    got_by: dict[str, int] = {}
    for (kind, sid, did), x in s.flow.items():
        given_by[kind, sid] = given_by.get((kind, sid), 0) + x
        got_by[did] = got_by.get(did, 0) + x
    for key, total in given_by.items():
        assert total <= s.model.suppliers[key].hours, key
    for did, total in got_by.items():
        assert total <= s.model.demands[did].hours, did


@PROPERTY_SETTINGS
@given(cases)
def test_every_assignment_is_an_allowed_arc_with_its_first_tie(
    case: tuple[int, str, PlanParams],
) -> None:
    s = _solve(case)
    a = s.plan.assignments
    assert pd.api.types.is_integer_dtype(a["hours"].dtype)
    for r in a.itertuples():
        key = (r.supplier_kind, r.supplier_id, r.demand_id)
        assert r.hours > 0, key
        assert key in s.model.arcs, f"{key}: no skill or no tie"
        sup, dem = s.model.suppliers[key[:2]], s.model.demands[r.demand_id]
        arc = s.model.arcs[key]
        # The skill: the demand's category among the supplier's (a service's empty = any).
        assert r.category == dem.category
        assert sup.skills is None or dem.category in sup.skills, key
        assert r.unit_id == sup.unit and r.community_id == dem.community
        # The tie reported is the first that holds, in spec order.
        assert r.tie == arc.tie, key
        # The distance is the haversine from where the supplier stands.
        comm = s.model.communities[dem.community]
        km = haversine(sup.lat, sup.lon, float(comm["lat"]), float(comm["lon"]))
        assert abs(r.km - km) <= 1e-4, key
        # An optimal plan never spends an hour that scores zero or less.
        assert arc.weight > 0, key


@PROPERTY_SETTINGS
@given(cases)
def test_demand_status_matches_assignments_and_spec_reasons(
    case: tuple[int, str, PlanParams],
) -> None:
    s = _solve(case)
    status = s.plan.demand_status
    assert status["demand_id"].tolist() == list(s.model.demands)
    covered = {did: 0 for did in s.model.demands}
    for (_, _, did), x in s.flow.items():
        covered[did] += x
    reasons = reference_reasons(s.model, s.flow)
    for r in status.itertuples():
        d = s.model.demands[r.demand_id]
        assert (r.community_id, r.category, r.hours, r.priority) == (
            d.community,
            d.category,
            d.hours,
            d.priority,
        )
        assert r.covered_hours == covered[r.demand_id]
        want = "met" if r.covered_hours >= d.hours else "partial" if r.covered_hours else "unmet"
        assert r.status == want, r.demand_id
        assert r.reason == reasons[r.demand_id], r.demand_id
        event(f"reason: {r.reason or 'met'}")


@PROPERTY_SETTINGS
@given(cases)
def test_kpis_add_up(case: tuple[int, str, PlanParams]) -> None:
    s = _solve(case)
    k = s.plan.kpis
    hours = sum(s.flow.values())
    demanded = sum(d.hours for d in s.model.demands.values())
    assert k["hours_covered"] == hours
    assert k["hours_demanded"] == demanded
    assert k["coverage"] == (pytest.approx(hours / demanded, abs=1e-6) if demanded else None)
    objective = sum(x * s.model.arcs[key].weight for key, x in s.flow.items())
    weighted = sum(x * s.model.demands[key[2]].priority for key, x in s.flow.items())
    # travel_hour_km is summed over the km written in assignments.csv (4 decimals).
    travel = sum(x * round(s.model.arcs[key].km, 4) for key, x in s.flow.items())
    assert s.plan.objective == pytest.approx(objective, rel=1e-9, abs=1e-9)
    assert k["objective"] == pytest.approx(objective, abs=1e-6)
    assert k["weighted_hours"] == pytest.approx(weighted, abs=1e-6)
    assert k["travel_hour_km"] == pytest.approx(travel, abs=1e-6)
    assert k["bound"] >= k["objective"]


def test_random_cities_exercise_every_situation() -> None:
    """The factory's cities are varied enough for the properties above to mean something."""
    seen: set[str] = set()
    for seed in range(40):
        tables = random_tables(seed, PROFILES["small"])
        model = reference_model(tables)
        seen.update(f"tie:{a.tie}" for a in model.arcs.values())
        for sup in model.suppliers.values():
            for c in model.communities.values():
                km = haversine(sup.lat, sup.lon, float(c["lat"]), float(c["lon"]))
                seen.add("within 5 km" if km <= 5.0 else "beyond 5 km")
            seen.add(f"{sup.kind} hours {'zero' if sup.hours == 0 else 'some'}")
            if sup.kind == "service":
                seen.add("service: any category" if sup.skills is None else "service: categories")
                seen.add("service: range_km" if sup.radius_km != 5.0 else "service: default radius")
        seen.update("demand hours zero" for d in model.demands.values() if d.hours == 0)
        seen.update(f"priority {d.priority}" for d in model.demands.values())
        cadres = tables["cadres"]
        if "lat" in cadres and cadres["lat"].notna().any():
            seen.add("cadre: own coordinates")
        if "resources" in tables and (tables["resources"]["kind"] == "funds").any():
            seen.add("funds resource")
    assert seen >= {
        *(f"tie:{t}" for t in ("residence", "pairing", "alliance", "proximity")),
        "within 5 km",
        "beyond 5 km",
        "cadre hours zero",
        "service hours zero",
        "service: any category",
        "service: categories",
        "service: range_km",
        "service: default radius",
        "demand hours zero",
        *(f"priority {p}" for p in range(1, 6)),
        "cadre: own coordinates",
        "funds resource",
    }
