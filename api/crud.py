"""The queries the routes make: plain functions of a ``Session`` returning rows or values.

Route handlers (:mod:`api.routes`) hold no SQL: they check parameters and permissions,
call these, raise :class:`api.errors.ApiError` and build the response. Nothing here
knows of HTTP: a missing row is ``None`` (or an empty result) for the route to refuse.
Datasets and plans moving between :mod:`matcher` objects and rows are
:mod:`api.store`'s; recommendation tables written by the worker, :mod:`api.recommend`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import (
    ACTIVE_STATUSES,
    ApiKey,
    DatasetRow,
    DatasetTable,
    DemandStatus,
    Recommendation,
    RecommendationRow,
    Run,
    utcnow,
)
from api.db.session import rowcount

__all__ = [
    "ResultQuery",
    "RunFilters",
    "add_queued",
    "cancel_run",
    "count_queued",
    "dataset_run_count",
    "dataset_run_statuses",
    "dataset_table_parquet",
    "delete_dataset",
    "demand_district",
    "list_datasets",
    "list_keys",
    "list_plan_runs",
    "list_recommendations",
    "queue_counts",
    "recommendation_rows",
    "recommendation_rows_page",
    "result_frame",
    "result_page",
    "run_by_idempotency_key",
]


# ---- health -------------------------------------------------------------------------


def queue_counts(factory: sessionmaker[Session]) -> dict[str, int] | None:
    """Runs queued and running, by status (a status with none is absent); ``None`` when
    the database does not answer."""
    try:
        with factory() as session:
            rows = session.execute(
                select(Run.status, func.count())
                .where(Run.status.in_(("queued", "running")))
                .group_by(Run.status)
            ).all()
    except SQLAlchemyError:
        return None
    return {str(s): int(n) for s, n in rows}


# ---- keys ---------------------------------------------------------------------------


def list_keys(session: Session) -> Sequence[ApiKey]:
    """Every API key (revoked ones too), newest first."""
    return session.execute(select(ApiKey).order_by(ApiKey.id.desc())).scalars().all()


# ---- datasets -----------------------------------------------------------------------


def _newest_first(
    session: Session, model: Any, conditions: list[Any], limit: int, offset: int
) -> tuple[Sequence[Any], int]:
    """A page of the rows of ``model`` (datasets, runs) that meet ``conditions``, newest
    first (then by id), and how many meet them."""
    total = session.execute(select(func.count()).select_from(model).where(*conditions)).scalar_one()
    rows = (
        session.execute(
            select(model)
            .where(*conditions)
            .order_by(model.created_at.desc(), model.id)
            .limit(limit)
            .offset(offset)
        )
        .scalars()
        .all()
    )
    return rows, int(total)


def list_datasets(session: Session, limit: int, offset: int) -> tuple[Sequence[DatasetRow], int]:
    """A page of stored datasets, newest first, and how many there are."""
    return _newest_first(session, DatasetRow, [], limit, offset)


def dataset_run_count(session: Session, dataset_id: str) -> int:
    """How many runs (plans and recommendations) use the dataset."""
    return int(
        session.execute(select(func.count()).where(Run.dataset_id == dataset_id)).scalar_one()
    )


def dataset_run_statuses(session: Session, dataset_id: str) -> list[tuple[str, int]]:
    """The runs using the dataset, counted by status (empty: none use it)."""
    rows = session.execute(
        select(Run.status, func.count()).where(Run.dataset_id == dataset_id).group_by(Run.status)
    ).all()
    return [(str(s), int(n)) for s, n in rows]


def dataset_table_parquet(session: Session, dataset_id: str, table: str) -> bytes:
    """One stored table of a dataset, as its Parquet bytes (the table must exist)."""
    blob: bytes = session.execute(
        select(DatasetTable.parquet).where(
            DatasetTable.dataset_id == dataset_id, DatasetTable.table_name == table
        )
    ).scalar_one()
    return blob


def delete_dataset(session: Session, row: DatasetRow) -> None:
    """Delete a dataset and its tables (not committed)."""
    session.execute(delete(DatasetTable).where(DatasetTable.dataset_id == row.id))
    session.delete(row)


# ---- runs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFilters:
    """A run listing's filters (``None``: not filtered); times naive UTC, as stored."""

    dataset_id: str | None = None
    label: str | None = None
    status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def conditions(self) -> list[Any]:
        """The conditions on ``runs``."""
        conditions: list[Any] = []
        if self.dataset_id is not None:
            conditions.append(Run.dataset_id == self.dataset_id)
        if self.label is not None:
            conditions.append(Run.label == self.label)
        if self.status is not None:
            conditions.append(Run.status == self.status)
        if self.created_after is not None:
            conditions.append(Run.created_at >= self.created_after)
        if self.created_before is not None:
            conditions.append(Run.created_at < self.created_before)
        return conditions


def list_plan_runs(
    session: Session, filters: RunFilters, limit: int, offset: int
) -> tuple[Sequence[Run], int]:
    """A page of plan runs (not recommendations), newest first, and how many match."""
    return _newest_first(session, Run, [Run.kind == "plan", *filters.conditions()], limit, offset)


def run_by_idempotency_key(session: Session, key: str) -> Run | None:
    """The run stored with the (scoped) Idempotency-Key ``key``, if any."""
    return session.execute(select(Run).where(Run.idempotency_key == key)).scalar_one_or_none()


