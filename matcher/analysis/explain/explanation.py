"""A plan explained at once: every part from one look at the plan (:func:`explain`, for
``matcher explain --out``), and the reads the service keeps (:func:`stored_reads`).

The plan is indexed against its dataset once; the parts are the same tables as
:func:`~matcher.analysis.explain.assignment_values`,
:func:`~matcher.analysis.explain.demand_explanation`,
:func:`~matcher.analysis.explain.bottlenecks` and
:func:`~matcher.analysis.explain.summaries` give one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from matcher.analysis.explain.bottlenecks import rank_bottlenecks
from matcher.analysis.explain.context import plan_context
from matcher.analysis.explain.demands import (
    NEAREST_COLUMNS,
    DemandExplanation,
    explain_demands,
    unmet_demands,
)
from matcher.analysis.explain.params import ExplainParams
from matcher.analysis.explain.summaries import summary_table
from matcher.analysis.explain.values import records, value_table
from matcher.errors import ExplainError
from matcher.i18n import LANGS, N_, Text
from matcher.inputs.dataset import Dataset
from matcher.inputs.io import write_frame_csv
from matcher.plans.result import Plan

SHORTFALL_COLUMNS = (
    "demand_id",
    "community_id",
    "district",
    "category",
    "status",
    "reason",
    "unmet_hours",
    *[c for c in NEAREST_COLUMNS if c != "demand_id"],
)


@dataclass(frozen=True)
class Explanation:
    """A plan explained: assignment values, shortfalls, bottlenecks and summaries.

    Attributes
    ----------
    assignments
        :func:`~matcher.analysis.explain.assignment_values`.
    shortfalls
        One row per demand not fully met and per supplier listed for it (the
        ``nearest`` table of :func:`~matcher.analysis.explain.demand_explanation`, with
        the demand's ``status``, ``reason`` and unmet hours); a demand with no supplier
        listed has one row with empty supplier columns.
    bottlenecks
        :func:`~matcher.analysis.explain.bottlenecks`, or ``None`` for a plan with
        labour integer rules.
    summaries
        :func:`~matcher.analysis.explain.summaries` in every language asked for.
    notes
        Why a part is missing (each a :class:`~matcher.i18n.Text`: ``.render(lang)``).
    """

    assignments: pd.DataFrame
    shortfalls: pd.DataFrame
    bottlenecks: pd.DataFrame | None
    summaries: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``assignment_values.csv``, ``shortfalls.csv``, ``bottlenecks.csv`` (when
        computed) and ``summaries.csv`` into a folder; returns the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tables = {
            "assignment_values.csv": self.assignments,
            "shortfalls.csv": self.shortfalls,
            "summaries.csv": self.summaries,
        }
        if self.bottlenecks is not None:
            tables["bottlenecks.csv"] = self.bottlenecks
        paths = []
        for name, frame in tables.items():
            write_frame_csv(frame, out / name)
            paths.append(out / name)
        return paths


def explain(
    plan: Plan | str | Path,
    dataset: Dataset | str | Path | None = None,
    params: ExplainParams | None = None,
) -> Explanation:
    """Explain a plan: what each assignment adds, why each demand falls short, where one
    more hour of a skill is worth most, and a summary per district and community.

    Parameters
    ----------
    plan
        A :class:`~matcher.plans.result.Plan` or a plan folder (``matcher plan --out``).
    dataset
        The plan's dataset, or a folder; default the one the plan's ``run.json`` names
        (its content hash must match the plan's).
    params
        What to show (:class:`~matcher.analysis.explain.ExplainParams`).

    Examples
    --------
    >>> import matcher
    >>> ex = explain(matcher.plan("tests/data/example/dataset"), "tests/data/example/dataset")
    >>> round(float(ex.assignments["value"].sum()), 4)
    139.6961
    """
    params = params or ExplainParams()
    ctx = plan_context(plan, dataset)
    values = value_table(ctx)
    notes: list[str] = []
    try:
        table: pd.DataFrame | None = rank_bottlenecks(ctx, params)[0]
    except ExplainError as exc:
        table = None
        notes.append(Text(N_("bottlenecks: {error}"), error=_message(exc)))
    shortfalls = shortfall_table(explain_demands(ctx, unmet_demands(ctx), params, values))
    summaries_table = summary_table(ctx.tables, ctx.dataset, params, table)
    return Explanation(values, shortfalls, table, summaries_table, notes)


def shortfall_table(explanations: dict[str, DemandExplanation]) -> pd.DataFrame:
    """The demands' explanations as one table (``shortfalls.csv``): per demand and
    supplier listed, the demand's head columns and the supplier's ``nearest`` row; one
    row with empty supplier columns for a demand with no supplier listed."""
    rows: list[dict[str, Any]] = []
    for did, ex in explanations.items():
        d = ex.demand
        head = {
            "demand_id": did,
            "community_id": d["community_id"],
            "district": d["district"],
            "category": d["category"],
            "status": d["status"],
            "reason": d["reason"] or "",
            "unmet_hours": int(d["hours"]) - int(d["covered_hours"]),
        }
        if len(ex.nearest):
            rows += [{**head, **r} for r in records(ex.nearest.drop(columns="demand_id"))]
        else:
            rows.append(dict(head))
    return pd.DataFrame(rows, columns=list(SHORTFALL_COLUMNS))


def _message(exc: Exception) -> str:
    """An error's message, a :class:`~matcher.i18n.Text` when it was raised as one (so
    that it can still be shown in any language)."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Text) else str(exc)


@dataclass(frozen=True)
class StoredReads:
    """A plan's bottlenecks and summaries from one look at the plan, as the service keeps
    them (see :func:`stored_reads`).

    Attributes
    ----------
    bottlenecks
        :func:`~matcher.analysis.explain.bottlenecks`, or ``None`` for a plan it refuses.
    bottleneck_error
        Why it refused (``""`` when it did not).
    bottleneck_demands
        Per row of ``bottlenecks``: every demand the row names (its ``demand_id``,
        ``gaining_demand_id`` and the demands of its ``moves``), in order of mention.
    summaries
        :func:`~matcher.analysis.explain.summaries` in the languages asked for.
    """

    bottlenecks: pd.DataFrame | None
    bottleneck_error: str
    bottleneck_demands: list[tuple[str, ...]]
    summaries: pd.DataFrame


def stored_reads(
    plan: Plan | str | Path,
    dataset: Dataset | str | Path | None = None,
    langs: tuple[str, ...] = LANGS,
) -> StoredReads:
    """Bottlenecks and summaries of a plan at once: the same tables as
    :func:`~matcher.analysis.explain.bottlenecks` and
    :func:`~matcher.analysis.explain.summaries` (default parameters), for the cost of one
    of them (the plan is indexed against its dataset once and its marginal values found
    once).

    Raises
    ------
    MatcherError
        What :func:`~matcher.analysis.explain.summaries` raises (a plan that does not fit
        the dataset).
    """
    ctx = plan_context(plan, dataset)
    try:
        table: pd.DataFrame | None
        table, named = rank_bottlenecks(ctx, ExplainParams())
        error = ""
    except ExplainError as exc:
        table, named, error = None, [], _message(exc)
    texts = summary_table(ctx.tables, ctx.dataset, ExplainParams(langs=langs), table)
    return StoredReads(table, error, named, texts)


__all__: Sequence[str] = (
    "SHORTFALL_COLUMNS",
    "Explanation",
    "StoredReads",
    "explain",
    "shortfall_table",
    "stored_reads",
)
