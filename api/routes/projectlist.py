"""``GET /runs/{id}/project-list.xlsx``: a run's project list as a workbook to print
(:mod:`matcher.report.projectlist`), in Chinese or English, for the joint meeting or (``public``)
for the notice period.

A key scoped to districts gets only its districts: their sheets, their rows of the
unmet demands, and a summary counted over their demands (never the city's totals).

The workbook is written on each request, in the server's thread pool: it is made from
the stored tables (seconds for a whole city), and a stored copy would have to be kept
per language, variant and district scope.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import LangQuery, RunReadDep, district_scope
from api.errors import request_lang, responses
from api.projectlists import project_list_bytes
from api.routes.datasets import XLSX_TYPE as XLSX
from api.routes.datasets import file_route, workbook_response
from api.routes.results import succeeded_run

__all__ = ["router"]

router = APIRouter(
    prefix="/runs",
    tags=["results"],
    responses=responses(400, 401, 403, 413, 404, 409, 422),
)

District = Annotated[
    str | None,
    Query(max_length=200, description="Only this district (its sheet, rows and figures)."),
]
Public = Annotated[
    bool,
    Query(
        description="The variant for public notice: units and hours only, no cadre ids "
        "(nor homes or coordinates)."
    ),
]

_WORKBOOK = workbook_response(
    "An Excel workbook to print: a summary with charts, a sheet per district, the demands "
    "not fully met",
    "project-list-RUN-zh-public.xlsx",
)
_SUMMARY = "The plan's project list as an Excel workbook to print"


# ---- the route ------------------------------------------------------------------------


@file_route(router, "/{run_id}/project-list.xlsx", _WORKBOOK, _SUMMARY)
def project_list(
    read: RunReadDep,
    lang: LangQuery = None,
    public: Public = False,
    district: District = None,
) -> Response:
    """The project list a joint meeting prints (what `matcher export --xlsx` writes): a
    summary sheet (KPIs, coverage by district and category, with charts), one sheet per
    district (each demand with its serving units and their hours, the lead unit, the
    status and reason), and the demands not fully met. A4 landscape, fitted to the
    width, header rows repeated on every page. With `public=true`, the variant for
    public notice: units and hours only, no cadre ids. With `district`, or for a
    district-scoped key, only those districts' sheets and rows, and a summary counted
    over them."""
    districts = district_scope(read.who, district)
    run = succeeded_run(read.session, read.run_id)
    chosen: str = lang or request_lang(read.request)
    content = project_list_bytes(read.session, run, chosen, public, districts)
    name = f"project-list-{run.id}-{chosen}{'-public' if public else ''}.xlsx"
    headers: dict[str, Any] = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, media_type=XLSX, headers=headers)
