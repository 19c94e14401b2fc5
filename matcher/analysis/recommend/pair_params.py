"""The parameters of a pairing recommendation, checked on creation."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from matcher.analysis.recommend.core import Scope
from matcher.errors import ParameterError
from matcher.i18n import N_, Text
from matcher.inputs.schema import UNIT_KINDS

__all__ = ["VALUE_MODES", "PairingParams"]

VALUE_MODES = ("auto", "exact", "proxy")


@dataclass(frozen=True)
class PairingParams:
    """Parameters of a pairing recommendation; every field has a default and is checked.

    Attributes
    ----------
    min_partners
        Every community in scope ends with at least this many paired units (existing
        pairings count). Default 1.
    max_communities
        A unit is paired with at most this many communities in all (existing pairings
        count), unless its row in ``units.csv`` gives its own cap in ``cap_column``.
        Default 3.
    cap_column
        The extra column of ``units.csv`` holding per-unit caps (empty cells: the
        default). Default ``"max_communities"``.
    reconsider
        Choose the pairings of the communities in scope afresh: their existing pairings
        become candidates, kept only if chosen again. Default False (they stay).
    scope
        The communities to pair (default: all).
    value
        ``"exact"`` (re-solve per candidate), ``"proxy"`` (estimate from the current
        plan, see the module's notes) or ``"auto"``: exact when at most
        ``exact_limit`` candidates can add any arc, else proxy. Default ``"auto"``.
    exact_limit
        See ``value``. Default 100.
    balance
        Spread the pairings evenly over the districts in scope (in proportion to their
        communities, within one pairing where possible) before maximizing value, and
        then keep the largest unit load as small as the best value allows. Default False.
    max_new
        At most this many new pairings (``None``: no limit). Default ``None``.
    max_partners
        A community ends with at most this many paired units (``None``: no limit beyond
        the units' caps). Default ``None``.
    unit_kinds
        Only units of these kinds are paired (empty: every kind). Default empty.
    max_km
        Only units within this distance (km, unit to community) are candidates
        (``None``: any distance). Default ``None``.
    km_penalty
        Value charged per km between unit and community for each pairing, so that of
        pairings worth about the same the nearer is chosen, and one worth less than its
        charge is made only where a community needs a partner. Default 0.001 (a
        pairing 20 km away must unlock more than 0.02 of objective, a fiftieth of an
        hour of priority 1).
    time_limit_s
        Wall-clock limit of each CP-SAT stage. Default 30.
    seed
        CP-SAT's random seed (one worker, so the choice is reproducible). Default 0.
    """

    min_partners: int = 1
    max_communities: int = 3
    cap_column: str = "max_communities"
    reconsider: bool = False
    scope: Scope = field(default_factory=Scope)
    value: str = "auto"
    exact_limit: int = 100
    balance: bool = False
    max_new: int | None = None
    max_partners: int | None = None
    unit_kinds: tuple[str, ...] = ()
    max_km: float | None = None
    km_penalty: float = 0.001
    time_limit_s: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("min_partners", "max_communities", "exact_limit", "seed"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ParameterError(name, v, Text(N_("a whole number, 0 or more")))
        for name in ("max_new", "max_partners"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ParameterError(name, v, Text(N_("a whole number, 0 or more")))
        if self.max_partners is not None and self.max_partners < self.min_partners:
            raise ParameterError(
                "max_partners",
                self.max_partners,
                Text(N_("at least min_partners={n}"), n=self.min_partners),
            )
        if self.value not in VALUE_MODES:
            raise ParameterError(
                "value",
                self.value,
                Text(N_("{first} or {second}"), first=VALUE_MODES[0], second=VALUE_MODES[1]),
            )
        bad = [k for k in self.unit_kinds if k not in UNIT_KINDS]
        if bad:
            raise ParameterError(
                "unit_kinds", bad[0], Text(N_("one of {names}"), names=", ".join(UNIT_KINDS))
            )
        if self.max_km is not None and not (
            isinstance(self.max_km, int | float) and math.isfinite(self.max_km) and self.max_km > 0
        ):
            raise ParameterError("max_km", self.max_km, Text(N_("a distance in km greater than 0")))
        if not (
            isinstance(self.km_penalty, int | float)
            and math.isfinite(self.km_penalty)
            and self.km_penalty >= 0
        ):
            raise ParameterError("km_penalty", self.km_penalty, Text(N_("a number, 0 or more")))
        if not (isinstance(self.time_limit_s, int | float) and self.time_limit_s > 0):
            raise ParameterError(
                "time_limit_s", self.time_limit_s, Text(N_("seconds greater than 0"))
            )
        if not self.cap_column:
            raise ParameterError("cap_column", self.cap_column, Text(N_("a column name")))

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dictionary."""
        out = dataclasses.asdict(self)
        out["scope"] = self.scope.text()
        out["unit_kinds"] = list(self.unit_kinds)
        return out
