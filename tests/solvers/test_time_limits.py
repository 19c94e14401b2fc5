"""``time_limit_s`` is honoured by every engine of the integer rules, on hard instances.

The instances are generated cities with ``min_hours`` on a third of their demands and
one community per cadre, as ``benchmarks/bench_integer.py`` builds its labour instance.
Before the limit was checked around the solvers, HiGHS planned scale 0.05 in 6.6 s for a
5 s limit (its presolve and set-up do not check its limit) and scale 0.02 in 8.7 s for
6 s (its root), and CP-SAT (its model built in Python first) scale 0.05 in 20.2 s for 5 s.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from factories import LIMIT_S, OVERHEAD_S, hard_city

import matcher
from matcher.inputs.dataset import Dataset
from matcher.model.rules import ActiveRules
from matcher.params import PlanParams
from matcher.solvers.integer import split_deadline
from matcher.solvers.integer.highs import highs_in_time

SCALES = (0.02, 0.05)
"""Scale 0.02 (85,000 useful arcs): HiGHS and CP-SAT search until the limit stops them;
scale 0.05: setting up either solver would take longer than is left, so the repaired
start is the plan."""


@pytest.fixture(scope="module", params=SCALES)
def city(request: pytest.FixtureRequest) -> Dataset:
    return hard_city(request.param)


def timed_plan(ds: Dataset, engine: str, limit: float = LIMIT_S) -> tuple[float, matcher.Plan]:
    params = PlanParams(time_limit_s=limit, max_communities_per_cadre=1, integer_solver=engine)
    t0 = time.perf_counter()
    result = matcher.plan(ds, params)
    return time.perf_counter() - t0, result


@pytest.mark.parametrize("engine", ["highs", "cpsat"])
def test_integer_plan_ends_within_its_limit(city: Dataset, engine: str) -> None:
    wall, result = timed_plan(city, engine)
    assert wall <= LIMIT_S + OVERHEAD_S, (
        f"{engine}: {wall:.2f} s for a {LIMIT_S:g} s limit; stages {result.timings}, "
        f"labour {result.kpis['labour']}"
    )
    # A plan meeting the rules, with an honest bound, is still returned.
    assert result.status in ("optimal", "feasible")
    assert result.kpis["bound"] >= result.objective - 1e-6
    labour = result.assignments.query("supplier_kind == 'cadre'")
    assert labour.groupby("supplier_id")["community_id"].nunique().max() == 1
    status = result.demand_status
    mins = city.demands.set_index("demand_id")["min_hours"]
    got = status.set_index("demand_id")["covered_hours"]
    has_min = mins.notna()
    short = (got[has_min] > 0) & (got[has_min] < mins[has_min])
    assert not short.any()


def _rules(labour: bool = True, funds: bool = True, leads: bool = True) -> ActiveRules:
    return ActiveRules(
        min_hours=np.zeros(1), max_communities_per_cadre=1 if labour else None,
        coverage_floor=None, funds=funds, leads=leads,
    )  # fmt: skip


def test_one_deadline_is_split_3_1_2_and_ends_at_the_deadline() -> None:
    ends = split_deadline(100.0, 112.0, _rules())
    assert ends == {"labour": 106.0, "funds": 108.0, "leads": 112.0}


def test_a_model_that_is_off_takes_no_share() -> None:
    # Without funds, labour and lead units split the time 3 : 2; funds' end is labour's.
    ends = split_deadline(100.0, 110.0, _rules(funds=False))
    assert ends == {"labour": 106.0, "funds": 106.0, "leads": 110.0}
    # Lead units alone have all of it.
    assert split_deadline(0.0, 5.0, _rules(labour=False, funds=False))["leads"] == 5.0


def test_highs_is_not_started_without_time_to_set_up() -> None:
    assert highs_in_time(10_000, 1.0)
    assert not highs_in_time(1_650_000, 2.0)  # the scale 0.05 labour model


if __name__ == "__main__":
    for scale in SCALES:
        ds = hard_city(scale)
        for limit, engine in ((3.0, "highs"), (3.0, "cpsat"), (6.0, "highs")):
            for _ in range(3):
                wall, result = timed_plan(ds, engine, limit)
                labour = result.kpis["labour"]
                print(f"scale {scale:g}, {engine}, limit {limit:g} s: {wall:.2f} s "
                      f"({wall - limit:+.2f}); labour {labour['seconds']:.2f} s, "
                      f"{result.status}, objective {result.objective:,.3f}, start "
                      f"{result.kpis['start_objective']:,.3f}")  # fmt: skip
