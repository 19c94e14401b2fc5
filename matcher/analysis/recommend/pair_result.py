"""A pairing recommendation's result: its tables, summary and plans, written and told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from matcher.analysis.recommend.core import TieResult
from matcher.i18n import Translator

__all__ = ["PairingResult"]


@dataclass(frozen=True)
class PairingResult(TieResult):
    """A pairing recommendation and the plans that judge it (with the attributes of
    :class:`.TieResult`: ``comparison``, ``summary`` -- counts, total value, the true gain
    of the set, parameters --, ``dataset``, ``before`` and ``after``).

    Attributes
    ----------
    pairings
        The dataset's ``pairings.csv`` after the recommendation (``unit_id``,
        ``community_id``) with a ``status`` column: ``existing`` or ``new``.
    recommendations
        One row per new (or, with ``reconsider``, dropped) pairing: unit, community,
        district, km, ``value`` (the value it was chosen by), ``value_kind``, the unmet
        hours it serves (total and by category) and ``status``.
    districts
        Per district in scope: communities, pairings before and after, pairings per
        community, communities below ``min_partners`` before and after.
    units
        Per unit with a pairing or a candidate: cap, load (communities paired) before
        and after.
    """

    pairings: pd.DataFrame
    recommendations: pd.DataFrame
    districts: pd.DataFrame
    units: pd.DataFrame

    files: ClassVar[tuple[tuple[str, str], ...]] = (
        ("pairings.csv", "pairings"),
        ("pairing_recommendations.csv", "recommendations"),
        ("pairing_districts.csv", "districts"),
        ("pairing_units.csv", "units"),
        ("before_after.csv", "comparison"),
    )
    summary_name: ClassVar[str] = "pairing_summary.json"

    def lines(self, _: Translator) -> list[str]:
        """The counts and values, then the first 15 recommendations, translated by ``_``."""
        s = self.summary
        # Whole sentences with and without dropped pairings: word order differs by language.
        head = (
            _(
                "Pairings for {scope}: {new} new, {dropped} dropped ({candidates} candidates, "
                "values {value_kind})"
            )
            if s["dropped_pairings"]
            else _("Pairings for {scope}: {new} new ({candidates} candidates, values {value_kind})")
        )
        lines = [
            head.format(
                scope=self.scope_text(_),
                new=s["new_pairings"],
                dropped=s["dropped_pairings"],
                candidates=f"{s['candidates']:,}",
                value_kind=s["value_kind"],
            ),
            _("  communities below {n} partner(s): {before} before, {after} after").format(
                n=s["min_partners"], before=s["short_before"], after=s["short_after"]
            ),
            _("  value chosen {value}; true gain of the set {gain}").format(
                value=f"{s['total_value']:,.4f}", gain=f"{s['gain']:,.4f}"
            ),
        ]
        row_text = _(
            "  {status} {unit} -> {community} ({district}), {km} km, value {value}, serves {served}"
        )
        for row in self.recommendations.head(15).to_dict("records"):
            lines.append(
                row_text.format(
                    status=f"{row['status']:<8}",
                    unit=row["unit_id"],
                    community=row["community_id"],
                    district=row["district"],
                    km=f"{row['km']:.2f}",
                    value=f"{row['value']:,.4f}",
                    served=row["served"] or "-",
                )
            )
        if len(self.recommendations) > 15:
            lines.append(_("  ... {n} more").format(n=len(self.recommendations) - 15))
        return lines
