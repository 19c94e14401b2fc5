"""The comparison of two plans in the report: KPIs side by side with their changes, the
demands whose coverage changed, and the assignments added and removed.

:func:`compare_tables` finds what changed (from :func:`matcher.plans.diff.diff_plans`);
:func:`compare_section` shows it, at most :data:`TOP_CHANGES` rows a table.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from matcher.i18n import N_, SOURCE_LANG, Translator, translator
from matcher.inputs.aliases import category_name, district_name
from matcher.inputs.dataset import Dataset
from matcher.inputs.io import is_missing
from matcher.plans.diff import ASSIGNMENT_KEY, diff_plans
from matcher.plans.reasons import status_name
from matcher.plans.result import Plan
from matcher.report.format import (
    escape,
    fmt_int,
    fmt_pct,
    fmt_value,
    html_format,
    kpi_value,
    page_name,
)
from matcher.report.sections import names_by_id, section

__all__ = ["TOP_CHANGES", "compare_section", "compare_tables"]

TOP_CHANGES = 40
"""Rows in each comparison table (the counts are always complete)."""


_COMPARE_KPIS: tuple[tuple[tuple[str, ...], str, str, int], ...] = (
    (("coverage",), N_("coverage of demanded hours"), "pct", 1),
    (("hours_covered",), N_("hours covered"), "int", 1),
    (("hours_demanded",), N_("hours demanded"), "int", 0),
    (("demands_met",), N_("demands met"), "int", 1),
    (("demands_partial",), N_("demands partial"), "int", 0),
    (("demands_unmet",), N_("demands unmet"), "int", -1),
    (("communities_zero_coverage_count",), N_("communities with nothing covered"), "int", -1),
    (("supplier_utilization", "utilization"), N_("supplier hours used"), "pct", 1),
    (("supplier_utilization", "suppliers_used"), N_("suppliers used"), "int", 0),
    (("objective",), N_("objective"), "num", 1),
    (("weighted_hours",), N_("weighted hours"), "num", 1),
    (("travel_hour_km",), N_("travel (hour-km)"), "num", -1),
)
"""KPIs of the comparison: path, label (translated when shown), format, and whether more
is better (1), worse (-1) or neither (0), which colours the change."""


def _delta(a: Any, b: Any, fmt: str, better: int = 1, lang: str = SOURCE_LANG) -> tuple[str, str]:
    """The change from ``b`` to ``a`` as shown, and its class: ``better``, ``worse`` or
    ``same`` (``better`` says whether more is better, 1, worse, -1, or neither, 0).

    >>> _delta(0.75, 0.7, "pct"), _delta(3, 5, "int", better=-1)
    (('better', '+5.0 pp'), ('better', '-2'))
    """
    _ = translator(lang)
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return "", _("n/a")
    d = float(a) - float(b)
    cls = "same" if d == 0 or better == 0 else "better" if d * better > 0 else "worse"
    if fmt == "pct":
        return cls, _("{delta} pp").format(delta=f"{100 * d:+.1f}")
    if fmt == "int":
        return cls, f"{round(d):+,}"
    return cls, f"{d:+,.2f}"


def compare_tables(this: Plan, other: Plan) -> dict[str, pd.DataFrame]:
    """What changed from ``other`` to ``this`` (:func:`matcher.plans.diff.diff_plans`),
    as the report's comparison shows it.

    Returns
    -------
    dict
        ``demands``: demands whose covered hours or status differ (``demand_id``,
        ``community_id``, ``district``, ``category``, ``hours``, ``covered_other``,
        ``covered_this``, ``status_other``, ``status_this``); ``added`` and ``removed``:
        assignments (by supplier and demand) only in this plan or only in the other,
        with their hours, most hours first; ``changed``: assignments in both with other
        hours (``hours_other``, ``hours_this``).
    """
    diff = diff_plans(other, this)
    d = diff.demands
    hours = pd.concat([this.demand_status, other.demand_status]).drop_duplicates("demand_id")
    demands = pd.DataFrame(
        {
            "demand_id": d["demand_id"],
            "community_id": d["community_id"],
            "district": d["district"],
            "category": d["category"],
            "hours": d["demand_id"].map(hours.set_index("demand_id")["hours"]),
            "covered_other": d["covered_before"],
            "covered_this": d["covered_after"],
            # A demand only one plan has shows no status for the other.
            "status_other": d["status_before"].replace("absent", None),
            "status_this": d["status_after"].replace("absent", None),
        }
    )
    a = diff.assignments
    key = list(ASSIGNMENT_KEY)

    def side(change: str, hours: str) -> pd.DataFrame:
        part = a[a["change"] == change]
        out = part[[*key, "unit_id", "community_id", "category"]].assign(hours=part[hours])
        return out.sort_values(["hours", *key], ascending=[False, True, True, True]).reset_index(
            drop=True
        )

    return {
        "demands": demands.reset_index(drop=True),
        "added": side("added", "hours_after"),
        "removed": side("removed", "hours_before"),
        "changed": a.loc[
            a["change"] == "changed",
            [*key, "unit_id", "community_id", "hours_before", "hours_after"],
        ]
        .rename(columns={"hours_before": "hours_other", "hours_after": "hours_this"})
        .reset_index(drop=True),
    }


def _supplier_kind(_: Translator, kind: object) -> str:
    """A supplier's kind (``cadre``, ``service``) in the reader's language."""
    names = {
        "cadre": _.pgettext("supplier kind", "cadre"),
        "service": _.pgettext("supplier kind", "service"),
    }
    return names.get(str(kind), str(kind))


def compare_section(
    dataset: Dataset,
    this: Plan,
    other: Plan,
    changes: dict[str, pd.DataFrame],
    _: Translator,
) -> str:
    """The comparison with ``other``; ``changes`` from :func:`compare_tables`."""
    names = names_by_id(dataset)
    added, removed = changes["added"], changes["removed"]
    body = (
        _kpi_table(this, other, _)
        + _counts(changes, _)
        + _heading(
            changes["demands"],
            _("Demands whose coverage changed"),
            _("Demands whose coverage changed (the first {n})"),
        )
        + _demand_table(changes["demands"], names[0], this, other, _)
        + _heading(added, _("Assignments added"), _("Assignments added (the first {n})"))
        + _assignment_table("table-compare-added", added, "added", names, _)
        + _heading(removed, _("Assignments removed"), _("Assignments removed (the first {n})"))
        + _assignment_table("table-compare-removed", removed, "removed", names, _)
    )
    intro = html_format(
        _(
            "This plan ({b}{this}{_b}) against {b}{other}{_b}; changes are this minus {other}, "
            "green where this plan is better, red where worse."
        ),
        b="<b>",
        _b="</b>",
        this=escape(this.label),
        other=escape(other.label),
    )
    title = _("Comparison with {label}").format(label=other.label)
    return section("compare", title, body, intro)


def _kpi_table(this: Plan, other: Plan, _: Translator) -> str:
    """The KPIs of both plans side by side with their changes, then the coverage of each
    district."""
    lang = _.lang
    rows = []
    for path, label, fmt, better in _COMPARE_KPIS:
        a, b = kpi_value(this.kpis, path), kpi_value(other.kpis, path)
        cls, d = _delta(a, b, fmt, better, lang)
        rows.append(
            f'<tr class="compare-kpi" data-compare-kpi="{escape(".".join(path))}" '
            f"data-this='{escape(json.dumps(a))}' data-other='{escape(json.dumps(b))}'>"
            f'<td>{escape(_(label))}</td><td class="num">{escape(fmt_value(fmt, a, lang))}</td>'
            f'<td class="num">{escape(fmt_value(fmt, b, lang))}</td>'
            f'<td class="num delta {cls}">{escape(d)}</td></tr>'
        )
    districts = sorted(
        set(this.kpis.get("coverage_by_district") or {})
        | set(other.kpis.get("coverage_by_district") or {})
    )
    for district in districts:
        label = html_format(
            _("coverage in {district}"), district=escape(district_name(district, lang))
        )
        path = ("coverage_by_district", district, "coverage")
        a, b = kpi_value(this.kpis, path), kpi_value(other.kpis, path)
        cls, delta = _delta(a, b, "pct", lang=lang)
        rows.append(
            f'<tr class="compare-kpi" data-compare-kpi="{escape(".".join(path))}" '
            f"data-this='{escape(json.dumps(a))}' data-other='{escape(json.dumps(b))}'>"
            f"<td>{label}</td>"
            f'<td class="num">{escape(fmt_pct(a, lang))}</td>'
            f'<td class="num">{escape(fmt_pct(b, lang))}</td>'
            f'<td class="num delta {cls}">{escape(delta)}</td></tr>'
        )
    this_label = html_format(_("{label} (this)"), label=escape(this.label))
    return (
        f'<table id="table-compare-kpis"><thead><tr><th>{html_format(_("KPI"))}</th>'
        f'<th class="num">{this_label}</th>'
        f'<th class="num">{escape(other.label)}</th>'
        f'<th class="num">{html_format(_("change"))}</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _counts(changes: dict[str, pd.DataFrame], _: Translator) -> str:
    """How many demands and assignments changed, all of them (the tables list the first)."""
    demands, added, removed = changes["demands"], changes["added"], changes["removed"]
    n_status = int((demands["status_this"] != demands["status_other"]).sum())
    sentence = html_format(
        _(
            "{b}{demands}{_b} demands changed coverage ({status} changed status); "
            "{b}{added}{_b} assignments added (+{added_hours} h), {b}{removed}{_b} removed "
            "(−{removed_hours} h), {hours} with other hours."
        ),
        b="<b>",
        _b="</b>",
        demands=fmt_int(len(demands)),
        status=fmt_int(n_status),
        added=fmt_int(len(added)),
        added_hours=fmt_int(added["hours"].sum()),
        removed=fmt_int(len(removed)),
        removed_hours=fmt_int(removed["hours"].sum()),
        hours=fmt_int(len(changes["changed"])),
    )
    return (
        f'<p id="compare-counts" data-demands-changed="{len(demands)}" '
        f'data-status-changed="{n_status}" data-added="{len(added)}" '
        f'data-removed="{len(removed)}" data-hours-changed="{len(changes["changed"])}">'
        f"{sentence}</p>"
    )


def _heading(frame: pd.DataFrame, whole: str, first: str) -> str:
    """A table's heading; it says when only the first rows are listed."""
    shown = first if len(frame) > TOP_CHANGES else whole
    return f"<h3>{escape(shown.format(n=TOP_CHANGES))}</h3>"


