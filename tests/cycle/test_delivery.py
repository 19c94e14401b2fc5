"""Delivered hours: recording, the status moves, progress and the bulk check, each rule
checked against the rule written out by hand."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from matcher.cycle.delivery import (
    EXPORT_COLUMNS,
    STATUS_MOVES,
    STATUSES,
    Delivery,
    check_delivery_rows,
    decide_delivery,
    empty_deliveries,
    progress_status,
    project_progress,
    record_delivery,
    recorded_hours,
)
from matcher.errors import DeliveryError, ParameterError

PLAN = pd.DataFrame(
    {
        "supplier_kind": ["cadre", "cadre", "service"],
        "supplier_id": ["K1", "K2", "R1"],
        "unit_id": ["U1", "U1", "U2"],
        "demand_id": ["D1", "D1", "D2"],
        "community_id": ["C1", "C1", "C2"],
        "category": ["elder", "elder", "youth"],
        "hours": [6, 4, 10],
        "km": [0.0, 1.0, 2.0],
        "tie": ["residence", "pairing", "alliance"],
    }
)


def _record(d: pd.DataFrame, did: str, kind: str, sid: str, demand: str, h: int) -> pd.DataFrame:
    return record_delivery(d, PLAN, Delivery(did, kind, sid, demand, h, "U1", "2026-11-02T09:00"))


def test_a_recorded_delivery_is_pending_and_keeps_who_and_when() -> None:
    d = _record(empty_deliveries(), "L1", "cadre", "K1", "D1", 4)
    row = d.iloc[0]
    assert (row["status"], row["hours"], row["recorded_by"]) == ("pending", 4, "U1")
    assert row["recorded_at"] == "2026-11-02T09:00"
    assert row["decided_by"] is None and row["decided_at"] is None


def test_a_delivery_must_name_an_assignment_of_the_plan() -> None:
    with pytest.raises(ParameterError) as err:
        _record(empty_deliveries(), "L1", "cadre", "K1", "D2", 1)
    assert err.value.name == "assignment" and "K1" in str(err.value)


def test_recorded_hours_never_exceed_the_planned_hours() -> None:
    d = _record(empty_deliveries(), "L1", "cadre", "K1", "D1", 4)
    with pytest.raises(ParameterError) as err:
        _record(d, "L2", "cadre", "K1", "D1", 3)
    # planned 6, 4 pending: 2 left
    assert err.value.name == "hours"
    assert "cadre K1 -> D1" in str(err.value) and "2 of 6 hours left" in str(err.value)
    _record(d, "L2", "cadre", "K1", "D1", 2)  # exactly what is left is fine


def test_rejected_hours_free_the_assignment() -> None:
    d = _record(empty_deliveries(), "L1", "cadre", "K1", "D1", 6)
    d = decide_delivery(d, "L1", "rejected", decided_by="C1", decided_at="t")
    d = _record(d, "L2", "cadre", "K1", "D1", 6)
    assert recorded_hours(d) == {("cadre", "K1", "D1"): 6}


@pytest.mark.parametrize("hours", [0, -1, 1.5, True, "2"])
def test_hours_are_a_whole_number_one_or_more(hours: object) -> None:
    with pytest.raises(ParameterError) as err:
        _record(empty_deliveries(), "L1", "cadre", "K1", "D1", hours)  # type: ignore[arg-type]
    assert err.value.name == "hours"


def test_delivery_ids_are_unique_and_not_empty() -> None:
    d = _record(empty_deliveries(), "L1", "cadre", "K1", "D1", 1)
    for bad in ("L1", "", "  "):
        with pytest.raises(ParameterError) as err:
            _record(d, bad, "cadre", "K1", "D1", 1)
        assert err.value.name == "delivery_id"


def test_the_status_moves_are_pending_to_approved_or_rejected_only() -> None:
    assert {("pending", "approved"), ("pending", "rejected")} == STATUS_MOVES
    for start, end in itertools.product(STATUSES, [*STATUSES, "done"]):
        d = _record(empty_deliveries(), "L1", "cadre", "K1", "D1", 1)
        if start != "pending":
            d = decide_delivery(d, "L1", start, decided_by="C1", decided_at="t0")
        if (start, end) in {("pending", "approved"), ("pending", "rejected")}:
            out = decide_delivery(d, "L1", end, decided_by="C2", decided_at="t1")
            assert out.iloc[0][["status", "decided_by", "decided_at"]].tolist() == [
                end,
                "C2",
                "t1",
            ]
            assert d.iloc[0]["status"] == "pending"  # the input is left as it was
        else:
            with pytest.raises(DeliveryError) as err:
                decide_delivery(d, "L1", end, decided_by="C2", decided_at="t1")
            assert (err.value.delivery_id, err.value.status) == ("L1", start)
            assert "'L1'" in str(err.value) and repr(start) in str(err.value)


def test_deciding_an_unknown_delivery_is_refused() -> None:
    with pytest.raises(ParameterError) as err:
        decide_delivery(empty_deliveries(), "L9", "approved", decided_by="C1", decided_at="t")
    assert err.value.name == "delivery_id"


def test_progress_status_rule() -> None:
    assert progress_status(0, 0) == "not_started"
    assert progress_status(0, 10) == "not_started"
    assert progress_status(1, 10) == "in_progress"
    assert progress_status(10, 10) == "done"


_OPS = st.lists(
    st.tuples(
        st.integers(0, 2),  # which assignment
        st.integers(1, 8),  # hours
        st.sampled_from(["pending", "approved", "rejected"]),  # what the community does
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(ops=_OPS)
def test_progress_adds_up_to_the_decisions(ops: list[tuple[int, int, str]]) -> None:
    keys = list(PLAN[["supplier_kind", "supplier_id", "demand_id"]].itertuples(index=False))
    planned = dict(zip(keys, PLAN["hours"], strict=True))
    live = dict.fromkeys(keys, 0)  # pending + approved, by hand
    by_demand: dict[str, dict[str, int]] = {}
    d = empty_deliveries()
    for n, (which, hours, fate) in enumerate(ops):
        key = keys[which]
        if live[key] + hours > planned[key]:
            with pytest.raises(ParameterError):
                _record(d, f"L{n}", *key, hours)
            continue
        d = _record(d, f"L{n}", *key, hours)
        if fate != "pending":
            d = decide_delivery(d, f"L{n}", fate, decided_by="C", decided_at="t")
        if fate != "rejected":
            live[key] += hours
        tally = by_demand.setdefault(key[2], {})
        tally[fate] = tally.get(fate, 0) + hours
    assert all(live[k] <= planned[k] for k in keys)
    out = project_progress(PLAN, d).set_index("demand_id")
    assert list(out.index) == ["D1", "D2"]
    for demand in ("D1", "D2"):
        plan_hours = int(PLAN.loc[PLAN["demand_id"] == demand, "hours"].sum())
        tally = by_demand.get(demand, {})
        approved = tally.get("approved", 0)
        assert out.loc[demand, "planned_hours"] == plan_hours
        for fate in ("pending", "approved", "rejected"):
            assert out.loc[demand, f"{fate}_hours"] == tally.get(fate, 0)
        assert out.loc[demand, "progress"] == pytest.approx(approved / plan_hours)
        expected = (
            "not_started" if approved == 0 else "done" if approved >= plan_hours else "in_progress"
        )
        assert out.loc[demand, "status"] == expected


def _bulk(hours_delivered: list[object]) -> pd.DataFrame:
    return PLAN.assign(hours_delivered=hours_delivered)[list(EXPORT_COLUMNS)]


def test_bulk_rows_within_the_plan_pass() -> None:
    assert check_delivery_rows(_bulk([6, 0, "10"]), PLAN) == []


def test_bulk_rows_name_row_and_column() -> None:
    rows = _bulk([7, "x", ""])
    issues = check_delivery_rows(rows, PLAN)
    assert [(i.row, i.column, i.value) for i in issues] == [
        (2, "hours_delivered", "7"),
        (3, "hours_delivered", "x"),
        (4, "hours_delivered", ""),
    ]
    assert "row 2, column 'hours_delivered'" in str(issues[0])


def test_bulk_rows_count_hours_already_recorded() -> None:
    issues = check_delivery_rows(_bulk([3, 0, 0]), PLAN, recorded={("cadre", "K1", "D1"): 4})
    assert [(i.row, i.column) for i in issues] == [(2, "hours_delivered")]
    assert "at most 2" in str(issues[0])


def test_bulk_rows_must_be_assignments_of_the_plan_once() -> None:
    rows = pd.concat([_bulk([1, 1, 1]), _bulk([1, 1, 1]).iloc[[0]]], ignore_index=True)
    rows.loc[1, "supplier_id"] = "K9"
    issues = check_delivery_rows(rows, PLAN)
    assert [(i.row, i.column) for i in issues] == [(3, "demand_id"), (5, "demand_id")]
    assert "repeated" in str(issues[1])


def test_bulk_missing_columns_are_named() -> None:
    issues = check_delivery_rows(PLAN, PLAN)
    assert [(i.row, i.column) for i in issues] == [(None, "hours_delivered")]


def test_bulk_check_on_a_real_plan() -> None:
    plan = matcher.plan(matcher.load_dataset("tests/data/example/dataset"))
    rows = plan.assignments.assign(hours_delivered=plan.assignments["hours"])
    assert check_delivery_rows(rows, plan.assignments) == []
    rows.loc[rows.index[0], "hours_delivered"] = int(rows["hours"].iloc[0]) + 1
    assert [i.row for i in check_delivery_rows(rows, plan.assignments)] == [2]


def test_numpy_whole_hours_are_accepted() -> None:
    import numpy as np

    d = _record(empty_deliveries(), "L1", "cadre", "K1", "D1", np.int64(3))  # type: ignore[arg-type]
    assert recorded_hours(d) == {("cadre", "K1", "D1"): 3}
