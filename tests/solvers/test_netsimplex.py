"""Tests of the numba network simplex against OR-Tools, with optimality certificates."""

from __future__ import annotations

import numpy as np
import pytest
from ortools.graph.python import min_cost_flow

from matcher.solvers.netsimplex import CAP_MAX, COST_MAX, NetworkSimplex

_I = np.int64


# ---------------------------------------------------------------------------- helpers
def ortools_solve(n, supplies, tails, heads, caps, costs) -> tuple[str, int | None]:
    """Reference (status, optimal cost) from OR-Tools' SimpleMinCostFlow."""
    mcf = min_cost_flow.SimpleMinCostFlow()
    if len(tails):
        mcf.add_arcs_with_capacity_and_unit_cost(
            np.asarray(tails, _I),
            np.asarray(heads, _I),
            np.asarray(caps, _I),
            np.asarray(costs, _I),
        )
    # Make sure every node exists, even isolated ones.
    mcf.set_nodes_supplies(np.arange(n, dtype=_I), np.asarray(supplies, _I))
    status = mcf.solve()
    if status == mcf.OPTIMAL:
        return "optimal", int(mcf.optimal_cost())
    assert status == mcf.INFEASIBLE, status
    return "infeasible", None


def check_solution(ns: NetworkSimplex, supplies, tails, heads, caps, costs) -> None:
    """Flows are feasible and the potentials certify optimality, exactly in integers."""
    n = len(supplies)
    tails, heads = np.asarray(tails, _I), np.asarray(heads, _I)
    caps, costs = np.asarray(caps, _I), np.asarray(costs, _I)
    f = ns.flows
    pi = ns.potentials
    assert f.dtype == _I and f.shape == tails.shape
    assert pi.shape == (n,)
    assert np.all(f >= 0) and np.all(f <= caps)
    net = np.zeros(n, dtype=object)  # exact: flows may be large
    for t, h, x in zip(tails.tolist(), heads.tolist(), f.tolist(), strict=True):
        net[t] += x
        net[h] -= x
    assert net.tolist() == [int(s) for s in supplies]
    # Sign convention: rc = c + pi[tail] - pi[head]; rc > 0 => f = 0; rc < 0 => f = cap.
    rc = [
        c + p - q
        for c, p, q in zip(costs.tolist(), pi[tails].tolist(), pi[heads].tolist(), strict=True)
    ]
    for r, x, u in zip(rc, f.tolist(), caps.tolist(), strict=True):
        if r > 0:
            assert x == 0
        if r < 0:
            assert x == u
        if 0 < x < u:
            assert r == 0
    exact = sum(c * x for c, x in zip(costs.tolist(), f.tolist(), strict=True))
    assert ns.optimal_cost == exact
    ns._check_tree()


def solve_and_compare(n, supplies, tails, heads, caps, costs) -> NetworkSimplex:
    ns = NetworkSimplex(n, np.asarray(supplies, _I))
    ids = ns.add_arcs(tails, heads, caps, costs)
    assert ids.tolist() == list(range(len(tails)))
    status = ns.solve()
    ref_status, ref_cost = ortools_solve(n, supplies, tails, heads, caps, costs)
    assert status == ref_status
    if status == "optimal":
        assert ns.optimal_cost == ref_cost
        check_solution(ns, supplies, tails, heads, caps, costs)
    else:
        ns._check_tree()
    return ns


def random_network(
    rng: np.random.Generator, n: int, m: int, max_cap: int, cost_lo: int, cost_hi: int
):
    """A random sparse graph whose supplies come from a random feasible flow (so mostly
    feasible), sometimes perturbed to make them infeasible."""
    tails = rng.integers(0, n, m)
    heads = rng.integers(0, n, m)
    caps = rng.integers(0, max_cap + 1, m)
    costs = rng.integers(cost_lo, cost_hi + 1, m)
    x = rng.integers(0, caps + 1)
    supplies = np.zeros(n, dtype=_I)
    np.add.at(supplies, tails, x)
    np.subtract.at(supplies, heads, x)
    if rng.random() < 0.3 and n >= 2:  # perturb: may become infeasible
        d = int(rng.integers(1, 200))
        supplies[0] += d
        supplies[1] -= d
    return supplies, tails, heads, caps, costs


