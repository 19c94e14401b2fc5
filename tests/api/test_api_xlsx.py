"""Excel workbooks through ``POST /datasets``: as the body, as a form's file, refused
with sheet/row/column, held to the zip limits, and validated in a child when large."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import matcher
from api import uploads
from api.routes.datasets import XLSX_TYPE

ROOT = Path(__file__).resolve().parents[2]
BOOKS = ROOT / "tests" / "data" / "xlsx"
EXAMPLE = ROOT / "tests" / "data" / "example" / "dataset"


def test_a_workbook_is_the_same_dataset_as_the_zip(svc: Any, example_zip: bytes) -> None:
    h = svc.h("planner")
    book = (BOOKS / "example-chinese.xlsx").read_bytes()
    first = svc.client.post(
        "/datasets?name=lists", content=book, headers={**h, "Content-Type": XLSX_TYPE}
    )
    assert first.status_code == 201, first.text
    ds = first.json()
    assert ds["content_hash"] == matcher.load_dataset(EXAMPLE).content_hash
    assert ds["name"] == "lists"
    assert ds["tables"]["demands"] == 5
    form = svc.client.post(
        "/datasets",
        files={"file": ("需求清单.xlsx", book, "application/octet-stream")},
        headers=h,
    )
    assert form.status_code == 200, form.text
    assert form.json()["id"] == ds["id"]
    as_zip = svc.client.post(
        "/datasets", content=example_zip, headers={**h, "Content-Type": "application/zip"}
    )
    assert as_zip.status_code == 200 and as_zip.json()["id"] == ds["id"]


def test_a_bad_workbook_gets_422_naming_sheet_row_and_column(svc: Any) -> None:
    r = svc.client.post(
        "/datasets?name=mine.xlsx",
        content=(BOOKS / "bad-priority.xlsx").read_bytes(),
        headers={**svc.h("planner"), "Content-Type": XLSX_TYPE},
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"] == (
        "the dataset has 1 error; nothing was stored (需求 sheet, row 7, column E 优先级: "
        "expected a whole number from 1 to 5)"
    )
    assert body["errors"] == [
        {
            "file": "mine.xlsx",
            "row": 7,
            "column": "priority",
            "value": "七",
            "expected": "a whole number from 1 to 5",
            "severity": "error",
            "sheet": "需求",
            "letter": "E",
            "header": "优先级",
            "message": "需求 sheet, row 7, column E 优先级: got '七', "
            "expected a whole number from 1 to 5",
        }
    ]
    listed = svc.client.get("/datasets", headers=svc.h("viewer")).json()
    assert listed["total"] == 0


def _bomb() -> bytes:
    """A workbook whose one sheet is 20 MB of one repeated cell: it compresses a
    thousandfold, past the service's ratio."""
    buffer = io.BytesIO()
    cells = b'<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c></row>' * 300_000
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr(
            "xl/worksheets/sheet1.xml", b"<worksheet><sheetData>" + cells + b"</sheetData>"
        )
    return buffer.getvalue()


def test_a_workbook_bomb_gets_413(svc: Any) -> None:
    r = svc.client.post(
        "/datasets", content=_bomb(), headers={**svc.h("planner"), "Content-Type": XLSX_TYPE}
    )
    assert r.status_code == 413, r.text
    assert "MATCHER_MAX_UNZIP_RATIO" in r.json()["detail"]
    assert "upload.xlsx (xl/worksheets/sheet1.xml)" in r.json()["detail"]


def test_the_workbook_limits_are_the_services(
    sqlite_url: str,
    service_factory: Callable[..., AbstractContextManager[Any]],
) -> None:
    book = (BOOKS / "example-chinese.xlsx").read_bytes()
    with service_factory(sqlite_url, max_unzipped_bytes=20_000) as svc:
        r = svc.client.post(
            "/datasets", content=book, headers={**svc.h("planner"), "Content-Type": XLSX_TYPE}
        )
    assert r.status_code == 413, r.text
    assert "MATCHER_MAX_UNZIPPED_BYTES" in r.json()["detail"]


def test_not_a_workbook_gets_422(svc: Any) -> None:
    r = svc.client.post(
        "/datasets",
        content=b"community_id,name\n",
        headers={**svc.h("planner"), "Content-Type": XLSX_TYPE},
    )
    assert r.status_code == 422, r.text
    assert "not a readable zip" in r.json()["detail"]


def test_a_large_workbook_is_validated_in_a_child(svc: Any, tmp_path: Path) -> None:
    from matcher.inputs.generate import generate
    from matcher.inputs.io import write_tables
    from matcher.inputs.xlsx import write_workbook

    tables = generate(scale=0.2, seed=3)
    write_tables(tables, tmp_path / "csv")
    path = write_workbook(tables, tmp_path / "city.xlsx", chinese=True)
    with zipfile.ZipFile(path) as archive:
        assert sum(i.file_size for i in archive.infolist()) > uploads.CHILD_BYTES
    r = svc.client.post(
        "/datasets",
        content=path.read_bytes(),
        headers={**svc.h("planner"), "Content-Type": XLSX_TYPE},
    )
    assert r.status_code == 201, r.text
    assert r.json()["content_hash"] == matcher.load_dataset(tmp_path / "csv").content_hash
