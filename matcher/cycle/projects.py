"""The project list (项目清单) of a plan, and a planner's edits of the draft.

A *project* is a demand with its serving units, the hours each unit gives and its lead
unit. :func:`projects` lists one row per demand that asks for hours;
:func:`project_units` is the long table behind its ``units`` column. With
``public=True`` neither names a cadre (the list put on public notice names units only).

A planner edits the draft through the stable re-plan
(:func:`matcher.analysis.replan.replan`): :func:`edit_draft` turns a list of
:class:`Edit` into the ``previous`` assignments and ``pinned`` keys to pass to it:

- ``exclude``: the assignment must not be kept; it is dropped from the previous
  assignments and listed in ``excluded``, which the re-plan takes as ``forbidden``;
- ``pin``: the assignment is kept exactly;
- ``move_hours``: ``hours`` of the assignment go to another supplier (``to_kind``,
  ``to_id``) on the same demand; the receiving row is added (or raised) and pinned, and
  what is left on the giving row, if any, is pinned too, so the move is exact.

Edits apply in order; an edit naming an assignment that is not there (or no longer, after
an ``exclude``), or moving more hours than it has, is a
:class:`~matcher.errors.ParameterError` naming the edit's field.

>>> from matcher.plans.planner import plan
>>> draft = plan("tests/data/example/dataset")
>>> projects(draft, public=True)[["demand_id", "hours", "planned_hours", "status"]]
  demand_id  hours  planned_hours   status
0        D1     16             16      met
1        D2      6              6      met
2        D3     10              6  partial
3        D4      8              8      met
4        D5      4              4      met
>>> edited = edit_draft(draft, [Edit("pin", "cadre", "K2", "D3"),
...                             Edit("exclude", "cadre", "K5", "D5")])
>>> edited.pinned, edited.excluded
((('cadre', 'K2', 'D3'),), (('cadre', 'K5', 'D5'),))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from matcher.analysis.replan import previous_assignments
from matcher.errors import ParameterError
from matcher.i18n import N_, Text
from matcher.model.suppliers import SUPPLIER_KINDS
from matcher.plans.result import Plan

__all__ = [
    "ACTIONS",
    "EDIT_CHANGE_PENALTY",
    "DraftEdits",
    "Edit",
    "edit_draft",
    "project_units",
    "projects",
]

ACTIONS = ("exclude", "pin", "move_hours")
"""The edits a planner may make to the draft."""

EDIT_CHANGE_PENALTY = 0.01
"""The objective an edit's re-plan gives up per hour changed against the draft: above 0,
so that of equally good plans the one closest to the draft wins (at 0 any optimum may,
however far from it; docs/cycle.md has the figures), and small, so that a plan better by
more than a hundredth per hour moved still wins."""

Key = tuple[str, str, str]
"""An assignment's key: ``(supplier_kind, supplier_id, demand_id)``."""


def project_units(plan: Plan, *, public: bool = False) -> pd.DataFrame:
    """The hours each unit gives each project.

    Returns
    -------
    DataFrame
        ``demand_id, unit_id, supplier_kind, supplier_id, hours``, one row per
        assignment; with ``public=True`` ``demand_id, unit_id, hours`` (a unit's
        suppliers added up, no supplier named). By demand, then unit.

    >>> from matcher.plans.planner import plan
    >>> project_units(plan("tests/data/example/dataset"), public=True).head(3)
      demand_id unit_id  hours
    0        D1   U-JCY     12
    1        D1  U-MUNI      4
    2        D2  U-MUNI      6
    """
    a = plan.assignments
    cols = ["demand_id", "unit_id", "supplier_kind", "supplier_id"]
    rows = pd.DataFrame({c: a[c].astype(str) for c in cols})
    rows["hours"] = a["hours"].to_numpy(np.int64)
    rows = pd.DataFrame(rows[rows["hours"] > 0])
    if public:
        rows = pd.DataFrame(rows.groupby(["demand_id", "unit_id"], as_index=False)["hours"].sum())
    out = rows.sort_values(list(rows.columns[:-1]), kind="stable")
    return pd.DataFrame(out).reset_index(drop=True)


