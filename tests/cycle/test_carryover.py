"""Carrying demands over and suppliers' reliability, against computations written out here."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from matcher.cycle.carryover import (
    CarryoverParams,
    carry_over,
    next_dataset,
    reliability,
    scale_cadre_hours,
)
from matcher.errors import ParameterError

EXAMPLE = "tests/data/example/dataset"


@pytest.fixture(scope="module")
def dataset() -> matcher.Dataset:
    return matcher.load_dataset(EXAMPLE)


# --- carried over ------------------------------------------------------------------------------


def test_partly_met_demands_carried_with_remaining_hours(dataset: matcher.Dataset) -> None:
    plan = matcher.plan(dataset)
    carried = carry_over(dataset.demands, plan.demand_status, "2026-Q4")
    by_hand = {}
    for d, h in zip(dataset.demands["demand_id"], dataset.demands["hours"], strict=True):
        met = int(plan.demand_status.set_index("demand_id").loc[d, "covered_hours"])
        if h - met > 0:
            by_hand[d] = h - met
    assert dict(zip(carried["demand_id"], carried["hours"], strict=True)) == by_hand
    assert (carried["origin"] == "carried_over").all()
    assert (carried["carried_from"] == "2026-Q4").all()
    assert (carried["times_carried"] == 1).all()


def test_fully_met_not_carried_and_columns_kept() -> None:
    demands = pd.DataFrame(
        {"demand_id": ["A", "B", "C"], "hours": [5, 7, 3], "category": ["x", "y", "z"]}
    )
    covered = pd.DataFrame({"demand_id": ["A", "B"], "covered_hours": [5, 2]})
    carried = carry_over(demands, covered, "2027-Q1")
    assert list(carried["demand_id"]) == ["B", "C"]  # C had nothing met: all 3 carried
    assert list(carried["hours"]) == [5, 3]
    assert list(carried["category"]) == ["y", "z"]


def test_history_counts_times_carried(dataset: matcher.Dataset) -> None:
    first = carry_over(
        pd.DataFrame({"demand_id": ["A"], "hours": [9]}),
        pd.DataFrame({"demand_id": ["A"], "covered_hours": [2]}),
        "2026-Q3",
    )
    second = carry_over(first, pd.DataFrame({"demand_id": ["A"], "covered_hours": [3]}), "2026-Q4")
    assert second.iloc[0].to_dict() == {
        "demand_id": "A",
        "hours": 4,
        "origin": "carried_over",
        "carried_from": "2026-Q4",
        "times_carried": 2,
    }


def test_carried_demands_load_into_the_next_dataset(dataset: matcher.Dataset) -> None:
    plan = matcher.plan(dataset)
    carried = carry_over(dataset.demands, plan.demand_status, "2026-Q4")
    nxt = dataset.replace(demands=carried)
    assert list(nxt.demands["demand_id"]) == list(carried["demand_id"])
    # read back, the history columns are text: a second carry still counts on
    again = carry_over(nxt.demands, pd.DataFrame(columns=["demand_id", "covered_hours"]), "2027-Q1")
    assert (again["times_carried"] == 2).all()


def test_bad_period_is_refused() -> None:
    demands = pd.DataFrame({"demand_id": ["A"], "hours": [1]})
    covered = pd.DataFrame({"demand_id": ["A"], "covered_hours": [0]})
    with pytest.raises(ParameterError) as err:
        carry_over(demands, covered, "2026Q4")
    assert err.value.name == "period"


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 25)), min_size=1, max_size=12))
def test_carried_hours_add_up(rows: list[tuple[int, int]]) -> None:
    """Carried hours = Σ max(hours - covered, 0); the met hours and the carried hours
    together are at least the hours asked."""
    demands = pd.DataFrame(
        {"demand_id": [f"D{i}" for i in range(len(rows))], "hours": [h for h, _ in rows]}
    )
    covered = pd.DataFrame(
        {"demand_id": demands["demand_id"], "covered_hours": [c for _, c in rows]}
    )
    carried = carry_over(demands, covered, "2026-Q4")
    expected = sum(max(h - c, 0) for h, c in rows)
    assert int(carried["hours"].sum()) == expected
    assert len(carried) == sum(1 for h, c in rows if h > c)
    assert (carried["hours"] > 0).all()


# --- reliability -------------------------------------------------------------------------------

DELIVERIES = pd.DataFrame(
    [
        ("cadre", "K1", "D1", 4, "approved"),
        ("cadre", "K1", "D3", 6, "rejected"),
        ("cadre", "K2", "D3", 6, "approved"),
        ("cadre", "K4", "D4", 8, "pending"),
        ("cadre", "K4", "D1", 4, "approved"),
        ("cadre", "K5", "D5", 0, "approved"),
        ("service", "R1", "D1", 12, "approved"),
    ],
    columns=["supplier_kind", "supplier_id", "demand_id", "hours", "status"],
)


def _reliability_by_hand(rows: pd.DataFrame) -> dict[tuple[str, str], float]:
    planned: dict[tuple[str, str], int] = {}
    approved: dict[tuple[str, str], int] = {}
    for kind, sid, _d, h, status in rows.itertuples(index=False):
        planned[(kind, sid)] = planned.get((kind, sid), 0) + h
        approved[(kind, sid)] = approved.get((kind, sid), 0) + (h if status == "approved" else 0)
    return {k: approved[k] / p for k, p in planned.items() if p > 0}


def test_reliability_is_approved_over_planned() -> None:
    got = reliability(DELIVERIES)
    assert {
        (k, s): r
        for k, s, r in got[["supplier_kind", "supplier_id", "reliability"]].itertuples(index=False)
    } == {
        ("cadre", "K1"): 4 / 10,
        ("cadre", "K2"): 1.0,
        ("cadre", "K4"): 4 / 12,
        ("service", "R1"): 1.0,
    }


def test_no_planned_hours_no_reliability() -> None:
    got = reliability(DELIVERIES)
    assert "K5" not in set(got["supplier_id"])


def test_reliability_checks_status_and_hours() -> None:
    bad = DELIVERIES.assign(status=["approved"] * 6 + ["done"])
    with pytest.raises(ParameterError) as err:
        reliability(bad)
    assert err.value.name == "status"
    with pytest.raises(ParameterError) as err:
        reliability(DELIVERIES.assign(hours=[1, 2, 3, 4, 5, 6, -1]))
    assert err.value.name == "hours"


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["K1", "K2", "K3"]),
            st.integers(0, 12),
            st.sampled_from(["approved", "pending", "rejected"]),
        ),
        max_size=15,
    )
)
def test_reliability_matches_by_hand(rows: list[tuple[str, int, str]]) -> None:
    frame = pd.DataFrame(
        [("cadre", s, f"D{i}", h, st_) for i, (s, h, st_) in enumerate(rows)],
        columns=["supplier_kind", "supplier_id", "demand_id", "hours", "status"],
    )
    got = reliability(frame)
    by_hand = _reliability_by_hand(frame)
    assert len(got) == len(by_hand)
    for k, s, p, a, r in got.itertuples(index=False):
        assert math.isclose(r, by_hand[(k, s)]) and 0 <= r <= 1
        assert a <= p


# --- scaling the next dataset's cadre hours ----------------------------------------------------


def test_scaling_is_off_by_default(dataset: matcher.Dataset) -> None:
    assert next_dataset(dataset, DELIVERIES) is dataset
    assert CarryoverParams().scale_by_reliability is False


def test_scaled_hours_by_hand_and_still_valid(dataset: matcher.Dataset) -> None:
    scaled = next_dataset(dataset, DELIVERIES, CarryoverParams(scale_by_reliability=True))
    # K1: 10 h x 4/10 = 4; K2: 6 x 1 = 6; K3: no deliveries, keeps 8; K4: 12 x 4/12 = 4;
    # K5: no planned hours, keeps 5.
    assert dict(zip(scaled.cadres["cadre_id"], scaled.cadres["hours"], strict=True)) == {
        "K1": 4,
        "K2": 6,
        "K3": 8,
        "K4": 4,
        "K5": 5,
    }
    again = matcher.load_dataset(EXAMPLE).replace(cadres=scaled.cadres)  # validates again
    assert again.counts() == dataset.counts()
    matcher.plan(scaled)  # and plans


def test_rounds_down_exactly() -> None:
    """0.7 x 30 is 20.999... in floating point; the rule gives 21."""
    ds = matcher.load_dataset(EXAMPLE)
    cadres = ds.cadres.assign(hours=[30, 6, 8, 12, 5])
    ds = ds.replace(cadres=cadres)
    rows = pd.DataFrame(
        [("cadre", "K1", "D1", 7, "approved"), ("cadre", "K1", "D2", 3, "pending")],
        columns=["supplier_kind", "supplier_id", "demand_id", "hours", "status"],
    )
    scaled = scale_cadre_hours(ds, reliability(rows))
    assert int(scaled.cadres.set_index("cadre_id").loc["K1", "hours"]) == 21


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.lists(st.integers(0, 40), min_size=5, max_size=5),
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=5, max_size=5),
)
def test_scaled_hours_between_zero_and_original(
    hours: list[int], delivered: list[tuple[int, int]]
) -> None:
    ds = matcher.load_dataset(EXAMPLE)
    ds = ds.replace(cadres=ds.cadres.assign(hours=hours))
    ids = list(ds.cadres["cadre_id"])
    rows = pd.DataFrame(
        [
            r
            for cid, (ok, bad) in zip(ids, delivered, strict=True)
            for r in (("cadre", cid, "D1", ok, "approved"), ("cadre", cid, "D2", bad, "rejected"))
        ],
        columns=["supplier_kind", "supplier_id", "demand_id", "hours", "status"],
    )
    scaled = scale_cadre_hours(ds, reliability(rows))
    for h, (ok, bad), got in zip(hours, delivered, scaled.cadres["hours"], strict=True):
        expected = h if ok + bad == 0 else (h * ok) // (ok + bad)
        assert got == expected and 0 <= got <= h


def test_params_check_themselves() -> None:
    with pytest.raises(ParameterError) as err:
        CarryoverParams(scale_by_reliability=1)  # type: ignore[arg-type]
    assert err.value.name == "scale_by_reliability"
