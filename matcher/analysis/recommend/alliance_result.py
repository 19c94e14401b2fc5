"""An alliance recommendation's result: its tables, summary and plans, written and told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from matcher.analysis.recommend.core import TieResult
from matcher.i18n import Translator

__all__ = ["AllianceResult"]


@dataclass(frozen=True)
class AllianceResult(TieResult):
    """An alliance recommendation and the plans that judge it (with the attributes of
    :class:`.TieResult`: ``comparison``, ``summary``, ``dataset``, ``before`` and
    ``after``).

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
    """

    gaps: pd.DataFrame
    candidates: pd.DataFrame
    recommendations: pd.DataFrame
    alliances: pd.DataFrame
    alliance_members: pd.DataFrame

    files: ClassVar[tuple[tuple[str, str], ...]] = (
        ("alliances.csv", "alliances"),
        ("alliance_members.csv", "alliance_members"),
        ("alliance_gaps.csv", "gaps"),
        ("alliance_candidates.csv", "candidates"),
        ("alliance_recommendations.csv", "recommendations"),
        ("before_after.csv", "comparison"),
    )
    summary_name: ClassVar[str] = "alliance_summary.json"

    def lines(self, _: Translator) -> list[str]:
        """Per street with gaps, the alliance and members recommended; then the true gain.
        Translated by ``_``."""
        s = self.summary
        lines = [
            _(
                "Alliances for {scope}: {streets} streets with demand no tied supplier can "
                "serve ({gap_hours} hours); {members} members recommended, covering "
                "{covered_hours} of those hours"
            ).format(
                scope=self.scope_text(_),
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
        return lines
