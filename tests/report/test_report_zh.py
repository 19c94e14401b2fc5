"""The report in Chinese, read back without a browser.

The Chinese page must be the English page in other words: the same elements with the same
ids and ``data-*`` attributes, the same numbers, and no English left in what a person
reads but the names the data itself holds.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from factories import random_tables
from test_report import parse

import matcher
from matcher.cli import main
from matcher.errors import ParameterError, PlanFolderError
from matcher.i18n import translator
from matcher.inputs.aliases import category_name
from matcher.plans.io import read_plan
from matcher.plans.reasons import reason_text
from matcher.report.html import build_report, build_reports

EXAMPLE = Path(__file__).parents[1] / "data" / "example" / "dataset"

ALLOWED = {"KPI", "ID", "km", "CSV", "JSON"}
"""ASCII words a Chinese page may show: abbreviations Chinese readers use as they are."""


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two plans of the worked example (the second with dear travel), in folders."""
    root = tmp_path_factory.mktemp("zh")
    out = {"base": root / "base", "dear": root / "dear"}
    matcher.plan(matcher.load_dataset(EXAMPLE)).write(out["base"])
    matcher.plan(EXAMPLE, matcher.PlanParams(travel_cost_per_km=1.0)).write(out["dear"])
    return out


@pytest.fixture(scope="module")
def random_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A seeded random city (every tie kind, unmet demands, bottlenecks), planned twice."""
    root = tmp_path_factory.mktemp("zh-random")
    dataset_dir = root / "dataset"
    matcher.dataset_from_frames(random_tables(5), "random").write(dataset_dir)
    ds = matcher.load_dataset(dataset_dir)
    matcher.plan(ds).write(root / "plan")
    matcher.plan(ds, matcher.PlanParams(max_travel_km=3.0)).write(root / "near")
    return dataset_dir, root / "plan", root / "near"


def pages(plan: Path, other: Path) -> dict[str, str]:
    """The report of ``plan`` compared with ``other`` in English and in Chinese."""
    return {lang: build_report(plan, other=other, lang=lang) for lang in ("en", "zh")}


def skeleton(page: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every element that has an id or ``data-*`` attributes: its tag and those
    attributes, sorted (a sentence may name its figures in another order in Chinese)."""
    out = []
    for e in parse(page).elements:
        keep = [(k, v or "") for k, v in e["attrs"].items() if k == "id" or k.startswith("data-")]
        if keep:
            out.append((e["tag"], sorted(keep)))
    return sorted(out)


class Visible(HTMLParser):
    """What a person reads: text outside scripts, styles and code, tooltips (``title``
    elements and attributes) and labels for screen readers (``aria-label``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code"):
            self._hidden += 1
        self.texts += [v for k, v in attrs if k in ("title", "aria-label") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.texts.append(data)


def english_words(page: str, data_texts: set[str]) -> set[str]:
    """ASCII words of three letters or more a person reads on ``page``, once the texts the
    data holds (names, ids, districts, descriptions, labels) are taken out."""
    reader = Visible()
    reader.feed(page)
    text = "\n".join(reader.texts)
    for value in sorted(data_texts, key=len, reverse=True):
        text = text.replace(value, " ")
    return set(re.findall(r"[A-Za-z]{3,}", text)) - ALLOWED


def data_texts(dataset_dir: Path, *labels: str) -> set[str]:
    """Every text cell of a dataset, and the plans' labels: data, not messages."""
    ds = matcher.load_dataset(dataset_dir)
    out = {str(Path(ds.source).name), *labels}
    for frame in (ds.communities, ds.units, ds.cadres, ds.demands, ds.resources):
        for column in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[column]):
                out |= {str(v) for v in frame[column].dropna() if str(v).strip()}
    return out


def test_chinese_page_has_the_english_pages_ids_and_data(plans: dict[str, Path]) -> None:
    got = pages(plans["base"], plans["dear"])
    assert got["zh"] != got["en"]
    assert '<html lang="zh-CN">' in got["zh"] and '<html lang="en">' in got["en"]
    en, zh = skeleton(got["en"]), skeleton(got["zh"])
    assert len(en) > 50 and en == zh
    # the charts, tables and the comparison are all there
    ids = {v for _, attrs in zh for k, v in attrs if k == "id"}
    assert {
        "map",
        "chart-districts",
        "chart-categories",
        "chart-supply",
        "chart-units",
        "chart-reasons",
        "table-unmet",
        "table-compare-kpis",
        "compare-counts",
        "report-texts",
    } <= ids


