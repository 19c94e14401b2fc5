"""The service's error texts follow the request's language (``Accept-Language``, or
``?lang=``); the machine-readable codes are the same in every language."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOKS = ROOT / "tests" / "data" / "xlsx"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en-US,en;q=0.9"}
CJK = re.compile(r"[\u4e00-\u9fff]")
# three English words in a row: a sentence left untranslated (codes, setting names,
# MIME types and ids are single tokens)
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,]+[a-z]{2,}){2,}\b")


def chinese(text: str) -> bool:
    """Whether ``text`` is Chinese: it has CJK characters and no English sentence."""
    return bool(CJK.search(text)) and ENGLISH.search(text) is None


def english(text: str) -> bool:
    """Whether ``text`` is English: no CJK character (the test data's values aside)."""
    return CJK.search(text) is None


def both(
    send: Callable[[dict[str, str]], Any], status: int, data_in_chinese: bool = False
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The bodies of the same request in Chinese, in English and with no language asked
    (all with ``status``); the code is the same in each. ``data_in_chinese``: the English
    detail names Chinese data (a sheet, a header), so only the Chinese one is checked."""
    bodies = []
    for lang in (ZH, EN, {}):
        r = send(lang)
        assert r.status_code == status, r.text
        bodies.append(r.json())
    zh, en, plain = bodies
    assert zh["code"] == en["code"] == plain["code"]
    assert en == plain
    assert chinese(zh["detail"]), zh["detail"]
    assert data_in_chinese or english(en["detail"]), en["detail"]
    return zh, en, plain


def test_an_unknown_run_is_404_in_the_reader_s_language(svc: Any) -> None:
    zh, en, _ = both(lambda h: svc.client.get("/runs/nope", headers={**svc.h("viewer"), **h}), 404)
    assert zh == {"detail": "没有编号为 'nope' 的运行", "code": "not_found"}
    assert en == {"detail": "no run with id 'nope'", "code": "not_found"}
    # ?lang= wins over the header, both ways
    r = svc.client.get("/runs/nope?lang=zh", headers={**svc.h("viewer"), **EN})
    assert r.json()["detail"] == zh["detail"]
    r = svc.client.get("/runs/nope?lang=en", headers={**svc.h("viewer"), **ZH})
    assert r.json()["detail"] == en["detail"]
    # a language without a catalogue, or an unknown ?lang=, is English
    r = svc.client.get("/runs/nope?lang=xx", headers={**svc.h("viewer"), "Accept-Language": "fr"})
    assert r.json() == en


def test_an_unknown_path_is_404_in_the_reader_s_language(svc: Any) -> None:
    zh, en, _ = both(lambda h: svc.client.get("/nowhere", headers=h), 404)
    assert (zh["detail"], en["detail"]) == ("未找到", "Not Found")


def test_a_missing_or_bad_key_is_401_in_the_reader_s_language(svc: Any) -> None:
    zh, en, _ = both(lambda h: svc.client.get("/runs", headers=h), 401)
    assert en["detail"].startswith("an API key is required")
    assert "X-API-Key" in zh["detail"] and "密钥" in zh["detail"]
    zh, en, _ = both(lambda h: svc.client.get("/runs", headers={"X-API-Key": "mk_bad", **h}), 401)
    assert en["detail"] == "the API key is not valid (unknown or revoked)"
    assert zh["detail"] == "API 密钥无效（不存在或已吊销）"


def test_a_wrong_role_is_403_in_the_reader_s_language(svc: Any) -> None:
    zh, en, _ = both(lambda h: svc.client.get("/keys", headers={**svc.h("planner"), **h}), 403)
    assert en["detail"] == "this needs the admin role (or higher); the key has the planner role"
    assert zh["detail"] == "此操作需要 admin 角色（或更高）；该密钥的角色是 planner"


def test_an_invalid_field_is_422_in_the_reader_s_language(svc: Any) -> None:
    def bad_limit(h: dict[str, str]) -> Any:
        return svc.client.get("/runs?limit=0", headers={**svc.h("viewer"), **h})

    zh, en, _ = both(bad_limit, 422)
    assert en["detail"] == ("invalid request (limit): Input should be greater than or equal to 1")
    assert zh["detail"] == "请求有误（limit）：应大于或等于 1"
    assert zh["errors"][0]["message"] == "应大于或等于 1"
    assert [(e["field"], e["type"]) for e in zh["errors"]] == [
        (e["field"], e["type"]) for e in en["errors"]
    ]

    def bad_body(h: dict[str, str]) -> Any:
        body = {"dataset_id": "x", "label": "x" * 301, "params": {"seed": "x"}, "nope": 1}
        return svc.client.post("/runs", json=body, headers={**svc.h("planner"), **h})

    zh, en, _ = both(bad_body, 422)
    messages = {e["type"]: e["message"] for e in zh["errors"]}
    assert {"int_parsing", "string_too_long", "extra_forbidden"} <= set(messages), messages
    assert all(chinese(m) for m in messages.values()), messages
    assert messages["string_too_long"] == "文本最多只能有 300 个字符"
    assert [e["type"] for e in zh["errors"]] == [e["type"] for e in en["errors"]]
    english_messages = {e["type"]: e["message"] for e in en["errors"]}
    assert english_messages["extra_forbidden"] == "Extra inputs are not permitted"


def test_an_out_of_range_parameter_is_422_in_the_reader_s_language(svc: Any) -> None:
    def bad(h: dict[str, str]) -> Any:
        body = {"dataset_id": "x", "params": {"max_travel_km": -1}}
        return svc.client.post("/runs", json=body, headers={**svc.h("planner"), **h})

    zh, en, _ = both(bad, 422)
    assert en["detail"] == (
        "invalid request (params.max_travel_km): Input should be greater than or equal to 0"
    )
    assert zh["detail"] == "请求有误（params.max_travel_km）：应大于或等于 0"


def test_a_parameter_the_planner_refuses_is_rendered_in_the_reader_s_language() -> None:
    """The schema checks each field first, so the planner's own refusal is reached only
    by values the schema lets through: built here without the schema's checks."""
    from api.errors import ApiError
    from api.routes.runs import plan_params
    from api.schemas import IntegerRulesCreate, ParamsCreate
    from matcher.i18n import render

    params = ParamsCreate.model_construct(max_travel_km=-1.0)
    with pytest.raises(ApiError) as caught:
        plan_params(params, IntegerRulesCreate())
    exc = caught.value
    assert exc.code == "invalid_parameter"
    assert exc.errors is not None and exc.errors[0]["field"] == "params.max_travel_km"
    en: Any = render({"detail": exc.detail, "errors": exc.errors}, "en")
    zh: Any = render({"detail": exc.detail, "errors": exc.errors}, "zh")
    assert en["detail"].startswith("parameter max_travel_km=-1.0: expected a finite number")
    assert zh["detail"].startswith("参数 max_travel_km=-1.0：应为")
    assert chinese(zh["detail"]) and english(en["detail"])
    assert zh["errors"][0]["message"] in zh["detail"]
    assert en["errors"][0]["message"] in en["detail"]


def test_a_bad_csv_cell_is_422_naming_row_and_column_in_chinese(
    svc: Any, zipper: Any, broken_case: Callable[[str], Path]
) -> None:
    data = zipper(broken_case("priority_six"))

    def upload(h: dict[str, str]) -> Any:
        return svc.client.post(
            "/datasets",
            content=data,
            headers={**svc.h("planner"), "Content-Type": "application/zip", **h},
        )

    zh, en, _ = both(upload, 422)
    assert zh["code"] == "invalid_dataset"
    assert zh["detail"].startswith("数据集有 1 处错误，未保存任何内容（")
    assert en["detail"].startswith("the dataset has 1 error; nothing was stored (")
    [issue] = zh["errors"]
    [english_issue] = en["errors"]
    # the facts are the same; the sentences are in the reader's language
    facts = ("file", "row", "column", "value", "severity")
    assert {k: issue[k] for k in facts} == {k: english_issue[k] for k in facts}
    assert issue["row"] == 2 and issue["value"] == "6"
    assert issue["expected"] == "1 到 5 之间的整数"
    assert english_issue["expected"] == "a whole number from 1 to 5"
    assert "第 2 行" in issue["message"] and "列" in issue["message"]
    assert chinese(issue["message"]), issue["message"]
    assert english_issue["message"] == (
        "demands.csv, row 2, column 'priority': got '6', expected a whole number from 1 to 5"
    )


def test_a_bad_workbook_cell_is_422_naming_sheet_row_and_column_in_chinese(svc: Any) -> None:
    book = (BOOKS / "bad-priority.xlsx").read_bytes()

    def upload(h: dict[str, str]) -> Any:
        return svc.client.post(
            "/datasets?name=mine.xlsx",
            content=book,
            headers={**svc.h("planner"), "Content-Type": XLSX_TYPE, **h},
        )

    zh, en, _ = both(upload, 422, data_in_chinese=True)
    assert zh["detail"] == (
        "数据集有 1 处错误，未保存任何内容（“需求”工作表，第 7 行，E 列（优先级）："
        "应为1 到 5 之间的整数）"
    )
    assert en["detail"] == (
        "the dataset has 1 error; nothing was stored (需求 sheet, row 7, column E 优先级: "
        "expected a whole number from 1 to 5)"
    )
    [issue] = zh["errors"]
    assert issue["message"] == (
        "“需求”工作表，第 7 行，E 列（优先级）：填写的是 '七'，应为1 到 5 之间的整数"
    )
    assert (issue["sheet"], issue["letter"], issue["header"]) == ("需求", "E", "优先级")
    # ?lang=zh without any header gives the same
    r = svc.client.post(
        "/datasets?name=mine.xlsx&lang=zh",
        content=book,
        headers={**svc.h("planner"), "Content-Type": XLSX_TYPE},
    )
    assert r.json() == zh


def test_a_bad_json_dataset_is_422_in_the_reader_s_language(svc: Any) -> None:
    def upload(h: dict[str, str]) -> Any:
        return svc.client.post(
            "/datasets", json={"tables": {"demands": 3}}, headers={**svc.h("planner"), **h}
        )

    zh, en, _ = both(upload, 422)
    # pydantic's own English (JSON says "array"); the Chinese by the error's type
    assert en["detail"] == "invalid JSON dataset (tables.demands): Input should be a valid array"
    assert zh["detail"] == "JSON 数据集有误（tables.demands）：应为列表"


def test_a_zip_that_is_not_a_zip_is_422_in_the_reader_s_language(svc: Any) -> None:
    def upload(h: dict[str, str]) -> Any:
        return svc.client.post(
            "/datasets",
            content=b"not a zip at all",
            headers={**svc.h("planner"), "Content-Type": "application/zip", **h},
        )

    zh, en, _ = both(upload, 422)
    assert zh["code"] == "invalid_upload"
    assert en["detail"] == "upload.zip: expected a zip archive; these bytes are not a readable zip"
    assert zh["detail"] == "upload.zip：应为zip 压缩包；上传的内容不是可读取的 zip"
    assert chinese(zh["errors"][0]["message"]) and english(en["errors"][0]["message"])


def test_a_wrong_method_is_405_in_the_reader_s_language(svc: Any) -> None:
    zh, en, _ = both(lambda h: svc.client.delete("/datasets", headers={**svc.h("admin"), **h}), 405)
    assert en["detail"] == "method DELETE is not allowed here; use GET, POST"
    assert zh["detail"] == "此处不允许使用 DELETE 方法；请使用 GET, POST"


def test_a_body_too_large_is_413_in_the_reader_s_language(
    sqlite_url: str, service_factory: Callable[..., AbstractContextManager[Any]]
) -> None:
    with service_factory(sqlite_url, max_body_bytes=2048) as s:

        def upload(h: dict[str, str]) -> Any:
            return s.client.post(
                "/datasets",
                content=b"x" * 4000,
                headers={**s.h("planner"), "Content-Type": "application/zip", **h},
            )

        zh, en, _ = both(upload, 413)
    assert zh["code"] == "payload_too_large"
    assert en["detail"] == (
        "the request body is larger than the limit of 2048 bytes (MATCHER_MAX_BODY_BYTES)"
    )
    assert zh["detail"] == "请求内容超过了 2048 字节的上限（MATCHER_MAX_BODY_BYTES）"


def test_too_many_requests_is_429_in_the_reader_s_language(
    sqlite_url: str, service_factory: Callable[..., AbstractContextManager[Any]]
) -> None:
    with service_factory(sqlite_url, rate_limits=True, rate_limit_per_address="3/minute") as s:
        for _ in range(3):
            s.client.get("/health")
        zh, en, _ = both(lambda h: s.client.get("/health", headers=h), 429)
    assert zh["code"] == "rate_limited"
    assert en["detail"].startswith("too many requests from this address (the limit is 3/minute")
    assert zh["detail"].startswith("此地址的请求过于频繁（上限为 3/minute，")


@pytest.mark.parametrize("header", ["zh", "zh-CN", "zh-Hans-CN;q=0.8, en;q=0.5", "fr, zh;q=0.3"])
def test_every_chinese_accept_language_is_understood(svc: Any, header: str) -> None:
    r = svc.client.get("/datasets/nope", headers={**svc.h("viewer"), "Accept-Language": header})
    assert r.status_code == 404
    assert r.json() == {"detail": "没有编号为 'nope' 的数据集", "code": "not_found"}


def test_an_unexpected_error_is_500_in_the_reader_s_language() -> None:
    """The service's handlers on an app with one route that fails as a bug would."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from api.errors import install_handlers

    app = FastAPI()
    install_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug's own words, never shown")

    with TestClient(app, raise_server_exceptions=False) as client:
        zh, en, _ = both(lambda h: client.get("/boom", headers=h), 500)
    assert en == {"detail": "internal error: RuntimeError", "code": "internal_error"}
    assert zh == {"detail": "服务器内部错误：RuntimeError", "code": "internal_error"}
