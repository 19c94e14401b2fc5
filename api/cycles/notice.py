"""The public notice (公示) of a cycle's project list, its objections, and the published
versions.

During ``public_notice`` anyone may object to the draft (no key; the objector's
contact is kept for the planners and never shown elsewhere); a planner answers each
objection. :func:`publish` is what entering ``published`` does: with every objection
answered and both reviews' approvals of the draft standing, it freezes the draft as the
next version (its projects with public columns only, and its diff against the version
before). The store refuses to change a version afterwards (triggers).

The public reads one list: the draft during ``public_notice``, else the newest
published version, in the phases where the role table lets the public ``read_notice``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.artifacts import stored_plan
from api.cycles import audit, core
from api.cycles.access import PUBLIC, Actor, authorize, may_read
from api.cycles.discussion import draft_projects
from api.db.models import (
    AuditEntry,
    Cycle,
    CycleObjection,
    CycleProject,
    CycleVersion,
    DatasetTable,
    Run,
    utcnow,
)
from api.errors import ApiError
from matcher.cycle.projects import projects
from matcher.cycle.roles import can
from matcher.i18n import N_, Text
from matcher.plans.diff import diff_plans
from matcher.plans.result import Plan

__all__ = [
    "CSV_COLUMNS",
    "NoticeList",
    "answer_objection",
    "answered",
    "community_name",
    "file_objection",
    "get_version",
    "list_objections",
    "list_versions",
    "not_on_notice",
    "notice_csv",
    "notice_list",
    "public_cycle",
    "public_entries",
    "publish",
    "unit_names",
]

CSV_COLUMNS = (
    "demand_id",
    "community_id",
    "district",
    "category",
    "priority",
    "hours",
    "planned_hours",
    "status",
    "lead_unit",
    "units",
)
"""The public export's columns (``units``: ``unit_id:hours`` joined by ``;``)."""


def _bad(field: str, value: Any, message: Text) -> ApiError:
    return ApiError(422, "invalid_parameter", message, [{"field": field, "value": value}])


def public_cycle(session: Session, cycle_id: str) -> Cycle:
    """A cycle for the public (no key: no scope); 404 if there is none."""
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ApiError(404, "not_found", Text(N_("no cycle with id {ident}"), ident=repr(cycle_id)))
    return cycle


def _table(session: Session, dataset_id: str, table: str) -> pd.DataFrame | None:
    blob = session.execute(
        select(DatasetTable.parquet).where(
            DatasetTable.dataset_id == dataset_id, DatasetTable.table_name == table
        )
    ).scalar_one_or_none()
    return None if blob is None else pd.read_parquet(io.BytesIO(blob))


def _dataset_of(cycle: Cycle) -> str:
    return cycle.dataset_id or cycle.base_dataset_id


def community_name(session: Session, cycle: Cycle, community_id: str) -> str | None:
    """The name of a community of the cycle (its district, and its streets if it has
    some) in the cycle's lists; ``None`` if the cycle has no such community."""
    frame = _table(session, _dataset_of(cycle), "communities")
    if frame is None:
        return None
    rows = frame[frame["community_id"].astype(str) == community_id]
    rows = rows[rows["district"].astype(str) == cycle.district]
    if cycle.streets and "street" in rows.columns:
        rows = rows[rows["street"].astype(str).isin(cycle.streets)]
    if rows.empty:
        return None
    name = rows.iloc[0].get("name")
    return community_id if name is None or pd.isna(name) else str(name)


def unit_names(session: Session, cycle: Cycle) -> dict[str, str]:
    """Each unit's name in the cycle's lists (by unit id)."""
    frame = _table(session, _dataset_of(cycle), "units")
    if frame is None or "name" not in frame.columns:
        return {}
    return {
        str(u): str(n) for u, n in zip(frame["unit_id"], frame["name"], strict=True) if pd.notna(n)
    }


# ---------------------------------------------------------------------------- objections


