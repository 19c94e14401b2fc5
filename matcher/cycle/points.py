"""Cadre points (积分) from approved hours and residents' ratings: one documented rule.

A cadre earns ``points_per_hour`` for each approved hour of each project it served,
scaled by how the project was rated: with ``n`` ratings of mean ``r`` (1 to 5), the
factor is ``1 + rating_weight * (r - neutral_rating) / (5 - neutral_rating)`` once the
project has ``min_ratings`` ratings, else 1 (too few to judge). A factor never goes below
0. Pending and rejected hours earn nothing.

>>> import pandas as pd
>>> hours = pd.DataFrame({"cadre_id": ["K1", "K1", "K2"], "demand_id": ["D1", "D2", "D1"],
...                       "approved_hours": [4, 2, 3]})
>>> ratings = pd.DataFrame({"demand_id": ["D1"] * 3, "rating": [5, 5, 4]})
>>> for row in cadre_points(hours, ratings).itertuples(index=False):
...     print(row.cadre_id, row.approved_hours, row.points)
K1 6 7.666667
K2 3 4.25
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from matcher.errors import ParameterError
from matcher.i18n import N_, Text

__all__ = ["PointsParams", "cadre_points", "rating_factors"]

_DIGITS = 6


@dataclass(frozen=True)
class PointsParams:
    """The points rule's knobs (see the module docstring); each checked on creation.

    >>> PointsParams(min_ratings=0)
    Traceback (most recent call last):
    ...
    matcher.errors.ParameterError: parameter min_ratings=0: expected a whole number, 1 or more
    """

    points_per_hour: float = 1.0
    rating_weight: float = 0.5
    neutral_rating: float = 3.0
    min_ratings: int = 3

    def __post_init__(self) -> None:
        for name in ("points_per_hour", "rating_weight"):
            value = getattr(self, name)
            if not _real(value) or not 0 <= value <= 1000:
                raise ParameterError(name, value, Text(N_("a number from 0 to 1000")))
        if not _real(self.neutral_rating) or not 1 <= self.neutral_rating < 5:
            raise ParameterError(
                "neutral_rating", self.neutral_rating, Text(N_("a rating from 1 up to but not 5"))
            )
        if (
            isinstance(self.min_ratings, bool)
            or not isinstance(self.min_ratings, int)
            or (self.min_ratings < 1)
        ):
            raise ParameterError(
                "min_ratings", self.min_ratings, Text(N_("a whole number, 1 or more"))
            )


def _real(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def rating_factors(ratings: pd.DataFrame, params: PointsParams | None = None) -> pd.Series:
    """Each rated project's factor (index ``demand_id``), from its ratings (``demand_id``,
    ``rating`` 1 to 5)."""
    params = params or PointsParams()
    grouped = ratings.groupby("demand_id")["rating"].agg(["mean", "count"])
    lift = (grouped["mean"] - params.neutral_rating) / (5 - params.neutral_rating)
    factor = np.maximum(0.0, 1 + params.rating_weight * lift)
    return pd.Series(
        np.where(grouped["count"] >= params.min_ratings, factor, 1.0),
        index=grouped.index,
        name="factor",
    )


def cadre_points(
    hours: pd.DataFrame, ratings: pd.DataFrame, params: PointsParams | None = None
) -> pd.DataFrame:
    """Each cadre's approved hours and points.

    Parameters
    ----------
    hours
        Approved hours: ``cadre_id``, ``demand_id``, ``approved_hours``.
    ratings
        ``demand_id``, ``rating`` (1 to 5).
    params
        The rule (defaults if ``None``).

    Returns
    -------
    DataFrame
        ``cadre_id, approved_hours, points`` (points rounded to 6 decimals), by cadre id.
    """
    params = params or PointsParams()
    factor = hours["demand_id"].map(rating_factors(ratings, params)).fillna(1.0)
    earned = hours.assign(points=hours["approved_hours"] * params.points_per_hour * factor)
    out = earned.groupby("cadre_id", as_index=False)[["approved_hours", "points"]].sum()
    out["approved_hours"] = out["approved_hours"].astype(np.int64)
    out["points"] = out["points"].round(_DIGITS)
    return out.sort_values("cadre_id", kind="stable").reset_index(drop=True)
