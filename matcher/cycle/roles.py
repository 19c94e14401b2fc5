"""Who may do what in which phase: one table of (role, phase, action) rows.

The roles are those of the practice: a community (社区党委), a unit, a planner
(规划人员), a street reviewer (街道党工委), a district reviewer (区委组织部), an admin, and
the public (居民, no sign-in). A row allows one role one action in one phase; nothing else
is allowed. The moves between phases (``submit``, ``approve``, ``return`` ...) are actions
too, so the same table says who may move a cycle on; :mod:`matcher.cycle.phases` says
where each move leads.

>>> can("street_reviewer", "street_review", "return")
True
>>> can("planner", "street_review", "approve")
False
>>> actions_for("public", "public_notice")
('object', 'read_notice')
"""

from __future__ import annotations

from typing import NamedTuple

from matcher.i18n import N_

__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "PERMISSIONS",
    "ROLES",
    "Permission",
    "actions_for",
    "can",
    "roles_for",
]

ROLES: tuple[str, ...] = (
    "community",
    "unit",
    "planner",
    "street_reviewer",
    "district_reviewer",
    "admin",
    "public",
)
"""Who acts on a cycle."""


class Permission(NamedTuple):
    """One allowed (role, phase, action)."""

    role: str
    phase: str
    action: str


def _rows(role: str, phase: str, *actions: str) -> list[Permission]:
    return [Permission(role, phase, a) for a in actions]


PERMISSIONS: tuple[Permission, ...] = (
    # Collecting the lists: communities their demands, units their resources and cadres.
    *_rows("community", "collecting", "add_demand", "edit_demand"),
    *_rows("unit", "collecting", "add_resource", "add_cadre", "edit_resource"),
    *_rows(
        "planner",
        "collecting",
        "add_demand",
        "edit_demand",
        "add_resource",
        "add_cadre",
        "edit_resource",
        "open_planning",
    ),
    # Planning: runs and scenarios on the cycle's dataset, the draft project list.
    *_rows("planner", "planning", "run_plan", "adopt_run", "edit_draft", "submit"),
    # Discussion (两议): committees and residents' representatives comment.
    *_rows("community", "discussion", "comment"),
    *_rows("unit", "discussion", "comment"),
    *_rows("planner", "discussion", "comment", "submit"),
    # The two reviews (两审).
    *_rows("street_reviewer", "street_review", "approve", "return"),
    *_rows("district_reviewer", "district_review", "approve", "return"),
    # Public notice (公示): anyone may object; the planner answers, then publishes.
    *_rows("public", "public_notice", "object", "read_notice"),
    *_rows("planner", "public_notice", "answer_objection", "publish", "withdraw"),
    *_rows("public", "published", "read_notice"),
    *_rows("planner", "published", "start_delivery", "revise"),
    # Delivery: units record hours, communities confirm or reject them.
    *_rows("unit", "delivery", "record_delivery"),
    *_rows("community", "delivery", "confirm_delivery", "reject_delivery", "issue_rating_tokens"),
    *_rows("planner", "delivery", "record_delivery", "issue_rating_tokens", "start_evaluation"),
    # Evaluation (评议): residents (with a token handed out by their community) and
    # committees rate delivered projects.
    *_rows("public", "evaluation", "rate", "read_notice"),
    *_rows("community", "evaluation", "rate", "issue_rating_tokens"),
    *_rows("planner", "evaluation", "issue_rating_tokens", "close"),
    # Closed: the next cycle opens from this one.
    *_rows("planner", "closed", "open_next"),
)
"""Every allowed (role, phase, action); the admin may do whatever a planner may."""

ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(p.action for p in PERMISSIONS))
"""Every action a cycle knows."""

ACTION_NAMES: dict[str, str] = {
    "add_demand": N_("add demands"),
    "edit_demand": N_("edit demands"),
    "add_resource": N_("add resources"),
    "add_cadre": N_("add cadres"),
    "edit_resource": N_("edit resources"),
    "open_planning": N_("close the lists and open planning"),
    "run_plan": N_("run a plan"),
    "adopt_run": N_("adopt a run as the draft"),
    "edit_draft": N_("edit the draft"),
    "submit": N_("submit the list"),
    "comment": N_("comment"),
    "approve": N_("approve"),
    "return": N_("return with a reason"),
    "object": N_("object"),
    "read_notice": N_("read the notice"),
    "answer_objection": N_("answer objections"),
    "publish": N_("publish"),
    "withdraw": N_("withdraw"),
    "start_delivery": N_("start delivery"),
    "revise": N_("revise the published list"),
    "record_delivery": N_("record delivered hours"),
    "confirm_delivery": N_("confirm deliveries"),
    "reject_delivery": N_("reject deliveries"),
    "issue_rating_tokens": N_("issue rating tokens"),
    "start_evaluation": N_("start the evaluation"),
    "rate": N_("rate projects"),
    "close": N_("close the cycle"),
    "open_next": N_("open the next cycle"),
}
"""Each action for people (a page's buttons and to-do lists)."""

_ALLOWED = frozenset(PERMISSIONS)


def can(role: str, phase: str, action: str) -> bool:
    """Whether ``role`` may take ``action`` in ``phase``."""
    if role == "admin":
        role = "planner"
    return Permission(role, phase, action) in _ALLOWED


def actions_for(role: str, phase: str) -> tuple[str, ...]:
    """What ``role`` may do in ``phase``, sorted."""
    return tuple(sorted(a for a in ACTIONS if can(role, phase, a)))


def roles_for(phase: str, action: str) -> tuple[str, ...]:
    """Who may take ``action`` in ``phase`` (the admin included where a planner may)."""
    return tuple(r for r in ROLES if can(r, phase, action))
