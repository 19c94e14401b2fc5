"""Build the workbooks of tests/inputs/test_xlsx.py from the worked example (tests/data/example).

Each workbook holds the example's tables with Chinese sheet and column names and
Chinese category/kind/level words, and one kind of cell as people type them; its name
says which. Run from the repository's root (they are committed with this script):

    .venv/bin/python tests/data/xlsx/build_workbooks.py
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from matcher import load_dataset  # noqa: E402
from matcher.inputs import aliases  # noqa: E402
from matcher.inputs.schema import TABLES  # noqa: E402

EXAMPLE = ROOT / "tests" / "data" / "example" / "dataset"
CREATED = dt.datetime(2026, 1, 1)

Rows = list[list[Any]]
# A case's change to the cells: (table, header row, data rows) -> nothing, in place.
Change = Callable[[str, list[str], Rows], None]


def _chinese(table: str, column: str, value: Any) -> Any:
    """A coded value as its first Chinese word (lists joined by '、')."""
    words = aliases.VALUES.get((table, column))
    if words is None or not isinstance(value, str) or not value:
        return value
    if column in ("skills", "categories"):
        return "、".join(words[v][0] for v in value.split(";"))
    return words[value][0]


def example_rows() -> dict[str, tuple[list[str], Rows]]:
    """The example's tables: Chinese headers, and rows with Chinese coded values."""
    ds = load_dataset(EXAMPLE)
    out: dict[str, tuple[list[str], Rows]] = {}
    for table in TABLES:
        if not ds.has(table.name):
            continue
        frame = ds.table(table.name)
        header = [aliases.COLUMNS[c][0] for c in frame.columns]
        rows: Rows = []
        for record in frame.itertuples(index=False, name=None):
            row = []
            for column, value in zip(frame.columns, record, strict=True):
                if hasattr(value, "item"):
                    value = value.item()
                if value is None or value is pd.NA or (isinstance(value, float) and value != value):
                    value = ""
                row.append(_chinese(table.name, str(column), value))
            rows.append(row)
        out[table.name] = (header, rows)
    return out


def write(name: str, change: Change | None = None, *, title: bool = False) -> Path:
    """The example as a workbook ``name``, with ``change`` made to each table's cells;
    with ``title``, the demands sheet has a merged title row above its header."""
    path = HERE / name
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": CREATED})  # the same bytes on every build
    for table, (header, rows) in example_rows().items():
        if change is not None:
            change(table, header, rows)
        sheet = book.add_worksheet(aliases.SHEETS[table][0])
        top = 0
        if title and table == "demands":
            sheet.merge_range(0, 0, 0, len(header) - 1, "2026年 需求清单（鼓楼区）")
            top = 1
        sheet.write_row(top, 0, header)
        for i, row in enumerate(rows, start=top + 1):
            for j, value in enumerate(row):
                if isinstance(value, Formula):
                    sheet.write_formula(i, j, value.text, None, value.cached)
                elif isinstance(value, str):
                    sheet.write_string(i, j, value)
                elif isinstance(value, dt.datetime):
                    sheet.write_datetime(i, j, value, book.add_format({"num_format": "yyyy-mm-dd"}))
                else:
                    sheet.write(i, j, value)
    book.close()
    return path


class Formula:
    """A formula cell and the value Excel cached for it."""

    def __init__(self, text: str, cached: float | str) -> None:
        self.text = text
        self.cached = cached


def numbers_as_text(table: str, header: list[str], rows: Rows) -> None:
    for row in rows:
        for j, value in enumerate(row):
            if isinstance(value, int | float) and not isinstance(value, bool):
                text = str(int(value)) if float(value).is_integer() else repr(value)
                row[j] = f" {text} "  # as pasted, with spaces round it


def fullwidth(table: str, header: list[str], rows: Rows) -> None:
    wide = str.maketrans("0123456789.-", "０１２３４５６７８９．－")
    for j, name in enumerate(header):
        header[j] = name.replace("(", "（").replace(")", "）")
    for row in rows:
        for j, value in enumerate(row):
            if isinstance(value, int | float) and not isinstance(value, bool):
                text = str(int(value)) if float(value).is_integer() else repr(value)
                row[j] = text.translate(wide)
            elif isinstance(value, str) and "、" in value:
                row[j] = value.replace("、", "；")


def blank_rows(table: str, header: list[str], rows: Rows) -> None:
    if table == "demands":
        rows.insert(2, [""] * len(header))
        rows.extend([[""] * len(header), ["  "] + [""] * (len(header) - 1)])


def formulas(table: str, header: list[str], rows: Rows) -> None:
    if table == "demands":
        hours = header.index(aliases.COLUMNS["hours"][0])
        for row in rows:
            row[hours] = Formula(f"=2*{row[hours] // 2}+{row[hours] % 2}", row[hours])


def dates(table: str, header: list[str], rows: Rows) -> None:
    if table == "demands":
        rows[0][header.index(aliases.COLUMNS["hours"][0])] = dt.datetime(2026, 3, 1)
        rows[1][header.index(aliases.COLUMNS["description"][0])] = dt.datetime(2026, 3, 1)


def formula_errors(table: str, header: list[str], rows: Rows) -> None:
    if table == "demands":
        rows[1][header.index(aliases.COLUMNS["funds"][0])] = Formula("=1/0", "#DIV/0!")


def bad_priority(table: str, header: list[str], rows: Rows) -> None:
    if table == "demands":
        rows[4][header.index(aliases.COLUMNS["priority"][0])] = "七"


def build() -> list[Path]:
    """Every workbook of the tests."""
    built = [
        write("example-chinese.xlsx"),
        write("numbers-as-text.xlsx", numbers_as_text),
        write("fullwidth.xlsx", fullwidth),
        write("merged-header.xlsx", title=True),
        write("blank-rows.xlsx", blank_rows),
        write("formulas.xlsx", formulas),
        write("dates.xlsx", dates),
        write("formula-errors.xlsx", formula_errors),
        write("bad-priority.xlsx", bad_priority, title=True),
    ]
    # Two header cells merged into one: the second column has no name.
    path = HERE / "merged-header-cells.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": CREATED})
    for table, (header, rows) in example_rows().items():
        sheet = book.add_worksheet(aliases.SHEETS[table][0])
        if table == "demands":
            sheet.write_row(0, 0, header[:-2])
            sheet.merge_range(0, len(header) - 2, 0, len(header) - 1, header[-2])
        else:
            sheet.write_row(0, 0, header)
        for i, row in enumerate(rows, start=1):
            for j, value in enumerate(row):
                if isinstance(value, str):
                    sheet.write_string(i, j, value)
                else:
                    sheet.write(i, j, value)
    book.close()
    built.append(path)
    return built


if __name__ == "__main__":
    for p in build():
        print(p.relative_to(ROOT))
