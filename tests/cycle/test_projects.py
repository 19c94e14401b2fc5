"""The project list and the draft's edits, checked against the plan they come from."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from matcher.analysis.replan import replan
from matcher.cycle.projects import Edit, edit_draft, project_units, projects
from matcher.errors import ParameterError

EXAMPLE = "tests/data/example/dataset"
KEY = ["supplier_kind", "supplier_id", "demand_id"]


@pytest.fixture(scope="module")
def dataset() -> matcher.Dataset:
    return matcher.load_dataset(EXAMPLE)


@pytest.fixture(scope="module")
def draft(dataset: matcher.Dataset) -> matcher.Plan:
    return matcher.plan(dataset)


def _hours(plan: matcher.Plan) -> dict[tuple[str, str, str], int]:
    a = plan.assignments
    out: dict[tuple[str, str, str], int] = {}
    for k, s, d, h in a[[*KEY, "hours"]].itertuples(index=False):
        out[(k, s, d)] = out.get((k, s, d), 0) + int(h)
    return out


# --- the project list ---------------------------------------------------------------------


def test_one_row_per_demand_with_hours(draft: matcher.Plan) -> None:
    listed = projects(draft)
    ds = draft.demand_status
    expected = [d for d, h in zip(ds["demand_id"], ds["hours"], strict=True) if h > 0]
    assert list(listed["demand_id"]) == expected
    for row in listed.itertuples():
        status = ds[ds["demand_id"] == row.demand_id].iloc[0]
        assert row.hours == status["hours"]
        assert row.planned_hours == status["covered_hours"]
        assert row.status == status["status"]


def test_units_add_up_to_planned_hours(draft: matcher.Plan) -> None:
    a = draft.assignments
    for row in projects(draft).itertuples():
        by_hand: dict[str, int] = {}
        for unit, demand, h in a[["unit_id", "demand_id", "hours"]].itertuples(index=False):
            if demand == row.demand_id:
                by_hand[unit] = by_hand.get(unit, 0) + int(h)
        assert {u["unit_id"]: u["hours"] for u in row.units} == by_hand
        assert sum(by_hand.values()) == row.planned_hours


def test_units_column_is_json_ready(draft: matcher.Plan) -> None:
    listed = projects(draft, public=True)
    text = json.dumps(listed[["demand_id", "units", "lead_unit"]].to_dict("records"))
    assert json.loads(text)[0]["units"]


def test_lead_unit_from_plan_leads(draft: matcher.Plan) -> None:
    assert (projects(draft)["lead_unit"] == "").all()  # the example names no leads
    leads = pd.DataFrame({"demand_id": ["D2"], "unit_id": ["U-MUNI"], "effort": [1], "cost": [0.0]})
    with_lead = dataclasses.replace(draft, leads=leads)
    lead = projects(with_lead).set_index("demand_id")["lead_unit"]
    assert lead["D2"] == "U-MUNI" and lead["D1"] == ""


def test_project_units_long_table(draft: matcher.Plan) -> None:
    long = project_units(draft)
    assert int(long["hours"].sum()) == int(draft.assignments["hours"].sum())
    public = project_units(draft, public=True)
    assert list(public.columns) == ["demand_id", "unit_id", "hours"]
    assert int(public["hours"].sum()) == int(long["hours"].sum())


@pytest.mark.parametrize("path", [EXAMPLE, "datasets/fuzhou-demo"])
def test_public_names_no_cadre(path: str) -> None:
    dataset = matcher.load_dataset(path)
    plan = matcher.plan(dataset)
    cadre_ids = set(dataset.cadres["cadre_id"].astype(str))
    served = set(plan.assignments.query("supplier_kind == 'cadre'")["supplier_id"])
    assert served, "the plan should use some cadres for the check to mean anything"
    # the private variant does name them ...
    assert served <= set(json.dumps(projects(plan)["suppliers"].tolist()).split('"'))
    for frame in (projects(plan, public=True), project_units(plan, public=True)):
        cells = json.dumps(frame.astype(str).to_numpy().tolist(), ensure_ascii=False)
        tokens = set(cells.replace("'", '"').split('"'))
        assert not cadre_ids & tokens
        assert "supplier_id" not in frame.columns and "suppliers" not in frame.columns


# --- edits of the draft ----------------------------------------------------------------------


def test_pin_keeps_the_assignment(dataset: matcher.Dataset, draft: matcher.Plan) -> None:
    before = _hours(draft)
    edited = edit_draft(draft, [Edit("pin", "cadre", "K2", "D3"), Edit("pin", "cadre", "K1", "D1")])
    assert edited.pinned == (("cadre", "K2", "D3"), ("cadre", "K1", "D1"))
    again = replan(dataset, edited.previous, pinned=edited.pinned)
    after = _hours(again)
    for key in edited.pinned:
        assert after[key] == before[key]


def test_exclude_drops_the_assignment(draft: matcher.Plan) -> None:
    edited = edit_draft(
        draft, [Edit("pin", "cadre", "K5", "D5"), Edit("exclude", "cadre", "K5", "D5")]
    )
    assert edited.excluded == (("cadre", "K5", "D5"),)
    assert edited.pinned == ()
    left = set(map(tuple, edited.previous[KEY].to_numpy().tolist()))
    assert ("cadre", "K5", "D5") not in left
    assert len(left) == len(_hours(draft)) - 1


def test_move_hours_shows_in_the_replan(dataset: matcher.Dataset, draft: matcher.Plan) -> None:
    before = _hours(draft)
    giving, taking = ("service", "R1", "D1"), ("cadre", "K4", "D1")
    assert taking not in before
    edited = edit_draft(draft, [Edit("move_hours", *giving, hours=3, to_kind="cadre", to_id="K4")])
    prev = {tuple(r[:3]): r[3] for r in edited.previous.itertuples(index=False)}
    assert prev[giving] == before[giving] - 3 and prev[taking] == 3
    assert set(edited.pinned) == {giving, taking}
    again = replan(dataset, edited.previous, pinned=edited.pinned)
    after = _hours(again)
    assert after[taking] == 3
    assert after[giving] == before[giving] - 3


def test_move_all_hours_drops_the_giving_row(draft: matcher.Plan) -> None:
    before = _hours(draft)
    giving = ("cadre", "K1", "D1")
    edited = edit_draft(
        draft, [Edit("move_hours", *giving, hours=before[giving], to_kind="cadre", to_id="K4")]
    )
    assert giving not in set(map(tuple, edited.previous[KEY].to_numpy().tolist()))
    assert edited.pinned == (("cadre", "K4", "D1"),)


def test_unknown_assignment_names_the_field(draft: matcher.Plan) -> None:
    with pytest.raises(ParameterError) as err:
        edit_draft(draft, [Edit("pin", "cadre", "K2", "D3"), Edit("pin", "cadre", "K9", "D1")])
    assert err.value.name == "edits[1].supplier_id" and "K9" in str(err.value)
    with pytest.raises(ParameterError) as err:  # excluded, then pinned: no longer there
        edit_draft(draft, [Edit("exclude", "cadre", "K2", "D3"), Edit("pin", "cadre", "K2", "D3")])
    assert err.value.name == "edits[1].supplier_id"


def test_too_many_hours_names_the_field(draft: matcher.Plan) -> None:
    have = _hours(draft)[("cadre", "K2", "D3")]
    with pytest.raises(ParameterError) as err:
        edit_draft(
            draft,
            [Edit("move_hours", "cadre", "K2", "D3", hours=have + 1, to_kind="cadre", to_id="K1")],
        )
    assert err.value.name == "edits[0].hours" and str(have) in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"action": "drop"}, "action"),
        ({"kind": "venue"}, "kind"),
        ({"supplier_id": " "}, "supplier_id"),
        ({"action": "move_hours", "to_kind": "cadre", "to_id": "K3"}, "hours"),
        ({"action": "move_hours", "hours": 1.5, "to_kind": "cadre", "to_id": "K3"}, "hours"),
        ({"action": "move_hours", "hours": 1, "to_kind": "cadre"}, "to_id"),
        ({"action": "move_hours", "hours": 1, "to_kind": "cadre", "to_id": "K1"}, "to_id"),
        ({"action": "move_hours", "hours": 1, "to_kind": "x", "to_id": "K3"}, "to_kind"),
    ],
)
def test_edit_checks_its_fields(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "action": "pin",
        "kind": "cadre",
        "supplier_id": "K1",
        "demand_id": "D1",
    }
    with pytest.raises(ParameterError) as err:
        Edit(**{**base, **kwargs})  # type: ignore[arg-type]
    assert err.value.name == field


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2), st.integers(1, 4)), max_size=6))
def test_edits_keep_each_demands_hours(edits: list[tuple[int, int, int]]) -> None:
    """Pins and moves never change a demand's total hours; excludes take off exactly the
    excluded rows' hours."""
    rng_rows = pd.DataFrame(
        {
            "supplier_kind": ["cadre"] * 6,
            "supplier_id": ["K1", "K2", "K3", "K1", "K2", "K3"],
            "demand_id": ["D1", "D1", "D1", "D2", "D2", "D2"],
            "hours": [5, 3, 4, 2, 6, 1],
        }
    )
    hours = {tuple(r[:3]): int(r[3]) for r in rng_rows.itertuples(index=False)}
    made: list[Edit] = []
    removed = {"D1": 0, "D2": 0}
    for row, action, h in edits:
        key = tuple(rng_rows.iloc[row, :3])
        if key not in hours:
            continue
        if action == 0:
            made.append(Edit("exclude", *key))  # type: ignore[arg-type]
            removed[key[2]] += hours.pop(key)  # type: ignore[index]
        elif action == 1:
            made.append(Edit("pin", *key))  # type: ignore[arg-type]
        else:
            to = "K9"
            moved = min(h, hours[key])  # type: ignore[index]
            made.append(Edit("move_hours", *key, hours=moved, to_kind="cadre", to_id=to))  # type: ignore[arg-type]
            hours[key] -= moved  # type: ignore[index]
            if hours[key] == 0:  # type: ignore[index]
                del hours[key]  # type: ignore[arg-type]
            to_key = ("cadre", to, key[2])
            hours[to_key] = hours.get(to_key, 0) + moved
    edited = edit_draft(rng_rows, made)
    got = edited.previous.groupby("demand_id")["hours"].sum().to_dict()
    for demand, total in rng_rows.groupby("demand_id")["hours"].sum().items():
        assert got.get(demand, 0) == total - removed[str(demand)]
    assert {tuple(r[:3]): int(r[3]) for r in edited.previous.itertuples(index=False)} == hours
    assert np.issubdtype(edited.previous["hours"].dtype, np.integer)