def test_chinese_page_speaks_chinese(plans: dict[str, Path]) -> None:
    page = build_report(plans["base"], other=plans["dear"], lang="zh")
    doc = parse(page)
    (h1,) = [e for e in doc.elements if e["tag"] == "h1"]
    assert h1["text"] == "共建项目清单：base"
    assert "军门社区" in page and "Military Gate Community" not in page  # its Chinese part
    # categories by their Chinese names, codes kept in data-category
    marks = [e for e in doc.elements if e["tag"] == "rect" and "data-coverage" in e["attrs"]]
    for mark in marks:
        if "data-category" in mark["attrs"]:
            assert mark["text"].startswith(category_name(mark["attrs"]["data-category"], "zh"))
    # the reasons in their Chinese words, codes kept in data-reason
    reasons = doc.having("data-reason")
    assert reasons and all(
        reason_text(e["attrs"]["data-reason"], "zh", short=True) in e["text"]
        or reason_text(e["attrs"]["data-reason"], "zh") in e["text"]
        for e in reasons
    )
    assert reason_text("supply_short", "zh") in page
    sections = [e["text"] for e in doc.elements if e["tag"] == "h2"]
    assert sections[:3] == ["项目清单概览", "项目清单覆盖范围", "各区覆盖率"]
    assert sections[-1] == "与 dear 对比"
    # the script's words come as data, in Chinese
    assert '"km": "{km} 公里"' in page


@pytest.mark.parametrize("case", ["example", "random"])
def test_no_english_left_in_what_a_person_reads(
    case: str, plans: dict[str, Path], random_case: tuple[Path, Path, Path]
) -> None:
    if case == "example":
        dataset_dir, plan, other = EXAMPLE, plans["base"], plans["dear"]
    else:
        dataset_dir, plan, other = random_case
    got = pages(plan, other)
    names = data_texts(dataset_dir, plan.name, other.name)
    assert english_words(got["zh"], names) == set()
    # the check bites: the English page, read the same way, is full of English words
    assert {"covered", "demands", "hours", "Comparison"} <= english_words(got["en"], names)


def test_numbers_are_the_english_pages(random_case: tuple[Path, Path, Path]) -> None:
    _, plan, other = random_case
    got = pages(plan, other)
    docs = {lang: parse(page) for lang, page in got.items()}
    kpis = {
        lang: [(e["attrs"]["data-kpi"], e["text"]) for e in doc.having("data-kpi")]
        for lang, doc in docs.items()
    }
    assert sorted(kpis["zh"]) == sorted(kpis["en"]) and len(kpis["en"]) > 20

    def numbers(doc: Any, cls: str) -> list[list[str]]:
        texts = [e["text"] for e in doc.elements if e["attrs"].get("class", "") == cls]
        return [re.findall(r"[+\-−]?[\d,]+(?:\.\d+)?%?", t) for t in texts]

    for cls in ("value", "value alert", "num", "num delta better", "num delta worse"):
        assert numbers(docs["zh"], cls) == numbers(docs["en"], cls), cls
    assert numbers(docs["en"], "value") and numbers(docs["en"], "num")
    counts = docs["zh"].find(id="compare-counts")[0]
    assert counts["attrs"] == docs["en"].find(id="compare-counts")[0]["attrs"]
    assert re.findall(r"\d[\d,]*", counts["text"]) == re.findall(
        r"\d[\d,]*", docs["en"].find(id="compare-counts")[0]["text"]
    )


def test_reports_in_several_languages_at_once(plans: dict[str, Path]) -> None:
    both = build_reports(plans["base"], other=plans["dear"], langs=["en", "zh"])
    assert both == pages(plans["base"], plans["dear"])
    with pytest.raises(ParameterError, match="lang"):
        build_report(plans["base"], lang="fr")


def test_cli_report_in_chinese(plans: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "report-zh.html"
    code = main(["report", str(plans["base"]), "--out", str(out), "--lang", "zh"])
    assert code == 0
    assert "已写入" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8") == build_report(plans["base"], lang="zh")
    assert main(["report", str(plans["base"]), "--out", str(out), "--lang", "en"]) == 0
    assert '<html lang="en">' in out.read_text(encoding="utf-8")


def test_plan_folder_errors_render_in_chinese(plans: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(PlanFolderError) as info:
        read_plan(tmp_path / "nowhere")
    message = info.value.args[0]
    assert "does not exist" in str(info.value)
    assert "项目清单文件夹" in message.render("zh") and "nowhere" in message.render("zh")
    status = pd.read_csv(plans["base"] / "demand_status.csv", dtype=str)
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("assignments.csv", "kpis.json", "run.json"):
        (broken / name).write_bytes((plans["base"] / name).read_bytes())
    status.loc[0, "hours"] = "many"
    status.to_csv(broken / "demand_status.csv", index=False)
    with pytest.raises(PlanFolderError) as info:
        read_plan(broken)
    assert "row 2, column 'hours'" in str(info.value)
    assert "第 2 行" in info.value.args[0].render("zh")
    assert translator("zh")("n/a") == "无"
