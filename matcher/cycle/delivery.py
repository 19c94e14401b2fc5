"""Delivered hours (项目实施): recorded per assignment by a unit, confirmed or rejected by
the community, and each project's progress. Pure functions over pandas frames.

A delivery is one row of a deliveries frame (:data:`DELIVERY_COLUMNS`): hours delivered
on one assignment of the published plan (``supplier_kind``, ``supplier_id``,
``demand_id``), ``pending`` until the community decides. Its status moves only by a row of
:data:`STATUS_MOVES` (pending -> approved, pending -> rejected); who recorded it and who
decided, and when, are kept. An assignment's recorded hours (pending + approved) never go
above its planned hours. A project's progress is its approved hours over its planned hours
(:func:`project_progress`).

>>> import pandas as pd
>>> plan = pd.DataFrame({"supplier_kind": ["cadre"], "supplier_id": ["K1"],
...                      "demand_id": ["D1"], "hours": [6]})
>>> d = record_delivery(empty_deliveries(), plan, Delivery("L1", "cadre", "K1", "D1", hours=4,
...                     recorded_by="U1", recorded_at="2026-11-02T09:00"))
>>> d = decide_delivery(d, "L1", "approved", decided_by="C1", decided_at="2026-11-03T10:00")
>>> project_progress(plan, d)[["demand_id", "approved_hours", "progress", "status"]]
  demand_id  approved_hours  progress       status
0        D1               4  0.666667  in_progress
>>> decide_delivery(d, "L1", "rejected", decided_by="C1", decided_at="2026-11-04T10:00")
Traceback (most recent call last):
...
matcher.errors.DeliveryError: delivery 'L1' is 'approved': it cannot become 'rejected'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from matcher.errors import DeliveryError, ParameterError, ValidationIssue
from matcher.i18n import N_, Text
from matcher.plans.tables import ASSIGNMENT_COLUMNS

__all__ = [
    "ASSIGNMENT_KEY",
    "DELIVERY_COLUMNS",
    "EXPORT_COLUMNS",
    "PROGRESS_STATUSES",
    "STATUSES",
    "STATUS_MOVES",
    "Delivery",
    "check_delivery_rows",
    "decide_delivery",
    "empty_deliveries",
    "progress_status",
    "project_progress",
    "record_delivery",
    "recorded_hours",
]

ASSIGNMENT_KEY: tuple[str, ...] = ("supplier_kind", "supplier_id", "demand_id")
"""The columns naming an assignment of the plan."""

DELIVERY_COLUMNS: tuple[str, ...] = (
    "delivery_id",
    "supplier_kind",
    "supplier_id",
    "demand_id",
    "hours",
    "status",
    "recorded_by",
    "recorded_at",
    "decided_by",
    "decided_at",
)
"""A deliveries frame: ``delivery_id`` (unique), the assignment (:data:`ASSIGNMENT_KEY`),
``hours`` (a whole number, 1 or more), ``status`` (:data:`STATUSES`), ``recorded_by`` and
``recorded_at`` (who recorded it, when: a string such as an ISO time), ``decided_by`` and
``decided_at`` (who approved or rejected it, when; ``None`` while pending)."""

STATUSES: tuple[str, ...] = ("pending", "approved", "rejected")
"""A delivery's statuses."""

STATUS_MOVES: frozenset[tuple[str, str]] = frozenset(
    {
        ("pending", "approved"),  # the community confirms the hours
        ("pending", "rejected"),  # the community rejects them
    }
)
"""The status moves allowed, as (from, to); any other is refused."""

EXPORT_COLUMNS: tuple[str, ...] = (*ASSIGNMENT_COLUMNS, "hours_delivered")
"""The bulk format: the plan's ``assignments`` columns plus ``hours_delivered``."""

PROGRESS_STATUSES: tuple[str, ...] = ("not_started", "in_progress", "done")
"""A project's statuses, see :func:`progress_status`."""


def empty_deliveries() -> pd.DataFrame:
    """A deliveries frame with no rows (:data:`DELIVERY_COLUMNS`)."""
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in DELIVERY_COLUMNS})
    frame["hours"] = frame["hours"].astype("int64")
    return frame


