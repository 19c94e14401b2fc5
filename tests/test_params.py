"""Run parameters validate themselves and parse from the command line."""

from __future__ import annotations

import pytest

from matcher.errors import ParameterError
from matcher.params import PlanParams


def test_defaults_are_the_specs() -> None:
    p = PlanParams()
    assert (p.max_travel_km, p.travel_cost_per_km, p.priority_weight) == (5.0, 0.05, 1.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_travel_km", -1.0),
        ("max_travel_km", float("nan")),
        ("travel_cost_per_km", -0.1),
        ("priority_weight", 0.0),
        ("cost_scale", 0.5),
        ("cost_scale", 1e12),
        ("time_limit_s", 0.0),
        ("seed", -3),
        ("max_travel_km", "far"),
    ],
)
def test_bad_values_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ParameterError) as info:
        PlanParams(**{field: value})  # type: ignore[arg-type]
    assert info.value.name == field
    assert field in str(info.value)


def test_from_strings_parses_and_converts() -> None:
    p = PlanParams.from_strings(["max_travel_km=3", "seed=7", " travel_cost_per_km = 0.1"])
    assert (p.max_travel_km, p.seed, p.travel_cost_per_km) == (3.0, 7, 0.1)
    assert isinstance(p.max_travel_km, float)


@pytest.mark.parametrize(
    ("item", "name"),
    [("nope=1", "nope"), ("seed=1.5", "seed"), ("max_travel_km=far", "max_travel_km")],
)
def test_from_strings_rejects(item: str, name: str) -> None:
    with pytest.raises(ParameterError) as info:
        PlanParams.from_strings([item])
    assert info.value.name == name


def test_from_strings_needs_equals() -> None:
    with pytest.raises(ParameterError, match="name=value"):
        PlanParams.from_strings(["max_travel_km"])


def test_replace_checks_again() -> None:
    with pytest.raises(ParameterError):
        PlanParams().replace(max_travel_km=-2)
    assert PlanParams().replace(max_travel_km=2).max_travel_km == 2.0


def test_params_are_frozen() -> None:
    p = PlanParams()
    with pytest.raises(AttributeError):
        p.max_travel_km = 1.0  # type: ignore[misc]


def test_to_dict_round_trip() -> None:
    p = PlanParams(max_travel_km=2.5, seed=4)
    assert PlanParams.from_mapping(p.to_dict()) == p
