"""A plan people can look at: one self-contained HTML report with a map and charts.

:func:`build_report` turns a plan (a folder written by :meth:`Plan.write`, a
:class:`~matcher.plans.planner.Plan`, or :class:`PlanTables`) and its dataset into one HTML page
that needs no network: every chart is inline SVG drawn here, the only script is a few
inlined lines (the pairing-ties switch), and the page names its charset and a font stack
with CJK fonts so Chinese names display.

Sections: the headline KPIs; a map of the communities at their coordinates (colour =
coverage, area = demanded hours, pairing ties as lines behind a switch); coverage by
district and by category; supply against demand per skill (the bottlenecks); supplier
utilization; why demands fall short and the largest unmet demands; with a second plan,
the comparison (KPIs with deltas, demands whose coverage changed, assignments added and
removed).

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
import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.csvsafe import restore_formulas
from matcher.errors import MatcherError
from matcher.i18n import LANGS, N_, SOURCE_LANG, Text, Translator, check_lang, translator
from matcher.inputs.aliases import category_name, district_name, value_name
from matcher.inputs.dataset import Dataset, load_dataset
from matcher.inputs.io import is_missing
from matcher.inputs.names import display_name
from matcher.model.eligibility import TieIndex, csr, csr_expand, hour_score, index_dataset
from matcher.model.geo import KM_PER_DEG_LAT, haversine_km, pairs_within, unit_xyz
from matcher.params import PlanParams
from matcher.plans.planner import (
    ASSIGNMENT_COLUMNS,
    DEMAND_STATUS_COLUMNS,
    FUNDING_COLUMNS,
    LEAD_COLUMNS,
    Plan,
)
from matcher.plans.reasons import reason_text, status_name
from matcher.report.export import community_coverage

__all__ = [
    "FONT_STACK",
    "HTML_LANG",
    "PLAN_FILES",
    "TOP_CHANGES",
    "TOP_UNITS",
    "TOP_UNMET",
    "PlanFolderError",
    "PlanTables",
    "build_report",
    "build_reports",
    "compare_tables",
    "fmt_int",
    "fmt_num",
    "fmt_pct",
    "plan_dataset",
    "read_plan",
    "short_name",
    "skill_supply",
    "write_report",
]

PLAN_FILES = ("assignments.csv", "demand_status.csv", "kpis.json", "run.json")
"""Files of a plan folder the report reads (``funding.csv`` and ``leads.csv`` if there)."""

TOP_UNMET = 25
"""Rows in the table of the largest unmet demands."""
TOP_UNITS = 20
"""Units in the utilization chart."""
TOP_CHANGES = 40
"""Rows in each comparison table (the counts are always complete)."""

FONT_STACK = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", '
    '"PingFang SC", "Hiragino Sans GB", "Helvetica Neue", Arial, sans-serif'
)

# Coverage colours, 0 % to 100 % (ColorBrewer RdYlBu, readable with red-green weakness).
_PALETTE = ("#d73027", "#fc8d59", "#fee090", "#91bfdb", "#4575b4")
_NO_DEMAND = "#b8bec6"
_DEMAND_BAR, _COVER_BAR, _IDLE_BAR, _USED_BAR = "#dfe3e8", "#2b7bba", "#dfe3e8", "#1b9e77"
_REASON_BAR = "#e07b39"


def _float(value: Any) -> float:
    """A table cell as a float (pandas cells are typed loosely)."""
    return float(value)


def _int(value: Any) -> int:
    """A table cell as an int."""
    return int(value)


class PlanFolderError(MatcherError, ValueError):
    """A plan folder, or the dataset given for it, cannot make a report.

    Its message is a :class:`~matcher.i18n.Text`: ``str(error)`` is English,
    ``error.args[0].render(lang)`` another language."""


@dataclass(frozen=True)
class PlanTables:
    """A plan as the report reads it: its tables, KPIs and how it was made.

    Build one with :func:`read_plan` (a plan folder), :meth:`from_plan` (a
    :class:`~matcher.plans.planner.Plan`), or directly (the service builds one from its store).

    Attributes
    ----------
    label
        The plan's name in the report (a folder name, a run's label).
    assignments, demand_status
        The plan's tables with the spec's columns.
    kpis
        ``kpis.json``.
    params
        The run's parameters (``PlanParams`` fields); used to find supply within reach.
    dataset_source, dataset_hash
        Where the plan's dataset came from and its content hash (``run.json``).
    funding, leads
        The plan's ``funding`` and ``leads`` tables (may be empty).
    """

    label: str
    assignments: pd.DataFrame
    demand_status: pd.DataFrame
    kpis: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    dataset_source: str = ""
    dataset_hash: str = ""
    funding: pd.DataFrame = field(default_factory=lambda: _empty(FUNDING_COLUMNS))
    leads: pd.DataFrame = field(default_factory=lambda: _empty(LEAD_COLUMNS))

    @classmethod
    def from_plan(cls, plan: Plan, label: str = "plan") -> PlanTables:
        """The tables of a plan made in this process."""
        return cls(
            label=label,
            assignments=plan.assignments,
            demand_status=plan.demand_status,
            kpis=dict(plan.kpis),
            params=plan.params.to_dict(),
            dataset_source=plan.dataset_source,
            dataset_hash=plan.dataset_hash,
            funding=plan.funding,
            leads=plan.leads,
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The plan's tables by name (for :func:`matcher.report.export.write_exports`)."""
        return {
            "assignments": self.assignments,
            "demand_status": self.demand_status,
            "funding": self.funding,
            "leads": self.leads,
        }


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


_TEXT_COLUMNS = {
    "supplier_kind",
    "supplier_id",
    "unit_id",
    "demand_id",
    "community_id",
    "district",
    "category",
    "tie",
    "funded",
    "status",
    "reason",
    "resource_id",
}


