"""The command line on bad input: exit code 2, a message naming what to fix, no traceback.

Guards the issue's promise that a dataset with errors never reaches the solver: every
broken dataset in ``tests/data/broken/`` is refused by ``matcher validate`` and ``matcher
plan`` (in process, all of them; as a real subprocess, a representative subset), with
every problem on stderr and no plan files written. Bad ``--param`` values and a missing
dataset folder are refused the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from factories import build_case

from matcher.cli import main
from matcher.errors import DatasetError
from matcher.inputs.dataset import load_dataset

ROOT = Path(__file__).parents[2]
DATA = Path(__file__).parents[1] / "data"
EXAMPLE = DATA / "example" / "dataset"
BROKEN = DATA / "broken"
BROKEN_CASES = sorted(p.name for p in BROKEN.iterdir() if p.is_dir() and p.name[:6] != "valid_")
EXIT_INPUT = 2


def run_cli(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """``python -m matcher.cli ARGS`` in a fresh interpreter, as a user would run it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "matcher.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        cwd=ROOT,
        env=env,
        check=False,
    )


def assert_clean_refusal(
    proc: subprocess.CompletedProcess[str], *needles: str, out: Path | None = None
) -> None:
    """Exit code 2, every needle on stderr, no traceback, and no plan folder written."""
    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, f"{needle!r} not in stderr:\n{proc.stderr}"
    if out is not None:
        assert not out.exists()


# --- every broken case, in process -------------------------------------------------------


@pytest.mark.parametrize("name", BROKEN_CASES)
def test_every_broken_case_exits_2_listing_every_issue(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = build_case(name, tmp_path / "ds")
    with pytest.raises(DatasetError) as info:
        load_dataset(folder)
    out = tmp_path / "plan"
    assert main(["plan", str(folder), "--out", str(out)]) == EXIT_INPUT  # returns: no traceback
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"dataset {folder} has" in captured.err
    for issue in info.value.issues:
        assert f"  - {issue}\n" in captured.err + "\n"
    assert not out.exists()


def test_validate_refuses_like_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = build_case("many_errors", tmp_path / "ds")
    assert main(["validate", str(folder)]) == EXIT_INPUT
    validate = capsys.readouterr()
    assert main(["plan", str(folder)]) == EXIT_INPUT
    assert capsys.readouterr().err == validate.err
    assert "7 errors" in validate.err and validate.out == ""


@pytest.mark.parametrize(
    "name", sorted(p.name for p in BROKEN.iterdir() if p.name.startswith("valid_"))
)
def test_valid_variants_exit_0(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(build_case(name, tmp_path / "ds"))]) == 0
    assert "valid (3 communities" in capsys.readouterr().out