def transportation(rng: np.random.Generator, n_sup: int, n_dem: int, m: int, cost_scale: int):
    """The planner's network: source -> suppliers -> demands -> sink, plus a bypass."""
    source, sink = 0, 1
    sup = 2 + np.arange(n_sup)
    dem = 2 + n_sup + np.arange(n_dem)
    hours_s = rng.integers(4, 41, n_sup)
    hours_d = rng.integers(4, 41, n_dem)
    a_s = rng.integers(0, n_sup, m)
    a_d = rng.integers(0, n_dem, m)
    total = int(hours_s.sum())
    tails = np.concatenate([np.full(n_sup, source), sup[a_s], dem, [source]])
    heads = np.concatenate([sup, dem[a_d], np.full(n_dem, sink), [sink]])
    caps = np.concatenate([hours_s, np.minimum(hours_s[a_s], hours_d[a_d]), hours_d, [total]])
    scores = rng.integers(cost_scale // 5, cost_scale + 1, m)
    costs = np.concatenate([np.zeros(n_sup, _I), -scores, np.zeros(n_dem, _I), [0]])
    n = 2 + n_sup + n_dem
    supplies = np.zeros(n, dtype=_I)
    supplies[source] = total
    supplies[sink] = -total
    return n, supplies, tails, heads, caps, costs


# ---------------------------------------------------------------------------- tests
def test_docstring_example() -> None:
    ns = NetworkSimplex(3, np.array([2, 0, -2]))
    ns.add_arcs(np.array([0, 1, 0]), np.array([1, 2, 2]), np.array([2, 2, 1]), np.array([1, 1, 3]))
    assert ns.solve() == "optimal"
    assert ns.optimal_cost == 4
    assert ns.flows.tolist() == [2, 2, 0]


@pytest.mark.parametrize("seed", range(30))
def test_random_sparse(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 80))
    m = int(rng.integers(0, 5 * n))
    solve_and_compare(n, *random_network(rng, n, m, max_cap=20, cost_lo=-50, cost_hi=100))


@pytest.mark.parametrize("seed", range(10))
def test_random_supplies_often_infeasible(seed: int) -> None:
    """Supplies unrelated to the capacities: status must agree with OR-Tools."""
    rng = np.random.default_rng(500 + seed)
    n = int(rng.integers(3, 50))
    m = int(rng.integers(0, 3 * n))
    _, tails, heads, caps, costs = random_network(rng, n, m, 10, -20, 20)
    supplies = rng.integers(-15, 16, n)
    supplies[-1] -= supplies.sum()
    solve_and_compare(n, supplies, tails, heads, caps, costs)


@pytest.mark.parametrize("seed", range(15))
def test_random_dense_negative(seed: int) -> None:
    """Mostly negative costs: many negative cycles to saturate."""
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(5, 40))
    m = int(rng.integers(n, n * n))
    solve_and_compare(n, *random_network(rng, n, m, max_cap=1000, cost_lo=-(10**6), cost_hi=10**5))


@pytest.mark.parametrize("seed", range(15))
def test_transportation_with_bypass(seed: int) -> None:
    rng = np.random.default_rng(2000 + seed)
    n_sup = int(rng.integers(1, 60))
    n_dem = int(rng.integers(1, 40))
    m = int(rng.integers(0, 6 * (n_sup + n_dem)))
    n, supplies, tails, heads, caps, costs = transportation(rng, n_sup, n_dem, m, 5 * 10**6)
    solve_and_compare(n, supplies, tails, heads, caps, costs)


