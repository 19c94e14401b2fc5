"""A plan in a few lines for people, in their language (``matcher plan``'s output).

>>> import matcher
>>> print(matcher.plan("tests/data/example/dataset").text().splitlines()[2])
  hours covered    40 of 44 (90.9%)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from matcher.i18n import SOURCE_LANG, Text, Translator, pad_display, thousands, translator

if TYPE_CHECKING:
    from matcher.plans.result import Plan

__all__ = ["plan_text"]


def _pct(x: float | None, _: Translator) -> str:
    return _("n/a") if x is None else f"{100 * x:.1f}%"


def plan_text(p: Plan, lang: str = SOURCE_LANG) -> str:
    """A short human-readable summary of a plan, in ``lang`` (statuses, rules, reasons
    and ids keep their codes, as the plan's tables have them)."""
    _ = translator(lang)
    k = p.kpis
    head = _(
        "Plan: {status} (bound {bound}, gap {gap}), solved in {seconds} s over {arcs} "
        "candidate arcs"
    ).format(
        status=k["solver_status"],
        bound=f"{k['bound']:,.4f}",
        gap=f"{k['gap']:.1e}",
        seconds=f"{k['solve_seconds']:.3f}",
        arcs=f"{k['candidate_arcs']:,}",
    )
    rows = [*_figures(k, _), *_integer_rules(k, _), *_shortfalls(k, _)]
    return "\n".join([head, *(f"  {pad_display(label, 16)} {text}" for label, text in rows)])


_DEMAND_COUNTS = (("n", ""), ("met", "_met"), ("partial", "_partial"), ("unmet", "_unmet"))
_SUPPLIER_COUNTS = (
    ("used", "suppliers_used"),
    ("suppliers", "suppliers"),
    ("hours_used", "hours_used"),
    ("hours", "hours_available"),
)


def _figures(k: Mapping[str, Any], _: Translator) -> list[tuple[str, str]]:
    """Objective, hours, demands and suppliers: (label, text) rows."""
    u = k["supplier_utilization"]
    return [
        (
            _("objective"),
            _("{objective}  (weighted hours {weighted}, travel {travel} hour-km)").format(
                objective=f"{k['objective']:,.4f}",
                weighted=f"{k['weighted_hours']:,.1f}",
                travel=f"{k['travel_hour_km']:,.1f}",
            ),
        ),
        (
            _("hours covered"),
            _("{covered} of {demanded} ({share})").format(
                **thousands({"covered": k["hours_covered"], "demanded": k["hours_demanded"]}),
                share=_pct(k["coverage"], _),
            ),
        ),
        (
            _("demands"),
            _("{n}: {met} met, {partial} partial, {unmet} unmet").format(
                **thousands({key: k[f"demands{part}"] for key, part in _DEMAND_COUNTS})
            ),
        ),
        (
            _("suppliers used"),
            _("{used} of {suppliers}; {hours_used} of {hours} hours ({share})").format(
                **thousands({key: u[name] for key, name in _SUPPLIER_COUNTS}),
                share=_pct(u["utilization"], _),
            ),
        ),
    ]


def _integer_rules(k: Mapping[str, Any], _: Translator) -> list[tuple[str, str]]:
    """The integer rules, lead units, funds and diagnoses, where the plan has them."""
    rows = []
    if k.get("rules"):
        rows.append((_("integer rules"), ", ".join(k["rules"])))
    if "leads" in k:
        lead = k["leads"]
        rows.append(
            (
                _("lead units"),
                _("cost {cost} ({status}, bound {bound})").format(
                    cost=f"{lead['objective']:,.2f}",
                    status=lead["status"],
                    bound=f"{lead['bound']:,.2f}",
                ),
            )
        )
    if "demands_funded" in k:
        rows.append(
            (
                _("funds"),
                _("{n} demands funded, {yuan} yuan").format(
                    n=f"{k['demands_funded']:,}", yuan=f"{k['funds_granted']:,.2f}"
                ),
            )
        )
    for finding in k.get("diagnosis", []):
        message = finding["message"]
        if isinstance(message, Text):
            message = message.render(_.lang)
        rows.append((_("diagnosis"), f"[{finding['rule']}] {message}"))
    return rows


def _shortfalls(k: Mapping[str, Any], _: Translator) -> list[tuple[str, str]]:
    """Reasons, coverage by district and communities with no coverage."""
    rows = []
    if k["reasons"]:
        reasons = ", ".join(f"{r} {n:,}" for r, n in k["reasons"].items())
        rows.append((_("not fully met"), reasons))
    districts = ", ".join(
        f"{d} {_pct(v['coverage'], _)}" for d, v in k["coverage_by_district"].items()
    )
    rows.append((_("by district"), districts))
    zero = k["communities_zero_coverage"]
    if zero:
        shown = ", ".join(zero[:5]) + (" ..." if len(zero) > 5 else "")
        rows.append(
            (_("zero coverage"), _("{n} communities: {ids}").format(n=len(zero), ids=shown))
        )
    return rows
