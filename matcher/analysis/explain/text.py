"""The words of the explanations, in any language of :data:`matcher.i18n.LANGS`: one
demand's explanation (:func:`demand_text`, :func:`explanation_in`), a summary of a
district or community (:func:`summary_text`) and the ranked bottlenecks
(:func:`format_bottlenecks`).

Every sentence is fixed and translated by the catalogues; the numbers come from the
tables the other modules compute, so the texts in every language say the same.

>>> kind_name("cadre", translator("zh"))
'干部'
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from matcher.analysis.explain.values import records
from matcher.i18n import SOURCE_LANG, Translator, translator
from matcher.inputs.aliases import category_name, tie_name
from matcher.inputs.names import display_name
from matcher.plans.reasons import reason_text, status_name

if TYPE_CHECKING:
    from matcher.analysis.explain.demands import DemandExplanation
    from matcher.analysis.explain.summaries import Facts


def kind_name(kind: str, _: Translator) -> str:
    """A supplier kind as the reader's language writes it."""
    names = {
        "cadre": _.pgettext("supplier kind", "cadre"),
        "service": _.pgettext("supplier kind", "service"),
    }
    return names.get(kind, kind)


# ---- one demand ------------------------------------------------------------------------


def instead_text(rows: pd.DataFrame | list[dict[str, Any]], lang: str = SOURCE_LANG) -> str:
    """A supplier's other assignments (a frame, or its records) as text, in ``lang``:
    demand, category, priority, hours, score."""
    _ = translator(lang)
    rows_ = records(rows) if isinstance(rows, pd.DataFrame) else rows
    return _.pgettext("list separator", "; ").join(
        _("{demand} ({category}, priority {priority}) {hours} h at {score}/h").format(
            demand=r["demand_id"],
            category=category_name(str(r["category"]), lang),
            priority=r["priority"],
            hours=r["hours"],
            score=f"{r['hour_score']:.4f}",
        )
        for r in rows_
    )


def explanation_in(data: dict[str, Any], lang: str) -> dict[str, Any]:
    """A demand's explanation as :meth:`DemandExplanation.to_dict` gives it (what the
    service keeps, in English) with its texts in ``lang``: the reason, and what each of
    the nearest suppliers serves instead (from ``elsewhere``). Works on the records
    themselves: no table is built, so the service answers a kept explanation at once."""
    mine: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in data["elsewhere"]:
        mine.setdefault((str(r["supplier_kind"]), str(r["supplier_id"])), []).append(r)
    nearest = [
        {
            **n,
            "serves_instead": instead_text(
                mine.get((str(n["supplier_kind"]), str(n["supplier_id"])), []), lang
            ),
        }
        for n in data["nearest"]
    ]
    reason = str(data["demand"].get("reason") or "")
    return {**data, "reason_text": reason_text(reason, lang), "nearest": nearest}


def demand_text(ex: DemandExplanation, lang: str = SOURCE_LANG) -> str:
    """:meth:`DemandExplanation.text`: the demand, who serves it, and the nearest
    suppliers with what they serve instead, as lines for people in ``lang``."""
    _ = translator(lang)
    lines = [_demand_line(ex.demand, lang, _)]
    lines += ["  " + _served_line(r, lang, _) for r in records(ex.assignments)]
    if len(ex.nearest):
        if bool(ex.nearest["eligible"].any()):
            lines.append("  " + _("nearest suppliers that could serve it:"))
        else:
            lines.append("  " + _("nearest suppliers that have its skill:"))
    instead = [n["serves_instead"] for n in ex.to_dict(lang)["nearest"]]
    for r, serves in zip(records(ex.nearest), instead, strict=True):
        lines.append("    " + _nearest_line(r, serves, lang, _))
    return "\n".join(lines)


def _demand_line(d: dict[str, Any], lang: str, _: Translator) -> str:
    """The first line: the demand, its hours covered, status and reason."""
    reason = str(d.get("reason") or "")
    head = dict(
        demand=d["demand_id"],
        category=category_name(str(d["category"]), lang),
        priority=d["priority"],
        community=d["community_name"],
        community_id=d["community_id"],
        district=d["district"],
        covered=f"{d['covered_hours']:,}",
        hours=f"{d['hours']:,}",
        status=status_name(str(d["status"]), _.lang),
    )
    if reason:
        return _(
            "Demand {demand} ({category}, priority {priority}) in {community} "
            "({community_id}, {district}): {covered} of {hours} hours covered, {status} "
            "-- {reason}: {reason_text}"
        ).format(**head, reason=reason, reason_text=reason_text(reason, lang))
    return _(
        "Demand {demand} ({category}, priority {priority}) in {community} "
        "({community_id}, {district}): {covered} of {hours} hours covered, {status}"
    ).format(**head)


def _served_line(r: dict[str, Any], lang: str, _: Translator) -> str:
    """One assignment to the demand, with its value."""
    return _(
        "served by {kind} {supplier} ({unit}, {tie}, {km} km): {hours} h x {score} = {value}"
    ).format(
        kind=kind_name(r["supplier_kind"], _),
        supplier=r["supplier_id"],
        unit=r["unit_id"],
        tie=tie_name(str(r["tie"]), lang),
        km=f"{r['km']:.2f}",
        hours=r["hours"],
        score=f"{r['hour_score']:.4f}",
        value=f"{r['value']:.4f}",
    )


