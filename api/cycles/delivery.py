"""Delivered hours (项目实施) of a cycle's published project list: recorded by units,
confirmed or rejected by communities, and each project's progress.

Every rule is :mod:`matcher.cycle.delivery`'s: the stored rows are turned into its
frames, its refusals into the service's errors (a :class:`~matcher.errors.ParameterError`
is 422 naming the field, a :class:`~matcher.errors.DeliveryError` 409 naming the delivery
and its status).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api import artifacts, crud
from api.cycles import audit
from api.cycles.access import Actor, authorize, check_community, check_unit, may_read
from api.cycles.core import parameter_error
from api.db.models import (
    Assignment,
    Cycle,
    CycleDelivery,
    CycleVersion,
    DatasetTable,
    DemandStatus,
    Run,
    utcnow,
)
from api.db.session import rowcount
from api.errors import ApiError, issue_dict
from matcher.csvsafe import restore_formulas
from matcher.cycle.delivery import (
    EXPORT_COLUMNS,
    Delivery,
    check_delivery_rows,
    decide_delivery,
    empty_deliveries,
    project_progress,
    record_delivery,
    recorded_hours,
)
from matcher.errors import DeliveryError, ParameterError, ValidationIssue
from matcher.i18n import N_, Text

__all__ = [
    "DECISIONS",
    "Published",
    "decide",
    "deliveries_frame",
    "delivery_rows",
    "list_deliveries",
    "progress",
    "published",
    "record",
    "record_file",
]

DECISIONS: dict[str, str] = {"approved": "confirm_delivery", "rejected": "reject_delivery"}
"""A community's decision on a delivery, and the action of the role table it is."""

_NEW = "new"  # the library's id of a delivery not stored yet (stored ids are numbers)


@dataclass(frozen=True)
class Published:
    """A cycle's published project list: its latest version, the run and the plan's
    tables (only the cycle's district, and its streets when it has some)."""

    version: int
    run: Run
    assignments: pd.DataFrame
    demand_status: pd.DataFrame


def _street_communities(session: Session, dataset_id: str, cycle: Cycle) -> set[str]:
    """The communities of the cycle's streets, from the run's dataset."""
    blob = session.execute(
        select(DatasetTable.parquet).where(
            DatasetTable.dataset_id == dataset_id, DatasetTable.table_name == "communities"
        )
    ).scalar_one()
    communities = pd.read_parquet(io.BytesIO(blob))
    inside = communities["street"].astype(str).isin(list(cycle.streets or ()))
    return set(communities.loc[inside, "community_id"].astype(str))


