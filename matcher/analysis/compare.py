"""Compare plans: a KPI table (values and deltas against the first plan) and a plan diff.

The diff of each plan against the first lists the assignments added, removed and changed
in hours (keyed by supplier kind, supplier and demand) and the demands whose status
changed. Plans are :class:`~matcher.plans.planner.Plan` objects or folders written by
:meth:`Plan.write` (``matcher plan``, ``matcher scenario run``).

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
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.csvsafe import restore_formulas
from matcher.errors import MatcherError
from matcher.i18n import N_, SOURCE_LANG, Text, translator
from matcher.inputs.io import write_frame_csv
from matcher.plans.planner import Plan

__all__ = [
    "ASSIGNMENT_DIFF_COLUMNS",
    "DEMAND_DIFF_COLUMNS",
    "KEY",
    "KPIS",
    "CompareError",
    "Comparison",
    "PlanRecord",
    "compare_plans",
    "diff_plans",
    "kpi_values",
    "read_plan",
]

KEY = ["supplier_kind", "supplier_id", "demand_id"]

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

ASSIGNMENT_DIFF_COLUMNS = (
    "plan",
    "change",
    "supplier_kind",
    "supplier_id",
    "unit_id",
    "demand_id",
    "community_id",
    "category",
    "hours_before",
    "hours_after",
)
DEMAND_DIFF_COLUMNS = (
    "plan",
    "demand_id",
    "community_id",
    "district",
    "category",
    "status_before",
    "status_after",
    "covered_before",
    "covered_after",
    "reason_after",
)
_PERCENT = ("coverage", "utilization")


class CompareError(MatcherError, ValueError):
    """A plan folder that cannot be read for a comparison."""


@dataclass(frozen=True)
class PlanRecord:
    """What a comparison reads of a plan: its name, KPIs and two tables."""

    name: str
    kpis: Mapping[str, Any]
    assignments: pd.DataFrame
    demand_status: pd.DataFrame


def _shown(text: str) -> int:
    """The columns ``text`` takes on a terminal: two for a wide (Chinese) character."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def read_plan(path: str | Path, name: str | None = None) -> PlanRecord:
    """Read a plan folder written by :meth:`Plan.write`.

    Raises
    ------
    CompareError
        When ``kpis.json``, ``assignments.csv`` or ``demand_status.csv`` is missing or
        unreadable.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise CompareError(Text(N_("plan folder {folder}: no such folder"), folder=str(folder)))
    try:
        kpis = json.loads((folder / "kpis.json").read_text(encoding="utf-8"))
        tables = {
            # Written formula-safe by Plan.write (matcher.csvsafe): undone, so ids match.
            n: restore_formulas(pd.read_csv(folder / f"{n}.csv", dtype=str, keep_default_na=False))
            for n in ("assignments", "demand_status")
        }
    except FileNotFoundError as exc:
        raise CompareError(
            Text(
                N_("plan folder {folder}: no {file} (expected a folder written by matcher plan)"),
                folder=str(folder),
                file=Path(str(exc.filename)).name,
            )
        ) from None
    except (OSError, ValueError) as exc:
        raise CompareError(
            Text(
                N_("plan folder {folder}: cannot be read ({error})"),
                folder=str(folder),
                error=str(exc),
            )
        ) from None
    a, s = tables["assignments"], tables["demand_status"]
    for file, frame, cols in (
        ("assignments.csv", a, ("supplier_kind", "supplier_id", "demand_id", "hours")),
        ("demand_status.csv", s, ("demand_id", "status", "covered_hours")),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise CompareError(
                Text(
                    N_("plan folder {folder}, {file}: no column '{column}'"),
                    folder=str(folder),
                    file=file,
                    column=missing[0],
                )
            )
    a["hours"] = pd.to_numeric(a["hours"], errors="coerce").fillna(0).astype(np.int64)
    s["covered_hours"] = (
        pd.to_numeric(s["covered_hours"], errors="coerce").fillna(0).astype(np.int64)
    )
    return PlanRecord(name or folder.name, kpis, a, s)


def _record(item: Plan | PlanRecord | str | Path, name: str | None) -> PlanRecord:
    if isinstance(item, PlanRecord):
        return (
            item
            if name is None
            else PlanRecord(name, item.kpis, item.assignments, item.demand_status)
        )
    if isinstance(item, Plan):
        return PlanRecord(name or "plan", item.kpis, item.assignments, item.demand_status)
    return read_plan(item, name)


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


def diff_plans(before: PlanRecord, after: PlanRecord) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assignments added, removed or changed in hours, and demands whose status changed.

    Returns
    -------
    (assignments, demands)
        Frames with :data:`ASSIGNMENT_DIFF_COLUMNS` and :data:`DEMAND_DIFF_COLUMNS`
        (``plan`` is ``after.name``), sorted by demand, then supplier.
    """
    info = ["unit_id", "community_id", "category"]

    def side(frame: pd.DataFrame) -> pd.DataFrame:
        f = frame.copy()
        for c in info:
            if c not in f:
                f[c] = ""
        f = f.astype({c: str for c in [*KEY, *info]})
        grouped = f.groupby(KEY, sort=False, as_index=False).agg(
            {"hours": "sum", **{c: "first" for c in info}}
        )
        return grouped[grouped["hours"] > 0]

    a, b = side(before.assignments), side(after.assignments)
    m = a.merge(b, on=KEY, how="outer", suffixes=("_before", "_after"))
    h0 = m["hours_before"].fillna(0).astype(np.int64)
    h1 = m["hours_after"].fillna(0).astype(np.int64)
    change = np.where(h0 == 0, "added", np.where(h1 == 0, "removed", "changed"))
    out = pd.DataFrame({"plan": after.name, "change": change})
    for c in KEY:
        out[c] = m[c].to_numpy()
    for c in info:
        out[c] = m[f"{c}_after"].fillna(m[f"{c}_before"]).to_numpy()
    out["hours_before"], out["hours_after"] = h0.to_numpy(), h1.to_numpy()
    out = out[(h0 != h1).to_numpy()]
    out = out.sort_values(["demand_id", "supplier_kind", "supplier_id"], kind="stable")
    assignments = out[list(ASSIGNMENT_DIFF_COLUMNS)].reset_index(drop=True)

    cols = [
        "demand_id",
        "community_id",
        "district",
        "category",
        "status",
        "covered_hours",
        "reason",
    ]

    def status(frame: pd.DataFrame) -> pd.DataFrame:
        f = frame.copy()
        for c in cols:
            if c not in f:
                f[c] = ""
        return f[cols].astype({"demand_id": str})

    s = status(before.demand_status).merge(
        status(after.demand_status), on="demand_id", how="outer", suffixes=("_before", "_after")
    )
    moved = s["status_before"].fillna("absent") != s["status_after"].fillna("absent")
    s = s[moved.to_numpy()]
    demands = pd.DataFrame(
        {
            "plan": after.name,
            "demand_id": s["demand_id"].to_numpy(),
            "community_id": s["community_id_after"].fillna(s["community_id_before"]).to_numpy(),
            "district": s["district_after"].fillna(s["district_before"]).to_numpy(),
            "category": s["category_after"].fillna(s["category_before"]).to_numpy(),
            "status_before": s["status_before"].fillna("absent").to_numpy(),
            "status_after": s["status_after"].fillna("absent").to_numpy(),
            "covered_before": s["covered_hours_before"].fillna(0).astype(np.int64).to_numpy(),
            "covered_after": s["covered_hours_after"].fillna(0).astype(np.int64).to_numpy(),
            "reason_after": s["reason_after"].fillna("").to_numpy(),
        },
        columns=list(DEMAND_DIFF_COLUMNS),
    )
    return assignments, demands.sort_values("demand_id", kind="stable").reset_index(drop=True)


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
        Every plan's assignment changes against the first (:data:`ASSIGNMENT_DIFF_COLUMNS`).
    demands
        Every plan's demand status changes against the first (:data:`DEMAND_DIFF_COLUMNS`).
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
            "diff_demands_status_changed": len(d),
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

    def to_text(self, max_rows: int = 20, lang: str = SOURCE_LANG) -> str:
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
        widths = [max(_shown(r[j]) for r in [header, *lines]) for j in range(len(header))]

        def row(cells: list[str]) -> str:
            # Padded by the columns a terminal shows (a Chinese character takes two).
            first = cells[0] + " " * (widths[0] - _shown(cells[0]))
            rest = [" " * (w - _shown(c)) + c for c, w in zip(cells[1:], widths[1:], strict=True)]
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
        paths[2].write_text(self.to_text(), encoding="utf-8")
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
    plans: Sequence[Plan | PlanRecord | str | Path], names: Sequence[str] | None = None
) -> Comparison:
    """Compare plans against the first one.

    Parameters
    ----------
    plans
        ``Plan`` objects, :class:`PlanRecord`, or plan folders.
    names
        Their names (default: a folder's name, ``plan``/``plan-2``... for objects).

    Raises
    ------
    CompareError
        An unreadable folder, no plans, or two plans with the same name.
    """
    if not plans:
        raise CompareError(Text(N_("no plans to compare")))
    records = [_record(p, None if names is None else names[i]) for i, p in enumerate(plans)]
    seen: dict[str, int] = {}
    unique = []
    for r in records:
        count = seen.get(r.name, 0)
        seen[r.name] = count + 1
        if count:
            if names is not None:
                raise CompareError(
                    Text(N_("two plans are named {name}; names must differ"), name=repr(r.name))
                )
            r = PlanRecord(f"{r.name}-{count + 1}", r.kpis, r.assignments, r.demand_status)
        unique.append(r)
    records = unique
    rows = [kpi_values(r.kpis) for r in records]
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    kpis = pd.DataFrame(
        [[row.get(k) for k in columns] for row in rows],
        index=[r.name for r in records],
        columns=columns,
        dtype=object,
    )
    deltas = pd.DataFrame(index=kpis.index, columns=columns, dtype=object)
    for k in columns:
        if _is_number(kpis[k]):
            values = pd.to_numeric(kpis[k], errors="coerce").astype(float)
            deltas[k] = values - values.iloc[0]
    diffs = [diff_plans(records[0], r) for r in records]
    assignments = pd.concat([d[0] for d in diffs], ignore_index=True)
    demands = pd.concat([d[1] for d in diffs], ignore_index=True)
    return Comparison(tuple(r.name for r in records), kpis, deltas, assignments, demands)
