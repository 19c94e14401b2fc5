"""The choice of pairings: a lexicographic CP-SAT assignment of candidates to communities
within the partners' and units' limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from matcher.analysis.recommend.core import solve_stage
from matcher.analysis.recommend.pair_candidates import Candidates
from matcher.analysis.recommend.pair_params import PairingParams
from matcher.errors import Finding, InfeasibleError, SolverError
from matcher.i18n import N_, Text

__all__ = ["choose_pairings"]

_VALUE_SCALE = 10_000  # values enter CP-SAT as whole 1e-4 units of objective


@dataclass(frozen=True)
class _Room:
    """The room the pairings that stay leave, which every pairing rule reads.

    Attributes
    ----------
    scope_mask
        Per community (file order): in scope.
    caps
        Per unit: the most communities it may be paired with.
    base_count
        Per community: its pairings that stay.
    base_load
        Per unit: its pairings that stay.
    """

    scope_mask: np.ndarray
    caps: np.ndarray
    base_count: np.ndarray
    base_load: np.ndarray


def choose_pairings(
    cands: Candidates,
    values: np.ndarray,
    base_count: np.ndarray,
    base_load: np.ndarray,
    caps: np.ndarray,
    scope_mask: np.ndarray,
    districts: np.ndarray,
    params: PairingParams,
    units: pd.DataFrame,
    comms: pd.DataFrame,
    served: list[dict[str, int]],
    unmet: dict[tuple[int, str], int],
) -> tuple[np.ndarray, float]:
    """The CP-SAT assignment: which candidates to pair (boolean mask), and the value of
    the set as the model counts it.

    A candidate that serves unmet hours earns its value per hour served, and the hours
    that several chosen pairings serve in one (community, category) are capped at that
    cell's unmet hours: two units offering the same 30 hours of legal aid to a community
    that lacks 30 are not worth twice as much. A candidate whose value serves no unmet
    hours (it frees cadres elsewhere) earns its value as it is.
    """
    room = _Room(scope_mask, caps, base_count, base_load)
    _check_room(cands, room, params, units, comms)
    model = cp_model.CpModel()
    y = [model.new_bool_var(f"y{k}") for k in range(len(cands))]
    terms = _value_terms(model, y, cands, values, served, unmet, params.km_penalty)
    by_unit = _add_limits(model, y, cands, room, params)
    # One objective: value minus a small charge per km, so that among pairings of (nearly)
    # equal value the nearer unit is chosen, and a pairing worth nothing is made only
    # where a community needs a partner.
    stages: list[tuple[Any, bool]] = []
    if params.balance:
        stages.append((_balance_deviation(model, y, cands, room, districts),
                       False))  # fmt: skip
    objective = sum(terms)
    stages.append((objective, True))
    if params.balance:
        top = model.new_int_var(0, int(caps.max(initial=0)) + int(base_load.max(initial=0)), "top")
        for u, ks in by_unit.items():
            model.add(int(base_load[u]) + sum(y[k] for k in ks) <= top)
        stages.append((top, False))
    solver = _solve_stages(model, y, stages, params)
    chosen = np.array([bool(solver.value(v)) for v in y], dtype=bool)
    return chosen, solver.value(objective) / _VALUE_SCALE


def _value_terms(
    model: cp_model.CpModel,
    y: list[Any],
    cands: Candidates,
    values: np.ndarray,
    served: list[dict[str, int]],
    unmet: dict[tuple[int, str], int],
    km_penalty: float,
) -> list[Any]:
    """The objective's terms (in ``1 / _VALUE_SCALE`` units), with the hours served per
    (community, category) capped at its unmet hours."""
    terms: list[Any] = []
    cells: dict[tuple[int, str], list[Any]] = {}
    for k in range(len(y)):
        hours = sum(served[k].values())
        charge = km_penalty * float(cands.km[k])
        if hours <= 0:
            terms.append(round((values[k] - charge) * _VALUE_SCALE) * y[k])
            continue
        terms.append(-round(charge * _VALUE_SCALE) * y[k])
        per_hour = round(values[k] / hours * _VALUE_SCALE)
        for cat, h in served[k].items():
            z = model.new_int_var(0, h, f"z{k}_{cat}")
            model.add(z <= h * y[k])
            cells.setdefault((int(cands.community[k]), cat), []).append(z)
            terms.append(per_hour * z)
    for cell, zs in cells.items():
        model.add(sum(zs) <= unmet.get(cell, 0))
    return terms


def _add_limits(
    model: cp_model.CpModel,
    y: list[Any],
    cands: Candidates,
    room: _Room,
    params: PairingParams,
) -> dict[int, list[int]]:
    """The pairing rules: partners per community (at least ``min_partners``, at most
    ``max_partners``), the units' caps and ``max_new``. Returns each unit's candidates."""
    by_comm: dict[int, list[int]] = {}
    by_unit: dict[int, list[int]] = {}
    scope_mask, base_count = room.scope_mask, room.base_count
    for k in range(len(y)):
        by_comm.setdefault(int(cands.community[k]), []).append(k)
        by_unit.setdefault(int(cands.unit[k]), []).append(k)
    for c in np.flatnonzero(scope_mask).tolist():
        need = params.min_partners - int(base_count[c])
        if need > 0:
            model.add(sum(y[k] for k in by_comm.get(c, [])) >= need)
    for u, ks in by_unit.items():
        model.add(sum(y[k] for k in ks) <= max(int(room.caps[u]) - int(room.base_load[u]), 0))
    if params.max_new is not None:
        model.add(sum(y) <= params.max_new)
    if params.max_partners is not None:
        for c in np.flatnonzero(scope_mask).tolist():
            left = max(params.max_partners - int(base_count[c]), 0)
            model.add(sum(y[k] for k in by_comm.get(c, [])) <= left)
    return by_unit


def _solve_stages(
    model: cp_model.CpModel, y: list[Any], stages: list[tuple[Any, bool]], params: PairingParams
) -> cp_model.CpSolver:
    """Solve the ``(expression, maximize)`` stages in order, each later stage keeping the
    earlier ones' best: a lexicographic objective."""
    solver: cp_model.CpSolver | None = None
    for i, (expr, maximize) in enumerate(stages):
        if maximize:
            model.maximize(expr)
        else:
            model.minimize(expr)
        solver, status = solve_stage(model, params.time_limit_s, params.seed)
        if status == cp_model.INFEASIBLE:
            raise InfeasibleError(
                [
                    Finding(
                        "pairings",
                        Text(
                            N_(
                                "no set of pairings gives every community in scope {n} "
                                "partner(s) within the units' caps (and max_new); raise the "
                                "caps, lower min_partners or widen the candidate units"
                            ),
                            n=params.min_partners,
                        ),
                    )
                ]
            )
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise SolverError(
                Text(
                    N_("the pairing model ended with status {status}"),
                    status=solver.status_name(status),
                )
            )
        best = round(solver.objective_value)
        if i < len(stages) - 1:
            # The later stages keep this stage's best: a lexicographic objective.
            if maximize:
                model.add(expr >= best)
            else:
                model.add(expr <= best)
            model.clear_hints()  # type: ignore[no-untyped-call]
            for k in range(len(y)):
                model.add_hint(y[k], bool(solver.value(y[k])))
    assert solver is not None
    return solver