@pytest.mark.parametrize(
    "param", ["max_travel_km=far", "max_travel_km=-1", "seed=1.5", "max_travel_km", "seed=-1"]
)
def test_bad_param_in_process(
    param: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan"
    assert main(["plan", str(EXAMPLE), "--out", str(out), "--param", param]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: parameter ")
    assert param.partition("=")[0] in err
    assert not out.exists()


# --- a representative subset, as real subprocesses ----------------------------------------

SUBPROCESS_CASES: dict[str, tuple[str, ...]] = {
    "missing_file_cadres": ("cadres.csv", "missing"),
    "unreadable_bytes_gbk": ("communities.csv", "row 2", "column 'name'", "UTF-8"),
    "ragged_row": ("demands.csv", "row 4", "D3,C-CANGXIA", "double quotes"),
    "many_errors": (
        "7 errors",
        "communities.csv, row 4, column 'lat'",
        "units.csv, row 3, column 'kind'",
        "cadres.csv, row 6, column 'hours'",
        "cadres.csv, row 4, column 'unit_id'",
        "demands.csv, row 2, column 'priority'",
        "demands.csv, row 6, column 'community_id'",
        "resources.csv, row 2, column 'kind'",
    ),
}

PARAM_CASES: dict[str, tuple[str, ...]] = {
    "no_such_param=1": ("no_such_param", "max_travel_km"),
    "max_travel_km=far": ("max_travel_km", "'far'", "a number"),
    "max_travel_km=-1": ("max_travel_km", "0 or more"),
}


@dataclass
class Runs:
    """The module's subprocesses, running in the background while other tests run."""

    base: Path
    outs: dict[str, Path]
    futures: dict[str, Future[subprocess.CompletedProcess[str]]]

    def proc(self, key: str) -> subprocess.CompletedProcess[str]:
        return self.futures[key].result()


@pytest.fixture(scope="module", autouse=True)
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Start every subprocess of this module when its first test starts: each pays
    Python's start-up, so they run alongside the in-process tests."""
    base = tmp_path_factory.mktemp("cli")
    jobs: dict[str, list[str]] = {}
    outs: dict[str, Path] = {}
    for name in SUBPROCESS_CASES:
        folder = build_case(name, base / name)
        outs[name] = base / f"{name}-plan"
        jobs[name] = ["plan", str(folder), "--out", str(outs[name])]
    for param in PARAM_CASES:
        outs[param] = base / f"param-{len(outs)}"
        jobs[param] = ["plan", str(EXAMPLE), "--out", str(outs[param]), "--param", param]
    jobs["validate-json"] = ["validate", str(EXAMPLE), "--json"]
    jobs["no-folder"] = ["plan", str(base / "no-such-dataset"), "--out", str(base / "x")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield Runs(base, outs, {key: pool.submit(run_cli, args) for key, args in jobs.items()})


@pytest.mark.parametrize("name", sorted(SUBPROCESS_CASES))
def test_subprocess_plan_refuses_broken_dataset(name: str, runs: Runs) -> None:
    result = runs.proc(name)
    assert_clean_refusal(result, *SUBPROCESS_CASES[name], out=runs.outs[name])
    assert result.stdout == ""


@pytest.mark.parametrize("param", sorted(PARAM_CASES))
def test_subprocess_bad_param_exits_2(param: str, runs: Runs) -> None:
    assert_clean_refusal(runs.proc(param), *PARAM_CASES[param], out=runs.outs[param])


def test_subprocess_validate_good_dataset(runs: Runs) -> None:
    result = runs.proc("validate-json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    assert data["valid"] is True
    assert data["tables"]["cadres"] == 5
    assert data["hash"] == load_dataset(EXAMPLE).content_hash


def test_validate_good_dataset_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE)]) == 0
    captured = capsys.readouterr()
    assert "valid (3 communities" in captured.out
    assert captured.err == ""


def test_subprocess_missing_folder(runs: Runs) -> None:
    result = runs.proc("no-folder")
    assert_clean_refusal(result, str(runs.base / "no-such-dataset"), "no such folder")
    assert not (runs.base / "x").exists()


def test_max_errors_caps_the_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = build_case("many_errors", tmp_path / "ds")
    assert main(["validate", str(folder), "--max-errors", "2"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "7 errors" in err and "and 5 more" in err
    assert err.count("\n  - ") == 2


# --- messages in Chinese ------------------------------------------------------------------

ZH_FLOOR = "错误：参数 coverage_floor=2.0：应为大于 0、不超过 1 的比例"


def test_bad_param_in_chinese_with_lang(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan"
    args = ["plan", str(EXAMPLE), "--out", str(out), "--param", "coverage_floor=2", "--lang", "zh"]
    assert main(args) == EXIT_INPUT
    captured = capsys.readouterr()
    assert captured.err.strip() == ZH_FLOOR
    assert captured.out == "" and not out.exists()


def test_bad_param_in_chinese_with_matcher_lang(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MATCHER_LANG", "zh")
    out = tmp_path / "plan"
    assert main(["plan", str(EXAMPLE), "--out", str(out), "--param", "coverage_floor=2"]) == 2
    assert capsys.readouterr().err.strip() == ZH_FLOOR
    # --lang wins over the environment.
    assert main(["plan", str(EXAMPLE), "--param", "coverage_floor=2", "--lang", "en"]) == 2
    assert capsys.readouterr().err.startswith(
        "error: parameter coverage_floor=2.0: expected a share"
    )


PARAM = ("--param", "coverage_floor=2")


def test_subprocess_bad_param_in_chinese(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8", "MATCHER_LANG": "zh"}
    out = tmp_path / "plan"
    proc = subprocess.run(
        [sys.executable, "-m", "matcher.cli", "plan", str(EXAMPLE), "--out", str(out), *PARAM],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert_clean_refusal(proc, ZH_FLOOR, out=out)


def test_infeasible_rules_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", str(DATA / "reasons"), "--param", "coverage_floor=1", "--lang", "zh"]
    assert main(args) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("错误：没有能满足全部整数规则的方案：\n  - [coverage_floor] ")
    assert "无法同时达到 1 的覆盖下限" in err and "社区：" in err
