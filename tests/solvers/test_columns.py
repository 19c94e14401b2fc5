"""Column generation over implicit arcs gives the plain model's optimum, reasons and counts.

Guards ``flow_solver="columns"`` (:mod:`matcher.solvers.columns`): its objective against an
independent LP and brute force (the reference model of ``factories``, which imports
nothing from ``matcher``), its reasons against the spec's wording and against
:func:`matcher.plans.planner.demand_reasons` over every candidate arc, each arc it reports against
the plain model's arc (tie, distance), and the aggregation it rests on.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import (
    LP_PARAMS,
    PROFILES,
    brute_force_optimum,
    lp_optimum,
    random_tables,
    reference_for,
    reference_model,
    reference_reasons,
)

from matcher.errors import ParameterError
from matcher.inputs.dataset import Dataset, dataset_from_frames, load_dataset
from matcher.inputs.generate import generate
from matcher.model.arcs import build_problem, index_dataset
from matcher.params import PlanParams
from matcher.plans.planner import demand_reasons, plan
from matcher.plans.result import Plan
from matcher.plans.tables import TIMING_KEYS
from matcher.solvers.columns import (
    ColumnResult,
    Duals,
    NotApplicable,
    build_network,
    dual_bound,
    overlap,
    solve_columns,
)
from matcher.solvers.columns.duals import supplier_keys
from matcher.solvers.columns.parallel import parts
from matcher.solvers.columns.pricing import merge_parts, price_groups, price_ties, top
from matcher.solvers.columns.reach import hav_rad, radians
from matcher.solvers.columns.restricted import Master, layout
from matcher.solvers.flow import solve_flow

EXAMPLE = Path(__file__).parents[1] / "data" / "example"
COLUMNS = PlanParams(flow_solver="columns")


def _columns(**kw: object) -> PlanParams:
    return PlanParams(flow_solver="columns", **kw)  # type: ignore[arg-type]


def _same(actual: float, expected: float, slack: float = 0.0) -> None:
    assert abs(actual - expected) <= max(1e-6 * abs(expected), 1e-6) + slack, (actual, expected)


# -- overlap: the north-west corner split ----------------------------------------------


def test_overlap_splits_two_partitions_of_one_line() -> None:
    li, ri, length = overlap(np.array([3, 0, 2, 5]), np.array([1, 4, 0, 5]))
    assert li.tolist() == [0, 0, 2, 3]
    assert ri.tolist() == [0, 1, 1, 3]
    assert length.tolist() == [1, 2, 2, 5]


@pytest.mark.parametrize("seed", range(5))
def test_overlap_keeps_every_piece_whole(seed: int) -> None:
    rng = np.random.default_rng(seed)
    left = rng.integers(0, 6, 40)
    right = rng.multinomial(int(left.sum()), np.ones(25) / 25)
    li, ri, length = overlap(left, right)
    assert np.array_equal(np.bincount(li, weights=length, minlength=40), left)
    assert np.array_equal(np.bincount(ri, weights=length, minlength=25), right)
    assert (length > 0).all()


def test_overlap_refuses_partitions_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="differ"):
        overlap(np.array([2]), np.array([3]))


# -- the aggregated network -------------------------------------------------------------


def _tiny_city() -> Dataset:
    comms = pd.DataFrame(
        {
            "community_id": ["C1", "C2"],
            "name": ["one", "two"],
            "district": ["D", "D"],
            "street": ["S", "S"],
            "lat": [26.08, 26.09],
            "lon": [119.30, 119.30],
            "households": [100, 100],
        }
    )
    units = pd.DataFrame(
        {
            "unit_id": ["U1", "U2"],
            "name": ["u1", "u2"],
            "kind": ["government", "enterprise"],
            "level": ["district", "none"],
            "district": ["D", "D"],
            "lat": [26.085, 26.085],
            "lon": [119.31, 119.31],
        }
    )
    cadres = pd.DataFrame(
        {
            "cadre_id": ["K1", "K2", "K3", "K4", "K5"],
            "unit_id": ["U1", "U1", "U1", "U2", "U1"],
            "skills": ["care", "care", "care;law", "care", "care"],
            "hours": [4, 6, 5, 3, 2],
            "home_community_id": ["C1", "C1", "C1", "C1", "C2"],
        }
    )
    demands = pd.DataFrame(
        {
            "demand_id": ["D1", "D2", "D3", "D4"],
            "community_id": ["C1", "C1", "C2", "C1"],
            "category": ["care", "care", "law", "care"],
            "hours": [5, 7, 4, 0],
            "priority": [3, 3, 2, 3],
        }
    )
    return dataset_from_frames(
        {"communities": comms, "units": units, "cadres": cadres, "demands": demands}
    )


def test_interchangeable_suppliers_share_a_class() -> None:
    """Same place, unit, home and skills: one class; any difference: another."""
    net = build_network(index_dataset(_tiny_city()))
    k1, k2, k3, k4, k5 = net.class_of.tolist()
    assert k1 == k2  # identical cadres
    assert len({k1, k3, k4, k5}) == 4  # skills, unit, home differ
    assert net.class_hours[k1] == 10


def test_groups_are_sites_times_skills() -> None:
    net = build_network(index_dataset(_tiny_city()))
    # Two sites (homes C1 and C2); C1 has care and law, C2 care only.
    assert net.n_groups == 3
    assert sorted(np.diff(net.site_group_ptr).tolist()) == [1, 2]


def test_a_group_only_one_class_reaches_is_that_class() -> None:
    """Care at home C1 is reached by three classes: a node of its own. Law at C1 (only
    K3's class) and care at C2 (only K5's) are not nodes: their arcs leave the class."""
    net = build_network(index_dataset(_tiny_city()))
    lay = layout(net)
    k1, _, k3, _, k5 = net.class_of.tolist()
    assert lay.n_gn == 1 and lay.cell0 == net.n_classes + 1
    site = net.class_site
    node = {
        (int(site[c]), int(net.group_cat[g])): int(lay.group_node[g])
        for g, c in [
            (g, int(net.class_skill_owner[np.flatnonzero(net.class_skill_group == g)[0]]))
            for g in range(net.n_groups)
        ]
    }
    care, law = (int(net.class_skill_cat[i]) for i in net.class_skill_ptr[k3] + np.arange(2))
    assert node[(int(site[k1]), care)] == net.n_classes  # the shared group's node
    assert node[(int(site[k3]), law)] == k3
    assert node[(int(site[k5]), care)] == k5
    # Only the shared group has class -> group arcs: from K1's, K3's and K4's classes.
    assert sorted(net.class_skill_owner[lay.sk_arc].tolist()) == sorted(
        c for c in range(net.n_classes) if site[c] == site[k1]
    )


@pytest.mark.parametrize(
    "overrides", [{}, {"explicit_location_share": 1.0}], ids=["generator", "own-locations"]
)
def test_no_arc_is_brought_in_twice(
    overrides: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: each master used to be solved pricing only its round's arcs, so an
    older arc whose reduced cost turned negative came back as a copy (a third of the arcs
    brought in at generator scale 0.1; with lone groups folded into their classes, 80
    million at scale 1). Every master is now solved over all its arcs."""
    added: list[np.ndarray] = []
    real_add = Master.add

    def recording_add(self: Master, tail: np.ndarray, head: np.ndarray, cost: np.ndarray) -> int:
        added.append(tail * self.ns.n_nodes + head)
        return real_add(self, tail, head, cost)

    ds = dataset_from_frames(generate(scale=0.03, seed=3, **overrides))
    monkeypatch.setattr(Master, "add", recording_add)
    result = solve_columns(index_dataset(ds))
    keys = np.concatenate(added)
    assert result.rounds > 3 and len(keys) == result.columns > 1000
    assert len(np.unique(keys)) == len(keys)


