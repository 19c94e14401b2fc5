"""The report's sections: the KPI tiles, coverage by district and category, supply
against demand per skill, supplier utilization and why demands fall short.

Each section is a ``<section>`` (:func:`section`) whose figures carry ``data-*``
attributes; the map is :mod:`matcher.report.map`'s, the comparison with another plan
:mod:`matcher.report.compare`'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from matcher.i18n import SOURCE_LANG, Translator
from matcher.inputs.aliases import category_name, district_name
from matcher.inputs.dataset import Dataset
from matcher.plans.reasons import reason_text, status_name
from matcher.plans.result import Plan
from matcher.report.charts import (
    COVER_BAR,
    DEMAND_BAR,
    IDLE_BAR,
    REASON_BAR,
    USED_BAR,
    BarRow,
    coverage_colour,
    hbar_chart,
)
from matcher.report.format import (
    as_float,
    as_int,
    data_attrs,
    escape,
    fmt_int,
    fmt_pct,
    html_format,
    kpi_html,
    page_name,
    short_name,
    solver_status_name,
)

__all__ = [
    "TOP_UNITS",
    "TOP_UNMET",
    "coverage_sections",
    "kpi_tiles",
    "names_by_id",
    "section",
    "supply_section",
    "unmet_section",
    "utilization_section",
]

TOP_UNMET = 25
"""Rows in the table of the largest unmet demands."""
TOP_UNITS = 20
"""Units in the utilization chart."""


def section(section_id: str, title: str, body: str, intro: str = "") -> str:
    """A section; ``intro`` is HTML (escaped by the caller), ``title`` plain text."""
    p = f'<p class="intro">{intro}</p>' if intro else ""
    return f'<section id="{section_id}"><h2>{escape(title)}</h2>{p}{body}</section>'


def kpi_tiles(plan: Plan, _: Translator) -> str:
    """The headline KPIs as tiles: coverage, demands, supplier hours, travel."""
    k = plan.kpis
    u = ["supplier_utilization"]

    def kpi(path: list[str], fmt: str, tag: str = "span") -> str:
        return kpi_html(k, path, fmt, tag, _.lang)

    tiles = [
        (
            _("Hours covered"),
            kpi(["coverage"], "pct", "div"),
            html_format(
                _("{covered} of {demanded} hours demanded"),
                covered=kpi(["hours_covered"], "int"),
                demanded=kpi(["hours_demanded"], "int"),
            ),
        ),
        (
            _("Demands"),
            kpi(["demands"], "int", "div"),
            html_format(
                _("{met} met · {partial} partial · {unmet} unmet"),
                met=kpi(["demands_met"], "int"),
                partial=kpi(["demands_partial"], "int"),
                unmet=kpi(["demands_unmet"], "int"),
            ),
        ),
        (
            _("Supplier hours used"),
            kpi([*u, "utilization"], "pct", "div"),
            html_format(
                _("{used} of {available} hours; {suppliers_used} of {suppliers} suppliers"),
                used=kpi([*u, "hours_used"], "int"),
                available=kpi([*u, "hours_available"], "int"),
                suppliers_used=kpi([*u, "suppliers_used"], "int"),
                suppliers=kpi([*u, "suppliers"], "int"),
            ),
        ),
        (
            _("Communities with nothing covered"),
            kpi(["communities_zero_coverage_count"], "int", "div"),
            html_format(_("communities with demanded hours and none covered")),
        ),
        (
            _("Objective"),
            kpi(["objective"], "num", "div"),
            html_format(
                _("{status}; bound {bound}, weighted hours {weighted}"),
                status=escape(solver_status_name(_, k.get("solver_status", ""))),
                bound=kpi(["bound"], "num"),
                weighted=kpi(["weighted_hours"], "num"),
            ),
        ),
        (
            _("Travel"),
            kpi(["travel_hour_km"], "num", "div"),
            html_format(_("hour-km: hours given × km between supplier and community")),
        ),
    ]
    body = "".join(
        f'<div class="tile"><div class="tile-title">{escape(t)}</div>'
        f'<div class="tile-value">{v}</div><div class="tile-note">{n}</div></div>'
        for t, v, n in tiles
    )
    return f'<div class="tiles" id="kpi-tiles">{body}</div>'


def names_by_id(dataset: Dataset) -> tuple[dict[str, str], dict[str, str]]:
    """The names of the communities and of the units, by id."""
    communities = dict(
        zip(
            dataset.communities["community_id"].astype(str),
            dataset.communities["name"].astype(str),
            strict=True,
        )
    )
    units = dict(
        zip(dataset.units["unit_id"].astype(str), dataset.units["name"].astype(str), strict=True)
    )
    return communities, units


def _coverage_rows(
    kpis: Mapping[str, Any], key: str, data_key: str, _: Translator, label: Callable[[str], str]
) -> list[BarRow]:
    """A coverage chart's rows: one per district or category, labelled by ``label``."""
    rows = []
    for name, v in (kpis.get(key) or {}).items():
        share = v.get("coverage")
        covered, demanded = v.get("hours_covered", 0), v.get("hours_demanded", 0)
        shown = label(str(name))
        numbers = {
            "share": fmt_pct(share, _.lang),
            "covered": fmt_int(covered),
            "demanded": fmt_int(demanded),
        }
        rows.append(
            BarRow(
                label=shown,
                value=float(share or 0.0),
                text=_("{share} · {covered} of {demanded} h").format(**numbers),
                fill=coverage_colour(share),
                data={
                    data_key: name,
                    "coverage": json.dumps(share),
                    "hours-covered": covered,
                    "hours-demanded": demanded,
                },
                title=_("{name}: {covered} of {demanded} hours covered ({share})").format(
                    name=shown, **numbers
                ),
            )
        )
    return rows


