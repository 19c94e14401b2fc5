"""Stable re-planning: a new plan that keeps a previous plan's assignments where it can.

With ``x`` the new hours and ``h0`` the previous hours of each (supplier, demand) pair,
the plan maximizes

    Σ w·x  −  change_penalty · Σ |x − h0|

over the usual constraints, with the *pinned* pairs fixed at ``x = h0``. The penalty is a
convex piecewise-linear cost, so the model stays a min-cost flow: an arc that carried
``h0`` hours becomes two parallel arcs, the first ``h0`` hours worth ``w + penalty`` each
and any further hour ``w − penalty``; an arc new to the plan is worth ``w − penalty`` per
hour. Pinned hours are routed first (they reduce the supplier's and the demand's hours);
a pin that is no longer possible (its cadre removed, its tie gone, more hours than the
supplier or demand now has) is a :class:`ReplanError` naming it.

The plan reports its *true* objective (``Σ w·x``); ``kpis["replan"]`` holds the penalized
objective and its bound, ``kpis["churn"]`` what changed against the previous plan. With
a zero penalty and no pins the objective is the plain optimum; with every assignment
pinned and nothing else changed the previous plan comes back.

Stable re-planning covers the plain flow: a run with integer rules is refused with a
:class:`~matcher.errors.ParameterError`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.errors import ParameterError, ReplanError
from matcher.i18n import N_, Text
from matcher.inputs.dataset import Dataset, load_dataset
from matcher.model.arcs import Arcs, Problem, build_problem
from matcher.model.rules import ActiveRules, active_rules
from matcher.model.suppliers import SUPPLIER_KINDS
from matcher.params import PlanParams
from matcher.plans.diff import ASSIGNMENT_KEY
from matcher.plans.io import as_plan
from matcher.plans.kpis import rounded
from matcher.plans.planner import build_plan
from matcher.plans.result import Plan
from matcher.solvers.flow import FlowResult, solve_flow

__all__ = ["churn", "pinned_from_mapping", "previous_assignments", "replan"]

KEY = ASSIGNMENT_KEY

Pinned = str | Iterable[tuple[str, str, str]] | pd.DataFrame
"""``"all"``, ``"none"``, keys ``(supplier_kind, supplier_id, demand_id)`` (an empty kind
matches either kind), or a frame with those columns."""


def previous_assignments(previous: Plan | str | Path | pd.DataFrame) -> pd.DataFrame:
    """A previous plan's assignments as ``supplier_kind, supplier_id, demand_id, hours``.

    Parameters
    ----------
    previous
        A :class:`~matcher.plans.result.Plan`, a plan folder (its ``assignments.csv``) or a frame
        with those columns. Rows of the same key are added up; zero-hour rows dropped.

    Raises
    ------
    PlanFolderError
        When the folder is not a readable plan (:func:`matcher.plans.io.read_plan`).
    ReplanError
        When a frame's column is missing or holds no whole hours.
    """
    if isinstance(previous, pd.DataFrame):
        frame = previous
        source: str = Text(N_("the previous assignments"))
    else:
        frame = as_plan(previous).assignments
        source = Text(N_("the previous plan"))
    missing = [c for c in (*KEY, "hours") if c not in frame.columns]
    if missing:
        raise ReplanError(
            Text(
                N_("{source}: no column '{column}'; expected {columns}"),
                source=source,
                column=missing[0],
                columns=", ".join((*KEY, "hours")),
            )
        )
    hours = pd.to_numeric(frame["hours"], errors="coerce")
    bad = hours.isna() | (hours < 0) | (hours != np.floor(hours))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise ReplanError(
            Text(
                N_(
                    "{source}, row {row}, column 'hours': got {value}, expected a whole number "
                    "of hours, 0 or more"
                ),
                source=source,
                row=row,
                value=repr(frame["hours"].iloc[row - 2]),
            )
        )
    out = pd.DataFrame({k: frame[k].astype(str).str.strip() for k in KEY})
    out["hours"] = hours.astype(np.int64).to_numpy()
    summed = out.groupby(list(KEY), sort=False, as_index=False)["hours"].sum()
    return pd.DataFrame(summed[summed["hours"] > 0]).reset_index(drop=True)


def _pinned_mask(prev: pd.DataFrame, pinned: Pinned) -> np.ndarray:
    if isinstance(pinned, str):
        if pinned not in ("all", "none"):
            raise ParameterError("pinned", pinned, Text(N_("all, none, or a list of assignments")))
        return np.full(len(prev), pinned == "all")
    if isinstance(pinned, pd.DataFrame):
        missing = [c for c in KEY[1:] if c not in pinned.columns]
        if missing:
            raise ReplanError(
                Text(N_("pinned assignments: no column '{column}'"), column=missing[0])
            )
        kinds = pinned["supplier_kind"] if "supplier_kind" in pinned else [""] * len(pinned)
        keys = list(zip(kinds, pinned["supplier_id"], pinned["demand_id"], strict=True))
    else:
        keys = [tuple(k) for k in pinned]  # type: ignore[misc]
    mask = np.zeros(len(prev), dtype=bool)
    kind = prev["supplier_kind"].to_numpy(object)
    sid = prev["supplier_id"].to_numpy(object)
    did = prev["demand_id"].to_numpy(object)
    for k, s, d in keys:
        k, s, d = str(k or "").strip(), str(s).strip(), str(d).strip()
        hit = (sid == s) & (did == d) & ((kind == k) if k else True)
        if not hit.any():
            raise ReplanError(
                Text(
                    N_(
                        "pinned assignment {kind} {supplier} -> {demand} is not in the "
                        "previous plan"
                    ),
                    kind=k or "*",
                    supplier=s,
                    demand=d,
                )
            )
        mask |= hit
    return mask


def _why_impossible(dataset: Dataset, kind: str, sid: str, did: str) -> Text:
    ids = (
        dataset.cadres["cadre_id"] if kind == "cadre" else dataset.resources["resource_id"]
    ).astype(str)
    if sid not in set(ids):
        if kind == "cadre":
            return Text(N_("the cadre {id} is no longer in the dataset"), id=sid)
        return Text(N_("the resource {id} is no longer in the dataset"), id=sid)
    if did not in set(dataset.demands["demand_id"].astype(str)):
        return Text(N_("the demand {id} is no longer in the dataset"), id=did)
    return Text(
        N_("{supplier} may no longer serve {demand} (no tie, or not the skill)"),
        supplier=sid,
        demand=did,
    )


def _check_penalty(change_penalty: float) -> float:
    ok = isinstance(change_penalty, int | float) and not isinstance(change_penalty, bool)
    if not ok or not math.isfinite(change_penalty) or change_penalty < 0:
        raise ParameterError(
            "change_penalty", change_penalty, Text(N_("a finite number, 0 or more"))
        )
    return float(change_penalty)


def replan(
    dataset: Dataset | str | Path,
    previous: Plan | str | Path | pd.DataFrame,
    params: PlanParams | None = None,
    *,
    change_penalty: float = 0.0,
    pinned: Pinned = "none",
    forbidden: Iterable[tuple[str, str, str]] = (),
) -> Plan:
    """The optimal plan that keeps a previous plan where it can.

    Parameters
    ----------
    dataset
        The (possibly changed) dataset, or its folder.
    previous
        The previous plan: a ``Plan``, its folder, or its assignments as a frame.
    params
        Run parameters (defaults if ``None``); integer rules must be off.
    change_penalty
        Objective lost per hour changed against the previous plan (added or removed on
        a supplier-demand pair); 0 gives the plain optimum.
    pinned
        Previous assignments kept exactly: ``"all"``, ``"none"`` (default), or their
        keys ``(supplier_kind, supplier_id, demand_id)``.
    forbidden
        Supplier-demand pairs ``(supplier_kind, supplier_id, demand_id)`` the plan must
        not use (an assignment a planner excluded); one that is also pinned is refused.

    Returns
    -------
    Plan
        With the true objective; ``kpis["replan"]`` (``change_penalty``, pins,
        ``penalized_objective``, ``penalized_bound``) and ``kpis["churn"]``. ``bound``
        bounds the objective of every plan that keeps the pins and changes at most as
        many hours as this one.

    Raises
    ------
    ReplanError
        A pinned assignment no longer possible, or an unreadable previous plan.
    ParameterError
        A bad penalty, or integer rules active.

    Examples
    --------
    >>> from matcher.plans.planner import plan
    >>> base = plan("tests/data/example/dataset")
    >>> again = replan("tests/data/example/dataset", base, pinned="all")
    >>> again.assignments.equals(base.assignments), again.kpis["churn"]["hours_changed"]
    (True, 0)
    """
    penalty = _check_penalty(change_penalty)
    if not isinstance(dataset, Dataset):
        dataset = load_dataset(dataset)
    params = params or PlanParams()
    prev_all = previous_assignments(previous)
    banned = _forbidden_frame(forbidden)
    prev = _without(prev_all, banned)
    pin = _pinned_mask(prev_all, pinned)
    if len(prev) < len(prev_all) and pin[~_kept(prev_all, banned)].any():
        raise ParameterError("forbidden", "pinned", Text(N_("pairs that are not pinned as well")))
    pin = pin[_kept(prev_all, banned)]
    t0 = time.perf_counter()
    rules = active_rules(dataset, params)
    _refuse_integer_rules(rules)
    problem = build_problem(dataset, params)
    prev_arc = _previous_arcs(problem, prev)
    gone = prev_arc < 0
    _check_pins_possible(dataset, prev, pin & gone)
    h0, pinned_arc = _previous_flow(problem, prev, prev_arc, pin)
    # a forbidden pair is held at 0 hours, as a pin would hold it
    ban_arc = _previous_arcs(problem, banned)
    pinned_arc[ban_arc[ban_arc >= 0]] = True
    fixed = np.where(pinned_arc, h0, 0)
    flow, seg = _solve_free(problem, h0, pinned_arc, fixed, penalty)

    arcs = problem.arcs
    objective = float(np.dot(flow, arcs.weight))
    gone_hours = int(prev["hours"].to_numpy(np.int64)[gone].sum())
    changed = int(np.abs(flow - h0).sum()) + gone_hours
    penalized = objective - penalty * changed
    # The split model's value omits the constants: pinned hours' worth, and the
    # penalty on every free previous hour (counted back when kept, at w + penalty).
    free = ~pinned_arc
    constant = float(np.dot(fixed, arcs.weight)) - penalty * (int(h0[free].sum()) + gone_hours)
    penalized_bound = max(seg.bound + constant, penalized)
    bound = penalized_bound + penalty * changed
    result = FlowResult(
        flow=flow,
        status=seg.status,
        objective=objective,
        bound=bound,
        gap=(bound - objective) / max(abs(bound), 1.0),
        wall_seconds=seg.wall_seconds,
        solver=f"{seg.solver} (stable re-plan)",
    )
    t1 = time.perf_counter()
    out = build_plan(
        dataset,
        problem,
        rules,
        result,
        {"build": t1 - t0 - seg.wall_seconds, "solve": seg.wall_seconds},
    )
    out.kpis["replan"] = {
        "change_penalty": penalty,
        "pinned_assignments": int(pin.sum()),
        "pinned_hours": int(fixed.sum()),
        "penalized_objective": rounded(penalized),
        "penalized_bound": rounded(penalized_bound),
    }
    out.kpis["replan"]["forbidden_pairs"] = len(banned)
    out.kpis["churn"] = churn(prev_all, out.assignments)
    out.kpis["churn"]["previous_unavailable"] = int(gone.sum())
    return out


def _forbidden_frame(forbidden: Iterable[tuple[str, str, str]]) -> pd.DataFrame:
    """The forbidden pairs as a frame of the assignment key (hours 0)."""
    rows = [tuple(str(v).strip() for v in key) for key in forbidden]
    frame = pd.DataFrame(rows, columns=list(KEY), dtype=object)
    frame["hours"] = 0
    return frame.drop_duplicates(list(KEY))


def _kept(prev: pd.DataFrame, banned: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Which previous assignments are not forbidden."""
    if not len(banned):
        return np.ones(len(prev), dtype=bool)
    marked = prev[list(KEY)].merge(banned[list(KEY)], on=list(KEY), how="left", indicator=True)
    return np.asarray(marked["_merge"].to_numpy() == "left_only", dtype=bool)