def _read_table(folder: Path, name: str, columns: Sequence[str], required: bool) -> pd.DataFrame:
    path = folder / name
    if not path.is_file():
        if required:
            raise PlanFolderError(
                Text(
                    N_(
                        "plan folder {folder}: {name} is missing (a plan folder is written by "
                        "`matcher plan DATASET --out DIR`)"
                    ),
                    folder=str(folder),
                    name=name,
                )
            )
        return _empty(columns)
    try:
        frame = pd.read_csv(
            path,
            dtype={c: str for c in columns if c in _TEXT_COLUMNS},
            keep_default_na=False,
            encoding="utf-8-sig",
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise PlanFolderError(
            Text(N_("{path}: cannot be read as CSV ({error})"), path=str(path), error=str(exc))
        ) from None
    # Plan.write neutralises formula cells (matcher.csvsafe); undone so ids round-trip.
    frame = restore_formulas(frame)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PlanFolderError(
            Text(
                N_("{path}, row 1: column {column} is missing; expected the columns {columns}"),
                path=str(path),
                column=repr(missing[0]),
                columns=", ".join(columns),
            )
        )
    for column in columns:
        if column in _TEXT_COLUMNS:
            continue
        numbers = pd.to_numeric(frame[column].replace("", np.nan), errors="coerce")
        bad = numbers.isna() & (frame[column].astype(str) != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise PlanFolderError(
                Text(
                    N_("{path}, row {row}, column {column}: got {value}, expected a number"),
                    path=str(path),
                    row=row + 2,
                    column=repr(column),
                    value=repr(frame[column].iloc[row]),
                )
            )
        frame[column] = numbers
    return frame[list(columns)]


def _read_json(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        raise PlanFolderError(
            Text(N_("plan folder {folder}: {name} is missing"), folder=str(folder), name=name)
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PlanFolderError(
            Text(N_("{path}: not valid JSON ({error})"), path=str(path), error=str(exc))
        ) from None
    if not isinstance(data, dict):
        raise PlanFolderError(Text(N_("{path}: expected a JSON object"), path=str(path)))
    return data


def read_plan(plan_dir: str | Path, label: str | None = None) -> PlanTables:
    """Read a plan folder written by :meth:`Plan.write`.

    Parameters
    ----------
    plan_dir
        The folder: ``assignments.csv``, ``demand_status.csv``, ``kpis.json``,
        ``run.json``, and ``funding.csv`` and ``leads.csv`` when present.
    label
        The plan's name in a report (default: the folder's name).

    Raises
    ------
    PlanFolderError
        If a file is missing or a column or cell is not what a plan folder holds; the
        message names the file, row and column.
    """
    folder = Path(plan_dir)
    if not folder.is_dir():
        raise PlanFolderError(
            Text(N_("plan folder {folder} does not exist (or is not a folder)"), folder=str(folder))
        )
    kpis = _read_json(folder, "kpis.json")
    for key in ("hours_demanded", "hours_covered", "coverage"):
        if key not in kpis:
            raise PlanFolderError(
                Text(
                    N_("{path}: key {key} is missing"),
                    path=str(folder / "kpis.json"),
                    key=repr(key),
                )
            )
    run = _read_json(folder, "run.json")
    return PlanTables(
        label=label or folder.resolve().name,
        assignments=_read_table(folder, "assignments.csv", ASSIGNMENT_COLUMNS, True),
        demand_status=_read_table(folder, "demand_status.csv", DEMAND_STATUS_COLUMNS, True),
        funding=_read_table(folder, "funding.csv", FUNDING_COLUMNS, False),
        leads=_read_table(folder, "leads.csv", LEAD_COLUMNS, False),
        kpis=kpis,
        params=dict(run.get("params") or {}),
        dataset_source=str(run.get("dataset") or ""),
        dataset_hash=str(run.get("dataset_hash") or ""),
    )


def plan_dataset(plan: PlanTables, dataset: Dataset | str | Path | None = None) -> Dataset:
    """The dataset a plan was made from, checked by its content hash.

    Parameters
    ----------
    plan
        The plan (its ``dataset_source`` is where to look when ``dataset`` is ``None``).
    dataset
        A dataset or a folder to load one from; default the plan's own source.

    Raises
    ------
    PlanFolderError
        If no dataset can be found, or its content hash differs from the plan's (a report
        on another dataset would place and name the plan's rows wrongly).
    """
    if dataset is None:
        if not plan.dataset_source or not Path(plan.dataset_source).is_dir():
            raise PlanFolderError(
                Text(
                    N_(
                        "plan {label}: its run.json names the dataset {source}, which is not a "
                        "folder here; give the dataset with --dataset DIR"
                    ),
                    label=plan.label,
                    source=repr(plan.dataset_source or "(none)"),
                )
            )
        dataset = plan.dataset_source
    loaded = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    if plan.dataset_hash and loaded.content_hash != plan.dataset_hash:
        raise PlanFolderError(
            Text(
                N_(
                    "dataset {source} has content hash {hash}..., but plan {label} was made "
                    "from a dataset with hash {plan_hash}... (run.json); give the dataset the "
                    "plan was made from"
                ),
                source=str(loaded.source),
                hash=loaded.content_hash[:12],
                label=plan.label,
                plan_hash=plan.dataset_hash[:12],
            )
        )
    return loaded


def _as_tables(plan: Plan | PlanTables | str | Path, label: str) -> PlanTables:
    if isinstance(plan, PlanTables):
        return plan
    if isinstance(plan, Plan):
        return PlanTables.from_plan(plan, label)
    return read_plan(plan)


# ---- formatting -----------------------------------------------------------------------
#
# Numbers read the same in both languages: thousands separated by commas and percentages
# with one decimal are how Chinese reports write them too (Babel's zh locale agrees), so
# a figure on the Chinese page is the same string as on the English one. Only the words
# around the numbers ("n/a", "h", "pp") are translated.


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _h(message: str, /, **values: str) -> str:
    """A translated ``message`` escaped for HTML, its ``{placeholders}`` filled with
    ``values`` (HTML already: a KPI's span, a name escaped by the caller)."""
    return _e(message).format(**values)


def _missing(value: Any) -> bool:
    return is_missing(value)


def fmt_int(value: Any) -> str:
    """A whole number with thousands separators: ``13,905``."""
    return f"{round(value):,}"


def fmt_pct(value: Any, lang: str = SOURCE_LANG) -> str:
    """A share as a percentage with one decimal: ``74.0%`` (``n/a`` when missing, in
    ``lang``)."""
    if _missing(value):
        return translator(lang)("n/a")
    return f"{100 * value:.1f}%"


def fmt_num(value: Any, lang: str = SOURCE_LANG) -> str:
    """A number with two decimals and thousands separators: ``47,121.85`` (``n/a`` when
    missing, in ``lang``)."""
    if _missing(value):
        return translator(lang)("n/a")
    return f"{value:,.2f}"


def _fmt(fmt: str, value: Any, lang: str) -> str:
    """``value`` in format ``fmt`` (``int``, ``pct`` or ``num``); ``n/a`` when missing."""
    if _missing(value):
        return translator(lang)("n/a")
    if fmt == "int":
        return fmt_int(value)
    return fmt_pct(value, lang) if fmt == "pct" else fmt_num(value, lang)


def _kpi_value(kpis: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = kpis
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _kpi(
    kpis: Mapping[str, Any], path: Sequence[str], fmt: str, tag: str = "span", lang: str = "en"
) -> str:
    """A KPI as shown: its formatted number, with data attributes to read it back."""
    value = _kpi_value(kpis, path)
    shown = _fmt(fmt, value, lang)
    raw = json.dumps(value)
    return (
        f'<{tag} class="kpi" data-kpi="{_e(".".join(path))}" '
        f"data-kpi-path='{_e(json.dumps(list(path), ensure_ascii=False))}' "
        f"data-value='{_e(raw)}' data-format=\"{fmt}\">{_e(shown)}</{tag}>"
    )


def _attrs(values: Mapping[str, object]) -> str:
    return "".join(f' data-{k}="{_e(v)}"' for k, v in values.items())


def _coverage_colour(share: float | None) -> str:
    """A colour on the palette for a coverage share in [0, 1]."""
    if share is None or math.isnan(share):
        return _NO_DEMAND
    t = min(max(share, 0.0), 1.0) * (len(_PALETTE) - 1)
    i = min(int(t), len(_PALETTE) - 2)
    f = t - i
    a = [int(_PALETTE[i][k : k + 2], 16) for k in (1, 3, 5)]
    b = [int(_PALETTE[i + 1][k : k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b, strict=True))


def _text_width(text: str, size: float = 12) -> float:
    """Rough rendered width of a label (CJK glyphs are about twice as wide as Latin)."""
    wide = sum(1 for ch in text if ord(ch) > 0x2E7F)
    return size * (0.58 * (len(text) - wide) + 1.0 * wide)


def short_name(name: str) -> str:
    """A name's Chinese part when it has one in parentheses (``军门社区``), else the name:
    :func:`~matcher.inputs.names.display_name` in Chinese, the one rule for such names."""
    return display_name(name, "zh")


def _name(name: object, lang: str) -> str:
    """A community's or unit's name on the page: as written in English (both parts), its
    Chinese part in Chinese (:func:`~matcher.inputs.names.display_name`)."""
    return str(name) if lang == SOURCE_LANG else display_name(str(name), lang)


def _solver_status(_: Translator, status: object) -> str:
    """The solver's status (``optimal``, ``feasible``) in the reader's language."""
    names = {
        "optimal": _.pgettext("solver status", "optimal"),
        "feasible": _.pgettext("solver status", "feasible"),
    }
    return names.get(str(status), str(status))


def _supplier_kind(_: Translator, kind: object) -> str:
    """A supplier's kind (``cadre``, ``service``) in the reader's language."""
    names = {
        "cadre": _.pgettext("supplier kind", "cadre"),
        "service": _.pgettext("supplier kind", "service"),
    }
    return names.get(str(kind), str(kind))


# ---- charts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    label: str
    value: float
    text: str
    fill: str
    data: dict[str, object]
    title: str
    back: float | None = None
    tick: float | None = None
    alert: bool = False


def _nice_ticks(top: float, count: int = 5) -> list[float]:
    if top <= 0:
        return [0.0]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _hbar_chart(
    chart_id: str,
    rows: Sequence[_Row],
    *,
    axis: str,
    _: Translator,
    pct: bool = False,
    width: int = 560,
    text_width: int = 190,
) -> str:
    """A horizontal bar chart as SVG: one ``rect.mark`` per row.

    A row may have a background bar (``back``, e.g. hours demanded behind hours covered)
    and a tick (``tick``, e.g. supply within reach).
    """
    if not rows:
        nothing = _h(_("Nothing to show."))
        return f'<p class="empty" id="{chart_id}">{nothing}</p>'
    label_w = min(230.0, max(_text_width(r.label) for r in rows) + 12)
    top = 1.0 if pct else max(max(r.value, r.back or 0, r.tick or 0) for r in rows) or 1.0
    ticks = [0, 0.25, 0.5, 0.75, 1.0] if pct else _nice_ticks(top)
    top = max(top, ticks[-1])
    row_h, bar_h, pad_top, pad_bottom = 26, 16, 8, 34
    plot_w = width - label_w - text_width
    height = pad_top + row_h * len(rows) + pad_bottom

    def x(v: float) -> float:
        return label_w + plot_w * (v / top if top else 0)

    parts = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" role="img" aria-label="{_e(axis)}">'
    ]
    base_y = pad_top + row_h * len(rows)
    for t in ticks:
        tx = x(t)
        label = f"{round(100 * t)}%" if pct else fmt_int(t)
        parts.append(
            f'<line class="grid" x1="{tx:.1f}" y1="{pad_top}" x2="{tx:.1f}" y2="{base_y}"/>'
            f'<text class="tick" x="{tx:.1f}" y="{base_y + 14}" text-anchor="middle">{label}</text>'
        )
    parts.append(
        f'<text class="axis" x="{label_w + plot_w / 2:.1f}" y="{height - 4}" '
        f'text-anchor="middle">{_e(axis)}</text>'
    )
    for i, r in enumerate(rows):
        y = pad_top + i * row_h + (row_h - bar_h) / 2
        parts.append(
            f'<text class="label" x="{label_w - 8:.1f}" y="{y + bar_h - 3:.1f}" '
            f'text-anchor="end">{_e(r.label)}</text>'
        )
        if r.back is not None:
            parts.append(
                f'<rect class="back" x="{label_w:.1f}" y="{y:.1f}" '
                f'width="{max(x(r.back) - label_w, 0):.1f}" height="{bar_h}" '
                f'fill="{_DEMAND_BAR}"/>'
            )
        w = max(x(r.value) - label_w, 0.0)
        parts.append(
            f'<rect class="mark" x="{label_w:.1f}" y="{y:.1f}" width="{w:.1f}" '
            f'height="{bar_h}" fill="{r.fill}"{_attrs(r.data)}><title>{_e(r.title)}</title></rect>'
        )
        if r.tick is not None:
            tx = x(r.tick)
            parts.append(
                f'<line class="reach" x1="{tx:.1f}" y1="{y - 3:.1f}" x2="{tx:.1f}" '
                f'y2="{y + bar_h + 3:.1f}"><title>{_e(r.title)}</title></line>'
            )
        end = max(x(r.value), x(r.back or 0), x(r.tick or 0))
        cls = "value alert" if r.alert else "value"
        parts.append(
            f'<text class="{cls}" x="{end + 6:.1f}" y="{y + bar_h - 3:.1f}">{_e(r.text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _coverage_rows(
    kpis: Mapping[str, Any], key: str, data_key: str, _: Translator, label: Callable[[str], str]
) -> list[_Row]:
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
            _Row(
                label=shown,
                value=float(share or 0.0),
                text=_("{share} · {covered} of {demanded} h").format(**numbers),
                fill=_coverage_colour(share),
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


# ---- the map --------------------------------------------------------------------------


def _map_svg(dataset: Dataset, coverage: pd.DataFrame, _: Translator, width: int = 780) -> str:
    """Communities at their coordinates, pairing ties as lines (hidden at first), and
    buttons that zoom to a district; the legend is a separate SVG beside it."""
    lang = _.lang
    communities = coverage
    units = dataset.units.set_index("unit_id")
    pairings = dataset.pairings
    paired_units = units.loc[sorted(set(pairings["unit_id"]))] if len(pairings) else units.iloc[:0]
    lats = np.concatenate((communities["lat"].to_numpy(float), paired_units["lat"].to_numpy(float)))
    lons = np.concatenate((communities["lon"].to_numpy(float), paired_units["lon"].to_numpy(float)))
    pad = 28
    lat0 = float(np.mean([lats.min(), lats.max()])) if len(lats) else 0.0
    kx = math.cos(math.radians(lat0))
    span_x = max(float(lons.max() - lons.min()) * kx, 1e-4) if len(lons) else 1.0
    span_y = max(float(lats.max() - lats.min()), 1e-4) if len(lats) else 1.0
    scale = min((width - 2 * pad) / span_x, 560 / span_y)
    height = int(max(span_y * scale + 2 * pad, 360))
    lon_min = float(lons.min()) if len(lons) else 0.0
    lat_max = float(lats.max()) if len(lats) else 0.0
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return off_x + (lon - lon_min) * kx * scale, off_y + (lat_max - lat) * scale

    hmax = float(communities["hours_demanded"].max()) if len(communities) else 0.0

    def radius(hours: float) -> float:
        # Area proportional to demanded hours; a floor keeps small demands visible.
        return max(_R_MAX * math.sqrt(hours / hmax), 2.5) if hmax > 0 and hours > 0 else 2.5

    km_per_unit = 1 / (scale / KM_PER_DEG_LAT) if scale else 1.0
    aria = _h(_("Map of communities by coverage"))
    parts = [
        f'<svg id="map" class="chart map" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px" role="img" '
        f'aria-label="{aria}" '
        f'data-full-viewbox="0 0 {width} {height}" data-km-per-unit="{km_per_unit:.6f}">',
        f'<rect class="sea" x="-{width}" y="-{height}" width="{3 * width}" height="{3 * height}"/>',
    ]
    # Pairing ties: unit to community.
    place = communities.set_index("community_id")
    parts.append('<g id="map-ties" style="display:none">')
    for unit_id, community_id in pairings[["unit_id", "community_id"]].itertuples(index=False):
        u, c = units.loc[unit_id], place.loc[community_id]
        x1, y1 = xy(_float(u["lat"]), _float(u["lon"]))
        x2, y2 = xy(_float(c["lat"]), _float(c["lon"]))
        title = _("{unit} ⇄ {community} (pairing)").format(
            unit=_name(u["name"], lang), community=_name(c["name"], lang)
        )
        parts.append(
            f'<line class="tie" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
            f"{_attrs({'unit-id': unit_id, 'community-id': community_id})}>"
            f"<title>{_e(title)}</title></line>"
        )
    for unit_id, u in paired_units.iterrows():
        ux, uy = xy(_float(u["lat"]), _float(u["lon"]))
        n = int((pairings["unit_id"] == unit_id).sum())
        about = _.ngettext(
            "{kind}, {level} level · paired with {n} community",
            "{kind}, {level} level · paired with {n} communities",
            n,
        ).format(
            kind=value_name("units", "kind", str(u["kind"]), lang),
            level=value_name("units", "level", str(u["level"]), lang),
            n=n,
        )
        parts.append(
            f'<circle class="unit" cx="{ux:.1f}" cy="{uy:.1f}" r="4" data-r="4"'
            f"{_attrs({'unit-id': unit_id})}><title>{_e(_name(u['name'], lang))}\n"
            f"{_e(about)}</title></circle>"
        )
    parts.append("</g>")
    # Communities, largest first so that small circles stay on top and reachable.
    parts.append('<g id="map-communities">')
    order = communities.sort_values(
        ["hours_demanded", "community_id"], ascending=[False, True], kind="stable"
    )
    for row in order.itertuples(index=False):
        cx, cy = xy(_float(row.lat), _float(row.lon))
        share = _float(row.coverage)
        has = not math.isnan(share)
        covered = (
            _("{covered} of {demanded} hours covered ({share})").format(
                covered=fmt_int(row.hours_covered),
                demanded=fmt_int(row.hours_demanded),
                share=fmt_pct(share, lang),
            )
            if has
            else _("no demanded hours")
        )
        counts = _.ngettext(
            "{n} demand · {households} households",
            "{n} demands · {households} households",
            _int(row.demands),
        ).format(n=_int(row.demands), households=fmt_int(row.households))
        where = f"{district_name(str(row.district), lang)} · {row.street}"
        title = f"{_name(row.name, lang)}\n{where}\n{covered}\n{counts}"
        data = {
            "community-id": row.community_id,
            "district": row.district,
            "coverage": json.dumps(share if has else None),
            "hours-demanded": row.hours_demanded,
            "hours-covered": row.hours_covered,
        }
        r = radius(_float(row.hours_demanded))
        parts.append(
            f'<circle class="mark community" cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.2f}" '
            f'data-r="{r:.2f}" fill="{_coverage_colour(share)}"'
            f"{_attrs(data)}><title>{_e(title)}</title></circle>"
        )
    parts.append("</g>")
    # District names at the centre of their communities, over the circles (with a halo).
    parts.append('<g id="map-districts">')
    views = [("", _("All districts"), f"0 0 {width} {height}")]
    for district, group in communities.groupby("district", sort=True):
        pts = [xy(float(a), float(b)) for a, b in zip(group["lat"], group["lon"], strict=True)]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        cx, cy = float(np.mean(xs)), float(np.mean(ys))
        parts.append(
            f'<text class="district" x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle" '
            f'data-size="18">{_e(district_name(str(district), lang))}</text>'
        )
        # A view of the district with room for its circles, in the map's proportions.
        w = max(max(xs) - min(xs), 60.0) + 2 * _R_MAX + 40
        h = max(max(ys) - min(ys), 60.0) + 2 * _R_MAX + 40
        w, h = max(w, h * width / height), max(h, w * height / width)
        mx, my = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
        views.append(
            (
                str(district),
                district_name(str(district), lang),
                f"{mx - w / 2:.1f} {my - h / 2:.1f} {w:.1f} {h:.1f}",
            )
        )
    parts.append("</g>")
    # Scale bar (redrawn by the page's script when zooming).
    parts.append(
        '<g id="map-scale"><line class="scale" x1="0" y1="0" x2="0" y2="0"/>'
        '<text class="tick" x="0" y="0" text-anchor="middle" data-size="11"></text></g>'
    )
    parts.append("</svg>")
    # data-district names the button's district whatever its label's language ("" = all).
    buttons = "".join(
        f'<button type="button" class="zoom{" active" if i == 0 else ""}" '
        f'data-district="{_e(district)}" data-viewbox="{vb}">{_e(name)}</button>'
        for i, (district, name, vb) in enumerate(views)
    )
    zoom = _h(_("Zoom:"))
    return (
        f'<div class="zoombar" id="map-zoom">{zoom} {buttons}</div>'
        f'<div class="mapwrap">{"".join(parts)}{_map_legend(hmax, radius, _)}</div>'
    )


_R_MAX = 18.0


def _map_legend(hmax: float, radius: Callable[[float], float], _: Translator) -> str:
    words = {
        "legend": _h(_("Map legend")),
        "coverage": _h(_("Coverage of demanded hours")),
        "none": _h(_("no demanded hours")),
        "hours": _h(_("Demanded hours (circle area)")),
        "with": _h(_("With “show pairing ties”")),
        "unit": _h(_("unit with pairings")),
        "tie": _h(_("pairing tie")),
    }
    parts = [
        '<svg id="map-legend" class="legend-svg" viewBox="0 0 210 330" width="210" '
        f'height="330" role="img" aria-label="{words["legend"]}">'
    ]
    parts.append(f'<text class="legend-title" x="0" y="14">{words["coverage"]}</text>')
    parts.append(
        '<defs><linearGradient id="coverage-gradient" x1="0" x2="1" y1="0" y2="0">'
        + "".join(
            f'<stop offset="{i / (len(_PALETTE) - 1):.2f}" stop-color="{c}"/>'
            for i, c in enumerate(_PALETTE)
        )
        + "</linearGradient></defs>"
    )
    parts.append('<rect x="8" y="24" width="180" height="12" fill="url(#coverage-gradient)"/>')
    for share in (0, 0.5, 1):
        parts.append(
            f'<text class="tick" x="{8 + 180 * share:.1f}" y="50" text-anchor="middle">'
            f"{round(100 * share)}%</text>"
        )
    parts.append(
        f'<circle cx="14" cy="68" r="5" fill="{_NO_DEMAND}"/>'
        f'<text class="tick" x="26" y="72">{words["none"]}</text>'
    )
    parts.append(f'<text class="legend-title" x="0" y="104">{words["hours"]}</text>')
    y = 116.0
    if hmax > 0:
        steps = sorted({_round_hours(hmax), _round_hours(hmax / 4), _round_hours(hmax / 16)})
        for hours in reversed(steps):
            r = radius(hours)
            label = _h(_("{hours} h"), hours=fmt_int(hours))
            parts.append(
                f'<circle class="size" cx="26" cy="{y + r:.1f}" r="{r:.1f}"/>'
                f'<text class="tick" x="54" y="{y + r + 4:.1f}">'
                f"{label}</text>"
            )
            y += 2 * r + 8
    parts.append(
        f'<text class="legend-title" x="0" y="{y + 18:.1f}">'
        f"{words['with']}</text>"
        f'<circle class="unit" cx="26" cy="{y + 34:.1f}" r="4"/>'
        f'<text class="tick" x="54" y="{y + 38:.1f}">{words["unit"]}</text>'
        f'<line class="tie" x1="14" y1="{y + 58:.1f}" x2="38" y2="{y + 50:.1f}"/>'
        f'<text class="tick" x="54" y="{y + 58:.1f}">{words["tie"]}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _round_hours(hours: float) -> float:
    if hours <= 1:
        return 1.0
    mag = 10 ** math.floor(math.log10(hours))
    return float(max(round(hours / mag) * mag, 1))


# ---- sections -------------------------------------------------------------------------


def _section(section_id: str, title: str, body: str, intro: str = "") -> str:
    """A section; ``intro`` is HTML (escaped by the caller), ``title`` plain text."""
    p = f'<p class="intro">{intro}</p>' if intro else ""
    return f'<section id="{section_id}"><h2>{_e(title)}</h2>{p}{body}</section>'


def _tiles(plan: PlanTables, _: Translator) -> str:
    k = plan.kpis
    u = ["supplier_utilization"]

    def kpi(path: list[str], fmt: str, tag: str = "span") -> str:
        return _kpi(k, path, fmt, tag, _.lang)

    tiles = [
        (
            _("Hours covered"),
            kpi(["coverage"], "pct", "div"),
            _h(
                _("{covered} of {demanded} hours demanded"),
                covered=kpi(["hours_covered"], "int"),
                demanded=kpi(["hours_demanded"], "int"),
            ),
        ),
        (
            _("Demands"),
            kpi(["demands"], "int", "div"),
            _h(
                _("{met} met · {partial} partial · {unmet} unmet"),
                met=kpi(["demands_met"], "int"),
                partial=kpi(["demands_partial"], "int"),
                unmet=kpi(["demands_unmet"], "int"),
            ),
        ),
        (
            _("Supplier hours used"),
            kpi([*u, "utilization"], "pct", "div"),
            _h(
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
            _h(_("communities with demanded hours and none covered")),
        ),
        (
            _("Objective"),
            kpi(["objective"], "num", "div"),
            _h(
                _("{status}; bound {bound}, weighted hours {weighted}"),
                status=_e(_solver_status(_, k.get("solver_status", ""))),
                bound=kpi(["bound"], "num"),
                weighted=kpi(["weighted_hours"], "num"),
            ),
        ),
        (
            _("Travel"),
            kpi(["travel_hour_km"], "num", "div"),
            _h(_("hour-km: hours given × km between supplier and community")),
        ),
    ]
    body = "".join(
        f'<div class="tile"><div class="tile-title">{_e(t)}</div>'
        f'<div class="tile-value">{v}</div><div class="tile-note">{n}</div></div>'
        for t, v, n in tiles
    )
    return f'<div class="tiles" id="kpi-tiles">{body}</div>'


def _names(dataset: Dataset) -> tuple[dict[str, str], dict[str, str]]:
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


_PLACES_AT_ONCE = 256
"""Supplier places (position and radius) whose communities in reach are looked at
together in :func:`_within_reach`."""


def _within_reach(ix: TieIndex) -> tuple[np.ndarray, np.ndarray]:
    """Every (supplier, skill) with a candidate arc of that skill scoring above zero: the
    ``(supplier, category)`` pairs of :func:`~matcher.model.eligibility.build_problem`'s arcs
    with ``weight > 0``, found without listing the arcs (at generator scale 1 they take
    18 GB; the arcs grow with suppliers times communities in reach times demands there).

    An arc's score rises with its demand's priority (``priority_weight > 0``), so a
    supplier reaches skill k at a tied community exactly when the demand of category k of
    highest priority there scores above zero, at the same distance (the same haversine of
    the same coordinates). Ties are looked at where they are shared: proximity per place
    and radius, pairings and alliances per place and unit, residence per cadre.
    """
    s = ix.suppliers
    params = ix.params
    n_comm, n_cat = len(ix.community_ids), max(len(ix.categories), 1)
    c_lat, c_lon = ix.community_lat, ix.community_lon
    none = np.iinfo(np.int64).min
    top = np.full(n_comm * n_cat, none, dtype=np.int64)  # best priority per (community, k)
    np.maximum.at(top, ix.demand_community * n_cat + ix.demand_category, ix.demand_priority)

    def scores(km: np.ndarray, comm: np.ndarray, k: int) -> np.ndarray:
        """Whether the best demand of category ``k`` at ``comm``, ``km`` away, scores
        above zero."""
        prio = top[comm * n_cat + k]
        has = prio != none
        ok = np.zeros(len(comm), dtype=bool)
        ok[has] = hour_score(prio[has], km[has], params) > 0
        return ok

    # Priorities present, ascending; per community and priority level, the categories
    # whose best demand there has at least that priority (bits; one int64 while they fit).
    levels = np.unique(ix.demand_priority)
    n_lev = len(levels)
    bits = n_cat <= 62
    if bits:
        mask = np.zeros((n_comm, n_lev + 1), dtype=np.int64)  # column n_lev: none pass
        top_ck = top.reshape(n_comm, n_cat)
        for k in range(n_cat):
            at_least = top_ck[:, k][:, None] >= levels[None, :]
            mask[:, :n_lev] |= at_least.astype(np.int64) << np.int64(k)

    def reached(ptr: np.ndarray, comm: np.ndarray, km: np.ndarray) -> Any:
        """Per row of a CSR of tied communities (``km`` away) and category: whether the
        best demand of that category at any of them scores above zero."""
        n_rows = len(ptr) - 1
        if not bits:
            row = np.repeat(np.arange(n_rows), np.diff(ptr))
            out = np.zeros((n_rows, n_cat), dtype=bool)
            for k in range(n_cat):
                out[np.unique(row[scores(km, comm, k)]), k] = True
            return out
        # The lowest priority level that scores above zero this far away (a binary
        # search: the score rises with the priority), then the categories at least that
        # high there, OR-ed over each row's communities.
        lo = np.zeros(len(km), dtype=np.int64)
        hi = np.full(len(km), n_lev, dtype=np.int64)
        while True:
            open_ = lo < hi
            if not open_.any():
                break
            mid = (lo + hi) // 2
            passes = hour_score(levels[np.minimum(mid, n_lev - 1)], km, params) > 0
            hi = np.where(open_ & passes, mid, hi)
            lo = np.where(open_ & ~passes, mid + 1, lo)
        pair_bits = mask[comm, lo]
        row_bits = np.zeros(n_rows, dtype=np.int64)
        filled = np.flatnonzero(np.diff(ptr) > 0)
        if len(filled):
            row_bits[filled] = np.bitwise_or.reduceat(pair_bits, ptr[filled])
        return ((row_bits[:, None] >> np.arange(n_cat, dtype=np.int64)) & 1).astype(bool)

    owner = np.repeat(np.arange(len(s)), np.diff(s.skill_ptr)).astype(np.int64)
    skill = s.skill_cat.astype(np.int64)
    ok = np.zeros(len(owner), dtype=bool)
    if len(s) and n_comm:
        # Proximity, per place and radius (as proximity_tie finds it).
        spots = np.column_stack((s.lat, s.lon, s.radius_km))
        uniq, spot_of = np.unique(spots, axis=0, return_inverse=True)
        spot_of = spot_of.reshape(-1)
        from scipy.spatial import cKDTree

        tree = cKDTree(unit_xyz(c_lat, c_lon))
        by_spot = np.zeros((len(uniq), n_cat), dtype=bool)
        # A few hundred places at a time: a city's places and communities in reach make
        # tens of millions of pairs, whose distances would take gigabytes at once.
        for start in range(0, len(uniq), _PLACES_AT_ONCE):
            part = uniq[start : start + _PLACES_AT_ONCE]
            spot, comm = pairs_within(part[:, 0], part[:, 1], part[:, 2], tree)
            km = haversine_km(part[spot, 0], part[spot, 1], c_lat[comm], c_lon[comm])
            keep = km <= part[spot, 2]
            spot, comm, km = spot[keep], comm[keep], km[keep]
            order = np.argsort(spot, kind="stable")  # pairs_within sorts by spot already
            spot_ptr = np.zeros(len(part) + 1, dtype=np.int64)
            np.cumsum(np.bincount(spot, minlength=len(part)), out=spot_ptr[1:])
            by_spot[start : start + len(part)] = reached(spot_ptr, comm[order], km[order])
        ok |= by_spot[spot_of[owner], skill]
        # Pairings and alliances, per place and unit.
        n_units = len(ix.unit_ids)
        tu = np.concatenate((ix.pair_unit, ix.alliance_unit)).astype(np.int64)
        tc = np.concatenate((ix.pair_comm, ix.alliance_comm)).astype(np.int64)
        valid = (tu >= 0) & (tc >= 0)
        pairs = np.unique(tu[valid] * n_comm + tc[valid])
        unit_ptr, unit_comm = csr(pairs // n_comm, pairs % n_comm, n_units)
        combo_key = spot_of.astype(np.int64) * max(n_units, 1) + s.unit
        combos, combo_of = np.unique(combo_key, return_inverse=True)
        combo_spot, combo_unit = combos // max(n_units, 1), combos % max(n_units, 1)
        row, comm = csr_expand(unit_ptr, unit_comm, combo_unit)
        combo_ptr = np.zeros(len(combos) + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=len(combos)), out=combo_ptr[1:])
        lat, lon = uniq[combo_spot[row], 0], uniq[combo_spot[row], 1]
        by_combo = reached(combo_ptr, comm, haversine_km(lat, lon, c_lat[comm], c_lon[comm]))
        ok |= by_combo[combo_of.reshape(-1)[owner], skill]
        # Residence, per cadre.
        home = s.home[owner]
        at_home = np.flatnonzero(home >= 0)
        for k in np.unique(skill[at_home]).tolist():
            mine = at_home[skill[at_home] == k]
            sup, where = owner[mine], home[mine].astype(np.int64)
            km = haversine_km(s.lat[sup], s.lon[sup], c_lat[where], c_lon[where])
            ok[mine] |= scores(km, where, k)
    key = np.unique(skill[ok] * max(len(s), 1) + owner[ok])
    return key % max(len(s), 1), key // max(len(s), 1)


def skill_supply(dataset: Dataset, plan: PlanTables) -> pd.DataFrame:
    """Supply against demand per skill (demand category).

    Returns
    -------
    DataFrame
        One row per demanded category: ``category``, ``hours_demanded``,
        ``hours_covered`` (from the plan), ``skilled_hours`` (hours of every supplier
        with the skill), ``reach_hours`` (hours of the suppliers with the skill and a tie
        to at least one demand of the category that scores above zero), ``short_hours``
        (demanded minus covered) and ``bottleneck`` (supply within reach below demand).
        A supplier with several skills counts in each, so supplies are upper bounds.
    """
    params = PlanParams.from_mapping(plan.params) if plan.params else PlanParams()
    ix = index_dataset(dataset, params)
    cats = np.asarray(ix.categories, dtype=object)
    s = ix.suppliers
    owner = np.repeat(np.arange(len(s)), np.diff(s.skill_ptr))
    skilled = np.bincount(s.skill_cat, weights=s.hours[owner], minlength=len(cats))
    sup_of, cat_of = _within_reach(ix)
    reach = np.bincount(cat_of, weights=s.hours[sup_of], minlength=len(cats))
    status = plan.demand_status
    by_cat = status.groupby("category", sort=True)[["hours", "covered_hours"]].sum()
    index = {c: i for i, c in enumerate(cats)}
    rows = []
    for category, v in by_cat.iterrows():
        i = index.get(str(category))
        rows.append(
            {
                "category": str(category),
                "hours_demanded": int(v["hours"]),
                "hours_covered": int(v["covered_hours"]),
                "skilled_hours": int(skilled[i]) if i is not None else 0,
                "reach_hours": int(reach[i]) if i is not None else 0,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["short_hours"] = out["hours_demanded"] - out["hours_covered"]
    out["bottleneck"] = out["reach_hours"] < out["hours_demanded"]
    return out.sort_values(["short_hours", "category"], ascending=[False, True]).reset_index(
        drop=True
    )


def _supply_section(table: pd.DataFrame, _: Translator) -> str:
    """Supply against demand per skill, from :func:`skill_supply`'s table."""
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
            _Row(
                label=label,
                value=_float(r.hours_covered),
                back=_float(r.hours_demanded),
                tick=_float(r.reach_hours),
                text=text,
                fill=_COVER_BAR,
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
    demanded, covered = _h(_("hours demanded")), _h(_("hours covered"))
    reach = _h(
        _("supply within reach (suppliers with the skill and a tie to a community asking for it)")
    )
    legend = (
        '<div class="legend"><span class="swatch" style="background:'
        f'{_DEMAND_BAR}"></span>{demanded} <span class="swatch" '
        f'style="background:{_COVER_BAR}"></span>{covered} '
        f'<span class="swatch tick"></span>{reach}</div>'
    )
    chart = _hbar_chart("chart-supply", rows, axis=_("hours"), _=_, width=1000, text_width=300)
    n = int(table["bottleneck"].sum()) if len(table) else 0
    intro = _e(
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
    return _section("supply", _("Supply against demand per skill"), legend + chart, intro)


def _utilization_section(dataset: Dataset, plan: PlanTables, _: Translator) -> str:
    lang = _.lang
    k = plan.kpis
    u = k.get("supplier_utilization") or {}
    titles = {"cadre": _("cadre hours used"), "service": _("service hours used")}
    kinds = []
    for kind in ("cadre", "service"):
        avail = u.get(f"{kind}_hours_available")
        if not avail:
            continue
        path = ["supplier_utilization"]
        note = _h(
            _("{used} of {available} h"),
            used=_kpi(k, [*path, f"{kind}_hours_used"], "int", lang=lang),
            available=_kpi(k, [*path, f"{kind}_hours_available"], "int", lang=lang),
        )
        kinds.append(
            f'<div class="tile small"><div class="tile-title">{_e(titles[kind])}</div>'
            f'<div class="tile-value">'
            f"{_kpi(k, [*path, f'{kind}_utilization'], 'pct', lang=lang)}</div>"
            f'<div class="tile-note">{note}</div></div>'
        )
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
    _communities, unit_names = _names(dataset)
    frame = pd.DataFrame({"available": available})
    frame["used"] = used.reindex(frame.index).fillna(0.0)
    frame = frame[frame["available"] > 0]
    frame["idle"] = frame["available"] - frame["used"]
    frame = frame.sort_values(["idle", "available"], ascending=[False, False], kind="stable")
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
            _Row(
                label=short_name(name) if lang == SOURCE_LANG else _name(name, lang),
                value=_float(r["used"]),
                back=_float(r["available"]),
                text=_("{used} of {available} h ({share})").format(**numbers),
                fill=_USED_BAR,
                data={
                    "unit-id": unit_id,
                    "hours-used": _int(r["used"]),
                    "hours-available": _int(r["available"]),
                },
                title=_("{name} ({unit_id}): {used} of {available} hours used, {idle} idle").format(
                    name=_name(name, lang), unit_id=unit_id, **numbers
                ),
            )
        )
    chart = _hbar_chart("chart-units", rows, axis=_("hours"), _=_, width=1000, text_width=220)
    used_words, available_words = _h(_("hours used")), _h(_("hours available"))
    legend = (
        '<div class="legend"><span class="swatch" style="background:'
        f'{_USED_BAR}"></span>{used_words} <span class="swatch" '
        f'style="background:{_IDLE_BAR}"></span>{available_words}</div>'
    )
    intro = _h(
        _(
            "The {shown} units with the most idle hours (of {units} units with suppliers): "
            "their cadres and services could take on more if ties or skills allowed."
        ),
        shown=str(min(TOP_UNITS, len(frame))),
        units=str(len(frame)),
    )
    body = f'<div class="tiles" id="utilization-tiles">{"".join(kinds)}</div>{legend}{chart}'
    return _section("utilization", _("Supplier utilization"), body, intro)


def _reason_label(code: object, lang: str) -> str:
    """A reason as a label: its code in English (as the plan's files write it), its few
    words in other languages (the code stays in the page's ``data-reason``)."""
    if lang == SOURCE_LANG:
        return str(code)
    return reason_text(str(code), lang, short=True) or str(code)


def _unmet_section(dataset: Dataset, plan: PlanTables, _: Translator) -> str:
    lang = _.lang
    k = plan.kpis
    reasons = k.get("reasons") or {}
    rows = [
        _Row(
            label=_reason_label(code, lang),
            value=float(n),
            text=fmt_int(n),
            fill=_REASON_BAR,
            data={"reason": code, "demands": n},
            title=_("{reason}: {text}").format(
                reason=_reason_label(code, lang), text=reason_text(str(code), lang)
            ),
        )
        for code, n in reasons.items()
    ]
    chart = _hbar_chart("chart-reasons", rows, axis=_("demands not fully met"), _=_, width=1000)
    item = _("{reason} ({n}): {text}")
    explain = "".join(
        "<li>"
        + _h(
            item,
            reason=f"<b>{_e(_reason_label(code, lang))}</b>",
            n=_kpi(k, ["reasons", code], "int", lang=lang),
            text=_e(reason_text(code, lang)),
        )
        + "</li>"
        for code in reasons
    )
    status = plan.demand_status.copy()
    status["short"] = status["hours"] - status["covered_hours"]
    top = status[status["short"] > 0].sort_values(
        ["short", "priority", "demand_id"], ascending=[False, False, True], kind="stable"
    )
    community_names, _units = _names(dataset)
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
        community = _name(community_names.get(str(r.community_id), r.community_id), lang)
        body_rows.append(
            f'<tr class="unmet-row"{_attrs({"demand-id": did, "short-hours": _int(r.short)})}>'
            f"<td>{_e(did)}</td>"
            f"<td>{_e(community)}</td>"
            f"<td>{_e(district_name(str(r.district), lang))}</td>"
            f"<td>{_e(category_name(str(r.category), lang))}"
            + (f'<div class="desc">{_e(desc)}</div>' if desc and desc != "nan" else "")
            + f'</td><td class="num">{_int(r.priority)}</td>'
            f'<td class="num">{fmt_int(r.hours)}</td>'
            f'<td class="num">{fmt_int(r.covered_hours)}</td>'
            f'<td class="num"><b>{fmt_int(r.short)}</b></td>'
            f"<td>{_e(status_name(r.status, lang))}</td>"
            f'<td><span class="reason" data-reason="{_e(r.reason)}" '
            f'title="{_e(reason_text(str(r.reason), lang))}">'
            f"{_e(_reason_label(r.reason, lang))}</span></td></tr>"
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
    table = (
        '<table id="table-unmet"><thead><tr>'
        + "".join(f"<th{cls}>{_e(text)}</th>" for cls, text in heads)
        + f"</tr></thead><tbody>{''.join(body_rows)}</tbody></table>"
    )
    n_short = int((status["short"] > 0).sum())
    zero = k.get("communities_zero_coverage") or []
    zero_text = ""
    if zero:
        sep = _.pgettext("list separator", ", ")
        names = sep.join(_e(_name(community_names.get(str(c), c), lang)) for c in zero)
        line = _h(
            _("{b}Communities with nothing covered:{_b} {names}"), b="<b>", _b="</b>", names=names
        )
        zero_text = f'<p id="zero-coverage">{line}</p>'
    heading = _h(
        _("The largest unmet demands ({shown} of {n} not fully met, by hours short)"),
        shown=str(min(TOP_UNMET, n_short)),
        n=str(n_short),
    )
    body = f'<ul class="reasons">{explain}</ul>{chart}{zero_text}<h3>{heading}</h3>{table}'
    return _section(
        "unmet",
        _("Why demands fall short"),
        body,
        _h(_("Each demand not fully met gets the first reason that applies, in this order.")),
    )


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


def compare_tables(this: PlanTables, other: PlanTables) -> dict[str, pd.DataFrame]:
    """What changed from ``other`` to ``this``.

    Returns
    -------
    dict
        ``demands``: demands whose covered hours or status differ (``demand_id``,
        ``community_id``, ``district``, ``category``, ``hours``, ``covered_other``,
        ``covered_this``, ``status_other``, ``status_this``); ``added`` and ``removed``:
        assignments (by supplier and demand) only in this plan or only in the other,
        with their hours; ``changed``: assignments in both with other hours
        (``hours_other``, ``hours_this``).
    """
    cols = ["demand_id", "community_id", "district", "category", "hours"]
    a = this.demand_status[[*cols, "covered_hours", "status"]]
    b = other.demand_status[["demand_id", "covered_hours", "status"]]
    merged = a.merge(b, on="demand_id", how="outer", suffixes=("_this", "_other"))
    changed = merged[
        (merged["covered_hours_this"] != merged["covered_hours_other"])
        | (merged["status_this"] != merged["status_other"])
    ]
    demands = changed.rename(
        columns={"covered_hours_this": "covered_this", "covered_hours_other": "covered_other"}
    )
    key = ["supplier_kind", "supplier_id", "demand_id"]
    keep = [*key, "unit_id", "community_id", "category", "hours"]
    x = this.assignments[keep]
    y = other.assignments[keep]
    both = x.merge(y, on=key, how="outer", suffixes=("_this", "_other"), indicator=True)

    def side(which: str, suffix: str) -> pd.DataFrame:
        part = both[both["_merge"] == which]
        out = part[key].copy()
        for c in ("unit_id", "community_id", "category", "hours"):
            out[c] = part[f"{c}_{suffix}"]
        return out.sort_values(["hours", *key], ascending=[False, True, True, True]).reset_index(
            drop=True
        )

    in_both = both[both["_merge"] == "both"]
    moved = in_both[in_both["hours_this"] != in_both["hours_other"]]
    return {
        "demands": demands.sort_values("demand_id").reset_index(drop=True),
        "added": side("left_only", "this"),
        "removed": side("right_only", "other"),
        "changed": moved[
            [*key, "unit_id_this", "community_id_this", "hours_other", "hours_this"]
        ].reset_index(drop=True),
    }


def _compare_section(
    dataset: Dataset,
    this: PlanTables,
    other: PlanTables,
    changes: dict[str, pd.DataFrame],
    _: Translator,
) -> str:
    """The comparison with ``other``; ``changes`` from :func:`compare_tables`."""
    lang = _.lang
    rows = []
    for path, label, fmt, better in _COMPARE_KPIS:
        a, b = _kpi_value(this.kpis, path), _kpi_value(other.kpis, path)
        cls, d = _delta(a, b, fmt, better, lang)
        rows.append(
            f'<tr class="compare-kpi" data-compare-kpi="{_e(".".join(path))}" '
            f"data-this='{_e(json.dumps(a))}' data-other='{_e(json.dumps(b))}'>"
            f'<td>{_e(_(label))}</td><td class="num">{_e(_fmt(fmt, a, lang))}</td>'
            f'<td class="num">{_e(_fmt(fmt, b, lang))}</td>'
            f'<td class="num delta {cls}">{_e(d)}</td></tr>'
        )
    districts = sorted(
        set(this.kpis.get("coverage_by_district") or {})
        | set(other.kpis.get("coverage_by_district") or {})
    )
    for district in districts:
        label = _h(_("coverage in {district}"), district=_e(district_name(district, lang)))
        path = ("coverage_by_district", district, "coverage")
        a, b = _kpi_value(this.kpis, path), _kpi_value(other.kpis, path)
        cls, delta = _delta(a, b, "pct", lang=lang)
        rows.append(
            f'<tr class="compare-kpi" data-compare-kpi="{_e(".".join(path))}" '
            f"data-this='{_e(json.dumps(a))}' data-other='{_e(json.dumps(b))}'>"
            f"<td>{label}</td>"
            f'<td class="num">{_e(fmt_pct(a, lang))}</td>'
            f'<td class="num">{_e(fmt_pct(b, lang))}</td>'
            f'<td class="num delta {cls}">{_e(delta)}</td></tr>'
        )
    words = {
        "this": _h(_("{label} (this)"), label=_e(this.label)),
        "kpi": _h(_("KPI")),
        "change": _h(_("change")),
        "demand": _h(_("demand")),
        "community": _h(_("community")),
        "category": _h(_("category")),
        "hours": _h(_("hours")),
        "demanded": _h(_("demanded h")),
        "status": _h(_("status")),
        "covered_other": _h(_("covered in {label}"), label=_e(other.label)),
        "covered_this": _h(_("covered in {label}"), label=_e(this.label)),
    }
    kpi_table = (
        f'<table id="table-compare-kpis"><thead><tr><th>{words["kpi"]}</th>'
        f'<th class="num">{words["this"]}</th>'
        f'<th class="num">{_e(other.label)}</th>'
        f'<th class="num">{words["change"]}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
    names, unit_names = _names(dataset)

    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "—"
        if isinstance(v, float) and v.is_integer():
            return fmt_int(v)
        return _e(v)

    def status(v: Any) -> str:
        return cell(v) if _missing(v) else _e(status_name(v, _.lang))

    def category(v: Any) -> str:
        return cell(v) if _missing(v) else _e(category_name(str(v), lang))

    def community(v: Any) -> str:
        return _e(_name(names.get(str(v), v), lang))

    demand_rows = "".join(
        f'<tr class="changed-demand" data-demand-id="{_e(r.demand_id)}"><td>{_e(r.demand_id)}</td>'
        f"<td>{community(r.community_id)}</td><td>{category(r.category)}</td>"
        f'<td class="num">{cell(r.hours)}</td><td class="num">{cell(r.covered_other)}</td>'
        f'<td class="num">{cell(r.covered_this)}</td><td class="nowrap">{status(r.status_other)} → '
        f"{status(r.status_this)}</td></tr>"
        for r in changes["demands"].head(TOP_CHANGES).itertuples(index=False)
    )
    n_status = int((changes["demands"]["status_this"] != changes["demands"]["status_other"]).sum())

    def assignment_rows(frame: pd.DataFrame, cls: str) -> str:
        return "".join(
            f'<tr class="{cls}"><td>{_e(_supplier_kind(_, r.supplier_kind))} '
            f"{_e(r.supplier_id)}</td>"
            f"<td>{_e(_name(unit_names.get(str(r.unit_id), r.unit_id), lang))}</td>"
            f"<td>{_e(r.demand_id)}</td><td>{community(r.community_id)}</td>"
            f'<td>{category(r.category)}</td><td class="num">{cell(r.hours)}</td></tr>'
            for r in frame.head(TOP_CHANGES).itertuples(index=False)
        )

    head = (
        "<thead><tr>"
        + "".join(f"<th>{_e(text)}</th>" for text in (_("supplier"), _("unit"), _("demand")))
        + f"<th>{words['community']}</th><th>{words['category']}</th>"
        f'<th class="num">{words["hours"]}</th></tr></thead>'
    )
    added, removed = changes["added"], changes["removed"]
    sentence = _h(
        _(
            "{b}{demands}{_b} demands changed coverage ({status} changed status); "
            "{b}{added}{_b} assignments added (+{added_hours} h), {b}{removed}{_b} removed "
            "(−{removed_hours} h), {hours} with other hours."
        ),
        b="<b>",
        _b="</b>",
        demands=fmt_int(len(changes["demands"])),
        status=fmt_int(n_status),
        added=fmt_int(len(added)),
        added_hours=fmt_int(added["hours"].sum()),
        removed=fmt_int(len(removed)),
        removed_hours=fmt_int(removed["hours"].sum()),
        hours=fmt_int(len(changes["changed"])),
    )
    counts = (
        f'<p id="compare-counts" data-demands-changed="{len(changes["demands"])}" '
        f'data-status-changed="{n_status}" data-added="{len(added)}" '
        f'data-removed="{len(removed)}" data-hours-changed="{len(changes["changed"])}">'
        f"{sentence}</p>"
    )

    def heading(frame: pd.DataFrame, whole: str, first: str) -> str:
        """A table's heading; it says when only the first rows are listed."""
        shown = first if len(frame) > TOP_CHANGES else whole
        return f"<h3>{_e(shown.format(n=TOP_CHANGES))}</h3>"

    body = (
        kpi_table
        + counts
        + heading(
            changes["demands"],
            _("Demands whose coverage changed"),
            _("Demands whose coverage changed (the first {n})"),
        )
        + '<table id="table-compare-demands"><thead><tr>'
        f"<th>{words['demand']}</th><th>{words['community']}</th>"
        f'<th>{words["category"]}</th><th class="num">{words["demanded"]}</th>'
        f'<th class="num">{words["covered_other"]}</th>'
        f'<th class="num">{words["covered_this"]}</th>'
        f"<th>{words['status']}</th></tr></thead>"
        f"<tbody>{demand_rows}</tbody></table>"
        + heading(added, _("Assignments added"), _("Assignments added (the first {n})"))
        + f'<table id="table-compare-added">{head}<tbody>'
        f"{assignment_rows(added, 'added')}</tbody></table>"
        + heading(removed, _("Assignments removed"), _("Assignments removed (the first {n})"))
        + f'<table id="table-compare-removed">{head}<tbody>'
        f"{assignment_rows(removed, 'removed')}</tbody></table>"
    )
    intro = _h(
        _(
            "This plan ({b}{this}{_b}) against {b}{other}{_b}; changes are this minus {other}, "
            "green where this plan is better, red where worse."
        ),
        b="<b>",
        _b="</b>",
        this=_e(this.label),
        other=_e(other.label),
    )
    title = _("Comparison with {label}").format(label=other.label)
    return _section("compare", title, body, intro)


_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#eef1f5;color:#1f2933;font-family:FONTS;font-size:14px;line-height:1.45}
header{background:#16324f;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:24px;font-weight:600}
header .sub{opacity:.85}
main{max-width:1100px;margin:0 auto;padding:8px 16px 32px}
section{background:#fff;margin:16px 0;padding:16px 24px 20px;border-radius:8px;
 box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{margin:0 0 8px;font-size:19px;color:#16324f}
h3{font-size:15px;margin:18px 0 6px}
.intro{color:#52606d;margin:0 0 10px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:6px 0}
.tile{border:1px solid #e4e7eb;border-radius:6px;padding:10px 12px;background:#f9fafb}
.tile-title{font-size:12px;color:#52606d;text-transform:uppercase;letter-spacing:.03em}
.tile-value{font-size:26px;font-weight:600;color:#16324f}
.tile.small .tile-value{font-size:20px}
.tile-note{font-size:12px;color:#52606d}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px;align-items:start}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
.grid2 section{margin:0}
svg text{font-family:FONTS;fill:#1f2933}
svg .label{font-size:12px}
svg .value{font-size:12px;fill:#323f4b}
svg .alert{fill:#b42318;font-weight:600}
svg .tick{font-size:11px;fill:#52606d}
svg .axis{font-size:11px;fill:#52606d}
svg .grid{stroke:#e4e7eb;stroke-width:1}
svg .reach{stroke:#111;stroke-width:2.5}
svg .sea{fill:#f4f6f8}
svg .tie{vector-effect:non-scaling-stroke}
svg .district{font-size:18px;font-weight:600;fill:#3e4c59;opacity:.75;pointer-events:none;
 paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
#map{background:#f4f6f8;border-radius:4px;flex:1 1 560px}
#map circle,#map line,#map text{vector-effect:non-scaling-stroke}
.mapwrap{display:flex;gap:12px;align-items:flex-start;flex-wrap:wrap}
.zoombar{margin:0 0 8px;font-size:13px;color:#52606d}
.zoombar button{font:inherit;font-size:12px;margin:0 2px 4px;padding:2px 10px;
 border:1px solid #cbd2d9;border-radius:12px;background:#fff;cursor:pointer}
.zoombar button.active{background:#16324f;color:#fff;border-color:#16324f}
svg .community{stroke:#fff;stroke-width:1;fill-opacity:.9}
svg .community:hover{stroke:#111;stroke-width:2}
svg .tie{stroke:#6b4fa3;stroke-width:1.1;stroke-opacity:.55}
svg .unit{fill:#6b4fa3;stroke:#fff;stroke-width:.8}
svg .size{fill:none;stroke:#52606d}
svg .scale{stroke:#323f4b;stroke-width:3}
svg .legend-title{font-size:12px;font-weight:600}
.controls{margin:4px 0 8px}
.legend{font-size:12px;color:#52606d;margin:2px 0 6px}
.swatch{display:inline-block;width:12px;height:12px;margin:0 4px 0 10px;vertical-align:-2px;
 border:1px solid #cbd2d9}
.swatch.tick{width:3px;background:#111;border:0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 6px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#f5f7fa;font-weight:600;white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums}
.desc{color:#7b8794;font-size:12px}
.reason{border-bottom:1px dotted #7b8794;cursor:help;white-space:nowrap}
.delta.better{color:#1b7a3e}.delta.worse{color:#b42318}\n.nowrap{white-space:nowrap}
ul.reasons{margin:4px 0 10px;padding-left:20px;color:#323f4b}
footer{max-width:1100px;margin:0 auto;padding:0 16px 24px;color:#616e7c;font-size:12px}
code{font-size:12px}
""".replace("FONTS", FONT_STACK)

_SCRIPT = """
(function () {
  var words = JSON.parse(document.getElementById('report-texts').textContent);
  var map = document.getElementById('map');
  var box = document.getElementById('toggle-ties');
  var ties = document.getElementById('map-ties');
  function showTies() { ties.style.display = box.checked ? '' : 'none'; }
  box.addEventListener('change', showTies);
  var full = map.getAttribute('data-full-viewbox').split(' ').map(Number);
  var kmPerUnit = parseFloat(map.getAttribute('data-km-per-unit'));
  var steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
  function view(box) {
    var p = box.split(' ').map(Number), i;
    map.setAttribute('viewBox', box);
    // Zooming enlarges distances, not marks or labels: scale them back to screen size.
    var f = p[2] / full[2];
    var marks = map.querySelectorAll('circle[data-r]');
    for (i = 0; i < marks.length; i++) {
      marks[i].setAttribute('r', (parseFloat(marks[i].getAttribute('data-r')) * f).toFixed(3));
    }
    var texts = map.querySelectorAll('text[data-size]');
    for (i = 0; i < texts.length; i++) {
      texts[i].style.fontSize = (parseFloat(texts[i].getAttribute('data-size')) * f) + 'px';
    }
    var want = p[2] * kmPerUnit / 6, km = steps[steps.length - 1];
    for (i = 0; i < steps.length; i++) { if (steps[i] >= want * 0.6) { km = steps[i]; break; } }
    var len = km / kmPerUnit, x0 = p[0] + 16 * f, y0 = p[1] + p[3] - 14 * f;
    var line = map.querySelector('#map-scale line');
    var label = map.querySelector('#map-scale text');
    line.setAttribute('x1', x0); line.setAttribute('x2', x0 + len);
    line.setAttribute('y1', y0); line.setAttribute('y2', y0);
    label.setAttribute('x', x0 + len / 2); label.setAttribute('y', y0 - 6 * f);
    label.textContent = words.km.replace('{km}', km);
    map.setAttribute('data-scale-km', km);
  }
  var buttons = document.querySelectorAll('#map-zoom button');
  function pick(ev) {
    for (var j = 0; j < buttons.length; j++) { buttons[j].classList.remove('active'); }
    ev.currentTarget.classList.add('active');
    view(ev.currentTarget.getAttribute('data-viewbox'));
  }
  for (var b = 0; b < buttons.length; b++) { buttons[b].addEventListener('click', pick); }
  showTies();
  view(full.join(' '));
})();
"""


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
    plan: Plan | PlanTables | str | Path,
    dataset: Dataset | str | Path | None = None,
    *,
    other: Plan | PlanTables | str | Path | None = None,
    title: str | None = None,
    lang: str = SOURCE_LANG,
) -> str:
    """One self-contained HTML page presenting a plan (and, optionally, a comparison).

    Parameters
    ----------
    plan
        A plan folder, a :class:`~matcher.plans.planner.Plan`, or :class:`PlanTables`.
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

    this: PlanTables
    dataset: Dataset
    other: PlanTables | None
    coverage: pd.DataFrame
    supply: pd.DataFrame
    changes: dict[str, pd.DataFrame] | None


def build_reports(
    plan: Plan | PlanTables | str | Path,
    dataset: Dataset | str | Path | None = None,
    *,
    other: Plan | PlanTables | str | Path | None = None,
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
    this = _as_tables(plan, Text(N_("plan")))
    ds = plan_dataset(this, dataset)
    that = None if other is None else _as_tables(other, Text(N_("other plan")))
    shared = _Shared(
        this,
        ds,
        that,
        community_coverage(ds.communities, this.demand_status),
        skill_supply(ds, this),
        compare_tables(this, that) if that is not None else None,
    )
    return {lang: _page(shared, title, translator(lang)) for lang in dict.fromkeys(langs)}


def _label(label: str, lang: str) -> str:
    """A plan's label as shown in ``lang`` (a :class:`~matcher.i18n.Text` is rendered)."""
    return label.render(lang) if isinstance(label, Text) else str(label)


def _page(shared: _Shared, title: str | None, _: Translator) -> str:
    """The report's HTML in ``_``'s language."""
    this, ds, that, coverage = shared.this, shared.dataset, shared.other, shared.coverage
    # A label may be a Text ("run 1a2b3c4d" for a run without one): in the page's language.
    this = dataclasses.replace(this, label=_label(this.label, _.lang))
    if that is not None:
        that = dataclasses.replace(that, label=_label(that.label, _.lang))
    if that is not None and that.label == this.label:
        that = dataclasses.replace(that, label=_("{label} (other)").format(label=that.label))
    k = this.kpis
    heading = title or _("Co-construction plan: {label}").format(label=this.label)
    status = _solver_status(_, k.get("solver_status", ""))
    gap = k.get("gap")
    proof = (
        _e(_("{status} (gap {gap})").format(status=status, gap=f"{gap:.1e}"))
        if isinstance(gap, int | float)
        else _e(status or _("n/a"))
    )
    sub = _h(
        _(
            "Dataset {name}: {communities} communities, {units} units, {cadres} cadres, "
            "{demands} demands · solver {solver}: {proof}"
        ),
        name=f"<b>{_e(Path(ds.source).name or ds.source)}</b>",
        communities=fmt_int(len(ds.communities)),
        units=fmt_int(len(ds.units)),
        cadres=fmt_int(len(ds.cadres)),
        demands=fmt_int(len(ds.demands)),
        solver=f"<code>{_e(k.get('solver', ''))}</code>",
        proof=proof,
    )
    ties = _h(
        _("show pairing ties ({n} unit–community pairings, dual registration)"),
        n=fmt_int(len(ds.pairings)),
    )
    map_body = (
        '<div class="controls"><label><input type="checkbox" id="toggle-ties"> '
        f"{ties}</label></div>" + _map_svg(ds, coverage, _)
    )
    map_intro = _h(
        _(
            "Each circle is a community at its coordinates: its colour is the share of its "
            "demanded hours the plan covers, its area the hours demanded. Hover over a circle "
            "for its figures; zoom to a district with the buttons."
        ),
    )
    district_rows = _coverage_rows(
        k, "coverage_by_district", "district", _, lambda d: district_name(d, _.lang)
    )
    category_rows = sorted(
        _coverage_rows(
            k, "coverage_by_category", "category", _, lambda c: category_name(c, _.lang)
        ),
        key=lambda r: (r.value, str(r.data["category"])),
    )
    share_axis = _("share of demanded hours covered")
    districts = _section(
        "by-district",
        _("Coverage by district"),
        _hbar_chart(
            "chart-districts", district_rows, axis=share_axis, _=_, pct=True, text_width=170
        ),
    )
    categories = _section(
        "by-category",
        _("Coverage by category"),
        _hbar_chart(
            "chart-categories", category_rows, axis=share_axis, _=_, pct=True, text_width=170
        ),
        _h(_("Lowest coverage first.")),
    )
    sections = [
        _section("kpis", _("The plan at a glance"), _tiles(this, _)),
        _section("map-section", _("Where the plan reaches"), map_body, map_intro),
        f'<div class="grid2">{districts}{categories}</div>',
        _supply_section(shared.supply, _),
        _utilization_section(ds, this, _),
        _unmet_section(ds, this, _),
    ]
    if that is not None:
        sections.append(_compare_section(ds, this, that, shared.changes or {}, _))
    params = ", ".join(f"{_e(n)}={_e(v)}" for n, v in sorted(this.params.items()))
    footer = _h(
        _(
            "Plan {b}{label}{_b} of dataset {source} (content hash {hash}). Parameters: "
            "{params}. Hours are whole service hours; coverage is covered over demanded hours. "
            "Made by the co-construction planner ({command})."
        ),
        b="<b>",
        _b="</b>",
        label=_e(this.label),
        source=f"<code>{_e(ds.source)}</code>",
        hash=f"<code>{_e(ds.content_hash[:16])}</code>",
        params=f"<code>{params}</code>" if params else _h(_("defaults")),
        command="<code>matcher report</code>",
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{HTML_LANG.get(_.lang, _.lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(heading)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{_e(heading)}</h1><div class="sub">{sub}</div></header>'
        f"<main>{''.join(sections)}</main><footer>{footer}</footer>"
        f'<script type="application/json" id="report-texts">{_script_texts(_)}</script>'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


def write_report(html_text: str, out: str | Path) -> Path:
    """Write a report (UTF-8), making the folder if needed."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_text, encoding="utf-8")
    return path
