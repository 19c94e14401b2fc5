"""The labour objective as a min-cost flow, solved exactly with OR-Tools.

Network: source -> supplier (capacity: the supplier's hours) -> demand (one arc per
candidate arc, capacity ``min(hours)``, cost ``-score``) -> sink (capacity: the demand's
hours), plus one source -> sink arc of cost 0 that carries whatever is better left
unassigned. A min-cost flow of value "all supply" is then a maximum-score assignment,
and its flows are whole hours, as the spec requires (network matrices are totally
unimodular, so the LP optimum is integral).

OR-Tools needs integer costs: scores are scaled by ``cost_scale`` and rounded (a positive
score never rounds below one unit). With ``err`` the largest rounding error of any
arc's score (about ``0.5 / cost_scale``), the true optimum is at most
``rounded optimum + err * H`` where ``H`` bounds the hours that can be assigned. That is
the bound reported, and the gap is measured against it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.errors import SolverError
from matcher.i18n import N_, Text
from matcher.model.arcs import Problem

__all__ = ["FlowResult", "solve_flow", "useful_arcs"]

_I = np.int64
_INT64_SAFE = 2**62


@dataclass(frozen=True)
class FlowResult:
    """The outcome of a solve.

    Attributes
    ----------
    flow
        Hours on each candidate arc of ``problem.arcs`` (``int64``, same order).
    status
        ``"optimal"`` when optimality is proven (within ``gap``).
    objective
        The plan's true objective, computed from unrounded scores.
    bound
        A proven upper bound on the optimum.
    gap
        ``(bound - objective) / max(|bound|, 1)``: how far from optimal the plan can be.
    wall_seconds
        Wall time of building the network and solving it.
    solver
        The solver's name.
    """

    flow: np.ndarray
    status: str
    objective: float
    bound: float
    gap: float
    wall_seconds: float
    solver: str = "ortools.min_cost_flow"

    @property
    def proven_optimal(self) -> bool:
        """Whether the plan is proven optimal."""
        return self.status == "optimal"


def useful_arcs(problem: Problem) -> np.ndarray:
    """Which arcs can carry hours: score above zero, supplier and demand with hours.

    The flow network is built from these; arcs left out never carry hours.
    """
    arcs = problem.arcs
    mask: np.ndarray = (
        (arcs.weight > 0)
        & (problem.suppliers.hours[arcs.supplier] > 0)
        & (problem.demand_hours[arcs.demand] > 0)
    )
    return mask


def solve_flow(problem: Problem, capacity: np.ndarray | None = None) -> FlowResult:
    """Solve the labour objective of ``problem`` to proven optimality.

    Parameters
    ----------
    problem
        From :func:`matcher.model.arcs.build_problem`.
    capacity
        Optional hours each arc may carry at most (besides its supplier's and demand's
        hours); stable re-planning splits an arc into pieces of limited capacity.

    Returns
    -------
    FlowResult

    Raises
    ------
    SolverError
        If OR-Tools does not report an optimal flow (a bug or an overflow, never an
        ordinary outcome: this network always has a feasible flow).

    Examples
    --------
    >>> from matcher.inputs.dataset import load_dataset
    >>> from matcher.model.arcs import build_problem
    >>> r = solve_flow(build_problem(load_dataset("tests/data/example/dataset")))
    >>> r.status, round(r.objective, 4)
    ('optimal', 139.6961)
    """
    start = time.perf_counter()
    arcs = problem.arcs
    scale = problem.params.cost_scale
    # Every arc scoring above zero enters, even one whose score rounds to 0 at this scale:
    # it then costs one unit, an error below 1/scale per hour that the bound accounts for.
    cost = np.maximum(np.rint(arcs.weight * scale), 1.0)
    useful = useful_arcs(problem)
    if capacity is not None:
        useful &= capacity > 0
    idx = np.flatnonzero(useful)
    flow = np.zeros(len(arcs), dtype=_I)
    if len(idx) == 0:
        return FlowResult(flow, "optimal", 0.0, 0.0, 0.0, time.perf_counter() - start)
    net = _network(problem, idx, cost, capacity)
    flow[idx], optimal_cost = _min_cost_flow(net)
    objective = float(np.dot(flow[idx], arcs.weight[idx]))
    bound = max(_bound(problem, idx, cost, -optimal_cost / scale), objective)
    gap = (bound - objective) / max(abs(bound), 1.0)
    return FlowResult(flow, "optimal", objective, bound, gap, time.perf_counter() - start)


@dataclass(frozen=True)
class _Network:
    """The flow network: source -> supplier -> demand -> sink, plus an idle arc
    source -> sink; the supplier -> demand arcs (one per useful arc) come right after
    the source's arcs."""

    tails: npt.NDArray[np.int64]
    heads: npt.NDArray[np.int64]
    caps: npt.NDArray[np.int64]
    costs: npt.NDArray[np.int64]
    n_nodes: int
    source: int
    sink: int
    total_supply: int
    first_mid: int  # the first supplier -> demand arc
    n_mid: int