def count_queued(session: Session, key_id: int | None, user_id: int | None = None) -> int:
    """How many runs (plans and recommendations) the API key, or else the console's
    user, has queued (0 for neither)."""
    if key_id is not None:
        who = Run.created_by == key_id
    elif user_id is not None:
        who = Run.created_by_user == user_id
    else:
        return 0
    return int(
        session.execute(
            select(func.count()).select_from(Run).where(who, Run.status == "queued")
        ).scalar_one()
    )


def add_queued(session: Session, run: Run, *extra: Any) -> bool:
    """Add and commit a new run, then ``extra`` rows referring to it. ``False`` (rolled
    back) when the commit breaks a unique constraint: the run's Idempotency-Key was
    just committed by a concurrent request."""
    try:
        session.add(run)
        session.flush()  # the run first: extra rows refer to it
        for row in extra:
            session.add(row)
        session.commit()
    except IntegrityError:  # the same key, sent twice at once
        session.rollback()
        return False
    return True


def cancel_run(session: Session, run: Run) -> bool:
    """Cancel the run if it is still queued or running, commit and refresh ``run``;
    ``False`` when it had already finished."""
    done = session.execute(
        update(Run)
        .where(Run.id == run.id, Run.status.in_(ACTIVE_STATUSES))
        .values(status="cancelled", error="cancelled by request", finished_at=utcnow())
    )
    session.commit()
    session.refresh(run)
    return rowcount(done) == 1


# ---- a plan's result tables ---------------------------------------------------------


@dataclass(frozen=True)
class ResultQuery:
    """Rows of a run's result table to read: ``model``'s rows of ``run_id`` whose columns
    have the values of ``filters`` (a ``None`` value: any) and whose district is in
    ``districts`` (``None``: all), as their ``fields``, in the plan's order."""

    model: Any
    fields: list[str]
    run_id: str
    filters: dict[str, str | None]
    districts: list[str] | None

    def where(self, stmt: Select[Any]) -> Select[Any]:
        """``stmt`` narrowed to the query's rows."""
        model = self.model
        stmt = stmt.where(model.run_id == self.run_id)
        if self.districts is not None:
            stmt = stmt.where(model.district.in_(self.districts))
        for column, value in self.filters.items():
            if value is not None:
                stmt = stmt.where(getattr(model, column) == value)
        return stmt


def result_page(
    session: Session, query: ResultQuery, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the rows of ``query`` (their fields) and how many rows match."""
    model = query.model
    base = query.where(select(model))
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = session.execute(base.order_by(model.row_no).limit(limit).offset(offset)).scalars().all()
    return [{f: getattr(r, f) for f in query.fields} for r in rows], int(total)


def result_frame(session: Session, query: ResultQuery) -> pd.DataFrame:
    """Every row of ``query``, as a frame of its fields."""
    stmt = query.where(select(*[getattr(query.model, f) for f in query.fields]))
    rows = [tuple(r) for r in session.execute(stmt.order_by(query.model.row_no)).all()]
    return pd.DataFrame.from_records(rows, columns=query.fields)


def demand_district(session: Session, run_id: str, demand_id: str) -> str | None:
    """The district of the run's demand ``demand_id`` (``None``: no such demand)."""
    district: str | None = session.execute(
        select(DemandStatus.district).where(
            DemandStatus.run_id == run_id, DemandStatus.demand_id == demand_id
        )
    ).scalar_one_or_none()
    return district


# ---- recommendations ----------------------------------------------------------------


def list_recommendations(
    session: Session, filters: RunFilters, kind: str | None, limit: int, offset: int
) -> tuple[list[tuple[Run, Recommendation]], int]:
    """A page of recommendation runs (of ``kind``, when given) with their requests,
    newest first, and how many match."""
    conditions = filters.conditions()
    if kind is not None:
        conditions.append(Recommendation.kind == kind)
    joined = select(Run, Recommendation).join(Recommendation, Recommendation.run_id == Run.id)
    total = session.execute(
        select(func.count()).select_from(joined.where(*conditions).subquery())
    ).scalar_one()
    rows = session.execute(
        joined.where(*conditions)
        .order_by(Run.created_at.desc(), Run.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [(r, rec) for r, rec in rows], int(total)


def _recommendation_rows(
    run_id: str, table: str, districts: list[str] | None
) -> Select[RecommendationRow]:
    stmt = select(RecommendationRow).where(
        RecommendationRow.run_id == run_id, RecommendationRow.table_name == table
    )
    if districts is not None:
        stmt = stmt.where(RecommendationRow.district.in_(districts))
    return stmt


def recommendation_rows(
    session: Session, run_id: str, table: str, districts: list[str] | None
) -> Sequence[RecommendationRow]:
    """Every row of a recommendation run's table (only ``districts``' when given), in
    the library's order."""
    stmt = _recommendation_rows(run_id, table, districts).order_by(RecommendationRow.row_no)
    return session.execute(stmt).scalars().all()


def recommendation_rows_page(
    session: Session,
    run_id: str,
    table: str,
    districts: list[str] | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[RecommendationRow], int]:
    """A page of a recommendation run's table (as :func:`recommendation_rows`) and how
    many rows match."""
    base = _recommendation_rows(run_id, table, districts)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = (
        session.execute(base.order_by(RecommendationRow.row_no).limit(limit).offset(offset))
        .scalars()
        .all()
    )
    return rows, int(total)