def coverage_sections(kpis: Mapping[str, Any], _: Translator) -> str:
    """Coverage by district and by category (lowest first), side by side."""
    district_rows = _coverage_rows(
        kpis, "coverage_by_district", "district", _, lambda d: district_name(d, _.lang)
    )
    category_rows = sorted(
        _coverage_rows(
            kpis, "coverage_by_category", "category", _, lambda c: category_name(c, _.lang)
        ),
        key=lambda r: (r.value, str(r.data["category"])),
    )
    share_axis = _("share of demanded hours covered")
    districts = section(
        "by-district",
        _("Coverage by district"),
        hbar_chart(
            "chart-districts", district_rows, axis=share_axis, _=_, pct=True, text_width=170
        ),
    )
    categories = section(
        "by-category",
        _("Coverage by category"),
        hbar_chart(
            "chart-categories", category_rows, axis=share_axis, _=_, pct=True, text_width=170
        ),
        html_format(_("Lowest coverage first.")),
    )
    return f'<div class="grid2">{districts}{categories}</div>'


def supply_section(table: pd.DataFrame, _: Translator) -> str:
    """Supply against demand per skill, from
    :func:`~matcher.report.supply.skill_supply`'s table."""
    rows = _supply_rows(table, _)
    demanded, covered = html_format(_("hours demanded")), html_format(_("hours covered"))
    reach = html_format(
        _("supply within reach (suppliers with the skill and a tie to a community asking for it)")
    )
    legend = (
        '<div class="legend"><span class="swatch" style="background:'
        f'{DEMAND_BAR}"></span>{demanded} <span class="swatch" '
        f'style="background:{COVER_BAR}"></span>{covered} '
        f'<span class="swatch tick"></span>{reach}</div>'
    )
    chart = hbar_chart("chart-supply", rows, axis=_("hours"), _=_, width=1000, text_width=300)
    n = int(table["bottleneck"].sum()) if len(table) else 0
    intro = escape(
        _.ngettext(
            "Categories sorted by hours left uncovered. A category is a {b}bottleneck{_b} "
            "when the suppliers who have the skill and a tie to a community asking for it "
            "hold fewer hours than are demanded ({n} category): more cadres with that "
            "skill, or new pairings, are needed. Where supply within reach exceeds demand "
            "and hours are still uncovered, the supply is in the wrong places or busy "
            "elsewhere. A cadre with several skills counts in each.",
            "Categories sorted by hours left uncovered. A category is a {b}bottleneck{_b} "
            "when the suppliers who have the skill and a tie to a community asking for it "
            "hold fewer hours than are demanded ({n} categories): more cadres with that "
            "skill, or new pairings, are needed. Where supply within reach exceeds demand "
            "and hours are still uncovered, the supply is in the wrong places or busy "
            "elsewhere. A cadre with several skills counts in each.",
            n,
        )
    ).format(b="<b>", _b="</b>", n=n)
    return section("supply", _("Supply against demand per skill"), legend + chart, intro)


