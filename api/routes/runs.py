"""``/runs``: queue, read, list, cancel and delete planning runs."""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy.orm import Session

import matcher
from api import crud, store
from api.cycles.core import run_in_use
from api.db.models import ACTIVE_STATUSES, DatasetRow, Run, utcnow
from api.deps import Planner, Principal, RunId, SessionDep, SettingsDep, Viewer, too_many
from api.errors import ApiError, expected_text, not_found, parameter_text, responses
from api.scenarios import apply_to_stored
from api.schemas import (
    IntegerRulesCreate,
    Page,
    ParamsCreate,
    QueuedRunCreate,
    RunCreate,
    RunPublic,
    RunStatus,
)
from api.settings import Settings
from matcher.i18n import N_, Text

__all__ = [
    "ACCEPTED",
    "RULE_FIELDS",
    "IdempotencyKey",
    "cancel_active",
    "check_queue",
    "check_queue_of",
    "checked_params",
    "commit_queued",
    "get_run",
    "idempotent_earlier",
    "new_run",
    "plan_params",
    "refuse_active",
    "request_hash",
    "router",
    "run_filters",
    "scoped_key",
]

router = APIRouter(prefix="/runs", tags=["runs"], responses=responses(400, 401, 403, 413))


RULE_FIELDS = {
    "min_hours": "apply_min_hours",
    "funds": "apply_funds",
    "leads": "apply_leads",
    "max_communities_per_cadre": "max_communities_per_cadre",
    "coverage_floor": "coverage_floor",
}
"""Each integer rule of a run's request and the plan parameter that turns it on."""


def get_run(session: SessionDep, run_id: str) -> Run:
    """The run ``run_id``, or 404."""
    run = session.get(Run, run_id)
    if run is None:
        raise not_found("run", run_id)
    if run.kind != "plan":  # a recommendation run: its own routes read it
        raise ApiError(
            404,
            "not_found",
            Text(
                N_(
                    "run {id} is a {kind} recommendation, not a plan: read it at "
                    "/recommendations/{run}"
                ),
                id=repr(run_id),
                kind=run.kind,
                run=run_id,
            ),
        )
    return run


def plan_params(
    params: ParamsCreate, integer_rules: IntegerRulesCreate, prefix: str = ""
) -> dict[str, Any]:
    """The full plan parameters of a request, checked by ``matcher.PlanParams``; a value
    it refuses is a 422 naming the field (``{prefix}params.max_travel_km``)."""
    values = {**params.model_dump(exclude_none=True), **integer_rules.to_params()}
    try:
        checked = matcher.PlanParams.from_mapping(values)
    except matcher.ParameterError as exc:
        rules = {v: f"{prefix}integer_rules.{k}" for k, v in RULE_FIELDS.items()}
        field = rules.get(exc.name, f"{prefix}params.{exc.name}")
        raise ApiError(
            422,
            "invalid_parameter",
            parameter_text(exc),
            [{"field": field, "value": repr(exc.value), "message": expected_text(exc)}],
        ) from None
    return checked.to_dict()


def checked_params(body: RunCreate, session: SessionDep) -> dict[str, Any]:
    """Validate a run request; returns the full parameters. Raises 404/422."""
    if session.get(DatasetRow, body.dataset_id) is None:
        raise not_found("dataset", body.dataset_id)
    if body.warm_start_run_id is not None:
        start = session.get(Run, body.warm_start_run_id)
        if start is None:
            raise not_found("run", body.warm_start_run_id)
        if start.kind != "plan" or start.status != "succeeded":
            detail = (
                Text(
                    N_(
                        "run {id} is a plan that is {status}: a warm start needs a "
                        "succeeded plan run"
                    ),
                    id=repr(start.id),
                    status=start.status,
                )
                if start.kind == "plan"
                else Text(
                    N_(
                        "run {id} is a {kind} recommendation that is {status}: a warm start "
                        "needs a succeeded plan run"
                    ),
                    id=repr(start.id),
                    kind=start.kind,
                    status=start.status,
                )
            )
            raise ApiError(
                422,
                "invalid_warm_start",
                detail,
                [
                    {
                        "field": "warm_start_run_id",
                        "value": start.id,
                        "message": Text(N_("not usable")),
                    }
                ],
            )
    return plan_params(body.params, body.integer_rules)


