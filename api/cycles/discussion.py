"""The discussion (商议) of a draft project list: comments of the communities, the units
and the planners, on the whole draft or on one of its projects.

A comment is allowed by the role table (``comment``: community, unit, planner, in
``discussion``); one on a project names a demand of the draft (422 otherwise), and a
community key narrowed to communities comments only on its communities' projects.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cycles import audit
from api.cycles.access import Actor, authorize, check_community, may_read
from api.db.models import Cycle, CycleComment, CycleReview, DemandStatus, utcnow
from api.errors import ApiError
from matcher.i18n import N_, Text

__all__ = ["KINDS", "add_comment", "draft_projects", "list_comments", "reviews"]

KINDS = ("support", "objection", "question")
"""What a comment says of the draft."""


def draft_projects(session: Session, cycle: Cycle) -> dict[str, str]:
    """The projects of the cycle's draft (demands of its district asking for hours):
    each demand's community (empty without a draft)."""
    if cycle.draft_run_id is None:
        return {}
    rows = session.execute(
        select(DemandStatus.demand_id, DemandStatus.community_id).where(
            DemandStatus.run_id == cycle.draft_run_id,
            DemandStatus.district == cycle.district,
            DemandStatus.hours > 0,
        )
    ).all()
    return {str(d): str(c) for d, c in rows}


def add_comment(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    *,
    kind: str,
    body: str,
    demand_id: str | None = None,
) -> CycleComment:
    """Comment on the draft (or one of its projects): 403 / 409 by the role table, 422
    for a demand not in the draft, 403 for a community outside the key's scope."""
    authorize(actor, cycle, "comment")
    if kind not in KINDS:
        raise ApiError(
            422,
            "invalid_parameter",
            Text(N_("a comment's kind is one of {kinds}"), kinds=", ".join(KINDS)),
            [{"field": "kind", "value": kind}],
        )
    if demand_id is not None:
        community = draft_projects(session, cycle).get(demand_id)
        if community is None:
            raise ApiError(
                422,
                "invalid_parameter",
                Text(N_("demand {id} is not a project of the draft"), id=repr(demand_id)),
                [{"field": "demand_id", "value": demand_id}],
            )
        check_community(actor, community, "demand_id")
    comment = CycleComment(
        cycle_id=cycle.id,
        demand_id=demand_id,
        kind=kind,
        body=body,
        by_key=actor.key_id,
        role=actor.role,
        at=utcnow(),
    )
    session.add(comment)
    session.flush()
    audit.record(
        session,
        actor,
        "comment",
        cycle_id=cycle.id,
        target=f"comment:{comment.id}",
        after={"comment": comment.id, "demand_id": demand_id, "kind": kind, "body": body},
        visibility="reviewers",
    )
    return comment


def list_comments(session: Session, cycle: Cycle, actor: Actor) -> list[CycleComment]:
    """The cycle's comments, oldest first (anyone whose key covers the cycle)."""
    may_read(actor, cycle)
    rows = session.execute(
        select(CycleComment).where(CycleComment.cycle_id == cycle.id).order_by(CycleComment.id)
    ).scalars()
    return list(rows)


def reviews(session: Session, cycle: Cycle, actor: Actor) -> list[CycleReview] | None:
    """The cycle's review decisions, oldest first, for those who read the reviewers'
    audit entries (``None`` for anyone else)."""
    may_read(actor, cycle)
    if "reviewers" not in audit.readable(actor.role):
        return None
    rows = session.execute(
        select(CycleReview).where(CycleReview.cycle_id == cycle.id).order_by(CycleReview.id)
    ).scalars()
    return list(rows)
