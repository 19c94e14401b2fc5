"""The quarterly cycle's phases and the transitions between them, each one a table row.

A cycle (季度项目清单) goes collecting -> planning -> discussion -> street review ->
district review -> public notice -> published -> delivery -> evaluation -> closed: the
three lists drawn up, then "two discussions, two reviews, two publicity" (两议两审两公开).
A district may leave out the phases it does not use (:data:`SKIPPABLE`); the cycle then
moves to the next phase it uses. Going back is possible only by the rows of
:data:`TRANSITIONS` that say so (a review returning the list to planning, a notice
withdrawn).

>>> s = Schedule.of("2026-Q4", skipped=("discussion",))
>>> s.next_phase("planning")
'street_review'
>>> s.after("street_review", "return")
'planning'
>>> s.after("closed", "publish")
Traceback (most recent call last):
...
matcher.errors.PhaseError: action 'publish' is not allowed in phase 'closed'; allowed: none
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from matcher.errors import ParameterError, PhaseError
from matcher.i18n import N_, Text

__all__ = [
    "NEXT",
    "PHASES",
    "PHASE_NAMES",
    "SKIPPABLE",
    "TRANSITIONS",
    "Schedule",
    "Transition",
    "actions_in",
]

PHASES: tuple[str, ...] = (
    "collecting",
    "planning",
    "discussion",
    "street_review",
    "district_review",
    "public_notice",
    "published",
    "delivery",
    "evaluation",
    "closed",
)
"""The phases of a cycle, in order."""

PHASE_NAMES: dict[str, str] = {
    "collecting": N_("collecting the lists"),
    "planning": N_("planning"),
    "discussion": N_("discussion"),
    "street_review": N_("street review"),
    "district_review": N_("district review"),
    "public_notice": N_("public notice"),
    "published": N_("published"),
    "delivery": N_("delivery"),
    "evaluation": N_("evaluation"),
    "closed": N_("closed"),
}
"""Each phase for people (translated by the catalogues: 公示, 评议 ...)."""

SKIPPABLE: frozenset[str] = frozenset(
    {"discussion", "street_review", "district_review", "public_notice", "evaluation"}
)
"""Phases a district may leave out; the lists, the plan, publishing, delivery and closing
cannot be."""

NEXT = "next"
"""A transition's target meaning "the next phase this cycle uses"."""


@dataclass(frozen=True)
class Transition:
    """One allowed move: ``action`` taken in phase ``source`` leads to ``target``."""

    action: str
    source: str
    target: str
    why: str


TRANSITIONS: tuple[Transition, ...] = (
    Transition("open_planning", "collecting", NEXT, "the lists are in; plans may be run"),
    Transition("submit", "planning", NEXT, "the draft project list goes to discussion"),
    Transition("submit", "discussion", NEXT, "discussed; the list goes to review"),
    Transition("approve", "street_review", NEXT, "the street approves the list"),
    Transition("return", "street_review", "planning", "the street returns it, with a reason"),
    Transition("approve", "district_review", NEXT, "the district approves the list"),
    Transition("return", "district_review", "planning", "the district returns it"),
    Transition("publish", "public_notice", NEXT, "every objection answered: published"),
    Transition("withdraw", "public_notice", "planning", "an objection upheld: plan again"),
    Transition("revise", "published", "planning", "the published list changes: a new version"),
    Transition("start_delivery", "published", NEXT, "the projects start"),
    Transition("start_evaluation", "delivery", NEXT, "delivered; residents rate"),
    Transition("close", "evaluation", NEXT, "the quarter ends"),
)
"""Every move between phases. A phase left out passes its moves on: ``submit`` from
planning goes to discussion, or to the street review when discussion is left out; the
moves *from* a phase left out never apply."""

_PERIOD = re.compile(r"^(\d{4})-Q([1-4])$")


def actions_in(phase: str) -> tuple[str, ...]:
    """The moves that leave ``phase`` (in :data:`TRANSITIONS` order).

    >>> actions_in("street_review")
    ('approve', 'return')
    """
    return tuple(t.action for t in TRANSITIONS if t.source == phase)


@dataclass(frozen=True)
class Schedule:
    """A cycle's period, the phases it leaves out, and the day each phase it uses starts.

    Build one with :meth:`of`, which checks it.

    Attributes
    ----------
    period
        The quarter, ``YYYY-Qn``.
    skipped
        Phases left out (from :data:`SKIPPABLE`).
    starts
        The planned first day of phases, in phase order (a phase may have none).
    """

    period: str
    skipped: frozenset[str] = frozenset()
    starts: Mapping[str, dt.date] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        period: str,
        skipped: Iterable[str] = (),
        starts: Mapping[str, dt.date] | None = None,
    ) -> Schedule:
        """A checked schedule: a ``YYYY-Qn`` period, skippable phases only, and start
        days that do not go back in phase order.

        Raises
        ------
        ParameterError
            Naming the field and what it expects.
        """
        if not isinstance(period, str) or not _PERIOD.match(period):
            raise ParameterError("period", period, Text(N_("a quarter such as 2026-Q4")))
        left_out = frozenset(skipped)
        for phase in sorted(left_out):
            if phase not in SKIPPABLE:
                raise ParameterError(
                    "skipped",
                    phase,
                    Text(N_("phases that may be left out: {phases}"), phases=_listed(SKIPPABLE)),
                )
        days = dict(starts or {})
        last: tuple[str, dt.date] | None = None
        for phase in PHASES:
            if phase not in days:
                continue
            if phase in left_out:
                raise ParameterError(
                    f"starts.{phase}", days[phase], Text(N_("no date for a phase left out"))
                )
            if last is not None and days[phase] < last[1]:
                raise ParameterError(
                    f"starts.{phase}",
                    days[phase].isoformat(),
                    Text(
                        N_("a day on or after {phase} starts ({day})"),
                        phase=last[0],
                        day=last[1].isoformat(),
                    ),
                )
            last = (phase, days[phase])
        unknown = sorted(set(days) - set(PHASES))
        if unknown:
            raise ParameterError(
                f"starts.{unknown[0]}",
                unknown[0],
                Text(N_("one of {phases}"), phases=_listed(PHASES)),
            )
        return cls(period, left_out, days)

    @property
    def phases(self) -> tuple[str, ...]:
        """The phases this cycle goes through, in order."""
        return tuple(p for p in PHASES if p not in self.skipped)

    def next_phase(self, phase: str) -> str:
        """The phase after ``phase`` that this cycle uses (``closed`` stays closed)."""
        later = PHASES[PHASES.index(phase) + 1 :]
        return next((p for p in later if p not in self.skipped), "closed")

    def after(self, phase: str, action: str) -> str:
        """The phase ``action`` taken in ``phase`` leads to.

        Raises
        ------
        PhaseError
            When no row of :data:`TRANSITIONS` allows it; the message names the phase
            and the moves it allows.
        """
        if phase in self.skipped or phase not in PHASES:
            raise PhaseError(phase, action, ())
        for t in TRANSITIONS:
            if t.source == phase and t.action == action:
                return self.next_phase(phase) if t.target == NEXT else t.target
        raise PhaseError(phase, action, actions_in(phase))


def _listed(names: Iterable[str]) -> str:
    ordered = [p for p in PHASES if p in set(names)]
    return ", ".join(ordered or sorted(names))
