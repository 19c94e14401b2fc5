"""Who may serve whom: each tie rule of ``matcher.model.arcs`` on its own, and the arcs
whole.

Guards the spec's section "Who may serve whom": the four ties and their precedence
(residence > pairing > alliance > proximity), where a supplier stands (own coordinates >
home community > unit), services (at their unit, categories as skills, empty = any, ties
2-4 only, ``range_km`` replacing ``max_travel_km``), the inclusive radius edge, alliances
on a (district, street) no community has, zero-hour suppliers and demands, and the score
of an hour. The hand-made datasets live in ``tests/data/ties/`` (see its README); random
cities are checked arc for arc against the pure-Python reference in ``factories.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import PROFILES, haversine, random_tables, reference_for, reference_model

from matcher.inputs.dataset import Dataset, dataset_from_frames, load_dataset
from matcher.model.arcs import Problem, build_problem, hour_score, skill_arcs
from matcher.model.geo import haversine_km
from matcher.model.suppliers import SUPPLIER_KINDS, supplier_locations
from matcher.model.ties import (
    ALLIANCE,
    PAIRING,
    PROXIMITY,
    RESIDENCE,
    TIES,
    alliance_communities,
    alliance_tie,
    first_ties,
    pairing_tie,
    proximity_tie,
    residence_tie,
)
from matcher.params import PlanParams
from matcher.plans.planner import plan

TIES_DIR = Path(__file__).parents[1] / "data" / "ties"
EXAMPLE_DIR = Path(__file__).parents[1] / "data" / "example" / "dataset"


def _load(name: str) -> Dataset:
    return load_dataset(TIES_DIR / name)


def _arc_ties(problem: Problem) -> dict[tuple[str, str, str], str]:
    """The problem's arcs as ``{(supplier_kind, supplier_id, demand_id): tie}``."""
    a, s = problem.arcs, problem.suppliers
    out = {
        (SUPPLIER_KINDS[s.kind[i]], str(s.ids[i]), str(problem.demand_ids[d])): TIES[t]
        for i, d, t in zip(a.supplier, a.demand, a.tie, strict=True)
    }
    assert len(out) == len(a), "an arc appears twice"
    return out


def _pairs(problem: Problem, sup: np.ndarray, comm: np.ndarray) -> set[tuple[str, str]]:
    """Supplier-community index pairs as ``{(supplier_id, community_id)}``."""
    return {
        (str(problem.suppliers.ids[i]), str(problem.community_ids[c]))
        for i, c in zip(sup, comm, strict=True)
    }


def _index_of(ids: np.ndarray) -> dict[str, int]:
    return {str(v): i for i, v in enumerate(ids)}


# -- supplier_locations -------------------------------------------------------------------


def test_supplier_locations_own_coordinates_then_home_then_unit() -> None:
    ds = _load("precedence")
    c_lat, c_lon, s_lat, s_lon = supplier_locations(ds)
    comms = ds.communities.set_index("community_id")
    units = ds.units.set_index("unit_id")
    cadres = ds.cadres.set_index("cadre_id")
    where = {cid: (c_lat[i], c_lon[i]) for i, cid in enumerate(cadres.index)}
    # K-OWN lives in C-HOME but gives its own coordinates: those win.
    assert where["K-OWN"] == (26.195, 119.3)
    # A home and no coordinates: the home community.
    assert where["K-RES"] == tuple(comms.loc["C-HOME", ["lat", "lon"]])
    assert where["K-HOMEONLY"] == tuple(comms.loc["C-FAR", ["lat", "lon"]])
    # Neither: the unit.
    assert where["K-PAIR"] == tuple(units.loc["U-PAIR", ["lat", "lon"]])
    assert where["K-FAR"] == tuple(units.loc["U-FAR", ["lat", "lon"]])
    # Service resources stand at their unit; the funds resource is no supplier.
    assert list(zip(s_lat, s_lon, strict=True)) == [
        tuple(units.loc[u, ["lat", "lon"]]) for u in ("U-NEAR", "U-FAR", "U-ALLY")
    ]