def _supply_rows(table: pd.DataFrame, _: Translator) -> list[BarRow]:
    """The supply chart's rows: hours covered against demanded, supply within reach as a
    tick, the bottlenecks alerted."""
    lang = _.lang
    rows = []
    for r in table.itertuples(index=False):
        alert = bool(r.bottleneck)
        numbers = {
            "covered": fmt_int(r.hours_covered),
            "demanded": fmt_int(r.hours_demanded),
            "reach": fmt_int(r.reach_hours),
            "skilled": fmt_int(r.skilled_hours),
        }
        text = (
            _("{covered} of {demanded} h · reach {reach} h ⚠ bottleneck")
            if alert
            else _("{covered} of {demanded} h · reach {reach} h")
        ).format(**numbers)
        label = category_name(str(r.category), lang)
        rows.append(
            BarRow(
                label=label,
                value=as_float(r.hours_covered),
                back=as_float(r.hours_demanded),
                tick=as_float(r.reach_hours),
                text=text,
                fill=COVER_BAR,
                alert=alert,
                data={
                    "category": r.category,
                    "hours-demanded": r.hours_demanded,
                    "hours-covered": r.hours_covered,
                    "reach-hours": r.reach_hours,
                    "skilled-hours": r.skilled_hours,
                    "bottleneck": str(alert).lower(),
                },
                title=_(
                    "{category}: {demanded} h demanded, {covered} h covered; suppliers with "
                    "the skill and a tie: {reach} h; with the skill anywhere: {skilled} h"
                ).format(category=label, **numbers),
            )
        )
    return rows


def utilization_section(dataset: Dataset, plan: Plan, _: Translator) -> str:
    """Supplier utilization: tiles per kind, the units with the most idle hours."""
    frame = _idle_hours(dataset, plan)
    _communities, unit_names = names_by_id(dataset)
    rows = _idle_rows(frame, unit_names, _)
    chart = hbar_chart("chart-units", rows, axis=_("hours"), _=_, width=1000, text_width=220)
    used_words, available_words = html_format(_("hours used")), html_format(_("hours available"))
    legend = (
        '<div class="legend"><span class="swatch" style="background:'
        f'{USED_BAR}"></span>{used_words} <span class="swatch" '
        f'style="background:{IDLE_BAR}"></span>{available_words}</div>'
    )
    intro = html_format(
        _(
            "The {shown} units with the most idle hours (of {units} units with suppliers): "
            "their cadres and services could take on more if ties or skills allowed."
        ),
        shown=str(min(TOP_UNITS, len(frame))),
        units=str(len(frame)),
    )
    tiles = _utilization_tiles(plan.kpis, _)
    body = f'<div class="tiles" id="utilization-tiles">{tiles}</div>{legend}{chart}'
    return section("utilization", _("Supplier utilization"), body, intro)


def _utilization_tiles(k: Mapping[str, Any], _: Translator) -> str:
    """A tile per kind of supplier with hours (KPIs ``k``): the share of them used."""
    lang = _.lang
    u = k.get("supplier_utilization") or {}
    titles = {"cadre": _("cadre hours used"), "service": _("service hours used")}
    kinds = []
    for kind in ("cadre", "service"):
        avail = u.get(f"{kind}_hours_available")
        if not avail:
            continue
        path = ["supplier_utilization"]
        note = html_format(
            _("{used} of {available} h"),
            used=kpi_html(k, [*path, f"{kind}_hours_used"], "int", lang=lang),
            available=kpi_html(k, [*path, f"{kind}_hours_available"], "int", lang=lang),
        )
        kinds.append(
            f'<div class="tile small"><div class="tile-title">{escape(titles[kind])}</div>'
            f'<div class="tile-value">'
            f"{kpi_html(k, [*path, f'{kind}_utilization'], 'pct', lang=lang)}</div>"
            f'<div class="tile-note">{note}</div></div>'
        )
    return "".join(kinds)