def request_hash(body: RunCreate) -> str:
    """The SHA-256 of a run request's canonical JSON (what an Idempotency-Key is held to)."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def scoped_key(who: Principal, key: str | None) -> str | None:
    """How an ``Idempotency-Key`` is stored in ``runs.idempotency_key``: prefixed with
    the id of the API key that sent it (``17:weekly-2026-48``), so two keys sending the
    same Idempotency-Key get runs of their own (the column stays unique, no migration).
    Keys stored bare before this still sit in the column and match no new request."""
    return None if key is None else f"{who.key_id}:{key}"


_REUSED = Text(N_("this Idempotency-Key was used with a different request body"))


def idempotent_earlier(
    session: SessionDep, key: str | None, digest: str, key_id: int | None
) -> Run | None:
    """The run made before with the stored (scoped) Idempotency-Key ``key`` (``None`` if
    none); 422 when it was made from another body, or by another API key (a bare key
    stored before keys were scoped that happens to read ``<id>:<key>``)."""
    if key is None:
        return None
    earlier = crud.run_by_idempotency_key(session, key)
    if earlier is not None and earlier.created_by != key_id:
        raise ApiError(
            422,
            "idempotency_key_reused",
            Text(
                N_(
                    "this Idempotency-Key is held by a run stored before keys were scoped to "
                    "the API key; use another"
                )
            ),
            [{"field": "Idempotency-Key", "message": Text(N_("held by an older run"))}],
        )
    if earlier is not None and earlier.request_hash != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            _REUSED,
            [
                {
                    "field": "Idempotency-Key",
                    "message": Text(N_("already used for another body")),
                }
            ],
        )
    return earlier


def new_run(
    body: QueuedRunCreate,
    settings: SettingsDep,
    created_by: int | None,
    stored_key: str | None,
    digest: str,
    *,
    created_by_user: int | None = None,
    **columns: Any,
) -> Run:
    """A new queued run of ``body`` (not yet stored), sent with key ``created_by``
    (``None``: a console user, named in the audit log) with the stored
    Idempotency-Key ``stored_key`` and the request's hash ``digest``; its time limit is
    the one asked for, capped to the server's. ``columns`` are the rest of its row."""
    return Run(
        id=uuid.uuid4().hex,
        label=body.label,
        status="queued",
        integer_rules=body.integer_rules.model_dump(exclude_none=True),
        time_limit_s=min(float(body.time_limit_s or math.inf), settings.run_time_limit_s),
        idempotency_key=stored_key,
        request_hash=digest,
        created_by=created_by,
        created_by_user=created_by_user,
        created_at=utcnow(),
        **columns,
    )


def _wake_dispatcher(request: Request) -> None:
    """Have the dispatcher look at the queue now (a run was queued or cancelled)."""
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


def commit_queued(request: Request, session: SessionDep, run: Run, *extra: Any) -> Run:
    """Commit a new queued run (and ``extra`` rows) and wake the dispatcher; when the
    same Idempotency-Key was just committed by a concurrent request, the run made by it
    (422 for another body)."""
    if crud.add_queued(session, run, *extra):
        _wake_dispatcher(request)
        return run
    # the same key, sent twice at once
    earlier = idempotent_earlier(session, run.idempotency_key, run.request_hash, run.created_by)
    if earlier is None:
        raise ApiError(
            422,
            "idempotency_key_reused",
            _REUSED,
        )
    return earlier


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Repeat a request safely: the same key and body from the same API key "
        "give the same run, solved once; the same key with another body is refused (422). "
        "Keys are scoped to the API key: another API key's equal Idempotency-Key is "
        "another request.",
    ),
]

