"""Independent parts of the labour flow, solved one by one, in this process or on Ray.

Hours flow only along useful arcs (score above zero, supplier and demand with hours), so
the suppliers and demands linked by such arcs form connected components that share
nothing: the labour optimum is the sum of the components' optima, and each component can
be solved alone. Several cities in one dataset are such parts, and so are many
outlying communities of one city.

:func:`connected_components` labels the parts; :func:`solve_component` solves one;
:func:`solve_flow_parts` solves them all, locally or as Ray tasks, and puts the flows back
together into one :class:`~matcher.solvers.flow.FlowResult` on the problem's arcs.

Every part is solved on its own (never together with another), so the flow does not
depend on how parts are grouped into tasks, on the number of workers nor on the engine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.errors import ParameterError, SolverError
from matcher.i18n import N_, Text
from matcher.model.arcs import Arcs, Problem
from matcher.model.suppliers import Suppliers
from matcher.params import PlanParams
from matcher.solvers.flow import FlowResult, solve_flow, useful_arcs

__all__ = [
    "ENGINES",
    "SOLVER",
    "FlowPart",
    "PartResult",
    "component_arcs",
    "connected_components",
    "flow_part",
    "ray_session",
    "solve_component",
    "solve_flow_parts",
    "solve_part",
]

ENGINES: tuple[str, ...] = ("local", "ray")
"""Where :func:`solve_flow_parts` runs the parts."""

SOLVER = "ortools.min_cost_flow"

_I = np.int64


def connected_components(problem: Problem) -> tuple[int, np.ndarray, np.ndarray]:
    """Label the connected components of the supplier-demand graph of useful arcs.

    Parameters
    ----------
    problem
        From :func:`matcher.model.arcs.build_problem`.

    Returns
    -------
    (n_components, supplier_label, demand_label)
        Labels run ``0..n_components-1``, numbered in the order of each component's
        lowest supplier; a supplier or demand on no useful arc gets ``-1`` (it belongs
        to no part: it can neither give nor get hours).

    Examples
    --------
    >>> from matcher.inputs.dataset import load_dataset
    >>> from matcher.model.arcs import build_problem
    >>> n, sup, dem = connected_components(
    ...     build_problem(load_dataset("tests/data/example/dataset"))
    ... )
    >>> n, sup.tolist(), dem.tolist()
    (3, [0, 1, -1, 0, 2, 0], [0, 0, 1, 0, 2])
    """
    # Imported here: a plan by the column solver never counts components, and loading
    # scipy's sparse graphs took about 0.2 s of every command's start.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as _csgraph_components

    n_s, n_d = len(problem.suppliers), len(problem.demand_ids)
    idx = np.flatnonzero(useful_arcs(problem))
    sup = problem.arcs.supplier[idx]
    dem = problem.arcs.demand[idx]
    # One graph over suppliers (0..n_s-1) then demands (n_s..): a sparse matrix, not a
    # graph library, since arcs number in the tens of millions at city scale.
    graph = coo_matrix(
        (np.ones(len(idx), dtype=np.int8), (sup, n_s + dem)), shape=(n_s + n_d, n_s + n_d)
    )
    _, labels = _csgraph_components(graph, directed=False)
    on = np.zeros(n_s + n_d, dtype=bool)
    on[sup] = True
    on[n_s + dem] = True
    out = np.full(n_s + n_d, -1, dtype=_I)
    # scipy labels in node order; renumber only the nodes on some useful arc, keeping
    # that order, so isolated nodes do not use up labels.
    kept, out[on] = np.unique(labels[on], return_inverse=True)
    return len(kept), out[:n_s], out[n_s:]


@dataclass(frozen=True)
class FlowPart:
    """One independent part of the labour flow as compact arrays (what a Ray task gets).

    Attributes
    ----------
    arc_index
        The part's arcs in the whole problem's ``arcs`` (only useful ones).
    supplier_hours, demand_hours
        Hours of the part's suppliers and demands, re-indexed ``0..n-1``.
    supplier, demand, weight
        Each arc's supplier and demand (re-indexed) and its score.
    params
        The run parameters (the solver reads ``cost_scale``).
    """

    arc_index: np.ndarray
    supplier_hours: np.ndarray
    demand_hours: np.ndarray
    supplier: np.ndarray
    demand: np.ndarray
    weight: np.ndarray
    params: PlanParams

    def problem(self) -> Problem:
        """The part as a :class:`Problem` the flow solver accepts.

        Only what the flow solver reads is real; ids are positions and locations
        empty, since the flow is mapped back to the whole problem's arcs anyway.
        """
        n_s, n_d, n_a = len(self.supplier_hours), len(self.demand_hours), len(self.weight)
        z_s, z_d = np.zeros(n_s, _I), np.zeros(n_d, _I)
        suppliers = Suppliers(
            kind=np.zeros(n_s, np.int8),
            ids=np.arange(n_s).astype(object),
            row=np.arange(n_s, dtype=_I),
            unit=z_s,
            hours=self.supplier_hours,
            lat=np.zeros(n_s),
            lon=np.zeros(n_s),
            home=np.full(n_s, -1, _I),
            radius_km=np.zeros(n_s),
            skill_ptr=np.zeros(n_s + 1, _I),
            skill_cat=np.zeros(0, _I),
        )
        arcs = Arcs(
            supplier=self.supplier,
            demand=self.demand,
            km=np.zeros(n_a),
            tie=np.zeros(n_a, np.int8),
            weight=self.weight,
        )
        return Problem(
            params=self.params,
            community_ids=np.zeros(0, object),
            community_lat=np.zeros(0),
            community_lon=np.zeros(0),
            community_district=np.zeros(0, object),
            unit_ids=np.zeros(0, object),
            categories=(),
            suppliers=suppliers,
            demand_ids=np.arange(n_d).astype(object),
            demand_community=z_d,
            demand_category=z_d,
            demand_hours=self.demand_hours,
            demand_priority=z_d,
            arcs=arcs,
        )


def flow_part(problem: Problem, arc_index: np.ndarray) -> FlowPart:
    """The sub-problem of the given arcs: only their suppliers and demands, re-indexed.

    Parameters
    ----------
    problem
        The whole problem.
    arc_index
        Positions in ``problem.arcs`` (a component's useful arcs, say), ascending.
    """
    arc_index = np.asarray(arc_index, dtype=_I)
    arcs = problem.arcs
    sups, sup = np.unique(arcs.supplier[arc_index], return_inverse=True)
    dems, dem = np.unique(arcs.demand[arc_index], return_inverse=True)
    return FlowPart(
        arc_index=arc_index,
        supplier_hours=problem.suppliers.hours[sups],
        demand_hours=problem.demand_hours[dems],
        supplier=sup.reshape(-1).astype(_I),
        demand=dem.reshape(-1).astype(_I),
        weight=arcs.weight[arc_index],
        params=problem.params,
    )


@dataclass(frozen=True)
class PartResult:
    """What solving one part gives: its flow (on its arcs), status and bound."""

    flow: np.ndarray
    status: str
    bound: float


def solve_part(part: FlowPart) -> PartResult:
    """Solve one part exactly with :func:`~matcher.solvers.flow.solve_flow`."""
    r = solve_flow(part.problem())
    return PartResult(r.flow, r.status, r.bound)


def _solve_batch(parts: Sequence[FlowPart]) -> list[PartResult]:
    # A Ray task: several small parts, each still solved alone so its flow does not
    # depend on which parts share the task.
    return [solve_part(p) for p in parts]


def solve_component(problem: Problem, arc_index: np.ndarray) -> FlowResult:
    """Solve the part :func:`flow_part` makes of the arcs ``arc_index`` of ``problem`` (a
    component's useful arcs, or a union of components) and map its flow back to
    ``problem.arcs``.

    Returns
    -------
    FlowResult
        Flow on every arc of ``problem.arcs`` (zero outside the part); objective and
        bound are the part's.
    """
    start = time.perf_counter()
    part = flow_part(problem, arc_index)
    r = solve_part(part)
    return _assemble(problem, [part], [r], time.perf_counter() - start)


def component_arcs(problem: Problem) -> list[np.ndarray]:
    """The useful arcs of each connected component, in label order (ascending indices)."""
    n, sup_label, _ = connected_components(problem)
    idx = np.flatnonzero(useful_arcs(problem))
    label = sup_label[problem.arcs.supplier[idx]]
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(n + 1))
    return [idx[order[bounds[k] : bounds[k + 1]]] for k in range(n)]


def _bins(sizes: Sequence[int], n_bins: int) -> list[list[int]]:
    """Group parts into at most ``n_bins`` bins of similar total size (largest first).

    Only decides which parts share a task; never what a part's flow is.
    """
    loads = [0] * n_bins
    bins: list[list[int]] = [[] for _ in range(n_bins)]
    for k in sorted(range(len(sizes)), key=lambda k: (-sizes[k], k)):
        b = min(range(n_bins), key=lambda b: (loads[b], b))
        bins[b].append(k)
        loads[b] += sizes[k]
    return [sorted(b) for b in bins if b]


@contextmanager
def ray_session(address: str | None, jobs: int) -> Iterator[Any]:
    """The ``ray`` module, ready for tasks, for the length of a ``with`` block.

    Starts a local Ray instance of ``jobs`` CPUs (and stops it after) unless Ray is
    running in this process already (left running) or ``address`` (or ``RAY_ADDRESS``)
    names a cluster. Scenario batches and flow parts both run through it.

    Raises
    ------
    SolverError
        Ray is not installed, or does not start or answer.
    """
    try:
        import ray
    except ImportError as exc:
        raise SolverError(
            Text(
                N_(
                    "engine ray needs the ray package (pip install 'ray[default]'); use "
                    "engine local"
                )
            )
        ) from exc

    started = False
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None:
            options["num_cpus"] = jobs
        try:
            ray.init(address=address, **options)
        except Exception as exc:  # a clean message, not Ray's traceback
            raise SolverError(
                Text(
                    N_("could not start or reach Ray ({address}): {error}"),
                    address=address or "local",
                    error=str(exc),
                )
            ) from exc
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _ray_batches(
    batches: list[list[FlowPart]], jobs: int, address: str | None
) -> Iterator[tuple[int, list[PartResult]]]:
    """Solve each batch of parts as one Ray task; yield (batch index, results)."""
    with ray_session(address, jobs) as ray:
        task = ray.remote(num_cpus=1)(_solve_batch)
        refs = {task.remote(batch): i for i, batch in enumerate(batches)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    result = ray.get(ref)
                except Exception as exc:
                    raise SolverError(
                        Text(
                            N_("a Ray task solving part of the flow failed: {error}"),
                            error=str(exc),
                        )
                    ) from exc
                yield refs[ref], result


def _assemble(
    problem: Problem, parts: Sequence[FlowPart], results: Sequence[PartResult], wall: float
) -> FlowResult:
    """One result on ``problem.arcs`` from the parts' flows.

    The bound is :func:`~matcher.solvers.flow.solve_flow`'s, for the whole problem:
    the parts share nothing, so the sum of their optima at rounded costs is the whole's
    rounded optimum, and adding the whole's rounding error bound (``err * H``) gives
    exactly the bound (and gap) the in-process solve reports. It is no tighter than the
    sum of the parts' own bounds, but the same figure whatever the engine.
    """
    arcs = problem.arcs
    flow = np.zeros(len(arcs), dtype=_I)
    for part, r in zip(parts, results, strict=True):
        flow[part.arc_index] = r.flow
    objective = float(np.dot(flow, arcs.weight))
    bound = objective
    idx = np.flatnonzero(useful_arcs(problem))
    if len(idx):
        scale = problem.params.cost_scale
        # The same integer costs as solve_flow; the flow is optimal for them.
        cost = np.maximum(np.rint(arcs.weight[idx] * scale), 1.0)
        rounded_optimum = int(np.dot(flow[idx], cost.astype(_I))) / scale
        err = float(np.abs(arcs.weight[idx] - cost / scale).max())
        positive = arcs.weight > 0
        hours = problem.suppliers.hours
        max_hours = min(
            int(hours[np.unique(arcs.supplier[positive])].sum()),
            int(problem.demand_hours[np.unique(arcs.demand[positive])].sum()),
        )
        bound = max(rounded_optimum + err * max_hours, objective)
    gap = (bound - objective) / max(abs(bound), 1.0)
    status = "optimal" if all(r.status == "optimal" for r in results) else "feasible"
    return FlowResult(flow, status, objective, bound, gap, wall, SOLVER)


def solve_flow_parts(
    problem: Problem,
    engine: str = "local",
    ray_address: str | None = None,
    jobs: int = 2,
) -> FlowResult:
    """Solve the labour flow of ``problem`` part by part, in this process or on Ray.

    Parameters
    ----------
    problem
        From :func:`matcher.model.arcs.build_problem`.
    engine
        ``"local"``: every part in this process; ``"ray"``: parts grouped into about
        ``4 * jobs`` tasks of similar size, on a local Ray instance of ``jobs`` CPUs, on
        the cluster at ``ray_address`` (or ``RAY_ADDRESS``), or on the Ray already
        initialised in this process (left running).
    ray_address
        A running Ray cluster's address (``ray://host:10001`` or ``host:6379``).
    jobs
        CPUs of a local Ray instance, and the number of tasks (times four).

    Returns
    -------
    FlowResult
        The flow on ``problem.arcs`` (exactly the parts' flows), its objective, the
        bound and gap :func:`~matcher.solvers.flow.solve_flow` would report for that
        flow, and ``"optimal"`` if every part is. The same for every engine and number
        of jobs. Where the optimum is not unique, the flow may be another optimum than
        the one ``solve_flow`` finds on the whole network: each part's is the one it
        gets alone.

    Raises
    ------
    ParameterError
        An unknown engine, or ``jobs`` below 1.
    SolverError
        With ``engine="ray"``: Ray is not installed, does not start or cannot be
        reached, or a task failed.

    Examples
    --------
    >>> from matcher.inputs.dataset import load_dataset
    >>> from matcher.model.arcs import build_problem
    >>> problem = build_problem(load_dataset("tests/data/example/dataset"))
    >>> r = solve_flow_parts(problem)
    >>> r.status, r.objective == solve_flow(problem).objective
    ('optimal', True)
    """
    if engine not in ENGINES:
        raise ParameterError("engine", engine, Text(N_("local or ray")))
    if not isinstance(jobs, int) or jobs < 1:
        raise ParameterError("jobs", jobs, Text(N_("a whole number, 1 or more")))
    start = time.perf_counter()
    parts = [flow_part(problem, a) for a in component_arcs(problem)]
    results: list[PartResult | None] = [None] * len(parts)
    if engine == "ray" and parts:
        bins = _bins([len(p.weight) for p in parts], 4 * jobs)
        batches = [[parts[k] for k in b] for b in bins]
        for i, rs in _ray_batches(batches, jobs, ray_address):
            for k, r in zip(bins[i], rs, strict=True):
                results[k] = r
    else:
        results = [solve_part(p) for p in parts]
    done = [r for r in results if r is not None]
    return _assemble(problem, parts, done, time.perf_counter() - start)
