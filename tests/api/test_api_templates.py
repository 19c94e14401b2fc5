"""``GET /template.xlsx``: the blank workbook to fill, in either language."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

import matcher
from api.routes.datasets import XLSX_TYPE
from matcher.inputs import aliases
from matcher.inputs.template import LIST_SHEET

openpyxl = pytest.importorskip("openpyxl")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_template_is_served_in_either_language(svc: Any, lang: str, tmp_path: Path) -> None:
    r = svc.client.get("/template.xlsx", params={"lang": lang}, headers=svc.h("viewer"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX_TYPE
    assert f'filename="template-{lang}.xlsx"' in r.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert book.sheetnames[0] == aliases.sheet_name("communities", lang)
    assert book[LIST_SHEET[lang]].sheet_state == "hidden"
    header = book[aliases.sheet_name("demands", lang)]["C1"]
    assert header.value == aliases.header_name("category", lang)
    assert header.comment is not None
    path = tmp_path / "template.xlsx"
    path.write_bytes(r.content)
    assert matcher.load_dataset(path).counts()["demands"] == 1


def test_the_default_is_chinese_and_a_filled_template_uploads(svc: Any) -> None:
    r = svc.client.get("/template.xlsx", headers=svc.h("viewer"))
    assert r.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(r.content)).sheetnames[0] == "社区"
    up = svc.client.post(
        "/datasets", content=r.content, headers={**svc.h("planner"), "Content-Type": XLSX_TYPE}
    )
    assert up.status_code == 201, up.text
    assert up.json()["tables"]["cadres"] == 1


def test_an_unknown_language_is_422(svc: Any) -> None:
    r = svc.client.get("/template.xlsx", params={"lang": "fr"}, headers=svc.h("viewer"))
    assert r.status_code == 422
    assert svc.client.get("/template.xlsx").status_code == 401


def test_the_template_is_documented(svc: Any) -> None:
    op = svc.client.get("/openapi.json").json()["paths"]["/template.xlsx"]["get"]
    assert XLSX_TYPE in op["responses"]["200"]["content"]
    assert "Content-Disposition" in op["responses"]["200"]["headers"]
