"""Loading and validation of datasets.

Guards the issue's contract: every table, as CSV (UTF-8, with or without BOM) or Parquet,
loads into validated, immutable data, and every problem in a broken dataset is reported
(up to a cap) with its file, spreadsheet row (header = row 1), column, bad value and what
was expected. The broken datasets live in ``tests/data/broken/<case>/`` as overlays on the
worked example; ``CASES`` says what each must report, ``VALID`` which must load.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from factories import build_case

from matcher.errors import DatasetError, ValidationIssue
from matcher.inputs.dataset import Dataset, dataset_from_frames, load_dataset

DATA = Path(__file__).parents[1] / "data"
EXAMPLE = DATA / "example" / "dataset"
BROKEN = DATA / "broken"


@dataclasses.dataclass(frozen=True)
class Expect:
    """One issue a case must report; ``fragment`` is found in its value or expected text."""

    file: str
    row: int | None
    column: str | None
    fragment: str
    value: str | None = None

    def matches(self, issue: ValidationIssue) -> bool:
        text = f"{issue.value or ''} {issue.expected}"
        return (
            (issue.file, issue.row, issue.column) == (self.file, self.row, self.column)
            and self.fragment in text
            and (self.value is None or issue.value == self.value)
        )


@dataclasses.dataclass(frozen=True)
class Case:
    """What a broken case must report; ``total`` errors in all (default: just these)."""

    expect: tuple[Expect, ...]
    total: int | None = None


def case(*expect: Expect, total: int | None = None) -> Case:
    return Case(expect, total)


E = Expect
WHOLE_HOURS = "a whole number of hours"
CASES: dict[str, Case] = {
    # Files and headers.
    "missing_file_cadres": case(E("cadres.csv", None, None, "missing")),
    "missing_file_communities": case(E("communities.csv", None, None, "missing")),
    "xlsx_instead_of_csv": case(E("cadres.csv", None, None, "found cadres.xlsx")),
    "both_csv_and_parquet": case(E("cadres.csv", None, None, "cadres.parquet")),
    "empty_file": case(E("cadres.csv", None, None, "empty")),
    "missing_column_hours": case(E("cadres.csv", 1, "hours", "no column 'hours'")),
    "column_name_case": case(E("cadres.csv", 1, "hours", "it has 'Hours'")),
    "column_name_typo": case(E("cadres.csv", 1, "skills", "it has 'skill'")),
    "semicolon_separated": case(E("communities.csv", 1, None, "separates them with ';'")),
    "tab_separated": case(E("units.csv", 1, None, "separates them with tabs")),
    "excel_sep_line": case(E("cadres.csv", 1, None, "remove the line 'sep=...'")),
    "duplicate_column": case(E("demands.csv", 1, "hours", "2 times")),
    "parquet_missing_column": case(E("cadres.parquet", 1, "skills", "no column 'skills'")),
    "parquet_hours_fraction": case(E("cadres.parquet", 3, "hours", WHOLE_HOURS, value="6.5")),
    "parquet_unreadable": case(E("cadres.parquet", None, None, "Parquet")),
    # Bytes and CSV structure.
    "unreadable_bytes_gbk": case(E("communities.csv", 2, "name", "UTF-8")),
    "unreadable_bytes_latin1": case(E("units.csv", 2, "name", "UTF-8")),
    "utf16_file": case(E("cadres.csv", None, None, "UTF-16")),
    "ragged_row": case(E("demands.csv", 4, None, "6 fields")),
    "short_row": case(E("cadres.csv", 6, "hours", WHOLE_HOURS, value="")),
    "unclosed_quote": case(E("demands.csv", 4, "description", "closing double quote")),
    "unclosed_quote_no_final_newline": case(
        E("demands.csv", 4, "description", "closing double quote")
    ),
    "row_after_multiline_cell": case(E("demands.csv", 5, "priority", "1 to 5", value="7")),
    # Ids and references.
    "duplicate_cadre_id": case(E("cadres.csv", 5, "cadre_id", "row 3", value="K2")),
    "duplicate_community_id": case(
        E("communities.csv", 4, "community_id", "row 2", value="C-JUNMEN"),
        E("cadres.csv", 5, "home_community_id", "communities.csv", value="C-TANGBIAN"),
        E("demands.csv", 5, "community_id", "communities.csv", value="C-TANGBIAN"),
    ),
    "duplicate_pairing_row": case(E("pairings.csv", 3, None, "row 2")),
    "empty_id": case(E("demands.csv", 5, "demand_id", "non-empty id", value="")),
    "dangling_cadre_unit": case(E("cadres.csv", 4, "unit_id", "units.csv", value="U-MUNl")),
    "dangling_demand_community": case(
        E("demands.csv", 4, "community_id", "communities.csv", value="C-CANGXlA")
    ),
    "dangling_home_community": case(
        E("cadres.csv", 5, "home_community_id", "communities.csv", value="C-TANGBIEN")
    ),
    "dangling_pairing_unit": case(E("pairings.csv", 3, "unit_id", "units.csv", value="U-GHOST")),
    "dangling_pairing_community": case(
        E("pairings.csv", 3, "community_id", "communities.csv", value="C-GHOST")
    ),
    "dangling_alliance_member": case(
        E("alliance_members.csv", 3, "unit_id", "units.csv", value="U-GHOST")
    ),
    "dangling_alliance_id": case(
        E("alliance_members.csv", 3, "alliance_id", "alliances.csv", value="A-XIJIE")
    ),
    "alliance_members_without_alliances": case(
        E("alliance_members.csv", 2, "alliance_id", "no alliances.csv")
    ),
    "dangling_resource_unit": case(E("resources.csv", 2, "unit_id", "units.csv", value="U-JCX")),
    "header_only_required": case(
        E("demands.csv", 2, "community_id", "communities.csv", value="C-JUNMEN"),
        E("pairings.csv", 2, "community_id", "communities.csv", value="C-CANGXIA"),
        total=8,
    ),
    # Numbers.
    "hours_fraction": case(E("cadres.csv", 3, "hours", WHOLE_HOURS, value="6.5")),
    "hours_negative": case(E("demands.csv", 3, "hours", "0 or more", value="-6")),
    "hours_missing": case(E("demands.csv", 3, "hours", WHOLE_HOURS, value="")),
    "hours_too_large": case(E("cadres.csv", 3, "hours", "at most 1,000,000,000", value="1e12")),
    "priority_zero": case(E("demands.csv", 5, "priority", "1 to 5", value="0")),
    "priority_six": case(E("demands.csv", 2, "priority", "1 to 5", value="6")),
    "priority_fraction": case(E("demands.csv", 4, "priority", "1 to 5", value="4.5")),
    "min_hours_above_hours": case(
        E("demands.csv", 4, "min_hours", "at most the demand's hours", value="12")
    ),
    "service_amount_fraction": case(E("resources.csv", 2, "amount", "whole hours", value="20.5")),
    "unparseable_number_word": case(E("cadres.csv", 6, "hours", WHOLE_HOURS, value="five")),
    "unparseable_number_comma": case(E("communities.csv", 3, "lat", "latitude", value="26,0537")),
    "unparseable_number_thousands": case(
        E("communities.csv", 4, "households", "whole number", value="2,600")
    ),
    "unparseable_number_unit": case(E("demands.csv", 4, "hours", WHOLE_HOURS, value="10 h")),
    "number_not_finite": case(E("resources.csv", 2, "amount", "amount", value="inf")),
    # Coordinates.
    "lat_missing": case(E("communities.csv", 3, "lat", "latitude", value="")),
    "lat_out_of_range": case(E("units.csv", 3, "lat", "-90 to 90", value="126.0875")),
    "lon_out_of_range": case(E("communities.csv", 4, "lon", "-180 to 180", value="219.2805")),
    "lat_lon_swapped": case(E("communities.csv", 2, "lat", "-90 to 90", value="119.3008")),
    "cadre_lat_without_lon": case(E("cadres.csv", 3, "lon", "both lat and lon")),
    # Words and lists.
    "unknown_unit_kind": case(E("units.csv", 2, "kind", "government", value="goverment")),
    "unknown_unit_level": case(E("units.csv", 3, "level", "municipal", value="provincial")),
    "unknown_resource_kind": case(E("resources.csv", 2, "kind", "service, funds", value="money")),
    "empty_skills": case(E("cadres.csv", 6, "skills", "at least one skill", value="")),
    "only_separators_skills": case(E("cadres.csv", 3, "skills", "at least one skill")),
    # One mistake gives one error: a bad cell does not also break the rules that use it.
    "one_mistake_one_error": case(
        E("cadres.csv", 3, "lat", "latitude", value="north"),
        E("demands.csv", 3, "hours", WHOLE_HOURS, value="six"),
    ),
    # Several at once: all are reported, across files.
    "many_errors": case(
        E("communities.csv", 4, "lat", "-90 to 90", value="96.0905"),
        E("units.csv", 3, "kind", "government", value="company"),
        E("cadres.csv", 6, "hours", WHOLE_HOURS, value="ten"),
        E("cadres.csv", 4, "unit_id", "units.csv", value="U-NONE"),
        E("demands.csv", 2, "priority", "1 to 5", value="9"),
        E("demands.csv", 6, "community_id", "communities.csv", value="C-NOWHERE"),
        E("resources.csv", 2, "kind", "service, funds", value="cash"),
    ),
}

# Valid variants, and whether they hold the same content as the example.
VALID: dict[str, bool] = {
    "valid_bom": True,
    "valid_crlf": True,
    "valid_blank_lines": True,
    "valid_quoted_fields": True,
    "valid_trailing_commas": True,
    "valid_parquet_cadres": True,
    "valid_extra_column": False,
    "valid_duplicate_extra_column": False,
    "valid_warning_idle_alliance": False,
}


@pytest.fixture(scope="module")
def example() -> Dataset:
    return load_dataset(EXAMPLE)


def refused(path: Path, **kwargs: int) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        load_dataset(path, **kwargs)
    return info.value


def test_every_case_folder_is_declared() -> None:
    folders = {p.name for p in BROKEN.iterdir() if p.is_dir()}
    assert folders == set(CASES) | set(VALID)


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_case_is_refused_naming_file_row_and_column(name: str, tmp_path: Path) -> None:
    spec = CASES[name]
    err = refused(build_case(name, tmp_path / "ds"))
    issues = err.issues
    for want in spec.expect:
        assert any(want.matches(i) for i in issues), f"{want} not in:\n{err.text()}"
    assert len(issues) + err.truncated == (spec.total or len(spec.expect)), err.text()
    for issue in issues:
        assert issue.severity == "error"
        text = str(issue)
        assert text.startswith(issue.file)
        if issue.row is not None:
            assert f"row {issue.row}" in text
        if issue.column is not None:
            assert f"column '{issue.column}'" in text
        assert issue.expected in text
        assert issue.file in err.text()


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_variant_loads(name: str, tmp_path: Path, example: Dataset) -> None:
    ds = load_dataset(build_case(name, tmp_path / "ds"))
    assert set(ds.counts()) == set(example.counts())
    assert ds.counts()["cadres"] == 5
    if VALID[name]:
        assert ds.content_hash == example.content_hash


def test_example_loads_typed(example: Dataset) -> None:
    assert example.counts() == {
        "communities": 3,
        "units": 2,
        "cadres": 5,
        "demands": 5,
        "resources": 1,
        "pairings": 1,
        "alliances": 1,
        "alliance_members": 1,
    }
    assert example.warnings == ()
    cadres = example.cadres
    assert cadres["hours"].dtype == np.int64
    assert cadres["lat"].dtype == np.float64
    assert list(cadres["skills"]) == [
        "legal_aid;elderly_care",
        "parking",
        "elderly_care",
        "elderly_care",
        "digital_help",
    ]
    assert list(cadres["home_community_id"]) == ["C-JUNMEN", "", "", "C-TANGBIAN", ""]
    demands = example.demands
    assert demands["priority"].tolist() == [5, 3, 4, 2, 1]
    assert demands["min_hours"].isna().all()  # optional column absent: kept empty
    assert example.resources["range_km"].tolist() == [3.0]


def test_bom_loads_the_same(tmp_path: Path, example: Dataset) -> None:
    folder = shutil.copytree(EXAMPLE, tmp_path / "ds")
    for path in folder.glob("*.csv"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_dataset(folder).content_hash == example.content_hash


@pytest.mark.parametrize("source", ["read_csv", "typed"])
def test_parquet_loads_the_same_as_csv(source: str, tmp_path: Path, example: Dataset) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    for path in EXAMPLE.glob("*.csv"):
        frame = pd.read_csv(path) if source == "read_csv" else example.table(path.stem)
        frame.to_parquet(folder / f"{path.stem}.parquet", index=False)
    ds = load_dataset(folder)
    assert ds.files["cadres"] == "cadres.parquet"
    assert ds.content_hash == example.content_hash


def test_csv_and_parquet_mix(tmp_path: Path, example: Dataset) -> None:
    folder = shutil.copytree(EXAMPLE, tmp_path / "ds")
    pd.read_csv(folder / "cadres.csv").to_parquet(folder / "cadres.parquet", index=False)
    (folder / "cadres.csv").unlink()
    assert load_dataset(folder).content_hash == example.content_hash


def test_parquet_list_column_is_joined(tmp_path: Path, example: Dataset) -> None:
    folder = shutil.copytree(EXAMPLE, tmp_path / "ds")
    cadres = pd.read_csv(folder / "cadres.csv")
    cadres["skills"] = cadres["skills"].str.split(";")
    cadres.to_parquet(folder / "cadres.parquet", index=False)
    (folder / "cadres.csv").unlink()
    assert load_dataset(folder).content_hash == example.content_hash


def test_blank_lines_do_not_shift_rows(tmp_path: Path) -> None:
    folder = shutil.copytree(EXAMPLE, tmp_path / "ds")
    lines = (EXAMPLE / "cadres.csv").read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(",5,", ",x,")  # K5, spreadsheet row 6 before the blanks
    lines[2:2] = ["", ",,,,,,"]  # two blank rows before K2
    (folder / "cadres.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = refused(folder)
    assert [(i.file, i.row, i.column, i.value) for i in err.issues] == [
        ("cadres.csv", 8, "hours", "x")
    ]


def test_all_errors_are_reported_and_capped(tmp_path: Path) -> None:
    folder = shutil.copytree(EXAMPLE, tmp_path / "ds")
    n = 500
    rows = [f"K{i},U-MUNI,parking,{'bad' if i % 2 else 3},,," for i in range(n)]
    header = "cadre_id,unit_id,skills,hours,home_community_id,lat,lon"
    (folder / "cadres.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    err = refused(folder)
    assert len(err.issues) == 200  # the default cap
    assert err.truncated == n // 2 - 200
    assert [i.row for i in err.issues[:3]] == [3, 5, 7]
    assert f"{n // 2} errors" in err.text()
    assert f"and {n // 2 - 200} more" in err.text()
    err = refused(folder, max_errors=10)
    assert (len(err.issues), err.truncated) == (10, n // 2 - 10)


def test_cap_counts_unreadable_files_too(tmp_path: Path) -> None:
    folder = build_case("many_errors", tmp_path / "ds")
    shutil.copyfile(BROKEN / "unreadable_bytes_gbk" / "communities.csv", folder / "communities.csv")
    whole = refused(folder)
    assert whole.truncated == 0
    assert whole.issues[0].file == "communities.csv" and "UTF-8" in whole.issues[0].expected
    capped = refused(folder, max_errors=2)
    assert len(capped.issues) == 2
    assert capped.truncated == len(whole.issues) - 2


def test_issue_text_is_plain() -> None:
    issue = ValidationIssue("cadres.csv", 3, "hours", "ten", "a whole number of hours")
    assert (
        str(issue)
        == "cadres.csv, row 3, column 'hours': got 'ten', expected a whole number of hours"
    )
    empty = ValidationIssue("cadres.csv", 3, "hours", "", "a whole number of hours")
    assert "got an empty cell" in str(empty)
    assert issue.to_dict()["row"] == 3


def test_not_a_folder(tmp_path: Path) -> None:
    err = refused(tmp_path / "nowhere")
    assert "no such folder" in str(err)
    assert str(tmp_path / "nowhere") in str(err)
    file = tmp_path / "cadres.csv"
    file.write_text("x\n", encoding="utf-8")
    assert "not a folder" in str(refused(file))


def test_tables_in_a_subfolder_are_pointed_at(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "ds" / "inner")
    err = refused(tmp_path / "ds")
    assert len(err.issues) == 4
    assert all("found inner/" in i.expected for i in err.issues)


def test_empty_folder_lists_every_required_file(tmp_path: Path) -> None:
    err = refused(tmp_path)
    assert sorted(i.file for i in err.issues) == [
        "cadres.csv",
        "communities.csv",
        "demands.csv",
        "units.csv",
    ]


def test_dataset_is_immutable(example: Dataset) -> None:
    before = example.content_hash
    cadres = example.cadres
    cadres.loc[0, "hours"] = 999
    cadres["skills"] = "nothing"
    demands = example.demands
    demands.loc[:, "priority"] = 1
    units = example.tables()["units"]
    units["kind"] = "enterprise"
    assert example.cadres.loc[0, "hours"] == 10
    assert example.demands["priority"].tolist() == [5, 3, 4, 2, 1]
    assert example.units["kind"].tolist() == ["government", "enterprise"]
    assert dataset_from_frames(example.tables()).content_hash == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.source = "elsewhere"  # type: ignore[misc]
    with pytest.raises(TypeError):
        example.tables_["cadres"] = cadres  # type: ignore[index]


def test_extra_columns_are_kept(tmp_path: Path) -> None:
    ds = load_dataset(build_case("valid_extra_column", tmp_path / "a"))
    assert ds.cadres["note"].tolist() == ["x"] * 5
    ds = load_dataset(build_case("valid_duplicate_extra_column", tmp_path / "b"))
    assert ds.cadres["note"].tolist() == ["a", "c", "", "e", ""]
    assert ds.cadres["note.1"].tolist() == ["b", "d", "", "", "f"]
    assert dataset_from_frames(ds.tables()).content_hash == ds.content_hash


def test_lists_are_normalised(example: Dataset) -> None:
    cadres = example.cadres
    cadres["skills"] = [" legal_aid ; elderly_care;;legal_aid", "parking", "a;a", "b", "c;"]
    ds = example.replace(cadres=cadres)
    assert ds.cadres["skills"].tolist() == ["legal_aid;elderly_care", "parking", "a", "b", "c"]


def test_dataset_from_frames_round_trip(example: Dataset) -> None:
    again = dataset_from_frames(example.tables())
    assert again.content_hash == example.content_hash
    assert again.counts() == example.counts()
    raw = {p.stem: pd.read_csv(p) for p in EXAMPLE.glob("*.csv")}  # pandas' own dtypes
    assert dataset_from_frames(raw).content_hash == example.content_hash
    text = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in EXAMPLE.glob("*.csv")}
    assert dataset_from_frames(text).content_hash == example.content_hash


def test_dataset_from_frames_refuses_unknown_table(example: Dataset) -> None:
    with pytest.raises(DatasetError, match="volunteers"):
        dataset_from_frames({**example.tables(), "volunteers": example.cadres})


def test_replace_revalidates(example: Dataset) -> None:
    demands = example.demands
    demands["hours"] = demands["hours"] * 2
    doubled = example.replace(demands=demands)
    assert int(doubled.demands["hours"].sum()) == 2 * int(example.demands["hours"].sum())
    assert int(example.demands["hours"].sum()) == 44
    cadres = example.cadres.astype({"hours": object})
    cadres.loc[2, "hours"] = -1
    cadres.loc[4, "unit_id"] = "U-NONE"
    with pytest.raises(DatasetError) as info:
        example.replace(cadres=cadres)
    got = {(i.file, i.row, i.column) for i in info.value.issues}
    assert got == {("cadres.csv", 4, "hours"), ("cadres.csv", 6, "unit_id")}


def test_warning_does_not_fail(tmp_path: Path) -> None:
    ds = load_dataset(build_case("valid_warning_idle_alliance", tmp_path / "ds"))
    assert len(ds.warnings) == 1
    warning = ds.warnings[0]
    assert (warning.file, warning.row, warning.column, warning.severity) == (
        "alliances.csv",
        3,
        "street",
        "warning",
    )
    assert "covers no community" in str(warning)


def test_large_table_reports_rows_exactly(tmp_path: Path) -> None:
    """A 400,000-row table loads whole, and a bad last row is named by its true row.

    Speed is measured by benchmarks/bench_validate.py, not here.
    """
    folder = shutil.copytree(EXAMPLE, tmp_path / "ds")
    n = 400_000
    i = np.arange(n)
    cadres = pd.DataFrame(
        {
            "cadre_id": np.char.add("K", i.astype(str)),
            "unit_id": np.where(i % 2, "U-MUNI", "U-JCY"),
            "skills": np.where(i % 3, "elderly_care;parking", "legal_aid"),
            "hours": i % 40,
            "home_community_id": np.where(i % 4, "", "C-JUNMEN"),
            "lat": np.where(i % 5, np.nan, 26.05),
            "lon": np.where(i % 5, np.nan, 119.3),
        }
    )
    pa_csv.write_csv(pa.Table.from_pandas(cadres, preserve_index=False), folder / "cadres.csv")
    ds = load_dataset(folder)
    assert len(ds.cadres) == n
    with (folder / "cadres.csv").open("a", encoding="utf-8") as f:
        f.write("K-LAST,U-MUNI,parking,-1,,,\n")
    err = refused(folder)
    assert [(i.row, i.column, i.value) for i in err.issues] == [(n + 2, "hours", "-1")]
