"""Formula cells in output CSVs: escaped on write, restored on read, numbers untouched."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from factories import formula_dataset

import matcher
from matcher.analysis.replan import previous_assignments
from matcher.csvsafe import (
    neutralise_formulas,
    restore_cell,
    restore_formulas,
    safe_cell,
)
from matcher.inputs.io import frame_csv_text, write_frame_csv, write_tables
from matcher.plans.io import read_plan

EXAMPLE = Path(__file__).parent / "data" / "example" / "dataset"
TRIGGERS = ["=", "+", "-", "@", "\t", "\r"]


@pytest.mark.parametrize("first", TRIGGERS)
def test_every_trigger_character_is_prefixed(first: str) -> None:
    assert safe_cell(f"{first}SUM(A1)") == f"'{first}SUM(A1)"
    assert restore_cell(safe_cell(f"{first}SUM(A1)")) == f"{first}SUM(A1)"


@pytest.mark.parametrize("text", ["C1", "", " =x", "社区", "1+1", "x=1"])
def test_other_text_is_unchanged(text: str) -> None:
    assert safe_cell(text) == text
    assert restore_cell(text) == text


def test_a_leading_quote_is_doubled_and_restored_exactly() -> None:
    assert safe_cell("'x") == "''x"
    assert safe_cell("''x") == "'''x"
    assert restore_cell("''x") == "'x"
    assert restore_cell("'''x") == "''x"
    # A quote before anything else is not the rule's: read as it stands.
    assert restore_cell("'x") == "'x"
    assert restore_cell("'") == "'"


@pytest.mark.parametrize("value", [-3.5, -1, 0, 2.25, np.int64(-7), np.float64(-0.5), None])
def test_non_text_values_are_unchanged(value: object) -> None:
    assert safe_cell(value) is value
    assert restore_cell(value) is value


def test_frames_escape_only_text_cells_and_keep_numbers() -> None:
    frame = pd.DataFrame(
        {
            "id": ["=A", "-B", "C", "'D", None],
            "km": [-3.5, 0.25, -0.0, 1e-7, np.nan],
            "hours": np.array([-3, 4, 5, 6, 7], dtype=np.int64),
            "mixed": ["+x", -2.5, 3, "ok", np.nan],
            "=evil": ["a", "b", "c", "d", "e"],
        }
    )
    before = frame.copy()
    out = neutralise_formulas(frame)
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is not touched
    assert list(out["id"][:4]) == ["'=A", "'-B", "C", "''D"] and pd.isna(out["id"][4])
    assert out["km"].tolist()[:4] == [-3.5, 0.25, -0.0, 1e-7]
    assert out["hours"].dtype == np.int64 and out["hours"].tolist() == [-3, 4, 5, 6, 7]
    assert out["mixed"].tolist()[:4] == ["'+x", -2.5, 3, "ok"]
    assert list(out.columns) == ["id", "km", "hours", "mixed", "'=evil"]
    text = frame_csv_text(frame)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["'=A", "-3.5", "-3", "'+x", "a"]
    assert rows[2] == ["'-B", "0.25", "4", "-2.5", "b"]
    back = restore_formulas(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False))
    assert back["id"].tolist() == ["=A", "-B", "C", "'D", ""]
    assert list(back.columns) == list(frame.columns)


def test_a_frame_with_nothing_to_escape_is_returned_as_is() -> None:
    frame = pd.DataFrame({"a": ["x", "y"], "b": [-1.0, 2.0]})
    assert neutralise_formulas(frame) is frame
    assert restore_formulas(frame) is frame


def test_string_dtype_columns_are_escaped() -> None:
    frame = pd.DataFrame({"a": pd.array(["=1", "b", None], dtype="string")})
    assert neutralise_formulas(frame)["a"].tolist()[:2] == ["'=1", "b"]


def test_write_frame_csv_escapes_and_datasets_are_written_as_they_are(tmp_path: Path) -> None:
    frame = pd.DataFrame({"community_id": ["=C1", "@C2"], "hours": [-1, 2]})
    write_frame_csv(frame, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == "community_id,hours\n'=C1,-1\n'@C2,2\n"
    write_tables({"extra": frame}, tmp_path / "ds")
    assert (tmp_path / "ds" / "extra.csv").read_text() == "community_id,hours\n=C1,-1\n@C2,2\n"


def hostile_dataset(folder: Path) -> dict[str, str]:
    """The example with formula ids, names and districts (``factories.formula_dataset``)."""
    return formula_dataset(EXAMPLE, folder, district_prefix="@")


def test_plan_folder_round_trips_hostile_ids(tmp_path: Path) -> None:
    rename = hostile_dataset(tmp_path / "ds")
    ds = matcher.load_dataset(tmp_path / "ds")
    assert set(ds.communities["community_id"]) <= set(rename.values())  # not escaped on read
    plan = matcher.plan(ds)
    assert len(plan.assignments) > 0
    plan.write(tmp_path / "plan")
    for name in ("assignments.csv", "demand_status.csv"):
        with (tmp_path / "plan" / name).open(newline="", encoding="utf-8") as f:
            cells = [c for row in csv.reader(f) for c in row]
        assert any(c.startswith("'=") for c in cells)
        assert all(c[0] not in "=+-@\t\r" for c in cells if c and not _number(c)), name
    # Read back by every reader of plan folders: the ids are the original ones.
    tables = read_plan(tmp_path / "plan")
    for frame, original in (
        (tables.assignments, plan.assignments),
        (tables.demand_status, plan.demand_status),
    ):
        for column in ("demand_id", "community_id", "category"):
            assert frame[column].tolist() == original[column].astype(str).tolist()
    assert tables.assignments["supplier_id"].tolist() == plan.assignments["supplier_id"].tolist()
    prev = previous_assignments(tmp_path / "plan")
    assert set(prev["demand_id"]) <= set(rename.values())
    # The hours are numbers as before; negative-looking text never turned into numbers.
    assert tables.assignments["hours"].tolist() == plan.assignments["hours"].tolist()


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_quote_ids_round_trip_through_a_plan(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    shutil.copytree(EXAMPLE, folder)
    rename = hostile_dataset(folder)
    quoted = {v for v in rename.values() if v.startswith("'")}
    assert quoted
    plan = matcher.plan(matcher.load_dataset(folder))
    plan.write(tmp_path / "plan")
    back = read_plan(tmp_path / "plan")
    assert set(back.demand_status["demand_id"]) == set(plan.demand_status["demand_id"])
    assert quoted & set(back.demand_status["demand_id"])