def test_supplier_locations_without_coordinate_columns() -> None:
    ds = load_dataset(EXAMPLE_DIR)
    cadres = ds.tables()["cadres"].drop(columns=["lat", "lon"])
    c_lat, c_lon, _, _ = supplier_locations(ds.replace(cadres=cadres))
    # K3 loses its own coordinates and falls back to its unit, U-MUNI.
    assert (c_lat[2], c_lon[2]) == (26.08, 119.296)


# -- residence_tie ------------------------------------------------------------------------


def test_residence_tie_only_cadres_with_a_home() -> None:
    p = build_problem(_load("precedence"))
    assert _pairs(p, *residence_tie(p.suppliers)) == {
        ("K-RES", "C-HOME"),
        ("K-OWN", "C-HOME"),  # standing elsewhere does not end residence
        ("K-HOMEONLY", "C-FAR"),
    }


# -- pairing_tie --------------------------------------------------------------------------


def test_pairing_tie_reaches_every_supplier_of_the_paired_unit() -> None:
    ds = _load("precedence")
    p = build_problem(ds)
    units, comms = _index_of(p.unit_ids), _index_of(p.community_ids)
    pair_unit = np.array([units[u] for u in ds.pairings["unit_id"]], dtype=np.int64)
    pair_comm = np.array([comms[c] for c in ds.pairings["community_id"]], dtype=np.int64)
    got = _pairs(p, *pairing_tie(p.suppliers, pair_unit, pair_comm, len(p.unit_ids)))
    assert got == {("K-RES", "C-HOME"), ("K-PAIR", "C-HOME")}


def test_pairing_tie_reaches_services_too() -> None:
    ds = load_dataset(EXAMPLE_DIR)
    pairings = pd.DataFrame({"unit_id": ["U-JCY"], "community_id": ["C-CANGXIA"]})
    p = build_problem(ds.replace(pairings=pairings))
    units, comms = _index_of(p.unit_ids), _index_of(p.community_ids)
    got = _pairs(
        p,
        *pairing_tie(
            p.suppliers,
            np.array([units["U-JCY"]]),
            np.array([comms["C-CANGXIA"]]),
            len(p.unit_ids),
        ),
    )
    assert got == {("K4", "C-CANGXIA"), ("K5", "C-CANGXIA"), ("R1", "C-CANGXIA")}


# -- alliance_tie -------------------------------------------------------------------------


def test_alliance_tie_matches_district_and_street_together() -> None:
    p = build_problem(_load("precedence"))
    # One alliance (place 0) on Dongjie, whose members are U-PAIR and U-ALLY.
    units = _index_of(p.unit_ids)
    member_unit = np.array([units["U-PAIR"], units["U-ALLY"]], dtype=np.int64)
    comm_place = np.array([0, 1], dtype=np.int64)  # C-HOME on Dongjie, C-FAR on Nanjie
    au, ac = alliance_communities(
        np.array([0, 0]), member_unit, np.array([0]), comm_place, len(p.unit_ids)
    )
    got = _pairs(p, *alliance_tie(p.suppliers, au, ac, len(p.unit_ids)))
    assert got == {
        ("K-RES", "C-HOME"),
        ("K-PAIR", "C-HOME"),
        ("K-ALLY", "C-HOME"),
        ("R-ANY", "C-HOME"),
    }


def test_alliance_on_a_street_no_community_has_covers_nothing() -> None:
    ds = _load("alliance_nowhere")
    # Loading warns about the two idle alliances, and keeps the dataset.
    assert len(ds.warnings) == 2
    p = build_problem(ds)
    # U1's alliances: (Gulou, Nanjie) mixes one community's district with another's
    # street, (Cangshan, Ghost street) has no community. U2 is also in the real one.
    assert _arc_ties(p) == {("cadre", "K2", "D2"): "alliance"}


def test_alliance_communities_pairs_are_unique() -> None:
    # Unit 0 is in two alliances of the same place: one pair, not two.
    au, ac = alliance_communities(
        member_alliance=np.array([0, 1, 1]),
        member_unit=np.array([0, 0, 1]),
        alliance_place=np.array([0, 0]),
        community_place=np.array([0, 1, 0]),
        n_units=2,
    )
    assert sorted(zip(au.tolist(), ac.tolist(), strict=True)) == [(0, 0), (0, 2), (1, 0), (1, 2)]


