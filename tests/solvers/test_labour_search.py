"""The labour model's neighbourhood search: it keeps every rule, never loses score, and
solving the whole model as one neighbourhood gives the enumerated optimum."""

from __future__ import annotations

import time

import numpy as np
import pytest
from factories import random_tables, reference_model
from scipy.optimize import linprog
from test_integer import (
    RULES_PROFILE,
    _instances,
    _with_min_hours,
    both,
    brute_force,
    community_limit_check,
    min_hours_check,
)

import matcher
from matcher.inputs.dataset import Dataset, dataset_from_frames
from matcher.inputs.generate import generate
from matcher.model.arcs import Problem, build_problem
from matcher.model.rules import ActiveRules, active_rules
from matcher.model.suppliers import CADRE
from matcher.params import PlanParams
from matcher.solvers.integer.labour import labour_arcs, labour_start
from matcher.solvers.integer.labour_search import POLISH_GAP, SUB_GAP, LabourSearch


def small_city(seed: int) -> Dataset:
    """A generated city of about 20 communities, ``min_hours`` (60 % of the hours) on a
    third of its demands."""
    tables = generate(scale=0.005, seed=seed)
    rng = np.random.default_rng(seed)
    d = tables["demands"].copy()
    on = rng.random(len(d)) < 1 / 3
    d["min_hours"] = np.where(on, np.ceil(0.6 * d["hours"]), np.nan)
    tables["demands"] = d
    return dataset_from_frames(tables, f"small-{seed}")


def rules_hold(problem: Problem, rules: ActiveRules, flow: np.ndarray) -> bool:
    """Every rule, checked from the arrays alone."""
    arcs = problem.arcs
    if (flow < 0).any() or (flow[arcs.weight <= 0] > 0).any():
        return False
    given = np.bincount(arcs.supplier, flow, minlength=len(problem.suppliers.hours))
    got = np.bincount(arcs.demand, flow, minlength=len(problem.demand_hours))
    if (given > problem.suppliers.hours).any() or (got > problem.demand_hours).any():
        return False
    if ((got > 0) & (got < rules.min_hours)).any():
        return False
    if rules.max_communities_per_cadre is not None:
        on = (flow > 0) & (problem.suppliers.kind[arcs.supplier] == CADRE)
        pairs = {
            (int(s), int(c))
            for s, c in zip(
                arcs.supplier[on], problem.demand_community[arcs.demand[on]], strict=True
            )
        }
        served: dict[int, int] = {}
        for s, _ in pairs:
            served[s] = served.get(s, 0) + 1
        if any(n > rules.max_communities_per_cadre for n in served.values()):
            return False
    return True


@pytest.mark.parametrize("limit", [1, 2])
@pytest.mark.parametrize("seed", [3, 4])
def test_search_keeps_every_rule_and_never_loses(seed: int, limit: int) -> None:
    ds = small_city(seed)
    params = PlanParams(max_communities_per_cadre=limit, seed=seed)
    problem = build_problem(ds, params)
    rules = active_rules(ds, params)
    start = labour_start(problem, rules, None)
    assert rules_hold(problem, rules, start.flow)
    seen: list[float] = []
    search = LabourSearch(
        problem,
        rules,
        labour_arcs(problem, rules),
        params,
        start.flow,
        seen.append,
        start.relaxed.flow,
    )
    best = search.run(time.perf_counter() + 3.0)
    assert rules_hold(problem, rules, best)
    objective = float(np.dot(best, problem.arcs.weight))
    assert objective == pytest.approx(search.best_objective)
    assert objective >= start.objective - 1e-9
    assert objective <= start.relaxed.bound + 1e-6  # the rules only take plans away
    assert seen == sorted(seen) and all(v > start.objective for v in seen)
    assert search.stats["neighbourhoods"] >= 1
    assert search.stats["receiver_sets"] >= 1


def donors(problem: Problem, useful: np.ndarray, flow: np.ndarray, demand: int) -> set[int]:
    """The communities where a supplier with an arc to ``demand`` gives hours at a lower
    score per hour than that arc's, or where a cadre at its limit of one serves: by
    loops, from the arrays alone."""
    arcs = problem.arcs
    found: set[int] = set()
    for a in useful[arcs.demand[useful] == demand]:
        s = arcs.supplier[a]
        given = np.flatnonzero((arcs.supplier == s) & (flow > 0))
        for b in given:
            full = problem.suppliers.kind[s] == CADRE
            if arcs.weight[b] < arcs.weight[a] or full:
                found.add(int(problem.demand_community[arcs.demand[b]]))
    return found


