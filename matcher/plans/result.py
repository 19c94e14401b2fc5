"""``Plan``: what planning gives, and what every face of a plan reads.

A plan made in this process (:func:`matcher.plan`), read from a folder
(:func:`matcher.plans.io.read_plan`) or rebuilt from the service's store is the same
type: the tables of :mod:`matcher.plans.tables`, the KPIs, the parameters and the
solver's proof (status, objective, bound, gap).

>>> import matcher
>>> p = matcher.plan("tests/data/example/dataset")
>>> p.status, p.assignments.columns[0], p.kpis["hours_covered"]
('optimal', 'supplier_kind', 40)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.i18n import SOURCE_LANG
from matcher.inputs.io import write_frame_csv
from matcher.params import PlanParams
from matcher.plans.tables import (
    ASSIGNMENTS,
    DEMAND_STATUS,
    FUNDING,
    KPIS_FILE,
    LEADS,
    PLAN_TABLES,
    RUN_FILE,
    PlanTable,
    empty_table,
)
from matcher.solvers.flow import FlowResult
from matcher.solvers.outcomes import ColumnResult, Duals

__all__ = ["Plan", "plan_json", "solver_from_kpis"]


@dataclass(frozen=True)
class Plan:
    """An optimal plan and everything needed to read, check and present it.

    Attributes
    ----------
    assignments
        Who gives how many hours to which demand, through which tie
        (:data:`~matcher.plans.tables.ASSIGNMENTS`).
    demand_status
        Every demand with its covered hours, status (met, partial, unmet) and reason.
    kpis
        The spec's KPIs plus utilization and zero-coverage communities (JSON-ready).
    params
        The parameters the plan was made with.
    solver
        The solver's result: status, objective, bound, gap, wall seconds. A plan read
        back from a folder or a store has the figures but not the flow on each arc
        (``solver.flow`` is empty): the tables hold it.
    timings
        Wall seconds of each stage (``build``, ``solve``, ``tables``).
    dataset_source, dataset_hash
        Where the dataset came from and its content hash.
    funding
        Which funder gives how many yuan to which demand (empty without the funds rule).
    leads
        The lead unit of each demand in ``lead_options.csv`` (empty without it).
    label
        The plan's name where several are shown (a folder's name, a run's id); ``""``
        for a plan not named, which the report and comparisons call "plan".
    """

    assignments: pd.DataFrame
    demand_status: pd.DataFrame
    kpis: dict[str, Any]
    params: PlanParams
    solver: FlowResult = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    dataset_source: str = ""
    dataset_hash: str = ""
    funding: pd.DataFrame = field(default_factory=lambda: empty_table(FUNDING))
    leads: pd.DataFrame = field(default_factory=lambda: empty_table(LEADS))
    label: str = ""

    @classmethod
    def from_tables(
        cls,
        tables: Mapping[str, pd.DataFrame],
        kpis: Mapping[str, Any],
        run: Mapping[str, Any] | None = None,
        label: str = "",
    ) -> Plan:
        """A plan from its tables, KPIs and ``run.json``'s record, as a folder or a store
        keeps them.

        Parameters
        ----------
        tables
            Frames by table name (``assignments``, ``demand_status``, and ``funding`` and
            ``leads`` when there); each keeps the columns of its
            :class:`~matcher.plans.tables.PlanTable`, in order.
        kpis
            ``kpis.json``; the solver's figures are read from it (as it rounds them).
        run
            ``run.json``: ``dataset``, ``dataset_hash``, ``params``, ``timings``.
        label
            The plan's name where several are shown.

        Examples
        --------
        >>> import matcher
        >>> p = matcher.plan("tests/data/example/dataset")
        >>> q = Plan.from_tables(p.tables(), p.kpis, p.run_record(), label="again")
        >>> q.label, q.status, q.objective == p.kpis["objective"], q.params == p.params
        ('again', 'optimal', True, True)
        """
        run = run or {}

        def table(spec: PlanTable) -> pd.DataFrame:
            frame = tables.get(spec.name)
            return empty_table(spec) if frame is None else frame[list(spec.columns)]

        return cls(
            assignments=table(ASSIGNMENTS),
            demand_status=table(DEMAND_STATUS),
            funding=table(FUNDING),
            leads=table(LEADS),
            kpis=dict(kpis),
            params=PlanParams.from_mapping(run.get("params") or {}),
            solver=solver_from_kpis(kpis),
            timings={str(k): float(v) for k, v in (run.get("timings") or {}).items()},
            dataset_source=str(run.get("dataset") or ""),
            dataset_hash=str(run.get("dataset_hash") or ""),
            label=label,
        )

    @property
    def objective(self) -> float:
        """The plan's objective value."""
        return self.solver.objective

    @property
    def duals(self) -> Duals | None:
        """The LP duals of the plan's suppliers and demands (what an hour more of each
        adds at the margin), when the column solver made it in this process (``None``
        otherwise): ``plan(..., warm_start=this)`` starts from them."""
        return self.solver.duals if isinstance(self.solver, ColumnResult) else None

    @property
    def status(self) -> str:
        """The solver's status (``"optimal"`` when proven)."""
        return self.solver.status

    def tables(self) -> dict[str, pd.DataFrame]:
        """The plan's tables by name, in :data:`~matcher.plans.tables.PLAN_TABLES` order."""
        return {spec.name: getattr(self, spec.name) for spec in PLAN_TABLES}

    def run_record(self) -> dict[str, Any]:
        """What ``run.json`` records: the dataset's source and hash, the parameters and
        the stage timings."""
        return {
            "dataset": self.dataset_source,
            "dataset_hash": self.dataset_hash,
            "params": self.params.to_dict(),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write the plan's tables, ``kpis.json`` and ``run.json`` into a folder.

        Tables: ``assignments.csv``, ``demand_status.csv``, ``funding.csv`` and
        ``leads.csv`` (the last two with only a header when their rule is off), text
        cells formula-safe (:mod:`matcher.csvsafe`). ``run.json`` records the parameters,
        the dataset's hash and stage timings, so a plan folder says how it was made.
        :func:`matcher.plans.io.read_plan` reads the folder back.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, frame in self.tables().items():
            path = out / f"{name}.csv"
            write_frame_csv(frame, path)
            paths.append(path)
        for name, data in ((KPIS_FILE, self.kpis), (RUN_FILE, self.run_record())):
            path = out / name
            path.write_text(plan_json(data), encoding="utf-8")
            paths.append(path)
        return paths

    def text(self, lang: str = SOURCE_LANG) -> str:
        """A few lines for people, in ``lang``: status, coverage, objective, reasons,
        districts (:func:`matcher.plans.text.plan_text`)."""
        from matcher.plans.text import plan_text  # it formats a Plan

        return plan_text(self, lang)


def plan_json(data: Mapping[str, Any]) -> str:
    """``kpis.json`` and ``run.json`` as written: indented, UTF-8 text kept, no NaN."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _number(value: Any) -> float:
    """A KPI figure as a float; ``NaN`` where a stored plan has none (``null``)."""
    return math.nan if value is None else float(value)


def solver_from_kpis(kpis: Mapping[str, Any]) -> FlowResult:
    """The solver's figures of a plan read back from its KPIs (no flow on arcs).

    >>> r = solver_from_kpis({"solver_status": "optimal", "objective": 3.5, "bound": 3.5,
    ...                       "gap": 0.0, "solve_seconds": 0.1, "solver": "ortools"})
    >>> r.status, r.objective, r.proven_optimal, len(r.flow)
    ('optimal', 3.5, True, 0)
    """
    return FlowResult(
        flow=np.zeros(0, dtype=np.int64),
        status=str(kpis.get("solver_status") or "unknown"),
        objective=_number(kpis.get("objective")),
        bound=_number(kpis.get("bound")),
        gap=_number(kpis.get("gap")),
        wall_seconds=_number(kpis.get("solve_seconds") or 0.0),
        solver=str(kpis.get("solver") or ""),
    )