@pytest.mark.parametrize("seed", range(12))
def test_warm_start_matches_cold(seed: int) -> None:
    rng = np.random.default_rng(3000 + seed)
    if seed % 2:
        n_sup, n_dem = int(rng.integers(5, 50)), int(rng.integers(5, 30))
        n, supplies, tails, heads, caps, costs = transportation(
            rng, n_sup, n_dem, 8 * (n_sup + n_dem), 10**6
        )
        # Start with the source/sink arcs, the bypass and a few assignment arcs.
        fixed = np.r_[np.arange(n_sup), np.arange(len(tails) - n_dem - 1, len(tails))]
        rest = np.setdiff1d(np.arange(len(tails)), fixed)
        rng.shuffle(rest)
        k0 = int(rng.integers(0, len(rest) // 3 + 1))
        rounds = [np.r_[fixed, rest[:k0]], *np.array_split(rest[k0:], 3)]
    else:
        n = int(rng.integers(3, 60))
        supplies, tails, heads, caps, costs = random_network(rng, n, 6 * n, 30, -40, 60)
        perm = rng.permutation(len(tails))
        rounds = np.array_split(perm, 4)
    ns = NetworkSimplex(n, supplies)
    seen = np.zeros(0, dtype=_I)
    next_id = 0
    for idx in rounds:
        half = len(idx) // 2  # two add_arcs calls between solves
        ids = np.r_[
            ns.add_arcs(tails[idx[:half]], heads[idx[:half]], caps[idx[:half]], costs[idx[:half]]),
            ns.add_arcs(tails[idx[half:]], heads[idx[half:]], caps[idx[half:]], costs[idx[half:]]),
        ]
        assert ids.tolist() == list(range(next_id, next_id + len(idx)))
        next_id += len(idx)
        seen = np.r_[seen, idx].astype(_I)
        status = ns.solve()
        sub = (supplies, tails[seen], heads[seen], caps[seen], costs[seen])
        ref_status, ref_cost = ortools_solve(n, *sub)
        assert status == ref_status
        if status == "optimal":
            assert ns.optimal_cost == ref_cost
            check_solution(ns, *sub)
        else:
            ns._check_tree()


def test_warm_start_from_infeasible_to_feasible() -> None:
    ns = NetworkSimplex(4, np.array([5, 0, 0, -5]))
    ns.add_arcs(np.array([0, 1]), np.array([1, 2]), np.array([5, 5]), np.array([1, 1]))
    assert ns.solve() == "infeasible"
    ns.add_arcs(np.array([2, 0]), np.array([3, 3]), np.array([3, 2]), np.array([1, 10]))
    assert ns.solve() == "optimal"
    check_solution(ns, [5, 0, 0, -5], [0, 1, 2, 0], [1, 2, 3, 3], [5, 5, 3, 2], [1, 1, 1, 10])
    assert ns.optimal_cost == 3 * 3 + 2 * 10


def test_warm_start_raises_big_m() -> None:
    """New arcs with much larger costs must still be priced correctly."""
    rng = np.random.default_rng(7)
    n = 30
    supplies, tails, heads, caps, costs = random_network(rng, n, 150, 20, -5, 5)
    supplies[0] += 3
    supplies[1] -= 3
    ns = NetworkSimplex(n, supplies)
    ns.add_arcs(tails, heads, caps, costs)
    ns.solve()
    t2, h2 = rng.integers(0, n, 100), rng.integers(0, n, 100)
    c2 = rng.integers(-(10**8), 10**8, 100)
    u2 = rng.integers(0, 50, 100)
    ns.add_arcs(t2, h2, u2, c2)
    status = ns.solve()
    full = (supplies, np.r_[tails, t2], np.r_[heads, h2], np.r_[caps, u2], np.r_[costs, c2])
    ref_status, ref_cost = ortools_solve(n, *full)
    assert status == ref_status
    if status == "optimal":
        assert ns.optimal_cost == ref_cost
        check_solution(ns, *full)


@pytest.mark.parametrize(
    ("supplies", "tails", "heads", "caps"),
    [
        ([3, -3], [], [], []),  # no arcs at all
        ([3, 0, -3], [0, 1], [1, 2], [3, 2]),  # bottleneck
        ([1, 1, -1], [0, 1], [2, 2], [1, 1]),  # overall surplus is not zero: rejected below
        ([4, 0, -4], [0, 1, 0], [1, 2, 2], [2, 2, 1]),  # cut of 3 < 4
    ],
)
def test_infeasible_detected(supplies, tails, heads, caps) -> None:
    if sum(supplies) != 0:
        with pytest.raises(ValueError, match="sum to 0"):
            NetworkSimplex(len(supplies), np.array(supplies))
        return
    ns = NetworkSimplex(len(supplies), np.array(supplies, dtype=_I))
    ns.add_arcs(
        np.array(tails, _I), np.array(heads, _I), np.array(caps, _I), np.ones(len(tails), _I)
    )
    assert ns.solve() == "infeasible"
    ns._check_tree()


def test_degenerate_cases() -> None:
    # Zero capacities, parallel arcs (different costs), a zero-cost cycle, a negative
    # cycle, an isolated node (4), a self-loop with negative cost.
    supplies = [4, 0, 0, -4, 0, 0]
    tails = [0, 0, 0, 0, 1, 2, 1, 2, 5, 1, 3, 2]
    heads = [1, 1, 1, 3, 2, 1, 3, 3, 5, 0, 1, 0]
    caps = [0, 2, 3, 0, 5, 7, 2, 9, 4, 3, 6, 1]
    costs = [-100, 2, 5, -9, 0, 0, 7, 1, -3, -1, -2, -4]
    solve_and_compare(6, supplies, tails, heads, caps, costs)
    # Everything zero: a circulation problem with only zero-cost arcs.
    solve_and_compare(3, [0, 0, 0], [0, 1, 2], [1, 2, 0], [5, 5, 5], [0, 0, 0])
    # Pure circulation with a negative cycle: saturated.
    ns = solve_and_compare(3, [0, 0, 0], [0, 1, 2], [1, 2, 0], [5, 4, 6], [1, -3, 1])
    assert ns.flows.tolist() == [4, 4, 4]
    # Empty network and a single node.
    for n in (0, 1):
        ns = NetworkSimplex(n, np.zeros(n, dtype=_I))
        assert ns.solve() == "optimal"
        assert ns.optimal_cost == 0 and ns.flows.shape == (0,) and ns.potentials.shape == (n,)


def test_all_parallel_arcs() -> None:
    rng = np.random.default_rng(11)
    m = 200
    solve_and_compare(
        2, [50, -50], np.zeros(m, _I), np.ones(m, _I), rng.integers(0, 3, m), rng.integers(-5, 5, m)
    )


def test_large_values_certified() -> None:
    """Capacities ~1e12 and costs ~1e9: products overflow int64, the cost must not."""
    rng = np.random.default_rng(5)
    n, m = 40, 300
    supplies, tails, heads, caps, costs = random_network(rng, n, m, 10**12, -(10**9), 10**9)
    ns = NetworkSimplex(n, supplies)
    ns.add_arcs(tails, heads, caps, costs)
    if ns.solve() == "optimal":
        check_solution(ns, supplies, tails, heads, caps, costs)
    assert abs(ns.optimal_cost) > 2**63  # genuinely beyond int64
    # Extreme limits accepted.
    ns = NetworkSimplex(2, np.array([CAP_MAX, -CAP_MAX]))
    ns.add_arcs(
        np.array([0, 0]),
        np.array([1, 1]),
        np.array([CAP_MAX, CAP_MAX]),
        np.array([COST_MAX, -COST_MAX]),
    )
    assert ns.solve() == "optimal"
    assert ns.optimal_cost == -COST_MAX * CAP_MAX
    check_solution(
        ns, [CAP_MAX, -CAP_MAX], [0, 0], [1, 1], [CAP_MAX, CAP_MAX], [COST_MAX, -COST_MAX]
    )


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="sum to 0"):
        NetworkSimplex(2, np.array([1, 0]))
    with pytest.raises(ValueError, match="length"):
        NetworkSimplex(3, np.array([1, -1]))
    with pytest.raises(TypeError):
        NetworkSimplex(2, np.array([1.0, -1.0]))
    ns = NetworkSimplex(2, np.array([1, -1]))
    with pytest.raises(ValueError, match="node ids"):
        ns.add_arcs(np.array([0]), np.array([2]), np.array([1]), np.array([1]))
    with pytest.raises(ValueError, match="capacities"):
        ns.add_arcs(np.array([0]), np.array([1]), np.array([-1]), np.array([1]))
    with pytest.raises(ValueError, match="COST_MAX"):
        ns.add_arcs(np.array([0]), np.array([1]), np.array([1]), np.array([COST_MAX + 1]))
    with pytest.raises(ValueError, match="same length"):
        ns.add_arcs(np.array([0]), np.array([1, 1]), np.array([1]), np.array([1]))
    assert ns.add_arcs(np.array([]), np.array([]), np.array([]), np.array([])).shape == (0,)


def test_storage_grows_by_doubling() -> None:
    """Many small add_arcs calls: ids stay consecutive, storage is reallocated rarely."""
    rng = np.random.default_rng(3)
    n = 20
    supplies, tails, heads, caps, costs = random_network(rng, n, 2000, 10, -20, 20)
    ns = NetworkSimplex(n, supplies)
    reallocs = 0
    buf = ns._src
    for lo in range(0, 2000, 10):
        s = slice(lo, lo + 10)
        ids = ns.add_arcs(tails[s], heads[s], caps[s], costs[s])
        assert ids[0] == lo
        if ns._src is not buf:
            reallocs += 1
            buf = ns._src
    assert reallocs <= 12
    ref_status, ref_cost = ortools_solve(n, supplies, tails, heads, caps, costs)
    assert ns.solve() == ref_status
    if ref_status == "optimal":
        assert ns.optimal_cost == ref_cost
        check_solution(ns, supplies, tails, heads, caps, costs)


def test_medium_transportation_warm() -> None:
    """A few thousand arcs, warm rounds of a few hundred arcs, as in column generation."""
    rng = np.random.default_rng(99)
    n_sup, n_dem = 400, 200
    n, supplies, tails, heads, caps, costs = transportation(rng, n_sup, n_dem, 8000, 5 * 10**6)
    fixed = np.r_[np.arange(n_sup), np.arange(len(tails) - n_dem - 1, len(tails))]
    rest = rng.permutation(np.setdiff1d(np.arange(len(tails)), fixed))
    rounds = [np.r_[fixed, rest[:4000]], *np.array_split(rest[4000:], 8)]
    ns = NetworkSimplex(n, supplies)
    seen = np.zeros(0, dtype=_I)
    for idx in rounds:
        ns.add_arcs(tails[idx], heads[idx], caps[idx], costs[idx])
        seen = np.r_[seen, idx].astype(_I)
        assert ns.solve() == "optimal"
    sub = (supplies, tails[seen], heads[seen], caps[seen], costs[seen])
    assert ns.optimal_cost == ortools_solve(n, *sub)[1]
    check_solution(ns, *sub)


@pytest.mark.parametrize("seed", range(8))
def test_solve_within_is_optimal_over_the_priced_ranges(seed: int) -> None:
    """Pricing only the fixed arcs and each round's new ones, the flow is optimal for the
    network of those arcs plus the tree; pricing every range proves the whole optimum.

    As in column generation, the added arcs never bind (their capacity exceeds any flow),
    so an arc left unpriced sits at flow 0, as if absent."""
    rng = np.random.default_rng(5000 + seed)
    n_sup, n_dem = int(rng.integers(5, 40)), int(rng.integers(5, 25))
    n, supplies, tails, heads, caps, costs = transportation(
        rng, n_sup, n_dem, 8 * (n_sup + n_dem), 10**6
    )
    fixed = np.r_[np.arange(n_sup), np.arange(len(tails) - n_dem - 1, len(tails))]
    rest = np.setdiff1d(np.arange(len(tails)), fixed)
    caps = caps.copy()
    caps[rest] = int(supplies.max()) + 1
    rng.shuffle(rest)
    ns = NetworkSimplex(n, supplies)
    order = fixed.astype(_I)
    ns.add_arcs(tails[fixed], heads[fixed], caps[fixed], costs[fixed])
    for idx in np.array_split(rest, 3):
        lo = ns.n_arcs
        ns.add_arcs(tails[idx], heads[idx], caps[idx], costs[idx])
        order = np.r_[order, idx].astype(_I)
        assert ns.solve_within([(0, len(fixed)), (lo, ns.n_arcs)]) == "optimal"
        # Optimal for the arcs priced (fixed, new) together with the tree's arcs.
        f = ns.flows
        priced = np.zeros(ns.n_arcs, dtype=bool)
        priced[: len(fixed)] = True
        priced[lo:] = True
        keep = priced | (f > 0)
        sub = (supplies, tails[order][keep], heads[order][keep], caps[order][keep])
        _, ref_cost = ortools_solve(n, *sub, costs[order][keep])
        assert ns.optimal_cost == ref_cost
    assert ns.solve_within([(0, ns.n_arcs)]) == "optimal"
    _, ref_cost = ortools_solve(n, supplies, tails[order], heads[order], caps[order], costs[order])
    assert ns.optimal_cost == ref_cost
    check_solution(ns, supplies, tails[order], heads[order], caps[order], costs[order])


@pytest.mark.parametrize("every", [1, 3])
@pytest.mark.parametrize("seed", range(6))
def test_renumbering_mid_solve_keeps_the_callers_node_ids(seed: int, every: int) -> None:
    """Renumbering the nodes every ``every`` pivots (thousands in real use) must not
    change the optimum, the flows' arc ids, or the node ids the potentials use: the
    certificate is checked in the caller's ids, cold, warm and within ranges."""
    rng = np.random.default_rng(7000 + seed)
    n = int(rng.integers(5, 50))
    supplies, tails, heads, caps, costs = random_network(rng, n, 6 * n, 25, -30, 50)
    ns = NetworkSimplex(n, supplies)
    ns.renumber_every = every
    m = len(tails)
    for k, (lo, hi) in enumerate([(0, m // 2), (m // 2, 3 * m // 4), (3 * m // 4, m)]):
        ns.add_arcs(tails[lo:hi], heads[lo:hi], caps[lo:hi], costs[lo:hi])
        # cold, warm, then pricing within ranges that together cover every arc
        status = ns.solve() if k < 2 else ns.solve_within([(0, lo), (lo, hi)])
        sub = (supplies, tails[:hi], heads[:hi], caps[:hi], costs[:hi])
        ref_status, ref_cost = ortools_solve(n, *sub)
        assert status == ref_status
        if status == "optimal":
            assert ns.optimal_cost == ref_cost
            check_solution(ns, *sub)
        else:
            ns._check_tree()


def test_renumbering_follows_the_thread() -> None:
    """After a warm solve the internal node order is the tree's preorder (the point of
    renumbering), while the caller's ids still map to the same nodes."""
    rng = np.random.default_rng(11)
    n_sup, n_dem = 30, 20
    n, supplies, tails, heads, caps, costs = transportation(rng, n_sup, n_dem, 300, 1000)
    ns = NetworkSimplex(n, supplies)
    ns.add_arcs(tails[:150], heads[:150], caps[:150], costs[:150])
    ns.solve()
    ns.add_arcs(tails[150:], heads[150:], caps[150:], costs[150:])
    ns.solve()
    ns._renumber()
    order, u = [], int(ns._thread[n])
    while u != n:
        order.append(u)
        u = int(ns._thread[u])
    assert order == list(range(n))
    check_solution(ns, supplies, tails, heads, caps, costs)
