"""One street's cover: the members that serve the most gap hours, then are fewest, then
nearest (two CP-SAT stages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from matcher.analysis.recommend.core import solve_stage
from matcher.errors import SolverError
from matcher.i18n import N_, Text

__all__ = ["Cover", "best_cover"]


@dataclass(frozen=True)
class Cover:
    """The chosen members of one street's alliance and what they cover."""

    members: tuple[str, ...]
    covered_hours: int
    covered: dict[str, int]
    km: float


def best_cover(
    gaps: dict[str, int],
    supply: dict[str, dict[str, int]],
    km: dict[str, float],
    max_members: int | None = None,
    time_limit_s: float = 10.0,
    seed: int = 0,
) -> Cover:
    """The members that cover the most gap hours, then are fewest, then nearest.

    Parameters
    ----------
    gaps
        Unmet hours per category.
    supply
        Per candidate unit, its supply hours per category.
    km
        Per candidate unit, its distance to the street.
    max_members
        At most this many members.

    Examples
    --------
    >>> c = best_cover({"legal_aid": 10, "parking": 4},
    ...                {"U1": {"legal_aid": 6}, "U2": {"legal_aid": 10, "parking": 1},
    ...                 "U3": {"parking": 4}}, {"U1": 1.0, "U2": 2.0, "U3": 3.0})
    >>> c.members, c.covered_hours
    (('U2', 'U3'), 14)
    """
    names = sorted(supply)
    cats = sorted(gaps)
    if not names or not cats:
        return Cover((), 0, {}, 0.0)
    model, z, h = _cover_model(gaps, supply, names, cats, max_members)
    weight = len(names) + 1  # > the most members: one hour outweighs every member
    first = weight * sum(h.values()) - sum(z.values())
    model.maximize(first)
    solver = _solve(model, time_limit_s, seed)
    model.add(first >= round(solver.objective_value))
    model.clear_objective()  # type: ignore[no-untyped-call]
    model.minimize(sum(round(km[u] * 100) * z[u] for u in names))
    solver = _solve(model, time_limit_s, seed)
    chosen = tuple(u for u in names if solver.value(z[u]))
    covered = {g: int(solver.value(h[g])) for g in cats if solver.value(h[g]) > 0}
    return Cover(chosen, sum(covered.values()), covered, round(sum(km[u] for u in chosen), 4))


def _cover_model(
    gaps: dict[str, int],
    supply: dict[str, dict[str, int]],
    names: list[str],
    cats: list[str],
    max_members: int | None,
) -> tuple[cp_model.CpModel, dict[str, Any], dict[str, Any]]:
    """The cover's variables and rules: members ``z`` (of ``names``), and hours ``h`` per
    gap category (of ``cats``), at most the gap and the chosen members' supply."""
    model = cp_model.CpModel()
    z = {u: model.new_bool_var(f"z_{u}") for u in names}
    h = {g: model.new_int_var(0, int(gaps[g]), f"h_{g}") for g in cats}
    for g in cats:
        model.add(h[g] <= sum(int(supply[u].get(g, 0)) * z[u] for u in names))
    if max_members is not None:
        model.add(sum(z.values()) <= max_members)
    return model, z, h


def _solve(model: cp_model.CpModel, time_limit_s: float, seed: int) -> cp_model.CpSolver:
    """:func:`solve_stage` of a cover stage, which must end with a solution."""
    solver, status = solve_stage(model, time_limit_s, seed)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise SolverError(
            Text(
                N_("the alliance cover ended with status {status}"),
                status=solver.status_name(status),
            )
        )
    return solver
