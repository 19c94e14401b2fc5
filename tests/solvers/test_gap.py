"""Lead units as a GAP: HiGHS plus the subset search, against brute-force enumeration."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from matcher.solvers.integer.gap import Gap, solve_gap, subset_search


def random_gap(seed: int, m: int, n: int, *, density: float = 0.8, tight: float = 0.8) -> Gap:
    """A Martello-Toth type D-like instance, some options missing, capacities tight."""
    rng = np.random.default_rng(seed)
    weight = rng.integers(1, 101, (m, n)).astype(float)
    cost = 111 - weight + rng.integers(-10, 11, (m, n))
    allowed = rng.random((m, n)) < density
    allowed[rng.integers(0, m, n), np.arange(n)] = True  # every demand keeps an option
    agent, job = np.nonzero(allowed)
    order = np.lexsort((agent, job))
    agent, job = agent[order], job[order]
    capacity = np.floor(tight * (weight * allowed).sum(axis=1) / m)
    return Gap(agent, job, weight[agent, job], cost[agent, job].astype(float), capacity, n)


def feasible_gap(m: int, n: int, first_seed: int = 0, tight: float = 0.8) -> Gap:
    """The first instance from ``first_seed`` on that has a feasible assignment."""
    for seed in range(first_seed, first_seed + 100):
        gap = random_gap(seed, m, n, tight=tight)
        if np.isfinite(brute_force(gap)):
            return gap
    raise AssertionError("no feasible instance")


def brute_force(gap: Gap) -> float:
    """The optimum by enumerating every assignment (``inf`` when none is feasible)."""
    options = gap.options_of_jobs()
    best = np.inf
    for choice in itertools.product(*options):
        assign = np.array(choice)
        if np.all(gap.loads(assign) <= gap.capacity + 1e-9):
            best = min(best, float(gap.cost[assign].sum()))
    return best


def feasible_start(gap: Gap) -> np.ndarray | None:
    """Some feasible assignment (the costliest, to leave the search work), by enumeration."""
    options = gap.options_of_jobs()
    worst, found = -np.inf, None
    for choice in itertools.product(*options):
        assign = np.array(choice)
        if np.all(gap.loads(assign) <= gap.capacity + 1e-9):
            c = float(gap.cost[assign].sum())
            if c > worst:
                worst, found = c, assign
    return found


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("workers", [1, 2])
def test_solve_gap_equals_enumeration(seed: int, workers: int) -> None:
    gap = random_gap(seed, 3, 7)
    best = brute_force(gap)
    got = solve_gap(gap, time.perf_counter() + 20, seed=seed, workers=workers)
    if not np.isfinite(best):
        assert got is None
        return
    assert got is not None
    assert gap.feasible(got.assign)
    assert got.cost == pytest.approx(best)
    assert got.bound <= best + 1e-9
    assert got.optimal


@pytest.mark.parametrize("seed", range(6))
def test_subset_search_only_improves_and_stays_feasible(seed: int) -> None:
    gap = feasible_gap(4, 7, 100 * (seed + 1), tight=0.9)
    start = feasible_start(gap)
    assert start is not None
    best = brute_force(gap)
    got, counts = subset_search(gap, start, time.perf_counter() + 20, seed=seed, target_jobs=2)
    assert gap.feasible(got)
    assert best - 1e-9 <= gap.cost[got].sum() <= gap.cost[start].sum() + 1e-9
    assert counts["neighbourhoods"] >= 1


def test_subset_search_reaches_the_optimum_by_growing_its_sets() -> None:
    # Pairs of units cannot always reach the optimum; the sets grow until the whole
    # instance is one neighbourhood, solved exactly.
    for seed in range(6):
        gap = random_gap(200 + seed, 4, 6, tight=0.9)
        start = feasible_start(gap)
        if start is None:
            continue
        got, counts = subset_search(gap, start, time.perf_counter() + 30, seed=seed, target_jobs=2)
        assert gap.cost[got].sum() == pytest.approx(brute_force(gap))
        assert counts["units_per_set"] == gap.n_agents


def test_search_phase_runs_when_the_first_highs_run_is_cut_short() -> None:
    # A tight 5 x 20 instance with almost no time for the first run: the incumbent comes
    # from the search and the second run; the bound must still be a true lower bound.
    gap = random_gap(7, 8, 40, density=1.0)
    got = solve_gap(gap, time.perf_counter() + 3, seed=0, first_share=0.01)
    assert got is not None
    assert "search" in got.stats
    assert gap.feasible(got.assign)
    assert got.bound <= got.cost + 1e-9
    reference = solve_gap(gap, time.perf_counter() + 4, seed=1, first_share=1.0)
    assert reference is not None
    assert got.bound <= reference.cost + 1e-9
    if reference.optimal:
        assert got.cost >= reference.cost - 1e-9


def test_fractional_costs_and_efforts() -> None:
    gap = feasible_gap(3, 6)
    scaled = Gap(gap.agent, gap.job, gap.weight / 7, gap.cost / 3, gap.capacity / 7, gap.n_jobs)
    best = brute_force(scaled)
    got = solve_gap(scaled, time.perf_counter() + 20)
    assert got is not None
    assert got.cost == pytest.approx(best)
    start = feasible_start(scaled)
    assert start is not None
    searched, _ = subset_search(scaled, start, time.perf_counter() + 20, target_jobs=2)
    assert scaled.feasible(searched)
    assert scaled.cost[searched].sum() == pytest.approx(best)


def test_unlimited_capacity_units() -> None:
    gap = random_gap(5, 3, 6, tight=0.5)
    free = Gap(
        gap.agent,
        gap.job,
        gap.weight,
        gap.cost,
        np.array([np.inf, gap.capacity[1], gap.capacity[2]]),
        gap.n_jobs,
    )
    got = solve_gap(free, time.perf_counter() + 20)
    assert got is not None
    best = brute_force(free)
    assert np.isfinite(best)
    assert got.cost == pytest.approx(best)


def test_same_seed_same_assignment_when_proven() -> None:
    gap = feasible_gap(4, 8)
    a = solve_gap(gap, time.perf_counter() + 20, seed=3)
    b = solve_gap(gap, time.perf_counter() + 20, seed=3)
    assert a is not None and b is not None and a.optimal
    assert np.array_equal(a.assign, b.assign)
