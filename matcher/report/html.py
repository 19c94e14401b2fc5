"""A plan people can look at: one self-contained HTML report with a map and charts.

:func:`build_report` turns a plan (a folder written by :meth:`Plan.write`, or a
:class:`~matcher.plans.result.Plan`) and its dataset into one HTML page
that needs no network: every chart is inline SVG (:mod:`matcher.report.charts`,
:mod:`matcher.report.map`), the only script is a few lines inlined from
``static/report.js`` (the pairing-ties switch and the map's zoom), the style sheet is
``static/report.css`` inlined, and the page names its charset and a font stack with CJK
fonts so Chinese names display.

Sections: the headline KPIs; a map of the communities at their coordinates (colour =
coverage, area = demanded hours, pairing ties as lines behind a switch); coverage by
district and by category; supply against demand per skill (the bottlenecks); supplier
utilization; why demands fall short and the largest unmet demands; with a second plan,
the comparison (KPIs with deltas, demands whose coverage changed, assignments added and
removed). They are drawn by :mod:`matcher.report.sections`, :mod:`matcher.report.map` and
:mod:`matcher.report.compare`; this module reads what they share and assembles the page.

The page speaks the reader's language (``lang``, :mod:`matcher.i18n`): every text is
translated whole, categories and unit kinds by their names in :mod:`matcher.inputs.aliases`,
names that carry both languages by their part in it; numbers read the same in every
language, and the ids and ``data-*`` attributes do not change, so the pages in two
languages are read back alike.

Every figure that shows a KPI carries ``data-kpi`` (its dotted name in ``kpis.json``),
``data-kpi-path`` (the same as a JSON list of keys), ``data-value`` (the exact number)
and ``data-format`` (``int``, ``pct`` or ``num``), so tests and scrapers can read the
page back and check it against the plan.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from matcher.i18n import LANGS, N_, SOURCE_LANG, Text, Translator, check_lang, translator
from matcher.inputs.dataset import Dataset
from matcher.plans.io import as_plan, plan_dataset
from matcher.plans.result import Plan
from matcher.report.compare import compare_section, compare_tables
from matcher.report.export import community_coverage
from matcher.report.format import escape, fmt_int, html_format, solver_status_name
from matcher.report.map import map_section
from matcher.report.sections import (
    coverage_sections,
    kpi_tiles,
    section,
    supply_section,
    unmet_section,
    utilization_section,
)
from matcher.report.supply import skill_supply

__all__ = [
    "FONT_STACK",
    "HTML_LANG",
    "build_report",
    "build_reports",
    "write_report",
]

FONT_STACK = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", '
    '"PingFang SC", "Hiragino Sans GB", "Helvetica Neue", Arial, sans-serif'
)
"""The page's fonts, CJK first so Chinese names display; ``static/report.css`` names it
``FONTS``."""


@functools.cache
def _static(name: str) -> str:
    """A file of ``static/`` as text, its bytes as they are (no newline translation): the
    page inlines it, and the same inputs give the same page bytes."""
    return (resources.files("matcher.report") / "static" / name).read_bytes().decode("utf-8")


@functools.cache
def _style() -> str:
    """The page's style sheet, its ``FONTS`` the :data:`FONT_STACK`."""
    return _static("report.css").replace("FONTS", FONT_STACK)