@pytest.mark.parametrize("seed", [3, 4])
def test_receiver_set_holds_the_receiver_and_its_donors(seed: int) -> None:
    """A set around a demand that scores less than in the flow optimum holds its
    community and every donor community (given room for all); with room for two, its
    community and the donor where its suppliers' hours would gain most."""
    ds = small_city(seed)
    params = PlanParams(max_communities_per_cadre=1, seed=seed)
    problem = build_problem(ds, params)
    rules = active_rules(ds, params)
    start = labour_start(problem, rules, None)
    useful = labour_arcs(problem, rules)
    search = LabourSearch(problem, rules, useful, params, start.flow, None, start.relaxed.flow)
    receivers, loss = search._receivers()
    assert len(receivers) > 0
    arcs = problem.arcs
    for demand in receivers[np.argsort(-loss, kind="stable")][:5]:
        demand = int(demand)
        got = float(np.dot(start.flow[arcs.demand == demand], arcs.weight[arcs.demand == demand]))
        relaxed = start.relaxed.flow[arcs.demand == demand]
        assert got < float(np.dot(relaxed, arcs.weight[arcs.demand == demand]))
        home = int(problem.demand_community[demand])
        every = set(search._receiver_set(demand, len(search.active)).tolist())
        assert every >= {home} | donors(problem, useful.idx, start.flow, demand)
        two = search._receiver_set(demand, 2)
        assert home in two
        gain = search._donor_priority(demand)
        gain[home] = 0.0
        if gain.max() > 1e-3:
            assert int(np.argmax(gain)) in two


@pytest.mark.parametrize("seed", _instances(10, start=500))
def test_whole_model_as_one_neighbourhood_is_the_enumerated_optimum(seed: int) -> None:
    """With sets that hold every community, one exact solve ends the search: its plan
    scores what enumeration finds best, from the empty plan as start."""
    tables = random_tables(seed, RULES_PROFILE)
    mins = _with_min_hours(tables, seed)
    ds = dataset_from_frames(tables)
    params = PlanParams(max_communities_per_cadre=1, seed=seed)
    problem = build_problem(ds, params)
    rules = active_rules(ds, params)
    model = reference_model(tables)
    best = brute_force(model, both(min_hours_check(model, mins), community_limit_check(model, 1)))
    empty = np.zeros(len(problem.arcs), dtype=np.int64)
    search = LabourSearch(problem, rules, labour_arcs(problem, rules), params, empty)
    found = search.run(time.perf_counter() + 60.0)
    assert rules_hold(problem, rules, found)
    assert float(np.dot(found, problem.arcs.weight)) == pytest.approx(best or 0.0, abs=1e-9)


def test_a_plan_proven_after_the_search_is_the_same_every_run() -> None:
    """A city big enough that the search takes several neighbourhoods before the proof:
    the proven plan does not depend on how far the search got."""
    ds = small_city(4)
    params = PlanParams(max_communities_per_cadre=2, time_limit_s=40, seed=1)
    a = matcher.plan(ds, params)
    b = matcher.plan(ds, params)
    assert a.status == b.status == "optimal"
    assert a.assignments.equals(b.assignments)
    assert a.demand_status.equals(b.demand_status)


def test_the_sets_polish_to_a_tighter_gap_once_they_grow() -> None:
    """Sets grow once every community was drawn without a gain; their MIPs then close
    the parts' last fractions of a point (:data:`POLISH_GAP`), which :data:`SUB_GAP`
    leaves behind."""
    ds = small_city(4)
    params = PlanParams(max_communities_per_cadre=2, seed=1)
    problem = build_problem(ds, params)
    rules = active_rules(ds, params)
    start = labour_start(problem, rules, None)
    useful = labour_arcs(problem, rules)
    search = LabourSearch(problem, rules, useful, params, start.flow, None, start.relaxed.flow)
    assert search.sub_gap == SUB_GAP
    search.run(time.perf_counter() + 60.0)  # ends early: the sets reach every community
    assert search.stats["communities_per_set"] < len(np.unique(problem.demand_community))
    assert search.sub_gap == POLISH_GAP < SUB_GAP
    assert rules_hold(problem, rules, search.best)


