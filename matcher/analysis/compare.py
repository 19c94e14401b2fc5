"""Compare plans: a KPI table (values and deltas against the first plan) and a plan diff.

The diff of each plan against the first lists the assignments added, removed and changed
in hours (keyed by supplier kind, supplier and demand) and the demands whose status or
covered hours changed (:func:`matcher.plans.diff.diff_plans`). Plans are
:class:`~matcher.plans.result.Plan` objects or folders written by :meth:`Plan.write`
(``matcher plan``, ``matcher scenario run``).

Examples
--------
>>> from matcher.plans.planner import plan
>>> a = plan("tests/data/example/dataset")
>>> c = compare_plans([a, a], names=["base", "same"])
>>> len(c.assignments), len(c.demands), float(c.deltas.loc["same", "objective"])
(0, 0, 0.0)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.errors import CompareError
from matcher.i18n import N_, SOURCE_LANG, Text, display_width, pad_display, translator
from matcher.inputs.io import write_frame_csv
from matcher.plans.diff import diff_plans
from matcher.plans.io import as_plan
from matcher.plans.result import Plan

__all__ = ["KPIS", "Comparison", "compare_plans", "kpi_values"]

KPIS: tuple[str, ...] = (
    "objective",
    "weighted_hours",
    "travel_hour_km",
    "hours_demanded",
    "hours_covered",
    "coverage",
    "demands",
    "demands_met",
    "demands_partial",
    "demands_unmet",
    "hours_available",
    "hours_used",
    "utilization",
    "suppliers",
    "suppliers_used",
    "communities_zero_coverage_count",
    "candidate_arcs",
    "solver_status",
    "gap",
)
"""The KPIs every comparison shows, in order; churn, re-planning figures and coverage by
district follow when some plan has them."""

_PERCENT = ("coverage", "utilization")


def kpi_values(kpis: Mapping[str, Any]) -> dict[str, Any]:
    """The flat KPI row of one plan (see :data:`KPIS`)."""
    util = kpis.get("supplier_utilization", {})
    flat = {
        **kpis,
        **{
            k: util.get(k)
            for k in ("hours_available", "hours_used", "utilization", "suppliers", "suppliers_used")
        },
    }
    row = {k: flat.get(k) for k in KPIS}
    for group in ("churn", "replan"):
        for k, v in (kpis.get(group) or {}).items():
            row[f"{group}.{k}"] = v
    for district, v in sorted((kpis.get("coverage_by_district") or {}).items()):
        row[f"coverage.{district}"] = v.get("coverage")
    return row


@dataclass(frozen=True)
class Comparison:
    """KPIs of several plans, their deltas against the first, and each plan's diff.

    Attributes
    ----------
    names
        The plans' names, the first being the reference.
    kpis
        One row per plan (index: name), one column per KPI.
    deltas
        ``kpis`` minus the first plan's, for numeric KPIs (NaN where not numeric).
    assignments
        Every plan's assignment changes against the first
        (:data:`~matcher.plans.diff.ASSIGNMENT_DIFF_COLUMNS`).
    demands
        Every plan's demand changes against the first
        (:data:`~matcher.plans.diff.DEMAND_DIFF_COLUMNS`).
    """

    names: tuple[str, ...]
    kpis: pd.DataFrame
    deltas: pd.DataFrame
    assignments: pd.DataFrame
    demands: pd.DataFrame

    def table(self) -> pd.DataFrame:
        """The KPI table as written to CSV: per plan, each KPI and its delta, plus the
        diff's counts."""
        rows = []
        for name in self.names:
            row: dict[str, Any] = {"plan": name}
            for k in self.kpis.columns:
                row[k] = _plain(self.kpis.at[name, k])
                d = self.deltas.at[name, k]
                if _is_number(self.kpis[k]):
                    row[f"delta_{k}"] = _plain(d)
            counts = self._counts(name)
            row.update(counts)
            rows.append(row)
        return pd.DataFrame(rows)

    def _counts(self, name: str) -> dict[str, int]:
        a = self.assignments[self.assignments["plan"] == name]
        d = self.demands[self.demands["plan"] == name]
        return {
            "diff_assignments_added": int((a["change"] == "added").sum()),
            "diff_assignments_removed": int((a["change"] == "removed").sum()),
            "diff_assignments_changed": int((a["change"] == "changed").sum()),
            "diff_demands_status_changed": int((d["status_before"] != d["status_after"]).sum()),
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole comparison as JSON-ready data."""
        return {
            "plans": list(self.names),
            "reference": self.names[0] if self.names else None,
            "kpis": {
                n: {k: _plain(self.kpis.at[n, k]) for k in self.kpis.columns} for n in self.names
            },
            "deltas": {
                n: {
                    k: _plain(self.deltas.at[n, k])
                    for k in self.deltas.columns
                    if _is_number(self.kpis[k])
                }
                for n in self.names
            },
            "diff_counts": {n: self._counts(n) for n in self.names},
            "assignment_changes": [
                {k: _plain(v) for k, v in r.items()} for r in self.assignments.to_dict("records")
            ],
            "demand_changes": [
                {k: _plain(v) for k, v in r.items()} for r in self.demands.to_dict("records")
            ],
        }

    def text(self, max_rows: int = 20, lang: str = SOURCE_LANG) -> str:
        """A table for people: KPIs by plan with deltas, then each plan's diff; in ``lang``
        (indicators, ids and statuses keep their codes, as the tables have them)."""
        _ = translator(lang)
        header = [_("KPI"), *self.names]
        lines: list[list[str]] = []
        for k in self.kpis.columns:
            cells = [k]
            for i, n in enumerate(self.names):
                v = self.kpis.at[n, k]
                text = _fmt(k, v)
                if i > 0 and _is_number(self.kpis[k]):
                    d = self.deltas.at[n, k]
                    if d is not None and not (isinstance(d, float) and math.isnan(d)):
                        text += f" ({_fmt_delta(k, d)})"
                cells.append(text)
            lines.append(cells)
        widths = [max(display_width(r[j]) for r in [header, *lines]) for j in range(len(header))]

        def row(cells: list[str]) -> str:
            # Padded by the columns a terminal shows (a Chinese character takes two).
            first = pad_display(cells[0], widths[0])
            rest = [
                " " * (w - display_width(c)) + c for c, w in zip(cells[1:], widths[1:], strict=True)
            ]
            return "  ".join([first, *rest]).rstrip()

        out = [
            _("Comparison against {name}").format(name=self.names[0])
            if self.names
            else _("No plans"),
            row(header),
            row(["-" * w for w in widths]),
        ]
        out += [row(r) for r in lines]
        for n in self.names[1:]:
            c = self._counts(n)
            out.append("")
            out.append(
                _(
                    "{name}: assignments {added} added, {removed} removed, {changed} changed "
                    "in hours; {demands} demands changed status"
                ).format(
                    name=n,
                    added=c["diff_assignments_added"],
                    removed=c["diff_assignments_removed"],
                    changed=c["diff_assignments_changed"],
                    demands=c["diff_demands_status_changed"],
                )
            )
            changes = self.demands.loc[self.demands["plan"] == n]
            for r in changes.head(max_rows).itertuples(index=False):
                out.append(
                    f"  {r.demand_id} {r.community_id} {r.category}: {r.status_before} -> "
                    f"{r.status_after} ({r.covered_before} -> {r.covered_after} h)"
                )
            if len(changes) > max_rows:
                out.append(_("  ... and {n} more").format(n=len(changes) - max_rows))
        return "\n".join(out) + "\n"

    def write(self, out_dir: str | Path, stem: str = "comparison") -> list[Path]:
        """Write ``<stem>.csv`` (the KPI table), ``<stem>.json``, ``<stem>.txt``,
        ``<stem>_assignments.csv`` and ``<stem>_demands.csv`` into a folder."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [
            out / f"{stem}{s}"
            for s in (".csv", ".json", ".txt", "_assignments.csv", "_demands.csv")
        ]
        write_frame_csv(self.table(), paths[0])
        paths[1].write_text(
            json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
            encoding="utf-8",
        )
        paths[2].write_text(self.text(), encoding="utf-8")
        write_frame_csv(self.assignments, paths[3])
        write_frame_csv(self.demands, paths[4])
        return paths


