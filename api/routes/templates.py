"""``GET /template.xlsx``: the blank workbook to fill in (``matcher.inputs.template``)."""

from __future__ import annotations

import functools
import io
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import LANG_PATTERN, Viewer
from api.errors import responses
from api.routes.datasets import XLSX_TYPE as XLSX
from api.routes.datasets import file_route, workbook_response
from matcher.i18n import LANGS
from matcher.inputs.template import write_template

__all__ = ["router"]

router = APIRouter(tags=["templates"], responses=responses(400, 401, 403, 413, 422))


_WORKBOOK = workbook_response(
    "An Excel workbook: a sheet per table with notes on the headers, drop-down lists and "
    "one example row per sheet",
    "template-zh.xlsx",
)

Lang = Annotated[
    str,
    Query(
        pattern=LANG_PATTERN,
        description="Sheets, headers, notes and coded values in this language: " + ", ".join(LANGS),
    ),
]


@functools.lru_cache(maxsize=len(LANGS))
def template_bytes(lang: str) -> bytes:
    """The blank template in ``lang``, made once per language."""
    out = io.BytesIO()
    write_template(out, lang=lang)
    return out.getvalue()


@file_route(router, "/template.xlsx", _WORKBOOK, "The Excel template to fill in")
def template(_who: Viewer, lang: Lang = "zh") -> Response:
    """The workbook to fill in with the lists (what `matcher template` writes): a sheet
    per table named in Chinese or English, a note on each header saying what the column
    holds, drop-down lists for categories, unit kinds and levels, resource kinds and
    districts, number checks, a frozen header row and one example row per sheet. Filled
    in, it is uploaded as it is to `POST /datasets`."""
    return Response(
        template_bytes(lang),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="template-{lang}.xlsx"'},
    )