def test_each_site_lists_exactly_the_communities_within_its_radius() -> None:
    """The pricing cache: every (site, community) pair within the radius, and no other.

    Checked against an all-pairs haversine in numpy on a generated city whose sites
    include service resources with their own ranges.
    """
    ds = dataset_from_frames(generate(scale=0.02, seed=5))
    net = build_network(index_dataset(ds))
    lat1, lon1 = np.radians(net.site_lat)[:, None], np.radians(net.site_lon)[:, None]
    lat2, lon2 = np.radians(net.comm_lat)[None, :], np.radians(net.comm_lon)[None, :]
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    assert len(np.unique(net.site_r)) > 1
    for p in range(len(net.site_lat)):
        lo, hi = net.near_ptr[p], net.near_ptr[p + 1]
        want = np.flatnonzero(km[p] <= net.site_r[p])
        got = net.near_comm[lo:hi]
        assert sorted(got.tolist()) == want.tolist()
        assert np.allclose(net.near_km[lo:hi], km[p, got], rtol=0, atol=1e-9)


def _one_unit(lat: float, lon: float) -> pd.DataFrame:
    """Unit U1, a district government office at (lat, lon)."""
    return pd.DataFrame(
        {
            "unit_id": ["U1"],
            "name": ["u1"],
            "kind": ["government"],
            "level": ["district"],
            "district": ["D"],
            "lat": [lat],
            "lon": [lon],
        }
    )