# -- proximity_tie ------------------------------------------------------------------------


def test_proximity_tie_uses_each_suppliers_radius() -> None:
    p = build_problem(_load("precedence"))
    got = _pairs(p, *proximity_tie(p.suppliers, p.community_lat, p.community_lon))
    assert got == {
        ("K-RES", "C-HOME"),  # 0 km, at home
        ("K-PAIR", "C-HOME"),  # 0.56 km
        ("K-ALLY", "C-HOME"),  # 1.1 km
        ("K-NEAR", "C-HOME"),  # 1.7 km
        ("K-OWN", "C-FAR"),  # 0.56 km from its own coordinates
        ("K-HOMEONLY", "C-FAR"),  # 0 km, at home
        ("R-WIDE", "C-FAR"),  # 11.1 km, within its range_km of 12 (beyond 5)
        ("R-ANY", "C-HOME"),  # 1.1 km, no range_km: the default 5 km
        # R-RANGE stands 1.7 km from C-HOME but its range_km is 1.0: no tie.
    }
    assert not any(s == "R-RANGE" for s, _ in got)


def _edge_km(ds: Dataset) -> float:
    """The project's distance from U1 to C1 in the radius_edge dataset."""
    u, c = ds.units.iloc[0], ds.communities.iloc[0]
    km = float(
        haversine_km(np.array([u.lat]), np.array([u.lon]), np.array([c.lat]), np.array([c.lon]))[0]
    )
    assert km == pytest.approx(haversine(u.lat, u.lon, c.lat, c.lon), abs=1e-9)
    return km


def test_community_exactly_at_the_radius_edge_is_within() -> None:
    ds = _load("radius_edge")
    km = _edge_km(ds)
    assert 5.0 < km < 5.01
    # The default 5 km falls just short.
    assert _arc_ties(build_problem(ds)) == {}
    # Exactly at the radius: "at most max_travel_km" holds, for the cadre and the service.
    at_edge = build_problem(ds, PlanParams(max_travel_km=km))
    assert _arc_ties(at_edge) == {
        ("cadre", "K1", "D1"): "proximity",
        ("service", "S1", "D1"): "proximity",
    }
    assert at_edge.arcs.km.tolist() == [km, km]
    # One ulp inside the distance: no tie.
    below = PlanParams(max_travel_km=float(np.nextafter(km, 0.0)))
    assert _arc_ties(build_problem(ds, below)) == {}


def test_service_range_km_exactly_at_the_edge_is_within() -> None:
    ds = _load("radius_edge")
    km = _edge_km(ds)
    res = ds.resources
    res["range_km"] = [km]
    assert _arc_ties(build_problem(ds.replace(resources=res))) == {
        ("service", "S1", "D1"): "proximity"
    }
    res["range_km"] = [float(np.nextafter(km, 0.0))]
    assert _arc_ties(build_problem(ds.replace(resources=res))) == {}


def test_service_range_km_replaces_max_travel_km_both_ways() -> None:
    ds = _load("precedence")
    # A huge max_travel_km does not widen R-RANGE's 1 km, nor R-WIDE's 12 km.
    ties = _arc_ties(build_problem(ds, PlanParams(max_travel_km=100.0)))
    assert not any(sid == "R-RANGE" for _, sid, _ in ties)
    assert ("service", "R-WIDE", "D-HOME-EC") not in ties  # 24.5 km > 12
    assert ties["cadre", "K-FAR", "D-HOME-EC"] == "proximity"  # cadres use the 100 km


# -- first_ties ---------------------------------------------------------------------------