def _nearest_line(r: dict[str, Any], serves: str, lang: str, _: Translator) -> str:
    """One of the nearest suppliers: its hours here, elsewhere and left, and what it
    serves instead (``serves``, when anything)."""
    values = dict(
        kind=kind_name(r["supplier_kind"], _),
        supplier=r["supplier_id"],
        unit=r["unit_id"],
        tie=tie_name(str(r["tie"]), lang) if r["eligible"] else _("no tie"),
        km=f"{r['km']:.2f}",
        score=f"{r['hour_score']:.4f}",
        here=r["hours_here"],
        elsewhere=r["hours_elsewhere"],
        left=r["hours_left"],
    )
    if serves:
        return _(
            "{kind} {supplier} ({unit}, {tie}, {km} km, {score}/h here): {here} h "
            "here, {elsewhere} h elsewhere, {left} h left; instead: {instead}"
        ).format(**values, instead=serves)
    return _(
        "{kind} {supplier} ({unit}, {tie}, {km} km, {score}/h here): {here} h "
        "here, {elsewhere} h elsewhere, {left} h left"
    ).format(**values)


# ---- summaries -------------------------------------------------------------------------


def summary_text(
    lang: str,
    name: str,
    facts: Facts,
    unit_names: dict[str, str],
    bottleneck: dict[str, Any] | None,
    is_district: bool,
) -> str:
    """A summary of a district's or a community's demands (``facts``), in ``lang``: the
    hours and demands covered, the largest shortfalls, the units giving most hours and
    (``bottleneck``, a row of the bottlenecks) the skill worth one more hour most."""
    _ = translator(lang)
    sep = _.pgettext("list separator", ", ")
    parts = [_counts_sentence(name, facts, _)]
    if facts.short:
        items = sep.join(
            _("{category} {hours} h ({reason})").format(
                category=category_name(c, lang),
                hours=f"{h:,}",
                reason=reason_text(r, lang, short=True),
            )
            for c, h, r in facts.short
        )
        parts.append(_("Largest shortfalls: {items}.").format(items=items))
    elif facts.demanded > 0:
        parts.append(_("Every demanded hour is covered."))
    if facts.units:
        units = sep.join(
            _("{name} {hours} h").format(
                name=display_name(unit_names.get(u, u), lang), hours=f"{h:,}"
            )
            for u, h in facts.units
        )
        parts.append(_("Most hours from: {units}.").format(units=units))
    if bottleneck is not None:
        parts += _bottleneck_sentence(bottleneck, is_district, lang, _)
    # Sentences follow each other as the language writes them (a space in English,
    # nothing in Chinese).
    join = _.pgettext("two sentences in a row", "{first} {second}")
    return functools.reduce(lambda a, b: join.format(first=a, second=b), parts)


def _counts_sentence(name: str, facts: Facts, _: Translator) -> str:
    """Hours demanded and covered, and how many demands are met, partial and unmet."""
    demanded, covered, n_demands = facts.demanded, facts.covered, facts.demands
    pct = f"{100 * covered / demanded:.1f}%" if demanded > 0 else _("n/a")
    return _.ngettext(
        "{name}: {covered} of {demanded} demanded hours covered ({pct}); {n} demand: "
        "{met} met, {partial} partial, {unmet} unmet.",
        "{name}: {covered} of {demanded} demanded hours covered ({pct}); {n} demands: "
        "{met} met, {partial} partial, {unmet} unmet.",
        n_demands,
    ).format(
        name=name,
        covered=f"{covered:,}",
        demanded=f"{demanded:,}",
        pct=pct,
        n=f"{n_demands:,}",
        met=f"{facts.met:,}",
        partial=f"{facts.partial:,}",
        unmet=f"{facts.unmet:,}",
    )


def _bottleneck_sentence(
    bottleneck: dict[str, Any], is_district: bool, lang: str, _: Translator
) -> list[str]:
    """The district's bottleneck skill, or that there is none (nothing for a community)."""
    if bottleneck["marginal_value"] > 0:
        return [
            _(
                "Bottleneck: one more hour of {skill} from this district's suppliers "
                "would add {value} to the objective."
            ).format(
                skill=category_name(str(bottleneck["skill"]), lang),
                value=f"{bottleneck['marginal_value']:.2f}",
            )
        ]
    if is_district:
        return [_("No bottleneck: one more hour of any skill here would add nothing.")]
    return []


# ---- bottlenecks -----------------------------------------------------------------------


def format_bottlenecks(table: pd.DataFrame, top: int | None = None, lang: str = SOURCE_LANG) -> str:
    """The ranked bottlenecks (:func:`~matcher.analysis.explain.bottlenecks`) as lines for
    people, in ``lang``; the first ``top`` rows when given."""
    _ = translator(lang)
    rows = table if top is None else table.head(top)
    lines = [_("rank  value     skill / district -> where the hour goes")]
    for r in records(rows):
        at = dict(
            kind=kind_name(str(r["supplier_kind"]), _),
            supplier=r["supplier_id"],
            demand=r["demand_id"],
            gaining=r["gaining_demand_id"],
        )
        if not r["supplier_id"]:
            where = _("would stay unused")
        elif r["gaining_demand_id"]:
            where = _("at {kind} {supplier}: serves {demand}, {gaining} gains an hour").format(**at)
        else:
            where = _("at {kind} {supplier}: serves {demand}").format(**at)
        skill = category_name(str(r["skill"]), lang)
        lines.append(
            f"{r['rank']:>4}  {r['marginal_value']:>8.4f}  {skill} / {r['district']} -> {where}"
        )
    return "\n".join(lines)


__all__: Sequence[str] = (
    "demand_text",
    "explanation_in",
    "format_bottlenecks",
    "instead_text",
    "kind_name",
    "summary_text",
)