def _balance_deviation(
    model: cp_model.CpModel,
    y: list[Any],
    cands: Candidates,
    room: _Room,
    districts: np.ndarray,
) -> Any:
    """A variable for the largest gap between a district's pairings and its even share.

    With ``C`` communities in scope, ``c_d`` of them in district ``d``, ``P_d`` its
    pairings and ``T`` all pairings in scope, the gap is ``|C * P_d - c_d * T|`` (in
    ``1/C`` pairings): at most ``C`` means within one pairing of the share.
    """
    base_count = room.base_count
    in_scope = np.flatnonzero(room.scope_mask)
    names = sorted(set(districts[in_scope].tolist()))
    n_comm = len(in_scope)
    total = sum(int(base_count[c]) for c in in_scope) + sum(y)
    bound = n_comm * (len(y) + int(base_count[in_scope].sum()) + 1)
    dev = model.new_int_var(0, bound, "deviation")
    for name in names:
        cs = in_scope[districts[in_scope] == name]
        own = int(base_count[cs].sum()) + sum(
            y[k] for k in range(len(y)) if districts[cands.community[k]] == name
        )
        share = n_comm * own - len(cs) * total
        model.add(share <= dev)
        model.add(-share <= dev)
    return dev


def _check_room(
    cands: Candidates,
    room: _Room,
    params: PairingParams,
    units: pd.DataFrame,
    comms: pd.DataFrame,
) -> None:
    """Name the communities that cannot reach ``min_partners`` whatever is chosen."""
    free = np.maximum(room.caps - room.base_load, 0)
    open_units = free[cands.unit] > 0
    avail = np.bincount(cands.community[open_units], minlength=len(comms))
    need = np.maximum(params.min_partners - room.base_count, 0) * room.scope_mask
    short = np.flatnonzero(avail < need)
    total_need = int(need.sum())
    total_room = int(free[np.unique(cands.unit[open_units])].sum()) if open_units.any() else 0
    findings = [
        *_short_findings(comms["community_id"].to_numpy(object)[short], params.min_partners),
        *_total_findings(total_need, total_room, params),
    ]
    if findings:
        raise InfeasibleError(findings)


def _short_findings(short: np.ndarray, partners: int) -> list[Finding]:
    """The finding naming the ``short`` communities (ids), if any: too few candidate units
    with room under their cap."""
    if not len(short):
        return []
    return [
        Finding(
            "pairings",
            Text(
                N_(
                    "{n} communities have fewer candidate units with room under their cap "
                    "than the {partners} partner(s) asked for"
                ),
                n=len(short),
                partners=partners,
            ),
            communities=tuple(short.tolist()),
        )
    ]


def _total_findings(need: int, room: int, params: PairingParams) -> list[Finding]:
    """The findings on the totals: more pairings needed than the units' room under their
    caps, or than ``max_new``."""
    findings = []
    if need > room:
        findings.append(
            Finding(
                "pairings",
                Text(
                    N_(
                        "the communities in scope need {need} more pairings, but the candidate "
                        "units have room for only {room} under their caps"
                    ),
                    need=need,
                    room=room,
                ),
            )
        )
    if params.max_new is not None and need > params.max_new:
        findings.append(
            Finding(
                "pairings",
                Text(
                    N_(
                        "max_new={max_new} is below the {need} pairings needed to give every "
                        "community in scope {partners} partner(s)"
                    ),
                    max_new=params.max_new,
                    need=need,
                    partners=params.min_partners,
                ),
            )
        )
    return findings
