"""The HTML report and the exports, read back without a browser.

The page is parsed with the standard library's HTML parser; every number it shows is
checked against the plan's own files (``kpis.json``, ``demand_status.csv``) or against an
independent re-derivation (supply within reach from the reference model of
``tests/factories.py``; comparison sets from the two plans' CSVs).
"""

from __future__ import annotations

import json
import math
import shutil
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from factories import random_tables, reference_model

import matcher
from matcher.cli import main
from matcher.errors import PlanFolderError
from matcher.plans.io import read_plan
from matcher.report.export import write_exports
from matcher.report.html import build_report
from matcher.report.supply import skill_supply

EXAMPLE = Path(__file__).parents[1] / "data" / "example" / "dataset"


class Elements(HTMLParser):
    """Every element's tag, attributes and text (its own and its children's)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict[str, Any]] = []
        self._open: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in ("meta", "input", "br"):
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": ""})

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element["text"] += data

    def find(self, **attrs: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.elements
            if all(e["attrs"].get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def having(self, attr: str) -> list[dict[str, Any]]:
        return [e for e in self.elements if attr in e["attrs"]]


def parse(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    return parser


def shown(value: Any, fmt: str) -> str:
    """How a KPI must read on the page, formatted here independently of the report."""
    if fmt == "int":
        return f"{value:,}"
    if fmt == "pct":
        return f"{value * 100:.1f}%"
    return f"{value:,.2f}"


def lookup(kpis: dict[str, Any], path: list[str]) -> Any:
    for key in path:
        kpis = kpis[key]
    return kpis


@pytest.fixture(scope="module")
def example_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worked example planned into a folder whose run.json points at the dataset."""
    out = tmp_path_factory.mktemp("plans") / "example-plan"
    matcher.plan(matcher.load_dataset(EXAMPLE)).write(out)
    return out


