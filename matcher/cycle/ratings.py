"""Residents' ratings (评议) of delivered projects, and their aggregates.

A rating is a whole number 1 to 5 with an optional comment, given to a delivered project
once per person: a token string identifies the person, and a second rating with the same
token for the same project is refused. Ratings are aggregated per project, per unit (each
unit serving the project, from the plan's ``assignments``), per community and per district
(from the plan's ``demand_status``): the count, the mean and how many of each rating 1..5.

>>> import pandas as pd
>>> r = empty_ratings()
>>> r = add_rating(r, {"D1"}, demand_id="D1", token="t", rating=5)
>>> r = add_rating(r, {"D1"}, demand_id="D1", token="t-2", rating=4, comment="good")
>>> add_rating(r, {"D1"}, demand_id="D1", token="t", rating=3)
Traceback (most recent call last):
...
matcher.errors.ParameterError: parameter token='t': expected a person who has not rated D1 yet
>>> status = pd.DataFrame({"demand_id": ["D1"], "community_id": ["C1"], "district": ["Gulou"]})
>>> plan = pd.DataFrame({"demand_id": ["D1", "D1"], "unit_id": ["U1", "U2"]})
>>> aggregate_ratings(r, plan, status, "unit")[["unit_id", "count", "mean", "n5"]]
  unit_id  count  mean  n5
0      U1      2   4.5   1
1      U2      2   4.5   1
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from matcher.errors import ParameterError
from matcher.i18n import N_, Text

__all__ = [
    "LEVELS",
    "MAX_COMMENT",
    "RATING_COLUMNS",
    "add_rating",
    "aggregate_ratings",
    "empty_ratings",
]

RATING_COLUMNS: tuple[str, ...] = ("demand_id", "token", "rating", "comment")
"""A ratings frame: the project, the person's token, the rating (1 to 5) and the comment
(``None`` when none)."""

LEVELS: dict[str, str] = {
    "project": "demand_id",
    "unit": "unit_id",
    "community": "community_id",
    "district": "district",
}
"""The levels ratings are aggregated at, and the column naming each group."""

MAX_COMMENT = 500
"""The longest comment, in characters."""


def empty_ratings() -> pd.DataFrame:
    """A ratings frame with no rows (:data:`RATING_COLUMNS`)."""
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in RATING_COLUMNS})
    frame["rating"] = frame["rating"].astype("int64")
    return frame


def add_rating(
    ratings: pd.DataFrame,
    delivered: Collection[str],
    *,
    demand_id: str,
    token: str,
    rating: int,
    comment: str | None = None,
) -> pd.DataFrame:
    """The ratings with one more, for project ``demand_id`` (one of the ``delivered``
    projects, e.g. those :func:`~matcher.cycle.delivery.project_progress` says are done).

    Refused (:class:`~matcher.errors.ParameterError` naming the field) when ``rating`` is
    not a whole number 1 to 5, ``token`` is empty or has already rated this project,
    ``demand_id`` is not a delivered project, or ``comment`` is not text of at most
    :data:`MAX_COMMENT` characters.
    """
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ParameterError("rating", rating, Text(N_("a whole number from 1 to 5")))
    if not isinstance(token, str) or not token.strip():
        raise ParameterError("token", token, Text(N_("a non-empty text")))
    if demand_id not in delivered:
        raise ParameterError("demand_id", demand_id, Text(N_("a delivered project")))
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise ParameterError(
            "comment", comment, Text(N_("text of at most {n} characters"), n=MAX_COMMENT)
        )
    same = (ratings["demand_id"] == demand_id) & (ratings["token"] == token)
    if same.any():
        raise ParameterError(
            "token",
            token,
            Text(N_("a person who has not rated {demand} yet"), demand=demand_id),
        )
    row = {"demand_id": demand_id, "token": token, "rating": rating, "comment": comment}
    added = pd.DataFrame([row], columns=list(RATING_COLUMNS)).astype({"rating": "int64"})
    if ratings.empty:
        return added
    return pd.concat([ratings[list(RATING_COLUMNS)], added], ignore_index=True)


def aggregate_ratings(
    ratings: pd.DataFrame,
    assignments: pd.DataFrame,
    demand_status: pd.DataFrame,
    level: str,
) -> pd.DataFrame:
    """Ratings aggregated at ``level`` (:data:`LEVELS`).

    Parameters
    ----------
    ratings
        ``demand_id``, ``rating`` (see :data:`RATING_COLUMNS`).
    assignments
        The plan's assignments (``demand_id``, ``unit_id``): a unit's ratings are those of
        every project it serves; a project served by two units counts for both.
    demand_status
        The plan's ``demand_status`` (``demand_id``, ``community_id``, ``district``).
    level
        ``"project"``, ``"unit"``, ``"community"`` or ``"district"``.

    Returns
    -------
    DataFrame
        The group's column (``demand_id``, ``unit_id``, ``community_id`` or ``district``),
        ``count``, ``mean`` and ``n1`` .. ``n5`` (how many of each rating), one row per
        group with at least one rating, by the group's name.
    """
    if level not in LEVELS:
        raise ParameterError(
            "level", level, Text(N_("one of {choices}"), choices=", ".join(LEVELS))
        )
    column = LEVELS[level]
    rated = ratings[["demand_id", "rating"]]
    if level == "unit":
        serving = assignments[["demand_id", "unit_id"]].drop_duplicates()
        rated = rated.merge(serving, on="demand_id", how="inner")
    elif level != "project":
        where = demand_status[["demand_id", column]].drop_duplicates("demand_id")
        rated = rated.merge(where, on="demand_id", how="inner")
    groups = rated.groupby(column)["rating"]
    out = groups.agg(["count", "mean"]).reset_index()
    for k in range(1, 6):
        counts = rated[rated["rating"] == k].groupby(column)["rating"].size()
        out[f"n{k}"] = out[column].map(counts).fillna(0).astype("int64")
    out["count"] = out["count"].astype("int64")
    out["mean"] = out["mean"].astype(float)
    out[column] = out[column].astype(str)
    return out.sort_values(column, kind="stable").reset_index(drop=True)
