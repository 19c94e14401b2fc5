"""Integer rules: each rule and combinations against brute-force enumeration, bounds,
diagnoses of contradictions, and the flow's plan when no rule applies.

The enumeration works on the independent reference model of ``factories`` (built from
the spec alone) and tries every whole-hour plan, checking each rule as the spec states
it; the planner's objective must equal the best plan found.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import PROFILES, Key, ReferenceModel, random_tables, reference_model
from scipy.optimize import linprog

import matcher
from matcher.errors import InfeasibleError
from matcher.inputs.dataset import dataset_from_frames, load_dataset
from matcher.params import PlanParams

RULES_PROFILE = dataclasses.replace(
    PROFILES["tiny"], cadres=(2, 3), services=(0, 1), categories=(1, 1), demands=(2, 3)
)
MAX_ARCS = 8


def _instances(n: int, start: int = 0) -> list[int]:
    """Seeds whose reference model has 2..MAX_ARCS arcs (small enough to enumerate)."""
    seeds = []
    seed = start
    while len(seeds) < n:
        model = reference_model(random_tables(seed, RULES_PROFILE))
        if 2 <= len(model.arcs) <= MAX_ARCS:
            seeds.append(seed)
        seed += 1
    return seeds


Check = Callable[[Mapping[Key, int]], bool]


def brute_force(model: ReferenceModel, check: Check, positive_only: bool = True) -> float | None:
    """Best objective over every whole-hour plan that passes ``check`` (None if none)."""
    keys = [k for k, a in model.arcs.items() if a.weight > 0 or not positive_only]
    sup_left = {k: s.hours for k, s in model.suppliers.items()}
    dem_left = {k: d.hours for k, d in model.demands.items()}
    best: float | None = None
    plan: dict[Key, int] = {}

    def visit(j: int, value: float) -> None:
        nonlocal best
        if j == len(keys):
            if check(plan) and (best is None or value > best + 1e-12):
                best = value
            return
        kind, sid, did = keys[j]
        w = model.arcs[keys[j]].weight
        for x in range(min(sup_left[kind, sid], dem_left[did]) + 1):
            sup_left[kind, sid] -= x
            dem_left[did] -= x
            plan[keys[j]] = x
            visit(j + 1, value + x * w)
            sup_left[kind, sid] += x
            dem_left[did] += x
        del plan[keys[j]]

    visit(0, 0.0)
    return best


def _covered(model: ReferenceModel, plan: Mapping[Key, int]) -> dict[str, int]:
    got = dict.fromkeys(model.demands, 0)
    for (_, _, did), x in plan.items():
        got[did] += x
    return got


def min_hours_check(model: ReferenceModel, mins: Mapping[str, int]) -> Check:
    def ok(plan: Mapping[Key, int]) -> bool:
        got = _covered(model, plan)
        return all(got[d] == 0 or got[d] >= m for d, m in mins.items())

    return ok


def community_limit_check(model: ReferenceModel, limit: int) -> Check:
    def ok(plan: Mapping[Key, int]) -> bool:
        served: dict[str, set[str]] = {}
        for (kind, sid, did), x in plan.items():
            if x > 0 and kind == "cadre":
                served.setdefault(sid, set()).add(model.demands[did].community)
        return all(len(c) <= limit for c in served.values())

    return ok


def floor_targets(model: ReferenceModel, share: float) -> dict[str, int]:
    """Per community: ceil(share * sum over its demands of min(hours, tied supply))."""
    reach: dict[str, int] = dict.fromkeys(model.communities, 0)
    for did, d in model.demands.items():
        tied = {(k, s) for (k, s, dd) in model.arcs if dd == did}
        supply = sum(model.suppliers[t].hours for t in tied)
        reach[d.community] += min(d.hours, supply)
    return {c: math.ceil(share * r - 1e-9) for c, r in reach.items()}


def floor_check(model: ReferenceModel, share: float) -> Check:
    targets = floor_targets(model, share)

    def ok(plan: Mapping[Key, int]) -> bool:
        got: dict[str, int] = dict.fromkeys(model.communities, 0)
        for (_, _, did), x in plan.items():
            got[model.demands[did].community] += x
        return all(got[c] >= t for c, t in targets.items())

    return ok


def both(*checks: Check) -> Check:
    return lambda plan: all(c(plan) for c in checks)


def _with_min_hours(tables: dict[str, pd.DataFrame], seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    d = tables["demands"].copy()
    mins = [int(rng.integers(1, h + 1)) if h > 0 and rng.random() < 0.7 else 0 for h in d["hours"]]
    d["min_hours"] = [m if m else "" for m in mins]
    tables["demands"] = d
    return {str(i): m for i, m in zip(d["demand_id"], mins, strict=True) if m}


def _params(**kw: object) -> PlanParams:
    return PlanParams(time_limit_s=20.0, **kw)  # type: ignore[arg-type]


ENGINES = pytest.mark.parametrize("engine", ["highs", "cpsat"])


@pytest.mark.parametrize("seed", _instances(12))
@ENGINES
def test_min_hours_matches_enumeration(seed: int, engine: str) -> None:
    tables = random_tables(seed, RULES_PROFILE)
    mins = _with_min_hours(tables, seed)
    model = reference_model(tables)
    want = brute_force(model, min_hours_check(model, mins))
    p = matcher.plan(dataset_from_frames(tables), _params(integer_solver=engine))
    assert p.status == "optimal"
    assert p.objective == pytest.approx(want, abs=1e-6)
    assert p.solver.bound >= p.objective - 1e-9
    got = p.demand_status.set_index("demand_id")["covered_hours"]
    for did, m in mins.items():
        assert got[did] == 0 or got[did] >= m


@pytest.mark.parametrize("seed", _instances(12, start=100))
@pytest.mark.parametrize("limit", [1, 2])
@ENGINES
def test_cadre_community_limit_matches_enumeration(seed: int, limit: int, engine: str) -> None:
    tables = random_tables(seed, RULES_PROFILE)
    model = reference_model(tables)
    want = brute_force(model, community_limit_check(model, limit))
    p = matcher.plan(
        dataset_from_frames(tables), _params(max_communities_per_cadre=limit, integer_solver=engine)
    )
    assert p.status == "optimal"
    assert p.objective == pytest.approx(want, abs=1e-6)
    a = p.assignments[p.assignments["supplier_kind"] == "cadre"]
    assert (a.groupby("supplier_id")["community_id"].nunique() <= limit).all()


@pytest.mark.parametrize("seed", _instances(10, start=200))
@ENGINES
def test_coverage_floor_matches_enumeration(seed: int, engine: str) -> None:
    tables = random_tables(seed, RULES_PROFILE)
    model = reference_model(tables)
    want = brute_force(model, floor_check(model, 0.5), positive_only=False)
    ds = dataset_from_frames(tables)
    if want is None:
        with pytest.raises(InfeasibleError) as info:
            matcher.plan(ds, _params(coverage_floor=0.5, integer_solver=engine))
        assert info.value.findings[0].communities
        return
    p = matcher.plan(ds, _params(coverage_floor=0.5, integer_solver=engine))
    assert p.status == "optimal"
    assert p.objective == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("seed", _instances(8, start=300))
@ENGINES
def test_rules_combined_match_enumeration(seed: int, engine: str) -> None:
    tables = random_tables(seed, RULES_PROFILE)
    mins = _with_min_hours(tables, seed)
    model = reference_model(tables)
    check = both(min_hours_check(model, mins), community_limit_check(model, 1))
    want = brute_force(model, check)
    p = matcher.plan(
        dataset_from_frames(tables), _params(max_communities_per_cadre=1, integer_solver=engine)
    )
    assert p.objective == pytest.approx(want, abs=1e-6)
    assert p.status == "optimal"


@pytest.mark.parametrize("seed", range(6))
def test_no_rule_gives_the_flow_plan(seed: int) -> None:
    tables = random_tables(seed, PROFILES["small"])
    ds = dataset_from_frames(tables)
    flow = matcher.plan(ds)
    assert flow.solver.solver == "ortools.min_cost_flow"
    # A limit too loose to bind goes through CP-SAT and must give the same optimum.
    loose = matcher.plan(ds, _params(max_communities_per_cadre=1000))
    assert loose.solver.solver == "highs"
    assert loose.objective == pytest.approx(flow.objective, abs=1e-6)


# --- funds -----------------------------------------------------------------------------


def _funds_case(seed: int) -> dict[str, pd.DataFrame]:
    """A tiny city with funds asked by demands and held by a few funders."""
    rng = np.random.default_rng(seed)
    tables = random_tables(seed, RULES_PROFILE)
    d = tables["demands"].copy()
    d["funds"] = [float(rng.choice([0, 3000, 5000, 8000])) for _ in range(len(d))]
    tables["demands"] = d
    units = tables["units"].copy()
    units["level"] = [str(rng.choice(["municipal", "district", "none"])) for _ in range(len(units))]
    tables["units"] = units
    res = tables.get("resources", pd.DataFrame())
    rows = [
        {
            "resource_id": f"F{i}",
            "unit_id": str(rng.choice(units["unit_id"])),
            "kind": "funds",
            "categories": "",
            "amount": float(rng.choice([4000, 6000, 9000])),
            "range_km": "",
        }
        for i in range(int(rng.integers(1, 4)))
    ]
    tables["resources"] = pd.concat([res, pd.DataFrame(rows)], ignore_index=True)
    return tables


def _funder_ok(tables: Mapping[str, pd.DataFrame], unit_id: str, demand: pd.Series) -> bool:
    """The spec's funder ties, written out again from the spec."""
    units = tables["units"].set_index("unit_id")
    comms = tables["communities"].set_index("community_id")
    cid = demand["community_id"]
    pairs = tables.get("pairings", pd.DataFrame(columns=["unit_id", "community_id"]))
    if ((pairs["unit_id"] == unit_id) & (pairs["community_id"] == cid)).any():
        return True
    al = tables.get("alliances", pd.DataFrame(columns=["alliance_id", "district", "street"]))
    mem = tables.get("alliance_members", pd.DataFrame(columns=["alliance_id", "unit_id"]))
    mine = set(mem.loc[mem["unit_id"] == unit_id, "alliance_id"])
    for row in al.itertuples(index=False):
        if row.alliance_id in mine and (row.district, row.street) == (
            comms.at[cid, "district"],
            comms.at[cid, "street"],
        ):
            return True
    level = units.at[unit_id, "level"]
    if level == "municipal":
        return True
    return bool(level == "district" and units.at[unit_id, "district"] == comms.at[cid, "district"])