# A queued run leaves the queue when a solve ends, seconds to minutes away; half a minute
# is a polite time to ask again without polling the queue hard.
QUEUE_RETRY_S = 30


def check_queue(session: SessionDep, settings: SettingsDep, who: Principal) -> None:
    """429 when the key has ``max_queued_runs_per_key`` runs (plans and recommendations)
    queued already. Counted before the new run is stored, so requests sent at the same
    instant may pass the cap by the few that race."""
    check_queue_of(session, settings, who.key_id, None)


def check_queue_of(
    session: Session, settings: Settings, key_id: int | None, user_id: int | None
) -> None:
    """As :func:`check_queue`, for a key or else a console user (the same cap)."""
    cap = settings.max_queued_runs_per_key
    if cap == 0:
        return
    queued = crud.count_queued(session, key_id, user_id)
    if queued >= cap:
        message = (
            N_(
                "this API key has {queued} runs queued, the most it may have "
                "(MATCHER_MAX_QUEUED_RUNS_PER_KEY={cap}): wait for some to start, or "
                "cancel some"
            )
            if key_id is not None
            else N_(
                "you have {queued} runs queued, the most one may have "
                "(MATCHER_MAX_QUEUED_RUNS_PER_KEY={cap}): wait for some to start, or "
                "cancel some"
            )
        )
        raise too_many(Text(message, queued=queued, cap=cap), QUEUE_RETRY_S, "too_many_queued_runs")


ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Queued (or, for a repeated Idempotency-Key, the run made before)",
        "headers": {"Location": {"description": "The run's URL", "schema": {"type": "string"}}},
    }
}


def cancel_active(request: Request, session: SessionDep, run_id: str, run: Run) -> None:
    """Cancel ``run`` (asked for as ``run_id``) and wake the dispatcher to stop its
    worker; 409 when it has already finished."""
    if not crud.cancel_run(session, run):
        raise ApiError(
            409,
            "run_finished",
            Text(N_("run {id} has already finished ({status})"), id=run_id, status=run.status),
        )
    _wake_dispatcher(request)


def refuse_active(run_id: str, run: Run) -> None:
    """409 when ``run`` (asked for as ``run_id``) is queued or running: it must be
    cancelled before it is deleted."""
    if run.status in ACTIVE_STATUSES:
        raise ApiError(
            409,
            "run_active",
            Text(N_("run {id} is {status}; cancel it first"), id=run_id, status=run.status),
        )


def _accepted(response: Response, run: Run) -> RunPublic:
    response.status_code = 202
    response.headers["Location"] = f"/runs/{run.id}"
    return RunPublic.from_row(run)


@router.post(
    "",
    status_code=202,
    response_model=RunPublic,
    responses={**ACCEPTED, **responses(404, 413, 422)},
    summary="Queue a planning run",
)
def create_run(
    body: RunCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    who: Planner,
    idempotency_key: IdempotencyKey = None,
) -> RunPublic:
    """Queue a run of ``matcher.plan`` on a stored dataset; 202 with ``Location``.

    ``params`` are checked by ``matcher.PlanParams``. With ``scenario``, its changes are
    applied to the dataset first (a 422 names the change and the field when one does not
    fit), the changed data are stored as a dataset of their own, and its ``set`` changes
    override ``params``.
    """
    digest = request_hash(body)
    stored_key = scoped_key(who, idempotency_key)
    earlier = idempotent_earlier(session, stored_key, digest, who.key_id)
    if earlier is not None:
        return _accepted(response, earlier)
    check_queue(session, settings, who)
    params = checked_params(body, session)
    dataset_id, base_id, scenario = body.dataset_id, None, None
    if body.scenario is not None:
        dataset_id, checked, scenario = apply_to_stored(
            session, body.dataset_id, body.scenario, matcher.PlanParams.from_mapping(params)
        )
        params, base_id = checked.to_dict(), body.dataset_id
    run = new_run(
        body,
        settings,
        who.key_id,
        stored_key,
        digest,
        dataset_id=dataset_id,
        base_dataset_id=base_id,
        scenario=scenario,
        warm_start_run_id=body.warm_start_run_id,
        params=params,
    )
    return _accepted(response, commit_queued(request, session, run))


