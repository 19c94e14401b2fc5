"""A cycle's draft project list: plan runs on the cycle's lists, the run adopted as the
draft, the planner's edits of it (stable re-plans stored as runs of their own), and the
next cycle's stable plan against the quarter before.

Every change of the draft voids the reviews given so far (:func:`void_reviews`) and is
logged for the reviewers; the runs a cycle uses may not be deleted (:func:`run_in_use`).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from fastapi import Request
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import matcher
from api import store
from api.artifacts import stored_plan
from api.cycles import audit
from api.cycles.access import Actor, authorize, forbidden_role
from api.cycles.core import parameter_error
from api.db.models import (
    Cycle,
    CycleEdit,
    CycleReview,
    CycleVersion,
    Run,
    utcnow,
)
from api.errors import ApiError, not_found
from api.routes.runs import (
    check_queue_of,
    checked_params,
    commit_queued,
    new_run,
    request_hash,
)
from api.schemas import RunCreate
from api.settings import Settings
from matcher.analysis.replan import churn as churn_of
from matcher.analysis.replan import replan
from matcher.cycle.projects import Edit, edit_draft, projects
from matcher.errors import ParameterError, ReplanError
from matcher.i18n import N_, Text
from matcher.inputs.io import plain_value

__all__ = [
    "FULL_READERS",
    "adopt_run",
    "draft_projects",
    "edit",
    "list_edits",
    "planned_dataset",
    "queue_run",
    "stable_plan",
    "void_reviews",
]

FULL_READERS = ("planner", "admin", "street_reviewer", "district_reviewer")
"""Who reads the draft with its suppliers (cadres named); everyone else reads the public
project list."""


def void_reviews(session: Session, cycle: Cycle) -> int:
    """Void the cycle's reviews not voided yet (the draft they saw has changed); how
    many."""
    done = session.execute(
        update(CycleReview)
        .where(CycleReview.cycle_id == cycle.id, CycleReview.voided_at.is_(None))
        .values(voided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def planned_dataset(cycle: Cycle) -> str:
    """The id of the cycle's lists' snapshot (409 before planning opens)."""
    if cycle.dataset_id is None:
        raise ApiError(
            409,
            "no_dataset",
            Text(N_("cycle {id} has no lists to plan yet: open planning first"), id=cycle.id),
        )
    return cycle.dataset_id


def queue_run(
    request: Request,
    session: Session,
    settings: Settings,
    cycle: Cycle,
    actor: Actor,
    body: Mapping[str, Any],
) -> Run:
    """Queue a plan run on the cycle's lists (``body``: POST /runs' body without the
    dataset), as POST /runs does; logged privately, naming the key or console user."""
    authorize(actor, cycle, "run_plan")
    check_queue_of(session, settings, actor.key_id, actor.user_id)
    dataset_id = planned_dataset(cycle)
    values = dict(body)
    values.setdefault("label", f"cycle {cycle.period} {cycle.district} plan")
    run_body = RunCreate.model_validate({**values, "dataset_id": dataset_id})
    params = checked_params(run_body, session)
    run = new_run(
        run_body,
        settings,
        actor.key_id,
        None,
        request_hash(run_body),
        created_by_user=actor.user_id,
        dataset_id=dataset_id,
        warm_start_run_id=run_body.warm_start_run_id,
        params=params,
    )
    audit.record(
        session,
        actor,
        "run_plan",
        cycle_id=cycle.id,
        target=f"run:{run.id}",
        after={"run": run.id, "dataset_id": dataset_id, "params": params},
    )
    return commit_queued(request, session, run)


def _refused_run(run_id: str, why: Text, status: int = 409) -> ApiError:
    return ApiError(
        status,
        "run_not_adoptable",
        Text(N_("run {id} cannot be the draft: {why}"), id=repr(run_id), why=why),
        [{"field": "run_id", "value": run_id, "message": why}],
    )


def adopt_run(session: Session, cycle: Cycle, actor: Actor, run_id: str) -> Run:
    """Make a succeeded plan run of the cycle's lists its draft; the reviews are voided
    and the change logged for the reviewers."""
    authorize(actor, cycle, "adopt_run")
    dataset_id = planned_dataset(cycle)
    run = session.get(Run, run_id)
    if run is None:
        raise _refused_run(run_id, Text(N_("no such run")), 422)
    if run.kind != "plan" or run.status != "succeeded":
        raise _refused_run(
            run_id,
            Text(N_("it is a {kind} run that is {status}"), kind=run.kind, status=run.status),
        )
    if run.dataset_id != dataset_id:
        raise _refused_run(
            run_id,
            Text(
                N_("it planned dataset {other}, not the cycle's lists {dataset}"),
                other=run.dataset_id,
                dataset=dataset_id,
            ),
        )
    before = cycle.draft_run_id
    cycle.draft_run_id = run.id
    voided = void_reviews(session, cycle)
    session.flush()
    audit.record(
        session,
        actor,
        "adopt_run",
        cycle_id=cycle.id,
        target=f"run:{run.id}",
        before={"run": before},
        after={"run": run.id, "objective": run.objective, "reviews_voided": voided},
        visibility="reviewers",
    )
    return run


def _draft_run(session: Session, cycle: Cycle) -> Run:
    run = session.get(Run, cycle.draft_run_id) if cycle.draft_run_id else None
    if run is None:
        raise ApiError(
            409,
            "no_draft",
            Text(N_("cycle {id} has no draft project list: adopt a run first"), id=cycle.id),
        )
    return run


def _edits(items: Sequence[Mapping[str, Any]]) -> list[Edit]:
    out = []
    for i, item in enumerate(items):
        try:
            out.append(
                Edit(
                    str(item.get("action")),
                    str(item.get("supplier_kind")),
                    str(item.get("supplier_id", "")),
                    str(item.get("demand_id", "")),
                    hours=item.get("hours"),
                    to_kind=item.get("to_kind"),
                    to_id=item.get("to_id"),
                )
            )
        except ParameterError as exc:
            name = "supplier_kind" if exc.name == "kind" else exc.name
            raise parameter_error(
                ParameterError(f"edits[{i}].{name}", exc.value, exc.expected)
            ) from None
    return out


def _replan(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    previous: Run,
    *,
    action: str,
    edits: list[dict[str, Any]],
    change_penalty: float,
    items: Sequence[Edit] = (),
) -> CycleEdit:
    """Re-plan the cycle's lists against ``previous`` (with ``items`` edits), store the
    plan as a new succeeded run, adopt it, void the reviews and log it."""
    dataset_id = planned_dataset(cycle)
    dataset = store.load_dataset(session, dataset_id)
    plan = stored_plan(session, previous)
    try:
        params = matcher.PlanParams.from_mapping(previous.params or {})
        inputs = edit_draft(plan, items)
        started = time.perf_counter()
        result = replan(
            dataset,
            inputs.previous,
            params,
            change_penalty=change_penalty,
            pinned=list(inputs.pinned),
            forbidden=list(inputs.excluded),
        )
    except ParameterError as exc:
        raise parameter_error(exc) from None
    except ReplanError as exc:
        message = str(exc)
        raise ApiError(
            422,
            "replan_refused",
            Text(N_("the re-plan is refused: {why}"), why=message),
            [{"field": "edits", "message": message}],
        ) from None
    seconds = time.perf_counter() - started
    n = (
        session.execute(
            select(func.count()).select_from(CycleEdit).where(CycleEdit.cycle_id == cycle.id)
        ).scalar_one()
        + 1
    )
    token = uuid.uuid4().hex
    now = utcnow()
    label = (
        f"cycle {cycle.period} draft edit {n}"
        if action == "edit"
        else f"cycle {cycle.period} stable plan {n}"
    )
    digest = hashlib.sha256(
        json.dumps([previous.id, edits, change_penalty], sort_keys=True).encode()
    ).hexdigest()
    run = Run(
        id=uuid.uuid4().hex,
        kind="plan",
        dataset_id=dataset_id,
        label=label,
        status="running",
        params=params.to_dict(),
        integer_rules=dict(previous.integer_rules or {}),
        time_limit_s=previous.time_limit_s,
        request_hash=digest,
        created_by=actor.key_id,
        created_at=now,
        started_at=now,
        claim_token=token,
    )
    session.add(run)
    session.flush()
    if not store.save_plan(session, run.id, token, result, dataset, {"replan": seconds}):
        raise RuntimeError("a re-planned run was not saved")  # pragma: no cover
    session.refresh(run)
    # what changed against the run edited (an excluded pair's hours count), not
    # against the edited inputs the re-plan saw
    churn = churn_of(plan.assignments, result.assignments)
    before = cycle.draft_run_id
    row = CycleEdit(
        cycle_id=cycle.id,
        action=action,
        edits=edits,
        run_before=previous.id,
        run_after=run.id,
        churn=json.loads(json.dumps(churn, default=str)),
        by_key=actor.key_id,
        at=now,
    )
    session.add(row)
    cycle.draft_run_id = run.id
    voided = void_reviews(session, cycle)
    session.flush()
    audit.record(
        session,
        actor,
        action if action == "stable_plan" else "edit_draft",
        cycle_id=cycle.id,
        target=f"run:{run.id}",
        before={"run": before, "objective": previous.objective},
        after={
            "run": run.id,
            "objective": run.objective,
            "edits": edits,
            "change_penalty": change_penalty,
            "churn": row.churn,
            "reviews_voided": voided,
        },
        visibility="reviewers",
    )
    return row


def edit(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    edits: Sequence[Mapping[str, Any]],
    change_penalty: float = 0.0,
) -> CycleEdit:
    """Edit the draft (exclude, pin, move hours: :mod:`matcher.cycle.projects`) by a
    stable re-plan stored as a new run and adopted. 422 naming ``edits[i].field`` for a
    refused edit, ``replan_refused`` when a pin is impossible, ``invalid_parameter`` for
    a draft with integer rules."""
    authorize(actor, cycle, "edit_draft")
    draft = _draft_run(session, cycle)
    items = _edits(edits)
    plain = [{k: v for k, v in dict(e).items() if v is not None} for e in edits]
    return _replan(
        session,
        cycle,
        actor,
        draft,
        action="edit",
        edits=plain,
        change_penalty=change_penalty,
        items=items,
    )


def previous_version_run(session: Session, cycle: Cycle) -> str:
    """The run of the latest published version of the cycle before (409 when none)."""
    run_id = None
    if cycle.previous_cycle_id is not None:
        run_id = session.execute(
            select(CycleVersion.run_id)
            .where(CycleVersion.cycle_id == cycle.previous_cycle_id)
            .order_by(CycleVersion.version.desc())
            .limit(1)
        ).scalar_one_or_none()
    if run_id is None:
        raise ApiError(
            409,
            "no_previous_list",
            Text(N_("cycle {id} has no published project list of a cycle before it"), id=cycle.id),
        )
    return str(run_id)


def stable_plan(
    session: Session, cycle: Cycle, actor: Actor, previous_run_id: str, change_penalty: float
) -> CycleEdit:
    """A plan of the cycle's lists that keeps a previous run's assignments where it can
    (no pins; ``change_penalty`` per hour changed), stored, adopted as the draft and
    recorded as an edit ``stable_plan``."""
    authorize(actor, cycle, "edit_draft")
    previous = session.get(Run, previous_run_id)
    if previous is None:
        raise not_found("run", previous_run_id)
    return _replan(
        session,
        cycle,
        actor,
        previous,
        action="stable_plan",
        edits=[],
        change_penalty=change_penalty,
    )


def _jsonable(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for values in frame.itertuples(index=False, name=None):
        out.append(
            {
                c: v if isinstance(v, list) else plain_value(v)
                for c, v in zip(frame.columns, values, strict=True)
            }
        )
    return out


def draft_projects(session: Session, cycle: Cycle, actor: Actor) -> dict[str, Any]:
    """The draft's project list (with suppliers for planners and reviewers, the public
    list for everyone else), its run, objective, bound and gap."""
    run = _draft_run(session, cycle)
    public = actor.role not in FULL_READERS
    rows = projects(stored_plan(session, run), public=public)
    gap = run.gap if run.gap is not None and math.isfinite(run.gap) else None
    return {
        "run_id": run.id,
        "objective": run.objective,
        "bound": run.bound,
        "gap": gap,
        "public": public,
        "projects": _jsonable(rows),
    }


def list_edits(session: Session, cycle: Cycle, actor: Actor) -> list[CycleEdit]:
    """The cycle's edits of its draft, oldest first (they name cadres: planners and
    reviewers only, 403 for other roles)."""
    if actor.role not in FULL_READERS:
        raise forbidden_role(actor, "read_edits", FULL_READERS)
    return list(
        session.execute(
            select(CycleEdit).where(CycleEdit.cycle_id == cycle.id).order_by(CycleEdit.id)
        ).scalars()
    )
