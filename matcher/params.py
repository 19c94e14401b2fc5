"""Run parameters: one validated, documented dataclass."""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from matcher.errors import ParameterError
from matcher.i18n import N_, Text
from matcher.model.geo import EARTH_RADIUS_KM

__all__ = [
    "AUTO_COLUMNS_SUPPLIERS",
    "FLOW_SOLVERS",
    "MAX_COMMUNITIES_PER_CADRE",
    "MAX_COST_SCALE",
    "MAX_SEED",
    "MAX_TIME_LIMIT_S",
    "MAX_TRAVEL_KM",
    "MAX_WEIGHT",
    "MAX_WORKERS",
    "MAX_YUAN_PER_HOUR",
    "MIN_YUAN_PER_HOUR",
    "PlanParams",
]

FLOW_SOLVERS = ("auto", "arcs", "columns")
"""The engines of the labour flow (``PlanParams.flow_solver``)."""
AUTO_COLUMNS_SUPPLIERS = 5000
"""From this many suppliers up, ``flow_solver="auto"`` uses column generation.

Measured by ``benchmarks/bench_city.py`` (load to write): at the generator's scale 0.02
(about 1,600 cadres) columns take 2.3x the time of the arcs; at scale 0.05 (about 4,000
cadres, 341,406 arcs) 0.85x, at scale 0.1 0.45x the time and 0.63x the memory, at scale
1.0 under a quarter of the time and 0.05x the memory. Between 1,600 and 4,000 the two are close;
the threshold stays where earlier plans were made, so they stay reproducible.
"""


# Bounds of the parameters: what the solvers and the store take, with room to spare.
MAX_TRAVEL_KM = math.pi * EARTH_RADIUS_KM
"""Half the Earth's circumference (km): a larger radius reaches nothing more."""
MAX_WEIGHT = 1000.0
"""Largest ``priority_weight`` and ``travel_cost_per_km``: scores times ``cost_scale``
stay well inside the 64-bit integers of the flow solver and CP-SAT."""
MAX_COST_SCALE = 1e9
"""Largest ``cost_scale`` (the int64 range of the scaled scores)."""
MAX_TIME_LIMIT_S = 1e6
"""Largest ``time_limit_s`` (about 11.6 days; the service caps runs far lower)."""
MAX_SEED = 2**31 - 1
"""Largest ``seed``: HiGHS's ``random_seed`` and CP-SAT's ``random_seed`` are 32-bit."""
MAX_WORKERS = 64
"""Largest ``workers``."""
MAX_COMMUNITIES_PER_CADRE = 1_000_000
"""Largest ``max_communities_per_cadre`` (a row bound of the models; beyond any city)."""
MIN_YUAN_PER_HOUR, MAX_YUAN_PER_HOUR = 1.0, 1e12
"""Range of ``yuan_per_hour_equivalent``: funds' values times ``cost_scale`` stay within
CP-SAT's 64-bit coefficients."""


