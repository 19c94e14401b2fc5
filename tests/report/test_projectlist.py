"""The project list as a workbook (``matcher.report.projectlist``, ``matcher export --xlsx``).

Every check reads the written workbook back with openpyxl (or its XML parts) and
compares it with the plan's own files, read here with pandas: ``kpis.json``,
``demand_status.csv`` and ``assignments.csv``.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import openpyxl
import pandas as pd
import pytest

import matcher
from matcher.cli import main
from matcher.errors import ParameterError, PlanFolderError
from matcher.inputs.aliases import CATEGORIES, category_name, district_name
from matcher.inputs.generate import generate
from matcher.inputs.io import write_tables
from matcher.plans.reasons import reason_text
from matcher.report.projectlist import sheet_names, write_project_list

# The summary's KPI labels in English and the kpis.json key each shows.
KPI_LABELS = {
    "Hours asked": "hours_demanded",
    "Hours covered": "hours_covered",
    "Coverage": "coverage",
    "Demands": "demands",
    "Demands met": "demands_met",
    "Demands partly met": "demands_partial",
    "Demands not met": "demands_unmet",
    "Communities with no hours covered": "communities_zero_coverage_count",
    "Hours offered": "supplier_utilization.hours_available",
    "Hours given": "supplier_utilization.hours_used",
    "Share of offered hours given": "supplier_utilization.utilization",
    "Cadres and services serving": "supplier_utilization.suppliers_used",
}
REASON_LABELS = {
    "no tied supplier": "no_eligible_supplier",
    "too far": "too_far",
    "hours taken by other demands": "capacity_taken",
    "supply short": "supply_short",
    "below minimum hours": "below_min_hours",
    "funds not granted": "not_funded",
}
DISTRICT_HEADER_EN = [
    "Community",
    "demand_id",
    "Demand",
    "category",
    "priority",
    "Hours asked",
    "Hours covered",
    "Serving unit",
    "Unit's hours",
    "Cadres (hours each)",
    "Lead unit",
    "Status",
    "Reason",
]
DISTRICT_HEADER_ZH = [
    "社区",
    "需求编号",
    "需求内容",
    "类别",
    "优先级",
    "需求时长",
    "已覆盖时长",
    "共建单位",
    "单位时长",
    "干部(各自时长)",
    "牵头单位",
    "状态",
    "原因",
]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small generated city (several districts, thousands of assignments) and its plan
    folder."""
    root = tmp_path_factory.mktemp("city")
    dataset = root / "dataset"
    write_tables(generate(scale=0.02, seed=5), dataset)
    plan_dir = root / "plan"
    matcher.plan(dataset).write(plan_dir)
    return dataset, plan_dir


@pytest.fixture(scope="module")
def example_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The spec's worked example and its plan folder."""
    dataset = Path(__file__).parents[1] / "data" / "example" / "dataset"
    plan_dir = tmp_path_factory.mktemp("example") / "plan"
    matcher.plan(dataset).write(plan_dir)
    return dataset, plan_dir


def _kpi(kpis: dict[str, Any], path: str) -> Any:
    value: Any = kpis
    for key in path.split("."):
        value = value[key]
    return value