_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$"
)
_TIME = Query(
    max_length=64,
    json_schema_extra={"format": "date-time"},
    description="An ISO 8601 date-time (UTC when it has no zone).",
)


def _parse_time(name: str, value: str | None) -> datetime | None:
    """An ISO 8601 query value as naive UTC (as stored); 422 when it is not one."""
    if value is None:
        return None
    try:
        if not _DATE_TIME.match(value):
            raise ValueError(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ApiError(
            422,
            "invalid_request",
            Text(
                N_(
                    "{name} must be an ISO 8601 date-time such as 2026-01-31T08:00:00Z, got {value}"
                ),
                name=name,
                value=repr(value),
            ),
            [{"field": name, "message": Text(N_("not an ISO 8601 date-time"))}],
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def run_filters(
    dataset_id: str | None,
    label: str | None,
    status: str | None,
    created_after: str | None,
    created_before: str | None,
) -> crud.RunFilters:
    """A listing's filters, its times parsed; 422 for a time that is not ISO 8601."""
    return crud.RunFilters(
        dataset_id=dataset_id,
        label=label,
        status=status,
        created_after=_parse_time("created_after", created_after),
        created_before=_parse_time("created_before", created_before),
    )


@router.get("", response_model=Page[RunPublic], responses=responses(422))
def list_runs(
    session: SessionDep,
    who: Viewer,
    dataset_id: Annotated[str | None, Query(max_length=32)] = None,
    label: Annotated[str | None, Query(max_length=300)] = None,
    status: RunStatus | None = None,
    created_after: Annotated[str | None, _TIME] = None,
    created_before: Annotated[str | None, _TIME] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[RunPublic]:
    """Plan runs, newest first, filtered by dataset, label, status and creation time
    (recommendation runs are listed by /recommendations)."""
    filters = run_filters(dataset_id, label, status, created_after, created_before)
    rows, total = crud.list_plan_runs(session, filters, limit, offset)
    return Page[RunPublic](
        items=[RunPublic.from_row(r, who.districts) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{run_id}", response_model=RunPublic, responses=responses(404, 422))
def read_run(run_id: RunId, session: SessionDep, who: Viewer) -> RunPublic:
    """A run: status, KPIs, solver status, bound and gap, timings, error."""
    return RunPublic.from_row(get_run(session, run_id), who.districts)


@router.post("/{run_id}/cancel", response_model=RunPublic, responses=responses(404, 409, 422))
def cancel_run(run_id: RunId, request: Request, session: SessionDep, _who: Planner) -> RunPublic:
    """Cancel a queued or running run (a running solve's worker is stopped)."""
    run = get_run(session, run_id)
    cancel_active(request, session, run_id, run)
    return RunPublic.from_row(run)


@router.delete("/{run_id}", status_code=204, responses=responses(404, 409, 422))
def delete_run(run_id: RunId, session: SessionDep, _who: Planner) -> Response:
    """Delete a finished run and its results (cancel a queued or running one first); a
    run a cycle's project lists use is kept (409)."""
    run = get_run(session, run_id)
    refuse_active(run_id, run)
    cycle = run_in_use(session, run_id)
    if cycle is not None:
        raise ApiError(
            409,
            "run_in_use",
            Text(
                N_(
                    "run {id} is part of cycle {cycle}'s project lists (a draft, an edit, a "
                    "review or a published version): it is kept"
                ),
                id=run_id,
                cycle=cycle,
            ),
        )
    store.delete_results(session, run_id)
    session.delete(run)
    return Response(status_code=204)