def _cell(v: Any) -> str:
    """A table cell: a dash when missing, whole numbers without decimals."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, float) and v.is_integer():
        return fmt_int(v)
    return escape(v)


def _category_cell(v: Any, lang: str) -> str:
    return _cell(v) if is_missing(v) else escape(category_name(str(v), lang))


def _name_cell(names: dict[str, str], v: Any, lang: str) -> str:
    """A community's or unit's name (``names`` by id), else its id."""
    return escape(page_name(names.get(str(v), v), lang))


def _demand_table(
    demands: pd.DataFrame, community_names: dict[str, str], this: Plan, other: Plan, _: Translator
) -> str:
    """The first demands whose coverage changed, with their status in both plans."""
    lang = _.lang

    def status(v: Any) -> str:
        return _cell(v) if is_missing(v) else escape(status_name(v, lang))

    rows = "".join(
        f'<tr class="changed-demand" data-demand-id="{escape(r.demand_id)}">'
        f"<td>{escape(r.demand_id)}</td>"
        f"<td>{_name_cell(community_names, r.community_id, lang)}</td>"
        f"<td>{_category_cell(r.category, lang)}</td>"
        f'<td class="num">{_cell(r.hours)}</td><td class="num">{_cell(r.covered_other)}</td>'
        f'<td class="num">{_cell(r.covered_this)}</td>'
        f'<td class="nowrap">{status(r.status_other)} → {status(r.status_this)}</td></tr>'
        for r in demands.head(TOP_CHANGES).itertuples(index=False)
    )
    covered_other = html_format(_("covered in {label}"), label=escape(other.label))
    covered_this = html_format(_("covered in {label}"), label=escape(this.label))
    return (
        '<table id="table-compare-demands"><thead><tr>'
        f"<th>{html_format(_('demand'))}</th><th>{html_format(_('community'))}</th>"
        f'<th>{html_format(_("category"))}</th><th class="num">{html_format(_("demanded h"))}</th>'
        f'<th class="num">{covered_other}</th>'
        f'<th class="num">{covered_this}</th>'
        f"<th>{html_format(_('status'))}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _assignment_table(
    table_id: str,
    frame: pd.DataFrame,
    cls: str,
    names: tuple[dict[str, str], dict[str, str]],
    _: Translator,
) -> str:
    """The first assignments of ``frame`` (added or removed), rows of class ``cls``;
    ``names``: the communities' and the units' names by id."""
    lang = _.lang
    community_names, unit_names = names
    head = (
        "<thead><tr>"
        + "".join(f"<th>{escape(text)}</th>" for text in (_("supplier"), _("unit"), _("demand")))
        + f"<th>{html_format(_('community'))}</th><th>{html_format(_('category'))}</th>"
        f'<th class="num">{html_format(_("hours"))}</th></tr></thead>'
    )
    rows = "".join(
        f'<tr class="{cls}"><td>{escape(_supplier_kind(_, r.supplier_kind))} '
        f"{escape(r.supplier_id)}</td>"
        f"<td>{_name_cell(unit_names, r.unit_id, lang)}</td>"
        f"<td>{escape(r.demand_id)}</td>"
        f"<td>{_name_cell(community_names, r.community_id, lang)}</td>"
        f'<td>{_category_cell(r.category, lang)}</td><td class="num">{_cell(r.hours)}</td></tr>'
        for r in frame.head(TOP_CHANGES).itertuples(index=False)
    )
    return f'<table id="{table_id}">{head}<tbody>{rows}</tbody></table>'