def funds_optimum(tables: Mapping[str, pd.DataFrame], yuan_per_hour: float = 1000.0) -> float:
    """Best funds term over every subset of demands, each subset checked by an LP."""
    dem = tables["demands"].reset_index(drop=True)
    res = tables["resources"]
    funders = res[res["kind"] == "funds"].reset_index(drop=True)
    asking = [i for i in range(len(dem)) if float(dem.at[i, "funds"] or 0) > 0]
    best = 0.0
    for bits in itertools.product([0, 1], repeat=len(asking)):
        chosen = [d for d, b in zip(asking, bits, strict=True) if b]
        pairs = [
            (r, d)
            for r in range(len(funders))
            for d in chosen
            if _funder_ok(tables, funders.at[r, "unit_id"], dem.loc[d])
        ]
        if chosen and not pairs:
            continue
        if chosen:
            n = len(pairs)
            a_eq = np.zeros((len(chosen), n))
            a_ub = np.zeros((len(funders), n))
            for j, (r, d) in enumerate(pairs):
                a_eq[chosen.index(d), j] = 1
                a_ub[r, j] = 1
            b_eq = [float(dem.at[d, "funds"]) for d in chosen]
            b_ub = funders["amount"].astype(float).to_numpy()
            lp = linprog(np.zeros(n), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
            if lp.status != 0:
                continue
        value = sum(
            float(dem.at[d, "priority"]) * float(dem.at[d, "funds"]) / yuan_per_hour for d in chosen
        )
        best = max(best, value)
    return best


@pytest.mark.parametrize("seed", range(10))
def test_funds_match_enumeration(seed: int) -> None:
    tables = _funds_case(seed)
    ds = dataset_from_frames(tables)
    labour = matcher.plan(ds, _params(apply_funds=False)).objective
    p = matcher.plan(ds, _params())
    assert p.kpis["funds"]["objective"] == pytest.approx(funds_optimum(tables), abs=1e-6)
    assert p.objective == pytest.approx(labour + funds_optimum(tables), abs=1e-6)
    assert p.solver.bound >= p.objective - 1e-9
    # All or nothing: a funded demand gets exactly its funds, others nothing.
    funded = p.demand_status.set_index("demand_id")
    given = p.funding.groupby("demand_id")["amount"].sum()
    for did, row in funded.iterrows():
        if row["funded"] == "true":
            assert given[did] == pytest.approx(row["funds"])
        else:
            assert did not in given.index
    # No funder over its amount.
    held = tables["resources"].set_index("resource_id")["amount"]
    for rid, amount in p.funding.groupby("resource_id")["amount"].sum().items():
        assert amount <= float(held[rid]) + 1e-6


def test_unfundable_demand_is_diagnosed_and_not_funded(tmp_path: Path) -> None:
    tables = load_dataset(Path(__file__).parents[1] / "data" / "example" / "dataset").tables()
    d = tables["demands"]
    d["funds"] = [50000.0, np.nan, np.nan, np.nan, np.nan]
    res = pd.concat(
        [
            tables["resources"],
            pd.DataFrame(
                [{"resource_id": "F1", "unit_id": "U-MUNI", "kind": "funds", "amount": 1000.0}]
            ),
        ],
        ignore_index=True,
    )
    p = matcher.plan(dataset_from_frames({**tables, "demands": d, "resources": res}))
    row = p.demand_status.set_index("demand_id").loc["D1"]
    assert (row["funded"], row["reason"], row["status"]) == ("false", "not_funded", "partial")
    diagnosis = p.kpis["diagnosis"]
    assert diagnosis[0]["rule"] == "funds" and diagnosis[0]["demands"] == ["D1"]
    assert diagnosis[0]["units"] == ["U-MUNI"]


# --- lead units ------------------------------------------------------------------------


def _lead_case(seed: int, n_units: int = 3, n_demands: int = 5) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    tables = load_dataset(Path(__file__).parents[1] / "data" / "example" / "dataset").tables()
    units = pd.DataFrame(
        [
            {
                "unit_id": f"L{u}",
                "name": f"Lead unit {u}",
                "kind": "government",
                "level": "district",
                "district": "Gulou",
                "lat": 26.08,
                "lon": 119.30,
                "lead_capacity": float(rng.integers(4, 10)),
            }
            for u in range(n_units)
        ]
    )
    tables["units"] = pd.concat([tables["units"], units], ignore_index=True)
    opts = []
    for d in tables["demands"]["demand_id"][:n_demands]:
        for u in rng.choice(n_units, size=int(rng.integers(1, n_units + 1)), replace=False):
            opts.append(
                {
                    "demand_id": d,
                    "unit_id": f"L{u}",
                    "effort": float(rng.integers(1, 6)),
                    "cost": float(rng.integers(1, 20)),
                }
            )
    tables["lead_options"] = pd.DataFrame(opts)
    return tables


def leads_optimum(tables: Mapping[str, pd.DataFrame]) -> float | None:
    opts = tables["lead_options"]
    caps = tables["units"].set_index("unit_id")["lead_capacity"]
    demands = list(dict.fromkeys(opts["demand_id"]))
    choices = [opts[opts["demand_id"] == d].to_dict("records") for d in demands]
    best = None
    for combo in itertools.product(*choices):
        load: dict[str, float] = {}
        for o in combo:
            load[o["unit_id"]] = load.get(o["unit_id"], 0.0) + o["effort"]
        if all(pd.isna(caps[u]) or load[u] <= caps[u] for u in load):
            cost = sum(o["cost"] for o in combo)
            best = cost if best is None else min(best, cost)
    return best


@ENGINES
@pytest.mark.parametrize("seed", range(12))
def test_leads_match_enumeration(seed: int, engine: str) -> None:
    tables = _lead_case(seed)
    want = leads_optimum(tables)
    ds = dataset_from_frames(tables)
    if want is None:
        with pytest.raises(InfeasibleError) as info:
            matcher.plan(ds, _params(integer_solver=engine))
        assert info.value.findings[0].rule == "lead_units"
        return
    p = matcher.plan(ds, _params(integer_solver=engine))
    assert p.kpis["leads"]["objective"] == pytest.approx(want)
    assert p.kpis["leads"]["bound"] <= p.kpis["leads"]["objective"] + 1e-9
    assert p.leads["demand_id"].is_unique
    assert set(p.leads["demand_id"]) == set(tables["lead_options"]["demand_id"])
    caps = tables["units"].set_index("unit_id")["lead_capacity"]
    for unit, effort in p.leads.groupby("unit_id")["effort"].sum().items():
        assert effort <= caps[unit]


def test_lead_demand_no_unit_can_take_is_named() -> None:
    tables = _lead_case(0)
    opts = tables["lead_options"]
    opts.loc[opts["demand_id"] == "D2", "effort"] = 99.0
    with pytest.raises(InfeasibleError) as info:
        matcher.plan(dataset_from_frames({**tables, "lead_options": opts}), _params())
    f = info.value.findings[0]
    assert f.rule == "lead_units" and f.demands == ("D2",)
    assert set(f.units) == set(opts.loc[opts["demand_id"] == "D2", "unit_id"])


def test_lead_capacity_conflict_names_the_units() -> None:
    tables = _lead_case(1)
    # Every demand can only go to L0, whose capacity holds two of them.
    opts = pd.DataFrame(
        [{"demand_id": d, "unit_id": "L0", "effort": 3.0, "cost": 1.0} for d in ["D1", "D2", "D3"]]
    )
    units = tables["units"]
    units.loc[units["unit_id"] == "L0", "lead_capacity"] = 6.0
    with pytest.raises(InfeasibleError) as info:
        matcher.plan(
            dataset_from_frames({**tables, "lead_options": opts, "units": units}), _params()
        )
    f = info.value.findings[0]
    assert f.units == ("L0",)
    assert set(f.demands) == {"D1", "D2", "D3"}


# --- contradictions and reasons ---------------------------------------------------------


def test_coverage_floor_conflict_names_the_communities(reasons_dir: Path) -> None:
    # K2 (5 parking hours) is the only supplier of A's and B's parking demands, which
    # together ask 10: a full floor in both cannot hold.
    ds = load_dataset(reasons_dir)
    with pytest.raises(InfeasibleError) as info:
        matcher.plan(ds, _params(coverage_floor=1.0))
    named = set(info.value.findings[0].communities)
    assert named and named <= {"A", "B"}


def test_coverage_floor_conflict_diagnosis_in_chinese(reasons_dir: Path) -> None:
    with pytest.raises(InfeasibleError) as info:
        matcher.plan(load_dataset(reasons_dir), _params(coverage_floor=1.0))
    err = info.value
    finding = err.findings[0]
    english, chinese = err.render("en"), err.render("zh")
    # English is unchanged; Chinese names the same rule, floor and communities.
    assert english == str(err)
    assert english.startswith("no plan satisfies the integer rules:")
    assert "the floor of 1 cannot be met" in english
    assert chinese.startswith("没有能满足全部整数规则的方案：")
    assert "无法同时达到 1 的覆盖下限" in chinese and "the floor" not in chinese
    assert f"社区：{', '.join(finding.communities)}" in chinese
    assert "[coverage_floor]" in chinese
    assert finding.to_dict("zh")["message"] == finding.message.render("zh")
    assert finding.to_dict()["message"] == finding.message


def test_unfundable_demand_diagnosis_in_chinese() -> None:
    tables = load_dataset(Path(__file__).parents[1] / "data" / "example" / "dataset").tables()
    d = tables["demands"]
    d["funds"] = [50000.0, np.nan, np.nan, np.nan, np.nan]
    res = pd.concat(
        [
            tables["resources"],
            pd.DataFrame(
                [{"resource_id": "F1", "unit_id": "U-MUNI", "kind": "funds", "amount": 1000.0}]
            ),
        ],
        ignore_index=True,
    )
    p = matcher.plan(dataset_from_frames({**tables, "demands": d, "resources": res}))
    summary = p.text("zh")
    assert "需求 D1 需要 50,000.00 元，但与其有联系的出资方合计只有 1,000.00 元" in summary
    assert "asks for" in p.text()


def test_below_min_hours_reason(reasons_dir: Path) -> None:
    ds = load_dataset(reasons_dir)
    d = ds.demands
    d["min_hours"] = [8, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA]  # D1 can get 4 at most
    p = matcher.plan(ds.replace(demands=d), _params())
    row = p.demand_status.set_index("demand_id").loc["D1"]
    assert (row["covered_hours"], row["status"], row["reason"]) == (0, "unmet", "below_min_hours")


def test_repaired_start_is_reported_and_never_beats_the_plan() -> None:
    tables = random_tables(7, PROFILES["dense"])
    _with_min_hours(tables, 7)
    p = matcher.plan(dataset_from_frames(tables), _params(max_communities_per_cadre=1))
    assert p.kpis["start_objective"] <= p.objective + 1e-9
    assert p.kpis["rules"] == ["min_hours", "max_communities_per_cadre"]


def test_integer_plans_are_deterministic(tmp_path: Path) -> None:
    tables = random_tables(11, PROFILES["dense"])
    _with_min_hours(tables, 11)
    ds = dataset_from_frames(tables)
    a = matcher.plan(ds, _params(max_communities_per_cadre=2))
    b = matcher.plan(ds, _params(max_communities_per_cadre=2))
    assert a.assignments.equals(b.assignments)
    assert a.demand_status.equals(b.demand_status)


def test_lead_engine_names_what_the_search_ran() -> None:
    from matcher.solvers.integer.leads import _engine

    assert _engine({}) == "highs"
    ran = {"search": {}, "lagrangian": {}, "tabu": {}}
    assert _engine(ran) == "highs + lagrangian bound + tabu search + subset search"


def test_lead_units_dataset_same_optimum_by_both_engines() -> None:
    """``tests/data/lead-units`` (4 units, 12 demands, tight capacities): HiGHS with its
    searches and CP-SAT prove the same least cost."""
    ds = load_dataset(Path(__file__).parents[1] / "data" / "lead-units")
    by_highs = matcher.plan(ds, PlanParams(time_limit_s=30))
    by_cpsat = matcher.plan(ds, PlanParams(time_limit_s=30, integer_solver="cpsat"))
    for p in (by_highs, by_cpsat):
        assert p.kpis["leads"]["status"] == "optimal"
    assert by_highs.kpis["leads"]["objective"] == by_cpsat.kpis["leads"]["objective"]
    assert by_highs.kpis["leads"]["bound"] == by_highs.kpis["leads"]["objective"]
