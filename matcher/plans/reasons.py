"""Why a demand is not fully met: the spec's reasons, decided from facts about its suppliers.

:func:`matcher.plans.planner.demand_reasons` gathers the facts from every candidate arc; the
column-generation solver gathers the same facts without listing the arcs. Both decide
here, so the order of the checks is written once.
"""

from __future__ import annotations

import numpy as np

from matcher.i18n import N_, translator

__all__ = ["REASONS", "REASON_TEXTS", "decide_reasons", "reason_text", "status_name"]

REASON_TEXTS: dict[str, tuple[str, str]] = {
    "no_eligible_supplier": (
        N_("no supplier with the skill has a tie to the community"),
        N_("no tied supplier"),
    ),
    "too_far": (
        N_("the tied suppliers with hours left are too far to score above zero"),
        N_("too far"),
    ),
    "capacity_taken": (
        N_("the tied suppliers' hours went to demands that score as much or more"),
        N_("hours taken by other demands"),
    ),
    "supply_short": (
        N_("all the tied suppliers' hours came here and still fell short"),
        N_("supply short"),
    ),
    "below_min_hours": (N_("it could not reach its minimum hours"), N_("below minimum hours")),
    "not_funded": (N_("its funds were not granted"), N_("funds not granted")),
}
"""Each reason code of the spec: what it means for people, in a sentence and in a few
words (translated by the catalogues)."""

REASONS = tuple(REASON_TEXTS)
"""Reason codes for a demand not fully met, in the order the spec checks them."""


def status_name(status: object, lang: str = "en") -> str:
    """A demand's status (``met``, ``partial``, ``unmet``) as ``lang`` writes it; any
    other value as it is.

    >>> status_name("partial", "zh")
    '部分满足'
    """
    _ = translator(lang)
    names = {
        "met": _.pgettext("demand status", "met"),
        "partial": _.pgettext("demand status", "partial"),
        "unmet": _.pgettext("demand status", "unmet"),
    }
    return names.get(str(status), str(status))


def reason_text(code: str, lang: str = "en", short: bool = False) -> str:
    """What reason ``code`` means, in ``lang``; ``""`` for no reason or an unknown code.

    >>> reason_text("too_far", "zh", short=True)
    '距离过远'
    """
    texts = REASON_TEXTS.get(code)
    return translator(lang)(texts[1 if short else 0]) if texts else ""


def decide_reasons(
    short: np.ndarray,
    has_arc: np.ndarray,
    too_far: np.ndarray,
    taken: np.ndarray,
    spare: np.ndarray,
    min_hours: np.ndarray | None = None,
    asks_funds: np.ndarray | None = None,
    funded: np.ndarray | None = None,
) -> np.ndarray:
    """The spec's reason for each demand from the facts about its eligible suppliers.

    Parameters
    ----------
    short
        The demand got fewer hours than it asked.
    has_arc
        Some supplier is eligible for it (skill and tie).
    too_far
        An eligible supplier with hours left scores zero or less on it.
    taken
        An eligible supplier gave hours to something else.
    spare
        An eligible supplier has hours left.
    min_hours, asks_funds, funded
        As in :func:`demand_reasons`.
    """
    reason = np.full(len(short), "", dtype=object)
    reason[short & ~spare & ~taken] = "supply_short"
    reason[short & taken] = "capacity_taken"
    reason[short & too_far] = "too_far"
    reason[short & ~has_arc] = "no_eligible_supplier"
    rest = short & (reason == "")
    if min_hours is not None:
        reason[rest & (min_hours > 0)] = "below_min_hours"
    reason[short & (reason == "")] = "capacity_taken"
    if asks_funds is not None and funded is not None:
        reason[(reason == "") & asks_funds & ~funded] = "not_funded"
    return reason