def _plan_files(plan_dir: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    kpis = json.loads((plan_dir / "kpis.json").read_text(encoding="utf-8"))
    status = pd.read_csv(
        plan_dir / "demand_status.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    for col in ("priority", "hours", "covered_hours"):
        status[col] = status[col].astype(int)
    assignments = pd.read_csv(
        plan_dir / "assignments.csv",
        dtype={"supplier_id": str, "unit_id": str, "demand_id": str},
        encoding="utf-8-sig",
    )
    return kpis, status, assignments


def _english_name(name: str) -> str:
    """A unit's or community's name as the English list shows it ("Group (集团)" is
    "Group")."""
    m = re.match(r"^(.*?)\s*\(([^()]*)\)\s*$", name)
    if (
        m
        and re.search(r"[\u3400-\u9fff]", m.group(2))
        and not re.search(r"[\u3400-\u9fff]", m.group(1))
    ):
        return m.group(1)
    return name


def _header_row(ws: Any, first: str) -> int:
    for row in ws.iter_rows(min_row=1, max_row=10):
        if row[0].value == first:
            return int(row[0].row)
    raise AssertionError(f"no header row starting with {first!r} in {ws.title}")


def _district_rows(ws: Any) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    """A district sheet's demands (their cells) with the units serving each and their
    hours, and its total row."""
    top = _header_row(ws, "Community")
    header = [c.value for c in ws[top]]
    demands: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    total: list[Any] = []
    for values in ws.iter_rows(min_row=top + 1, values_only=True):
        if values[0] == "Total":
            total = list(values)
            break
        cells = dict(zip(header, values, strict=True))
        if cells["demand_id"] is not None:
            current = {**cells, "units": []}
            demands[str(cells["demand_id"])] = current
        assert current is not None
        if cells["Serving unit"] is not None:
            current["units"].append((cells["Serving unit"], cells["Unit's hours"]))
    return demands, total


def test_every_number_is_the_plans(city: tuple[Path, Path], tmp_path: Path) -> None:
    dataset, plan_dir = city
    kpis, status, assignments = _plan_files(plan_dir)
    out = tmp_path / "list.xlsx"
    sheets = write_project_list(plan_dir, dataset, out, lang="en")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == sheets
    districts = sorted(status["district"].unique())
    assert len(districts) > 1
    assert wb.sheetnames == ["Summary", *districts, "Unmet demands"]

    # the summary: every KPI, reason and coverage figure is kpis.json's
    summary = wb["Summary"]
    rows = [r for r in summary.iter_rows(values_only=True) if r[0] is not None]
    shown = {r[0]: r[1] for r in rows if r[0] in KPI_LABELS}
    assert set(shown) == set(KPI_LABELS)
    for label, key in KPI_LABELS.items():
        assert shown[label] == _kpi(kpis, key), label
    reasons = {REASON_LABELS[r[0]]: r[1] for r in rows if r[0] in REASON_LABELS}
    assert reasons == kpis["reasons"] and reasons
    by_district = {r[0]: r[1:4] for r in rows if r[0] in kpis["coverage_by_district"]}
    assert by_district == {
        d: (v["hours_demanded"], v["hours_covered"], v["coverage"])
        for d, v in kpis["coverage_by_district"].items()
    }
    by_category = {r[0]: r[1:4] for r in rows if r[0] in kpis["coverage_by_category"]}
    assert by_category == {
        c: (v["hours_demanded"], v["hours_covered"], v["coverage"])
        for c, v in kpis["coverage_by_category"].items()
    }

    # each district's sheet: its demands, with the plan's figures, units and hours
    units = pd.read_csv(dataset / "units.csv", dtype=str)
    unit_name = dict(zip(units["unit_id"], units["name"].map(_english_name), strict=True))
    per_unit = assignments.groupby(["demand_id", "unit_id"])["hours"].sum()
    expected_units: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (demand, unit), hours in zip(per_unit.index, per_unit.to_numpy(), strict=True):
        expected_units[str(demand)].append((unit_name[str(unit)], int(hours)))
    status_words = {"met": "met", "partial": "partial", "unmet": "unmet"}
    rec: Any
    for district in districts:
        demands, total = _district_rows(wb[district])
        mine = status[status["district"] == district]
        assert sorted(demands) == sorted(mine["demand_id"])
        for rec in mine.itertuples(index=False):
            got = demands[rec.demand_id]
            assert got["category"] == rec.category
            assert (got["priority"], got["Hours asked"], got["Hours covered"]) == (
                rec.priority,
                rec.hours,
                rec.covered_hours,
            )
            assert got["Status"] == status_words[rec.status]
            assert sorted(got["units"]) == sorted(expected_units.get(rec.demand_id, []))
            assert sum(h for _, h in got["units"]) == rec.covered_hours
            if rec.status != "met":
                assert got["Reason"] and rec.reason
        # the total row adds the sheet up: asked, covered, and the units' hours
        assert total[5:9] == [
            kpis["coverage_by_district"][district]["hours_demanded"],
            kpis["coverage_by_district"][district]["hours_covered"],
            None,
            kpis["coverage_by_district"][district]["hours_covered"],
        ]

    # the demands not fully met, with their shortfall
    unmet = wb["Unmet demands"]
    top = _header_row(unmet, "district")
    header = [c.value for c in unmet[top]]
    listed = {
        r[2]: dict(zip(header, r, strict=True))
        for r in unmet.iter_rows(min_row=top + 1, values_only=True)
    }
    short = status[status["status"] != "met"]
    assert sorted(listed) == sorted(short["demand_id"]) and len(listed) > 0
    for rec in short.itertuples(index=False):
        got = listed[rec.demand_id]
        assert got["Hours short"] == rec.hours - rec.covered_hours
        assert (got["Hours asked"], got["Hours covered"]) == (rec.hours, rec.covered_hours)
        assert got["Reason"] == reason_text(rec.reason, "en")


def test_numbers_are_numbers_and_the_cadres_column(example_plan: tuple[Path, Path]) -> None:
    dataset, plan_dir = example_plan
    out = io.BytesIO()
    write_project_list(plan_dir, dataset, out, lang="en")
    wb = openpyxl.load_workbook(out)
    demands, _ = _district_rows(wb["Gulou"])
    d1 = demands["D1"]
    assert d1["Community"] == "Military Gate Community" and d1["Hours asked"] == 16
    assert d1["Demand"] == "Staff the elderly canteen"
    # D1: the Jichunyuan Group's service gives 12 hours, cadre K1 of the bureau 4
    assert sorted(d1["units"]) == [("Jichunyuan Group", 12), ("Municipal bureau A", 4)]
    ws = wb["Gulou"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if c.value is not None}
    assert cells["K1 (4)"].data_type == "s"
    assert cells["Staff the elderly canteen"].data_type == "s"
    top = _header_row(ws, "Community")
    first = [c for c in ws[top + 1]]
    assert first[4].data_type == "n" and first[5].number_format == "#,##0"
    taijiang, _ = _district_rows(wb["Taijiang"])
    assert taijiang["D3"]["Status"] == "partial" and taijiang["D3"]["Reason"] == "supply short"


def test_chinese_and_english_headers(city: tuple[Path, Path], tmp_path: Path) -> None:
    dataset, plan_dir = city
    _, status, _ = _plan_files(plan_dir)
    district = sorted(status["district"].unique())[0]
    zh = openpyxl.load_workbook(_write(plan_dir, dataset, tmp_path / "zh.xlsx", lang="zh"))
    assert zh.sheetnames[0] == "汇总" and zh.sheetnames[-1] == "未满足需求清单"
    ws = zh[district_name(district, "zh")]  # 鼓楼区, not Gulou
    assert district_name(district, "zh") != district
    top = _header_row(ws, "社区")
    assert [c.value for c in ws[top]] == DISTRICT_HEADER_ZH
    assert ws["A1"].value == f"{district_name(district, 'zh')}项目清单"
    categories = {r[3] for r in ws.iter_rows(min_row=top + 1, values_only=True)} - {None}
    assert categories and categories <= set(category_name(c, "zh") for c in CATEGORIES)
    assert {r[11] for r in ws.iter_rows(min_row=top + 1, values_only=True)} - {None} <= {
        "已满足",
        "部分满足",
        "未满足",
    }
    summary = [r[0] for r in zh["汇总"].iter_rows(values_only=True)]
    assert "需求时长" in summary and "覆盖率" in summary and "指标" in summary
    en = openpyxl.load_workbook(_write(plan_dir, dataset, tmp_path / "en.xlsx", lang="en"))
    ws = en[district]
    assert [c.value for c in ws[_header_row(ws, "Community")]] == DISTRICT_HEADER_EN


def _write(plan_dir: Path, dataset: Path, out: Path, **options: Any) -> Path:
    write_project_list(plan_dir, dataset, out, **options)
    return out


def test_print_setup_of_every_sheet(example_plan: tuple[Path, Path], tmp_path: Path) -> None:
    dataset, plan_dir = example_plan
    wb = openpyxl.load_workbook(_write(plan_dir, dataset, tmp_path / "l.xlsx", lang="zh"))
    for ws in wb:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert int(ws.page_setup.paperSize) == 9, ws.title  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        # one page wide (1 is the default, left out of the file), as many pages long as
        # it takes
        width = 1 if ws.page_setup.fitToWidth is None else ws.page_setup.fitToWidth
        assert (width, ws.page_setup.fitToHeight) == (1, 0), ws.title
        assert ws.print_title_rows, ws.title
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    for name in wb.sheetnames[1:]:
        # the header row, under the title and its line, repeats on every page
        ws = wb[name]
        assert ws.print_title_rows == "$3:$3", name
        assert ws.freeze_panes == "A4", name
        assert ws.cell(3, 1).value in ("社区", "区")
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A3:")


def test_summary_has_native_charts_of_its_tables(
    example_plan: tuple[Path, Path], tmp_path: Path
) -> None:
    dataset, plan_dir = example_plan
    out = _write(plan_dir, dataset, tmp_path / "l.xlsx", lang="en")
    with zipfile.ZipFile(out) as z:
        charts = sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
        assert len(charts) == 2
        refs = [re.findall(r"<c:f>([^<]*)</c:f>", z.read(c).decode()) for c in charts]
        drawing_rels = z.read("xl/drawings/_rels/drawing1.xml.rels").decode()
        sheet_rels = z.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
    assert "drawing1.xml" in sheet_rels  # the charts sit on the first sheet, the summary
    assert all(f"../charts/{Path(c).name}" in drawing_rels for c in charts)
    # district chart: names in A, hours asked in B and covered in C of the summary
    for found in refs:
        assert found and all(f.startswith("Summary!$") for f in found), found
        assert any("$B$" in f for f in found) and any("$C$" in f for f in found)
    wb = openpyxl.load_workbook(out)
    ws = wb["Summary"]
    first = re.search(r"\$A\$(\d+):\$A\$(\d+)", " ".join(refs[0]))
    assert first is not None
    names = [ws.cell(r, 1).value for r in range(int(first[1]), int(first[2]) + 1)]
    assert names == ["Gulou", "Taijiang"]


# Attributes that hold cell references ("K3"), which a short cadre id may look like.
_CELL_REFS = {"r", "ref", "sqref", "topLeftCell", "activeCell", "spans"}


def _xml_texts(data: bytes) -> list[str]:
    """Every text node and attribute value of an XML part but cell references."""
    root = ElementTree.fromstring(data)
    found = []
    for el in root.iter():
        if el.text and el.text.strip():
            found.append(el.text)
        found.extend(v for k, v in el.attrib.items() if k not in _CELL_REFS)
    return found


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_public_variant_has_no_personal_data(
    city: tuple[Path, Path], tmp_path: Path, lang: str
) -> None:
    dataset, plan_dir = city
    cadres = pd.read_csv(dataset / "cadres.csv", dtype=str, keep_default_na=False)
    ids = set(cadres["cadre_id"])
    coords = {float(v) for col in ("lat", "lon") for v in cadres[col] if v}
    public = _write(plan_dir, dataset, tmp_path / "public.xlsx", lang=lang, public=True)
    full = _write(plan_dir, dataset, tmp_path / "full.xlsx", lang=lang)

    def found_ids(path: Path) -> set[str]:
        found: set[str] = set()
        wb = openpyxl.load_workbook(path)
        for ws in wb:
            for row in ws.iter_rows(values_only=True):
                for v in row:
                    if isinstance(v, str):
                        found.update(re.findall(r"K\d{6}", v))
                    elif isinstance(v, float):
                        assert v not in coords
        with zipfile.ZipFile(path) as z:
            for part in z.namelist():
                if part.endswith((".xml", ".rels")):
                    text = z.read(part).decode("utf-8")
                    found.update(re.findall(r"K\d{6}", text))
        return found & ids

    # the variant for the joint meeting names cadres: the scan would see them
    assert len(found_ids(full)) > 100
    assert found_ids(public) == set()
    # nor in the file's properties
    with zipfile.ZipFile(public) as z:
        core = z.read("docProps/core.xml")
        assert not [t for t in _xml_texts(core) if t in ids]
        assert b"<dc:creator>" not in core or b"<dc:creator></dc:creator>" in core


def test_public_variant_of_the_example(example_plan: tuple[Path, Path], tmp_path: Path) -> None:
    """The example's cadre ids (K1..K5) are short: every cell and every text of the
    workbook's parts is compared whole, or as the "K1 (4)" the cadres column writes."""
    dataset, plan_dir = example_plan
    ids = set(pd.read_csv(dataset / "cadres.csv", dtype=str)["cadre_id"])
    for public, expect in ((True, set()), (False, {"K1", "K2", "K4", "K5"})):
        out = _write(plan_dir, dataset, tmp_path / f"{public}.xlsx", lang="zh", public=public)
        seen: set[str] = set()
        with zipfile.ZipFile(out) as z:
            for part in z.namelist():
                if part.endswith((".xml", ".rels")):
                    for text in _xml_texts(z.read(part)):
                        seen.update(w for w in re.split(r"[\s,、()]+", text) if w in ids)
        assert seen == expect, public


def test_districts_scope(city: tuple[Path, Path], tmp_path: Path) -> None:
    dataset, plan_dir = city
    kpis, status, _ = _plan_files(plan_dir)
    district = sorted(status["district"].unique())[1]
    mine = status[status["district"] == district]
    others = set(status["demand_id"]) - set(mine["demand_id"])
    out = _write(plan_dir, dataset, tmp_path / "d.xlsx", lang="en", districts=[district])
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Summary", district, "Unmet demands"]
    cells = {v for ws in wb for r in ws.iter_rows(values_only=True) for v in r if v is not None}
    assert not cells & others
    assert not cells & (set(status["district"]) - {district})
    rows = [r for r in wb["Summary"].iter_rows(values_only=True) if r[0] is not None]
    shown = {r[0]: r[1] for r in rows if r[0] in KPI_LABELS}
    counts = mine["status"].value_counts()
    assert shown == {
        "Hours asked": int(mine["hours"].sum()),
        "Hours covered": int(mine["covered_hours"].sum()),
        "Coverage": round(mine["covered_hours"].sum() / mine["hours"].sum(), 6),
        "Demands": len(mine),
        "Demands met": int(counts.get("met", 0)),
        "Demands partly met": int(counts.get("partial", 0)),
        "Demands not met": int(counts.get("unmet", 0)),
        "Communities with no hours covered": int(
            (
                mine.groupby("community_id")[["hours", "covered_hours"]]
                .sum()
                .pipe(lambda f: (f["hours"] > 0) & (f["covered_hours"] == 0))
            ).sum()
        ),
    }
    # the district's coverage is the city's kpis.json's for it
    by_district = {r[0]: r[1:4] for r in rows if r[0] == district}
    v = kpis["coverage_by_district"][district]
    assert by_district == {district: (v["hours_demanded"], v["hours_covered"], v["coverage"])}


def test_sheet_names_are_valid_and_distinct() -> None:
    names = sheet_names(["a[b]", "x:y*z?", "q/r\\s", "'quoted'", "History", "A" * 40, "a" * 40])
    assert names[:5] == ["a_b_", "x_y_z_", "q_r_s", "quoted", "History (2)"]
    assert all(len(n) <= 31 for n in names)
    assert len({n.casefold() for n in names}) == len(names)


def test_bad_arguments(example_plan: tuple[Path, Path], tmp_path: Path) -> None:
    dataset, plan_dir = example_plan
    with pytest.raises(ParameterError, match="lang"):
        write_project_list(plan_dir, dataset, tmp_path / "l.xlsx", lang="fr")
    with pytest.raises(ParameterError, match=r"\.xlsx"):
        write_project_list(plan_dir, dataset, tmp_path / "l.csv")
    with pytest.raises(PlanFolderError, match="content hash"):
        write_project_list(plan_dir, "tests/data/reasons", tmp_path / "l.xlsx")


def test_cli_export_xlsx(
    example_plan: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset, plan_dir = example_plan
    out = tmp_path / "公示.xlsx"
    base = ["export", str(plan_dir), "--dataset", str(dataset)]
    code = main([*base, "--xlsx", str(out), "--lang", "zh", "--public"])
    assert code == 0
    assert "公示版" in capsys.readouterr().out
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["汇总", "鼓楼区", "台江区", "未满足需求清单"]
    ws = wb["鼓楼区"]
    assert "干部(各自时长)" not in [c.value for c in ws[3]]

    # --out and --xlsx together; neither is an error with a message, not a traceback
    dash = ["--out", str(tmp_path / "dash"), "--format", "csv", "--lang", "en"]
    code = main([*base, "--xlsx", str(tmp_path / "m.xlsx"), *dash])
    assert code == 0 and (tmp_path / "m.xlsx").is_file()
    assert (tmp_path / "dash" / "kpis.csv").is_file()
    capsys.readouterr()
    assert main(["export", str(plan_dir), "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "--out DIR" in err and "--xlsx FILE.xlsx" in err and "Traceback" not in err
    assert main(["export", str(plan_dir), "--xlsx", str(tmp_path / "x.csv")]) == 2
    assert ".xlsx" in capsys.readouterr().err
    assert main(["export", str(plan_dir), "--out", str(tmp_path / "o"), "--public"]) == 2
    assert "--public" in capsys.readouterr().err


def test_plan_of_a_workbook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plan made from a workbook finds it again through its run.json."""
    workbook = Path(__file__).parents[1] / "data" / "xlsx" / "example-chinese.xlsx"
    plan_dir = tmp_path / "plan"
    assert main(["plan", str(workbook), "--out", str(plan_dir), "--quiet"]) == 0
    out = tmp_path / "项目清单.xlsx"
    assert main(["export", str(plan_dir), "--xlsx", str(out), "--lang", "zh"]) == 0
    wb = openpyxl.load_workbook(out)
    kpis = json.loads((plan_dir / "kpis.json").read_text(encoding="utf-8"))
    assert _kpi_rows_zh(wb)["需求时长"] == kpis["hours_demanded"]


def _kpi_rows_zh(wb: openpyxl.Workbook) -> dict[str, Any]:
    return {r[0]: r[1] for r in wb["汇总"].iter_rows(values_only=True) if r[0]}