@dataclass(frozen=True, slots=True)
class PlanParams:
    """Parameters of a planning run. Every field has a default; the object checks itself.

    Attributes
    ----------
    max_travel_km
        The proximity tie's radius: a supplier is tied to every community within this
        great-circle distance (km) of where it stands. Default 5.0 (the spec's).
        A service resource's own ``range_km`` replaces it for that resource.
    travel_cost_per_km
        What one hour loses in the objective per km between supplier and community: an
        hour scores ``priority - travel_cost_per_km * km``. Default 0.05 (the spec's).
    priority_weight
        The factor on a demand's priority in an hour's score. Default 1.0 (the spec's
        objective); scaling both weights together leaves the plan unchanged.
    cost_scale
        The flow solver works in integers: scores are multiplied by this and rounded.
        The rounding is accounted for in the reported bound, so the gap stays honest.
        Default 1e6 (scores exact to 1e-6 per hour).
    time_limit_s
        Wall-time limit in seconds of a plan under integer rules, counted from the start
        of :func:`matcher.plan`; the best plan found by then is returned with its bound
        and gap. The labour model, funds and lead units share it (``SHARES`` in
        :mod:`matcher.solvers.integer`), and a solver that would not even set its model
        up in the time left is not started (the repaired start is kept), so a plan ends
        within the limit plus writing its tables; only coverage floors, which have no
        ready start, may overrun it. The exact min-cost flow always finishes with a
        proof and ignores it. Default 60, at most 1e6.
    gap_limit
        Stop the integer search once the relative gap between plan and bound is at most
        this. Default 0 (search until proven optimal or out of time).
    seed
        Random seed for solvers that search; results for the same dataset, parameters and
        seed are identical. The min-cost flow is deterministic and needs none. Default 0;
        0 to 2**31 - 1 (HiGHS and CP-SAT take 32-bit seeds).
    workers
        Search workers (threads) for the integer rules, and threads pricing the implicit
        arcs of ``flow_solver="columns"`` (the plan is the same for any number).
        Default 2 (this machine's cores).
    deterministic
        Interleave the integer search's workers in a fixed order, so that a search that
        ends with a proof gives the same plan every run (one stopped by the time limit
        may differ). Default True; False lets the workers race, often faster.
    integer_solver
        Engine of the labour model under integer rules and of lead units: ``"highs"``
        (HiGHS's MIP solver, exact scores) or ``"cpsat"`` (OR-Tools CP-SAT, scores scaled
        to integers). The labour model starts from the repaired flow either way;
        ``benchmarks/bench_integer.py`` compares them. Funds always use CP-SAT, and
        CP-SAT names the rows at fault of an infeasible model. Default ``"highs"``.
    flow_solver
        Engine of the labour flow without integer rules: ``"arcs"`` (OR-Tools min-cost
        flow over every candidate arc), ``"columns"`` (column generation over implicit
        arcs, :mod:`matcher.solvers.columns`: the same optimum without ever listing the
        arcs) or ``"auto"``: columns from :data:`AUTO_COLUMNS_SUPPLIERS` suppliers up,
        where they are faster and far leaner (``benchmarks/bench_city.py``), arcs below.
        Both are exact; under integer rules the arcs are always built. Default
        ``"auto"``.
    max_communities_per_cadre
        Integer rule: a cadre serves at most this many distinct communities. Default
        ``None`` (off).
    coverage_floor
        Integer rule: every community gets at least this share (0 to 1) of the hours its
        tied suppliers could give it (per demand, the smaller of its hours and the hours
        of the suppliers tied to it). Default ``None`` (off).
    yuan_per_hour_equivalent
        A funded demand adds ``priority * funds / yuan_per_hour_equivalent`` to the
        objective. Default 1000 (the spec's).
    apply_min_hours
        Apply the demands' ``min_hours`` (0 or at least the minimum) when the dataset
        gives them. Default True.
    apply_funds
        Plan the ``funds`` of demands from ``funds`` resources when the dataset gives
        them. Default True.
    apply_leads
        Choose lead units when the dataset gives ``lead_options.csv``. Default True.
    """

    max_travel_km: float = 5.0
    travel_cost_per_km: float = 0.05
    priority_weight: float = 1.0
    cost_scale: float = 1e6
    time_limit_s: float = 60.0
    gap_limit: float = 0.0
    seed: int = 0
    workers: int = 2
    deterministic: bool = True
    integer_solver: str = "highs"
    flow_solver: str = "auto"
    max_communities_per_cadre: int | None = None
    coverage_floor: float | None = None
    yuan_per_hour_equivalent: float = 1000.0
    apply_min_hours: bool = True
    apply_funds: bool = True
    apply_leads: bool = True

    def __post_init__(self) -> None:
        _finite(self, "max_travel_km", lo=0.0, hi=MAX_TRAVEL_KM)
        _finite(self, "travel_cost_per_km", lo=0.0, hi=MAX_WEIGHT)
        _finite(self, "priority_weight", lo=0.0, lo_open=True, hi=MAX_WEIGHT)
        _finite(self, "cost_scale", lo=1.0, hi=MAX_COST_SCALE)
        _finite(self, "time_limit_s", lo=0.0, lo_open=True, hi=MAX_TIME_LIMIT_S)
        _whole(self, "seed", 0, MAX_SEED)
        _finite(self, "gap_limit", lo=0.0, hi=1.0)
        _finite(self, "yuan_per_hour_equivalent", lo=MIN_YUAN_PER_HOUR, hi=MAX_YUAN_PER_HOUR)
        _whole(self, "workers", 1, MAX_WORKERS)
        if self.max_communities_per_cadre is not None:
            _whole(self, "max_communities_per_cadre", 1, MAX_COMMUNITIES_PER_CADRE)
        f = self.coverage_floor
        if f is not None:
            if isinstance(f, bool) or not isinstance(f, int | float) or not _in(f, 0, 1, True):
                raise ParameterError(
                    "coverage_floor", f, Text(N_("a share greater than 0, at most 1"))
                )
            object.__setattr__(self, "coverage_floor", float(f))
        if self.integer_solver not in ("highs", "cpsat"):
            raise ParameterError("integer_solver", self.integer_solver, Text(N_("highs or cpsat")))
        if self.flow_solver not in FLOW_SOLVERS:
            raise ParameterError("flow_solver", self.flow_solver, Text(N_("auto, arcs or columns")))
        for name in ("deterministic", "apply_min_hours", "apply_funds", "apply_leads"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(name, getattr(self, name), Text(N_("true or false")))

    def replace(self, **changes: Any) -> PlanParams:
        """A copy with some fields changed (and checked)."""
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise ParameterError(
                unknown[0],
                changes[unknown[0]],
                Text(N_("one of {names}"), names=", ".join(self.names())),
            )
        return dataclasses.replace(self, **changes)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The parameters' names."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_strings(cls, items: Iterable[str], base: PlanParams | None = None) -> PlanParams:
        """Parse ``name=value`` strings, as given by ``--param`` on the command line.

        Examples
        --------
        >>> PlanParams.from_strings(["max_travel_km=3", "seed=7"]).max_travel_km
        3.0
        """
        values: dict[str, Any] = {}
        hints = typing.get_type_hints(cls)
        for item in items:
            name, sep, text = item.partition("=")
            name = name.strip()
            if not sep:
                raise ParameterError(item, item, Text(N_("name=value")))
            if name not in hints:
                raise ParameterError(
                    name,
                    text,
                    Text(N_("a parameter named one of {names}"), names=", ".join(cls.names())),
                )
            values[name] = _parse(name, text.strip(), hints[name])
        return (base or cls()).replace(**values)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PlanParams:
        """Build from a mapping (JSON), checking names and types."""
        return cls().replace(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dictionary."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _parse(name: str, text: str, hint: Any) -> Any:
    args = set(typing.get_args(hint))
    if type(None) in args and text.lower() in ("", "none", "off", "null"):
        return None
    base = next((a for a in (int, float, bool) if hint is a or a in args), str)
    if base is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ParameterError(name, text, Text(N_("true or false")))
    try:
        return base(text)
    except ValueError:
        kind = Text(N_("a whole number")) if base is int else Text(N_("a number"))
        raise ParameterError(name, text, kind) from None


def _in(value: float, lo: float, hi: float, lo_open: bool = False) -> bool:
    """Whether ``lo <(=) value <= hi``; false for NaN and infinities. A huge int is
    compared exactly (never turned into a float first, which could overflow)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return (lo < value if lo_open else lo <= value) and value <= hi


def _finite(obj: object, name: str, lo: float, lo_open: bool = False, hi: float = math.inf) -> None:
    value = getattr(obj, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(name, value, Text(N_("a number")))
    if not _in(value, lo, hi, lo_open):
        # Whole sentences, not fragments: the word order differs in other languages.
        expected = (
            N_("a finite number greater than {lo}, at most {hi}")
            if lo_open
            else N_("a finite number {lo} or more, at most {hi}")
        )
        raise ParameterError(name, value, Text(expected, lo=f"{lo:g}", hi=f"{hi:g}"))
    object.__setattr__(obj, name, float(value))


def _whole(obj: object, name: str, lo: int, hi: int) -> None:
    value = getattr(obj, name)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ParameterError(
            name, value, Text(N_("a whole number from {lo} to {hi}"), lo=lo, hi=f"{hi:,}")
        )