def projects(plan: Plan, *, public: bool = False) -> pd.DataFrame:
    """The project list: one row per demand that asks for hours.

    Returns
    -------
    DataFrame
        ``demand_id, community_id, district, category, priority, hours`` (demanded),
        ``planned_hours`` (covered by the plan), ``status, reason``, ``lead_unit`` (the
        unit :attr:`Plan.leads` names, else empty), ``units`` (a JSON-ready list of
        ``{"unit_id", "hours"}``, most hours first) and, unless ``public``, ``suppliers``
        (a list of ``{"supplier_kind", "supplier_id", "unit_id", "hours"}``; the only
        column that names cadres).
    """
    ds = plan.demand_status
    keep = pd.to_numeric(ds["hours"], errors="coerce").fillna(0) > 0
    ds = ds[keep]
    out = pd.DataFrame(
        {
            c: ds[c].to_numpy()
            for c in ("demand_id", "community_id", "district", "category", "priority", "hours")
        }
    )
    out["planned_hours"] = ds["covered_hours"].to_numpy(np.int64)
    out["status"] = ds["status"].to_numpy()
    out["reason"] = ds["reason"].to_numpy()
    leads = plan.leads
    lead = dict(zip(leads["demand_id"].astype(str), leads["unit_id"].astype(str), strict=True))
    out["lead_unit"] = [lead.get(str(d), "") for d in out["demand_id"]]
    units = project_units(plan, public=True).sort_values(
        ["demand_id", "hours"], ascending=[True, False], kind="stable"
    )
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for d, u, h in zip(units["demand_id"], units["unit_id"], units["hours"], strict=True):
        by_unit.setdefault(str(d), []).append({"unit_id": str(u), "hours": int(h)})
    out["units"] = pd.Series([by_unit.get(str(d), []) for d in out["demand_id"]], dtype=object)
    if not public:
        long = project_units(plan)
        by_supplier: dict[str, list[dict[str, Any]]] = {}
        for d, u, k, sid, h in long.itertuples(index=False):
            by_supplier.setdefault(str(d), []).append(
                {
                    "supplier_kind": str(k),
                    "supplier_id": str(sid),
                    "unit_id": str(u),
                    "hours": int(h),
                }
            )
        out["suppliers"] = pd.Series(
            [by_supplier.get(str(d), []) for d in out["demand_id"]], dtype=object
        )
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Edit:
    """One edit of the draft: an ``action`` on the assignment ``(kind, supplier_id,
    demand_id)``; a ``move_hours`` also names ``hours`` and the receiving supplier
    (``to_kind``, ``to_id``). Checked on creation.

    >>> Edit("move_hours", "cadre", "K1", "D1", hours=0, to_kind="cadre", to_id="K3")
    Traceback (most recent call last):
    ...
    matcher.errors.ParameterError: parameter hours=0: expected a whole number, 1 or more
    """

    action: str
    kind: str
    supplier_id: str
    demand_id: str
    hours: int | None = None
    to_kind: str | None = None
    to_id: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ParameterError(
                "action", self.action, Text(N_("one of {names}"), names=", ".join(ACTIONS))
            )
        kinds: list[tuple[str, str | None]] = [("kind", self.kind)]
        if self.action == "move_hours":
            kinds.append(("to_kind", self.to_kind))
            h = self.hours
            if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
                raise ParameterError("hours", h, Text(N_("a whole number, 1 or more")))
            if not isinstance(self.to_id, str) or not self.to_id.strip():
                raise ParameterError("to_id", self.to_id, Text(N_("a non-empty id")))
            if (self.to_kind, self.to_id) == (self.kind, self.supplier_id):
                raise ParameterError(
                    "to_id", self.to_id, Text(N_("another supplier than the one giving the hours"))
                )
        for name, value in kinds:
            if value not in SUPPLIER_KINDS:
                raise ParameterError(
                    name, value, Text(N_("one of {names}"), names=", ".join(SUPPLIER_KINDS))
                )
        for name in ("supplier_id", "demand_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ParameterError(name, value, Text(N_("a non-empty id")))

    @property
    def key(self) -> Key:
        """The edited assignment's key."""
        return (self.kind, self.supplier_id.strip(), self.demand_id.strip())


@dataclass(frozen=True)
class DraftEdits:
    """What :func:`edit_draft` gives: pass ``previous`` and ``pinned`` to
    :func:`~matcher.analysis.replan.replan`; ``excluded`` says which assignments were
    dropped."""

    previous: pd.DataFrame
    pinned: tuple[Key, ...]
    excluded: tuple[Key, ...]


def edit_draft(previous: Plan | pd.DataFrame, edits: Iterable[Edit]) -> DraftEdits:
    """The stable re-plan's inputs expressing a planner's edits of the draft.

    Parameters
    ----------
    previous
        The draft plan, or its assignments (``supplier_kind, supplier_id, demand_id,
        hours``).
    edits
        Applied in order (see the module docstring).

    Raises
    ------
    ParameterError
        ``edits[i].supplier_id`` for an assignment not in the draft, ``edits[i].hours``
        for a move of more hours than the assignment has.
    """
    prev = previous_assignments(previous)
    hours: dict[Key, int] = {
        (str(k), str(s), str(d)): int(h)
        for k, s, d, h in prev[["supplier_kind", "supplier_id", "demand_id", "hours"]].itertuples(
            index=False
        )
    }
    pinned: dict[Key, None] = {}
    excluded: dict[Key, None] = {}
    for i, edit in enumerate(edits):
        key = edit.key
        if key not in hours:
            raise ParameterError(
                f"edits[{i}].supplier_id",
                edit.supplier_id,
                Text(
                    N_("an assignment of the draft; {kind} {supplier} -> {demand} is not in it"),
                    kind=key[0],
                    supplier=key[1],
                    demand=key[2],
                ),
            )
        if edit.action == "exclude":
            del hours[key]
            pinned.pop(key, None)
            excluded[key] = None
        elif edit.action == "pin":
            pinned[key] = None
        else:
            moved = int(edit.hours or 0)
            if moved > hours[key]:
                raise ParameterError(
                    f"edits[{i}].hours",
                    edit.hours,
                    Text(N_("at most the assignment's {hours} hour(s)"), hours=hours[key]),
                )
            to: Key = (str(edit.to_kind), str(edit.to_id).strip(), key[2])
            hours[key] -= moved
            pinned.pop(key, None)
            if hours[key] == 0:
                del hours[key]
            else:
                pinned[key] = None
            hours[to] = hours.get(to, 0) + moved
            pinned[to] = None
    frame = pd.DataFrame(
        [(*k, h) for k, h in hours.items()],
        columns=["supplier_kind", "supplier_id", "demand_id", "hours"],
    )
    frame["hours"] = frame["hours"].astype(np.int64)
    return DraftEdits(frame, tuple(pinned), tuple(excluded))
