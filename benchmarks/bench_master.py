"""The column-generation master on its own: where the network simplex spends its pivots.

At city scale the network simplex is most of the planner's time (85 % at generator
scale 1.0). This script runs the columns solver once on a generated dataset, records
every master it solves, and then, on the final master (every arc brought in):

- each round's new arcs (the first round's include the fixed ones), pivots and seconds,
  as the planner ran them (warm starts after the first);
- a cold solve by :class:`~matcher.solvers.netsimplex.NetworkSimplex`, and by OR-Tools'
  min-cost flow (cost scaling), with the ratio of their times;
- cold solves of the final master cut down to the fixed arcs, the arcs carrying flow and
  the arcs whose reduced cost at the *optimal* potentials is at most ``t`` (one line per
  ``--thresholds`` value): what a column generation would gain from knowing the optimal
  duals early. Each must reach the same optimal cost, which the script checks;
- with ``--round-costs``, cold solves of the final master with every cost rounded to a
  multiple of ``g``: the pivots and seconds, and how far the rounded problem's optimal
  flow is from the optimum in the true costs (it is at most ``g`` per unit of flow,
  summed over the flow's arcs). Whether the issue's allowed 0.01 % gap buys speed this way.

    .venv/bin/python benchmarks/bench_master.py --scale 0.3
    .venv/bin/python benchmarks/bench_master.py --scale 1 --thresholds 0 10000
    .venv/bin/python benchmarks/bench_master.py --scale 0.3 --round-costs 1000 10000 50000

Costs are the planner's integer costs (``cost_scale`` units: 10,000 is 0.01 of score).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from matcher.solvers.columns import master as columns
from matcher.solvers.netsimplex import NetworkSimplex


class _Recording(NetworkSimplex):
    """A network simplex that keeps a copy of every arc added and times every solve."""

    last: _Recording | None = None

    def __init__(self, n_nodes: int, supplies: np.ndarray) -> None:
        super().__init__(n_nodes, supplies)
        self.supplies = np.asarray(supplies, dtype=np.int64).copy()
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.rounds: list[tuple[int, int, float]] = []
        _Recording.last = self

    def add_arcs(
        self, tails: np.ndarray, heads: np.ndarray, capacities: np.ndarray, costs: np.ndarray
    ) -> np.ndarray:
        self.parts.append(
            tuple(np.asarray(a, dtype=np.int64).copy() for a in (tails, heads, capacities, costs))
        )
        return super().add_arcs(tails, heads, capacities, costs)

    def solve(self) -> str:
        before = self.n_arcs - sum(r[0] for r in self.rounds)
        t0 = time.perf_counter()
        status = super().solve()
        self.rounds.append((before, self.pivots, time.perf_counter() - t0))
        return status

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(4))


@contextmanager
def _recording() -> Iterator[None]:
    """Make the columns solver build its masters as :class:`_Recording`."""
    space = vars(columns)
    original = space["NetworkSimplex"]
    space["NetworkSimplex"] = _Recording
    try:
        yield
    finally:
        space["NetworkSimplex"] = original


def _cold(
    n: int, supplies: np.ndarray, arcs: tuple[np.ndarray, ...]
) -> tuple[NetworkSimplex, float]:
    ns = NetworkSimplex(n, supplies)
    ns.add_arcs(*arcs)
    t0 = time.perf_counter()
    status = ns.solve()
    if status != "optimal":
        raise SystemExit(f"cold solve ended {status!r}")
    return ns, time.perf_counter() - t0


def _ortools(n: int, supplies: np.ndarray, arcs: tuple[np.ndarray, ...]) -> tuple[int, float]:
    from ortools.graph.python import min_cost_flow

    mcf = min_cost_flow.SimpleMinCostFlow()
    tail, head, cap, cost = arcs
    mcf.add_arcs_with_capacity_and_unit_cost(tail, head, cap, cost)
    mcf.set_nodes_supplies(np.arange(n), supplies)
    t0 = time.perf_counter()
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        raise SystemExit(f"OR-Tools ended with status {status}")
    return int(mcf.optimal_cost()), time.perf_counter() - t0


def run(
    scale: float,
    seed: int,
    thresholds: list[float],
    ortools: bool,
    round_costs: list[int] | None = None,
) -> dict[str, Any]:
    """Measure one generated dataset; prints as it goes and returns the figures."""
    from matcher.inputs.dataset import dataset_from_frames
    from matcher.inputs.generate import generate
    from matcher.model.arcs import index_dataset

    ix = index_dataset(dataset_from_frames(generate(scale=scale, seed=seed)))
    with _recording():
        t0 = time.perf_counter()
        result = columns.solve_columns(ix)
        wall = time.perf_counter() - t0
    rec = _Recording.last
    assert rec is not None
    n, sup = rec.n_nodes, rec.supplies
    arcs = rec.arrays()
    print(f"scale {scale}, seed {seed}: {n:,} nodes, {len(arcs[0]):,} arcs in the final master")
    print(
        f"  column generation {wall:.2f} s, simplex {result.simplex_seconds:.2f} s, "
        f"{result.pivots:,} pivots, {result.rounds} rounds"
    )
    for k, (new, piv, sec) in enumerate(rec.rounds, 1):
        print(f"    round {k:2d}: {new:9,} new arcs {piv:9,} pivots {sec:7.2f} s")
    ns, cold = _cold(n, sup, arcs)
    best = ns.optimal_cost
    figures: dict[str, Any] = {
        "warm_seconds": result.simplex_seconds,
        "warm_pivots": result.pivots,
        "cold_seconds": cold,
        "cold_pivots": ns.pivots,
    }
    print(
        f"  cold, final master:      {ns.pivots:9,} pivots {cold:7.2f} s "
        f"({cold / result.simplex_seconds:.2f} x the warm rounds)"
    )
    if ortools:
        cost, sec = _ortools(n, sup, arcs)
        if cost != best:
            raise SystemExit(f"OR-Tools reached {cost}, the network simplex {best}")
        figures["ortools_seconds"] = sec
        print(f"  OR-Tools, final master:  {'':9} {'':7} {sec:7.2f} s ({sec / cold:.2f} x ours)")
    pi, flow = ns.potentials, ns.flows
    tail, head, cap, cost_ = arcs
    rc = cost_ + pi[tail] - pi[head]
    for thr in thresholds:
        # The fixed arcs (class -> sink, class -> group, cell -> sink) are the ones of cost
        # 0: an arc brought in costs at least 1 (see matcher.solvers.columns.pricing._cost).
        keep = (cost_ == 0) | (flow > 0) | (rc <= thr)
        sub, sec = _cold(n, sup, tuple(a[keep] for a in arcs))
        if sub.optimal_cost != best:
            raise SystemExit(f"the cut-down master at {thr} reached {sub.optimal_cost}, not {best}")
        figures[f"rc<={thr:g}"] = {"arcs": int(keep.sum()), "pivots": sub.pivots, "seconds": sec}
        print(
            f"  cold, rc* <= {thr:<9g} {int(keep.sum()):9,} arcs {sub.pivots:9,} pivots "
            f"{sec:7.2f} s ({sec / cold:.2f} x the final master)"
        )
    for g in round_costs or []:
        rounded = np.round(cost_ / g).astype(np.int64) * g
        sub, sec = _cold(n, sup, (tail, head, cap, rounded))
        # The rounded problem's optimum, in the true costs: never below the true optimum.
        true = int(np.dot(sub.flows, cost_))
        excess = true - best
        # Each unit of supply crosses at most one arc of non-zero cost (group -> cell or a
        # tie arc), whose cost moved by at most g / 2, in either flow.
        most = g * int(sup[sup > 0].sum())
        if not 0 <= excess <= most:
            raise SystemExit(f"costs rounded to {g}: {excess} above the optimum, not 0..{most}")
        figures[f"round{g}"] = {"pivots": sub.pivots, "seconds": sec, "excess": excess}
        print(
            f"  cold, costs rounded to {g:<7} {sub.pivots:9,} pivots {sec:7.2f} s "
            f"({sec / cold:.2f} x exact); its flow is {excess:,} above the optimum "
            f"({100 * excess / abs(best):.5f} %)"
        )
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--thresholds", type=float, nargs="*", default=[0.0, 10_000.0, 100_000.0])
    ap.add_argument("--no-ortools", action="store_true", help="skip the OR-Tools cold solve")
    ap.add_argument(
        "--round-costs",
        type=int,
        nargs="*",
        default=[],
        metavar="G",
        help="also solve the final master cold with costs rounded to multiples of G",
    )
    args = ap.parse_args()
    if any(g < 1 for g in args.round_costs):
        ap.error("--round-costs: each G must be a positive integer (cost units)")
    cores = os.cpu_count()
    print(f"machine: {platform.machine()}, {cores} cores, python {platform.python_version()}")
    run(args.scale, args.seed, args.thresholds, not args.no_ortools, args.round_costs)


if __name__ == "__main__":
    main()
