"""A pairing recommendation's result: its tables, summary and plans, written and told."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from matcher.analysis.recommend.core import Scope, format_before_after, write_result
from matcher.i18n import translator
from matcher.inputs.dataset import Dataset
from matcher.plans.result import Plan

__all__ = ["PairingResult"]


@dataclass(frozen=True)
class PairingResult:
    """A pairing recommendation and the plans that judge it.

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
    comparison
        :func:`matcher.analysis.recommend.before_after` of the plans without and with the
        recommended pairings.
    summary
        JSON-ready figures: counts, total value, the true gain of the set, parameters.
    dataset
        The dataset with the recommended pairings (validated), ready to plan.
    before, after
        The plans without and with them.
    """

    pairings: pd.DataFrame
    recommendations: pd.DataFrame
    districts: pd.DataFrame
    units: pd.DataFrame
    comparison: pd.DataFrame
    summary: dict[str, Any]
    dataset: Dataset = field(repr=False)
    before: Plan = field(repr=False)
    after: Plan = field(repr=False)

    @property
    def gain(self) -> float:
        """The true gain of the whole set: the plan's objective after minus before."""
        return float(self.after.objective - self.before.objective)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``pairings.csv`` (dataset format plus ``status``),
        ``pairing_recommendations.csv``, ``pairing_districts.csv``, ``pairing_units.csv``,
        ``before_after.csv`` and ``pairing_summary.json``."""
        tables = (
            ("pairings.csv", self.pairings),
            ("pairing_recommendations.csv", self.recommendations),
            ("pairing_districts.csv", self.districts),
            ("pairing_units.csv", self.units),
            ("before_after.csv", self.comparison),
        )
        return write_result(out_dir, tables, "pairing_summary.json", self.summary)

    def text(self, lang: str = "en") -> str:
        """A few lines for people, in ``lang``."""
        _ = translator(lang)
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
        # The summary keeps the scope in English (it is data); "every community" is a phrase.
        scope = s["scope"] if s["scope"] != Scope().text() else _("all communities")
        lines = [
            head.format(
                scope=scope,
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
        lines.append(_("Before/after:"))
        lines.append(format_before_after(self.comparison, lang))
        return "\n".join(lines)