def _network(
    problem: Problem,
    idx: npt.NDArray[np.int64],
    cost: npt.NDArray[np.float64],
    capacity: np.ndarray | None,
) -> _Network:
    """The network of the useful arcs ``idx``; only suppliers and demands on one enter."""
    arcs = problem.arcs
    sup_hours, dem_hours = problem.suppliers.hours, problem.demand_hours
    sups, sup_node = np.unique(arcs.supplier[idx], return_inverse=True)
    dems, dem_node = np.unique(arcs.demand[idx], return_inverse=True)
    n_s, n_d = len(sups), len(dems)
    source, sink = n_s + n_d, n_s + n_d + 1
    n_nodes = n_s + n_d + 2
    max_cost = float(cost[idx].max())
    if max_cost * (n_nodes + 1) >= _INT64_SAFE:
        raise SolverError(
            Text(
                N_(
                    "scores scaled by cost_scale={scale} overflow the flow solver's "
                    "integers; lower cost_scale"
                ),
                scale=f"{problem.params.cost_scale:g}",
            )
        )
    total_supply = int(sup_hours[sups].sum())
    caps_mid = np.minimum(sup_hours[arcs.supplier[idx]], dem_hours[arcs.demand[idx]])
    if capacity is not None:
        caps_mid = np.minimum(caps_mid, capacity[idx])
    tails = np.concatenate(
        (
            np.full(n_s, source, _I),
            sup_node.astype(_I),
            n_s + np.arange(n_d, dtype=_I),
            np.array([source], _I),
        )
    )
    heads = np.concatenate(
        (
            np.arange(n_s, dtype=_I),
            n_s + dem_node.astype(_I),
            np.full(n_d, sink, _I),
            np.array([sink], _I),
        )
    )
    caps = np.concatenate(
        (sup_hours[sups], caps_mid, dem_hours[dems], np.array([total_supply], _I))
    ).astype(_I)
    costs = np.concatenate(
        (np.zeros(n_s, _I), -cost[idx].astype(_I), np.zeros(n_d, _I), np.zeros(1, _I))
    )
    return _Network(tails, heads, caps, costs, n_nodes, source, sink, total_supply, n_s, len(idx))


def _min_cost_flow(net: _Network) -> tuple[npt.NDArray[np.int64], int]:
    """OR-Tools' optimal flow on the supplier -> demand arcs, and its cost."""
    from ortools.graph.python import min_cost_flow  # not loaded by column-solver plans

    mcf = min_cost_flow.SimpleMinCostFlow()
    arc_ids = mcf.add_arcs_with_capacity_and_unit_cost(net.tails, net.heads, net.caps, net.costs)
    supplies = np.zeros(net.n_nodes, _I)
    supplies[net.source], supplies[net.sink] = net.total_supply, -net.total_supply
    mcf.set_nodes_supplies(np.arange(net.n_nodes, dtype=_I), supplies)
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        raise SolverError(Text(N_("min-cost flow ended with status {status}"), status=repr(status)))
    mid = arc_ids[net.first_mid : net.first_mid + net.n_mid]
    return mcf.flows(mid), int(mcf.optimal_cost())


def _bound(
    problem: Problem,
    idx: npt.NDArray[np.int64],
    cost: npt.NDArray[np.float64],
    rounded_optimum: float,
) -> float:
    """A proven bound on the true objective from the optimum of the integer costs: any
    plan moves at most H hours, each scored within ``err`` of its integer cost."""
    arcs = problem.arcs
    err = float(np.abs(arcs.weight[idx] - cost[idx] / problem.params.cost_scale).max())
    positive = arcs.weight > 0
    max_hours = min(
        int(problem.suppliers.hours[np.unique(arcs.supplier[positive])].sum()),
        int(problem.demand_hours[np.unique(arcs.demand[positive])].sum()),
    )
    return rounded_optimum + err * max_hours
