"""A plan's integer rules together: labour, funds and lead units, within one deadline."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.errors import Finding
from matcher.inputs.dataset import Dataset
from matcher.model.arcs import Problem
from matcher.model.rules import ActiveRules
from matcher.params import PlanParams
from matcher.progress import Reporter
from matcher.solvers.flow import solve_flow
from matcher.solvers.integer.deadline import split_deadline
from matcher.solvers.integer.funds import solve_funds
from matcher.solvers.integer.labour_cpsat import solve_labour
from matcher.solvers.integer.labour_highs import solve_labour_highs
from matcher.solvers.integer.leads import solve_leads, solve_leads_highs
from matcher.solvers.outcomes import IntegerResult, Part

__all__ = ["solve_integer"]


def solve_integer(
    dataset: Dataset,
    problem: Problem,
    rules: ActiveRules,
    params: PlanParams,
    deadline: float | None = None,
    report: Reporter | None = None,
) -> IntegerResult:
    """Solve a run with integer rules: labour (flow, HiGHS or CP-SAT), funds, lead units.

    The objective, bound and gap are labour plus funds; lead units, a cost to minimise,
    are reported beside them. ``deadline`` (a ``time.perf_counter()`` value, by default
    ``time_limit_s`` from now) ends them all: the time is shared by
    :func:`~matcher.solvers.integer.deadline.split_deadline`.

    ``report`` is told as each model starts and ends (its objective and bound, as
    :attr:`~matcher.progress.Progress.part`), and of the searches' improvements in
    between (:mod:`matcher.progress`); it never changes the plan.
    """
    start = time.perf_counter()
    if deadline is None:
        deadline = start + params.time_limit_s
    ends = split_deadline(start, deadline, rules)
    findings: list[Finding] = []
    if report is not None:
        report("solve", part="labour")
    flow, labour, start_objective = _labour(problem, rules, params, ends["labour"], report)
    _report_part(report, "labour", labour)
    funds = funded = funding = None
    if rules.funds:
        if report is not None:
            report("solve", part="funds")
        funds, funded, funding, notes = solve_funds(dataset, problem, params, ends["funds"], report)
        _report_part(report, "funds", funds)
        findings += notes
    leads = lead_table = None
    if rules.leads:
        if report is not None:
            report("solve", part="leads")
        leads, lead_table = _leads(dataset, params, ends["leads"], report)
        _report_part(report, "leads", leads)
    parts = [p for p in (labour, funds) if p is not None]
    objective = sum(p.objective for p in parts)
    bound = sum(p.bound for p in parts)
    every = [p for p in (labour, funds, leads) if p is not None]
    status = "optimal" if all(p.status == "optimal" for p in every) else "feasible"
    gap = abs(bound - objective) / max(abs(bound), 1.0)
    return IntegerResult(
        flow=flow,
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        wall_seconds=time.perf_counter() - start,
        solver=" + ".join(dict.fromkeys(p.engine for p in every)),
        labour=labour,
        funds=funds,
        leads=leads,
        start_objective=start_objective + (funds.objective if funds else 0.0),
        funded=funded,
        funding=funding,
        lead_table=lead_table,
        findings=tuple(findings),
    )


def _report_part(report: Reporter | None, name: str, part: Part) -> None:
    """A model's outcome, as it ends."""
    if report is not None:
        report("solve", incumbent=part.objective, bound=part.bound, part=name)


def _labour(
    problem: Problem,
    rules: ActiveRules,
    params: PlanParams,
    deadline: float,
    report: Reporter | None,
) -> tuple[npt.NDArray[np.int64], Part, float]:
    """The labour plan: under its rules by HiGHS or CP-SAT, else the plain flow."""
    if not rules.labour:
        fr = solve_flow(problem)
        part = Part(fr.status, fr.objective, fr.bound, fr.wall_seconds, engine=fr.solver)
        return fr.flow, part, fr.objective
    solved = None
    if params.integer_solver == "highs":
        solved = solve_labour_highs(problem, rules, params, deadline, report)
    # CP-SAT also names the communities at fault when HiGHS finds the floors infeasible.
    if solved is None:
        solved = solve_labour(problem, rules, params, deadline, report)
    return solved


def _leads(
    dataset: Dataset, params: PlanParams, deadline: float, report: Reporter | None
) -> tuple[Part, pd.DataFrame]:
    """The lead units, by HiGHS with a Lagrangian bound and local searches, or by CP-SAT."""
    found = None
    if params.integer_solver == "highs":
        found = solve_leads_highs(dataset, params, deadline, report)
    # CP-SAT also names the demands and units at fault when no assignment exists.
    return found if found is not None else solve_leads(dataset, params, deadline, report)
