"""The command line end to end: the demo dataset planned by a real `matcher` process,
and the graph and generate commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from matcher.cli import main
from matcher.inputs.dataset import load_dataset

ROOT = Path(__file__).parents[2]
DEMO = ROOT / "datasets" / "fuzhou-demo"


def _matcher(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "matcher.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_demo_plans_end_to_end_through_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    run = _matcher("plan", DEMO, "--out", out)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "optimal" in run.stdout
    kpis = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["solver_status"] == "optimal" and kpis["proven_optimal"]
    assert kpis["bound"] >= kpis["objective"] > 0
    a = pd.read_csv(out / "assignments.csv", keep_default_na=False)
    st = pd.read_csv(out / "demand_status.csv", keep_default_na=False)
    ds = load_dataset(DEMO)
    assert len(st) == len(ds.demands)
    assert int(a["hours"].sum()) == kpis["hours_covered"] == int(st["covered_hours"].sum())
    assert set(a["tie"]) <= {"residence", "pairing", "alliance", "proximity"}
    # Every district of the demo is in the coverage table, with the article's six.
    assert set(kpis["coverage_by_district"]) == {
        "Gulou",
        "Taijiang",
        "Cangshan",
        "Jin'an",
        "Mawei",
        "Changle",
    }
    assert f"{kpis['hours_covered']:,} of {kpis['hours_demanded']:,}" in run.stdout


def test_plan_with_param_override_changes_the_plan(tmp_path: Path) -> None:
    base, near = tmp_path / "base", tmp_path / "near"
    assert main(["plan", str(DEMO), "--out", str(base), "--quiet"]) == 0
    assert (
        main(["plan", str(DEMO), "--out", str(near), "--quiet", "--param", "max_travel_km=1"]) == 0
    )
    k0 = json.loads((base / "kpis.json").read_text(encoding="utf-8"))
    k1 = json.loads((near / "kpis.json").read_text(encoding="utf-8"))
    # A smaller radius removes options, so the optimum cannot rise.
    assert k1["objective"] <= k0["objective"]
    run = json.loads((near / "run.json").read_text(encoding="utf-8"))
    assert run["params"]["max_travel_km"] == 1.0


def test_graph_summary_and_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gml = tmp_path / "ties.graphml"
    assert main(["graph", str(DEMO), "--export", str(gml)]) == 0
    text = capsys.readouterr().out
    assert "83 communities" in text and "alliances" in text
    g = nx.read_graphml(gml, force_multigraph=True)
    assert sum(1 for _, d in g.nodes(data=True) if d["type"] == "community") == 83


def test_graph_one_community(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(DEMO), "--community", "C-JUNMEN"]) == 0
    text = capsys.readouterr().out
    assert "alliance   U-JCY via A-DONGJIE" in text
    assert "elderly_meals" in text


def test_graph_unknown_community_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(DEMO), "--community", "C-NOWHERE"]) == 2
    assert "C-NOWHERE" in capsys.readouterr().err


def test_generate_writes_a_valid_dataset(tmp_path: Path) -> None:
    out = tmp_path / "city"
    assert main(["generate", str(out), "--scale", "0.02", "--seed", "3"]) == 0
    ds = load_dataset(out)
    assert len(ds.communities) == round(3847 * 0.02)
    assert main(["plan", str(out), "--out", str(tmp_path / "plan"), "--quiet"]) == 0


def test_generate_refuses_bad_scale(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "/tmp/never-written", "--scale", "-1"]) == 2
    assert "scale" in capsys.readouterr().err


def test_contradictory_rules_exit_2_with_a_diagnosis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reasons = ROOT / "tests" / "data" / "reasons"
    out = tmp_path / "plan"
    code = main(["plan", str(reasons), "--out", str(out), "--param", "coverage_floor=1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "coverage_floor" in err and "communities:" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_integer_rule_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    rules = ["--param", "max_communities_per_cadre=1", "--param", "time_limit_s=5"]
    code = main(["plan", str(DEMO), "--out", str(out), "--quiet", *rules])
    assert code == 0
    kpis = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["rules"] == ["max_communities_per_cadre"]
    assert kpis["bound"] >= kpis["objective"]
    a = pd.read_csv(out / "assignments.csv", keep_default_na=False)
    cadres = a[a["supplier_kind"] == "cadre"]
    communities = cadres.groupby("supplier_id")["community_id"].agg(lambda c: len(set(c)))
    assert (communities <= 1).all()


BOOKS = ROOT / "tests" / "data" / "xlsx"


def test_validate_speaks_the_language_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    """--lang zh: the verdict and the tables in Chinese; English without it."""
    example = ROOT / "tests" / "data" / "example" / "dataset"
    assert main(["validate", str(example), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "校验通过" in out and "需求 5 条" in out
    assert main(["validate", str(example), "--lang", "en"]) == 0
    assert "valid (3 communities, 2 units" in capsys.readouterr().out


def test_a_bad_workbook_is_refused_in_chinese_by_a_real_process(tmp_path: Path) -> None:
    """The error names the sheet, row, column letter and header in Chinese, exit code 2,
    no traceback; $MATCHER_LANG gives the same as --lang."""
    import os

    run = _matcher("validate", BOOKS / "bad-priority.xlsx", "--lang", "zh")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "有 1 处错误" in run.stderr
    assert "“需求”工作表，第 7 行，E 列（优先级）" in run.stderr
    env = {**os.environ, "MATCHER_LANG": "zh"}
    again = subprocess.run(
        [sys.executable, "-m", "matcher.cli", "validate", str(BOOKS / "bad-priority.xlsx")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert again.returncode == 2 and again.stderr == run.stderr
    english = _matcher("validate", BOOKS / "bad-priority.xlsx")
    assert "需求 sheet, row 7, column E 优先级" in english.stderr


def test_an_unknown_language_is_refused_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate", "x", "--lang", "xx"])
    assert caught.value.code == 2
    assert "invalid choice: 'xx'" in capsys.readouterr().err
