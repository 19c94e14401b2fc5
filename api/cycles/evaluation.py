"""The evaluation (评议) of a cycle's delivered projects, the cadres' points (积分) at
closing, and the next quarter's cycle.

Residents rate with tokens a community hands out (only the tokens' SHA-256 is kept),
community committees with their keys; :mod:`matcher.cycle.ratings` checks and aggregates
the ratings, :mod:`matcher.cycle.points` gives the points and
:mod:`matcher.cycle.carryover` the demands carried over and the next dataset.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import store
from api.cycles import audit
from api.cycles.access import (
    PUBLIC,
    Actor,
    authorize,
    check_community,
    forbidden_role,
    may_read,
)
from api.cycles.core import create_cycle, parameter_error
from api.cycles.delivery import Published, delivery_rows, published
from api.cycles.lists import add_entries
from api.db.models import (
    Cycle,
    CycleDelivery,
    CycleEntry,
    CyclePoints,
    CycleProject,
    CycleRating,
    CycleVersion,
    DatasetRow,
    RatingToken,
    utcnow,
)
from api.errors import ApiError, issue_dict
from matcher.cycle.carryover import CarryoverParams, carry_over, next_dataset
from matcher.cycle.points import PointsParams, cadre_points
from matcher.cycle.ratings import add_rating, aggregate_ratings, empty_ratings
from matcher.errors import DatasetError, ParameterError
from matcher.i18n import N_, Text
from matcher.inputs.io import plain_value

__all__ = [
    "aggregate",
    "close",
    "hash_token",
    "issue_tokens",
    "next_period",
    "open_next",
    "points",
    "public_aggregate",
    "rate",
    "rate_public",
]

POINTS_READERS = ("planner", "admin", "street_reviewer", "district_reviewer", "unit")
"""Who reads a cycle's points (a unit key: its units' cadres only); cadre ids are
personal data, never public."""


def hash_token(token: str) -> str:
    """The SHA-256 (hex) kept of a rating token."""
    return hashlib.sha256(token.encode()).hexdigest()


# ---- rating tokens ---------------------------------------------------------------------


def _communities(pub: Published) -> set[str]:
    return set(pub.demand_status["community_id"].astype(str))


def issue_tokens(
    session: Session, cycle: Cycle, actor: Actor, community_id: str, count: int
) -> list[str]:
    """``count`` new rating tokens for a community's residents, returned once (only
    their SHA-256 is kept). 422 naming ``community_id`` for a community without a
    project in the published list."""
    authorize(actor, cycle, "issue_rating_tokens")
    check_community(actor, community_id)
    pub = published(session, cycle)
    if community_id not in _communities(pub):
        raise parameter_error(
            ParameterError(
                "community_id", community_id, Text(N_("a community of the published list"))
            )
        )
    tokens = [secrets.token_urlsafe(9) for _ in range(count)]
    now = utcnow()
    for token in tokens:
        session.add(
            RatingToken(
                token_hash=hash_token(token),
                cycle_id=cycle.id,
                community_id=community_id,
                issued_by=actor.key_id,
                issued_at=now,
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "issue_rating_tokens",
        cycle_id=cycle.id,
        target=f"community:{community_id}",
        after={"community_id": community_id, "count": count},
        visibility="private",
    )
    return tokens


# ---- ratings ---------------------------------------------------------------------------


def _ratings(session: Session, cycle: Cycle, demand_id: str | None = None) -> pd.DataFrame:
    """The cycle's ratings as the library's frame (the rater as ``token``)."""
    where: list[Any] = [CycleRating.cycle_id == cycle.id]
    if demand_id is not None:
        where.append(CycleRating.demand_id == demand_id)
    rows = session.execute(select(CycleRating).where(*where).order_by(CycleRating.id)).scalars()
    records = [
        {"demand_id": r.demand_id, "token": r.rater, "rating": r.rating, "comment": r.comment}
        for r in rows
    ]
    if not records:
        return empty_ratings()
    return pd.DataFrame(records).astype({"rating": "int64"})


def _delivered(session: Session, cycle: Cycle) -> set[str]:
    """The projects with at least one approved hour."""
    rows = session.execute(
        select(CycleDelivery.demand_id)
        .where(
            CycleDelivery.cycle_id == cycle.id,
            CycleDelivery.status == "approved",
            CycleDelivery.hours > 0,
        )
        .distinct()
    ).scalars()
    return set(rows)


def _community_of(session: Session, cycle: Cycle, demand_id: str) -> str:
    """The community of a project of the newest published version, from its frozen
    projects (409 ``not_published`` before there is one, 422 naming ``demand_id``)."""
    newest = session.execute(
        select(func.max(CycleVersion.version)).where(CycleVersion.cycle_id == cycle.id)
    ).scalar_one_or_none()
    if newest is None:
        published(session, cycle)  # raises its 409
    hit = session.execute(
        select(CycleProject.community_id).where(
            CycleProject.cycle_id == cycle.id,
            CycleProject.version == newest,
            CycleProject.demand_id == demand_id,
        )
    ).scalar_one_or_none()
    if hit is None:
        raise parameter_error(
            ParameterError("demand_id", demand_id, Text(N_("a project of the published list")))
        )
    return str(hit)


def _add(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    *,
    demand_id: str,
    community_id: str,
    rater: str,
    rating: int,
    comment: str | None,
) -> CycleRating:
    """Check a rating by the library's rule, store it and log it (publicly, without the
    rater)."""
    try:
        add_rating(
            _ratings(session, cycle, demand_id),
            _delivered(session, cycle),
            demand_id=demand_id,
            token=rater,
            rating=rating,
            comment=comment,
        )
    except ParameterError as exc:
        if exc.name == "token":
            raise _already_rated(demand_id) from None
        raise parameter_error(exc) from None
    row = CycleRating(
        cycle_id=cycle.id,
        demand_id=demand_id,
        community_id=community_id,
        rater=rater,
        role=actor.role,
        rating=rating,
        comment=comment or "",
        at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise _already_rated(demand_id) from None
    audit.record(
        session,
        actor,
        "rate",
        cycle_id=cycle.id,
        target=f"demand:{demand_id}",
        after={"demand_id": demand_id, "rating": rating, "role": actor.role},
        visibility="public",
    )
    return row


def _already_rated(demand_id: str) -> ApiError:
    return ApiError(
        409,
        "already_rated",
        Text(N_("project {demand} has been rated with this token already"), demand=demand_id),
        [{"field": "demand_id", "value": demand_id}],
    )


def rate_public(
    session: Session,
    cycle: Cycle,
    *,
    demand_id: str,
    token: str,
    rating: int,
    comment: str | None,
) -> CycleRating:
    """A resident's rating with a token of the project's community (403 ``bad_token``
    otherwise), once per token and project (409 ``already_rated``), of a delivered
    project (422 naming ``demand_id``), 1 to 5 (422 naming ``rating``)."""
    authorize(PUBLIC, cycle, "rate")
    community_id = _community_of(session, cycle, demand_id)
    digest = hash_token(token)
    held = session.get(RatingToken, digest)
    if held is None or held.cycle_id != cycle.id or held.community_id != community_id:
        raise ApiError(
            403,
            "bad_token",
            Text(N_("this token does not rate the projects of community {c}"), c=community_id),
            [{"field": "token"}],
        )
    return _add(
        session,
        cycle,
        PUBLIC,
        demand_id=demand_id,
        community_id=community_id,
        rater=digest,
        rating=rating,
        comment=comment,
    )


def rate(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    *,
    demand_id: str,
    rating: int,
    comment: str | None,
) -> CycleRating:
    """A community committee's rating of one of its delivered projects (once per key or
    console user)."""
    authorize(actor, cycle, "rate")
    community_id = _community_of(session, cycle, demand_id)
    check_community(actor, community_id, "demand_id")
    return _add(
        session,
        cycle,
        actor,
        demand_id=demand_id,
        community_id=community_id,
        rater=f"user:{actor.user_id}" if actor.user_id is not None else f"key:{actor.key_id}",
        rating=rating,
        comment=comment,
    )


def aggregate(session: Session, cycle: Cycle, actor: Actor, level: str) -> pd.DataFrame:
    """The ratings per ``project``, ``unit``, ``community`` or ``district``
    (:func:`matcher.cycle.ratings.aggregate_ratings`; 422 naming ``level``)."""
    may_read(actor, cycle)
    pub = published(session, cycle)
    try:
        return aggregate_ratings(
            _ratings(session, cycle), pub.assignments, pub.demand_status, level
        )
    except ParameterError as exc:
        raise parameter_error(exc) from None


def public_aggregate(session: Session, cycle: Cycle) -> pd.DataFrame:
    """Each rated project's count and mean: what anyone may read."""
    out = aggregate(session, cycle, PUBLIC, "project")
    return out[["demand_id", "count", "mean"]]


