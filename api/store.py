"""Moving datasets and plans between :mod:`matcher` objects and the store.

This is the edge where matcher objects become rows; nothing here plans. Uploads are
read and checked in :mod:`api.uploads`.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

import matcher
from api.db.models import (
    Assignment,
    DatasetRow,
    DatasetTable,
    DemandStatus,
    Funding,
    Lead,
    Run,
    RunDual,
    RunKpi,
    utcnow,
)
from api.db.session import rowcount
from matcher.inputs.io import plain_value
from matcher.plans.tables import (
    ASSIGNMENT_COLUMNS,
    DEMAND_STATUS_COLUMNS,
    FUNDING_COLUMNS,
    LEAD_COLUMNS,
)
from matcher.report.export import flatten_kpis

__all__ = [
    "ASSIGNMENT_FIELDS",
    "DEMAND_STATUS_FIELDS",
    "FUNDING_FIELDS",
    "LEAD_FIELDS",
    "RESULT_MODELS",
    "dataset_districts",
    "delete_results",
    "load_dataset",
    "load_duals",
    "load_frames",
    "save_dataset",
    "save_plan",
]


def dataset_districts(dataset: matcher.Dataset) -> list[str]:
    """The districts of a dataset's communities, sorted."""
    return sorted({str(d) for d in dataset.communities["district"].tolist()})


def save_dataset(
    session: Session, dataset: matcher.Dataset, dataset_id: str, name: str
) -> DatasetRow:
    """Add a dataset and its tables (as Parquet) to the session."""
    blobs: dict[str, bytes] = {}
    for table, frame in dataset.tables().items():
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        blobs[table] = buffer.getvalue()
    row = DatasetRow(
        id=dataset_id,
        content_hash=dataset.content_hash,
        name=name,
        tables=dataset.counts(),
        districts=dataset_districts(dataset),
        warnings=[w.to_dict() for w in dataset.warnings],
        size_bytes=sum(len(b) for b in blobs.values()),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    for table, blob in blobs.items():
        session.add(
            DatasetTable(
                dataset_id=dataset_id, table_name=table, rows=dataset.counts()[table], parquet=blob
            )
        )
    return row


def load_frames(session: Session, dataset_id: str) -> dict[str, pd.DataFrame]:
    """A stored dataset's tables as frames."""
    rows = session.execute(
        select(DatasetTable.table_name, DatasetTable.parquet).where(
            DatasetTable.dataset_id == dataset_id
        )
    ).all()
    return {name: pd.read_parquet(io.BytesIO(blob)) for name, blob in rows}


def load_dataset(session: Session, dataset_id: str, name: str = "") -> matcher.Dataset:
    """A stored dataset, validated again by :func:`matcher.dataset_from_frames`."""
    return matcher.dataset_from_frames(load_frames(session, dataset_id), name or dataset_id)


def _records(frame: pd.DataFrame, columns: list[str], run_id: str) -> list[dict[str, Any]]:
    frame = frame.reindex(columns=columns)
    out: list[dict[str, Any]] = []
    for i, values in enumerate(frame.itertuples(index=False, name=None)):
        row = {c: plain_value(v) for c, v in zip(columns, values, strict=True)}
        row["run_id"] = run_id
        row["row_no"] = i
        out.append(row)
    return out


PLACES = ("community_id", "district", "category")
"""What every stored result row carries, so that it can be filtered and scoped by district
(:func:`_with_places` fills in those the plan's own table lacks)."""


def _placed(columns: tuple[str, ...], after: str) -> list[str]:
    """The plan's ``columns`` with the places they lack inserted after ``after``."""
    missing = [p for p in PLACES if p not in columns]
    i = columns.index(after) + 1
    return [*columns[:i], *missing, *columns[i:]]


# The SQL tables hold the plan's own columns (matcher.plans.tables declares them), so dashboards
# and CSV agree, plus each row's place.
ASSIGNMENT_FIELDS = _placed(ASSIGNMENT_COLUMNS, after="community_id")
DEMAND_STATUS_FIELDS = list(DEMAND_STATUS_COLUMNS)
FUNDING_FIELDS = _placed(FUNDING_COLUMNS, after="community_id")
LEAD_FIELDS = _placed(LEAD_COLUMNS, after="unit_id")
RESULT_MODELS: tuple[type[Any], ...] = (Assignment, DemandStatus, Funding, Lead, RunKpi, RunDual)


def _with_places(frame: pd.DataFrame, dataset: matcher.Dataset) -> pd.DataFrame:
    """Add each row's ``community_id`` (from its demand when missing), district and
    category, so that every result table can be filtered and scoped by district."""
    frame = frame.copy()
    communities = dataset.communities
    demands = dataset.demands
    district_of = dict(
        zip(
            communities["community_id"].astype(str),
            communities["district"].astype(str),
            strict=True,
        )
    )
    ids = demands["demand_id"].astype(str)
    community_of = dict(zip(ids, demands["community_id"].astype(str), strict=True))
    category_of = dict(zip(ids, demands["category"].astype(str), strict=True))
    if "demand_id" in frame.columns:
        demand = frame["demand_id"].astype(str)
        if "community_id" not in frame.columns:
            frame["community_id"] = demand.map(community_of).fillna("")
        if "category" not in frame.columns:
            frame["category"] = demand.map(category_of).fillna("")
    frame["district"] = frame["community_id"].astype(str).map(district_of).fillna("")
    return frame


def save_plan(
    session: Session,
    run_id: str,
    claim_token: str,
    result: matcher.Plan,
    dataset: matcher.Dataset,
    timings: Mapping[str, float],
) -> bool:
    """Write a plan's rows and mark its run succeeded, in the session's transaction.

    Nothing is written (and ``False`` returned) unless the run is still ``running``
    under ``claim_token``: a cancelled, timed-out or interrupted run stays as it is.
    """
    kpis = result.kpis
    gap = kpis.get("gap")
    done = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == "running", Run.claim_token == claim_token)
        .values(
            status="succeeded",
            finished_at=utcnow(),
            solver=str(kpis.get("solver", "")),
            solver_status=result.status,
            proven_optimal=bool(kpis.get("proven_optimal")),
            objective=float(result.objective),
            bound=plain_value(kpis.get("bound")),
            gap=gap if isinstance(gap, float) and math.isfinite(gap) else None,
            hours_demanded=int(kpis["hours_demanded"]),
            hours_covered=int(kpis["hours_covered"]),
            coverage=plain_value(kpis.get("coverage")),
            timings={k: round(float(v), 4) for k, v in timings.items()},
            kpis=json.loads(json.dumps(kpis, default=str)),
        )
    )
    if rowcount(done) != 1:
        return False
    tables: list[tuple[list[dict[str, Any]], Any]] = [
        (
            _records(_with_places(result.assignments, dataset), ASSIGNMENT_FIELDS, run_id),
            Assignment,
        ),
        (_records(result.demand_status, DEMAND_STATUS_FIELDS, run_id), DemandStatus),
    ]
    funding = getattr(result, "funding", None)
    if funding is not None and len(funding):
        tables.append((_records(_with_places(funding, dataset), FUNDING_FIELDS, run_id), Funding))
    leads = getattr(result, "leads", None)
    if leads is not None and len(leads):
        tables.append((_records(_with_places(leads, dataset), LEAD_FIELDS, run_id), Lead))
    if result.duals is not None:
        tables.append((_dual_records(result.duals, run_id), RunDual))
    for session_rows, model in tables:
        for start in range(0, len(session_rows), 5000):
            session.execute(insert(model), session_rows[start : start + 5000])
    kpi_rows = [
        {"run_id": run_id, "name": n, "value": v, "text": t} for n, v, t in flatten_kpis(kpis)
    ]
    if kpi_rows:
        session.execute(insert(RunKpi), kpi_rows)
    return True


