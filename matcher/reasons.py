"""Why a demand is not fully met: the spec's reasons, decided from facts about its suppliers.

:func:`matcher.plan.demand_reasons` gathers the facts from every candidate arc; the
column-generation solver gathers the same facts without listing the arcs. Both decide
here, so the order of the checks is written once.
"""

from __future__ import annotations

import numpy as np


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