def test_more_communities_than_two_bytes_hold_are_listed_in_four() -> None:
    """Each site lists its communities in two bytes each where the ids fit, in four
    beyond 65,535 communities: same pairs, same plan as the plain model."""
    side = 260  # 67,600 communities, 40 m apart
    lat, lon = np.meshgrid(26.0 + 0.00036 * np.arange(side), 119.0 + 0.0004 * np.arange(side))
    n = side * side
    ids = [f"C{i}" for i in range(n)]
    middle = n // 2 + side // 2
    frames = {
        "communities": pd.DataFrame(
            {
                "community_id": ids,
                "name": ids,
                "district": "D",
                "street": "S",
                "lat": lat.ravel(),
                "lon": lon.ravel(),
                "households": 100,
            }
        ),
        "units": _one_unit(26.0, 119.0),
        "cadres": pd.DataFrame(
            {
                "cadre_id": ["K1", "K2"],
                "unit_id": ["U1", "U1"],
                "skills": ["care", "care"],
                "hours": [30, 30],
                "home_community_id": [ids[middle], ids[-1]],
            }
        ),
        "demands": pd.DataFrame(
            {
                "demand_id": ["D1", "D2", "D3"],
                "community_id": [ids[middle + 3], ids[middle + 3 * side], ids[-2]],
                "category": "care",
                "hours": [20, 25, 40],
                "priority": [3, 5, 4],
            }
        ),
    }
    ds = dataset_from_frames(frames)
    params = PlanParams(max_travel_km=0.2)
    net = build_network(index_dataset(ds, params))
    assert net.near_comm.dtype == np.int32
    from matcher.model.geo import haversine_km

    for p in range(len(net.site_lat)):
        km = haversine_km(
            np.full(n, net.site_lat[p]), np.full(n, net.site_lon[p]), *(net.comm_lat, net.comm_lon)
        )
        got = net.near_comm[net.near_ptr[p] : net.near_ptr[p + 1]]
        assert sorted(got.tolist()) == np.flatnonzero(km <= 0.2).tolist()
    columns = plan(ds, PlanParams(max_travel_km=0.2, flow_solver="columns"))
    assert isinstance(columns.solver, ColumnResult)
    _same(columns.objective, plan(ds, PlanParams(max_travel_km=0.2, flow_solver="arcs")).objective)
    assert columns.kpis["hours_covered"] == 60  # 30 + 30: both cadres fully used


def test_demands_of_one_place_category_and_priority_share_a_cell() -> None:
    """D1 and D2 merge; D4 has no hours and joins no cell."""
    net = build_network(index_dataset(_tiny_city()))
    d1, d2, d3, d4 = net.cell_of.tolist()
    assert d1 == d2 and d3 != d1 and d4 == -1
    assert net.cell_hours[d1] == 12


def test_the_plan_reports_its_rounds_pivots_and_where_the_solve_went() -> None:
    """kpis.column_generation counts the work; the run's timings split the solve."""
    p = plan(_tiny_city(), COLUMNS)
    cg = p.kpis["column_generation"]
    assert cg["rounds"] >= 1 and cg["columns"] >= 1 and cg["pivots"] >= 1
    split = p.timings["solve_simplex"] + p.timings["solve_pricing"]
    assert 0 < split <= p.timings["solve"]


def test_tiny_city_plan_equals_the_plain_plan() -> None:
    """Equal objectives; the cell's hours go to its demands in file order (D1 first)."""
    a, b = plan(_tiny_city()), plan(_tiny_city(), COLUMNS)
    _same(b.objective, a.objective)
    status = b.demand_status.set_index("demand_id")
    assert status["covered_hours"].to_dict() == {"D1": 5, "D2": 7, "D3": 4, "D4": 0}
    used = b.assignments.groupby("supplier_id")["hours"].sum()
    hours = {"K1": 4, "K2": 6, "K3": 5, "K4": 3, "K5": 2}
    assert all(used[k] <= hours[k] for k in used.index) and used.sum() == 16


# -- optimality against independent computations ------------------------------------------

LP_CASES = [(profile, seed, _columns(**kw)) for profile, seed, kw in LP_PARAMS]


