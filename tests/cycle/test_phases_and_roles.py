"""The cycle's rules: each transition row and each permission row, the checks of a
schedule, and random sequences of actions by random roles that never break them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.cycle.phases import (
    NEXT,
    PHASE_NAMES,
    PHASES,
    SKIPPABLE,
    TRANSITIONS,
    Schedule,
    actions_in,
)
from matcher.cycle.roles import ACTIONS, PERMISSIONS, ROLES, actions_for, can, roles_for
from matcher.errors import ParameterError, PhaseError
from matcher.i18n import translator


@pytest.mark.parametrize("row", TRANSITIONS, ids=lambda t: f"{t.source}-{t.action}")
def test_each_transition_leads_where_its_row_says(row) -> None:  # type: ignore[no-untyped-def]
    full = Schedule.of("2026-Q4")
    target = full.after(row.source, row.action)
    if row.target == NEXT:
        assert target == PHASES[PHASES.index(row.source) + 1]
    else:
        assert target == row.target
        assert PHASES.index(target) < PHASES.index(row.source)  # the only ways back


def test_a_full_cycle_runs_in_order() -> None:
    s = Schedule.of("2026-Q4")
    moves = ["open_planning", "submit", "submit", "approve", "approve", "publish"]
    moves += ["start_delivery", "start_evaluation", "close"]
    phase, seen = "collecting", ["collecting"]
    for action in moves:
        phase = s.after(phase, action)
        seen.append(phase)
    assert tuple(seen) == PHASES


def test_left_out_phases_are_passed_over() -> None:
    s = Schedule.of("2026-Q4", skipped=("discussion", "street_review", "evaluation"))
    assert s.phases == (
        "collecting",
        "planning",
        "district_review",
        "public_notice",
        "published",
        "delivery",
        "closed",
    )
    assert s.after("planning", "submit") == "district_review"
    assert s.after("delivery", "start_evaluation") == "closed"
    with pytest.raises(PhaseError):
        s.after("street_review", "approve")  # a phase the cycle does not use


def test_a_phase_refuses_other_actions_naming_what_it_allows() -> None:
    s = Schedule.of("2026-Q4")
    with pytest.raises(PhaseError) as info:
        s.after("street_review", "publish")
    assert info.value.allowed == ("approve", "return")
    assert str(info.value) == (
        "action 'publish' is not allowed in phase 'street_review'; allowed: approve, return"
    )
    zh = info.value.args[0].render("zh")
    assert "street_review" in zh and "不允许" in zh and "approve, return" in zh


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"period": "2026-Q5"}, "period"),
        ({"period": "Q4 2026"}, "period"),
        ({"period": "2026-Q4", "skipped": ("planning",)}, "skipped"),
        ({"period": "2026-Q4", "skipped": ("published",)}, "skipped"),
        (
            {
                "period": "2026-Q4",
                "starts": {"planning": dt.date(2026, 10, 8), "collecting": dt.date(2026, 10, 9)},
            },
            "starts.planning",
        ),
        (
            {
                "period": "2026-Q4",
                "skipped": ("discussion",),
                "starts": {"discussion": dt.date(2026, 10, 8)},
            },
            "starts.discussion",
        ),
        ({"period": "2026-Q4", "starts": {"holidays": dt.date(2026, 10, 1)}}, "starts.holidays"),
    ],
)
def test_a_schedule_is_checked(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ParameterError) as info:
        Schedule.of(**kwargs)  # type: ignore[arg-type]
    assert info.value.name == field


def test_start_days_in_order_are_kept() -> None:
    days = {"collecting": dt.date(2026, 10, 1), "public_notice": dt.date(2026, 11, 20)}
    assert Schedule.of("2026-Q4", starts=days).starts == days


def test_every_phase_has_a_name_in_every_language() -> None:
    assert set(PHASE_NAMES) == set(PHASES)
    _ = translator("zh")
    assert _(PHASE_NAMES["public_notice"]) == "公示"
    assert _(PHASE_NAMES["evaluation"]) == "评议"
    assert set(PHASES) > SKIPPABLE


def test_the_permission_table_is_complete_and_consistent() -> None:
    for p in PERMISSIONS:
        assert p.role in ROLES and p.role != "admin", p
        assert p.phase in PHASES, p
    assert len(set(PERMISSIONS)) == len(PERMISSIONS), "a row written twice"
    # Every move between phases has someone who may take it.
    for phase in PHASES:
        for action in actions_in(phase):
            assert roles_for(phase, action), (phase, action)


@pytest.mark.parametrize("row", PERMISSIONS, ids=lambda p: f"{p.role}-{p.phase}-{p.action}")
def test_each_permission_row_allows_exactly_its_action(row) -> None:  # type: ignore[no-untyped-def]
    assert can(row.role, row.phase, row.action)
    other_phases = [p for p in PHASES if (row.role, p, row.action) not in PERMISSIONS]
    for phase in other_phases:
        assert not can(row.role, phase, row.action)
    assert can("admin", row.phase, row.action) == can("planner", row.phase, row.action)


def test_reviews_belong_to_reviewers_and_the_public_only_objects_and_rates() -> None:
    assert roles_for("street_review", "approve") == ("street_reviewer",)
    assert roles_for("district_review", "return") == ("district_reviewer",)
    assert actions_for("public", "public_notice") == ("object", "read_notice")
    assert actions_for("public", "planning") == ()
    assert not can("unit", "delivery", "confirm_delivery")  # the community confirms
    assert not can("community", "delivery", "record_delivery")


@settings(max_examples=300, deadline=None)
@given(
    skipped=st.sets(st.sampled_from(sorted(SKIPPABLE))),
    steps=st.lists(
        st.tuples(st.sampled_from(ROLES), st.sampled_from(ACTIONS)), min_size=1, max_size=60
    ),
)
def test_random_actions_by_random_roles_never_break_the_rules(
    skipped: set[str], steps: list[tuple[str, str]]
) -> None:
    s = Schedule.of("2026-Q4", skipped=skipped)
    phase = "collecting"
    for role, action in steps:
        allowed_by_role = can(role, phase, action)
        moves = action in actions_in(phase)
        if not allowed_by_role:
            continue  # the service answers 403 (role) or 409 (phase); nothing changes
        if moves:
            new = s.after(phase, action)
            assert new in s.phases
            forward = PHASES.index(new) > PHASES.index(phase)
            back = [t for t in TRANSITIONS if t.source == phase and t.action == action]
            assert forward or back[0].target == new
            phase = new
        else:
            with pytest.raises(PhaseError):
                s.after(phase, action)
        assert phase in s.phases
    if phase == "closed":
        assert actions_for("planner", phase) == ("open_next",)


def test_the_docs_tables_are_the_codes() -> None:
    """docs/cycle.md lists every transition and permission row, and no other."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "cycle.md").read_text("utf-8")
    moves_part, rest = doc.split("## Who may do what")
    roles_part = rest.split("\n## ")[0]
    moves = set(re.findall(r"^\| `(\w+)` \| `(\w+)` \| ", moves_part.split("## Moves")[1], re.M))
    assert moves == {(t.source, t.action) for t in TRANSITIONS}
    allowed = {
        (role, phase, action)
        for role, phase, actions in re.findall(
            r"^\| `(\w+)` \| `(\w+)` \| ((?:`\w+`(?:, )?)+) \|$", roles_part, re.M
        )
        for action in re.findall(r"`(\w+)`", actions)
    }
    assert allowed == {tuple(p) for p in PERMISSIONS}
