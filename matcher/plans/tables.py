"""The plan's tables: their names, files, columns and types, declared once.

Every face of a plan reads these declarations: the planner builds its frames with
them, :func:`matcher.plans.io.read_plan` checks and types a plan folder by them, the
report, explanations, comparisons, exports and the service's store take their columns
from them.

>>> ASSIGNMENTS.file, ASSIGNMENTS.columns[:3]
('assignments.csv', ('supplier_kind', 'supplier_id', 'unit_id'))
>>> DEMAND_STATUS.dtypes["covered_hours"]
'int'
>>> empty_table(LEADS).columns.tolist()
['demand_id', 'unit_id', 'effort', 'cost']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pandas as pd

__all__ = [
    "ASSIGNMENTS",
    "ASSIGNMENT_COLUMNS",
    "DEMAND_STATUS",
    "DEMAND_STATUS_COLUMNS",
    "FUNDING",
    "FUNDING_COLUMNS",
    "KPIS_FILE",
    "LEADS",
    "LEAD_COLUMNS",
    "PLAN_FILES",
    "PLAN_TABLES",
    "REQUIRED_KPIS",
    "RUN_FILE",
    "TIMING_KEYS",
    "PlanTable",
    "empty_table",
]

ColumnType = Literal["text", "int", "float"]
"""How a plan column is typed: text (ids, codes, words), whole numbers, or numbers that
may be blank (``NaN``)."""


@dataclass(frozen=True)
class PlanTable:
    """One table of a plan: its name, its columns in order and their types.

    Attributes
    ----------
    name
        The table's name (``plan.<name>``, the service's table ``plan_<name>``).
    dtypes
        Column name to :data:`ColumnType`, in the order the file has them.
    required
        Whether every plan folder has the file (``funding`` and ``leads`` may be absent
        in folders written before those rules existed).
    """

    name: str
    dtypes: Mapping[str, ColumnType]
    required: bool = True

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names, in the file's order."""
        return tuple(self.dtypes)

    @property
    def file(self) -> str:
        """The file's name in a plan folder."""
        return f"{self.name}.csv"

    @property
    def text_columns(self) -> tuple[str, ...]:
        """The columns read as text."""
        return tuple(c for c, t in self.dtypes.items() if t == "text")

    @property
    def number_columns(self) -> tuple[str, ...]:
        """The columns read as numbers (whole or not)."""
        return tuple(c for c, t in self.dtypes.items() if t != "text")


ASSIGNMENTS = PlanTable(
    "assignments",
    {
        "supplier_kind": "text",
        "supplier_id": "text",
        "unit_id": "text",
        "demand_id": "text",
        "community_id": "text",
        "category": "text",
        "hours": "int",
        "km": "float",
        "tie": "text",
    },
)
"""Who gives how many hours to which demand, through which tie."""

DEMAND_STATUS = PlanTable(
    "demand_status",
    {
        "demand_id": "text",
        "community_id": "text",
        "district": "text",
        "category": "text",
        "priority": "int",
        "hours": "int",
        "covered_hours": "int",
        "funds": "float",
        "funded": "text",
        "status": "text",
        "reason": "text",
    },
)
"""Every demand with its covered hours, status and the reason it is not fully met."""

FUNDING = PlanTable(
    "funding",
    {
        "resource_id": "text",
        "unit_id": "text",
        "demand_id": "text",
        "community_id": "text",
        "amount": "float",
    },
    required=False,
)
"""Which funder gives how many yuan to which demand (only a header without the funds rule)."""

LEADS = PlanTable(
    "leads",
    {"demand_id": "text", "unit_id": "text", "effort": "float", "cost": "float"},
    required=False,
)
"""The lead unit of each demand in ``lead_options.csv`` (only a header without it)."""

PLAN_TABLES: tuple[PlanTable, ...] = (ASSIGNMENTS, DEMAND_STATUS, FUNDING, LEADS)
"""The plan's tables, in the order a plan folder lists them."""

ASSIGNMENT_COLUMNS = ASSIGNMENTS.columns
DEMAND_STATUS_COLUMNS = DEMAND_STATUS.columns
FUNDING_COLUMNS = FUNDING.columns
LEAD_COLUMNS = LEADS.columns

KPIS_FILE = "kpis.json"
"""The plan's KPIs, including the solver's status, bound and gap."""
RUN_FILE = "run.json"
"""How the plan was made: the dataset's source and content hash, parameters, timings."""
PLAN_FILES: tuple[str, ...] = (*(t.file for t in PLAN_TABLES), KPIS_FILE, RUN_FILE)
"""Every file :meth:`matcher.plans.result.Plan.write` writes."""

REQUIRED_KPIS = ("hours_demanded", "hours_covered", "coverage")
"""Keys every ``kpis.json`` has; a file without them is not a plan's."""

TIMING_KEYS = ("solve_seconds", "seconds")
"""KPI keys that measure time and so differ between otherwise identical runs."""

_EMPTY_DTYPES: dict[ColumnType, str] = {"text": "object", "int": "int64", "float": "float64"}


def empty_table(table: PlanTable) -> pd.DataFrame:
    """The table with no rows: its columns, typed (text columns as ``object``)."""
    return pd.DataFrame({c: pd.Series([], dtype=_EMPTY_DTYPES[t]) for c, t in table.dtypes.items()})
