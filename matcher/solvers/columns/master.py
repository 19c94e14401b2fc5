"""The column generation loop: solve the restricted network, price, bring arcs in, repeat.

Group-to-cell and tie arcs are implicit. The restricted network
(:mod:`~matcher.solvers.columns.restricted`) starts with the best few arcs of each group
and class (zero prices), and is solved by the warm-started network simplex of
:mod:`matcher.solvers.netsimplex`, over all its arcs each round (so no arc already in it
ever prices out again). Its node potentials price every implicit arc
(:mod:`~matcher.solvers.columns.pricing`); the most negative arcs of each group enter, and
the loop repeats until none is negative: then the potentials are dual feasible for the
whole network and the flow is optimal for it, exactly (in the integer costs; the reported
bound adds the rounding of scores, as :mod:`matcher.solvers.flow` does).

Warm start
----------
A plan's final potentials, read as marginal values (:class:`Duals`: an hour more of each
supplier, of each demand), can start the column generation of a similar dataset, such as
a what-if scenario of it: the first round is then priced at those values instead of zero,
and brings in each group's and class's arcs that price within :data:`WARM_SLACK` of tight
(instead of its best-scoring ones). The later rounds, and the proof of optimality, are as
without it, so the plan is as exact either way; where the optimum is not unique, the plan
may be another optimal one, the same for the same start. At generator scale 1 a scenario
re-planned from its base plan's values took 14.2 s instead of 29.8 s (demand 30 % higher in
one district), 13.3 s instead of 34.3 s (10 % of the cadres at half their hours), and the
base itself 5.0 s instead of 24.5 s (``benchmarks/bench_warm.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from matcher.errors import SolverError
from matcher.i18n import N_, Text
from matcher.model.arcs import TieIndex
from matcher.progress import Reporter, reporter
from matcher.solvers.columns.bound import dual_bound
from matcher.solvers.columns.disaggregate import disaggregate
from matcher.solvers.columns.duals import duals_of, start_potentials
from matcher.solvers.columns.network import Network, build_network
from matcher.solvers.columns.pricing import Pricing
from matcher.solvers.columns.reasons import reasons
from matcher.solvers.columns.restricted import Layout, Master, layout
from matcher.solvers.netsimplex import NetworkSimplex
from matcher.solvers.outcomes import ColumnResult, Duals

__all__ = ["WARM_FIRST_ROUND", "WARM_SLACK", "solve_columns"]

_I = np.int64

WARM_SLACK = 0.003
"""With a warm start, the first round brings in arcs that price below this (in score)
at the start's values: at generator scale 0.3, 0.001 took 0.71 s, 0.003 0.60 s, 0.01
0.75 s (re-planning the same dataset from its own values; 2.5 s cold)."""
WARM_FIRST_ROUND = 4
"""With a warm start, arcs each group and class may bring in in the first round (the
three changed scenarios of ``bench_warm.py`` at scale 0.3: 3.3 to 3.4 s in all with 4,
3.9 s with 8 and a slack of 0.01)."""


def _open_master(net: Network, lay: Layout) -> Master:
    """The restricted network with its fixed arcs only: ``class -> sink`` (hours left
    unused), ``class -> shared group``, ``cell -> sink``; each class supplies its hours."""
    n_c, n_e, sink = lay.n_c, lay.n_e, lay.sink
    total = int(net.class_hours.sum())
    supplies = np.zeros(sink + 1, dtype=_I)
    supplies[:n_c] = net.class_hours
    supplies[sink] = -total
    ns = NetworkSimplex(sink + 1, supplies)
    ns.add_arcs(np.arange(n_c), np.full(n_c, sink), net.class_hours, np.zeros(n_c, _I))
    n_sk = len(lay.sk_arc)
    ns.add_arcs(
        net.class_skill_owner[lay.sk_arc],
        lay.group_node[net.class_skill_group[lay.sk_arc]],
        np.full(n_sk, max(total, 1), _I),
        np.zeros(n_sk, _I),
    )
    cells = lay.cell0 + np.arange(n_e, dtype=_I)
    ns.add_arcs(cells, np.full(n_e, sink), net.cell_hours, np.zeros(n_e, _I))
    return Master(net, lay, ns, n_c + n_sk + n_e, [], [])


BOUND_SHARE = 0.02
"""Share of the column generation's time that reporting its bound may take. Each bound is
a scan of every implicit arc (:func:`dual_bound`), at generator scale 0.3 about a fifth
of a round: computed every round it made the plan 10 to 20 % slower. So a round's bound
is computed only while the time spent on bounds stays within this share; other rounds
report the best bound computed so far (still a proven bound)."""


@dataclass
class _Run:
    """What the loop leaves: its final potentials, and its counts and times."""

    pi: npt.NDArray[np.int64]
    rounds: int = 0
    pivots: int = 0
    simplex_seconds: float = 0.0
    pricing_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    """When the loop started (the bound's time budget counts from it)."""
    bound: float | None = None
    """The best (lowest) upper bound reported so far."""
    bound_seconds: float = 0.0
    """Time spent computing reported bounds, and the last one's cost."""
    bound_cost: float = 0.0


def _solve_master(master: Master, run: _Run) -> None:
    """Solve the restricted network over all its arcs; its potentials go to ``run``.

    Every arc in the network is priced (this round's first), so none of them has a
    negative reduced cost when the kernels run again: they only ever offer arcs not yet
    in. Pricing only this round's arcs (NetworkSimplex.solve_within) let old arcs come
    back as copies that took the rounds' places: at scale 1, 63 rounds, 2.30 million arcs
    and 43.7 s, against 12 rounds, 0.90 million and 29.7 s.
    """
    t0 = time.perf_counter()
    status = master.ns.solve()
    run.simplex_seconds += time.perf_counter() - t0
    run.pivots += master.ns.pivots
    if status != "optimal":
        raise SolverError(
            Text(N_("network simplex ended with status {status}"), status=repr(status))
        )
    run.pi = master.ns.potentials


def _generate(
    ix: TieIndex,
    master: Master,
    pricing: Pricing,
    first_round: int,
    per_round: int,
    max_rounds: int,
    warm_start: Duals | None,
    report: Reporter,
) -> _Run:
    """Price and solve until no implicit arc prices out (see module doc); each round
    solved is reported (:func:`_report_round`)."""
    scale = ix.params.cost_scale
    run = _Run(pi=np.zeros(master.lay.sink + 1, dtype=_I))
    for rounds in range(1, max_rounds + 1):
        run.rounds = rounds
        t0 = time.perf_counter()
        m, pi = (first_round if rounds == 1 else per_round), run.pi
        if rounds == 1 and warm_start is not None:
            # Lowering the classes' and groups' potentials by the slack makes the kernels
            # keep the arcs that price below it, not only the negative ones.
            m = WARM_FIRST_ROUND
            pi = start_potentials(ix, master.net, master.lay, warm_start, scale)
            pi[: master.lay.cell0] -= round(WARM_SLACK * scale)
        group_arcs, tie_arcs = pricing.round(pi, m)
        added = master.add(*group_arcs)
        added += master.add(*tie_arcs)
        run.pricing_seconds += time.perf_counter() - t0
        if added == 0 and rounds > 1:
            return run
        _solve_master(master, run)
        _report_round(ix, master, run, report)
        if added == 0 and warm_start is None:
            # Round 1 priced at zero: no arc at all (a warm start's round 1 proves nothing).
            return run
    raise SolverError(Text(N_("column generation did not converge in {n} rounds"), n=max_rounds))


def _report_round(ix: TieIndex, master: Master, run: _Run, report: Reporter) -> None:
    """Report a round: the restricted network's optimum (in the rounded scores) and an
    upper bound on the optimum.

    The bound is the one the round's potentials prove over every implicit arc
    (:func:`dual_bound`, weak duality: true whatever the round), computed only when
    someone listens and within :data:`BOUND_SHARE` of the time; else the best one
    computed before (a bound still). It is read-only: the plan is the same either way.
    """
    if not report.active:
        return
    lay, scale = master.lay, ix.params.cost_scale
    now = time.perf_counter()
    if run.bound_seconds + run.bound_cost <= BOUND_SHARE * (now - run.started):
        pi = run.pi
        v_cell = np.maximum(0, pi[lay.sink] - pi[lay.cell0 : lay.cell0 + lay.n_e]) / scale
        bound = dual_bound(master.net, ix.params, v_cell)
        run.bound = bound if run.bound is None else min(run.bound, bound)
        run.bound_cost = time.perf_counter() - now
        run.bound_seconds += run.bound_cost
    incumbent = -master.ns.optimal_cost / scale
    report("solve", round=run.rounds, incumbent=incumbent, bound=run.bound)


def _result(ix: TieIndex, master: Master, run: _Run, start: float) -> ColumnResult:
    """The plan of the final master: its compact arcs, objective, bounds and reasons."""
    net, lay, ns = master.net, master.lay, master.ns
    scale = ix.params.cost_scale
    arcs, flow = disaggregate(ix, master, ns.flows)
    objective = float(np.dot(flow, arcs.weight))
    rounded_optimum = -ns.optimal_cost / scale
    # Every arc's integer cost is within 1 unit of its score (rint, and at least 1).
    hours = min(int(net.class_hours.sum()), int(net.cell_hours.sum()))
    # The final potentials, read as duals of the cells, give a second bound over every
    # implicit arc with the true (unrounded) scores: usually the tighter one.
    pi = run.pi
    v_cell = np.maximum(0, pi[lay.sink] - pi[lay.cell0 : lay.cell0 + lay.n_e]) / scale
    bound = max(min(rounded_optimum + hours / scale, dual_bound(net, ix.params, v_cell)), objective)
    gap = (bound - objective) / max(abs(bound), 1.0)
    demand_reasons, n_arcs = reasons(ix, net, arcs, flow)
    return ColumnResult(
        flow=flow,
        status="optimal",
        objective=objective,
        bound=bound,
        gap=gap,
        wall_seconds=time.perf_counter() - start,
        solver="matcher.columns+network_simplex",
        arcs=arcs,
        reasons=demand_reasons,
        candidate_arcs=n_arcs,
        rounds=run.rounds,
        columns=sum(len(t) for t in master.tail),
        pivots=run.pivots,
        simplex_seconds=run.simplex_seconds,
        pricing_seconds=run.pricing_seconds,
        duals=duals_of(ix, net, lay, pi, scale),
    )


def solve_columns(
    ix: TieIndex,
    per_round: int = 2,
    first_round: int = 2,
    per_cell: int = 4,
    max_rounds: int = 10_000,
    warm_start: Duals | None = None,
    report: Reporter | None = None,
) -> ColumnResult:
    """Solve the labour objective of ``ix`` exactly by column generation.

    Parameters
    ----------
    ix
        From :func:`matcher.model.arcs.index_dataset`.
    per_round, first_round
        Arcs each group and class may bring in per pricing round; the first round is
        priced at zero potentials, so it brings in each one's best-scoring arcs.
    per_cell
        Arcs each demand cell may bring in per round besides (its most negative ones
        from any group), so that cells many groups compete for get options of their
        own. At generator scale 0.3, 2, 2 and 4 took 2.92 s; 2, 2 and 2 took 2.87 s, and
        other mixes up to 3.17 s (3, 3, 4: 2.96 s; 4, 4, 4: 3.05 s; 2, 4, 4: 3.17 s).
    max_rounds
        A safeguard; column generation ends long before.
    warm_start
        Marginal values of a similar plan (its :attr:`ColumnResult.duals`) to price the
        first round at (module doc, "Warm start"); ``first_round`` is then
        :data:`WARM_FIRST_ROUND`. The plan is optimal either way.
    report
        Told of each round solved: its number, the restricted network's optimum and a
        proven upper bound (:mod:`matcher.progress`); never changes the plan.

    Returns
    -------
    ColumnResult
        The flow on the compact arcs that carry hours, with the demands' reasons and the
        plain model's candidate-arc count.

    Raises
    ------
    NotApplicable
        If the dataset is outside what this solver handles (see :func:`build_network`).

    Examples
    --------
    >>> from matcher.inputs.dataset import load_dataset
    >>> from matcher.model.arcs import index_dataset
    >>> r = solve_columns(index_dataset(load_dataset("tests/data/example/dataset")))
    >>> r.status, round(r.objective, 4), r.candidate_arcs
    ('optimal', 139.6961, 9)
    """
    start = time.perf_counter()
    net = build_network(ix)
    lay = layout(net)
    master = _open_master(net, lay)
    pricing = Pricing(net, lay, ix.params, per_cell)
    report = report or reporter(None)
    run = _generate(ix, master, pricing, first_round, per_round, max_rounds, warm_start, report)
    return _result(ix, master, run, start)
