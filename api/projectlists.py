"""A stored run's project list (:mod:`matcher.report.projectlist`) as workbook bytes: the
run's tables and lead units read from the store, only the districts asked for."""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import store
from api.artifacts import run_tables
from api.db.models import DatasetRow, Lead, Run
from api.errors import ApiError
from matcher.i18n import N_, Text
from matcher.plans.planner import LEAD_COLUMNS
from matcher.report.html import PlanTables
from matcher.report.projectlist import write_project_list

__all__ = ["project_list_bytes", "stored_plan"]


def _leads(session: Session, run_id: str, districts: list[str] | None) -> pd.DataFrame:
    """The run's ``leads`` table (only ``districts``' rows when given)."""
    stmt = select(*(getattr(Lead, c) for c in LEAD_COLUMNS)).where(Lead.run_id == run_id)
    if districts is not None:
        stmt = stmt.where(Lead.district.in_(districts))
    rows = session.execute(stmt.order_by(Lead.row_no)).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(LEAD_COLUMNS))


def stored_plan(session: Session, run: Run, districts: list[str] | None) -> PlanTables:
    """A stored run's tables as the project list reads them: the report's (assignments,
    demand status, KPIs) and its lead units; only ``districts``' rows when given."""
    tables = run_tables(session, run, districts)
    return PlanTables(
        label=tables.label,
        assignments=tables.assignments,
        demand_status=tables.demand_status,
        kpis=tables.kpis,
        params=tables.params,
        dataset_source=tables.dataset_source,
        dataset_hash=tables.dataset_hash,
        leads=_leads(session, run.id, districts),
    )


def project_list_bytes(
    session: Session, run: Run, lang: str, public: bool, districts: list[str] | None
) -> bytes:
    """The run's project list as ``.xlsx`` bytes (409 if its dataset is gone)."""
    row = session.get(DatasetRow, run.dataset_id)
    if row is None:
        raise ApiError(409, "no_dataset", Text(N_("the dataset of run {id} is gone"), id=run.id))
    tables = stored_plan(session, run, districts)
    dataset = store.load_dataset(session, run.dataset_id, row.name)
    buffer = io.BytesIO()
    write_project_list(tables, dataset, buffer, lang=lang, public=public, districts=districts)
    return buffer.getvalue()
