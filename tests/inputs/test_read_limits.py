"""Reading limits (``matcher.inputs.io.ReadLimits``): checked before parsing, in linear time.

The command line reads folders with the generous defaults; the service passes tighter
ones. Each limit names the file (and the line) and what was expected, and a file past
one is never parsed.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import matcher
from matcher.cli import main
from matcher.inputs.io import LineCheck, ReadLimits, check_csv_bytes, frame_to_raw, read_file

EXAMPLE = Path(__file__).parents[1] / "data" / "example" / "dataset"


def feed_in(data: bytes, limits: ReadLimits, step: int) -> matcher.ValidationIssue | None:
    check = LineCheck("t.csv", limits)
    for start in range(0, len(data), step):
        issue = check.feed(data[start : start + step])
        if issue is not None:
            return issue
    return check.close()


@pytest.mark.parametrize("step", [1, 2, 3, 7, 1 << 20])
@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_line_check_finds_the_long_line_whatever_the_chunks(step: int, end: bytes) -> None:
    limits = ReadLimits(max_line_bytes=10, max_columns=3)
    lines = [b"a,b,c", b"1,2,3", b"x" * 10, b"y" * 11, b"z"]
    issue = feed_in(end.join(lines) + end, limits, step)
    assert issue is not None
    assert (issue.file, issue.row) == ("t.csv", 4)
    assert "at most 10 bytes; line 4 is longer" in issue.expected
    assert feed_in(end.join(lines[:3]) + end, limits, step) is None


@pytest.mark.parametrize("step", [1, 5, 1 << 20])
def test_line_check_counts_the_header_across_chunks(step: int) -> None:
    limits = ReadLimits(max_columns=4)
    assert feed_in(b"a,b,c,d\n1,2,3,4\n", limits, step) is None
    issue = feed_in(b"a,b,c,d,e\n1\n", limits, step)
    assert issue is not None and issue.row == 1
    assert issue.expected == "at most 4 columns; the header has 5"
    # Quoted commas are one name; a header without a line end is checked at close.
    assert feed_in(b'"a,b",c,d,e', limits, step) is None
    issue = feed_in(b"a,b,c,d,e", limits, step)
    assert issue is not None and "the header has 5" in issue.expected


def test_header_past_the_line_limit() -> None:
    issue = check_csv_bytes(b"a" * 100 + b"\n1\n", "t.csv", ReadLimits(max_line_bytes=50))
    assert issue is not None and issue.row == 1
    assert "the header line is longer" in issue.expected


def test_the_column_check_is_linear_and_fast() -> None:
    # 10,000 and 1,000,000 empty extra columns: the check reads each byte once.
    timings = {}
    for extra in (10_000, 1_000_000):
        data = b"community_id,name" + b"," * extra + b"\n" + (b"C1,x" + b"," * extra + b"\n") * 3
        start = time.perf_counter()
        issue = check_csv_bytes(data, "communities.csv", ReadLimits(max_columns=1000))
        timings[extra] = time.perf_counter() - start
        assert issue is not None and f"the header has {extra + 2:,}" in issue.expected
    assert timings[1_000_000] < 0.5
    # 100 times the columns cost well under 100 times 100 as long (not quadratic).
    assert timings[1_000_000] < 1000 * max(timings[10_000], 1e-4)


def wide_folder(tmp_path: Path, extra: int) -> Path:
    folder = tmp_path / f"wide{extra}"
    shutil.copytree(EXAMPLE, folder)
    lines = (EXAMPLE / "communities.csv").read_bytes().splitlines()
    (folder / "communities.csv").write_bytes(b"".join(x + b"," * extra + b"\n" for x in lines))
    return folder


def test_load_dataset_refuses_a_million_columns_fast(tmp_path: Path) -> None:
    folder = wide_folder(tmp_path, 1_000_000)
    start = time.perf_counter()
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(folder)
    assert time.perf_counter() - start < 1.0
    (issue,) = caught.value.issues
    assert (issue.file, issue.row) == ("communities.csv", 1)
    assert issue.expected == "at most 16,384 columns; the header has 1,000,007"


def test_the_cli_refuses_it_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = wide_folder(tmp_path, 1_000_000)
    assert main(["validate", str(folder)]) == 2
    assert "at most 16,384 columns" in capsys.readouterr().err


def test_a_header_longer_than_64_kib_is_read_whole(tmp_path: Path) -> None:
    # The header was cut at 64 KiB: of 1,000,000 columns, 10,949 were kept silently.
    folder = tmp_path / "long-header"
    shutil.copytree(EXAMPLE, folder)
    names = [f"an_extra_column_with_a_long_name_{i:05}" for i in range(2000)]
    lines = (EXAMPLE / "communities.csv").read_text().splitlines()
    head = ",".join([lines[0], *names])
    assert len(head) > 1 << 16
    body = [line + "," * len(names) for line in lines[1:]]
    (folder / "communities.csv").write_text("\n".join([head, *body]) + "\n")
    ds = matcher.load_dataset(folder, limits=ReadLimits(max_columns=3000))
    assert list(ds.communities.columns[-2:]) == names[-2:]
    assert ds.communities.shape[1] == 7 + 2000


def test_file_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "cadres.csv"
    shutil.copy(EXAMPLE / "cadres.csv", path)
    raw, issues = read_file(path, ReadLimits(max_file_bytes=50))
    assert raw is None
    assert issues[0].expected == "a file of at most 50 bytes; this one is larger"


def test_parquet_cells_are_counted_decoded(tmp_path: Path) -> None:
    # One 10,000-byte text repeated 100,000 times: a small file, 1 GB of cells.
    path = tmp_path / "units.parquet"
    value = "x" * 10_000
    column = pa.DictionaryArray.from_arrays(
        pa.array([0] * 100_000, type=pa.int32()), pa.array([value])
    )
    pq.write_table(pa.table({"unit_id": column}), path)
    assert path.stat().st_size < 1_000_000
    start = time.perf_counter()
    raw, issues = read_file(path, ReadLimits(max_file_bytes=50 * 1024**2))
    assert time.perf_counter() - start < 1.0
    assert raw is None
    assert issues[0].expected == "cells that take at most 52,428,800 bytes; this one is larger"
    small = tmp_path / "small" / "units.parquet"
    small.parent.mkdir()
    pq.write_table(pa.table({"unit_id": column[:100]}), small)
    raw, issues = read_file(small, ReadLimits(max_file_bytes=2_000_000))
    assert raw is not None and issues == [] and raw.columns[0].to_pylist() == [value] * 100


def test_parquet_errors_do_not_show_the_path(tmp_path: Path) -> None:
    path = tmp_path / "cadres.parquet"
    path.write_bytes(b"not parquet at all")
    raw, issues = read_file(path)
    assert raw is None and str(tmp_path) not in issues[0].expected


def test_frames_with_integers_beyond_64_bits_are_judged_not_crashed() -> None:
    tables = matcher.load_dataset(EXAMPLE).tables()
    demands = tables["demands"].astype({"hours": object})
    demands.loc[1, "hours"] = 2**64
    tables["demands"] = demands
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.dataset_from_frames(tables)
    (issue,) = caught.value.issues
    assert (issue.file, issue.row, issue.column, issue.value) == (
        "demands.csv",
        3,
        "hours",
        str(2**64),
    )
    raw = frame_to_raw(pd.DataFrame({"note": [-(2**63) - 1, "a"]}), "x.csv")
    assert raw.columns[0].to_pylist() == [str(-(2**63) - 1), "a"]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_columns"):
        ReadLimits(max_columns=0)