@pytest.mark.parametrize(("profile", "seed", "params"), LP_CASES)
def test_objective_and_reasons_equal_the_independent_model(
    profile: str, seed: int, params: PlanParams
) -> None:
    tables = random_tables(seed, PROFILES[profile])
    result = plan(dataset_from_frames(tables), params)
    model = reference_for(tables, params)
    optimum = lp_optimum(model)
    assert isinstance(result.solver, ColumnResult)
    assert result.status == "optimal"
    _same(result.objective, optimum)
    assert result.solver.bound >= optimum - 1e-9
    assert 0.0 <= result.solver.gap <= 1e-6
    assert result.kpis["candidate_arcs"] == len(model.arcs)
    flow = {
        (r.supplier_kind, r.supplier_id, r.demand_id): int(r.hours)
        for r in result.assignments.itertuples()
    }
    assert set(flow) <= set(model.arcs)
    _same(sum(x * model.arcs[k].weight for k, x in flow.items()), optimum)
    for r in result.assignments.itertuples():
        arc = model.arcs[r.supplier_kind, r.supplier_id, r.demand_id]
        assert r.tie == arc.tie
        assert r.km == pytest.approx(arc.km, abs=1e-4)
    want = reference_reasons(model, flow)
    got = dict(zip(result.demand_status["demand_id"], result.demand_status["reason"], strict=True))
    assert got == want


@pytest.mark.parametrize("seed", range(8))
def test_objective_equals_brute_force_on_tiny_instances(seed: int) -> None:
    tables = random_tables(seed, PROFILES["tiny"])
    result = plan(dataset_from_frames(tables), COLUMNS)
    _same(result.objective, brute_force_optimum(reference_model(tables)))


def test_worked_example(tmp_path: Path) -> None:
    result = plan(load_dataset(EXAMPLE / "dataset"), COLUMNS)
    assert round(result.objective, 4) == 139.6961
    want = pd.read_csv(EXAMPLE / "expected" / "assignments.csv", dtype=str, keep_default_na=False)
    got = result.assignments
    key = ["demand_id", "supplier_kind", "supplier_id"]
    want = want.sort_values(key).reset_index(drop=True)
    got = got.sort_values(key).reset_index(drop=True)
    assert got[[*key, "tie"]].astype(str).values.tolist() == want[[*key, "tie"]].values.tolist()
    assert got["hours"].tolist() == want["hours"].astype(int).tolist()
    status = pd.read_csv(EXAMPLE / "expected" / "demand_status.csv", dtype=str)
    got_status = result.demand_status.set_index("demand_id").loc[status["demand_id"]]
    assert got_status["covered_hours"].tolist() == status["covered_hours"].astype(int).tolist()
    assert got_status["reason"].fillna("").tolist() == status["reason"].fillna("").tolist()


# -- city-like data against the plain model ------------------------------------------------

CITY_CASES = [
    ("generator", 0, {}),
    ("own-locations", 1, {"explicit_location_share": 1.0}),
    ("no-homes", 2, {"home_share": 0.0}),
]


@pytest.mark.parametrize(("name", "seed", "overrides"), CITY_CASES, ids=[c[0] for c in CITY_CASES])
@pytest.mark.parametrize("travel_cost", [0.05, 0.9])
def test_city_plan_matches_the_plain_model_arc_by_arc(
    name: str, seed: int, overrides: dict[str, object], travel_cost: float
) -> None:
    """Every reported arc is a plain candidate arc with the same tie and distance; the
    objective is the plain optimum; the reasons are what ``demand_reasons`` decides over
    every plain arc for this flow. A steep travel cost makes far ties score <= 0."""
    ds = dataset_from_frames(generate(scale=0.01, seed=seed, **overrides))
    params = PlanParams(travel_cost_per_km=travel_cost)
    full = build_problem(ds, params)
    plain = solve_flow(full)
    result = solve_columns(index_dataset(ds, params))
    assert result.arcs is not None and result.reasons is not None
    n_d = len(full.demand_ids)
    key_full = full.arcs.supplier * n_d + full.arcs.demand
    key = result.arcs.supplier * n_d + result.arcs.demand
    pos = np.searchsorted(key_full, key)
    assert np.array_equal(key_full[pos], key)
    assert np.array_equal(full.arcs.tie[pos], result.arcs.tie)
    assert np.allclose(full.arcs.km[pos], result.arcs.km, rtol=0, atol=1e-12)
    flow = np.zeros(len(full.arcs), dtype=np.int64)
    flow[pos] = result.flow
    used = np.bincount(full.arcs.supplier, weights=flow, minlength=len(full.suppliers))
    got = np.bincount(full.arcs.demand, weights=flow, minlength=n_d)
    assert (used <= full.suppliers.hours).all() and (got <= full.demand_hours).all()
    _same(result.objective, plain.objective, slack=plain.bound - plain.objective)
    assert result.bound >= plain.objective - 1e-9
    assert result.candidate_arcs == len(full.arcs)
    assert np.array_equal(result.reasons, demand_reasons(full, flow))
    if travel_cost > 0.5:
        assert (result.reasons == "too_far").any()