def file_objection(
    session: Session,
    cycle_id: str,
    *,
    community_id: str,
    body: str,
    demand_id: str | None = None,
    contact: str | None = None,
) -> CycleObjection:
    """File an objection to the list on notice (anyone): 404 for an unknown cycle, 409
    outside ``public_notice``, 422 for a community of no project on notice or a demand
    not one of its projects. The audit entry names neither the text nor the contact."""
    cycle = public_cycle(session, cycle_id)
    authorize(PUBLIC, cycle, "object")
    if community_name(session, cycle, community_id) is None:
        raise _bad(
            "community_id",
            community_id,
            Text(N_("community {id} is not in this notice"), id=repr(community_id)),
        )
    if demand_id is not None and draft_projects(session, cycle).get(demand_id) != community_id:
        raise _bad(
            "demand_id",
            demand_id,
            Text(
                N_("demand {id} is not a project of community {community} on notice"),
                id=repr(demand_id),
                community=repr(community_id),
            ),
        )
    objection = CycleObjection(
        cycle_id=cycle.id,
        community_id=community_id,
        demand_id=demand_id,
        body=body,
        contact=contact or None,
        filed_at=utcnow(),
    )
    session.add(objection)
    session.flush()
    audit.record(
        session,
        PUBLIC,
        "object",
        cycle_id=cycle.id,
        target=f"objection:{objection.id}",
        after={"objection": objection.id, "community_id": community_id, "demand_id": demand_id},
        visibility="public",
    )
    return objection


def answer_objection(
    session: Session, cycle: Cycle, actor: Actor, objection_id: int, *, answer: str, upheld: bool
) -> CycleObjection:
    """A planner's answer to an objection (once): 403 / 409 by the role table, 404 for
    an objection not of the cycle, 409 ``already_answered``. Published in the audit."""
    authorize(actor, cycle, "answer_objection")
    objection = session.get(CycleObjection, objection_id)
    if objection is None or objection.cycle_id != cycle.id:
        raise ApiError(
            404,
            "not_found",
            Text(N_("no objection with id {ident}"), ident=repr(objection_id)),
        )
    if objection.answer is not None:
        raise ApiError(
            409,
            "already_answered",
            Text(N_("objection {id} is answered already"), id=objection_id),
            [{"field": "objection_id", "value": objection_id}],
        )
    objection.answer = answer
    objection.upheld = upheld
    objection.answered_by = actor.key_id
    objection.answered_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "answer_objection",
        cycle_id=cycle.id,
        target=f"objection:{objection.id}",
        after={
            "objection": objection.id,
            "community_id": objection.community_id,
            "demand_id": objection.demand_id,
            "answer": answer,
            "upheld": upheld,
        },
        visibility="public",
    )
    return objection


def list_objections(session: Session, cycle: Cycle, actor: Actor) -> list[CycleObjection]:
    """The cycle's objections, oldest first (anyone whose key covers the cycle; the
    routes show the contact to planners only)."""
    may_read(actor, cycle)
    rows = session.execute(
        select(CycleObjection)
        .where(CycleObjection.cycle_id == cycle.id)
        .order_by(CycleObjection.id)
    ).scalars()
    return list(rows)


# ---------------------------------------------------------------------------- versions


def _plan(session: Session, cycle: Cycle, run_id: str) -> Plan:
    run = session.get(Run, run_id)
    if run is None:
        raise ApiError(409, "no_draft", Text(N_("run {id} is gone"), id=run_id))
    return stored_plan(session, run, [cycle.district])


def _diff(before: Plan, after: Plan, version: CycleVersion) -> dict[str, Any]:
    """The changes from a version's plan to the new one: counts, and each demand whose
    status or planned hours changed (no supplier named)."""
    d = diff_plans(before, after)
    change = d.assignments["change"].astype(str)
    demands = d.demands.drop(columns=["plan"])
    records = json.loads(demands.to_json(orient="records"))
    return {
        "from_version": version.version,
        "from_run": version.run_id,
        "summary": {
            "assignments_added": int((change == "added").sum()),
            "assignments_removed": int((change == "removed").sum()),
            "assignments_changed": int((change == "changed").sum()),
            "demands_changed": len(demands),
            "status_changed": len(d.status_changes()),
        },
        "demands": records,
    }


