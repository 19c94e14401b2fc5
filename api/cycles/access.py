"""Who is acting on a cycle, and whether they may: the role table of
:mod:`matcher.cycle.roles` with the scopes of the caller's key.

A wrong role is 403 (``forbidden_role``), a cycle or row outside the key's scope is 403
(``forbidden_scope``), and an action the role may take but not in this phase is 409
(``phase_conflict``) naming the phase and the actions the role has in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from api.db.models import Cycle
from api.deps import Principal, current_principal
from api.errors import ApiError
from matcher.cycle.phases import PHASES
from matcher.cycle.roles import actions_for, can, roles_for
from matcher.i18n import N_, Text

__all__ = [
    "PUBLIC",
    "Actor",
    "ActorDep",
    "authorize",
    "check_community",
    "check_unit",
    "cycle_actor",
    "forbidden_role",
    "in_scope",
    "may_read",
]


@dataclass(frozen=True)
class Actor:
    """A caller of a cycle route: its cycle role, its key or the console's user who
    acts (both ``None``: the public) and its scopes (``None``: no narrowing)."""

    role: str
    key_id: int | None = None
    districts: tuple[str, ...] | None = None
    streets: tuple[str, ...] | None = None
    communities: tuple[str, ...] | None = None
    units: tuple[str, ...] | None = None
    user_id: int | None = None

    @classmethod
    def of(cls, who: Principal) -> Actor:
        """The actor of an API key."""

        def scope(values: list[str] | None) -> tuple[str, ...] | None:
            return None if values is None else tuple(values)

        return cls(
            who.role,
            who.key_id,
            scope(who.districts),
            scope(who.streets),
            scope(who.communities),
            scope(who.units),
        )

    @property
    def is_planner(self) -> bool:
        """A planner or an admin (the admin may do whatever a planner may)."""
        return self.role in ("planner", "admin")


PUBLIC = Actor("public")
"""Anyone, signed in or not: the public notice and the evaluation."""


def cycle_actor(who: Annotated[Principal, Depends(current_principal)]) -> Actor:
    """The actor of a request's key (any role: the role table decides, not a rank)."""
    return Actor.of(who)


ActorDep = Annotated[Actor, Depends(cycle_actor)]
"""A cycle route's caller (401 without a valid key)."""


def in_scope(actor: Actor, cycle: Cycle) -> bool:
    """Whether the cycle lies in the key's districts and, for a key narrowed to streets,
    in its streets (a cycle of a whole district needs a key for every street)."""
    if actor.role == "public":
        return True
    if actor.districts is not None and cycle.district not in actor.districts:
        return False
    if actor.streets is not None:
        return cycle.streets is not None and set(cycle.streets) <= set(actor.streets)
    return True


def _scope_error(actor: Actor, cycle: Cycle) -> ApiError:
    return ApiError(
        403,
        "forbidden_scope",
        Text(
            N_("your scope ({scope}) does not cover cycle {cycle} ({where})"),
            scope=", ".join([*(actor.districts or ("*",)), *(actor.streets or ())]),
            cycle=cycle.id,
            where=", ".join([cycle.district, *(cycle.streets or ())]),
        ),
    )


def may_read(actor: Actor, cycle: Cycle) -> None:
    """403 unless the key's scope covers the cycle (any role reads a cycle in scope)."""
    if not in_scope(actor, cycle):
        raise _scope_error(actor, cycle)


def authorize(actor: Actor, cycle: Cycle, action: str) -> None:
    """Allow ``action`` on ``cycle`` by ``actor``, else raise 403 or 409.

    A role that never takes ``action`` (or a key outside the cycle's scope) is 403; a
    role that takes it in other phases is 409, naming the phase and what the role may do
    in it."""
    may_read(actor, cycle)
    if can(actor.role, cycle.phase, action):
        return
    if any(can(actor.role, phase, action) for phase in PHASES):
        allowed = actions_for(actor.role, cycle.phase)
        raise ApiError(
            409,
            "phase_conflict",
            Text(
                N_("action {action} is not allowed in phase {phase}; allowed: {allowed}"),
                action=repr(action),
                phase=repr(cycle.phase),
                allowed=", ".join(allowed) if allowed else Text(N_("none")),
            ),
            [{"field": "phase", "value": cycle.phase, "allowed": list(allowed)}],
        )
    raise forbidden_role(actor, action)


def forbidden_role(actor: Actor, action: str, roles: tuple[str, ...] = ()) -> ApiError:
    """The 403 of a role that never takes ``action``, naming the roles that do (from
    the role table, else ``roles``)."""
    takers = tuple(dict.fromkeys(r for p in PHASES for r in roles_for(p, action))) or roles
    return ApiError(
        403,
        "forbidden_role",
        Text(
            N_("the {role} role may not {action}; it is for: {roles}"),
            role=actor.role,
            action=action,
            roles=", ".join(takers) or Text(N_("none")),
        ),
    )


def check_community(actor: Actor, community_id: str, field: str = "community_id") -> None:
    """403 when a community key acts for a community outside its scope."""
    if (
        actor.role == "community"
        and actor.communities is not None
        and community_id not in actor.communities
    ):
        raise ApiError(
            403,
            "forbidden_scope",
            Text(
                N_("you act only for communities {scope}, not {value}"),
                scope=", ".join(actor.communities),
                value=repr(community_id),
            ),
            [{"field": field, "value": community_id}],
        )


def check_unit(actor: Actor, unit_id: str, field: str = "unit_id") -> None:
    """403 when a unit key acts for a unit outside its scope."""
    if actor.role == "unit" and actor.units is not None and unit_id not in actor.units:
        raise ApiError(
            403,
            "forbidden_scope",
            Text(
                N_("you act only for units {scope}, not {value}"),
                scope=", ".join(actor.units),
                value=repr(unit_id),
            ),
            [{"field": field, "value": unit_id}],
        )
