"""The parameters of an alliance recommendation, checked on creation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from matcher.analysis.recommend.core import Scope
from matcher.errors import ParameterError
from matcher.i18n import N_, Text
from matcher.inputs.schema import UNIT_KINDS

__all__ = ["AllianceParams"]


@dataclass(frozen=True)
class AllianceParams:
    """Parameters of an alliance recommendation; every field has a default and is checked.

    Attributes
    ----------
    radius_km
        Candidate members stand (their unit's location) within this distance of some
        community of the street. Default 10.0.
    max_members
        At most this many new members per street (``None``: no limit). Default ``None``.
    unit_kinds
        Only units of these kinds may join (empty: every kind). Default empty.
    scope
        The communities whose streets are considered (default: all).
    time_limit_s
        Wall-clock limit of each CP-SAT stage, per street. Default 10.
    seed
        CP-SAT's random seed (one worker, so results are reproducible). Default 0.
    """

    radius_km: float = 10.0
    max_members: int | None = None
    unit_kinds: tuple[str, ...] = ()
    scope: Scope = field(default_factory=Scope)
    time_limit_s: float = 10.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (
            isinstance(self.radius_km, int | float)
            and not isinstance(self.radius_km, bool)
            and math.isfinite(self.radius_km)
            and self.radius_km > 0
        ):
            raise ParameterError(
                "radius_km", self.radius_km, Text(N_("a distance in km greater than 0"))
            )
        m = self.max_members
        if m is not None and (not isinstance(m, int) or isinstance(m, bool) or m < 1):
            raise ParameterError("max_members", m, Text(N_("a whole number, 1 or more")))
        bad = [k for k in self.unit_kinds if k not in UNIT_KINDS]
        if bad:
            raise ParameterError(
                "unit_kinds", bad[0], Text(N_("one of {names}"), names=", ".join(UNIT_KINDS))
            )
        if not (isinstance(self.time_limit_s, int | float) and self.time_limit_s > 0):
            raise ParameterError(
                "time_limit_s", self.time_limit_s, Text(N_("seconds greater than 0"))
            )
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ParameterError("seed", self.seed, Text(N_("a whole number, 0 or more")))

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dictionary."""
        return {
            "radius_km": self.radius_km,
            "max_members": self.max_members,
            "unit_kinds": list(self.unit_kinds),
            "scope": self.scope.text(),
            "time_limit_s": self.time_limit_s,
            "seed": self.seed,
        }
