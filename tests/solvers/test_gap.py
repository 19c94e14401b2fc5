"""Lead units as a GAP: the Lagrangian bound and reduced-cost fixing, the tabu and subset
searches and HiGHS, against brute-force enumeration."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from matcher.solvers.integer import gap_bound
from matcher.solvers.integer.gap import Gap, TabuSearch, solve_gap, subset_search
from matcher.solvers.integer.gap_bound import (
    Knapsacks,
    forced_rise,
    lagrangian_bound,
    reduced_options,
    unit_profits,
)


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
    assert_solves_like_enumeration(random_gap(seed, 3, 7), seed, workers, 1e-9)


def assert_solves_like_enumeration(gap: Gap, seed: int, workers: int, slack: float) -> None:
    """``solve_gap`` proves the enumerated optimum (or finds none when there is none),
    with a bound at most ``slack`` above it."""
    best = brute_force(gap)
    got = solve_gap(gap, time.perf_counter() + 20, seed=seed, workers=workers)
    if not np.isfinite(best):
        assert got is None
        return
    assert got is not None
    assert gap.feasible(got.assign)
    assert got.cost == pytest.approx(best)
    assert got.bound <= best + slack
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


@pytest.mark.parametrize("workers", [1, 2])
def test_short_deadline_gives_a_feasible_assignment_and_a_true_bound(workers: int) -> None:
    # A tight 8 x 40 instance with little time: the Lagrangian step, the tabu search and
    # the subset search share it; the bound must still be a true lower bound.
    gap = random_gap(7, 8, 40, density=1.0)
    got = solve_gap(gap, time.perf_counter() + 3, seed=0, workers=workers)
    assert got is not None
    assert gap.feasible(got.assign)
    assert got.cost == pytest.approx(float(gap.cost[got.assign].sum()))
    assert got.bound <= got.cost + 1e-9
    reference = solve_gap(gap, time.perf_counter() + 6, seed=1)
    assert reference is not None
    assert got.bound <= reference.cost + 1e-9
    if reference.optimal:
        assert got.cost >= reference.cost - 1e-9
        assert reference.bound == pytest.approx(reference.cost)


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


# --- the Lagrangian bound, its knapsacks and what it proves ---------------------------


def variant(gap: Gap, kind: str) -> Gap:
    """``gap`` with fractional efforts (solved by Dantzig's bound), efforts in quarters
    (by DP after scaling), fractional costs, or a unit of unlimited capacity."""
    if kind == "fractional":
        return Gap(gap.agent, gap.job, gap.weight / 7, gap.cost / 3, gap.capacity / 7, gap.n_jobs)
    if kind == "quarters":
        return Gap(gap.agent, gap.job, gap.weight / 4, gap.cost, gap.capacity / 4, gap.n_jobs)
    if kind == "unlimited":
        capacity = gap.capacity.copy()
        capacity[0] = np.inf
        return Gap(gap.agent, gap.job, gap.weight, gap.cost, capacity, gap.n_jobs)
    return gap


def all_assignments(gap: Gap) -> list[tuple[float, np.ndarray]]:
    """Every feasible assignment with its cost."""
    out = []
    for choice in itertools.product(*gap.options_of_jobs()):
        assign = np.array(choice)
        if np.all(gap.loads(assign) <= gap.capacity + 1e-9):
            out.append((float(gap.cost[assign].sum()), assign))
    return out


KINDS = ["whole", "fractional", "quarters", "unlimited"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(10))
def test_lagrangian_bound_is_below_the_optimum(seed: int, kind: str) -> None:
    gap = variant(random_gap(300 + seed, 3, 7, tight=0.7), kind)
    best = brute_force(gap)
    got = lagrangian_bound(gap, time.perf_counter() + 10, iterations=300)
    assert got.bound <= best + 1e-6
    if got.optimal:
        assert got.bound == pytest.approx(best)
    if got.assign is not None:
        assert gap.feasible(got.assign)
        assert gap.cost[got.assign].sum() >= best - 1e-9


def test_knapsacks_are_exact_by_dp_and_by_whole_scale() -> None:
    gap = random_gap(1, 3, 6)
    assert Knapsacks.of(gap).exact
    assert Knapsacks.of(variant(gap, "quarters")).exact
    assert not Knapsacks.of(variant(gap, "fractional")).exact
    assert not Knapsacks.of(gap, dp_cells=10).exact


@pytest.mark.parametrize("seed", range(12))
def test_dp_knapsack_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    gap = random_gap(400 + seed, 3, 8, density=0.9)
    k = Knapsacks.of(gap)
    buf = gap_bound._Buffers.of(k)
    u = rng.uniform(50, 130, gap.n_jobs)
    value = gap_bound._value(u, k, buf)
    total = 0.0
    for i in range(gap.n_agents):
        items = k.rows[k.ptr[i] : k.ptr[i + 1]]
        profit = u[gap.job[items]] - gap.cost[items]
        weight = gap.weight[items]
        cap = int(k.capacity[i])
        table = np.zeros(cap + 1)  # best profit within each capacity, by enumeration
        for take in itertools.product([0, 1], repeat=len(items)):
            t = np.array(take, dtype=bool)
            w = int(weight[t].sum())
            if w <= cap:
                table[w:] = np.maximum(table[w:], profit[t].sum())
        got = buf.f[buf.fptr[i] : buf.fptr[i] + cap + 1]
        assert np.allclose(got, table)
        taken = buf.x[k.ptr[i] : k.ptr[i + 1]] > 0.5
        assert weight[taken].sum() <= cap
        assert profit[taken].sum() == pytest.approx(table[cap])
        total += table[cap]
    assert value == pytest.approx(u.sum() - total)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(8))
def test_reduced_options_keep_every_cheaper_assignment(seed: int, kind: str) -> None:
    gap = variant(random_gap(500 + seed, 3, 7, tight=0.75), kind)
    every = all_assignments(gap)
    if not every:
        return
    costs = sorted(c for c, _ in every)
    got = lagrangian_bound(gap, time.perf_counter() + 10, iterations=300)
    # The optimum as the known cost (all optimal assignments may go but one is kept),
    # then a worse one (every cheaper assignment must survive).
    for upper in {costs[0], costs[len(costs) // 3], costs[-1]}:
        known = next(a for c, a in every if c == upper)
        kept = reduced_options(gap, got.u, upper, keep_rows=known)
        assert kept[known].all()
        for c, assign in every:
            if c < upper - 1e-9:
                assert kept[assign].all(), (upper, c)
        # Without the known assignment kept, every assignment strictly cheaper survives.
        bare = reduced_options(gap, got.u, upper)
        for c, assign in every:
            if c < upper - 1e-9:
                assert bare[assign].all()


@pytest.mark.parametrize("seed", range(6))
def test_forced_rise_bounds_the_best_assignment_using_each_option(seed: int) -> None:
    gap = variant(random_gap(600 + seed, 3, 6, tight=0.75), ["whole", "fractional"][seed % 2])
    every = all_assignments(gap)
    got = lagrangian_bound(gap, time.perf_counter() + 10, iterations=200)
    rise = forced_rise(gap, got.u)
    for row in range(len(gap.job)):
        using = [c for c, a in every if row in a]
        if using:
            assert got.bound + rise[row] <= min(using) + 1e-6


@pytest.mark.parametrize("seed", range(6))
def test_tabu_search_keeps_feasible_and_never_worsens(seed: int) -> None:
    gap = feasible_gap(4, 8, 700 + 10 * seed, tight=0.9)
    start = feasible_start(gap)
    assert start is not None
    search = TabuSearch.start(gap, start, seed)
    assert search is not None
    search.run(300)
    assert gap.feasible(search.best)
    assert search.best_cost == pytest.approx(float(gap.cost[search.best].sum()))
    assert brute_force(gap) - 1e-9 <= search.best_cost <= gap.cost[start].sum() + 1e-9


def test_tabu_search_takes_an_ejection_chain_in_one_step() -> None:
    # Demand 0 (at unit 0) fits unit 1 only if demand 1 leaves it for unit 2: no shift
    # or swap gains, the chain gains 10 at once.
    gap = Gap(np.array([0, 1, 0, 1, 2]), np.array([0, 0, 1, 1, 1]), np.full(5, 10.0),
              np.array([10.0, 0.0, 100.0, 5.0, 5.0]), np.full(3, 10.0), 2)  # fmt: skip
    search = TabuSearch.start(gap, np.array([0, 3]), seed=0)
    assert search is not None
    assert search.run(1)
    assert search.best.tolist() == [1, 4]
    assert search.best_cost == 5.0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("workers", [1, 2])
def test_solve_gap_variants_equal_enumeration(seed: int, kind: str, workers: int) -> None:
    gap = variant(random_gap(800 + seed, 3, 7, tight=0.75), kind)
    assert_solves_like_enumeration(gap, seed, workers, 1e-6)


@pytest.mark.parametrize("workers", [1, 2])
def test_units_without_options(workers: int) -> None:
    # The last units have no option at all: the knapsacks of no items stay empty.
    gap = random_gap(9, 3, 6, tight=0.9)
    more = Gap(gap.agent, gap.job, gap.weight, gap.cost,
               np.concatenate((gap.capacity, [5.0, np.inf])), gap.n_jobs)  # fmt: skip
    best = brute_force(more)
    got = solve_gap(more, time.perf_counter() + 20, workers=workers)
    if not np.isfinite(best):
        assert got is None
        return
    assert got is not None
    assert got.cost == pytest.approx(best)
    assert got.bound <= best + 1e-6
    assert lagrangian_bound(more, time.perf_counter() + 5).bound <= best + 1e-6


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(4))
def test_unit_profits_split_the_gap_to_the_bound(seed: int, kind: str) -> None:
    # cost(a) - L(u) = sum over units of KP_i(u) - profit_i(a), each term >= 0.
    gap = variant(random_gap(900 + seed, 3, 7, tight=0.75), kind)
    got = lagrangian_bound(gap, time.perf_counter() + 10, iterations=300)
    kp = unit_profits(gap, got.u)
    value = got.u.sum() - kp.sum()
    assert value == pytest.approx(got.bound)  # the bound is L at its multipliers
    for c, assign in all_assignments(gap):
        held = np.bincount(gap.agent[assign], got.u[gap.job[assign]] - gap.cost[assign],
                           minlength=gap.n_agents)  # fmt: skip
        assert np.all(kp - held >= -1e-6)
        assert (kp - held).sum() == pytest.approx(c - value)


@pytest.mark.parametrize("seed", range(4))
def test_tabu_search_adopts_a_cheaper_assignment(seed: int) -> None:
    gap = feasible_gap(4, 8, 700 + 10 * seed, tight=0.9)
    every = all_assignments(gap)
    cheapest = min(every, key=lambda ca: ca[0])
    start = max(every, key=lambda ca: ca[0])
    search = TabuSearch.start(gap, start[1], seed)
    assert search is not None
    search.allow(np.zeros(len(gap.job), dtype=bool))  # all barred but what is in use
    search.adopt(cheapest[1])
    assert search.best_cost == pytest.approx(cheapest[0])
    search.run(100)
    assert gap.feasible(search.best)
    assert search.best_cost == pytest.approx(cheapest[0])


def test_subset_search_takes_a_cheaper_assignment_from_exchange() -> None:
    gap = feasible_gap(4, 8, 720, tight=0.9)
    every = all_assignments(gap)
    cheapest = min(every, key=lambda ca: ca[0])
    start = max(every, key=lambda ca: ca[0])
    seen: list[float] = []

    def exchange(current: np.ndarray) -> np.ndarray:
        seen.append(float(gap.cost[current].sum()))
        return cheapest[1]

    got, _ = subset_search(gap, start[1], time.perf_counter() + 0.5, exchange=exchange,
                           unit_weight=lambda a: np.arange(gap.n_agents, dtype=float))  # fmt: skip
    assert seen[0] == pytest.approx(start[0])
    assert gap.feasible(got)
    assert gap.cost[got].sum() == pytest.approx(cheapest[0])


def test_highs_gives_way_only_on_many_units_and_little_fixing() -> None:
    from matcher.solvers.integer.gap import HIGHS_YIELD_AGENTS, _hopeless

    few = random_gap(0, HIGHS_YIELD_AGENTS - 1, 30)
    many = random_gap(0, HIGHS_YIELD_AGENTS, 30)
    every = np.ones(len(many.job), dtype=bool)
    assert _hopeless(many, every)
    assert not _hopeless(few, np.ones(len(few.job), dtype=bool))  # HiGHS keeps its run
    assert not _hopeless(many, every & (np.arange(len(every)) % 3 == 0))  # fixing dropped much
    assert not _hopeless(many, None)


def dense(gap: Gap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Costs (``inf`` where no option), efforts and capacities as demands x units tables."""
    cost = np.full((gap.n_jobs, gap.n_agents), np.inf)
    weight = np.zeros((gap.n_jobs, gap.n_agents))
    cost[gap.job, gap.agent] = gap.cost
    weight[gap.job, gap.agent] = gap.weight
    return cost, weight, gap.capacity + 1e-9


def cheaper_within_two(gap: Gap, agents: np.ndarray) -> bool:
    """Whether a feasible assignment cheaper than ``agents`` differs from it in the units
    of at most two demands (every shift, swap and chain of two, found by enumeration)."""
    cost, weight, cap = dense(gap)
    n, m = cost.shape
    here = float(cost[np.arange(n), agents].sum())
    for j, k in itertools.combinations(range(n), 2):
        for b, c in itertools.product(range(m), repeat=2):
            other = agents.copy()
            other[j], other[k] = b, c
            if not np.all(np.isfinite(cost[np.arange(n), other])):
                continue
            load = np.bincount(other, weight[np.arange(n), other], minlength=m)
            if np.all(load <= cap) and cost[np.arange(n), other].sum() < here - 1e-9:
                return True
    return False


@pytest.mark.parametrize("seed", range(6))
def test_polish_leaves_no_cheaper_assignment_two_demands_away(seed: int) -> None:
    from matcher.solvers.integer.gap import _polish

    gap = feasible_gap(4, 9, 1100 + 10 * seed, tight=0.9)
    start = feasible_start(gap)  # the costliest feasible assignment
    assert start is not None
    cost, weight, cap = dense(gap)
    agents = gap.agent[start].astype(np.int64)
    gained = _polish(cost, weight, cap, agents, 10**9)
    after = float(cost[np.arange(gap.n_jobs), agents].sum())
    assert after == pytest.approx(float(gap.cost[start].sum()) + gained)
    assert gained < 0  # the costliest assignment is never left as it is
    assert np.all(np.bincount(agents, weight[np.arange(gap.n_jobs), agents], minlength=4) <= cap)
    assert not cheaper_within_two(gap, agents)


def test_polish_takes_a_chain_of_three() -> None:
    from matcher.solvers.integer.gap import _polish

    # Every unit is full, and each demand is cheaper at the next unit, around a cycle:
    # only all of them moving at once fits. A cycle of four is beyond the polish.
    inf = np.inf
    cost = np.array([[10.0, 0.0, inf, inf], [inf, 10.0, 0.0, inf],
                     [inf, inf, 10.0, 0.0], [0.0, inf, inf, 0.0]])  # fmt: skip
    weight = np.where(np.isfinite(cost), 5.0, 0.0)
    agents = np.array([0, 1, 2, 3])
    assert _polish(cost, weight, np.full(4, 5.0), agents, 10**6) == 0.0  # a cycle of four
    # A cycle of three is a chain of three links (its last into the unit the first
    # left); no move of one or two demands fits.
    cost3 = np.array([[10.0, 0.0, inf], [inf, 10.0, 0.0], [0.0, inf, 10.0]])
    weight3 = np.where(np.isfinite(cost3), 5.0, 0.0)
    agents3 = np.array([0, 1, 2])
    assert _polish(cost3, weight3, np.full(3, 5.0), agents3, 10**6) == -30.0
    assert agents3.tolist() == [1, 2, 0]


@pytest.mark.parametrize("seed", range(4))
def test_tabu_search_best_is_polished_over_every_option(seed: int) -> None:
    # The search walks on a few options only; its best is polished over all of them.
    gap = feasible_gap(4, 9, 1400 + 10 * seed, tight=0.9)
    start = feasible_start(gap)  # the costliest feasible assignment, well above the optimum
    assert start is not None
    assert brute_force(gap) < gap.cost[start].sum() - 50
    search = TabuSearch.start(gap, start, seed)
    assert search is not None
    kept = np.random.default_rng(seed).random(len(gap.job)) < 0.7
    search.allow(kept)
    assert search.run(200)
    assert gap.feasible(search.best)
    assert search.best_cost == pytest.approx(float(gap.cost[search.best].sum()))
    assert not cheaper_within_two(gap, gap.agent[search.best].astype(np.int64))
