"""``/recommendations``: pairing and alliance recommendation runs.

A recommendation run is a run (a row of ``runs`` with ``kind`` ``pairings`` or
``alliances``): it is queued, started, cancelled and time-limited by the same dispatcher
and worker processes as a plan run and kept in the same history, but it is read here,
because its results are other tables. ``/runs`` keeps answering for plan runs only, as
before. The worker calls :func:`matcher.analysis.recommend.recommend_pairings` or
:func:`matcher.analysis.recommend.recommend_alliances`; see :mod:`api.recommend`.

District scopes: rows of tables by district (recommendations, districts, pairings,
gaps, candidates, alliances, alliance_members, before_after) are filtered to the key's
districts (city-wide rows, such as before_after's totals, are left out); the pairing
``units`` table (each unit's load over every district) and the summary (city-wide) are
refused (403) to a key scoped to districts.
"""

from __future__ import annotations

import hashlib
import io
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Body, Path, Query, Request, Response
from sqlalchemy.orm import Session

import matcher
from api import crud
from api.db.models import DatasetRow, Recommendation, Run
from api.deps import (
    Planner,
    Principal,
    RowsLimit,
    RowsOffset,
    RunId,
    SessionDep,
    SettingsDep,
    Viewer,
    district_scope,
)
from api.errors import ApiError, expected_text, no_results, not_found, parameter_text, responses
from api.recommend import (
    TABLES,
    TableSpec,
    delete_recommendation,
    library_params,
    options_of,
    table_frame,
)
from api.recommendation_schemas import (
    RecommendationCreate,
    RecommendationKind,
    RecommendationPublic,
    TableName,
    TableRowsPublic,
)
from api.routes.results import _download
from api.routes.runs import (
    _TIME,
    ACCEPTED,
    IdempotencyKey,
    cancel_active,
    check_queue,
    commit_queued,
    idempotent_earlier,
    new_run,
    plan_params,
    refuse_active,
    run_filters,
    scoped_key,
)
from api.schemas import Page, RunStatus
from matcher.i18n import N_, Text

__all__ = ["router"]

router = APIRouter(
    prefix="/recommendations",
    tags=["recommendations"],
    responses=responses(400, 401, 403, 413),
)

Table = Annotated[TableName, Path(description="A table of the run's kind of result.")]
District = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Only this district's rows. Tables not by district (the pairing units "
        "table: each unit's load counts every district) refuse it: 422 not_by_district.",
    ),
]
_CSV = {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}
_TABLE_422: dict[int | str, dict[str, Any]] = {
    422: {
        **responses(422)[422],
        "description": "Invalid input, or a district asked of a table that is not by "
        "district (the pairing units table; code not_by_district)",
    }
}


def get_recommendation(session: Session, run_id: str) -> tuple[Run, Recommendation]:
    """The recommendation run ``run_id`` and its request, or 404."""
    run = session.get(Run, run_id)
    if run is None:
        raise not_found("recommendation run", run_id)
    rec = session.get(Recommendation, run_id)
    if rec is None:
        raise ApiError(
            404,
            "not_found",
            Text(
                N_("run {id} is a plan run, not a recommendation: read it at /runs/{run}"),
                id=repr(run_id),
                run=run_id,
            ),
        )
    return run, rec


def _succeeded(session: Session, run_id: str) -> tuple[Run, Recommendation]:
    run, rec = get_recommendation(session, run_id)
    if run.status != "succeeded":
        raise no_results(run_id, run.status)
    return run, rec


def _communities(session: Session, dataset_id: str) -> pd.DataFrame:
    blob = crud.dataset_table_parquet(session, dataset_id, "communities")
    return pd.read_parquet(io.BytesIO(blob))


def _options(body: Any, session: Session) -> dict[str, Any]:
    """The request's options, checked by the library (and its scope against the dataset's
    communities); every option, defaults included. Raises 422 naming the option."""
    kind: str = body.kind
    try:
        params = library_params(kind, body.options.model_dump(exclude_none=True))
        params.scope.mask(_communities(session, body.dataset_id))
    except matcher.ParameterError as exc:
        field = f"{kind}.options.{exc.name}"
        # Rendered in the request's language by the error handler.
        raise ApiError(
            422,
            "invalid_parameter",
            parameter_text(exc),
            [{"field": field, "value": repr(exc.value), "message": expected_text(exc)}],
        ) from None
    return options_of(params)


