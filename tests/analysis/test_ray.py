"""Scenario batches as Ray tasks give the same plans as in this process.

Runs against a local Ray instance (``ray.init(num_cpus=2)``), as the README's
``--engine ray`` does without ``--ray-address``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from plan_files import plan_files

from matcher.analysis.scenario import run_scenarios
from matcher.cli import main
from matcher.errors import ParameterError
from matcher.params import PlanParams

ray = pytest.importorskip("ray")  # in the dev extra: `make test` always has it

SCEN = Path(__file__).parents[1] / "data" / "scenarios"
FILES = [SCEN / f for f in ("base.yaml", "double-care.yaml", "more-supply.json")]


@pytest.fixture(scope="module")
def local_ray() -> Any:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_batch_equals_the_in_process_batch(tmp_path: Path, local_ray: Any) -> None:
    here, _ = run_scenarios(FILES, tmp_path / "here", jobs=1)
    lines: list[str] = []
    remote, comparison = run_scenarios(
        FILES, tmp_path / "ray", jobs=2, engine="ray", progress=lines.append
    )
    assert [o.name for o in remote] == ["base", "double-care", "more-supply"]
    assert not any(o.error for o in here + remote)
    for o in here:
        assert plan_files(tmp_path / "here" / o.name) == plan_files(tmp_path / "ray" / o.name)
    assert len(lines) == 3 and comparison is not None
    assert (tmp_path / "ray" / "comparison.csv").read_bytes() == (
        tmp_path / "here" / "comparison.csv"
    ).read_bytes()
    assert local_ray.is_initialized()  # a Ray the caller started is left running


def test_a_warm_started_ray_batch_equals_the_in_process_one(tmp_path: Path, local_ray: Any) -> None:
    """The first scenario's duals travel to the Ray tasks: the same plans as at home."""
    columns = PlanParams(flow_solver="columns")
    here, _ = run_scenarios(FILES, tmp_path / "here", jobs=1, params=columns, warm_start=True)
    remote, _ = run_scenarios(
        FILES, tmp_path / "ray", jobs=2, engine="ray", params=columns, warm_start=True
    )
    assert [o.summary["warm_start"] for o in remote] == [False, True, True]
    for o in here:
        assert plan_files(tmp_path / "here" / o.name) == plan_files(tmp_path / "ray" / o.name)


def test_cli_engine_ray_starts_and_stops_its_own_ray(tmp_path: Path) -> None:
    if ray.is_initialized():
        ray.shutdown()
    options = ["--out", str(tmp_path), "--engine", "ray", "--jobs", "2", "--quiet"]
    code = main(["scenario", "run", *map(str, FILES[:2]), *options])
    assert code == 0
    assert not ray.is_initialized()
    here, _ = run_scenarios(FILES[:2], tmp_path / "here", jobs=1)
    for o in here:
        assert plan_files(tmp_path / o.name) == plan_files(tmp_path / "here" / o.name)


def test_unknown_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="engine"):
        run_scenarios(FILES, tmp_path, engine="spark")