# ---- closing: the points ---------------------------------------------------------------


def _points_params(cycle: Cycle) -> PointsParams:
    knobs = (cycle.options or {}).get("points", {})
    if not isinstance(knobs, dict):
        raise parameter_error(
            ParameterError("options.points", knobs, Text(N_("an object of the points' knobs")))
        )
    try:
        return PointsParams(**knobs)
    except ParameterError as exc:
        raise parameter_error(exc) from None
    except TypeError:
        raise parameter_error(
            ParameterError(
                "options.points",
                sorted(knobs),
                Text(N_("points_per_hour, rating_weight, neutral_rating, min_ratings")),
            )
        ) from None


def close(session: Session, cycle: Cycle, actor: Actor) -> None:
    """The hook of entering ``closed``: each cadre's points from its approved hours and
    the projects' ratings (:func:`matcher.cycle.points.cadre_points`), stored."""
    params = _points_params(cycle)
    approved = [
        r
        for r in delivery_rows(session, cycle)
        if r.status == "approved" and r.supplier_kind == "cadre"
    ]
    units = {r.supplier_id: r.unit_id for r in approved}
    listed = pd.DataFrame(
        {
            "cadre_id": [r.supplier_id for r in approved],
            "demand_id": [r.demand_id for r in approved],
            "approved_hours": pd.Series([r.hours for r in approved], dtype="int64"),
        }
    )
    hours = pd.DataFrame(
        listed.groupby(["cadre_id", "demand_id"], as_index=False)["approved_hours"].sum()
    )
    ratings = _ratings(session, cycle)[["demand_id", "rating"]]
    earned = cadre_points(hours, ratings, params)
    for cadre_id, h, p in zip(
        earned["cadre_id"], earned["approved_hours"], earned["points"], strict=True
    ):
        session.add(
            CyclePoints(
                cycle_id=cycle.id,
                cadre_id=str(cadre_id),
                unit_id=units[str(cadre_id)],
                approved_hours=int(h),
                points=float(p),
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "points",
        cycle_id=cycle.id,
        target=f"cycle:{cycle.id}",
        after={
            "cadres": len(earned),
            "approved_hours": int(earned["approved_hours"].sum()),
            "points": round(float(earned["points"].sum()), 6),
            "ratings": len(ratings),
            "params": {
                "points_per_hour": params.points_per_hour,
                "rating_weight": params.rating_weight,
                "neutral_rating": params.neutral_rating,
                "min_ratings": params.min_ratings,
            },
        },
        visibility="private",
    )


def points(session: Session, cycle: Cycle, actor: Actor) -> list[CyclePoints]:
    """The cycle's points by cadre: planners, admins, reviewers, and a unit key for its
    units' cadres (403 for anyone else)."""
    may_read(actor, cycle)
    if actor.role not in POINTS_READERS:
        raise forbidden_role(actor, "read_points", POINTS_READERS)
    where: list[Any] = [CyclePoints.cycle_id == cycle.id]
    if actor.role == "unit" and actor.units is not None:
        where.append(CyclePoints.unit_id.in_(list(actor.units)))
    rows = session.execute(select(CyclePoints).where(*where).order_by(CyclePoints.cadre_id))
    return list(rows.scalars())


# ---- the next cycle --------------------------------------------------------------------


def next_period(period: str) -> str:
    """The quarter after ``period`` (``2026-Q4`` -> ``2027-Q1``)."""
    year, quarter = int(period[:4]), int(period[-1])
    return f"{year + 1}-Q1" if quarter == 4 else f"{year}-Q{quarter + 1}"


def _cycle_demands(
    session: Session, cycle: Cycle, demands: pd.DataFrame, communities: pd.DataFrame
) -> pd.DataFrame:
    """The cycle's demands (its district, and streets if any), with ``times_carried``
    counted on from the entries this cycle got carried."""
    inside = communities["district"].astype(str) == cycle.district
    if cycle.streets:
        inside &= communities["street"].astype(str).isin(list(cycle.streets))
    ours = set(communities.loc[inside, "community_id"].astype(str))
    own = demands[demands["community_id"].astype(str).isin(ours)].reset_index(drop=True)
    carried = session.execute(
        select(CycleEntry.row_key, CycleEntry.times_carried).where(
            CycleEntry.cycle_id == cycle.id,
            CycleEntry.table_name == "demands",
            CycleEntry.origin == "carried_over",
        )
    ).all()
    before = {str(k): int(t) for k, t in carried}
    return own.assign(
        times_carried=own["demand_id"].astype(str).map(before).fillna(0).astype("int64")
    )


def _planned_vs_approved(pub: Published, rows: list[CycleDelivery]) -> pd.DataFrame:
    """One row per assignment and status for :func:`matcher.cycle.carryover.reliability`:
    its approved hours (``approved``) and the rest of its planned hours (``rejected``:
    not delivered), so that planned hours are the published plan's."""
    approved: dict[tuple[str, str, str], int] = {}
    for r in rows:
        if r.status == "approved":
            key = (r.supplier_kind, r.supplier_id, r.demand_id)
            approved[key] = approved.get(key, 0) + r.hours
    records: list[dict[str, Any]] = []
    a = pub.assignments
    for kind, sid, demand, planned in zip(
        a["supplier_kind"], a["supplier_id"], a["demand_id"], a["hours"], strict=True
    ):
        key = (str(kind), str(sid), str(demand))
        done = min(approved.get(key, 0), int(planned))
        base = {"supplier_kind": key[0], "supplier_id": key[1], "demand_id": key[2]}
        records.append({**base, "hours": done, "status": "approved"})
        records.append({**base, "hours": int(planned) - done, "status": "rejected"})
    columns = ["supplier_kind", "supplier_id", "demand_id", "hours", "status"]
    return pd.DataFrame(records, columns=columns)


def open_next(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    *,
    period: str | None = None,
    scale_by_reliability: bool = False,
) -> Cycle:
    """Open the next quarter's cycle from a closed one: its base dataset is this cycle's
    with no demands (cadres' hours scaled by reliability when asked), and the demands not
    fully met are carried over into its demands list with their remaining hours.

    409 ``next_exists`` when the next cycle is open already."""
    authorize(actor, cycle, "open_next")
    if cycle.next_cycle_id is not None:
        raise ApiError(
            409,
            "next_exists",
            Text(
                N_("cycle {id} has a next cycle already: {next}"),
                id=cycle.id,
                next=cycle.next_cycle_id,
            ),
            [{"field": "next_cycle_id", "value": cycle.next_cycle_id}],
        )
    try:
        params = CarryoverParams(scale_by_reliability=scale_by_reliability)
    except ParameterError as exc:
        raise parameter_error(exc) from None
    pub = published(session, cycle)
    dataset = store.load_dataset(session, cycle.dataset_id or cycle.base_dataset_id)
    demands = _cycle_demands(session, cycle, dataset.demands, dataset.communities)
    covered = pub.demand_status[["demand_id", "covered_hours"]]
    carried = carry_over(demands, covered, cycle.period)
    gone = set(dataset.demands["demand_id"].astype(str))
    emptied: dict[str, pd.DataFrame] = {"demands": dataset.demands.iloc[0:0]}
    if dataset.has("lead_options"):
        leads = dataset.table("lead_options")
        emptied["lead_options"] = leads[~leads["demand_id"].astype(str).isin(gone)]
    try:
        base = next_dataset(
            dataset.replace(None, **emptied),
            _planned_vs_approved(pub, delivery_rows(session, cycle)),
            params,
        )
    except DatasetError as exc:
        raise ApiError(
            409,
            "invalid_dataset",
            Text(N_("the next cycle's dataset does not validate; fix this cycle's lists")),
            [issue_dict(i) for i in exc.issues],
        ) from None
    new_period = period or next_period(cycle.period)
    found = session.execute(
        select(DatasetRow).where(DatasetRow.content_hash == base.content_hash)
    ).scalar_one_or_none()
    if found is None:
        found = store.save_dataset(
            session,
            base,
            uuid.uuid4().hex,
            f"{cycle.district} {new_period} (from {cycle.period})",
        )
    new = create_cycle(
        session,
        actor,
        district=cycle.district,
        streets=cycle.streets,
        period=new_period,
        dataset_id=found.id,
        skipped=cycle.skipped,
        options=cycle.options,
        previous_cycle_id=cycle.id,
    )
    if len(carried):
        columns = list(dataset.demands.columns)
        add_entries(
            session,
            new,
            actor,
            "demands",
            [{c: plain_value(r[c]) for c in columns} for r in carried.to_dict("records")],
            "carried_over",
            carried_from=cycle.period,
            times_carried=[int(t) for t in carried["times_carried"]],
            action="add_demand",
        )
    cycle.next_cycle_id = new.id
    session.flush()
    audit.record(
        session,
        actor,
        "open_next",
        cycle_id=cycle.id,
        target=f"cycle:{cycle.id}",
        after={
            "next_cycle_id": new.id,
            "period": new_period,
            "dataset_id": found.id,
            "carried_over": len(carried),
            "scale_by_reliability": scale_by_reliability,
        },
        visibility="public",
    )
    return new