def test_first_ties_keeps_the_earliest_rule_in_spec_order() -> None:
    i = np.array
    rules = [
        (i([0]), i([0])),  # residence: supplier 0 - community 0
        (i([0, 1, 2]), i([0, 0, 1])),  # pairing
        (i([1, 2, 3]), i([0, 1, 1])),  # alliance
        (i([3, 0, 1, 2, 4, 0]), i([1, 0, 0, 1, 0, 1])),  # proximity
    ]
    sup, comm, tie = first_ties(rules, n_communities=2)
    got = list(zip(sup.tolist(), comm.tolist(), tie.tolist(), strict=True))
    assert got == [
        (0, 0, RESIDENCE),  # residence beats pairing and proximity
        (0, 1, PROXIMITY),
        (1, 0, PAIRING),  # pairing beats alliance and proximity
        (2, 1, PAIRING),
        (3, 1, ALLIANCE),  # alliance beats proximity
        (4, 0, PROXIMITY),
    ]
    assert [TIES[t] for t in (RESIDENCE, PAIRING, ALLIANCE, PROXIMITY)] == [
        "residence",
        "pairing",
        "alliance",
        "proximity",
    ]


def test_first_ties_with_no_pairs() -> None:
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    sup, comm, tie = first_ties([empty] * 4, n_communities=3)
    assert len(sup) == len(comm) == len(tie) == 0


def test_tie_precedence_on_the_precedence_dataset() -> None:
    ds = _load("precedence")
    expected = pd.read_csv(TIES_DIR / "precedence.expected_arcs.csv", dtype=str)
    want = {(r.supplier_kind, r.supplier_id, r.demand_id): r.tie for r in expected.itertuples()}
    assert _arc_ties(build_problem(ds)) == want
    # The reference model, which the random tests trust, agrees on the hand-made case.
    assert {k: a.tie for k, a in reference_model(ds.tables()).arcs.items()} == want


# -- skill_arcs ---------------------------------------------------------------------------


def test_skill_arcs_match_category_and_empty_categories_serve_any() -> None:
    p = build_problem(_load("precedence"))
    s = p.suppliers
    ids = _index_of(s.ids)
    comms = _index_of(p.community_ids)
    sup = np.array([ids["K-PAIR"], ids["R-ANY"], ids["R-ANY"]], dtype=np.int64)
    comm = np.array([comms["C-HOME"], comms["C-HOME"], comms["C-FAR"]], dtype=np.int64)
    pair, dem = skill_arcs(s, sup, comm, p.demand_community, p.demand_category, len(p.categories))
    got = [(str(s.ids[sup[k]]), str(p.demand_ids[d])) for k, d in zip(pair, dem, strict=True)]
    assert got == [
        ("K-PAIR", "D-HOME-EC"),  # elderly care only: not legal aid
        ("R-ANY", "D-HOME-EC"),  # no categories: every category
        ("R-ANY", "D-HOME-LA"),
        ("R-ANY", "D-FAR-EC"),
    ]


def test_skill_arcs_community_without_demands_gives_none() -> None:
    ds = load_dataset(EXAMPLE_DIR)
    comms = pd.concat(
        [
            ds.communities,
            pd.DataFrame(
                [
                    {
                        "community_id": "C-EMPTY",
                        "name": "No demands",
                        "district": "Gulou",
                        "street": "Dongjie",
                        "lat": 26.087,
                        "lon": 119.301,
                        "households": 10,
                    }
                ]
            ),
        ]
    )
    p = build_problem(ds.replace(communities=comms))
    empty = _index_of(p.community_ids)["C-EMPTY"]
    # Every supplier tied to the empty community (the last index, beyond any demand's).
    sup = np.arange(len(p.suppliers), dtype=np.int64)
    pair, dem = skill_arcs(
        p.suppliers,
        sup,
        np.full(len(sup), empty),
        p.demand_community,
        p.demand_category,
        len(p.categories),
    )
    assert len(pair) == len(dem) == 0


def test_arcs_sorted_by_supplier_then_community_then_demand() -> None:
    """Regression: arcs followed the supplier's skill order, not the documented order."""
    tables = random_tables(0)
    tables["cadres"] = pd.DataFrame(
        [
            {
                "cadre_id": "K",
                "unit_id": tables["units"]["unit_id"].iloc[0],
                "skills": "parking;legal_aid",
                "hours": 5,
                "home_community_id": "C00",
            }
        ]
    )
    tables["demands"] = pd.DataFrame(
        [
            {
                "demand_id": "D1",
                "community_id": "C00",
                "category": "legal_aid",
                "hours": 1,
                "priority": 1,
            },
            {
                "demand_id": "D2",
                "community_id": "C00",
                "category": "parking",
                "hours": 1,
                "priority": 1,
            },
        ]
    )
    tables.pop("resources", None)
    p = build_problem(dataset_from_frames(tables))
    assert [str(p.demand_ids[d]) for d in p.arcs.demand[p.arcs.supplier == 0]] == ["D1", "D2"]
    for seed in range(10):
        p = build_problem(dataset_from_frames(random_tables(seed, PROFILES["dense"])))
        a = p.arcs
        key = np.lexsort((a.demand, p.demand_community[a.demand], a.supplier))
        assert (key == np.arange(len(a))).all()