def _accepted(response: Response, run: Run, rec: Recommendation) -> RecommendationPublic:
    response.status_code = 202
    response.headers["Location"] = f"/recommendations/{run.id}"
    return RecommendationPublic.from_rows(run, rec)


@router.post(
    "",
    status_code=202,
    response_model=RecommendationPublic,
    responses={**ACCEPTED, **responses(404, 422)},
    summary="Queue a pairing or alliance recommendation run",
)
def create_recommendation(
    body: Annotated[RecommendationCreate, Body()],
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    who: Planner,
    idempotency_key: IdempotencyKey = None,
) -> RecommendationPublic:
    """Queue ``matcher.analysis.recommend.recommend_pairings`` (``kind: pairings``) or
    ``matcher.analysis.recommend.recommend_alliances`` (``kind: alliances``) on a stored dataset;
    202 with ``Location``.

    ``options`` are the library's ``PairingParams`` / ``AllianceParams`` (omitted: their
    defaults), ``params`` and ``integer_rules`` the plan's, as for ``POST /runs``. A value
    the library refuses is a 422 naming the field; a request the data cannot satisfy
    (communities that cannot reach ``min_partners``) becomes a failed run whose error is
    the library's diagnosis.
    """
    canonical = body.model_dump_json(exclude_none=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    stored_key = scoped_key(who, idempotency_key)
    earlier = idempotent_earlier(session, stored_key, digest, who.key_id)
    if earlier is not None:
        return _accepted(response, *get_recommendation(session, earlier.id))
    check_queue(session, settings, who)
    if session.get(DatasetRow, body.dataset_id) is None:
        raise not_found("dataset", body.dataset_id)
    params = plan_params(body.params, body.integer_rules, prefix=f"{body.kind}.")
    options = _options(body, session)
    run = new_run(
        body,
        settings,
        who.key_id,
        stored_key,
        digest,
        kind=body.kind,
        dataset_id=body.dataset_id,
        params=params,
    )
    rec = Recommendation(run_id=run.id, kind=body.kind, options=options)
    queued = commit_queued(request, session, run, rec)
    if queued is not run:
        return _accepted(response, *get_recommendation(session, queued.id))
    return _accepted(response, run, rec)


@router.get("", response_model=Page[RecommendationPublic], responses=responses(422))
def list_recommendations(
    session: SessionDep,
    who: Viewer,
    kind: RecommendationKind | None = None,
    dataset_id: Annotated[str | None, Query(max_length=32)] = None,
    label: Annotated[str | None, Query(max_length=300)] = None,
    status: RunStatus | None = None,
    created_after: Annotated[str | None, _TIME] = None,
    created_before: Annotated[str | None, _TIME] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[RecommendationPublic]:
    """Recommendation runs, newest first, filtered by kind, dataset, label, status and
    creation time."""
    filters = run_filters(dataset_id, label, status, created_after, created_before)
    rows, total = crud.list_recommendations(session, filters, kind, limit, offset)
    return Page[RecommendationPublic](
        items=[RecommendationPublic.from_rows(r, rec, who.districts) for r, rec in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{run_id}", response_model=RecommendationPublic, responses=responses(404, 422))
def read_recommendation(run_id: RunId, session: SessionDep, who: Viewer) -> RecommendationPublic:
    """A recommendation run: status, options, timings, error, gain, summary."""
    return RecommendationPublic.from_rows(*get_recommendation(session, run_id), who.districts)


@router.post(
    "/{run_id}/cancel", response_model=RecommendationPublic, responses=responses(404, 409, 422)
)
def cancel_recommendation(
    run_id: RunId, request: Request, session: SessionDep, _who: Planner
) -> RecommendationPublic:
    """Cancel a queued or running recommendation (a running one's worker is stopped)."""
    run, rec = get_recommendation(session, run_id)
    cancel_active(request, session, run_id, run)
    return RecommendationPublic.from_rows(run, rec)


@router.delete("/{run_id}", status_code=204, responses=responses(404, 409, 422))
def delete_recommendation_run(run_id: RunId, session: SessionDep, _who: Planner) -> Response:
    """Delete a finished recommendation run and its tables (cancel an active one first)."""
    run, _rec = get_recommendation(session, run_id)
    refuse_active(run_id, run)
    delete_recommendation(session, run_id)
    session.delete(run)
    return Response(status_code=204)


@router.get("/{run_id}/summary", response_model=dict[str, Any], responses=responses(404, 409, 422))
def summary(run_id: RunId, session: SessionDep, who: Viewer) -> dict[str, Any]:
    """The summary (``pairing_summary.json`` / ``alliance_summary.json``): counts, the
    value chosen, objective before and after, the gain, the parameters. City-wide, so a
    key scoped to districts gets 403."""
    if who.districts is not None:
        raise ApiError(
            403,
            "forbidden_summary",
            Text(
                N_(
                    "the summary counts every district; this key may read only districts "
                    "{districts}: read the tables by district instead"
                ),
                districts=", ".join(who.districts),
            ),
        )
    _run, rec = _succeeded(session, run_id)
    return dict(rec.summary or {})


def _table(
    session: Session, who: Principal, run_id: str, table: str, district: str | None
) -> tuple[Recommendation, TableSpec, list[str] | None]:
    """The run's table ``table`` and the districts to restrict it to (``None``: all)."""
    _run, rec = _succeeded(session, run_id)
    spec = TABLES[rec.kind].get(table)
    if spec is None:
        raise ApiError(
            404,
            "no_table",
            Text(
                N_("a {kind} recommendation has no table {table}; its tables are {tables}"),
                kind=rec.kind,
                table=repr(table),
                tables=", ".join(TABLES[rec.kind]),
            ),
        )
    if spec.district is not None:
        return rec, spec, district_scope(who, district)
    if who.districts is not None:
        raise ApiError(
            403,
            "forbidden_table",
            Text(
                N_(
                    "table {table} is not by district (each row counts every district); this "
                    "key may read only districts {districts}"
                ),
                table=table,
                districts=", ".join(who.districts),
            ),
        )
    if district is not None:
        raise ApiError(
            422,
            "not_by_district",
            Text(N_("table {table} is not by district; leave out district"), table=table),
            [{"field": "district", "message": Text(N_("not a column of this table"))}],
        )
    return rec, spec, None


def _columns(rec: Recommendation, table: str) -> list[str]:
    return [str(c) for c in (rec.tables or {}).get(table, {}).get("columns", [])]


@router.get(
    "/{run_id}/tables/{table}.csv",
    response_class=Response,
    responses={200: _CSV, **responses(404, 409), **_TABLE_422},
    summary="A recommendation's table as CSV",
)
def table_csv(
    run_id: RunId, table: Table, session: SessionDep, who: Viewer, district: District = None
) -> Response:
    """The table as the ``matcher pairings`` / ``matcher alliances`` command writes it
    (the same columns and bytes), filtered by district."""
    rec, spec, districts = _table(session, who, run_id, table, district)
    rows = [r.data for r in crud.recommendation_rows(session, run_id, table, districts)]
    frame = table_frame(_columns(rec, table), rows)
    return _download(frame, "csv", spec.file.removesuffix(".csv"))


@router.get(
    "/{run_id}/tables/{table}",
    response_model=TableRowsPublic,
    responses={**responses(404, 409), **_TABLE_422},
    summary="A recommendation's table, as JSON pages",
)
def table_rows(
    run_id: RunId,
    table: Table,
    session: SessionDep,
    who: Viewer,
    district: District = None,
    limit: RowsLimit = 100,
    offset: RowsOffset = 0,
) -> TableRowsPublic:
    """A table of the result, in the library's row order. Pairings: ``recommendations``,
    ``districts``, ``units``, ``pairings``, ``before_after``; alliances:
    ``recommendations``, ``gaps``, ``candidates``, ``alliances``, ``alliance_members``,
    ``before_after``. Rows of tables without a district column (``pairings``,
    ``alliance_members``) get the district they are filtered by."""
    rec, spec, districts = _table(session, who, run_id, table, district)
    found, total = crud.recommendation_rows_page(session, run_id, table, districts, limit, offset)
    derived = spec.district in ("community", "alliance")
    items = [{**r.data, "district": r.district} if derived else dict(r.data) for r in found]
    return TableRowsPublic(
        table=table,
        columns=_columns(rec, table),
        items=items,
        total=int(total),
        limit=limit,
        offset=offset,
    )