def _whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _by_assignment(frame: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    totals: dict[tuple[str, str, str], int] = {}
    for kind, sid, demand, hours in zip(
        frame["supplier_kind"],
        frame["supplier_id"],
        frame["demand_id"],
        frame["hours"],
        strict=True,
    ):
        key = (str(kind), str(sid), str(demand))
        totals[key] = totals.get(key, 0) + int(hours)
    return totals


def _planned(assignments: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    return _by_assignment(assignments)


def recorded_hours(deliveries: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    """Each assignment's recorded hours: pending plus approved (rejected ones do not count)."""
    return _by_assignment(deliveries[deliveries["status"].isin(["pending", "approved"])])


def _show_key(key: tuple[str, str, str]) -> str:
    return f"{key[0]} {key[1]} -> {key[2]}"


@dataclass(frozen=True)
class Delivery:
    """Hours delivered on one assignment, as a unit records them; checked on creation.

    ``recorded_at`` is a string (an ISO time, say) the caller chooses.

    >>> Delivery("L1", "cadre", "K1", "D1", hours=0, recorded_by="U1", recorded_at="t")
    Traceback (most recent call last):
    ...
    matcher.errors.ParameterError: parameter hours=0: expected a whole number, 1 or more
    """

    delivery_id: str
    supplier_kind: str
    supplier_id: str
    demand_id: str
    hours: int
    recorded_by: str
    recorded_at: str

    def __post_init__(self) -> None:
        if not isinstance(self.delivery_id, str) or not self.delivery_id.strip():
            raise ParameterError("delivery_id", self.delivery_id, Text(N_("a non-empty text")))
        if not _whole(self.hours) or self.hours < 1:
            raise ParameterError("hours", self.hours, Text(N_("a whole number, 1 or more")))

    @property
    def assignment(self) -> tuple[str, str, str]:
        """The assignment: ``(supplier_kind, supplier_id, demand_id)``."""
        return (self.supplier_kind, self.supplier_id, self.demand_id)


def record_delivery(
    deliveries: pd.DataFrame, assignments: pd.DataFrame, delivery: Delivery
) -> pd.DataFrame:
    """The deliveries with one more, ``pending``: ``delivery`` on an assignment of the
    published plan (``assignments``, the plan's table).

    Refused (:class:`~matcher.errors.ParameterError`) when its ``delivery_id`` is already
    used, its assignment is not in the plan, or its hours would bring the assignment's
    recorded hours (pending + approved) above its planned hours (the error names
    ``hours``, the assignment and the hours left).
    """
    delivery_id, hours = delivery.delivery_id, delivery.hours
    if delivery_id in set(deliveries["delivery_id"]):
        raise ParameterError("delivery_id", delivery_id, Text(N_("an id not used yet")))
    key = delivery.assignment
    planned = _planned(assignments)
    if key not in planned:
        raise ParameterError(
            "assignment", _show_key(key), Text(N_("an assignment of the published plan"))
        )
    left = planned[key] - recorded_hours(deliveries).get(key, 0)
    if hours > left:
        raise ParameterError(
            "hours",
            hours,
            Text(
                N_("at most {left}: assignment {assignment} has {left} of {planned} hours left"),
                left=max(left, 0),
                assignment=_show_key(key),
                planned=planned[key],
            ),
        )
    row = {
        **asdict(delivery),
        "status": "pending",
        "decided_by": None,
        "decided_at": None,
    }
    added = pd.DataFrame([row], columns=list(DELIVERY_COLUMNS)).astype({"hours": "int64"})
    if deliveries.empty:
        return added.reset_index(drop=True)
    return pd.concat([deliveries[list(DELIVERY_COLUMNS)], added], ignore_index=True)


def decide_delivery(
    deliveries: pd.DataFrame,
    delivery_id: str,
    status: str,
    *,
    decided_by: str,
    decided_at: str,
) -> pd.DataFrame:
    """The deliveries with one delivery's status moved to ``status`` by ``decided_by`` at
    ``decided_at``; only the moves of :data:`STATUS_MOVES` are allowed
    (:class:`~matcher.errors.DeliveryError` names the delivery and its status otherwise).
    An unknown ``delivery_id`` is a :class:`~matcher.errors.ParameterError`."""
    where = deliveries.index[deliveries["delivery_id"] == delivery_id]
    if len(where) == 0:
        raise ParameterError("delivery_id", delivery_id, Text(N_("a recorded delivery")))
    now = str(deliveries.at[where[0], "status"])
    if (now, status) not in STATUS_MOVES:
        raise DeliveryError(delivery_id, now, status)
    out = deliveries.copy()
    out.loc[where[0], ["status", "decided_by", "decided_at"]] = [status, decided_by, decided_at]
    return out


def progress_status(approved: float, planned: float) -> str:
    """A project's status: ``not_started`` while no hour is approved, ``done`` once its
    approved hours reach its planned hours (and it has some), else ``in_progress``.

    >>> progress_status(0, 10), progress_status(4, 10), progress_status(10, 10)
    ('not_started', 'in_progress', 'done')
    """
    if approved <= 0:
        return "not_started"
    return "done" if planned > 0 and approved >= planned else "in_progress"


def project_progress(assignments: pd.DataFrame, deliveries: pd.DataFrame) -> pd.DataFrame:
    """Each project's (demand of the plan's ``assignments``) hours and progress.

    Returns
    -------
    DataFrame
        ``demand_id, planned_hours, pending_hours, approved_hours, rejected_hours,
        progress, status`` by demand id: ``progress`` is approved over planned hours
        (0 when nothing is approved or nothing planned), ``status`` by
        :func:`progress_status`.
    """
    planned = assignments.groupby("demand_id")["hours"].sum()
    out = pd.DataFrame({"demand_id": planned.index.astype(str), "planned_hours": planned.values})
    for status in STATUSES:
        done = deliveries[deliveries["status"] == status].groupby("demand_id")["hours"].sum()
        out[f"{status}_hours"] = out["demand_id"].map(done).fillna(0).astype("int64")
    out["planned_hours"] = out["planned_hours"].astype("int64")
    out["progress"] = [
        a / p if p > 0 else 0.0
        for a, p in zip(out["approved_hours"], out["planned_hours"], strict=True)
    ]
    out["status"] = [
        progress_status(a, p)
        for a, p in zip(out["approved_hours"], out["planned_hours"], strict=True)
    ]
    return out.sort_values("demand_id", kind="stable").reset_index(drop=True)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)[:80]


def _whole_cell(value: object) -> int | None:
    text = _cell(value).strip()
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number) or number != int(number) or number < 0:
        return None
    return int(number)


def check_delivery_rows(
    frame: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    recorded: Mapping[tuple[str, str, str], int] | None = None,
    file: str = "deliveries.csv",
) -> list[ValidationIssue]:
    """The problems of a bulk file of delivered hours in the export's format
    (:data:`EXPORT_COLUMNS`), row by row, each naming the row (the header is row 1) and
    the column; empty when it can be recorded.

    A missing column; a row whose assignment (``supplier_kind, supplier_id, demand_id``)
    is not in the published plan or repeats an earlier row; ``hours_delivered`` not a whole
    number 0 or more, or above the assignment's planned hours less those already
    ``recorded`` (pending + approved, see :func:`recorded_hours`).

    >>> import pandas as pd
    >>> plan = pd.DataFrame({"supplier_kind": ["cadre"], "supplier_id": ["K1"],
    ...                      "demand_id": ["D1"], "hours": [6]})
    >>> rows = plan.assign(unit_id="U1", community_id="C1", category="elder", km=0.0,
    ...                    tie="residence", hours_delivered=["7"])
    >>> [str(i) for i in check_delivery_rows(rows, plan)]
    ["deliveries.csv, row 2, column 'hours_delivered': got '7', expected at most 6"]
    """
    missing = [c for c in EXPORT_COLUMNS if c not in frame.columns]
    if missing:
        return [
            ValidationIssue(file, None, c, None, Text(N_("a column named {column}"), column=c))
            for c in missing
        ]
    planned = _planned(assignments)
    done = dict(recorded or {})
    issues: list[ValidationIssue] = []
    seen: set[tuple[str, str, str]] = set()
    for pos, row in enumerate(frame.to_dict("records")):
        line = pos + 2
        key = (_cell(row["supplier_kind"]), _cell(row["supplier_id"]), _cell(row["demand_id"]))
        if key not in planned:
            issues.append(
                ValidationIssue(
                    file, line, "demand_id", key[2], Text(N_("an assignment of the published plan"))
                )
            )
            continue
        if key in seen:
            issues.append(
                ValidationIssue(
                    file,
                    line,
                    "demand_id",
                    key[2],
                    Text(
                        N_("one row per assignment; {assignment} is repeated"),
                        assignment=_show_key(key),
                    ),
                )
            )
            continue
        seen.add(key)
        value = row["hours_delivered"]
        hours = _whole_cell(value)
        if hours is None:
            issues.append(
                ValidationIssue(
                    file,
                    line,
                    "hours_delivered",
                    _cell(value),
                    Text(N_("a whole number of hours, 0 or more")),
                )
            )
            continue
        left = max(planned[key] - done.get(key, 0), 0)
        if hours > left:
            issues.append(
                ValidationIssue(
                    file, line, "hours_delivered", _cell(value), Text(N_("at most {n}"), n=left)
                )
            )
    return issues