def structure_lp(
    problem: Problem, rules: ActiveRules, useful: np.ndarray, flow: np.ndarray
) -> float:
    """The best score with ``flow``'s structure held, by scipy's LP on constraints built
    by loops: cadres only on the communities they serve (under a community limit),
    closed ``min_hours`` demands closed, open ones at their minimum or more."""
    arcs = problem.arcs
    cadre = problem.suppliers.kind == CADRE
    served = {
        (int(arcs.supplier[a]), int(problem.demand_community[arcs.demand[a]]))
        for a in np.flatnonzero(flow > 0)
    }
    got = np.bincount(arcs.demand, flow, minlength=len(problem.demand_hours))
    allowed = []
    for a in useful:
        s, d = int(arcs.supplier[a]), int(arcs.demand[a])
        limited = rules.max_communities_per_cadre is not None
        if limited and cadre[s] and (s, int(problem.demand_community[d])) not in served:
            continue
        if rules.min_hours[d] > 0 and got[d] == 0:
            continue
        allowed.append(int(a))
    rows, rhs = [], []
    for s in range(len(problem.suppliers.hours)):
        rows.append([1.0 if arcs.supplier[a] == s else 0.0 for a in allowed])
        rhs.append(float(problem.suppliers.hours[s]))
    for d in range(len(problem.demand_hours)):
        on = [1.0 if arcs.demand[a] == d else 0.0 for a in allowed]
        rows.append(on)
        rhs.append(float(problem.demand_hours[d]))
        if rules.min_hours[d] > 0 and got[d] > 0:
            rows.append([-v for v in on])
            rhs.append(-float(rules.min_hours[d]))
    upper = [
        min(problem.suppliers.hours[arcs.supplier[a]], problem.demand_hours[arcs.demand[a]])
        for a in allowed
    ]
    res = linprog(
        -arcs.weight[allowed],
        A_ub=np.array(rows),
        b_ub=np.array(rhs),
        bounds=[(0, u) for u in upper],
        method="highs",
    )
    assert res.status == 0
    return float(-res.fun)


@pytest.mark.parametrize("limit", [None, 1, 2])
@pytest.mark.parametrize("seed", [3, 4])
def test_reflow_is_the_linear_optimum_with_the_structure_held(seed: int, limit: int | None) -> None:
    """The last step re-solves every hour at once, each cadre on the communities it
    serves and each ``min_hours`` demand as open or closed as it was: its plan scores
    what an LP over those arcs finds best, keeps every rule, and needs no new pair
    (without a community limit, cadres may go anywhere)."""
    ds = small_city(seed)
    params = PlanParams(max_communities_per_cadre=limit, seed=seed)
    problem = build_problem(ds, params)
    rules = active_rules(ds, params)
    assert rules.coverage_floor is None
    useful = labour_arcs(problem, rules)
    # The repaired start, with the hours of every third arc to a demand without a
    # minimum taken away: a plan within the rules that leaves hours to move.
    flow = labour_start(problem, rules, None).flow.copy()
    arcs = problem.arcs
    lighter = np.flatnonzero((flow > 0) & (rules.min_hours[arcs.demand] == 0))[::3]
    flow[lighter] = 0
    assert rules_hold(problem, rules, flow)
    before = float(np.dot(flow, arcs.weight))
    expected = structure_lp(problem, rules, useful.idx, flow)
    assert expected > before + 1.0
    search = LabourSearch(problem, rules, useful, params, flow)
    assert search.reflow()
    assert search.best_objective == pytest.approx(expected, rel=1e-9)
    assert rules_hold(problem, rules, search.best)
    cadre = problem.suppliers.kind[arcs.supplier] == CADRE

    def pairs(flow: np.ndarray) -> set[tuple[int, int]]:
        on = np.flatnonzero((flow > 0) & cadre)
        return {(int(arcs.supplier[a]), int(problem.demand_community[arcs.demand[a]])) for a in on}

    if limit is not None:
        assert pairs(search.best) <= pairs(flow)
    open_before = np.bincount(arcs.demand, flow, minlength=len(problem.demand_hours)) > 0
    open_after = np.bincount(arcs.demand, search.best, minlength=len(problem.demand_hours)) > 0
    with_min = rules.min_hours > 0
    assert (open_after[with_min] == open_before[with_min]).all()
    assert not search.reflow()  # nothing left to gain at the optimum