def test_dual_bound_bounds_the_optimum_for_any_cell_duals() -> None:
    """Weak duality: whatever the cells' duals, the bound is at least the optimum, and
    the optimal duals bring it down to the optimum."""
    ds = dataset_from_frames(generate(scale=0.01, seed=3))
    ix = index_dataset(ds)
    net = build_network(ix)
    optimum = solve_flow(build_problem(ds)).objective
    rng = np.random.default_rng(0)
    for _ in range(4):
        v = rng.uniform(0, 5, net.n_cells)
        assert dual_bound(net, ix.params, v) >= optimum - 1e-6
    result = solve_columns(ix)
    assert optimum - 1e-6 <= result.bound <= optimum + 1e-6 * abs(optimum)


# -- warm start from another plan's marginal values ----------------------------------------


def _changed(tables: dict[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    """A what-if of ``tables``: some demands doubled, a third of the cadres gone, the
    rest at other hours, and one new cadre the base never had."""
    rng = np.random.default_rng(seed)
    t = {k: v.copy() for k, v in tables.items()}
    dem = t["demands"]
    more = rng.random(len(dem)) < 0.5
    dem.loc[more, "hours"] = dem.loc[more, "hours"] * 2
    cad = t["cadres"]
    cad = cad[np.arange(len(cad)) % 3 != 1].copy()
    cad["hours"] = rng.integers(1, 12, len(cad))
    new = cad.iloc[[0]].copy()
    new["cadre_id"] = "NEW-CADRE"
    t["cadres"] = pd.concat([cad, new], ignore_index=True)
    return t


def _optimum(tables: dict[str, pd.DataFrame], params: PlanParams) -> float:
    return lp_optimum(reference_for(tables, params))


@pytest.mark.parametrize(("profile", "seed", "params"), LP_CASES[::3])
def test_a_warm_started_what_if_reaches_the_independent_optimum(
    profile: str, seed: int, params: PlanParams
) -> None:
    tables = random_tables(seed, PROFILES[profile])
    base = plan(dataset_from_frames(tables), params)
    assert base.duals is not None
    changed = _changed(tables, seed)
    result = plan(dataset_from_frames(changed), params, warm_start=base)
    assert result.status == "optimal"
    optimum = _optimum(changed, params)
    _same(result.objective, optimum)
    assert result.solver.bound >= optimum - 1e-9
    # The same dataset from its own values: the same optimum again.
    again = plan(dataset_from_frames(tables), params, warm_start=base.duals)
    _same(again.objective, base.objective)


def test_a_warm_start_that_prices_nothing_in_still_proves_optimality() -> None:
    """Regression: values so high that the first round brings in no arc. That round was
    priced at the start's values, not the master's, so it proves nothing."""
    tables = random_tables(2, PROFILES["small"])
    ds = dataset_from_frames(tables)
    ix = index_dataset(ds, COLUMNS)
    sup = supplier_keys(ix)
    high = Duals(
        supplier=pd.Series(1000.0, index=sup),
        demand=pd.Series(0.0, index=pd.Index(ix.demand_ids)),
    )
    result = solve_columns(ix, warm_start=high)
    assert result.rounds >= 2
    _same(result.objective, _optimum(tables, COLUMNS))


@pytest.mark.parametrize("seed", [0, 5])
def test_duals_are_the_marginal_values_of_the_optimum(seed: int) -> None:
    """Checked against the plain model's arcs and the independent LP optimum: every arc
    between a supplier and a demand with hours is dual feasible (u + v >= w), every arc
    with hours is tight, a supplier with hours left is worth 0, so is a demand left short,
    and the dual objective is the optimum."""
    tables = random_tables(seed, PROFILES["dense"])
    result = plan(dataset_from_frames(tables), COLUMNS)
    duals = result.duals
    assert duals is not None
    u, v = duals.supplier, duals.demand
    assert (u >= 0).all() and (v >= 0).all()
    model = reference_model(tables)
    tol = 2.0 / COLUMNS.cost_scale  # integer costs: each within one unit of its score
    for (kind, sid, did), arc in model.arcs.items():
        if model.suppliers[kind, sid].hours > 0 and model.demands[did].hours > 0:
            assert u[kind, sid] + v[did] >= arc.weight - tol
    for r in result.assignments.itertuples():
        arc = model.arcs[r.supplier_kind, r.supplier_id, r.demand_id]
        assert u[r.supplier_kind, r.supplier_id] + v[r.demand_id] == pytest.approx(
            arc.weight, abs=tol
        )
    used = result.assignments.groupby(["supplier_kind", "supplier_id"])["hours"].sum()
    for key, s in model.suppliers.items():
        if used.get(key, 0) < s.hours:
            assert u[key] == 0
    got = result.demand_status.set_index("demand_id")["covered_hours"]
    for did, d in model.demands.items():
        if got[did] < d.hours:
            assert v[did] == 0
    dual = sum(s.hours * u[k] for k, s in model.suppliers.items())
    dual += sum(d.hours * v[k] for k, d in model.demands.items())
    hours = sum(s.hours for s in model.suppliers.values())
    assert dual == pytest.approx(lp_optimum(model), abs=tol * hours + 1e-6)


def test_a_warm_started_plan_is_the_same_each_time(tmp_path: Path) -> None:
    ds = dataset_from_frames(generate(scale=0.01, seed=4))
    base = plan(ds, COLUMNS)
    changed = dataset_from_frames(_changed(generate(scale=0.01, seed=4), 4))
    one = _written(plan(changed, COLUMNS, warm_start=base), tmp_path / "one")
    two = _written(plan(changed, COLUMNS, warm_start=base), tmp_path / "two")
    assert one[:2] == two[:2]


def test_the_plain_model_has_no_duals_and_ignores_a_warm_start() -> None:
    base = plan(_tiny_city(), COLUMNS)
    assert base.duals is not None
    plain = plan(_tiny_city(), warm_start=base)
    assert plain.duals is None
    _same(plain.objective, base.objective)


def test_duals_refuse_what_is_not_a_series_of_finite_numbers() -> None:
    ok = pd.Series([1.0])
    with pytest.raises(TypeError, match="supplier"):
        Duals(supplier=[1.0], demand=ok)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="demand"):
        Duals(supplier=ok, demand=pd.Series([np.nan]))
    with pytest.raises(ValueError, match="supplier"):
        Duals(supplier=pd.Series(["a lot"]), demand=ok)


# -- pricing in parts --------------------------------------------------------------------


@pytest.mark.parametrize("n_parts", [1, 2, 5, 16])
def test_parts_cover_the_range_in_order(n_parts: int) -> None:
    work = np.random.default_rng(n_parts).integers(0, 50, 101)
    bounds = parts(work, n_parts)
    assert len(bounds) == n_parts + 1 and bounds[0] == 0 and bounds[-1] == len(work)
    assert (np.diff(bounds) >= 0).all()
    # No part holds much more than its share (one item's work at most above it).
    share = [work[a:b].sum() for a, b in itertools.pairwise(bounds)]
    assert max(share) <= work.sum() / n_parts + work.max()


def test_pricing_in_parts_keeps_what_one_pass_keeps() -> None:
    """Whatever the split, each group and class keeps the same most negative arcs as one
    pass over everything, and each cell the same reduced costs (ties may pick other
    groups)."""
    ix = index_dataset(dataset_from_frames(generate(scale=0.02, seed=5)))
    net = build_network(ix)
    pw, tc, scale = 1.0, 0.05, 1e6
    n_c, n_g, n_e = net.n_classes, net.n_groups, net.n_cells
    rng = np.random.default_rng(1)
    pi_class = rng.integers(0, 2_000_000, n_c)
    pi_group = rng.integers(0, 2_000_000, n_g)
    pi_cell = rng.integers(0, 6_000_000, n_e)
    a_kg = np.full(len(net.kg_cell_ptr) - 1, -np.inf)
    np.maximum.at(a_kg, net.cell_kg, pw * net.cell_prio * scale + pi_cell)
    a_comm = a_kg.reshape(-1, net.n_cat).max(axis=1)
    near = (net.near_ptr, net.near_comm, net.near_km, net.n_cat, net.kg_cell_ptr, net.kg_cells)
    group_args: tuple[Any, ...] = (net.site_group_ptr, net.group_cat, pi_group, *near)
    group_args += (net.cell_prio, pi_cell, a_kg, a_comm, pw, tc, scale)
    tie_args: tuple[Any, ...] = (net.tie_ptr, net.tie_comm, net.tie_km, net.class_skill_ptr)
    tie_args += (net.class_skill_cat, pi_class, net.n_cat, net.kg_cell_ptr, net.kg_cells)
    tie_args += (net.cell_prio, pi_cell, a_kg, pw, tc, scale)

    def price(k: int) -> tuple[tuple[np.ndarray, ...], ...]:
        top_g, top_e, top_c = top(n_g, 3), top(n_e, 4), top(n_c, 3)
        parts_e = top(n_e, 4, n_parts=k)
        price_groups(parts(np.diff(net.near_ptr), k), *group_args, *top_g, *parts_e)
        merge_parts(*parts_e, *top_e)
        price_ties(parts(np.diff(net.tie_ptr), k), *tie_args, *top_c)
        return top_g, top_e, top_c

    one_g, one_e, one_c = price(1)
    assert (one_g[1] >= 0).sum() > 100 and (one_c[1] >= 0).sum() > 100
    assert (one_e[1] >= 0).sum() > 100
    for k in (3, 16):
        top_g, top_e, top_c = price(k)
        for a, b in [*zip(top_g, one_g, strict=True), *zip(top_c, one_c, strict=True)]:
            assert np.array_equal(a, b)
        assert np.array_equal(np.sort(top_e[0], axis=1), np.sort(one_e[0], axis=1))


def test_the_plan_does_not_depend_on_the_number_of_threads(tmp_path: Path) -> None:
    """Pricing runs in parallel over a fixed number of parts, not one per thread."""
    import numba

    ds = dataset_from_frames(generate(scale=0.02, seed=6))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _written(plan(ds, COLUMNS), tmp_path / "one")
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = _written(plan(ds, COLUMNS), tmp_path / "many")
    finally:
        numba.set_num_threads(before)
    assert one == many


# -- determinism and fallbacks --------------------------------------------------------------


def _written(result: Plan, out: Path) -> tuple[bytes, bytes, dict[str, object]]:
    result.write(out)
    kpis = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    for key in TIMING_KEYS:
        kpis.pop(key, None)
    return (out / "assignments.csv").read_bytes(), (out / "demand_status.csv").read_bytes(), kpis


def test_two_runs_write_identical_tables(tmp_path: Path) -> None:
    ds = dataset_from_frames(generate(scale=0.01, seed=4))
    first = _written(plan(ds, COLUMNS), tmp_path / "a")
    second = _written(plan(ds, COLUMNS), tmp_path / "b")
    assert first == second
    assert first[0].count(b"\n") > 100


def test_a_dataset_wider_than_the_grid_falls_back_to_the_plain_model() -> None:
    tables = random_tables(3, PROFILES["small"])
    comms = tables["communities"].copy()
    comms.loc[comms.index[0], "lat"] = 70.0  # 44 degrees north of the rest
    tables["communities"] = comms
    ds = dataset_from_frames(tables)
    with pytest.raises(NotApplicable):
        solve_columns(index_dataset(ds))
    result = plan(ds, COLUMNS)
    assert not isinstance(result.solver, ColumnResult)
    _same(result.objective, plan(ds).objective)


def test_pairs_on_the_radius_are_decided_by_the_plain_models_distance() -> None:
    """With a zero radius every cadre at its home community is exactly on the radius:
    the plain model's distance decides those pairs, and the columns solver still runs."""
    ds = _tiny_city()
    params = PlanParams(max_travel_km=0.0)
    net = build_network(index_dataset(ds, params))
    assert net.border > 0
    result = plan(ds, PlanParams(max_travel_km=0.0, flow_solver="columns"))
    assert isinstance(result.solver, ColumnResult)
    _same(result.objective, plan(ds, params).objective)


def _a_pair_the_distances_disagree_on() -> tuple[np.ndarray, float]:
    """Two points (lat, lon, lat, lon) whose compiled haversine exceeds numpy's, and
    numpy's distance; on a machine where the two always agree, two points and their
    common distance."""
    import numba

    from matcher.model.geo import haversine_km

    @numba.njit
    def compiled(pts: np.ndarray) -> np.ndarray:
        p1, l1, c1 = radians(pts[:, 0].copy(), pts[:, 1].copy())
        p2, l2, c2 = radians(pts[:, 2].copy(), pts[:, 3].copy())
        out = np.empty(len(pts))
        for i in range(len(pts)):
            out[i] = hav_rad(p1[i], l1[i], c1[i], p2[i], l2[i], c2[i])
        return out

    # 0.5 degrees apart at most: here about 1 pair in 2,000 differs in its last bit.
    rng = np.random.default_rng(11)
    pts = 0.5 * rng.random((200_000, 4)) + np.array([26.0, 119.0, 26.0, 119.0])
    exact = haversine_km(pts[:, 0], pts[:, 1], pts[:, 2], pts[:, 3])
    above = np.flatnonzero(compiled(pts) > exact)
    i = int(above[0]) if len(above) else 0
    return pts[i], float(exact[i])


def _one_cadre_one_demand(pt: np.ndarray, paired: bool) -> Dataset:
    """A cadre standing at ``pt[:2]`` and a community at ``pt[2:]`` that needs 5 hours
    of care; the cadre's unit is paired with it or not."""
    frames = {
        "communities": pd.DataFrame(
            {
                "community_id": ["C1"],
                "name": ["one"],
                "district": ["D"],
                "street": ["S"],
                "lat": [pt[2]],
                "lon": [pt[3]],
                "households": [100],
            }
        ),
        "units": _one_unit(pt[0], pt[1]),
        "cadres": pd.DataFrame(
            {
                "cadre_id": ["K1"],
                "unit_id": ["U1"],
                "skills": ["care"],
                "hours": [5],
                "lat": [pt[0]],
                "lon": [pt[1]],
            }
        ),
        "demands": pd.DataFrame(
            {
                "demand_id": ["D1"],
                "community_id": ["C1"],
                "category": ["care"],
                "hours": [5],
                "priority": [3],
            }
        ),
    }
    if paired:
        frames["pairings"] = pd.DataFrame({"unit_id": ["U1"], "community_id": ["C1"]})
    return dataset_from_frames(frames)


@pytest.mark.parametrize("paired", [False, True], ids=["proximity", "paired"])
@pytest.mark.parametrize("numpy_says", ["within", "beyond"])
def test_a_pair_on_the_radius_is_decided_by_the_plain_models_distance(
    numpy_says: str, paired: bool
) -> None:
    """Regression: a pair within 1e-9 of a radius used to send the whole plan to the
    plain model (at city scale with cadres at coordinates of their own, about every
    other dataset: 19 GB and minutes instead of 1 GB). The compiled haversine and
    numpy's differ in the last bits, so such a pair is decided by numpy's, as the plain
    model decides it. With the radius at numpy's distance, the compiled distance alone
    would put the pair beyond it. A paired community is reached either way, through the
    site's list when within the radius, else through the class's ties: never both."""
    pt, km = _a_pair_the_distances_disagree_on()
    radius = km if numpy_says == "within" else float(np.nextafter(km, 0.0))
    ds = _one_cadre_one_demand(pt, paired)
    net = build_network(index_dataset(ds, PlanParams(max_travel_km=radius)))
    assert net.border == 1 + paired
    assert net.near_comm.tolist() == ([0] if numpy_says == "within" else [])
    assert net.tie_comm.tolist() == ([0] if paired and numpy_says == "beyond" else [])
    columns = plan(ds, PlanParams(max_travel_km=radius, flow_solver="columns"))
    arcs = plan(ds, PlanParams(max_travel_km=radius, flow_solver="arcs"))
    assert isinstance(columns.solver, ColumnResult)
    covered = 5 if paired or numpy_says == "within" else 0
    assert columns.kpis["hours_covered"] == arcs.kpis["hours_covered"] == covered
    _same(columns.objective, arcs.objective)


def test_integer_rules_always_use_the_arcs() -> None:
    params = PlanParams(flow_solver="columns", max_communities_per_cadre=1)
    result = plan(_tiny_city(), params)
    assert not isinstance(result.solver, ColumnResult)
    _same(result.objective, plan(_tiny_city(), PlanParams(max_communities_per_cadre=1)).objective)


def test_an_unknown_flow_solver_is_refused() -> None:
    with pytest.raises(ParameterError, match="flow_solver"):
        PlanParams(flow_solver="simplex")


def test_auto_uses_columns_from_the_supplier_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """``flow_solver="auto"`` (the default): the arcs for small datasets, columns for
    large ones; either way the same optimum."""
    small = plan(_tiny_city())
    assert not isinstance(small.solver, ColumnResult)
    monkeypatch.setattr(sys.modules["matcher.plans.planner"], "AUTO_COLUMNS_SUPPLIERS", 5)
    large = plan(_tiny_city())
    assert isinstance(large.solver, ColumnResult)
    _same(large.objective, small.objective)
    assert isinstance(plan(_tiny_city(), PlanParams(flow_solver="arcs")).solver, type(small.solver))
