"""One deadline for a plan's integer rules: labour, funds and lead units share it 3 : 1 : 2,
and time one leaves unused passes on to the next."""

from __future__ import annotations

import time

from matcher.model.rules import ActiveRules

__all__ = ["REPAIR_SHARE", "SHARES", "repair_deadline", "split_deadline"]

SHARES = {"labour": 3.0, "funds": 1.0, "leads": 2.0}
"""How the time left is split between the models that search, in the order they run:
each ends by its share's point, so time one leaves unused passes to the next, and the
last ends by the plan's deadline. (Funds usually prove at once; lead units are a
search that uses its time.)"""
REPAIR_SHARE = 0.3
"""Share of the labour model's time the repaired start may take before the search."""


def split_deadline(start: float, deadline: float, rules: ActiveRules) -> dict[str, float]:
    """The ``time.perf_counter()`` value by which each model must be done.

    The time from ``start`` to ``deadline`` is shared by the models the rules switch on,
    by :data:`SHARES`, in the order labour, funds, lead units. Each model's end is a
    point on that line, not a length: a model that finishes early leaves its unused time
    to the next. Lead units, the last, always end at ``deadline``.

    >>> from matcher.model.rules import ActiveRules
    >>> import numpy as np
    >>> every = ActiveRules(min_hours=np.zeros(1), max_communities_per_cadre=1,
    ...                     coverage_floor=None, funds=True, leads=True)
    >>> split_deadline(100.0, 112.0, every)
    {'labour': 106.0, 'funds': 108.0, 'leads': 112.0}
    """
    on = {"labour": rules.labour, "funds": rules.funds, "leads": rules.leads}
    total = sum(w for k, w in SHARES.items() if on[k]) or 1.0
    ends: dict[str, float] = {}
    done = 0.0
    for k, w in SHARES.items():
        done += w if on[k] else 0.0
        ends[k] = start + (deadline - start) * done / total
    ends["leads"] = deadline  # the last model has all that is left (no rounding short)
    return ends


def repair_deadline(deadline: float | None) -> float | None:
    """By when the labour model's repaired start must be ready: :data:`REPAIR_SHARE` of
    the time left before ``deadline`` (none without one)."""
    if deadline is None:
        return None
    now = time.perf_counter()
    return now + REPAIR_SHARE * max(deadline - now, 0.0)
