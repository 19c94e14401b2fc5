"""The workbook to fill (``matcher template``): sheets and headers from the alias
table, notes, drop-down lists and number checks, the example rows, and the round trip
of a dataset through the template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from matcher.cli import main
from matcher.inputs import aliases
from matcher.inputs.dataset import load_dataset
from matcher.inputs.schema import TABLES, Kind
from matcher.inputs.template import LIST_SHEET, example_rows, note, write_template
from matcher.plans.planner import plan

openpyxl = pytest.importorskip("openpyxl")

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "tests" / "data" / "example" / "dataset"
DEMO = ROOT / "datasets" / "fuzhou-demo"
LANGS = ("zh", "en")


@pytest.fixture(scope="module", params=LANGS)
def blank(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    lang = str(request.param)
    path = tmp_path_factory.mktemp("template") / f"template-{lang}.xlsx"
    write_template(path, lang=lang)
    return lang, path, openpyxl.load_workbook(path)


def _validations(sheet: Any) -> dict[str, Any]:
    """The data validation of each column letter (they cover whole columns)."""
    found: dict[str, Any] = {}
    for dv in sheet.data_validations.dataValidation:
        for cells in dv.sqref.ranges:
            letter = cells.coord.split(":")[0].rstrip("0123456789")
            found[letter] = dv
    return found


def test_sheets_and_headers_are_the_alias_tables_names(blank: Any) -> None:
    lang, _, book = blank
    names = [aliases.sheet_name(t.name, lang) for t in TABLES]
    assert book.sheetnames == [*names, LIST_SHEET[lang]]
    if lang == "zh":
        assert names[0] == aliases.SHEETS["communities"][0] == "社区"
    for table in TABLES:
        sheet = book[aliases.sheet_name(table.name, lang)]
        header = [c.value for c in sheet[1]]
        assert header == [aliases.header_name(c.name, lang) for c in table.columns]
        if lang == "zh":
            assert header == [aliases.COLUMNS[c.name][0] for c in table.columns]
        else:
            assert header == [c.name for c in table.columns]


def test_every_header_has_its_note(blank: Any) -> None:
    lang, _, book = blank
    for table in TABLES:
        sheet = book[aliases.sheet_name(table.name, lang)]
        for cell, col in zip(sheet[1], table.columns, strict=True):
            assert cell.comment is not None, (table.name, col.name)
            text = cell.comment.text
            assert text == note(table, col, lang)
            assert aliases.column_note(table.name, col.name, lang) in text
            required = {"zh": ("必填", "选填"), "en": ("Required", "Optional")}[lang]
            assert required[1 if col.optional else 0] in text


def test_the_note_of_a_coded_column_lists_its_values(blank: Any) -> None:
    lang, _, book = blank
    text = book[aliases.sheet_name("units", lang)]["C1"].comment.text  # kind
    for code in aliases.UNIT_KINDS:
        assert aliases.value_name("units", "kind", code, lang) in text
    priority = book[aliases.sheet_name("demands", lang)]["E1"].comment.text
    assert ("1至5" if lang == "zh" else "from 1 to 5") in priority


def test_every_column_has_an_english_note_and_the_catalogue_a_chinese_one() -> None:
    for table in TABLES:
        for col in table.columns:
            en = aliases.NOTES[(table.name, col.name)]
            zh = aliases.column_note(table.name, col.name, "zh")
            assert en.strip() and en.isascii(), (table.name, col.name)
            assert aliases.column_note(table.name, col.name, "en") == en
            assert zh.strip() and not zh.isascii(), (table.name, col.name)
    spec = {(t.name, c.name) for t in TABLES for c in t.columns}
    assert set(aliases.NOTES) == spec


def test_the_chinese_template_has_the_chinese_notes(blank: Any) -> None:
    lang, _, book = blank
    demands = book[aliases.sheet_name("demands", lang)]
    priority, category = demands["E1"].comment.text, demands["C1"].comment.text
    if lang == "zh":
        assert priority == "优先级，1(低)到5(紧急)\n必填。\n整数，1至5。"
        assert category.startswith("需求类别\n必填。\n一般为：养老照护、长者助餐、")
        assert category.endswith("(其他词按原样保留)。\n可从下拉列表选择。")
        lat = book["社区"]["E1"].comment.text
        assert lat == "纬度(度)\n必填。\n数字，-90至90。"
    else:
        assert priority == "Priority, 1 (low) to 5 (urgent)\nRequired.\nA whole number from 1 to 5."
        assert category.startswith("What is needed (a category)\nRequired.\nUsually one of: ")
    # The checks' messages are in the language too.
    found = _validations(demands)
    assert found["E"].error == note_kind(lang)
    assert found["C"].error == (
        "也可填写其他值。" if lang == "zh" else "Other values may be typed."
    )


def note_kind(lang: str) -> str:
    return "整数，1至5。" if lang == "zh" else "A whole number from 1 to 5."


def test_the_lists_sheet_is_hidden_and_holds_every_name(blank: Any) -> None:
    lang, _, book = blank
    lists = book[LIST_SHEET[lang]]
    assert lists.sheet_state == "hidden"
    held = {c.value for row in lists.iter_rows(min_row=2) for c in row if c.value}
    for words in (
        aliases.CATEGORIES,
        aliases.UNIT_KINDS,
        aliases.UNIT_LEVELS,
        aliases.RESOURCE_KINDS,
    ):
        for code, names in words.items():
            assert (names[0] if lang == "zh" else code) in held
    assert example_rows(lang)["communities"]["district"] in held
    assert aliases.sheet_table(LIST_SHEET[lang]) is None  # never read as a table


def test_coded_and_district_columns_have_drop_downs_on_the_lists_sheet(blank: Any) -> None:
    lang, _, book = blank
    quoted = f"'{LIST_SHEET[lang]}'!"
    for table in TABLES:
        sheet = book[aliases.sheet_name(table.name, lang)]
        found = _validations(sheet)
        for i, col in enumerate(table.columns):
            letter = chr(ord("A") + i)
            coded = aliases.value_words(table.name, col.name) is not None
            if coded or col.name == "district":
                dv = found[letter]
                assert dv.type == "list", (table.name, col.name)
                assert dv.formula1.startswith(quoted), dv.formula1
                if col.kind is Kind.ENUM:
                    assert dv.errorStyle in (None, "stop")
                else:
                    assert dv.errorStyle == "warning" or not dv.showErrorMessage


def test_number_columns_are_checked_with_the_schemas_ranges(blank: Any) -> None:
    lang, _, book = blank
    demands = _validations(book[aliases.sheet_name("demands", lang)])
    assert demands["D"].type == "whole" and demands["D"].operator == "greaterThanOrEqual"
    assert demands["E"].type == "whole" and demands["E"].operator in (None, "between")
    assert (demands["E"].formula1, demands["E"].formula2) == ("1", "5")
    communities = _validations(book[aliases.sheet_name("communities", lang)])
    lat, lon = communities["E"], communities["F"]
    assert lat.type == "decimal" and (float(lat.formula1), float(lat.formula2)) == (-90, 90)
    assert lon.type == "decimal" and (float(lon.formula1), float(lon.formula2)) == (-180, 180)
    assert communities["G"].type == "whole"  # households


def test_header_row_frozen_and_columns_wide_enough(blank: Any) -> None:
    lang, _, book = blank
    for table in TABLES:
        sheet = book[aliases.sheet_name(table.name, lang)]
        assert sheet.freeze_panes == "A2"
        for i, _col in enumerate(table.columns):
            letter = chr(ord("A") + i)
            assert sheet.column_dimensions[letter].width >= 8


def test_the_example_rows_are_in_the_language_and_validate_and_plan(blank: Any) -> None:
    lang, path, book = blank
    demands = book[aliases.sheet_name("demands", lang)]
    assert demands["C2"].value == ("养老照护" if lang == "zh" else "elderly_care")
    assert book[aliases.sheet_name("cadres", lang)]["B2"].value == "U001"
    ds = load_dataset(path)
    assert all(n == 1 for n in ds.counts().values())
    assert set(ds.counts()) == {t.name for t in TABLES}
    assert ds.demands["category"].tolist() == ["elderly_care"]
    assert ds.cadres["skills"].tolist() == ["elderly_care;legal_aid"]
    assert ds.units["kind"].tolist() == ["government"]
    result = plan(ds)
    assert result.kpis["proven_optimal"]
    assert result.kpis["hours_covered"] > 0


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("source", [EXAMPLE, DEMO], ids=["example", "fuzhou-demo"])
def test_a_dataset_round_trips_through_the_template(
    tmp_path: Path, source: Path, lang: str
) -> None:
    path = tmp_path / f"lists-{lang}.xlsx"
    write_template(path, lang=lang, dataset=source)
    original = load_dataset(source)
    again = load_dataset(path)
    assert again.content_hash == original.content_hash
    book = openpyxl.load_workbook(path)
    units = book[aliases.sheet_name("units", lang)]
    kind = original.units["kind"].iloc[0]
    assert units["C2"].value == aliases.value_name("units", "kind", kind, lang)
    if lang == "zh":
        assert units["C2"].value == aliases.UNIT_KINDS[kind][0]
    districts = {c.value for c in book[LIST_SHEET[lang]]["E"][1:] if c.value is not None}
    present = {d for t in ("communities", "units", "alliances") for d in original.table(t).district}
    assert districts == present


def test_the_same_plan_from_the_template(tmp_path: Path) -> None:
    path = tmp_path / "lists.xlsx"
    write_template(path, dataset=EXAMPLE)
    a, b = plan(load_dataset(EXAMPLE)), plan(load_dataset(path))
    assert a.kpis["objective"] == pytest.approx(b.kpis["objective"])
    assert a.assignments.equals(b.assignments)


def test_bad_language_and_file_name_are_refused(tmp_path: Path) -> None:
    from matcher.errors import ParameterError

    with pytest.raises(ParameterError):
        write_template(tmp_path / "t.xlsx", lang="fr")
    with pytest.raises(ParameterError):
        write_template(tmp_path / "t.csv")


def test_cli_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "blank.xlsx"
    assert main(["template", str(out)]) == 0
    assert "每张工作表一行示例" in capsys.readouterr().out
    assert openpyxl.load_workbook(out).sheetnames[0] == "社区"
    assert main(["template", str(tmp_path / "en.xlsx"), "--lang", "en"]) == 0
    assert openpyxl.load_workbook(tmp_path / "en.xlsx").sheetnames[0] == "communities"
    filled = tmp_path / "filled.xlsx"
    assert main(["template", str(filled), "--from", str(EXAMPLE)]) == 0
    assert load_dataset(filled).content_hash == load_dataset(EXAMPLE).content_hash
    capsys.readouterr()
    assert main(["template", str(tmp_path / "x.xlsx"), "--from", str(tmp_path / "nope")]) == 2
    assert "没有这个文件夹" in capsys.readouterr().err  # the template's language: Chinese
    assert main(["template", str(tmp_path / "x.xlsx"), "--from", "nope", "--lang", "en"]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()
    assert main(["template", str(tmp_path / "x.csv")]) == 2
    assert "应为以 .xlsx 结尾的文件名" in capsys.readouterr().err
    assert main(["template", str(tmp_path / "x.csv"), "--lang", "en"]) == 2
    assert "expected a file name ending in .xlsx" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


FRENCH = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Priority, 1 (low) to 5 (urgent)"
msgstr "Priorité, de 1 (faible) à 5 (urgente)"

msgid "Required."
msgstr "Obligatoire."

msgid "A whole number from {lo} to {hi}."
msgstr "Un nombre entier de {lo} à {hi}."

msgctxt "sheet name"
msgid "lists"
msgstr "listes"

msgid "Example community"
msgstr "Communauté exemple"
"""


@pytest.fixture
def french(add_catalogue: Any) -> None:
    """A French catalogue beside the Chinese one, and nothing else: no code knows French."""
    add_catalogue("fr", FRENCH)


def test_a_new_language_is_a_new_catalogue(french: Any, tmp_path: Path) -> None:
    path = tmp_path / "modele.xlsx"
    write_template(path, lang="fr")
    book = openpyxl.load_workbook(path)
    # Vocabulary has no French names: sheets and headers are the spec's; the texts that
    # the French catalogue has are French, the others English.
    assert book.sheetnames[-1] == LIST_SHEET["fr"] == "listes"
    assert book["listes"].sheet_state == "hidden"
    priority = book["demands"]["E1"].comment.text
    assert (
        priority
        == "Priorité, de 1 (faible) à 5 (urgente)\nObligatoire.\nUn nombre entier de 1 à 5."
    )
    assert book["communities"]["B2"].value == "Communauté exemple"
    assert aliases.column_note("demands", "priority", "fr").startswith("Priorité")
    # It reads back as the same dataset as the English template.
    write_template(tmp_path / "en.xlsx", lang="en")
    assert load_dataset(path).counts() == load_dataset(tmp_path / "en.xlsx").counts()