@pytest.fixture(scope="module")
def random_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A seeded random city (every tie kind) and its plan folder."""
    root = tmp_path_factory.mktemp("random")
    dataset_dir = root / "dataset"
    tables = random_tables(5)
    matcher.dataset_from_frames(tables, "random").write(dataset_dir)
    plan_dir = root / "plan"
    matcher.plan(matcher.load_dataset(dataset_dir)).write(plan_dir)
    return dataset_dir, plan_dir


def test_every_kpi_shown_equals_kpis_json(example_plan: Path) -> None:
    page = build_report(example_plan)
    kpis = json.loads((example_plan / "kpis.json").read_text())
    found = parse(page).having("data-kpi-path")
    paths = {e["attrs"]["data-kpi"] for e in found}
    assert {"coverage", "hours_covered", "hours_demanded", "demands_met", "objective"} <= paths
    assert "supplier_utilization.utilization" in paths and "reasons.supply_short" in paths
    for element in found:
        path = json.loads(element["attrs"]["data-kpi-path"])
        value = lookup(kpis, path)
        assert json.loads(element["attrs"]["data-value"]) == value, path
        assert element["text"] == shown(value, element["attrs"]["data-format"]), path


def test_page_is_self_contained_utf8_and_escaped(example_plan: Path, tmp_path: Path) -> None:
    ds = matcher.load_dataset(EXAMPLE)
    communities = ds.communities
    communities.loc[0, "name"] = "<script>alert(1)</script> & 军门"
    folder = tmp_path / "hostile"
    ds.replace(communities=communities).write(folder)
    plan = matcher.plan(matcher.load_dataset(folder))
    page = build_report(plan, folder)
    head = page[:400].lower()
    assert '<meta charset="utf-8">' in head
    assert "noto sans cjk sc" in page.lower() and "microsoft yahei" in page.lower()
    assert (
        "<script>alert(1)" not in page
        and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 军门" in page
    )
    assert "塘边社区" in page  # another community's Chinese name, as UTF-8 text
    for needle in ("http://", "https://", "<link", "src=", "@import", "url(http"):
        assert needle not in page.replace('xmlns="http://www.w3.org/2000/svg"', ""), needle
    assert page.count("<script>") == 1  # the one inlined script
    assert build_report(plan, folder) == page  # deterministic


def test_map_has_one_circle_per_community_coloured_and_sized_by_the_plan(
    random_case: tuple[Path, Path],
) -> None:
    dataset_dir, plan_dir = random_case
    doc = parse(build_report(plan_dir))
    circles = [
        e
        for e in doc.elements
        if e["tag"] == "circle" and "community" in e["attrs"].get("class", "")
    ]
    communities = pd.read_csv(dataset_dir / "communities.csv", dtype={"community_id": str})
    assert sorted(c["attrs"]["data-community-id"] for c in circles) == sorted(
        communities["community_id"]
    )
    status = pd.read_csv(plan_dir / "demand_status.csv", dtype={"community_id": str})
    demanded: dict[str, int] = defaultdict(int)
    covered: dict[str, int] = defaultdict(int)
    for row in status.itertuples():
        demanded[row.community_id] += row.hours
        covered[row.community_id] += row.covered_hours
    hmax = max(demanded.values())
    for c in circles:
        a = c["attrs"]
        cid = a["data-community-id"]
        assert int(a["data-hours-demanded"]) == demanded[cid]
        assert int(a["data-hours-covered"]) == covered[cid]
        coverage = json.loads(a["data-coverage"])
        if demanded[cid]:
            assert coverage == pytest.approx(covered[cid] / demanded[cid], abs=1e-6)
            # area proportional to hours, above the visibility floor
            expected = 18 * math.sqrt(demanded[cid] / hmax)
            if expected > 2.5:
                assert float(a["r"]) == pytest.approx(expected, abs=0.01)
        else:
            assert coverage is None
        assert c["text"].startswith(
            communities.set_index("community_id").loc[cid, "name"]
        )  # the tooltip names it
    ties = [e for e in doc.elements if e["tag"] == "line" and "data-unit-id" in e["attrs"]]
    pairings = pd.read_csv(dataset_dir / "pairings.csv", dtype=str)
    assert sorted((t["attrs"]["data-unit-id"], t["attrs"]["data-community-id"]) for t in ties) == (
        sorted(zip(pairings["unit_id"], pairings["community_id"], strict=True))
    )


def test_coverage_charts_match_demand_status(random_case: tuple[Path, Path]) -> None:
    _, plan_dir = random_case
    doc = parse(build_report(plan_dir))
    status = pd.read_csv(plan_dir / "demand_status.csv", dtype=str)
    for key, chart in (("district", "chart-districts"), ("category", "chart-categories")):
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in status.itertuples():
            sums[getattr(row, key)][0] += int(row.hours)
            sums[getattr(row, key)][1] += int(row.covered_hours)
        marks = [e for e in doc.elements if e["attrs"].get(f"data-{key}") and e["tag"] == "rect"]
        marks = [m for m in marks if m["attrs"].get("class") == "mark"]
        # the supply chart's marks also carry data-category; keep the coverage chart's
        marks = [m for m in marks if "data-coverage" in m["attrs"]]
        assert {m["attrs"][f"data-{key}"] for m in marks} == set(sums), chart
        for m in marks:
            hours, cov = sums[m["attrs"][f"data-{key}"]]
            assert int(m["attrs"]["data-hours-demanded"]) == hours
            assert int(m["attrs"]["data-hours-covered"]) == cov
            share = json.loads(m["attrs"]["data-coverage"])
            assert share == (pytest.approx(cov / hours, abs=1e-6) if hours else None)


def test_supply_within_reach_per_skill_matches_the_reference_model(
    random_case: tuple[Path, Path],
) -> None:
    dataset_dir, plan_dir = random_case
    plan = read_plan(plan_dir)
    table = skill_supply(matcher.load_dataset(dataset_dir), plan).set_index("category")
    model = reference_model(random_tables(5))
    reach: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for (kind, sid, did), arc in model.arcs.items():
        if arc.weight > 0:
            reach[model.demands[did].category].add((kind, sid))
    demanded: dict[str, int] = defaultdict(int)
    for d in model.demands.values():
        demanded[d.category] += d.hours
    assert set(table.index) == set(demanded)
    for category, row in table.iterrows():
        hours = sum(model.suppliers[s].hours for s in reach[str(category)])
        assert row["reach_hours"] == hours, category
        assert row["hours_demanded"] == demanded[str(category)]
        assert bool(row["bottleneck"]) == (hours < demanded[str(category)])
    doc = parse(build_report(plan_dir))
    marks = [e for e in doc.elements if "data-reach-hours" in e["attrs"]]
    assert {m["attrs"]["data-category"]: int(m["attrs"]["data-reach-hours"]) for m in marks} == {
        str(c): int(v) for c, v in table["reach_hours"].items()
    }


def test_largest_unmet_demands_listed_by_hours_short(random_case: tuple[Path, Path]) -> None:
    _, plan_dir = random_case
    doc = parse(build_report(plan_dir))
    rows = doc.find(**{"class": "unmet-row"})
    status = pd.read_csv(plan_dir / "demand_status.csv", dtype={"demand_id": str})
    short = {
        r.demand_id: r.hours - r.covered_hours
        for r in status.itertuples()
        if r.hours > r.covered_hours
    }
    listed = [(r["attrs"]["data-demand-id"], int(r["attrs"]["data-short-hours"])) for r in rows]
    assert len(listed) == min(25, len(short)) and len(listed) > 0
    assert all(short[d] == h for d, h in listed)
    shortest_listed = min(h for _, h in listed)
    assert all(h <= shortest_listed for d, h in short.items() if d not in dict(listed))


def test_comparison_of_two_plans(example_plan: Path, tmp_path: Path) -> None:
    other = tmp_path / "near"
    matcher.plan(EXAMPLE, matcher.PlanParams(travel_cost_per_km=1.0)).write(other)
    doc = parse(build_report(example_plan, other=other))
    a = pd.read_csv(example_plan / "assignments.csv", dtype=str)
    b = pd.read_csv(other / "assignments.csv", dtype=str)
    key_a = set(zip(a.supplier_kind, a.supplier_id, a.demand_id, strict=True))
    key_b = set(zip(b.supplier_kind, b.supplier_id, b.demand_id, strict=True))
    sa = pd.read_csv(example_plan / "demand_status.csv", dtype=str).set_index("demand_id")
    sb = pd.read_csv(other / "demand_status.csv", dtype=str).set_index("demand_id")
    changed = {d for d in sa.index if sa.loc[d, "covered_hours"] != sb.loc[d, "covered_hours"]}
    counts = doc.find(id="compare-counts")[0]["attrs"]
    assert int(counts["data-added"]) == len(key_a - key_b)
    assert int(counts["data-removed"]) == len(key_b - key_a)
    assert int(counts["data-demands-changed"]) == len(changed) > 0
    assert {
        e["attrs"]["data-demand-id"] for e in doc.find(**{"class": "changed-demand"})
    } == changed
    ka = json.loads((example_plan / "kpis.json").read_text())
    kb = json.loads((other / "kpis.json").read_text())
    rows = {e["attrs"]["data-compare-kpi"]: e for e in doc.having("data-compare-kpi")}
    for name in ("coverage", "hours_covered", "objective", "demands_unmet"):
        assert json.loads(rows[name]["attrs"]["data-this"]) == ka[name]
        assert json.loads(rows[name]["attrs"]["data-other"]) == kb[name]
    delta = kb["hours_covered"] - ka["hours_covered"]
    assert f"{-delta:+,}" in rows["hours_covered"]["text"]


def test_cli_report_and_its_errors(example_plan: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r" / "report.html"
    assert main(["report", str(example_plan), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    # a dataset with other content than the plan's: refused, exit 2
    changed = tmp_path / "changed"
    shutil.copytree(EXAMPLE, changed)
    demands = pd.read_csv(changed / "demands.csv", dtype=str)
    demands.loc[0, "hours"] = "99"
    demands.to_csv(changed / "demands.csv", index=False)
    capsys.readouterr()
    code = main(["report", str(example_plan), "--out", str(out), "--dataset", str(changed)])
    err = capsys.readouterr().err
    assert code == 2 and "content hash" in err and "Traceback" not in err
    # run.json names a dataset that is not here: a clear message, exit 2
    moved = tmp_path / "moved"
    shutil.copytree(example_plan, moved)
    run = json.loads((moved / "run.json").read_text())
    run["dataset"] = str(tmp_path / "nowhere")
    (moved / "run.json").write_text(json.dumps(run))
    assert main(["report", str(moved), "--out", str(out)]) == 2
    assert "--dataset" in capsys.readouterr().err
    # ... and --dataset points at it
    assert main(["report", str(moved), "--out", str(out), "--dataset", str(EXAMPLE)]) == 0
    # a plan folder with a missing file or a bad cell names it
    (moved / "demand_status.csv").unlink()
    assert main(["report", str(moved), "--out", str(out), "--dataset", str(EXAMPLE)]) == 2
    assert "demand_status.csv is missing" in capsys.readouterr().err
    shutil.copy(example_plan / "demand_status.csv", moved / "demand_status.csv")
    text = (moved / "assignments.csv").read_text().splitlines()
    fields = text[2].split(",")
    fields[6] = "many"
    text[2] = ",".join(fields)
    (moved / "assignments.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(PlanFolderError, match=r"assignments.csv, row 3, column 'hours'"):
        read_plan(moved)


def test_exports_geojson_csv_parquet(random_case: tuple[Path, Path], tmp_path: Path) -> None:
    dataset_dir, plan_dir = random_case
    out = tmp_path / "exports"
    assert main(["export", str(plan_dir), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    for table in ("assignments", "demand_status", "community_coverage", "kpis"):
        assert {f"{table}.csv", f"{table}.parquet"} <= names
    for table in ("assignments", "demand_status"):
        original = pd.read_csv(plan_dir / f"{table}.csv", keep_default_na=False, dtype=str)
        assert (out / f"{table}.csv").read_text() == (plan_dir / f"{table}.csv").read_text()
        parquet = pd.read_parquet(out / f"{table}.parquet")
        assert list(parquet.columns) == list(original.columns) and len(parquet) == len(original)
        assert parquet["hours"].astype(int).tolist() == original["hours"].astype(int).tolist()
    fc = json.loads((out / "communities.geojson").read_text(encoding="utf-8"))
    communities = pd.read_csv(dataset_dir / "communities.csv", dtype={"community_id": str})
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == len(communities)
    status = pd.read_csv(plan_dir / "demand_status.csv", dtype={"community_id": str})
    for feature in fc["features"]:
        c = communities.set_index("community_id").loc[feature["id"]]
        assert feature["geometry"]["coordinates"] == [
            pytest.approx(c["lon"]),
            pytest.approx(c["lat"]),
        ]
        mine = status[status["community_id"] == feature["id"]]
        p = feature["properties"]
        assert p["hours_demanded"] == mine["hours"].sum()
        assert p["hours_covered"] == mine["covered_hours"].sum()
    lines = json.loads((out / "pairings.geojson").read_text(encoding="utf-8"))
    assert len(lines["features"]) == len(pd.read_csv(dataset_dir / "pairings.csv"))
    kpis = json.loads((plan_dir / "kpis.json").read_text())
    long = pd.read_csv(out / "kpis.csv").set_index("name")
    assert long.loc["hours_covered", "value"] == kpis["hours_covered"]
    assert long.loc[
        "coverage_by_district." + next(iter(kpis["coverage_by_district"])) + ".coverage", "value"
    ] == pytest.approx(next(iter(kpis["coverage_by_district"].values()))["coverage"])
    with pytest.raises(ValueError, match="export format"):
        write_exports(
            read_plan(plan_dir).tables(), kpis, matcher.load_dataset(dataset_dir), out, ["xlsx"]
        )
