"""Excel workbooks as datasets: Chinese names, cells as people type them, limits, CLI.

The workbooks under tests/data/xlsx/ are built by tests/data/xlsx/build_workbooks.py
from the worked example; each name says what its cells hold.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import matcher
from matcher.cli import main
from matcher.inputs.io import ReadLimits
from matcher.inputs.xlsx import column_letter, write_workbook
from matcher.plans.planner import plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "data" / "example" / "dataset"
BOOKS = ROOT / "tests" / "data" / "xlsx"
EXIT_INPUT = 2

pytest.importorskip("xlsxwriter")


@pytest.fixture(scope="module")
def example() -> matcher.Dataset:
    return matcher.load_dataset(EXAMPLE)


def test_chinese_workbook_gives_the_csv_folders_tables_and_plan(example: matcher.Dataset) -> None:
    book = matcher.load_dataset(BOOKS / "example-chinese.xlsx")
    assert set(book) == set(example)
    for name in example:
        pd.testing.assert_frame_equal(book.table(name), example.table(name))
    assert book.content_hash == example.content_hash
    assert set(book.demands["category"]) == {"elderly_care", "legal_aid", "parking", "digital_help"}
    assert book.files["demands"] == "需求 sheet"
    mine, theirs = plan(book).assignments, plan(example).assignments
    assert len(mine) > 0
    pd.testing.assert_frame_equal(mine, theirs)


@pytest.mark.parametrize(
    "name",
    [
        "numbers-as-text.xlsx",  # ' 16 ' typed or pasted as text, spaces round it
        "fullwidth.xlsx",  # １６, ２６．０８, 时长（小时）, skills joined by ；
        "merged-header.xlsx",  # a merged title row above the demands' header
        "blank-rows.xlsx",  # a blank row among the demands, blank rows after them
        "formulas.xlsx",  # hours as =2*8+0, read as their cached values
    ],
)
def test_messy_cells_read_as_the_csv_reads_them(name: str, example: matcher.Dataset) -> None:
    book = matcher.load_dataset(BOOKS / name)
    for table in example:
        pd.testing.assert_frame_equal(book.table(table), example.table(table), obj=table)
    assert book.content_hash == example.content_hash


@pytest.mark.parametrize(
    ("name", "english", "chinese"),
    [
        (
            "bad-priority.xlsx",  # under a title row: the fifth demand is on row 7
            "需求 sheet, row 7, column E 优先级: got '七', expected a whole number from 1 to 5",
            "“需求”工作表，第 7 行，E 列（优先级）：填写的是 '七'，应为1 到 5 之间的整数",
        ),
        (
            "dates.xlsx",  # a date typed as hours; a date as a description is its text
            "需求 sheet, row 2, column D 时长(小时): got '2026-03-01', "
            "expected a whole number of hours, 0 or more",
            "“需求”工作表，第 2 行，D 列（时长(小时)）：填写的是 '2026-03-01'，"
            "应为整数小时数，0 或以上",
        ),
        (
            "formula-errors.xlsx",  # calamine reads an error cell as empty: it is named
            "需求 sheet, row 3, column G 经费: a value Excel could compute; this cell holds a "
            "formula error (#DIV/0!, #N/A, #VALUE! ...)",
            "“需求”工作表，第 3 行，G 列（经费）：Excel 能算出的值；"
            "此单元格是公式错误（#DIV/0!、#N/A、#VALUE! 等）",
        ),
        (
            "merged-header-cells.xlsx",
            "需求 sheet, row 1: got 'G1:H1', expected one header cell per column, each naming "
            "its column; these cells are merged (unmerge them and name each column)",
            "“需求”工作表，第 1 行：填写的是 'G1:H1'，应为每列一个表头单元格，各自写明列名；"
            "这些单元格被合并了（请取消合并并为每列命名）",
        ),
    ],
)
def test_messy_cells_refused_naming_sheet_row_and_column(
    name: str, english: str, chinese: str
) -> None:
    """Each refused case in a named workbook, with its message in both languages."""
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(BOOKS / name)
    assert [str(i) for i in caught.value.issues] == [english]
    assert [i.text("zh") for i in caught.value.issues] == [chinese]
    assert chinese in caught.value.text("zh")


def test_issues_carry_the_sheet_letter_and_header() -> None:
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(BOOKS / "bad-priority.xlsx")
    issue = caught.value.issues[0].to_dict()
    assert issue == {
        "file": "bad-priority.xlsx",
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


def test_english_workbook_of_a_generated_city_matches_its_csv_folder(tmp_path: Path) -> None:
    from matcher.inputs.generate import generate

    tables = generate(scale=0.03, seed=4)
    matcher.inputs.io.write_tables(tables, tmp_path / "csv")
    write_workbook(tables, tmp_path / "city.xlsx")
    folder = matcher.load_dataset(tmp_path / "csv")
    book = matcher.load_dataset(tmp_path / "city.xlsx")
    assert book.counts() == folder.counts()
    assert book.content_hash == folder.content_hash


def _edited(example: matcher.Dataset, **tables: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {**example.tables(), **tables}


def test_errors_across_sheets_name_each_sheet(example: matcher.Dataset, tmp_path: Path) -> None:
    cadres = example.cadres
    cadres.loc[1, "unit_id"] = "U-NONE"
    communities = example.communities
    communities.loc[2, "lat"] = 123.0
    path = write_workbook(
        _edited(example, cadres=cadres, communities=communities), tmp_path / "x.xlsx", chinese=True
    )
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(path)
    shown = [str(i) for i in caught.value.issues]
    assert shown == [
        "社区 sheet, row 4, column E 纬度: got '123', expected a latitude in degrees, -90 to 90",
        "干部 sheet, row 3, column B 单位编号: got 'U-NONE', expected an id listed in "
        "column 'unit_id' of 单位 sheet",
    ]


def test_missing_and_doubled_sheets(example: matcher.Dataset, tmp_path: Path) -> None:
    tables = example.tables()
    del tables["cadres"]
    path = write_workbook(tables, tmp_path / "x.xlsx")
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(path)
    assert [str(i) for i in caught.value.issues] == [
        "x.xlsx: a sheet named 'cadres' or '干部' (the cadres table, which every dataset "
        "needs); the sheets are communities, units, demands, resources, pairings, alliances, "
        "alliance_members"
    ]


def test_a_missing_column_is_named_on_the_header_row(
    example: matcher.Dataset, tmp_path: Path
) -> None:
    demands = example.demands.drop(columns="priority")
    path = write_workbook(_edited(example, demands=demands), tmp_path / "x.xlsx", chinese=True)
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(path)
    (issue,) = caught.value.issues
    assert issue.sheet == "需求" and issue.row == 1 and issue.column == "priority"
    assert "the header has no column 'priority'" in str(issue)


def test_not_a_workbook(tmp_path: Path) -> None:
    junk = tmp_path / "lists.xlsx"
    junk.write_bytes(b"community_id,name\n")
    old = tmp_path / "lists.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    for path, what in (
        (junk, "this file is not a readable one (save it as an Excel Workbook (.xlsx))"),
        (old, "in the .xlsx format; this is a .xls file"),
    ):
        with pytest.raises(matcher.DatasetError) as caught:
            matcher.load_dataset(path)
        (issue,) = caught.value.issues
        assert what in str(issue), str(issue)


# Reading limits: the workbook's unpacked bytes, its used range, width and cell bytes.


def test_unpacked_bytes_are_counted_not_trusted(example: matcher.Dataset, tmp_path: Path) -> None:
    path = write_workbook(example.tables(), tmp_path / "x.xlsx")
    size = path.stat().st_size
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(path, limits=ReadLimits(max_file_bytes=size + 1000))
    assert "a workbook whose parts unpack to at most" in str(caught.value)


def test_a_far_corner_cell_is_refused_before_calamine_reads_it(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "corner.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("communities")
    sheet.write_row(0, 0, ["community_id", "name"])
    sheet.write(1_048_575, 16_383, "x")  # XFD1048576: calamine would hold 17 billion cells
    book.close()
    t0 = time.perf_counter()
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(path)
    assert time.perf_counter() - t0 < 5
    assert "one reaches cell XFD1048576 (1,048,576 rows x 16,384 columns), more than the " in str(
        caught.value
    )


@pytest.mark.parametrize(("notes", "read"), [(40, True), (200, False)])
def test_a_sparse_range_is_read_up_to_its_budget(
    example: matcher.Dataset, tmp_path: Path, notes: int, read: bool
) -> None:
    # 8,000 communities beside empty note columns whose last row holds one note each:
    # with 40 such columns the range is 6/7 empty and within one cell per 4 bytes of
    # the sheet's XML; with 200 it is not, and the sheet is refused before it is read.
    rows = 8000
    communities = pd.DataFrame(
        {
            "community_id": [f"C{i}" for i in range(rows)],
            "name": "n",
            "district": "鼓楼区",
            "street": "s",
            "lat": 26.0,
            "lon": 119.3,
            "households": 10,
            **{f"note{k}": [""] * (rows - 1) + ["x"] for k in range(notes)},
        }
    )
    tables = {**example.tables(), "communities": communities}
    tables["cadres"] = tables["cadres"].assign(home_community_id="")
    tables["demands"] = tables["demands"].assign(community_id="C1")
    tables["pairings"] = tables["pairings"].assign(community_id="C1")
    path = write_workbook(tables, tmp_path / "sparse.xlsx")
    if read:
        assert len(matcher.load_dataset(path).communities) == rows
        return
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(path)
    assert f"({rows + 1:,} rows x {7 + notes} columns), more than the" in str(caught.value)


def test_width_and_cell_limits(example: matcher.Dataset, tmp_path: Path) -> None:
    demands = example.demands
    demands.loc[0, "description"] = "长" * 200
    path = write_workbook(_edited(example, demands=demands), tmp_path / "x.xlsx", chinese=True)
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(path, limits=ReadLimits(max_line_bytes=300))
    assert [str(i) for i in caught.value.issues] == [
        "需求 sheet, row 2, column H 描述: a cell of at most 300 bytes; this one is longer"
    ]
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(path, limits=ReadLimits(max_columns=7))
    assert "需求 sheet, row 1: at most 7 columns; the sheet has 8" in str(caught.value)


def test_a_workbook_zip_with_too_many_parts(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(1001):
            archive.writestr(f"xl/part{i}.xml", b"")
    path = tmp_path / "many.xlsx"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(matcher.DatasetError) as caught:
        matcher.load_dataset(path)
    assert "a workbook of at most 1,000 parts" in str(caught.value)


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702, 16_383)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
        "XFD",
    ]


# The command line.


def test_cli_validate_a_workbook(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(BOOKS / "example-chinese.xlsx")]) == 0
    out = capsys.readouterr().out
    assert "example-chinese.xlsx: valid (3 communities, 2 units, 5 cadres, 5 demands" in out


def test_cli_validate_a_bad_workbook(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(BOOKS / "bad-priority.xlsx")]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert (
        "需求 sheet, row 7, column E 优先级: got '七', expected a whole number from 1 to 5" in err
    )
    assert "Traceback" not in err


def test_cli_plan_a_workbook(tmp_path: Path, example: matcher.Dataset) -> None:
    assert main(["plan", str(BOOKS / "fullwidth.xlsx"), "--out", str(tmp_path), "--quiet"]) == 0
    written = pd.read_csv(tmp_path / "assignments.csv", keep_default_na=False)
    assert len(written) == len(plan(example).assignments)


def test_the_docs_list_every_name_of_the_alias_table() -> None:
    from matcher.inputs import aliases

    page = (ROOT / "docs" / "excel.md").read_text(encoding="utf-8")
    tables = [aliases.SHEETS, aliases.COLUMNS, *aliases.VALUES.values()]
    missing = [
        name
        for table in tables
        for code, names in table.items()
        for name in (f"`{code}`", *names)
        if name not in page
    ]
    assert missing == []


def test_ties_and_districts_have_chinese_names_for_output() -> None:
    from matcher.inputs.aliases import district_name, tie_name
    from matcher.inputs.generate import DISTRICTS
    from matcher.model.ties import TIES

    assert {tie_name(t, "zh") for t in TIES} == {
        "居住地报到",
        "结对共建",
        "近邻红色联盟",
        "就近服务",
    }
    assert all(tie_name(t, "en") == t for t in TIES)
    names = {district_name(d.name, "zh") for d in DISTRICTS}
    assert names == {"鼓楼区", "台江区", "仓山区", "晋安区", "马尾区", "长乐区"}
    assert district_name("Elsewhere", "zh") == "Elsewhere"


def test_a_filled_template_with_messy_cells_plans_as_the_csv_folder(
    tmp_path: Path, example: matcher.Dataset
) -> None:
    """The Excel way end to end: the blank Chinese template, its example rows replaced
    by the worked example typed as people type it (numbers as text with spaces round
    them, full-width digits, lists joined by ；, Chinese category, kind and level
    words, blank rows left at the end, the optional sheets left empty), read back as
    the same tables and planned to the same plan as the CSV folder."""
    openpyxl = pytest.importorskip("openpyxl")
    from matcher.inputs import aliases
    from matcher.inputs.template import write_template
    from matcher.plans.planner import plan

    blank = tmp_path / "blank.xlsx"
    write_template(blank, lang="zh")
    book = openpyxl.load_workbook(blank)
    wide = str.maketrans("0123456789.-", "０１２３４５６７８９．－")
    for table in matcher.inputs.schema.TABLES:
        sheet = book[aliases.sheet_name(table.name, "zh")]
        sheet.delete_rows(2, sheet.max_row)
        if not example.has(table.name):
            continue  # left with its header only, as a user leaves an unused sheet
        headers = [c.value for c in sheet[1]]
        frame = example.table(table.name)
        by_header = {aliases.header_name(str(c), "zh"): str(c) for c in frame.columns}
        for i, record in enumerate(frame.to_dict("records")):
            row: list[object] = []
            for header in headers:
                column = by_header.get(str(header))
                value = record.get(column) if column else None
                if value is None or value is pd.NA or (isinstance(value, float) and value != value):
                    row.append(None)
                elif isinstance(value, str):
                    words = aliases.value_words(table.name, str(column))
                    if words and value:
                        parts = [words[v][0] for v in value.split(";")]
                        value = "；".join(parts)
                    row.append(value)
                else:
                    text = str(int(value)) if float(value).is_integer() else repr(float(value))
                    row.append(f" {text} " if i % 2 else text.translate(wide))
            sheet.append(row)
        sheet.append([None] * len(headers))
        sheet.append(["  "] + [None] * (len(headers) - 1))
    filled = tmp_path / "三张清单.xlsx"
    book.save(filled)

    ds = matcher.load_dataset(filled)
    for table in example:
        pd.testing.assert_frame_equal(ds.table(table), example.table(table), obj=table)
    mine, theirs = plan(ds), plan(example)
    pd.testing.assert_frame_equal(mine.assignments, theirs.assignments)
    pd.testing.assert_frame_equal(mine.demand_status, theirs.demand_status)
    assert mine.kpis["objective"] == theirs.kpis["objective"]