def _idle_hours(dataset: Dataset, plan: Plan) -> pd.DataFrame:
    """Per unit with suppliers: hours ``available``, ``used`` and ``idle``, most idle first."""
    cadres = dataset.cadres
    services = dataset.resources
    services = services[services["kind"] == "service"]
    available = (
        pd.concat(
            [
                cadres.groupby("unit_id")["hours"].sum().astype(float),
                services.groupby("unit_id")["amount"].sum().astype(float),
            ]
        )
        .groupby(level=0)
        .sum()
    )
    used = plan.assignments.groupby("unit_id")["hours"].sum().astype(float)
    frame = pd.DataFrame({"available": available})
    frame["used"] = used.reindex(frame.index).fillna(0.0)
    frame = frame[frame["available"] > 0]
    frame["idle"] = frame["available"] - frame["used"]
    frame = frame.sort_values(["idle", "available"], ascending=[False, False], kind="stable")
    return frame


def _idle_rows(frame: pd.DataFrame, unit_names: dict[str, str], _: Translator) -> list[BarRow]:
    """The chart's rows: the first :data:`TOP_UNITS` units of :func:`_idle_hours`."""
    lang = _.lang
    rows = []
    for unit_id, r in frame.head(TOP_UNITS).iterrows():
        name = unit_names.get(str(unit_id), str(unit_id))
        share = r["used"] / r["available"]
        numbers = {
            "used": fmt_int(r["used"]),
            "available": fmt_int(r["available"]),
            "share": fmt_pct(share, lang),
            "idle": fmt_int(r["idle"]),
        }
        rows.append(
            BarRow(
                label=short_name(name) if lang == SOURCE_LANG else page_name(name, lang),
                value=as_float(r["used"]),
                back=as_float(r["available"]),
                text=_("{used} of {available} h ({share})").format(**numbers),
                fill=USED_BAR,
                data={
                    "unit-id": unit_id,
                    "hours-used": as_int(r["used"]),
                    "hours-available": as_int(r["available"]),
                },
                title=_("{name} ({unit_id}): {used} of {available} hours used, {idle} idle").format(
                    name=page_name(name, lang), unit_id=unit_id, **numbers
                ),
            )
        )
    return rows


def _reason_label(code: object, lang: str) -> str:
    """A reason as a label: its code in English (as the plan's files write it), its few
    words in other languages (the code stays in the page's ``data-reason``)."""
    if lang == SOURCE_LANG:
        return str(code)
    return reason_text(str(code), lang, short=True) or str(code)


def unmet_section(dataset: Dataset, plan: Plan, _: Translator) -> str:
    """Why demands fall short: the reasons, the communities with nothing covered and
    the largest unmet demands."""
    status = plan.demand_status.copy()
    status["short"] = status["hours"] - status["covered_hours"]
    top = status[status["short"] > 0].sort_values(
        ["short", "priority", "demand_id"], ascending=[False, False, True], kind="stable"
    )
    community_names, _units = names_by_id(dataset)
    n_short = int((status["short"] > 0).sum())
    heading = html_format(
        _("The largest unmet demands ({shown} of {n} not fully met, by hours short)"),
        shown=str(min(TOP_UNMET, n_short)),
        n=str(n_short),
    )
    zero_text = _zero_coverage(plan.kpis, community_names, _)
    table = _unmet_table(dataset, top, community_names, _)
    body = f"{_reasons(plan.kpis, _)}{zero_text}<h3>{heading}</h3>{table}"
    return section(
        "unmet",
        _("Why demands fall short"),
        body,
        html_format(
            _("Each demand not fully met gets the first reason that applies, in this order.")
        ),
    )