def _script_texts(_: Translator) -> str:
    """The words the page's script shows, translated here and handed to it as JSON (the
    script itself holds no text a person reads)."""
    texts = {"km": _("{km} km")}
    # "</" would end the script element early; "<\/" reads the same to JSON.
    return json.dumps(texts, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")


HTML_LANG = {"en": "en", "zh": "zh-CN"}
"""The page's ``<html lang>`` per language (``zh-CN``: fonts and line breaking for
Simplified Chinese)."""


def build_report(
    plan: Plan | str | Path,
    dataset: Dataset | str | Path | None = None,
    *,
    other: Plan | str | Path | None = None,
    title: str | None = None,
    lang: str = SOURCE_LANG,
) -> str:
    """One self-contained HTML page presenting a plan (and, optionally, a comparison).

    Parameters
    ----------
    plan
        A plan folder or a :class:`~matcher.plans.result.Plan`.
    dataset
        The plan's dataset or its folder; default the folder named in the plan's
        ``run.json``. Its content hash must be the plan's.
    other
        A second plan to compare with (its dataset is not needed).
    title
        The page's title (default: "Co-construction plan: <label>", in ``lang``).
    lang
        The page's language (:data:`matcher.i18n.LANGS`): its titles, labels, tooltips
        and reasons; categories, unit kinds and levels by their names in
        :mod:`matcher.inputs.aliases`; bilingual names by their part in that language. The
        ids, the ``data-*`` attributes and the numbers are the same in every language.

    Returns
    -------
    str
        The HTML. It loads nothing from the network; the same inputs give the same bytes.

    Raises
    ------
    PlanFolderError
        If a plan folder is incomplete or the dataset is not the plan's.
    DatasetError
        If the dataset folder does not validate.
    ParameterError
        If no catalogue speaks ``lang``.
    """
    return build_reports(plan, dataset, other=other, title=title, langs=(lang,))[lang]


@dataclass(frozen=True)
class _Shared:
    """What the pages in every language show, computed once."""

    this: Plan
    dataset: Dataset
    other: Plan | None
    coverage: pd.DataFrame
    supply: pd.DataFrame
    changes: dict[str, pd.DataFrame] | None


def build_reports(
    plan: Plan | str | Path,
    dataset: Dataset | str | Path | None = None,
    *,
    other: Plan | str | Path | None = None,
    title: str | None = None,
    langs: Sequence[str] = LANGS,
) -> dict[str, str]:
    """The report (:func:`build_report`) in several languages at once.

    What the pages share is read and computed once (the plan, the dataset, supply within
    reach per skill, the comparison), so each language past the first costs only its
    HTML.

    Returns
    -------
    dict
        Language code to page, for each of ``langs``.
    """
    for lang in langs:
        check_lang(lang)
    this = _named(as_plan(plan), Text(N_("plan")))
    ds = plan_dataset(this, dataset)
    that = None if other is None else _named(as_plan(other), Text(N_("other plan")))
    shared = _Shared(
        this,
        ds,
        that,
        community_coverage(ds.communities, this.demand_status),
        skill_supply(ds, this),
        compare_tables(this, that) if that is not None else None,
    )
    return {lang: _page(shared, title, translator(lang)) for lang in dict.fromkeys(langs)}


def _named(plan: Plan, default: Text) -> Plan:
    """The plan, called ``default`` (in the page's language) when it has no label."""
    return plan if plan.label else replace(plan, label=default)


def _label(label: str, lang: str) -> str:
    """A plan's label as shown in ``lang`` (a :class:`~matcher.i18n.Text` is rendered)."""
    return label.render(lang) if isinstance(label, Text) else str(label)


def _page(shared: _Shared, title: str | None, _: Translator) -> str:
    """The report's HTML in ``_``'s language."""
    this, ds, that = shared.this, shared.dataset, shared.other
    # A label may be a Text ("run 1a2b3c4d" for a run without one): in the page's language.
    this = dataclasses.replace(this, label=_label(this.label, _.lang))
    if that is not None:
        that = dataclasses.replace(that, label=_label(that.label, _.lang))
    if that is not None and that.label == this.label:
        that = dataclasses.replace(that, label=_("{label} (other)").format(label=that.label))
    k = this.kpis
    heading = title or _("Co-construction plan: {label}").format(label=this.label)
    sections = [
        section("kpis", _("The plan at a glance"), kpi_tiles(this, _)),
        map_section(ds, shared.coverage, _),
        coverage_sections(k, _),
        supply_section(shared.supply, _),
        utilization_section(ds, this, _),
        unmet_section(ds, this, _),
    ]
    if that is not None:
        sections.append(compare_section(ds, this, that, shared.changes or {}, _))
    # The style and the script each start on a line of their own (the files start with
    # their first line); the service's Content-Security-Policy allows exactly these blocks
    # by their hashes (api/middleware.py).
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{HTML_LANG.get(_.lang, _.lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(heading)}</title><style>\n{_style()}</style></head><body>"
        f'<header><h1>{escape(heading)}</h1><div class="sub">{_subtitle(ds, k, _)}</div></header>'
        f"<main>{''.join(sections)}</main><footer>{_footer(this, ds, _)}</footer>"
        f'<script type="application/json" id="report-texts">{_script_texts(_)}</script>'
        f"<script>\n{_static('report.js')}</script></body></html>\n"
    )


def _subtitle(ds: Dataset, k: Mapping[str, Any], _: Translator) -> str:
    """The line under the title: the dataset's size and the solver's proof (KPIs ``k``)."""
    status = solver_status_name(_, k.get("solver_status", ""))
    gap = k.get("gap")
    proof = (
        escape(_("{status} (gap {gap})").format(status=status, gap=f"{gap:.1e}"))
        if isinstance(gap, int | float)
        else escape(status or _("n/a"))
    )
    return html_format(
        _(
            "Dataset {name}: {communities} communities, {units} units, {cadres} cadres, "
            "{demands} demands · solver {solver}: {proof}"
        ),
        name=f"<b>{escape(Path(ds.source).name or ds.source)}</b>",
        communities=fmt_int(len(ds.communities)),
        units=fmt_int(len(ds.units)),
        cadres=fmt_int(len(ds.cadres)),
        demands=fmt_int(len(ds.demands)),
        solver=f"<code>{escape(k.get('solver', ''))}</code>",
        proof=proof,
    )


def _footer(this: Plan, ds: Dataset, _: Translator) -> str:
    """The page's footer: where the plan comes from and its parameters."""
    params = ", ".join(f"{escape(n)}={escape(v)}" for n, v in sorted(this.params.to_dict().items()))
    return html_format(
        _(
            "Plan {b}{label}{_b} of dataset {source} (content hash {hash}). Parameters: "
            "{params}. Hours are whole service hours; coverage is covered over demanded hours. "
            "Made by the co-construction planner ({command})."
        ),
        b="<b>",
        _b="</b>",
        label=escape(this.label),
        source=f"<code>{escape(ds.source)}</code>",
        hash=f"<code>{escape(ds.content_hash[:16])}</code>",
        params=f"<code>{params}</code>" if params else html_format(_("defaults")),
        command="<code>matcher report</code>",
    )


def write_report(html_text: str, out: str | Path) -> Path:
    """Write a report (UTF-8), making the folder if needed."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_text, encoding="utf-8")
    return path
