"""The restructuring of the library changed no plan: ``assignments.csv`` and
``demand_status.csv`` are byte for byte those the code wrote before it.

The hashes in ``tests/data/golden/plans.json`` were written by the planner before issue 20
moved its modules into packages (commit 8918511), on the demo, the worked example and a
generated city at scale 0.1 with both flow engines. Column generation is the planner's
own code (numba), so its hashes hold whatever OR-Tools is installed; the plain model's
alternative optima are OR-Tools' choice, so those cases are checked when the installed
OR-Tools is the one the hashes were recorded with (``_about`` says which).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from pathlib import Path

import pytest

import matcher
from matcher.inputs.dataset import dataset_from_frames
from matcher.inputs.generate import generate

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "tests" / "data" / "golden" / "plans.json").read_text("utf-8"))
FILES = ("assignments.csv", "demand_status.csv")
ORTOOLS = importlib.metadata.version("ortools")


def _plan(case: str) -> matcher.Plan:
    if case == "demo":
        return matcher.plan(ROOT / "datasets" / "fuzhou-demo")
    if case == "example":
        return matcher.plan(ROOT / "tests" / "data" / "example" / "dataset")
    engine = case.rsplit("-", 1)[1]
    city = dataset_from_frames(generate(scale=0.1, seed=1))
    return matcher.plan(city, matcher.PlanParams(flow_solver=engine))


@pytest.mark.parametrize("case", ["demo", "example", "city-0.1-columns", "city-0.1-arcs"])
def test_plans_are_byte_identical_to_before(case: str, tmp_path: Path) -> None:
    if not case.endswith("-columns") and f"ortools {ORTOOLS}," not in GOLDEN["_about"]:
        pytest.skip(f"hashes recorded with another OR-Tools than {ORTOOLS}")
    _plan(case).write(tmp_path)
    got = {f: hashlib.sha256((tmp_path / f).read_bytes()).hexdigest() for f in FILES}
    assert got == GOLDEN[case]