def published(session: Session, cycle: Cycle) -> Published:
    """The cycle's latest published version (409 ``not_published`` when it has none)."""
    version = session.execute(
        select(CycleVersion)
        .where(CycleVersion.cycle_id == cycle.id)
        .order_by(CycleVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    run = session.get(Run, version.run_id) if version is not None else None
    if version is None or run is None:
        raise ApiError(
            409,
            "not_published",
            Text(N_("cycle {id} has no published project list yet"), id=cycle.id),
        )
    # the two result tables read as rows (no Plan is rebuilt: nothing here needs one)
    assignments, status = (
        crud.result_frame(session, crud.ResultQuery(model, fields, run.id, {}, [cycle.district]))
        for model, fields in (
            (Assignment, artifacts.ASSIGNMENT_CSV),
            (DemandStatus, artifacts.DEMAND_STATUS_CSV),
        )
    )
    if cycle.streets:
        inside = _street_communities(session, run.dataset_id, cycle)
        assignments = assignments[assignments["community_id"].astype(str).isin(inside)]
        status = status[status["community_id"].astype(str).isin(inside)]
    return Published(
        version.version,
        run,
        assignments.reset_index(drop=True),
        status.reset_index(drop=True),
    )


def delivery_rows(session: Session, cycle: Cycle) -> list[CycleDelivery]:
    """Every delivery of the cycle, in the order recorded."""
    rows = session.execute(
        select(CycleDelivery).where(CycleDelivery.cycle_id == cycle.id).order_by(CycleDelivery.id)
    ).scalars()
    return list(rows)


def deliveries_frame(rows: list[CycleDelivery]) -> pd.DataFrame:
    """Stored deliveries as the library's deliveries frame (ids as text)."""
    if not rows:
        return empty_deliveries()
    frame = pd.DataFrame(
        [
            {
                "delivery_id": str(r.id),
                "supplier_kind": r.supplier_kind,
                "supplier_id": r.supplier_id,
                "demand_id": r.demand_id,
                "hours": int(r.hours),
                "status": r.status,
                "recorded_by": str(r.recorded_by),
                "recorded_at": r.recorded_at.isoformat(),
                "decided_by": None if r.decided_by is None else str(r.decided_by),
                "decided_at": None if r.decided_at is None else r.decided_at.isoformat(),
            }
            for r in rows
        ]
    )
    return frame.astype({"hours": "int64"})


def _lock(session: Session, cycle: Cycle) -> None:
    """Serialize writers of one cycle's deliveries (a row lock where the store has them)."""
    session.execute(select(Cycle.id).where(Cycle.id == cycle.id).with_for_update())


def _assignment(pub: Published, kind: str, supplier: str, demand: str) -> dict[str, Any] | None:
    a = pub.assignments
    hit = a[
        (a["supplier_kind"].astype(str) == kind)
        & (a["supplier_id"].astype(str) == supplier)
        & (a["demand_id"].astype(str) == demand)
    ]
    return None if hit.empty else dict(hit.iloc[0])


def _store(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    pub: Published,
    row: dict[str, Any],
    hours: int,
) -> CycleDelivery:
    """Add one pending delivery of an assignment ``row`` and its audit entry."""
    return _store_many(session, cycle, actor, pub, [(row, hours)])[0]


def _store_many(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    pub: Published,
    todo: list[tuple[dict[str, Any], int]],
) -> list[CycleDelivery]:
    """Add pending deliveries of assignments (``row``, ``hours``) and their audit
    entries: one flush for all (their ids name them in the log)."""
    made = [_pending(cycle, actor, pub, row, hours) for row, hours in todo]
    session.add_all(made)
    session.flush()
    for delivery in made:
        audit.record(
            session,
            actor,
            "record_delivery",
            cycle_id=cycle.id,
            target=f"delivery:{delivery.id}",
            after={
                "unit_id": delivery.unit_id,
                "supplier_kind": delivery.supplier_kind,
                "supplier_id": delivery.supplier_id,
                "demand_id": delivery.demand_id,
                "hours": delivery.hours,
                "status": "pending",
                "version": pub.version,
            },
            visibility="private",
        )
    return made


def _pending(
    cycle: Cycle, actor: Actor, pub: Published, row: dict[str, Any], hours: int
) -> CycleDelivery:
    return CycleDelivery(
        cycle_id=cycle.id,
        version=pub.version,
        supplier_kind=str(row["supplier_kind"]),
        supplier_id=str(row["supplier_id"]),
        unit_id=str(row["unit_id"]),
        demand_id=str(row["demand_id"]),
        community_id=str(row["community_id"]),
        hours=int(hours),
        status="pending",
        recorded_by=actor.key_id,
        recorded_at=utcnow(),
    )


def record(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    *,
    supplier_kind: str,
    supplier_id: str,
    demand_id: str,
    hours: int,
) -> CycleDelivery:
    """Record hours delivered on one assignment of the published list (pending).

    403 for a unit key outside the assignment's unit, 422 naming ``assignment`` when it
    is not in the published plan or ``hours`` when above what is left on it."""
    authorize(actor, cycle, "record_delivery")
    _lock(session, cycle)
    pub = published(session, cycle)
    row = _assignment(pub, supplier_kind, supplier_id, demand_id)
    if row is not None:
        check_unit(actor, str(row["unit_id"]))
    existing = deliveries_frame(delivery_rows(session, cycle))
    try:
        record_delivery(
            existing,
            pub.assignments,
            Delivery(
                _NEW,
                supplier_kind,
                supplier_id,
                demand_id,
                hours=hours,
                recorded_by=str(actor.key_id),
                recorded_at=utcnow().isoformat(),
            ),
        )
    except ParameterError as exc:
        raise parameter_error(exc) from None
    assert row is not None  # the library refuses an assignment not in the plan
    return _store(session, cycle, actor, pub, row, hours)


def _read_csv(content: bytes, file: str) -> pd.DataFrame:
    try:
        text = content.decode("utf-8-sig")
        # the assignments' CSV as the service exports it: its cells that a spreadsheet
        # would run came out with a ' in front, and go back without it
        return restore_formulas(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False))
    except ValueError as exc:  # undecodable, unparsable or empty
        issue = ValidationIssue(
            file,
            None,
            None,
            None,
            Text(
                N_("a CSV file in UTF-8 with the columns {columns}"),
                columns=", ".join(EXPORT_COLUMNS),
            ),
        )
        raise ApiError(
            422,
            "invalid_deliveries",
            Text(N_("the deliveries file cannot be read: {problem}"), problem=str(exc)[:200]),
            [issue_dict(issue)],
        ) from None


def record_file(
    session: Session, cycle: Cycle, actor: Actor, content: bytes, file: str = "deliveries.csv"
) -> list[CycleDelivery]:
    """Record a bulk file of delivered hours (the export's format: the assignments'
    columns plus ``hours_delivered``): every row or none. Rows of 0 hours record nothing.

    422 ``invalid_deliveries`` with every issue (file, row, column, value, expected);
    403 when a unit key's file has a row of another unit."""
    authorize(actor, cycle, "record_delivery")
    _lock(session, cycle)
    pub = published(session, cycle)
    frame = _read_csv(content, file)
    existing = deliveries_frame(delivery_rows(session, cycle))
    issues = check_delivery_rows(
        frame, pub.assignments, recorded=recorded_hours(existing), file=file
    )
    if issues:
        raise ApiError(
            422,
            "invalid_deliveries",
            Text(N_("the deliveries file has {n} problems; nothing was recorded"), n=len(issues)),
            [issue_dict(i) for i in issues],
        )
    by_key: dict[tuple[str, str, str], dict[str, Any]] = {
        (str(r["supplier_kind"]), str(r["supplier_id"]), str(r["demand_id"])): {
            str(k): v for k, v in r.items()
        }
        for r in pub.assignments.to_dict("records")
    }
    todo: list[tuple[dict[str, Any], int]] = []
    for record_row in frame.to_dict("records"):
        row = by_key[
            (
                str(record_row["supplier_kind"]),
                str(record_row["supplier_id"]),
                str(record_row["demand_id"]),
            )
        ]  # every row's assignment was checked above
        check_unit(actor, str(row["unit_id"]))
        hours = int(float(str(record_row["hours_delivered"])))
        if hours > 0:
            todo.append((row, hours))
    return _store_many(session, cycle, actor, pub, todo)


def _delivery(session: Session, cycle: Cycle, delivery_id: int) -> CycleDelivery:
    row = session.get(CycleDelivery, delivery_id)
    if row is None or row.cycle_id != cycle.id:
        raise ApiError(
            404,
            "not_found",
            Text(N_("no delivery {id} in cycle {cycle}"), id=delivery_id, cycle=cycle.id),
        )
    return row


def _conflict(delivery_id: int, status: str, wanted: str) -> ApiError:
    exc = DeliveryError(str(delivery_id), status, wanted)
    return ApiError(
        409,
        "delivery_decided",
        exc.args[0],
        [{"field": "status", "delivery_id": delivery_id, "value": status, "wanted": wanted}],
    )


def decide(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    delivery_id: int,
    status: str,
    reason: str = "",
) -> CycleDelivery:
    """The community's decision on a pending delivery (``approved`` / ``rejected``),
    with its ``reason`` (why hours are rejected; shown to the unit and the planners).

    403 for a community key outside the delivery's community; 409 naming the delivery
    and its status when it was decided already."""
    action = DECISIONS.get(status)
    if action is None:
        raise ApiError(
            422,
            "invalid_parameter",
            Text(N_("status must be one of {choices}"), choices=", ".join(DECISIONS)),
            [{"field": "status", "value": status}],
        )
    authorize(actor, cycle, action)
    row = _delivery(session, cycle, delivery_id)
    check_community(actor, row.community_id)
    now = utcnow()
    try:
        decide_delivery(
            deliveries_frame([row]),
            str(row.id),
            status,
            decided_by=str(actor.key_id),
            decided_at=now.isoformat(),
        )
    except DeliveryError as exc:
        raise _conflict(row.id, exc.status, exc.wanted) from None
    before = row.status
    done = session.execute(
        update(CycleDelivery)
        .where(CycleDelivery.id == row.id, CycleDelivery.status == before)
        .values(
            status=status, decided_by=actor.key_id, decided_at=now, reason=reason.strip() or None
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(done) != 1:
        session.refresh(row)
        raise _conflict(row.id, row.status, status)
    session.refresh(row)
    audit.record(
        session,
        actor,
        action,
        cycle_id=cycle.id,
        target=f"delivery:{row.id}",
        before={"status": before},
        after={
            "status": status,
            "demand_id": row.demand_id,
            "hours": row.hours,
            **({"reason": row.reason} if row.reason else {}),
        },
        visibility="private",
    )
    return row


def list_deliveries(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    *,
    status: str | None,
    demand_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[CycleDelivery], int]:
    """A page of the cycle's deliveries (a unit key: its units'; a community key: its
    communities'), oldest first, and their total."""
    may_read(actor, cycle)
    where: list[Any] = [CycleDelivery.cycle_id == cycle.id]
    if status is not None:
        where.append(CycleDelivery.status == status)
    if demand_id is not None:
        where.append(CycleDelivery.demand_id == demand_id)
    if actor.role == "unit" and actor.units is not None:
        where.append(CycleDelivery.unit_id.in_(list(actor.units)))
    if actor.role == "community" and actor.communities is not None:
        where.append(CycleDelivery.community_id.in_(list(actor.communities)))
    total = session.execute(
        select(func.count()).select_from(CycleDelivery).where(*where)
    ).scalar_one()
    rows = session.execute(
        select(CycleDelivery).where(*where).order_by(CycleDelivery.id).limit(limit).offset(offset)
    ).scalars()
    return list(rows), int(total)


def progress(session: Session, cycle: Cycle, actor: Actor) -> pd.DataFrame:
    """Each project's planned, pending, approved and rejected hours, progress and status
    (:func:`matcher.cycle.delivery.project_progress`), with its community."""
    may_read(actor, cycle)
    pub = published(session, cycle)
    out = project_progress(pub.assignments, deliveries_frame(delivery_rows(session, cycle)))
    where = pub.demand_status.drop_duplicates("demand_id").set_index("demand_id")["community_id"]
    out.insert(1, "community_id", out["demand_id"].map(where).fillna("").astype(str))
    return out