def _latest(session: Session, cycle_id: str) -> CycleVersion | None:
    return session.execute(
        select(CycleVersion)
        .where(CycleVersion.cycle_id == cycle_id)
        .order_by(CycleVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def _project_rows(plan: Plan) -> list[dict[str, Any]]:
    frame = projects(plan, public=True)
    out = []
    for row in frame.to_dict("records"):
        out.append(
            {
                "demand_id": str(row["demand_id"]),
                "community_id": str(row["community_id"]),
                "district": str(row["district"]),
                "category": str(row["category"]),
                "priority": int(row["priority"]),
                "hours": int(row["hours"]),
                "planned_hours": int(row["planned_hours"]),
                "status": str(row["status"]),
                "lead_unit": str(row["lead_unit"] or ""),
                "units": [
                    {"unit_id": str(u["unit_id"]), "hours": int(u["hours"])} for u in row["units"]
                ],
            }
        )
    return out


def publish(session: Session, cycle: Cycle, actor: Actor) -> None:
    """Freeze the draft as the cycle's next version (entering ``published``).

    Refused (409) with an objection unanswered (``objections_open``), a review the
    cycle uses without a standing approval of the draft (``review_missing``), or no
    draft (``no_draft``)."""
    if cycle.draft_run_id is None:
        raise ApiError(
            409,
            "no_draft",
            Text(N_("cycle {id} has no draft project list: adopt a run first"), id=cycle.id),
        )
    open_ = session.execute(
        select(func.count())
        .select_from(CycleObjection)
        .where(CycleObjection.cycle_id == cycle.id, CycleObjection.answer.is_(None))
    ).scalar_one()
    if open_:
        raise ApiError(
            409,
            "objections_open",
            Text(N_("{n} objection(s) not answered yet: answer every one first"), n=int(open_)),
            [{"field": "objections", "value": int(open_)}],
        )
    missing = [p for p, r in core.valid_approvals(session, cycle).items() if r is None]
    if missing:
        raise ApiError(
            409,
            "review_missing",
            Text(N_("the draft has no standing approval of the {phase}"), phase=missing[0]),
            [{"field": "phase", "value": missing[0]}],
        )
    plan = _plan(session, cycle, cycle.draft_run_id)
    previous = _latest(session, cycle.id)
    diff = None
    if previous is not None:
        diff = _diff(_plan(session, cycle, previous.run_id), plan, previous)
    number = 1 if previous is None else previous.version + 1
    rows = _project_rows(plan)
    session.add(
        CycleVersion(
            cycle_id=cycle.id,
            version=number,
            run_id=cycle.draft_run_id,
            published_by=actor.key_id,
            published_at=utcnow(),
            diff=diff,
        )
    )
    session.flush()
    session.add_all(CycleProject(cycle_id=cycle.id, version=number, **row) for row in rows)
    session.flush()
    audit.record(
        session,
        actor,
        "publish_version",
        cycle_id=cycle.id,
        target=f"cycle:{cycle.id}:v{number}",
        after={"version": number, "projects": len(rows)},
        visibility="public",
    )


def list_versions(session: Session, cycle: Cycle, actor: Actor) -> list[tuple[CycleVersion, int]]:
    """The cycle's published versions, oldest first, each with its number of projects."""
    may_read(actor, cycle)
    counts = dict(
        session.execute(
            select(CycleProject.version, func.count())
            .where(CycleProject.cycle_id == cycle.id)
            .group_by(CycleProject.version)
        ).all()
    )
    rows = session.execute(
        select(CycleVersion).where(CycleVersion.cycle_id == cycle.id).order_by(CycleVersion.version)
    ).scalars()
    return [(v, int(counts.get(v.version, 0))) for v in rows]


def _projects_of(
    session: Session, cycle_id: str, version: int, community_id: str | None = None
) -> list[CycleProject]:
    where = [CycleProject.cycle_id == cycle_id, CycleProject.version == version]
    if community_id is not None:
        where.append(CycleProject.community_id == community_id)
    rows = session.execute(select(CycleProject).where(*where).order_by(CycleProject.demand_id))
    return list(rows.scalars())


def get_version(
    session: Session, cycle: Cycle, actor: Actor, version: int
) -> tuple[CycleVersion, list[CycleProject]]:
    """A published version and its projects (404 if the cycle has no such version)."""
    may_read(actor, cycle)
    row = session.get(CycleVersion, (cycle.id, version))
    if row is None:
        raise ApiError(
            404,
            "not_found",
            Text(N_("cycle {id} has no version {n}"), id=cycle.id, n=version),
        )
    return row, _projects_of(session, cycle.id, version)


# ---------------------------------------------------------------------------- the notice


@dataclass(frozen=True)
class NoticeList:
    """The list the public reads now: where it comes from (``draft``, ``version``,
    ``none``), its version, when it began, and its projects (public columns)."""

    on_notice: bool
    source: str
    version: int | None
    since: dt.datetime | None
    projects: list[dict[str, Any]]


def notice_list(session: Session, cycle: Cycle, community_id: str | None = None) -> NoticeList:
    """The list on notice (all communities', or one community's): the draft during
    ``public_notice``, the newest version in the other phases where the public may
    ``read_notice``; nothing (``on_notice`` false) in the rest."""
    if not can("public", cycle.phase, "read_notice"):
        return NoticeList(False, "none", None, None, [])
    if cycle.phase == "public_notice":
        if cycle.draft_run_id is None:
            return NoticeList(True, "none", None, cycle.phase_since, [])
        rows = _project_rows(_plan(session, cycle, cycle.draft_run_id))
        if community_id is not None:
            rows = [r for r in rows if r["community_id"] == community_id]
        return NoticeList(True, "draft", None, cycle.phase_since, rows)
    latest = _latest(session, cycle.id)
    if latest is None:
        return NoticeList(True, "none", None, None, [])
    stored = _projects_of(session, cycle.id, latest.version, community_id)
    rows = [
        {c: getattr(p, c) for c in CSV_COLUMNS if c != "units"} | {"units": list(p.units)}
        for p in stored
    ]
    return NoticeList(True, "version", latest.version, latest.published_at, rows)


def public_entries(session: Session, cycle: Cycle, limit: int = 200) -> list[AuditEntry]:
    """The cycle's newest public audit entries (at most ``limit``), oldest first."""
    rows = session.execute(
        select(AuditEntry)
        .where(AuditEntry.cycle_id == cycle.id, AuditEntry.visibility == "public")
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).scalars()
    return list(reversed(list(rows)))


def answered(session: Session, cycle: Cycle, community_id: str) -> list[CycleObjection]:
    """The answered objections about a community, oldest first."""
    rows = session.execute(
        select(CycleObjection)
        .where(
            CycleObjection.cycle_id == cycle.id,
            CycleObjection.community_id == community_id,
            CycleObjection.answer.is_not(None),
        )
        .order_by(CycleObjection.id)
    ).scalars()
    return list(rows)


def notice_csv(session: Session, cycle_id: str) -> bytes:
    """The list on notice as CSV (UTF-8 with a BOM for spreadsheets): 404 for an unknown
    cycle, 404 ``not_on_notice`` when the public may not read it now."""
    cycle = public_cycle(session, cycle_id)
    listed = notice_list(session, cycle)
    if not listed.on_notice or listed.source == "none":
        raise not_on_notice(cycle)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in listed.projects:
        units = ";".join(f"{u['unit_id']}:{u['hours']}" for u in row["units"])
        writer.writerow([*(row[c] for c in CSV_COLUMNS[:-1]), units])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def not_on_notice(cycle: Cycle) -> ApiError:
    """The 404 of a list the public may not read in the cycle's phase."""
    return ApiError(
        404,
        "not_on_notice",
        Text(
            N_("the project list of cycle {id} is not on public notice in phase {phase}"),
            id=cycle.id,
            phase=cycle.phase,
        ),
        [{"field": "phase", "value": cycle.phase}],
    )