def _is_number(series: pd.Series) -> bool:
    values = [
        v for v in series.tolist() if v is not None and not (isinstance(v, float) and math.isnan(v))
    ]
    return bool(values) and all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        for v in values
    )


def _plain(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating | float):
        f = float(v)
        return None if math.isnan(f) else round(f, 6)
    if v is pd.NA:
        return None
    return v


def _fmt(key: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool | str):
        return str(v)
    if key.split(".")[0] in _PERCENT or key.endswith(_PERCENT):
        return f"{100 * float(v):.1f}%"
    if key == "gap":
        return f"{float(v):.1e}"
    if isinstance(v, int | np.integer) or (float(v).is_integer() and abs(float(v)) > 100):
        return f"{int(v):,}"
    return f"{float(v):,.2f}"


def _fmt_delta(key: str, d: Any) -> str:
    if key.split(".")[0] in _PERCENT or key.endswith(_PERCENT):
        return f"{100 * float(d):+.1f} pp"
    if key == "gap":
        return f"{float(d):+.1e}"
    if float(d).is_integer():
        return f"{int(d):+,}"
    return f"{float(d):+,.2f}"


def compare_plans(
    plans: Sequence[Plan | str | Path], names: Sequence[str] | None = None
) -> Comparison:
    """Compare plans against the first one.

    Parameters
    ----------
    plans
        :class:`~matcher.plans.result.Plan` objects or plan folders.
    names
        Their names (default: a plan's label, a folder's name, ``plan``/``plan-2``...).

    Raises
    ------
    CompareError
        No plans, or two plans given the same name.
    PlanFolderError
        A folder that is not a readable plan (:func:`matcher.plans.io.read_plan`).
    """
    if not plans:
        raise CompareError(Text(N_("no plans to compare")))
    named = [as_plan(p, None if names is None else names[i]) for i, p in enumerate(plans)]
    seen: dict[str, int] = {}
    unique = []
    for p in named:
        label = p.label or "plan"
        count = seen.get(label, 0)
        seen[label] = count + 1
        if count:
            if names is not None:
                raise CompareError(
                    Text(N_("two plans are named {name}; names must differ"), name=repr(label))
                )
            label = f"{label}-{count + 1}"
        unique.append(replace(p, label=label))
    rows = [kpi_values(p.kpis) for p in unique]
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    kpis = pd.DataFrame(
        [[row.get(k) for k in columns] for row in rows],
        index=[p.label for p in unique],
        columns=columns,
        dtype=object,
    )
    deltas = pd.DataFrame(index=kpis.index, columns=columns, dtype=object)
    for k in columns:
        if _is_number(kpis[k]):
            values = pd.to_numeric(kpis[k], errors="coerce").astype(float)
            deltas[k] = values - values.iloc[0]
    diffs = [diff_plans(unique[0], p) for p in unique]
    assignments = pd.concat([d.assignments for d in diffs], ignore_index=True)
    demands = pd.concat([d.demands for d in diffs], ignore_index=True)
    return Comparison(tuple(p.label for p in unique), kpis, deltas, assignments, demands)
