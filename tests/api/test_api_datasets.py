"""Datasets through the API: upload (zip, multipart, JSON, Parquet), dedup, 422, 413."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

import matcher
from matcher.inputs.io import write_tables


def test_upload_formats_share_one_dataset_by_content(
    svc, example_zip: bytes, tmp_path: Path
) -> None:
    h = svc.h("planner")
    first = svc.client.post(
        "/datasets?name=example",
        content=example_zip,
        headers={**h, "Content-Type": "application/zip"},
    )
    assert first.status_code == 201, first.text
    ds = first.json()
    assert first.headers["location"] == f"/datasets/{ds['id']}"
    expected = matcher.load_dataset("tests/data/example/dataset")
    assert ds["content_hash"] == expected.content_hash
    assert ds["tables"] == expected.counts()
    assert ds["districts"] == ["Gulou", "Taijiang"]
    assert ds["name"] == "example"

    again = svc.client.post(
        "/datasets", content=example_zip, headers={**h, "Content-Type": "application/zip"}
    )
    assert again.status_code == 200 and again.json()["id"] == ds["id"]

    form = svc.client.post(
        "/datasets", files={"file": ("ex.zip", example_zip, "application/zip")}, headers=h
    )
    assert form.status_code == 200 and form.json()["id"] == ds["id"]

    tables = {n: json.loads(f.to_json(orient="records")) for n, f in expected.tables().items()}
    as_json = svc.client.post("/datasets", json={"name": "json", "tables": tables}, headers=h)
    assert as_json.status_code == 200, as_json.text
    assert as_json.json()["id"] == ds["id"]

    write_tables(expected.tables(), tmp_path / "pq", fmt="parquet")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for p in (tmp_path / "pq").iterdir():
            archive.write(p, p.name)
    pq = svc.client.post(
        "/datasets", content=buffer.getvalue(), headers={**h, "Content-Type": "application/zip"}
    )
    assert pq.status_code == 200 and pq.json()["id"] == ds["id"]

    listed = svc.client.get("/datasets", headers=svc.h("viewer")).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == ds["id"]
    summary = svc.client.get(f"/datasets/{ds['id']}", headers=svc.h("viewer")).json()
    assert summary["runs"] == 0 and summary["tables"]["cadres"] == 5


@pytest.mark.parametrize(
    "case", ["dangling_cadre_unit", "many_errors", "missing_file_cadres", "unreadable_bytes_gbk"]
)
def test_invalid_dataset_gets_the_cli_errors_as_json(
    svc, broken_case: Callable[[str], Path], zipper: Callable[..., bytes], case: str
) -> None:
    folder = broken_case(case)
    with pytest.raises(matcher.DatasetError) as cli:
        matcher.load_dataset(folder)
    r = svc.client.post(
        "/datasets",
        content=zipper(folder),
        headers={**svc.h("planner"), "Content-Type": "application/zip"},
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid_dataset"
    assert body["errors"] == [i.to_dict() for i in cli.value.issues]
    assert body["truncated"] == cli.value.truncated
    assert {"file", "row", "column", "value", "expected"} <= set(body["errors"][0])
    assert svc.client.get("/datasets", headers=svc.h("viewer")).json()["total"] == 0


def test_invalid_json_dataset_names_file_row_column(svc) -> None:
    ds = matcher.load_dataset("tests/data/example/dataset")
    tables = {n: json.loads(f.to_json(orient="records")) for n, f in ds.tables().items()}
    tables["demands"][2]["priority"] = 7
    r = svc.client.post("/datasets", json={"tables": tables}, headers=svc.h("planner"))
    assert r.status_code == 422
    issue = r.json()["errors"][0]
    assert (issue["file"], issue["row"], issue["column"], issue["value"]) == (
        "demands.csv",
        4,
        "priority",
        "7",
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"not a zip", "application/zip", 422, "invalid_upload"),
        (b"{not json", "application/json", 422, "invalid_request"),
        (b'{"tables": {"nope": [{"a": 1}]}}', "application/json", 422, "invalid_dataset"),
        (b'{"tables": []}', "application/json", 422, "invalid_request"),
        (b"a,b", "text/csv", 415, "unsupported_media_type"),
    ],
)
def test_bad_uploads_are_json_errors(
    svc, body: bytes, content_type: str, status: int, code: str
) -> None:
    r = svc.client.post(
        "/datasets", content=body, headers={**svc.h("planner"), "Content-Type": content_type}
    )
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and r.json()["detail"]


def test_zip_without_tables_lists_missing_files(svc) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "nothing here")
    r = svc.client.post(
        "/datasets",
        content=buffer.getvalue(),
        headers={**svc.h("planner"), "Content-Type": "application/zip"},
    )
    assert r.status_code == 422
    assert {e["file"] for e in r.json()["errors"]} >= {"communities.csv", "cadres.csv"}


@pytest.fixture
def small_limit(
    sqlite_url: str, service_factory: Callable[..., AbstractContextManager]
) -> Iterator:
    with service_factory(sqlite_url, max_body_bytes=4096) as service:
        yield service


def test_body_size_limit_413(small_limit, example_zip: bytes) -> None:
    h = {**small_limit.h("planner"), "Content-Type": "application/zip"}
    big = b"x" * 10_000
    r = small_limit.client.post("/datasets", content=big, headers=h)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(10):
            yield b"y" * 1000

    r = small_limit.client.post("/datasets", content=chunks(), headers=h)
    assert r.status_code == 413, r.text
    r = small_limit.client.post(
        "/runs",
        content=b'{"dataset_id": "' + b"a" * 5000 + b'"}',
        headers={**small_limit.h("planner"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert small_limit.client.get("/health").status_code == 200


def test_delete_dataset_refused_while_runs_use_it(svc, example_zip: bytes) -> None:
    ds = svc.upload(example_zip)
    run = svc.start_run(ds["id"])
    svc.wait(run["id"])
    r = svc.client.delete(f"/datasets/{ds['id']}", headers=svc.h("planner"))
    assert r.status_code == 409 and "delete those runs first" in r.json()["detail"]
    assert svc.client.delete(f"/runs/{run['id']}", headers=svc.h("planner")).status_code == 204
    assert svc.client.delete(f"/datasets/{ds['id']}", headers=svc.h("planner")).status_code == 204
    assert svc.client.get(f"/datasets/{ds['id']}", headers=svc.h("viewer")).status_code == 404
    assert svc.client.delete(f"/datasets/{ds['id']}", headers=svc.h("planner")).status_code == 404
