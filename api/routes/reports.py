"""A run's HTML report (``matcher.report.html``), optionally compared with another run.

The report shows city-wide figures (totals, every district's coverage, the map of every
community), so a key scoped to districts is refused with 403 rather than shown a page that
would leak other districts' results; such keys read their districts' rows through the
result tables and the GeoJSON.

The page is in the language asked for: ``?lang=zh`` or ``?lang=en``, else the request's
``Accept-Language`` (``zh-CN`` gives Chinese), else English; the ids, ``data-*``
attributes and numbers are the same in every language.

The page is not made in the server: the run's worker makes it in every language once the
plan is stored, and a comparison with another run is made on its first request (in the
language asked for) in a read worker; all are kept in the store (:mod:`api.artifacts`),
so a request is a lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api import artifacts
from api.db.models import DatasetRow
from api.deps import LangQuery, RunReadDep
from api.errors import ApiError, request_lang, responses
from api.routes.datasets import file_route
from api.routes.results import succeeded_run
from matcher.i18n import N_, Text
from matcher.report.html import HTML_LANG

__all__ = ["router"]

router = APIRouter(
    prefix="/runs",
    tags=["reports"],
    responses={**responses(400, 401, 403, 413, 404, 409, 422), **artifacts.busy_response()},
)

Against = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=32,
        description="Another succeeded run to compare with (KPIs with deltas, demands "
        "whose coverage changed, assignments added and removed).",
    ),
]

_HTML = {
    "content": {"text/html": {"schema": {"type": "string"}}},
    "description": "One self-contained HTML page (no network needed to view it)",
}


@file_route(router, "/{run_id}/report", _HTML, "The plan's HTML report")
def report(
    read: RunReadDep,
    against: Against = None,
    lang: LangQuery = None,
) -> Response:
    """One self-contained HTML page: KPIs, a map of the communities by coverage, coverage
    by district and category, supply against demand per skill, supplier utilization, the
    largest unmet demands with their reasons, and with ``against`` a comparison with
    another run. Keys scoped to districts get 403 (the report shows every district).

    In the language of ``lang`` (else of ``Accept-Language``, else English): titles,
    labels, tooltips and reasons; the ids, ``data-*`` attributes and numbers are the same
    in every language. A ``lang`` the service does not speak is refused (422).

    Served from the store: the run's worker made the page once the plan was stored; a
    comparison is made on first request in a read worker and kept (503 with Retry-After
    when as many reads are being computed as the server allows)."""
    request, session, who = read.request, read.session, read.who
    if who.districts is not None:
        raise ApiError(
            403,
            "forbidden_report",
            Text(
                N_(
                    "the report shows every district's results; this key may read only "
                    "districts {districts}: read them from /runs/{{id}}/demand_status, "
                    "/assignments or /communities.geojson instead"
                ),
                districts=", ".join(who.districts),
            ),
        )
    run = succeeded_run(session, read.run_id)
    if session.get(DatasetRow, run.dataset_id) is None:
        raise ApiError(
            409, "no_dataset", Text(N_("the dataset of run {run_id} is gone"), run_id=read.run_id)
        )
    page_lang = request_lang(request)  # ?lang= when given (checked above), else the header
    if against is None:
        page = artifacts.read(request, run.id, artifacts.report_name(page_lang))
    else:
        other = succeeded_run(session, against)
        name = artifacts.against_name(other.id, page_lang)
        page = artifacts.read(request, run.id, name, other.id)
    # The page depends on Accept-Language when ?lang= is not given: caches must know.
    headers = {"Content-Language": HTML_LANG.get(page_lang, page_lang), "Vary": "Accept-Language"}
    return Response(page.content, media_type=page.media_type, headers=headers)
