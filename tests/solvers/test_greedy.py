"""The greedy baseline is feasible and never beats the optimum (it is only a yardstick)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from factories import PROFILES, random_tables

from matcher.inputs.dataset import dataset_from_frames, load_dataset
from matcher.model.arcs import build_problem
from matcher.solvers.flow import solve_flow
from matcher.solvers.greedy import solve_greedy


def test_greedy_on_the_worked_example_is_worse_than_optimal(example_dir: Path) -> None:
    problem = build_problem(load_dataset(example_dir))
    flow, objective = solve_greedy(problem)
    # Priority first sends all of K1's hours to the canteen; legal aid is left unserved.
    assert int(flow.sum()) == 34
    assert objective < solve_flow(problem).objective


@pytest.mark.parametrize("seed", range(10))
def test_greedy_is_feasible_and_below_the_optimum(seed: int) -> None:
    problem = build_problem(dataset_from_frames(random_tables(seed, PROFILES["dense"])))
    flow, objective = solve_greedy(problem)
    arcs = problem.arcs
    assert (flow >= 0).all()
    assert (flow[arcs.weight <= 0] == 0).all()
    used = np.bincount(arcs.supplier, weights=flow, minlength=len(problem.suppliers))
    got = np.bincount(arcs.demand, weights=flow, minlength=len(problem.demand_ids))
    assert (used <= problem.suppliers.hours).all()
    assert (got <= problem.demand_hours).all()
    assert objective == pytest.approx(float(np.dot(flow, arcs.weight)))
    assert objective <= solve_flow(problem).objective + 1e-9
