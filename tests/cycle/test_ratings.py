"""Ratings: the rules of giving one, and the aggregates against a computation by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.cycle.ratings import (
    LEVELS,
    MAX_COMMENT,
    RATING_COLUMNS,
    add_rating,
    aggregate_ratings,
    empty_ratings,
)
from matcher.errors import ParameterError

ASSIGNMENTS = pd.DataFrame(
    {
        "demand_id": ["D1", "D1", "D1", "D2", "D3"],
        "unit_id": ["U1", "U2", "U1", "U2", "U3"],
    }
)
STATUS = pd.DataFrame(
    {
        "demand_id": ["D1", "D2", "D3", "D4"],
        "community_id": ["C1", "C1", "C2", "C3"],
        "district": ["Gulou", "Gulou", "Taijiang", "Taijiang"],
    }
)
DELIVERED = {"D1", "D2", "D3", "D4"}


def _add(r: pd.DataFrame, demand: str, token: str, rating: object, comment: object = None):
    return add_rating(r, DELIVERED, demand_id=demand, token=token, rating=rating, comment=comment)  # type: ignore[arg-type]


def test_a_rating_is_kept_with_its_comment() -> None:
    r = _add(empty_ratings(), "D1", "t1", 4, "on time")
    assert list(r.columns) == list(RATING_COLUMNS)
    assert r.iloc[0].tolist() == ["D1", "t1", 4, "on time"]


@pytest.mark.parametrize("rating", [0, 6, 3.5, True, "4", None])
def test_a_rating_is_a_whole_number_from_1_to_5(rating: object) -> None:
    with pytest.raises(ParameterError) as err:
        _add(empty_ratings(), "D1", "t1", rating)
    assert err.value.name == "rating"


@pytest.mark.parametrize("token", ["", "   ", None, 7])
def test_a_token_is_a_non_empty_text(token: object) -> None:
    with pytest.raises(ParameterError) as err:
        _add(empty_ratings(), "D1", token, 3)  # type: ignore[arg-type]
    assert err.value.name == "token"


def test_only_delivered_projects_are_rated() -> None:
    with pytest.raises(ParameterError) as err:
        add_rating(empty_ratings(), {"D2"}, demand_id="D1", token="t1", rating=3)
    assert err.value.name == "demand_id"


def test_a_comment_is_optional_text_of_bounded_length() -> None:
    _add(empty_ratings(), "D1", "t1", 3, "x" * MAX_COMMENT)
    for bad in ("x" * (MAX_COMMENT + 1), 5):
        with pytest.raises(ParameterError) as err:
            _add(empty_ratings(), "D1", "t1", 3, bad)
        assert err.value.name == "comment"


def test_once_per_person_per_project() -> None:
    r = _add(empty_ratings(), "D1", "t1", 3)
    r = _add(r, "D2", "t1", 5)  # the same person, another project
    r = _add(r, "D1", "t2", 2)  # another person, the same project
    with pytest.raises(ParameterError) as err:
        _add(r, "D1", "t1", 4)
    assert err.value.name == "token" and "D1" in str(err.value)
    assert len(r) == 3


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ParameterError) as err:
        aggregate_ratings(empty_ratings(), ASSIGNMENTS, STATUS, "street")
    assert err.value.name == "level"


def test_a_small_case_by_hand() -> None:
    r = empty_ratings()
    for demand, token, rating in [("D1", "a", 5), ("D1", "b", 3), ("D2", "a", 1), ("D3", "a", 4)]:
        r = _add(r, demand, token, rating)
    unit = aggregate_ratings(r, ASSIGNMENTS, STATUS, "unit").set_index("unit_id")
    # U1 serves D1 (twice in the plan, counted once); U2 serves D1 and D2; U3 serves D3
    assert unit["count"].to_dict() == {"U1": 2, "U2": 3, "U3": 1}
    assert unit.loc["U2", "mean"] == pytest.approx(3.0)
    assert unit.loc["U2", ["n1", "n2", "n3", "n4", "n5"]].tolist() == [1, 0, 1, 0, 1]
    district = aggregate_ratings(r, ASSIGNMENTS, STATUS, "district").set_index("district")
    assert district["count"].to_dict() == {"Gulou": 3, "Taijiang": 1}


_RATINGS = st.lists(
    st.tuples(st.sampled_from(["D1", "D2", "D3", "D4"]), st.integers(1, 5)),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(given_ratings=_RATINGS)
def test_aggregates_equal_the_rule_written_out(given_ratings: list[tuple[str, int]]) -> None:
    r = empty_ratings()
    for n, (demand, rating) in enumerate(given_ratings):
        r = _add(r, demand, f"t{n}", rating)
    groups_of = {
        "project": {d: [d] for d in DELIVERED},
        "unit": {
            d: sorted(set(ASSIGNMENTS.loc[ASSIGNMENTS["demand_id"] == d, "unit_id"]))
            for d in DELIVERED
        },
        "community": dict(
            zip(STATUS["demand_id"], ([c] for c in STATUS["community_id"]), strict=True)
        ),
        "district": dict(zip(STATUS["demand_id"], ([c] for c in STATUS["district"]), strict=True)),
    }
    for level, column in LEVELS.items():
        by_hand: dict[str, list[int]] = {}
        for demand, rating in given_ratings:
            for group in groups_of[level][demand]:
                by_hand.setdefault(group, []).append(rating)
        out = aggregate_ratings(r, ASSIGNMENTS, STATUS, level)
        assert list(out[column]) == sorted(by_hand)
        for row in out.to_dict("records"):
            got = by_hand[row[column]]
            assert row["count"] == len(got)
            assert row["mean"] == pytest.approx(sum(got) / len(got))
            assert [row[f"n{k}"] for k in range(1, 6)] == [got.count(k) for k in range(1, 6)]
            assert sum(row[f"n{k}"] for k in range(1, 6)) == row["count"]
    # every rating counts once per project, community and district
    for level in ("project", "community", "district"):
        assert aggregate_ratings(r, ASSIGNMENTS, STATUS, level)["count"].sum() == len(given_ratings)