def _dual_records(duals: matcher.Duals, run_id: str) -> list[dict[str, Any]]:
    """``run_duals`` rows of a plan's LP duals: the values above zero only."""
    sup = duals.supplier[duals.supplier > 0]
    dem = duals.demand[duals.demand > 0]
    kinds = [*sup.index.get_level_values(0).tolist(), *[None] * len(dem)]
    keys = [*sup.index.get_level_values(1).tolist(), *dem.index.tolist()]
    values = [*sup.tolist(), *dem.tolist()]
    return [
        {
            "run_id": run_id,
            "row_no": i,
            "item": "supplier" if i < len(sup) else "demand",
            "supplier_kind": kind,
            "item_id": key,
            "value": float(value),
        }
        for i, (kind, key, value) in enumerate(zip(kinds, keys, values, strict=True))
    ]


def load_duals(session: Session, run_id: str) -> matcher.Duals | None:
    """The LP duals a plan run kept (``None`` if it kept none: another solver, an older
    run, or a run deleted since)."""
    rows = session.execute(
        select(RunDual.item, RunDual.supplier_kind, RunDual.item_id, RunDual.value)
        .where(RunDual.run_id == run_id)
        .order_by(RunDual.row_no)
    ).all()
    if not rows:
        return None
    sup = [(k, i, v) for item, k, i, v in rows if item == "supplier"]
    dem = [(i, v) for item, _, i, v in rows if item == "demand"]
    index = pd.MultiIndex.from_tuples([(k, i) for k, i, _ in sup], names=["kind", "id"])
    return matcher.Duals(
        supplier=pd.Series([v for _, _, v in sup], index=index, dtype=float, name="value"),
        demand=pd.Series(
            [v for _, v in dem],
            index=pd.Index([i for i, _ in dem], name="demand_id"),
            dtype=float,
            name="value",
        ),
    )


def delete_results(session: Session, run_id: str) -> None:
    """Remove a run's result rows (before deleting the run)."""
    for model in RESULT_MODELS:
        session.execute(delete(model).where(model.run_id == run_id))
