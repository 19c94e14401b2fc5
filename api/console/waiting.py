"""What waits for a person: the cycles in their scope where their role has something
to do now, with the counts that tell how much (objections to answer, deliveries to
confirm). The role table (:mod:`matcher.cycle.roles`) decides; nothing is listed that
the person could not do."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.cycles.access import Actor, in_scope
from api.db.models import Cycle, CycleDelivery, CycleObjection
from matcher.cycle.roles import actions_for

__all__ = ["ACTION_PAGES", "Waiting", "waiting_for"]

ACTION_PAGES: dict[str, str] = {
    "add_demand": "/lists",
    "edit_demand": "/lists",
    "add_resource": "/lists?table=resources",
    "add_cadre": "/lists?table=cadres",
    "edit_resource": "/lists?table=resources",
    "open_planning": "",
    "run_plan": "/draft",
    "adopt_run": "/draft",
    "edit_draft": "/draft",
    "submit": "",
    "comment": "/discussion",
    "approve": "/discussion",
    "return": "/discussion",
    "object": "/notice",
    "read_notice": "/notice",
    "answer_objection": "/notice",
    "publish": "/notice",
    "withdraw": "",
    "start_delivery": "",
    "revise": "",
    "record_delivery": "/delivery",
    "confirm_delivery": "/delivery",
    "reject_delivery": "/delivery",
    "issue_rating_tokens": "/evaluation",
    "start_evaluation": "",
    "rate": "/evaluation",
    "close": "",
    "open_next": "",
}
"""Where on a cycle's pages each action is taken (after ``/console/cycles/{id}``; empty:
the cycle's overview, where the moves are)."""

# what a person reads no further than: a page of the newest cycles is enough for a home page
_NEWEST = 200


@dataclass(frozen=True)
class Waiting:
    """A cycle with something to do: the actions the role may take now, and counts of
    the items behind them."""

    cycle: Cycle
    actions: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)


def waiting_for(session: Session, actor: Actor) -> list[Waiting]:
    """The cycles where ``actor`` may act now, newest first (reading a notice does
    not count as something to do)."""
    query = select(Cycle).order_by(Cycle.created_at.desc(), Cycle.id).limit(_NEWEST)
    if actor.districts is not None:
        query = query.where(Cycle.district.in_(list(actor.districts)))
    out: list[Waiting] = []
    for cycle in session.execute(query).scalars():
        if not in_scope(actor, cycle):
            continue
        actions = tuple(a for a in actions_for(actor.role, cycle.phase) if a != "read_notice")
        if not actions:
            continue
        counts: dict[str, int] = {}
        if "answer_objection" in actions:
            counts["objections"] = _count(
                session,
                select(func.count())
                .select_from(CycleObjection)
                .where(CycleObjection.cycle_id == cycle.id, CycleObjection.answered_at.is_(None)),
            )
        if "confirm_delivery" in actions or (actor.is_planner and cycle.phase == "delivery"):
            query_d = (
                select(func.count())
                .select_from(CycleDelivery)
                .where(CycleDelivery.cycle_id == cycle.id, CycleDelivery.status == "pending")
            )
            if actor.role == "community" and actor.communities is not None:
                query_d = query_d.where(CycleDelivery.community_id.in_(list(actor.communities)))
            counts["deliveries"] = _count(session, query_d)
        out.append(Waiting(cycle, actions, counts))
    return out


def _count(session: Session, query: Select[int]) -> int:
    return int(session.execute(query).scalar_one())
