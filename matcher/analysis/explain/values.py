"""The value each assignment adds (:func:`assignment_values`).

The value of an assignment is its hours times the arc's hour score,
``priority_weight * priority - travel_cost_per_km * km``: the objective's own terms, so
the values of a plan's assignments add up to its labour objective.

>>> import matcher
>>> values = assignment_values(matcher.plan("tests/data/example/dataset"))
>>> round(float(values["value"].sum()), 4)
139.6961
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.analysis.explain.context import PlanContext, plan_context
from matcher.inputs.dataset import Dataset
from matcher.inputs.io import plain_value
from matcher.plans.planner import assignment_table, carried_arcs
from matcher.plans.result import Plan

ASSIGNMENT_VALUE_COLUMNS = (
    "supplier_kind",
    "supplier_id",
    "unit_id",
    "demand_id",
    "community_id",
    "district",
    "category",
    "priority",
    "hours",
    "km",
    "tie",
    "hour_score",
    "value",
)


def assignment_values(
    plan: Plan | str | Path, dataset: Dataset | str | Path | None = None
) -> pd.DataFrame:
    """Every assignment with its tie, hour score and the value it adds to the objective.

    Parameters
    ----------
    plan
        A :class:`~matcher.plans.result.Plan` or a plan folder (``matcher plan --out``).
    dataset
        The plan's dataset (default: the one its ``run.json`` names).

    Returns
    -------
    DataFrame
        The assignment's columns plus ``district``, ``priority``, ``hour_score``
        (``priority_weight * priority - travel_cost_per_km * km``) and ``value`` (hours
        times hour score), in the plan's order; ``value`` sums to the labour objective.
    """
    return value_table(plan_context(plan, dataset))


def value_table(ctx: PlanContext) -> pd.DataFrame:
    """:func:`assignment_values` of a plan already set against its problem."""
    p = ctx.problem
    # The plan's assignments table, in its order, with each arc's district, priority and score.
    on = carried_arcs(p, ctx.flow)
    dem = p.arcs.demand[on]
    score = p.arcs.weight[on]
    hours = ctx.flow[on]
    table = assignment_table(p, ctx.flow).assign(
        district=p.community_district[p.demand_community[dem]],
        priority=p.demand_priority[dem],
        hour_score=np.round(score, 6),
        value=np.round(hours * score, 6),
    )
    return table[list(ASSIGNMENT_VALUE_COLUMNS)]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as dicts of plain Python values (JSON-ready)."""
    return [
        {k: plain_value(v) for k, v in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


__all__: Sequence[str] = ("ASSIGNMENT_VALUE_COLUMNS", "assignment_values", "records", "value_table")
