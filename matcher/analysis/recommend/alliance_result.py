"""An alliance recommendation's result: its tables, summary and plans, written and told."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from matcher.analysis.recommend.core import Scope, format_before_after, write_result
from matcher.i18n import translator
from matcher.inputs.dataset import Dataset
from matcher.plans.result import Plan

__all__ = ["AllianceResult"]


@dataclass(frozen=True)
class AllianceResult:
    """An alliance recommendation and the plans that judge it.

    Attributes
    ----------
    gaps
        Per (district, street, category): hours short for ``no_eligible_supplier`` or
        ``too_far``.
    candidates
        Units that could serve those gaps: distance to the street and supply per
        category.
    recommendations
        Per street with gaps: the alliance joined or created, the recommended members,
        the gap hours, the hours they cover (total and by category), the categories left
        uncovered.
    alliances, alliance_members
        The dataset's tables after the recommendation, with a ``status`` column
        (``existing`` or ``new``).
    comparison
        :func:`matcher.analysis.recommend.before_after` of the plans without and with them.
    summary
        JSON-ready figures.
    dataset
        The dataset with the recommended alliances, ready to plan.
    before, after
        The plans without and with them.
    """

    gaps: pd.DataFrame
    candidates: pd.DataFrame
    recommendations: pd.DataFrame
    alliances: pd.DataFrame
    alliance_members: pd.DataFrame
    comparison: pd.DataFrame
    summary: dict[str, Any]
    dataset: Dataset = field(repr=False)
    before: Plan = field(repr=False)
    after: Plan = field(repr=False)

    @property
    def gain(self) -> float:
        """The plan's objective with the recommended alliances minus without."""
        return float(self.after.objective - self.before.objective)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``alliances.csv`` and ``alliance_members.csv`` (dataset format plus
        ``status``), ``alliance_gaps.csv``, ``alliance_candidates.csv``,
        ``alliance_recommendations.csv``, ``before_after.csv`` and
        ``alliance_summary.json``."""
        tables = (
            ("alliances.csv", self.alliances),
            ("alliance_members.csv", self.alliance_members),
            ("alliance_gaps.csv", self.gaps),
            ("alliance_candidates.csv", self.candidates),
            ("alliance_recommendations.csv", self.recommendations),
            ("before_after.csv", self.comparison),
        )
        return write_result(out_dir, tables, "alliance_summary.json", self.summary)

    def text(self, lang: str = "en") -> str:
        """A few lines for people, in ``lang``."""
        _ = translator(lang)
        s = self.summary
        # The summary keeps the scope in English (it is data); "every community" is a phrase.
        scope = s["scope"] if s["scope"] != Scope().text() else _("all communities")
        lines = [
            _(
                "Alliances for {scope}: {streets} streets with demand no tied supplier can "
                "serve ({gap_hours} hours); {members} members recommended, covering "
                "{covered_hours} of those hours"
            ).format(
                scope=scope,
                streets=s["streets_with_gaps"],
                gap_hours=f"{s['gap_hours']:,}",
                members=s["new_members"],
                covered_hours=f"{s['covered_hours']:,}",
            ),
        ]
        for row in self.recommendations.to_dict("records"):
            values = {
                "district": row["district"],
                "street": row["street"],
                "alliance": row["alliance_id"],
                "members": row["members"] or _("(no candidate can help)"),
                "covered": row["covered_hours"],
                "gap": row["gap_hours"],
                "uncovered": row["uncovered"],
            }
            line = (
                _(
                    "  {district}/{street}: {alliance} + {members}; covers {covered} of {gap} h; "
                    "uncovered {uncovered}"
                )
                if row["uncovered"]
                else _("  {district}/{street}: {alliance} + {members}; covers {covered} of {gap} h")
            )
            lines.append(line.format(**values))
        lines.append(_("  true gain {gain}").format(gain=f"{s['gain']:,.4f}"))
        lines.append(_("Before/after:"))
        lines.append(format_before_after(self.comparison, lang))
        return "\n".join(lines)
