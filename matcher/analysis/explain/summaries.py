"""A short summary per district and per community (:func:`summaries`).

In any language of :data:`matcher.i18n.LANGS` (English and every catalogue: ``"zh"``),
from fixed sentences translated by the catalogues
(:func:`~matcher.analysis.explain.text.summary_text`): hours demanded and covered,
coverage, demands met, partial and unmet, the largest shortfalls by category with their
main reason, the units giving the most hours, and (districts) the bottleneck skill. The
facts of each group are found once (:class:`Facts`) and written in every language.

>>> import matcher
>>> from matcher.analysis.explain import ExplainParams
>>> table = plain_summaries(
...     matcher.plan("tests/data/example/dataset"),
...     "tests/data/example/dataset",
...     ExplainParams(langs=("en",)),
... )
>>> sorted(set(table["scope"]))
['community', 'district']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.analysis.explain.bottlenecks import rank_bottlenecks
from matcher.analysis.explain.context import plan_context
from matcher.analysis.explain.params import ExplainParams
from matcher.analysis.explain.text import summary_text
from matcher.errors import ExplainError
from matcher.inputs.aliases import district_name
from matcher.inputs.dataset import Dataset
from matcher.inputs.io import is_missing
from matcher.inputs.names import display_name
from matcher.plans.io import as_plan, plan_dataset
from matcher.plans.reasons import REASONS
from matcher.plans.result import Plan

SUMMARY_COLUMNS = ("scope", "id", "name", "lang", "text")


def summaries(
    plan: Plan | str | Path,
    dataset: Dataset | str | Path | None = None,
    params: ExplainParams | None = None,
    bottleneck_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A short plain-language summary per district and per community.

    Parameters
    ----------
    plan, dataset
        As for :func:`~matcher.analysis.explain.assignment_values`.
    params
        ``langs`` (any of :data:`matcher.i18n.LANGS`) and ``top`` (categories and units
        named).
    bottleneck_table
        From :func:`~matcher.analysis.explain.bottlenecks`, for each district's
        bottleneck skill; computed when ``None`` (and left out for a plan with labour
        integer rules).

    Returns
    -------
    DataFrame
        ``scope`` (``district`` or ``community``), ``id``, ``name``, ``lang``, ``text``;
        districts first (sorted), then communities in file order, per language.
    """
    params = params or ExplainParams()
    if bottleneck_table is not None:
        # Given the bottlenecks, the texts need the plan's tables only: indexing the plan
        # against every candidate arc would cost as much as the bottlenecks did.
        tables = as_plan(plan)
        return summary_table(tables, plan_dataset(tables, dataset), params, bottleneck_table)
    ctx = plan_context(plan, dataset)
    try:
        found: pd.DataFrame | None = rank_bottlenecks(ctx, params)[0]
    except ExplainError:
        found = None
    return summary_table(ctx.tables, ctx.dataset, params, found)


def plain_summaries(
    plan: Plan | str | Path,
    dataset: Dataset | str | Path | None = None,
    params: ExplainParams | None = None,
) -> pd.DataFrame:
    """:func:`summaries` without the bottleneck sentences, from the plan's tables alone
    (the plan is not indexed against its candidate arcs: cheap at any scale)."""
    tables = as_plan(plan)
    return summary_table(tables, plan_dataset(tables, dataset), params or ExplainParams(), None)


@dataclass(frozen=True)
class Facts:
    """What a summary says of a group of demands (a district's, a community's)."""

    demanded: int
    covered: int
    demands: int
    met: int
    partial: int
    unmet: int
    short: list[tuple[str, int, str]]  # largest unmet hours by category, main reason
    units: list[tuple[str, int]]  # units giving the most hours


def summary_table(
    tables: Plan,
    dataset: Dataset,
    params: ExplainParams,
    bottlenecks: pd.DataFrame | None,
) -> pd.DataFrame:
    """:func:`summaries` of a plan and its dataset, with the bottleneck sentences from
    ``bottlenecks`` (none when ``None``)."""
    comm = dataset.communities
    unit_names = _names(dataset.units, "unit_id")
    comm_names = _names(comm, "community_id")
    district_facts, community_facts = _group_facts(tables, dataset, params.top)
    rows: list[dict[str, str]] = []
    for lang in params.langs:
        for district, facts in district_facts.items():
            top = None
            if bottlenecks is not None:
                mine = bottlenecks[bottlenecks["district"] == district]
                top = {str(k): v for k, v in mine.iloc[0].items()} if len(mine) else None
            name = district_name(district, lang)
            text = summary_text(lang, name, facts, unit_names, top, True)
            rows.append(
                {"scope": "district", "id": district, "name": district, "lang": lang, "text": text}
            )
        for cid, facts in community_facts.items():
            name = display_name(comm_names.get(cid, cid), lang)
            text = summary_text(lang, name, facts, unit_names, None, False)
            rows.append({"scope": "community", "id": cid, "name": name, "lang": lang, "text": text})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _names(frame: pd.DataFrame, key: str) -> dict[str, str]:
    return dict(zip(frame[key].astype(str), frame["name"].astype(str), strict=True))