# -- hour_score ---------------------------------------------------------------------------


def test_hour_score_is_priority_less_travel_cost() -> None:
    prio = np.array([5, 1, 3])
    km = np.array([0.0, 30.0, 10.0])
    assert hour_score(prio, km, PlanParams()).tolist() == pytest.approx([5.0, -0.5, 2.5])
    heavy = PlanParams(priority_weight=2.0, travel_cost_per_km=0.1)
    assert hour_score(prio, km, heavy).tolist() == pytest.approx([10.0, -1.0, 5.0])
    # The example's K1 -> D2 arc: priority 3 at 3.7253 km.
    p = build_problem(load_dataset(EXAMPLE_DIR))
    k = next(
        i
        for i in range(len(p.arcs))
        if p.suppliers.ids[p.arcs.supplier[i]] == "K1" and p.demand_ids[p.arcs.demand[i]] == "D2"
    )
    assert p.arcs.weight[k] == pytest.approx(3 - 0.05 * 3.7252981832, abs=1e-9)


# -- zero hours ---------------------------------------------------------------------------


def test_zero_hour_suppliers_and_demands_keep_their_arcs_but_carry_nothing() -> None:
    ds = _load("zero_hours")
    assert _arc_ties(build_problem(ds)) == {
        ("cadre", "K0", "D0"): "pairing",
        ("cadre", "K0", "D1"): "pairing",
        ("cadre", "K5", "D2"): "pairing",
        ("service", "S0", "D0"): "pairing",
        ("service", "S0", "D1"): "pairing",
    }
    result = plan(ds)
    assert result.assignments[["supplier_id", "demand_id", "hours"]].values.tolist() == [
        ["K5", "D2", 3]
    ]
    st = result.demand_status.set_index("demand_id")
    assert st.loc["D0", ["covered_hours", "status", "reason"]].tolist() == [0, "met", ""]
    # Tied suppliers exist (no_eligible_supplier is wrong), all their 0 hours went to D1.
    assert st.loc["D1", ["covered_hours", "status", "reason"]].tolist() == [
        0,
        "unmet",
        "supply_short",
    ]
    assert st.loc["D2", ["covered_hours", "status", "reason"]].tolist() == [3, "met", ""]


# -- the whole: random cities against the reference model ------------------------------

RANDOM_CASES = [("small", s, PlanParams()) for s in range(20)] + [
    ("dense", 0, PlanParams()),
    ("dense", 1, PlanParams(max_travel_km=2.0)),
    ("small", 100, PlanParams(max_travel_km=0.0)),
    ("small", 101, PlanParams(max_travel_km=12.0, travel_cost_per_km=0.5)),
    ("small", 102, PlanParams(max_travel_km=3.0, priority_weight=2.0)),
]


@pytest.mark.parametrize(("profile", "seed", "params"), RANDOM_CASES)
def test_arcs_and_first_ties_match_the_reference(
    profile: str, seed: int, params: PlanParams
) -> None:
    tables = random_tables(seed, PROFILES[profile])
    p = build_problem(dataset_from_frames(tables), params)
    ref = reference_for(tables, params)
    assert _arc_ties(p) == {k: a.tie for k, a in ref.arcs.items()}
    got = {
        k: (float(km), float(w))
        for k, km, w in zip(_arc_ties(p), p.arcs.km, p.arcs.weight, strict=True)
    }
    for key, arc in ref.arcs.items():
        assert got[key] == pytest.approx((arc.km, arc.weight), abs=1e-9)
