"""Cadre points: the documented rule, checked against a computation written out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.cycle.points import PointsParams, cadre_points, rating_factors
from matcher.errors import ParameterError


def _by_hand(
    hours: list[tuple[str, str, int]], ratings: list[tuple[str, int]], p: PointsParams
) -> dict[str, float]:
    """The rule as the docs state it, one project and one cadre at a time."""
    by_project: dict[str, list[int]] = {}
    for demand, rating in ratings:
        by_project.setdefault(demand, []).append(rating)
    points: dict[str, float] = {}
    for cadre, demand, h in hours:
        got = by_project.get(demand, [])
        factor = 1.0
        if len(got) >= p.min_ratings:
            mean = sum(got) / len(got)
            factor = max(
                0.0, 1 + p.rating_weight * (mean - p.neutral_rating) / (5 - p.neutral_rating)
            )
        points[cadre] = points.get(cadre, 0.0) + h * p.points_per_hour * factor
    return points


def _frames(
    hours: list[tuple[str, str, int]], ratings: list[tuple[str, int]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.DataFrame(hours, columns=["cadre_id", "demand_id", "approved_hours"]),
        pd.DataFrame(ratings, columns=["demand_id", "rating"]),
    )


def test_a_small_case_by_hand() -> None:
    hours = [("K1", "D1", 4), ("K1", "D2", 2), ("K2", "D1", 3), ("K3", "D3", 5)]
    ratings = [("D1", 5), ("D1", 5), ("D1", 4), ("D2", 1), ("D3", 1), ("D3", 1), ("D3", 1)]
    p = PointsParams(rating_weight=2.0)
    out = cadre_points(*_frames(hours, ratings), p).set_index("cadre_id")
    # D1: mean 14/3, factor 1 + 2 * (14/3 - 3) / 2 = 8/3; D2: one rating, factor 1;
    # D3: mean 1, factor max(0, 1 - 2) = 0.
    assert out.loc["K1", "points"] == pytest.approx(4 * 8 / 3 + 2)
    assert out.loc["K2", "points"] == pytest.approx(3 * 8 / 3)
    assert out.loc["K3", "points"] == 0
    assert out["approved_hours"].tolist() == [6, 3, 5]


@settings(max_examples=200, deadline=None)
@given(
    hours=st.lists(
        st.tuples(
            st.sampled_from(["K1", "K2", "K3"]),
            st.sampled_from(["D1", "D2", "D3"]),
            st.integers(0, 40),
        ),
        min_size=1,
        max_size=20,
    ),
    ratings=st.lists(
        st.tuples(st.sampled_from(["D1", "D2", "D4"]), st.integers(1, 5)), max_size=30
    ),
    weight=st.floats(0, 3),
    neutral=st.sampled_from([1.0, 2.5, 3.0, 4.0]),
    minimum=st.integers(1, 4),
)
def test_points_equal_the_rule_written_out(
    hours: list[tuple[str, str, int]],
    ratings: list[tuple[str, int]],
    weight: float,
    neutral: float,
    minimum: int,
) -> None:
    p = PointsParams(rating_weight=weight, neutral_rating=neutral, min_ratings=minimum)
    out = cadre_points(*_frames(hours, ratings), p)
    want = _by_hand(hours, ratings, p)
    assert out["cadre_id"].tolist() == sorted(want)
    assert np.allclose(out["points"].to_numpy(), [want[c] for c in sorted(want)], atol=1e-6)
    # Hours add up: each cadre's approved hours are its rows' sum.
    total = {c: sum(h for k, _, h in hours if k == c) for c in want}
    assert dict(zip(out["cadre_id"], out["approved_hours"], strict=True)) == total
    assert (out["points"] >= 0).all()


def test_too_few_ratings_leave_the_factor_at_one() -> None:
    ratings = pd.DataFrame({"demand_id": ["D1", "D1"], "rating": [1, 1]})
    assert rating_factors(ratings, PointsParams(min_ratings=3)).loc["D1"] == 1.0
    assert rating_factors(ratings, PointsParams(min_ratings=2)).loc["D1"] == 0.5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"points_per_hour": -1}, "points_per_hour"),
        ({"points_per_hour": float("nan")}, "points_per_hour"),
        ({"rating_weight": True}, "rating_weight"),
        ({"neutral_rating": 5}, "neutral_rating"),
        ({"min_ratings": 0}, "min_ratings"),
        ({"min_ratings": 2.5}, "min_ratings"),
    ],
)
def test_the_rule_checks_its_knobs(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ParameterError) as info:
        PointsParams(**kwargs)  # type: ignore[arg-type]
    assert info.value.name == field