def _group_facts(
    tables: Plan, dataset: Dataset, top: int
) -> tuple[dict[str, Facts], dict[str, Facts]]:
    """The facts of each district (sorted) and each community (in file order), found
    once for every language."""
    status = tables.demand_status
    comm = dataset.communities
    district_of = dict(
        zip(comm["community_id"].astype(str), comm["district"].astype(str), strict=True)
    )
    assign = tables.assignments.copy()
    assign["district"] = assign["community_id"].astype(str).map(district_of)
    status_rows = status.groupby(status["community_id"].astype(str), sort=False).indices
    assign_rows = assign.groupby(assign["community_id"].astype(str), sort=False).indices
    none = np.zeros(0, dtype=np.int64)
    cols = _Columns(status, assign)
    status_district = status["district"].to_numpy(object)
    assign_district = assign["district"].to_numpy(object)
    district_facts = {
        d: cols.facts(
            np.flatnonzero(status_district == d).tolist(),
            np.flatnonzero(assign_district == d).tolist(),
            top,
        )
        for d in sorted(set(status["district"].astype(str)))
    }
    community_facts = {
        cid: cols.facts(
            np.asarray(status_rows[cid]).tolist(),
            np.asarray(assign_rows.get(cid, none)).tolist(),
            top,
        )
        for cid in comm["community_id"].astype(str)
        if cid in status_rows
    }
    return district_facts, community_facts


class _Columns:
    """The columns the summaries read, as Python lists: a group's facts are then a few
    loops over its rows, not a dozen pandas calls (which cost milliseconds per group,
    minutes for every community of a city)."""

    def __init__(self, status: pd.DataFrame, assign: pd.DataFrame) -> None:
        self.hours = status["hours"].tolist()
        self.covered = status["covered_hours"].tolist()
        self.status = status["status"].tolist()
        self.category = status["category"].tolist()
        self.reason = status["reason"].tolist()
        self.unit = assign["unit_id"].tolist()
        self.unit_hours = assign["hours"].tolist()

    def facts(self, rows: Sequence[int], arows: Sequence[int], top: int) -> Facts:
        """The facts of the status rows ``rows`` and assignment rows ``arows``."""
        counts: dict[Any, int] = {}
        by_cat: dict[Any, int] = {}
        by_reason: dict[Any, dict[Any, int]] = {}
        demanded = covered = 0
        for i in rows:
            demanded += self.hours[i]
            covered += self.covered[i]
            if not is_missing(self.status[i]):
                counts[self.status[i]] = counts.get(self.status[i], 0) + 1
            unmet = self.hours[i] - self.covered[i]
            cat, reason = self.category[i], self.reason[i]
            if unmet > 0 and not is_missing(cat):
                by_cat[cat] = by_cat.get(cat, 0) + unmet
                if not is_missing(reason):
                    mine = by_reason.setdefault(cat, {})
                    mine[reason] = mine.get(reason, 0) + unmet
        met, partial, unmet = (int(counts.get(k, 0)) for k in ("met", "partial", "unmet"))
        short = _largest_shortfalls(by_cat, by_reason, top)
        units = self._top_units(arows, top)
        return Facts(int(demanded), int(covered), len(rows), met, partial, unmet, short, units)

    def _top_units(self, arows: Sequence[int], top: int) -> list[tuple[str, int]]:
        """The ``top`` units giving the most hours in the assignment rows ``arows``."""
        by_unit: dict[Any, int] = {}
        for j in arows:
            if not is_missing(self.unit[j]):
                by_unit[self.unit[j]] = by_unit.get(self.unit[j], 0) + self.unit_hours[j]
        return [
            (str(u), int(h))
            for u, h in sorted(sorted(by_unit.items()), key=lambda kv: (-int(kv[1]), kv[0]))
        ][:top]


def _largest_shortfalls(
    by_cat: dict[Any, int], by_reason: dict[Any, dict[Any, int]], top: int
) -> list[tuple[str, int, str]]:
    """The ``top`` categories with most unmet hours, each with its main reason (most
    hours; of equal hours the first in the reason table)."""
    ranked = sorted(sorted(by_cat.items()), key=lambda kv: (-int(kv[1]), str(kv[0])))[:top]
    short = []
    for cat, hours in ranked:
        reason = sorted(
            sorted(by_reason[cat].items()),
            key=lambda kv: (-int(kv[1]), REASONS.index(kv[0]) if kv[0] in REASONS else 99),
        )[0][0]
        short.append((str(cat), int(hours), str(reason)))
    return short


__all__: Sequence[str] = (
    "SUMMARY_COLUMNS",
    "Facts",
    "plain_summaries",
    "summaries",
    "summary_table",
)
