"""Closing a cycle opens the next: demands carried over, and suppliers' reliability.

*Carried over* (:func:`carry_over`): a demand not fully met in the closed cycle goes to
the next quarter with its remaining hours, ``hours - covered_hours``; a demand fully met
(remaining 0 or less) is not carried. A carried demand keeps its id and every column, and
gets ``origin = "carried_over"``, ``carried_from`` (the closed cycle's period, e.g.
``2026-Q4``) and ``times_carried`` (1 the first time, one more each time it is carried
again), so that its history can be followed.

*Reliability* (:func:`reliability`): a supplier's approved hours over its planned hours in
the closed cycle, from the deliveries (one row per supplier and project: ``hours`` planned,
``status`` ``approved``, ``pending`` or ``rejected``). Every row's hours count as planned;
only approved rows count as approved. A supplier with no planned hours has no
reliability (it is not listed).

*Scaling* (:func:`scale_cadre_hours`, off unless asked): the next dataset's cadre hours
times the cadre's reliability, rounded down to whole hours: ``hours * approved //
planned``, so never below 0 nor above the hours given; a cadre without a reliability
keeps its hours.

>>> import pandas as pd
>>> demands = pd.DataFrame({"demand_id": ["D1", "D2"], "hours": [10, 4]})
>>> covered = pd.DataFrame({"demand_id": ["D1", "D2"], "covered_hours": [6, 4]})
>>> carry_over(demands, covered, "2026-Q4")
  demand_id  hours        origin carried_from  times_carried
0        D1      4  carried_over      2026-Q4              1
>>> deliveries = pd.DataFrame({"supplier_kind": ["cadre"] * 3,
...                            "supplier_id": ["K1", "K1", "K2"],
...                            "demand_id": ["D1", "D2", "D1"], "hours": [6, 4, 0],
...                            "status": ["approved", "rejected", "approved"]})
>>> reliability(deliveries)
  supplier_kind supplier_id  planned_hours  approved_hours  reliability
0         cadre          K1             10               6          0.6
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from matcher.cycle.phases import Schedule
from matcher.errors import ParameterError
from matcher.i18n import N_, Text
from matcher.inputs.dataset import Dataset

__all__ = [
    "DELIVERY_STATUSES",
    "CarryoverParams",
    "carry_over",
    "next_dataset",
    "reliability",
    "scale_cadre_hours",
]

DELIVERY_STATUSES = ("approved", "pending", "rejected")
"""A delivery row's status: only ``approved`` hours count as delivered."""

ORIGIN = "carried_over"


