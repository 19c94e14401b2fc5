"""Run parameters: one validated, documented dataclass."""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from matcher.errors import ParameterError


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
        Wall-time limit in seconds for solvers that search (the integer rules' CP-SAT
        model). The exact min-cost flow always finishes with a proof and ignores it.
        Default 60.
    seed
        Random seed for solvers that search; results for the same dataset, parameters and
        seed are identical. The min-cost flow is deterministic and needs none. Default 0.
    """

    max_travel_km: float = 5.0
    travel_cost_per_km: float = 0.05
    priority_weight: float = 1.0
    cost_scale: float = 1e6
    time_limit_s: float = 60.0
    seed: int = 0

    def __post_init__(self) -> None:
        _finite(self, "max_travel_km", lo=0.0)
        _finite(self, "travel_cost_per_km", lo=0.0)
        _finite(self, "priority_weight", lo=0.0, lo_open=True)
        _finite(self, "cost_scale", lo=1.0)
        if self.cost_scale > 1e9:
            raise ParameterError("cost_scale", self.cost_scale, "at most 1e9 (int64 range)")
        _finite(self, "time_limit_s", lo=0.0, lo_open=True)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ParameterError("seed", self.seed, "a whole number, 0 or more")

    def replace(self, **changes: Any) -> PlanParams:
        """A copy with some fields changed (and checked)."""
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise ParameterError(
                unknown[0], changes[unknown[0]], f"one of {', '.join(self.names())}"
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
                raise ParameterError(item, item, "name=value")
            if name not in hints:
                raise ParameterError(
                    name, text, f"a parameter named one of {', '.join(cls.names())}"
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


def _parse(name: str, text: str, hint: Any) -> Any:
    try:
        if hint is int:
            return int(text)
        if hint is float:
            return float(text)
    except ValueError:
        kind = "a whole number" if hint is int else "a number"
        raise ParameterError(name, text, kind) from None
    return text


def _finite(obj: object, name: str, lo: float, lo_open: bool = False) -> None:
    value = getattr(obj, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(name, value, "a number")
    if not math.isfinite(value) or value < lo or (lo_open and value == lo):
        bound = f"greater than {lo:g}" if lo_open else f"{lo:g} or more"
        raise ParameterError(name, value, f"a finite number {bound}")
    object.__setattr__(obj, name, float(value))