def _reasons(k: Mapping[str, Any], _: Translator) -> str:
    """The reasons demands fall short (KPIs ``k``), explained, and their chart."""
    lang = _.lang
    reasons = k.get("reasons") or {}
    rows = [
        BarRow(
            label=_reason_label(code, lang),
            value=float(n),
            text=fmt_int(n),
            fill=REASON_BAR,
            data={"reason": code, "demands": n},
            title=_("{reason}: {text}").format(
                reason=_reason_label(code, lang), text=reason_text(str(code), lang)
            ),
        )
        for code, n in reasons.items()
    ]
    chart = hbar_chart("chart-reasons", rows, axis=_("demands not fully met"), _=_, width=1000)
    item = _("{reason} ({n}): {text}")
    explain = "".join(
        "<li>"
        + html_format(
            item,
            reason=f"<b>{escape(_reason_label(code, lang))}</b>",
            n=kpi_html(k, ["reasons", code], "int", lang=lang),
            text=escape(reason_text(code, lang)),
        )
        + "</li>"
        for code in reasons
    )
    return f'<ul class="reasons">{explain}</ul>{chart}'


def _unmet_table(
    dataset: Dataset, top: pd.DataFrame, community_names: dict[str, str], _: Translator
) -> str:
    """The first :data:`TOP_UNMET` demands of ``top`` (the demands short, largest first)."""
    lang = _.lang
    demands = dataset.demands
    descriptions = (
        dict(zip(demands["demand_id"].astype(str), demands["description"].astype(str), strict=True))
        if "description" in demands.columns
        else {}
    )
    body_rows = []
    for r in top.head(TOP_UNMET).itertuples(index=False):
        did = str(r.demand_id)
        desc = descriptions.get(did, "")
        community = page_name(community_names.get(str(r.community_id), r.community_id), lang)
        row_data = {"demand-id": did, "short-hours": as_int(r.short)}
        body_rows.append(
            f'<tr class="unmet-row"{data_attrs(row_data)}>'
            f"<td>{escape(did)}</td>"
            f"<td>{escape(community)}</td>"
            f"<td>{escape(district_name(str(r.district), lang))}</td>"
            f"<td>{escape(category_name(str(r.category), lang))}"
            + (f'<div class="desc">{escape(desc)}</div>' if desc and desc != "nan" else "")
            + f'</td><td class="num">{as_int(r.priority)}</td>'
            f'<td class="num">{fmt_int(r.hours)}</td>'
            f'<td class="num">{fmt_int(r.covered_hours)}</td>'
            f'<td class="num"><b>{fmt_int(r.short)}</b></td>'
            f"<td>{escape(status_name(r.status, lang))}</td>"
            f'<td><span class="reason" data-reason="{escape(r.reason)}" '
            f'title="{escape(reason_text(str(r.reason), lang))}">'
            f"{escape(_reason_label(r.reason, lang))}</span></td></tr>"
        )
    heads = (
        ("", _("demand")),
        ("", _("community")),
        ("", _("district")),
        ("", _("category")),
        (' class="num"', _("priority")),
        (' class="num"', _("demanded h")),
        (' class="num"', _("covered h")),
        (' class="num"', _("short h")),
        ("", _("status")),
        ("", _("reason")),
    )
    return (
        '<table id="table-unmet"><thead><tr>'
        + "".join(f"<th{cls}>{escape(text)}</th>" for cls, text in heads)
        + f"</tr></thead><tbody>{''.join(body_rows)}</tbody></table>"
    )


def _zero_coverage(k: Mapping[str, Any], community_names: dict[str, str], _: Translator) -> str:
    """The communities with demanded hours and none covered (KPIs ``k``), if any."""
    lang = _.lang
    zero = k.get("communities_zero_coverage") or []
    if not zero:
        return ""
    sep = _.pgettext("list separator", ", ")
    names = sep.join(escape(page_name(community_names.get(str(c), c), lang)) for c in zero)
    line = html_format(
        _("{b}Communities with nothing covered:{_b} {names}"), b="<b>", _b="</b>", names=names
    )
    return f'<p id="zero-coverage">{line}</p>'