def _whole(values: pd.Series, name: str) -> pd.Series:
    """Whole numbers, 0 or more, else a :class:`ParameterError` naming the column."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | (numbers < 0) | (numbers != np.floor(numbers))
    if bad.any():
        raise ParameterError(
            name,
            values[bad].iloc[0],
            Text(N_("a whole number, 0 or more")),
        )
    return numbers.astype(np.int64)


def carry_over(demands: pd.DataFrame, covered: pd.DataFrame, period: str) -> pd.DataFrame:
    """The demands to carry into the next quarter, with their remaining hours.

    Parameters
    ----------
    demands
        The closed cycle's demands (``demand_id``, ``hours`` and any other columns; a
        ``times_carried`` column from an earlier carry is counted on).
    covered
        ``demand_id, covered_hours``: hours met in the closed cycle (e.g.
        ``plan.demand_status``); a demand not listed had none met.
    period
        The closed cycle's quarter, ``YYYY-Qn``.

    Returns
    -------
    DataFrame
        The demands' columns, ``hours`` the remaining hours, then ``origin``,
        ``carried_from`` and ``times_carried``; in the demands' order.
    """
    Schedule.of(period)  # checks the period
    hours = _whole(demands["hours"], "hours")
    met = covered.groupby(covered["demand_id"].astype(str))["covered_hours"].sum()
    done = _whole(demands["demand_id"].astype(str).map(met).fillna(0), "covered_hours")
    remaining = (hours - done).to_numpy(np.int64)
    before = (
        pd.to_numeric(demands["times_carried"], errors="coerce").fillna(0).astype(np.int64)
        if "times_carried" in demands
        else pd.Series(0, index=demands.index)
    )
    out = demands.assign(
        hours=remaining,
        origin=ORIGIN,
        carried_from=period,
        times_carried=before.to_numpy(np.int64) + 1,
    )
    return pd.DataFrame(out[remaining > 0]).reset_index(drop=True)


def reliability(deliveries: pd.DataFrame) -> pd.DataFrame:
    """Each supplier's approved over planned hours in the closed cycle.

    Parameters
    ----------
    deliveries
        ``supplier_kind, supplier_id, demand_id, hours, status`` (one of
        :data:`DELIVERY_STATUSES`).

    Returns
    -------
    DataFrame
        ``supplier_kind, supplier_id, planned_hours, approved_hours, reliability``
        (0 to 1), for suppliers with planned hours, by kind and id.
    """
    status = deliveries["status"].astype(str)
    unknown = ~status.isin(DELIVERY_STATUSES)
    if unknown.any():
        raise ParameterError(
            "status",
            status[unknown].iloc[0],
            Text(N_("one of {names}"), names=", ".join(DELIVERY_STATUSES)),
        )
    hours = _whole(deliveries["hours"], "hours")
    rows = pd.DataFrame(
        {
            "supplier_kind": deliveries["supplier_kind"].astype(str),
            "supplier_id": deliveries["supplier_id"].astype(str),
            "planned_hours": hours,
            "approved_hours": hours.where(status == "approved", 0),
        }
    )
    out = rows.groupby(["supplier_kind", "supplier_id"], as_index=False)[
        ["planned_hours", "approved_hours"]
    ].sum()
    out = out[out["planned_hours"] > 0].reset_index(drop=True)
    out["reliability"] = out["approved_hours"] / out["planned_hours"]
    return out


def scale_cadre_hours(dataset: Dataset, reliable: pd.DataFrame) -> Dataset:
    """The dataset with each cadre's hours scaled by its reliability (rounded down);
    cadres without one keep their hours.

    Parameters
    ----------
    reliable
        :func:`reliability`'s frame (its ``cadre`` rows are used).
    """
    cadres = dataset.cadres.copy()
    rows = reliable[reliable["supplier_kind"].astype(str) == "cadre"]
    approved = dict(zip(rows["supplier_id"].astype(str), rows["approved_hours"], strict=True))
    planned = dict(zip(rows["supplier_id"].astype(str), rows["planned_hours"], strict=True))
    scaled = []
    for cid, h in zip(cadres["cadre_id"].astype(str), cadres["hours"], strict=True):
        if cid in planned and planned[cid] > 0:
            h = int(h) * min(int(approved[cid]), int(planned[cid])) // int(planned[cid])
        scaled.append(int(h))
    cadres["hours"] = np.asarray(scaled, dtype=np.int64)
    return dataset.replace(cadres=cadres)


@dataclass(frozen=True)
class CarryoverParams:
    """How the next cycle opens: ``scale_by_reliability`` (off by default) scales its
    cadres' hours by their reliability in the closed cycle.

    >>> CarryoverParams(scale_by_reliability="yes")
    Traceback (most recent call last):
    ...
    matcher.errors.ParameterError: parameter scale_by_reliability='yes': expected true or false
    """

    scale_by_reliability: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.scale_by_reliability, bool):
            raise ParameterError(
                "scale_by_reliability", self.scale_by_reliability, Text(N_("true or false"))
            )


def next_dataset(
    dataset: Dataset,
    deliveries: pd.DataFrame,
    params: CarryoverParams | None = None,
) -> Dataset:
    """The next cycle's dataset: unchanged unless ``params.scale_by_reliability``, then
    :func:`scale_cadre_hours` with the closed cycle's :func:`reliability`."""
    params = params or CarryoverParams()
    if not params.scale_by_reliability:
        return dataset
    return scale_cadre_hours(dataset, reliability(deliveries))