def _without(prev: pd.DataFrame, banned: pd.DataFrame) -> pd.DataFrame:
    """The previous assignments but the forbidden ones."""
    return prev[_kept(prev, banned)].reset_index(drop=True)


def _refuse_integer_rules(rules: ActiveRules) -> None:
    """Stable re-planning is a min-cost flow: no integer rule may be on."""
    if rules.any:
        raise ParameterError(
            "integer rules",
            ", ".join(rules.names()),
            Text(
                N_(
                    "none: stable re-planning supports the plain min-cost flow; switch the "
                    "rules off (apply_min_hours, apply_funds, apply_leads = false; "
                    "max_communities_per_cadre, coverage_floor = none)"
                )
            ),
        )


def _previous_arcs(problem: Problem, prev: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Each previous assignment's arc in the new problem (-1: no longer a candidate).

    Looked up through each supplier's run of arcs rather than by joining every arc's
    ids: a city has tens of millions of arcs and a plan only thousands of assignments."""
    arcs, sup = problem.arcs, problem.suppliers
    order = None if _sorted(arcs.supplier) else np.argsort(arcs.supplier, kind="stable")
    by_supplier = arcs.supplier if order is None else arcs.supplier[order]
    demand = arcs.demand if order is None else arcs.demand[order]
    starts = np.searchsorted(by_supplier, np.arange(len(sup.ids) + 1))
    kinds = np.asarray(SUPPLIER_KINDS, dtype=object)[sup.kind]
    supplier_at = {(str(k), str(i)): n for n, (k, i) in enumerate(zip(kinds, sup.ids, strict=True))}
    demand_at = {str(d): n for n, d in enumerate(problem.demand_ids)}
    out = np.full(len(prev), -1, dtype=np.int64)
    keys = zip(
        prev["supplier_kind"].astype(str),
        prev["supplier_id"].astype(str),
        prev["demand_id"].astype(str),
        strict=True,
    )
    for row, (kind, sid, did) in enumerate(keys):
        s, d = supplier_at.get((kind, sid)), demand_at.get(did)
        if s is None or d is None:
            continue
        lo, hi = int(starts[s]), int(starts[s + 1])
        hit = np.flatnonzero(demand[lo:hi] == d)
        if len(hit):
            at = lo + int(hit[0])
            out[row] = at if order is None else int(order[at])
    return out


def _sorted(values: npt.NDArray[np.integer]) -> bool:
    return bool(len(values) < 2 or np.all(values[1:] >= values[:-1]))


def _check_pins_possible(
    dataset: Dataset, prev: pd.DataFrame, pinned_gone: npt.NDArray[np.bool_]
) -> None:
    """A pinned assignment whose arc is gone is a :class:`ReplanError` saying why."""
    if not pinned_gone.any():
        return
    i = int(np.flatnonzero(pinned_gone)[0])
    k, s, d = (str(prev[c].iloc[i]) for c in KEY)
    raise ReplanError(
        Text(
            N_(
                "pinned assignment {kind} {supplier} -> {demand} ({hours} h) is no longer "
                "possible: {why}"
            ),
            kind=k,
            supplier=s,
            demand=d,
            hours=prev["hours"].iloc[i],
            why=_why_impossible(dataset, k, s, d),
        )
    )


def _previous_flow(
    problem: Problem,
    prev: pd.DataFrame,
    prev_arc: npt.NDArray[np.int64],
    pin: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The previous hours on each arc of the new problem, and which arcs are pinned."""
    gone = prev_arc < 0
    h0 = np.zeros(len(problem.arcs), dtype=np.int64)
    np.add.at(h0, prev_arc[~gone], prev["hours"].to_numpy(np.int64)[~gone])
    pinned_arc = np.zeros(len(problem.arcs), dtype=bool)
    pinned_arc[prev_arc[pin]] = True
    return h0, pinned_arc


def _hours_left(
    problem: Problem, fixed: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each supplier's and demand's hours once the pinned hours are routed; pins asking
    more than one has are a :class:`ReplanError` naming it."""
    arcs, sup = problem.arcs, problem.suppliers
    sup_left = sup.hours - np.bincount(arcs.supplier, weights=fixed, minlength=len(sup)).astype(
        np.int64
    )
    dem_left = problem.demand_hours - np.bincount(
        arcs.demand, weights=fixed, minlength=len(problem.demand_ids)
    ).astype(np.int64)
    for left, ids, message in (
        (
            sup_left,
            sup.ids,
            N_(
                "pinned assignments give the supplier {id} {hours} hour(s) more than it now "
                "has; unpin some of them"
            ),
        ),
        (
            dem_left,
            problem.demand_ids,
            N_(
                "pinned assignments give the demand {id} {hours} hour(s) more than it now "
                "has; unpin some of them"
            ),
        ),
    ):
        if (left < 0).any():
            i = int(np.flatnonzero(left < 0)[0])
            raise ReplanError(Text(message, id=ids[i], hours=int(-left[i])))
    return sup_left, dem_left


def _solve_free(
    problem: Problem,
    h0: npt.NDArray[np.int64],
    pinned_arc: npt.NDArray[np.bool_],
    fixed: npt.NDArray[np.int64],
    penalty: float,
) -> tuple[npt.NDArray[np.int64], FlowResult]:
    """The flow on every arc: the pinned hours, plus the optimal flow on the free arcs,
    each split in two (the first ``h0`` hours worth ``w + penalty``, further hours
    ``w - penalty``); and the split model's result (its bound)."""
    sup_left, dem_left = _hours_left(problem, fixed)
    arcs, sup = problem.arcs, problem.suppliers
    free = np.flatnonzero(~pinned_arc)
    keep = free[h0[free] > 0]
    origin = np.concatenate((keep, free))
    seg_weight = np.concatenate((arcs.weight[keep] + penalty, arcs.weight[free] - penalty))
    seg_cap = np.concatenate((h0[keep], np.full(len(free), np.iinfo(np.int64).max // 4)))
    split = dataclasses.replace(
        problem,
        suppliers=dataclasses.replace(sup, hours=sup_left),
        demand_hours=dem_left,
        arcs=Arcs(
            supplier=arcs.supplier[origin],
            demand=arcs.demand[origin],
            km=arcs.km[origin],
            tie=arcs.tie[origin],
            weight=seg_weight,
        ),
    )
    seg = solve_flow(split, capacity=seg_cap)
    flow = fixed + np.bincount(origin, weights=seg.flow, minlength=len(arcs)).astype(np.int64)
    return flow, seg


def churn(previous: pd.DataFrame, current: pd.DataFrame) -> dict[str, Any]:
    """What changed between two plans' assignments, keyed by (kind, supplier, demand).

    Returns
    -------
    dict
        ``previous_assignments``, ``assignments``, ``assignments_kept`` (same hours),
        ``assignments_changed`` (other hours), ``assignments_added``,
        ``assignments_removed``, ``hours_kept`` (Σ min), ``hours_added``,
        ``hours_removed`` and ``hours_changed`` (their sum).
    """
    a = previous_assignments(previous)
    b = previous_assignments(current)
    both = a.merge(b, on=list(KEY), how="outer", suffixes=("_before", "_after"))
    h0 = both["hours_before"].fillna(0).to_numpy(np.int64)
    h1 = both["hours_after"].fillna(0).to_numpy(np.int64)
    added = np.maximum(h1 - h0, 0)
    removed = np.maximum(h0 - h1, 0)
    return {
        "previous_assignments": int((h0 > 0).sum()),
        "assignments": int((h1 > 0).sum()),
        "assignments_kept": int(((h0 > 0) & (h0 == h1)).sum()),
        "assignments_changed": int(((h0 > 0) & (h1 > 0) & (h0 != h1)).sum()),
        "assignments_added": int(((h0 == 0) & (h1 > 0)).sum()),
        "assignments_removed": int(((h0 > 0) & (h1 == 0)).sum()),
        "hours_kept": int(np.minimum(h0, h1).sum()),
        "hours_added": int(added.sum()),
        "hours_removed": int(removed.sum()),
        "hours_changed": int(added.sum() + removed.sum()),
    }


def pinned_from_mapping(items: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """Pinned keys from mappings with ``supplier_id``, ``demand_id`` and optionally
    ``supplier_kind`` (as a scenario's ``stable.pinned`` lists them)."""
    return [
        (str(m.get("supplier_kind", "")), str(m["supplier_id"]), str(m["demand_id"])) for m in items
    ]
