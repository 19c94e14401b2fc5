"""A plan people can look at: one self-contained HTML report with a map and charts.

:func:`build_report` turns a plan (a folder written by :meth:`Plan.write`, a
:class:`~matcher.plan.Plan`, or :class:`PlanTables`) and its dataset into one HTML page
that needs no network: every chart is inline SVG drawn here, the only script is a few
inlined lines (the pairing-ties switch), and the page names its charset and a font stack
with CJK fonts so Chinese names display.

Sections: the headline KPIs; a map of the communities at their coordinates (colour =
coverage, area = demanded hours, pairing ties as lines behind a switch); coverage by
district and by category; supply against demand per skill (the bottlenecks); supplier
utilization; why demands fall short and the largest unmet demands; with a second plan,
the comparison (KPIs with deltas, demands whose coverage changed, assignments added and
removed).

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
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.csvsafe import restore_formulas
from matcher.dataset import Dataset, load_dataset
from matcher.eligibility import TieIndex, csr, csr_expand, hour_score, index_dataset
from matcher.errors import MatcherError
from matcher.export import community_coverage
from matcher.geo import haversine_km, pairs_within, unit_xyz
from matcher.params import PlanParams
from matcher.plan import (
    ASSIGNMENT_COLUMNS,
    DEMAND_STATUS_COLUMNS,
    FUNDING_COLUMNS,
    LEAD_COLUMNS,
    Plan,
)
from matcher.reasons import reason_text

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
_KM_PER_DEG_LAT = 6371.0 * math.pi / 180.0


def _float(value: Any) -> float:
    """A table cell as a float (pandas cells are typed loosely)."""
    return float(value)


def _int(value: Any) -> int:
    """A table cell as an int."""
    return int(value)


class PlanFolderError(MatcherError, ValueError):
    """A plan folder, or the dataset given for it, cannot make a report."""


@dataclass(frozen=True)
class PlanTables:
    """A plan as the report reads it: its tables, KPIs and how it was made.

    Build one with :func:`read_plan` (a plan folder), :meth:`from_plan` (a
    :class:`~matcher.plan.Plan`), or directly (the service builds one from its store).

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
        """The plan's tables by name (for :func:`matcher.export.write_exports`)."""
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
                f"plan folder {folder}: {name} is missing (a plan folder is written by "
                "`matcher plan DATASET --out DIR`)"
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
        raise PlanFolderError(f"{path}: cannot be read as CSV ({exc})") from None
    # Plan.write neutralises formula cells (matcher.csvsafe); undone so ids round-trip.
    frame = restore_formulas(frame)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PlanFolderError(
            f"{path}, row 1: column {missing[0]!r} is missing; expected the columns "
            f"{', '.join(columns)}"
        )
    for column in columns:
        if column in _TEXT_COLUMNS:
            continue
        numbers = pd.to_numeric(frame[column].replace("", np.nan), errors="coerce")
        bad = numbers.isna() & (frame[column].astype(str) != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise PlanFolderError(
                f"{path}, row {row + 2}, column {column!r}: got {frame[column].iloc[row]!r}, "
                "expected a number"
            )
        frame[column] = numbers
    return frame[list(columns)]


def _read_json(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        raise PlanFolderError(f"plan folder {folder}: {name} is missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PlanFolderError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise PlanFolderError(f"{path}: expected a JSON object")
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
        raise PlanFolderError(f"plan folder {folder} does not exist (or is not a folder)")
    kpis = _read_json(folder, "kpis.json")
    for key in ("hours_demanded", "hours_covered", "coverage"):
        if key not in kpis:
            raise PlanFolderError(f"{folder / 'kpis.json'}: key {key!r} is missing")
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
                f"plan {plan.label}: its run.json names the dataset "
                f"{plan.dataset_source or '(none)'!r}, which is not a folder here; give the "
                "dataset with --dataset DIR"
            )
        dataset = plan.dataset_source
    loaded = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    if plan.dataset_hash and loaded.content_hash != plan.dataset_hash:
        raise PlanFolderError(
            f"dataset {loaded.source} has content hash {loaded.content_hash[:12]}..., but "
            f"plan {plan.label} was made from a dataset with hash {plan.dataset_hash[:12]}... "
            "(run.json); give the dataset the plan was made from"
        )
    return loaded


def _as_tables(plan: Plan | PlanTables | str | Path, label: str) -> PlanTables:
    if isinstance(plan, PlanTables):
        return plan
    if isinstance(plan, Plan):
        return PlanTables.from_plan(plan, label)
    return read_plan(plan)


# ---- formatting -----------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def fmt_int(value: Any) -> str:
    """A whole number with thousands separators: ``13,905``."""
    return f"{round(value):,}"


def fmt_pct(value: Any) -> str:
    """A share as a percentage with one decimal: ``74.0%`` (``n/a`` when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.1f}%"


def fmt_num(value: Any) -> str:
    """A number with two decimals and thousands separators: ``47,121.85``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.2f}"


_FORMATS = {"int": fmt_int, "pct": fmt_pct, "num": fmt_num}


def _kpi_value(kpis: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = kpis
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _kpi(kpis: Mapping[str, Any], path: Sequence[str], fmt: str, tag: str = "span") -> str:
    """A KPI as shown: its formatted number, with data attributes to read it back."""
    value = _kpi_value(kpis, path)
    shown = _FORMATS[fmt](value) if value is not None else "n/a"
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


_CJK_IN_PARENS = re.compile(r"\(([^()]*[\u2e80-\u9fff][^()]*)\)\s*$")


def short_name(name: str) -> str:
    """A name's Chinese part when it has one in parentheses (``军门社区``), else the name."""
    match = _CJK_IN_PARENS.search(name)
    return match.group(1) if match else name


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
    pct: bool = False,
    width: int = 560,
    text_width: int = 190,
) -> str:
    """A horizontal bar chart as SVG: one ``rect.mark`` per row.

    A row may have a background bar (``back``, e.g. hours demanded behind hours covered)
    and a tick (``tick``, e.g. supply within reach).
    """
    if not rows:
        return f'<p class="empty" id="{chart_id}">Nothing to show.</p>'
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


def _coverage_rows(kpis: Mapping[str, Any], key: str, data_key: str) -> list[_Row]:
    rows = []
    for name, v in (kpis.get(key) or {}).items():
        share = v.get("coverage")
        covered, demanded = v.get("hours_covered", 0), v.get("hours_demanded", 0)
        rows.append(
            _Row(
                label=str(name),
                value=float(share or 0.0),
                text=f"{fmt_pct(share)} · {fmt_int(covered)} of {fmt_int(demanded)} h",
                fill=_coverage_colour(share),
                data={
                    data_key: name,
                    "coverage": json.dumps(share),
                    "hours-covered": covered,
                    "hours-demanded": demanded,
                },
                title=f"{name}: {fmt_int(covered)} of {fmt_int(demanded)} hours covered "
                f"({fmt_pct(share)})",
            )
        )
    return rows


# ---- the map --------------------------------------------------------------------------


def _map_svg(dataset: Dataset, coverage: pd.DataFrame, width: int = 780) -> str:
    """Communities at their coordinates, pairing ties as lines (hidden at first), and
    buttons that zoom to a district; the legend is a separate SVG beside it."""
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

    km_per_unit = 1 / (scale / _KM_PER_DEG_LAT) if scale else 1.0
    parts = [
        f'<svg id="map" class="chart map" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px" role="img" aria-label="Map of communities by coverage" '
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
        parts.append(
            f'<line class="tie" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
            f"{_attrs({'unit-id': unit_id, 'community-id': community_id})}>"
            f"<title>{_e(u['name'])} ⇄ {_e(c['name'])} (pairing)</title></line>"
        )
    for unit_id, u in paired_units.iterrows():
        ux, uy = xy(_float(u["lat"]), _float(u["lon"]))
        n = int((pairings["unit_id"] == unit_id).sum())
        parts.append(
            f'<circle class="unit" cx="{ux:.1f}" cy="{uy:.1f}" r="4" data-r="4"'
            f"{_attrs({'unit-id': unit_id})}><title>{_e(u['name'])}\n"
            f"{_e(u['kind'])}, {_e(u['level'])} level · paired with {n} "
            f"communit{'y' if n == 1 else 'ies'}</title></circle>"
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
        title = (
            f"{row.name}\n{row.district} · {row.street}\n"
            + (
                f"{fmt_int(row.hours_covered)} of {fmt_int(row.hours_demanded)} hours covered "
                f"({fmt_pct(share)})"
                if has
                else "no demanded hours"
            )
            + f"\n{row.demands} demands · {fmt_int(row.households)} households"
        )
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
    views = [("All districts", f"0 0 {width} {height}")]
    for district, group in communities.groupby("district", sort=True):
        pts = [xy(float(a), float(b)) for a, b in zip(group["lat"], group["lon"], strict=True)]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        cx, cy = float(np.mean(xs)), float(np.mean(ys))
        parts.append(
            f'<text class="district" x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle" '
            f'data-size="18">{_e(district)}</text>'
        )
        # A view of the district with room for its circles, in the map's proportions.
        w = max(max(xs) - min(xs), 60.0) + 2 * _R_MAX + 40
        h = max(max(ys) - min(ys), 60.0) + 2 * _R_MAX + 40
        w, h = max(w, h * width / height), max(h, w * height / width)
        mx, my = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
        views.append((str(district), f"{mx - w / 2:.1f} {my - h / 2:.1f} {w:.1f} {h:.1f}"))
    parts.append("</g>")
    # Scale bar (redrawn by the page's script when zooming).
    parts.append(
        '<g id="map-scale"><line class="scale" x1="0" y1="0" x2="0" y2="0"/>'
        '<text class="tick" x="0" y="0" text-anchor="middle" data-size="11"></text></g>'
    )
    parts.append("</svg>")
    buttons = "".join(
        f'<button type="button" class="zoom{" active" if i == 0 else ""}" '
        f'data-viewbox="{vb}">{_e(name)}</button>'
        for i, (name, vb) in enumerate(views)
    )
    return (
        f'<div class="zoombar" id="map-zoom">Zoom: {buttons}</div>'
        f'<div class="mapwrap">{"".join(parts)}{_map_legend(hmax, radius)}</div>'
    )


_R_MAX = 18.0


def _map_legend(hmax: float, radius: Callable[[float], float]) -> str:
    parts = [
        '<svg id="map-legend" class="legend-svg" viewBox="0 0 210 330" width="210" '
        'height="330" role="img" aria-label="Map legend">'
    ]
    parts.append('<text class="legend-title" x="0" y="14">Coverage of demanded hours</text>')
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
        '<text class="tick" x="26" y="72">no demanded hours</text>'
    )
    parts.append('<text class="legend-title" x="0" y="104">Demanded hours (circle area)</text>')
    y = 116.0
    if hmax > 0:
        steps = sorted({_round_hours(hmax), _round_hours(hmax / 4), _round_hours(hmax / 16)})
        for hours in reversed(steps):
            r = radius(hours)
            parts.append(
                f'<circle class="size" cx="26" cy="{y + r:.1f}" r="{r:.1f}"/>'
                f'<text class="tick" x="54" y="{y + r + 4:.1f}">{fmt_int(hours)} h</text>'
            )
            y += 2 * r + 8
    parts.append(
        f'<text class="legend-title" x="0" y="{y + 18:.1f}">With "show pairing ties"</text>'
        f'<circle class="unit" cx="26" cy="{y + 34:.1f}" r="4"/>'
        f'<text class="tick" x="54" y="{y + 38:.1f}">unit with pairings</text>'
        f'<line class="tie" x1="14" y1="{y + 58:.1f}" x2="38" y2="{y + 50:.1f}"/>'
        f'<text class="tick" x="54" y="{y + 58:.1f}">pairing tie</text>'
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
    p = f'<p class="intro">{intro}</p>' if intro else ""
    return f'<section id="{section_id}"><h2>{_e(title)}</h2>{p}{body}</section>'


def _tiles(plan: PlanTables) -> str:
    k = plan.kpis
    u = ["supplier_utilization"]
    tiles = [
        (
            "Hours covered",
            _kpi(k, ["coverage"], "pct", "div"),
            f"{_kpi(k, ['hours_covered'], 'int')} of {_kpi(k, ['hours_demanded'], 'int')} "
            "hours demanded",
        ),
        (
            "Demands",
            _kpi(k, ["demands"], "int", "div"),
            f"{_kpi(k, ['demands_met'], 'int')} met · "
            f"{_kpi(k, ['demands_partial'], 'int')} partial · "
            f"{_kpi(k, ['demands_unmet'], 'int')} unmet",
        ),
        (
            "Supplier hours used",
            _kpi(k, [*u, "utilization"], "pct", "div"),
            f"{_kpi(k, [*u, 'hours_used'], 'int')} of {_kpi(k, [*u, 'hours_available'], 'int')} "
            f"hours; {_kpi(k, [*u, 'suppliers_used'], 'int')} of "
            f"{_kpi(k, [*u, 'suppliers'], 'int')} suppliers",
        ),
        (
            "Communities with nothing covered",
            _kpi(k, ["communities_zero_coverage_count"], "int", "div"),
            "communities with demanded hours and none covered",
        ),
        (
            "Objective",
            _kpi(k, ["objective"], "num", "div"),
            f"{_e(k.get('solver_status', ''))}; bound {_kpi(k, ['bound'], 'num')}, "
            f"weighted hours {_kpi(k, ['weighted_hours'], 'num')}",
        ),
        (
            "Travel",
            _kpi(k, ["travel_hour_km"], "num", "div"),
            "hour-km: hours given × km between supplier and community",
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
    ``(supplier, category)`` pairs of :func:`~matcher.eligibility.build_problem`'s arcs
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


def _supply_section(dataset: Dataset, plan: PlanTables) -> str:
    table = skill_supply(dataset, plan)
    rows = []
    for r in table.itertuples(index=False):
        alert = bool(r.bottleneck)
        text = f"{fmt_int(r.hours_covered)} of {fmt_int(r.hours_demanded)} h"
        text += f" · reach {fmt_int(r.reach_hours)} h" + (" ⚠ bottleneck" if alert else "")
        rows.append(
            _Row(
                label=str(r.category),
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
                title=f"{r.category}: {fmt_int(r.hours_demanded)} h demanded, "
                f"{fmt_int(r.hours_covered)} h covered; suppliers with the skill and a tie: "
                f"{fmt_int(r.reach_hours)} h; with the skill anywhere: "
                f"{fmt_int(r.skilled_hours)} h",
            )
        )
    legend = (
        '<div class="legend"><span class="swatch" style="background:'
        f'{_DEMAND_BAR}"></span>hours demanded <span class="swatch" style="background:'
        f'{_COVER_BAR}"></span>hours covered <span class="swatch tick"></span>supply within '
        "reach (suppliers with the skill and a tie to a community asking for it)</div>"
    )
    chart = _hbar_chart("chart-supply", rows, axis="hours", width=1000, text_width=300)
    n = int(table["bottleneck"].sum()) if len(table) else 0
    intro = (
        "Categories sorted by hours left uncovered. A category is a <b>bottleneck</b> when "
        "the suppliers who have the skill and a tie to a community asking for it hold fewer "
        f"hours than are demanded ({n} categor{'y' if n == 1 else 'ies'}): more cadres with "
        "that skill, or new pairings, are needed. Where supply within reach exceeds demand "
        "and hours are still uncovered, the supply is in the wrong places or busy elsewhere. "
        "A cadre with several skills counts in each."
    )
    return _section("supply", "Supply against demand per skill", legend + chart, intro)


def _utilization_section(dataset: Dataset, plan: PlanTables) -> str:
    k = plan.kpis
    u = k.get("supplier_utilization") or {}
    kinds = []
    for kind in ("cadre", "service"):
        avail = u.get(f"{kind}_hours_available")
        if not avail:
            continue
        kinds.append(
            f'<div class="tile small"><div class="tile-title">{kind} hours used</div>'
            f'<div class="tile-value">'
            f"{_kpi(k, ['supplier_utilization', f'{kind}_utilization'], 'pct')}</div>"
            f'<div class="tile-note">'
            f"{_kpi(k, ['supplier_utilization', f'{kind}_hours_used'], 'int')} of "
            f"{_kpi(k, ['supplier_utilization', f'{kind}_hours_available'], 'int')} h</div>"
            f"</div>"
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
    _, unit_names = _names(dataset)
    frame = pd.DataFrame({"available": available})
    frame["used"] = used.reindex(frame.index).fillna(0.0)
    frame = frame[frame["available"] > 0]
    frame["idle"] = frame["available"] - frame["used"]
    frame = frame.sort_values(["idle", "available"], ascending=[False, False], kind="stable")
    rows = []
    for unit_id, r in frame.head(TOP_UNITS).iterrows():
        name = unit_names.get(str(unit_id), str(unit_id))
        share = r["used"] / r["available"]
        rows.append(
            _Row(
                label=short_name(name),
                value=_float(r["used"]),
                back=_float(r["available"]),
                text=f"{fmt_int(r['used'])} of {fmt_int(r['available'])} h ({fmt_pct(share)})",
                fill=_USED_BAR,
                data={
                    "unit-id": unit_id,
                    "hours-used": _int(r["used"]),
                    "hours-available": _int(r["available"]),
                },
                title=f"{name} ({unit_id}): {fmt_int(r['used'])} of {fmt_int(r['available'])} "
                f"hours used, {fmt_int(r['idle'])} idle",
            )
        )
    chart = _hbar_chart("chart-units", rows, axis="hours", width=1000, text_width=220)
    legend = (
        '<div class="legend"><span class="swatch" style="background:'
        f'{_USED_BAR}"></span>hours used <span class="swatch" style="background:{_IDLE_BAR}">'
        "</span>hours available</div>"
    )
    intro = (
        f"The {min(TOP_UNITS, len(frame))} units with the most idle hours (of {len(frame)} "
        "units with suppliers): their cadres and services could take on more if ties or "
        "skills allowed."
    )
    body = f'<div class="tiles" id="utilization-tiles">{"".join(kinds)}</div>{legend}{chart}'
    return _section("utilization", "Supplier utilization", body, intro)


def _unmet_section(dataset: Dataset, plan: PlanTables) -> str:
    k = plan.kpis
    reasons = k.get("reasons") or {}
    rows = [
        _Row(
            label=str(code),
            value=float(n),
            text=fmt_int(n),
            fill=_REASON_BAR,
            data={"reason": code, "demands": n},
            title=f"{code}: {reason_text(str(code))}",
        )
        for code, n in reasons.items()
    ]
    chart = _hbar_chart("chart-reasons", rows, axis="demands not fully met", width=1000)
    explain = "".join(
        f"<li><b>{_e(code)}</b> ({_kpi(k, ['reasons', code], 'int')}): "
        f"{_e(reason_text(code))}</li>"
        for code in reasons
    )
    status = plan.demand_status.copy()
    status["short"] = status["hours"] - status["covered_hours"]
    top = status[status["short"] > 0].sort_values(
        ["short", "priority", "demand_id"], ascending=[False, False, True], kind="stable"
    )
    community_names, _ = _names(dataset)
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
        body_rows.append(
            f'<tr class="unmet-row"{_attrs({"demand-id": did, "short-hours": _int(r.short)})}>'
            f"<td>{_e(did)}</td>"
            f"<td>{_e(community_names.get(str(r.community_id), r.community_id))}</td>"
            f"<td>{_e(r.district)}</td><td>{_e(r.category)}"
            + (f'<div class="desc">{_e(desc)}</div>' if desc and desc != "nan" else "")
            + f'</td><td class="num">{_int(r.priority)}</td>'
            f'<td class="num">{fmt_int(r.hours)}</td>'
            f'<td class="num">{fmt_int(r.covered_hours)}</td>'
            f'<td class="num"><b>{fmt_int(r.short)}</b></td><td>{_e(r.status)}</td>'
            f'<td><span class="reason" title="{_e(reason_text(str(r.reason)))}">'
            f"{_e(r.reason)}</span></td></tr>"
        )
    table = (
        '<table id="table-unmet"><thead><tr><th>demand</th><th>community</th><th>district</th>'
        '<th>category</th><th class="num">priority</th><th class="num">demanded h</th>'
        '<th class="num">covered h</th><th class="num">short h</th><th>status</th>'
        f"<th>reason</th></tr></thead><tbody>{''.join(body_rows)}</tbody></table>"
    )
    n_short = int((status["short"] > 0).sum())
    zero = k.get("communities_zero_coverage") or []
    zero_text = ""
    if zero:
        shown = ", ".join(_e(community_names.get(str(c), c)) for c in zero)
        zero_text = f'<p id="zero-coverage"><b>Communities with nothing covered:</b> {shown}</p>'
    body = (
        f'<ul class="reasons">{explain}</ul>{chart}{zero_text}'
        f"<h3>The largest unmet demands ({min(TOP_UNMET, n_short)} of {n_short} not fully "
        f"met, by hours short)</h3>{table}"
    )
    return _section(
        "unmet",
        "Why demands fall short",
        body,
        "Each demand not fully met gets the first reason that applies, in this order.",
    )


_COMPARE_KPIS: tuple[tuple[tuple[str, ...], str, str, int], ...] = (
    (("coverage",), "coverage of demanded hours", "pct", 1),
    (("hours_covered",), "hours covered", "int", 1),
    (("hours_demanded",), "hours demanded", "int", 0),
    (("demands_met",), "demands met", "int", 1),
    (("demands_partial",), "demands partial", "int", 0),
    (("demands_unmet",), "demands unmet", "int", -1),
    (("communities_zero_coverage_count",), "communities with nothing covered", "int", -1),
    (("supplier_utilization", "utilization"), "supplier hours used", "pct", 1),
    (("supplier_utilization", "suppliers_used"), "suppliers used", "int", 0),
    (("objective",), "objective", "num", 1),
    (("weighted_hours",), "weighted hours", "num", 1),
    (("travel_hour_km",), "travel (hour-km)", "num", -1),
)
"""KPIs of the comparison: path, label, format, and whether more is better (1), worse
(-1) or neither (0), which colours the change."""


def _delta(a: Any, b: Any, fmt: str, better: int = 1) -> tuple[str, str]:
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return "", "n/a"
    d = float(a) - float(b)
    cls = "same" if d == 0 or better == 0 else "better" if d * better > 0 else "worse"
    if fmt == "pct":
        return cls, f"{100 * d:+.1f} pp"
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


def _compare_section(dataset: Dataset, this: PlanTables, other: PlanTables) -> str:
    rows = []
    for path, label, fmt, better in _COMPARE_KPIS:
        a, b = _kpi_value(this.kpis, path), _kpi_value(other.kpis, path)
        cls, d = _delta(a, b, fmt, better)

        def fmt_value(v: Any, fmt: str = fmt) -> str:
            return _FORMATS[fmt](v) if v is not None else "n/a"

        rows.append(
            f'<tr class="compare-kpi" data-compare-kpi="{_e(".".join(path))}" '
            f"data-this='{_e(json.dumps(a))}' data-other='{_e(json.dumps(b))}'>"
            f'<td>{_e(label)}</td><td class="num">{_e(fmt_value(a))}</td>'
            f'<td class="num">{_e(fmt_value(b))}</td>'
            f'<td class="num delta {cls}">{_e(d)}</td></tr>'
        )
    districts = sorted(
        set(this.kpis.get("coverage_by_district") or {})
        | set(other.kpis.get("coverage_by_district") or {})
    )
    for d in districts:
        path = ("coverage_by_district", d, "coverage")
        a, b = _kpi_value(this.kpis, path), _kpi_value(other.kpis, path)
        cls, delta = _delta(a, b, "pct")
        rows.append(
            f'<tr class="compare-kpi" data-compare-kpi="{_e(".".join(path))}" '
            f"data-this='{_e(json.dumps(a))}' data-other='{_e(json.dumps(b))}'>"
            f'<td>coverage in {_e(d)}</td><td class="num">{fmt_pct(a)}</td>'
            f'<td class="num">{fmt_pct(b)}</td><td class="num delta {cls}">{_e(delta)}</td></tr>'
        )
    kpi_table = (
        '<table id="table-compare-kpis"><thead><tr><th>KPI</th>'
        f'<th class="num">{_e(this.label)} (this)</th><th class="num">{_e(other.label)}</th>'
        f'<th class="num">change</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
    changes = compare_tables(this, other)
    names, unit_names = _names(dataset)

    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "—"
        if isinstance(v, float) and v.is_integer():
            return fmt_int(v)
        return _e(v)

    demand_rows = "".join(
        f'<tr class="changed-demand" data-demand-id="{_e(r.demand_id)}"><td>{_e(r.demand_id)}</td>'
        f"<td>{_e(names.get(str(r.community_id), r.community_id))}</td><td>{cell(r.category)}</td>"
        f'<td class="num">{cell(r.hours)}</td><td class="num">{cell(r.covered_other)}</td>'
        f'<td class="num">{cell(r.covered_this)}</td><td class="nowrap">{cell(r.status_other)} → '
        f"{cell(r.status_this)}</td></tr>"
        for r in changes["demands"].head(TOP_CHANGES).itertuples(index=False)
    )
    n_status = int((changes["demands"]["status_this"] != changes["demands"]["status_other"]).sum())

    def assignment_rows(frame: pd.DataFrame, cls: str) -> str:
        return "".join(
            f'<tr class="{cls}"><td>{_e(r.supplier_kind)} {_e(r.supplier_id)}</td>'
            f"<td>{_e(unit_names.get(str(r.unit_id), r.unit_id))}</td><td>{_e(r.demand_id)}</td>"
            f"<td>{_e(names.get(str(r.community_id), r.community_id))}</td>"
            f'<td>{_e(r.category)}</td><td class="num">{cell(r.hours)}</td></tr>'
            for r in frame.head(TOP_CHANGES).itertuples(index=False)
        )

    head = (
        "<thead><tr><th>supplier</th><th>unit</th><th>demand</th><th>community</th>"
        '<th>category</th><th class="num">hours</th></tr></thead>'
    )
    added, removed = changes["added"], changes["removed"]
    counts = (
        f'<p id="compare-counts" data-demands-changed="{len(changes["demands"])}" '
        f'data-status-changed="{n_status}" data-added="{len(added)}" '
        f'data-removed="{len(removed)}" data-hours-changed="{len(changes["changed"])}">'
        f"<b>{fmt_int(len(changes['demands']))}</b> demands changed coverage "
        f"({fmt_int(n_status)} changed status); <b>{fmt_int(len(added))}</b> assignments "
        f"added (+{fmt_int(added['hours'].sum())} h), <b>{fmt_int(len(removed))}</b> removed "
        f"(−{fmt_int(removed['hours'].sum())} h), {fmt_int(len(changes['changed']))} with "
        "other hours.</p>"
    )
    shown = f"(the first {TOP_CHANGES})"
    body = (
        kpi_table
        + counts
        + "<h3>Demands whose coverage changed "
        + f"{shown if len(changes['demands']) > TOP_CHANGES else ''}</h3>"
        + '<table id="table-compare-demands"><thead><tr><th>demand</th><th>community</th>'
        '<th>category</th><th class="num">demanded h</th>'
        f'<th class="num">covered in {_e(other.label)}</th>'
        f'<th class="num">covered in {_e(this.label)}</th><th>status</th></tr></thead>'
        f"<tbody>{demand_rows}</tbody></table>"
        + f"<h3>Assignments added {shown if len(added) > TOP_CHANGES else ''}</h3>"
        + f'<table id="table-compare-added">{head}<tbody>'
        f"{assignment_rows(added, 'added')}</tbody></table>"
        + f"<h3>Assignments removed {shown if len(removed) > TOP_CHANGES else ''}</h3>"
        + f'<table id="table-compare-removed">{head}<tbody>'
        f"{assignment_rows(removed, 'removed')}</tbody></table>"
    )
    intro = (
        f"This plan (<b>{_e(this.label)}</b>) against <b>{_e(other.label)}</b>; changes are "
        f"this minus {_e(other.label)}, green where this plan is better, red where worse."
    )
    return _section("compare", f"Comparison with {other.label}", body, intro)


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
th{background:#f5f7fa;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}
.desc{color:#7b8794;font-size:12px}
.reason{border-bottom:1px dotted #7b8794;cursor:help}
.delta.better{color:#1b7a3e}.delta.worse{color:#b42318}\n.nowrap{white-space:nowrap}
ul.reasons{margin:4px 0 10px;padding-left:20px;color:#323f4b}
footer{max-width:1100px;margin:0 auto;padding:0 16px 24px;color:#616e7c;font-size:12px}
code{font-size:12px}
""".replace("FONTS", FONT_STACK)

_SCRIPT = """
(function () {
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
    label.textContent = km + ' km';
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


def build_report(
    plan: Plan | PlanTables | str | Path,
    dataset: Dataset | str | Path | None = None,
    *,
    other: Plan | PlanTables | str | Path | None = None,
    title: str | None = None,
) -> str:
    """One self-contained HTML page presenting a plan (and, optionally, a comparison).

    Parameters
    ----------
    plan
        A plan folder, a :class:`~matcher.plan.Plan`, or :class:`PlanTables`.
    dataset
        The plan's dataset or its folder; default the folder named in the plan's
        ``run.json``. Its content hash must be the plan's.
    other
        A second plan to compare with (its dataset is not needed).
    title
        The page's title (default: "Co-construction plan: <label>").

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
    """
    this = _as_tables(plan, "plan")
    ds = plan_dataset(this, dataset)
    that = None if other is None else _as_tables(other, "other plan")
    if that is not None and that.label == this.label:
        that = dataclasses.replace(that, label=f"{that.label} (other)")
    k = this.kpis
    coverage = community_coverage(ds.communities, this.demand_status)
    heading = title or f"Co-construction plan: {this.label}"
    status = k.get("solver_status", "")
    gap = k.get("gap")
    proof = f"{_e(status)} (gap {gap:.1e})" if isinstance(gap, int | float) else _e(status or "n/a")
    n_comm = len(ds.communities)
    sub = (
        f"Dataset <b>{_e(Path(ds.source).name or ds.source)}</b>: {n_comm:,} communities, "
        f"{len(ds.units):,} units, {len(ds.cadres):,} cadres, {len(ds.demands):,} demands · "
        f"solver {_e(k.get('solver', ''))}: {proof}"
    )
    map_body = (
        '<div class="controls"><label><input type="checkbox" id="toggle-ties"> '
        f"show pairing ties ({len(ds.pairings):,} unit–community pairings, dual "
        "registration)</label></div>" + _map_svg(ds, coverage)
    )
    map_intro = (
        "Each circle is a community at its coordinates: its colour is the share of its "
        "demanded hours the plan covers, its area the hours demanded. Hover over a circle "
        "for its figures; zoom to a district with the buttons."
    )
    district_rows = _coverage_rows(k, "coverage_by_district", "district")
    category_rows = sorted(
        _coverage_rows(k, "coverage_by_category", "category"), key=lambda r: (r.value, r.label)
    )
    districts = _section(
        "by-district",
        "Coverage by district",
        _hbar_chart(
            "chart-districts",
            district_rows,
            axis="share of demanded hours covered",
            pct=True,
            text_width=170,
        ),
    )
    categories = _section(
        "by-category",
        "Coverage by category",
        _hbar_chart(
            "chart-categories",
            category_rows,
            axis="share of demanded hours covered",
            pct=True,
            text_width=170,
        ),
        "Lowest coverage first.",
    )
    sections = [
        _section("kpis", "The plan at a glance", _tiles(this)),
        _section("map-section", "Where the plan reaches", map_body, map_intro),
        f'<div class="grid2">{districts}{categories}</div>',
        _supply_section(ds, this),
        _utilization_section(ds, this),
        _unmet_section(ds, this),
    ]
    if that is not None:
        sections.append(_compare_section(ds, this, that))
    params = ", ".join(f"{_e(n)}={_e(v)}" for n, v in sorted(this.params.items()))
    footer = (
        f"<footer>Plan <b>{_e(this.label)}</b> of dataset <code>{_e(ds.source)}</code> "
        f"(content hash <code>{_e(ds.content_hash[:16])}</code>). Parameters: "
        f"{params or 'defaults'}. Hours are whole service hours; coverage is covered over "
        "demanded hours. Made by the co-construction planner (<code>matcher report</code>)."
        "</footer>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(heading)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{_e(heading)}</h1><div class="sub">{sub}</div></header>'
        f"<main>{''.join(sections)}</main>{footer}"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


def write_report(html_text: str, out: str | Path) -> Path:
    """Write a report (UTF-8), making the folder if needed."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_text, encoding="utf-8")
    return path
