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


HUGE = 10**30


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seed", HUGE),
        ("seed", 2**31),
        ("seed", 1.5),
        ("workers", HUGE),
        ("max_communities_per_cadre", HUGE),
        ("max_communities_per_cadre", 0),
        ("max_travel_km", 10**400),  # an int no float holds: refused, not an OverflowError
        ("max_travel_km", 1e30),
        ("max_travel_km", float("inf")),
        ("travel_cost_per_km", float("nan")),
        ("travel_cost_per_km", 1e6),
        ("priority_weight", float("inf")),
        ("priority_weight", 1e6),
        ("cost_scale", float("nan")),
        ("time_limit_s", 1e30),
        ("time_limit_s", float("nan")),
        ("gap_limit", 2.0),
        ("gap_limit", float("inf")),
        ("yuan_per_hour_equivalent", 1e-300),
        ("yuan_per_hour_equivalent", 1e300),
        ("coverage_floor", float("nan")),
        ("coverage_floor", float("inf")),
    ],
)
def test_values_beyond_what_the_solvers_take_are_refused(field: str, value: object) -> None:
    with pytest.raises(ParameterError) as info:
        PlanParams(**{field: value})  # type: ignore[arg-type]
    assert info.value.name == field


def test_the_bounds_themselves_are_taken() -> None:
    from matcher import params as p

    top = PlanParams(
        seed=p.MAX_SEED,
        workers=p.MAX_WORKERS,
        max_travel_km=p.MAX_TRAVEL_KM,
        travel_cost_per_km=p.MAX_WEIGHT,
        priority_weight=p.MAX_WEIGHT,
        cost_scale=p.MAX_COST_SCALE,
        time_limit_s=p.MAX_TIME_LIMIT_S,
        gap_limit=1.0,
        yuan_per_hour_equivalent=p.MAX_YUAN_PER_HOUR,
        max_communities_per_cadre=p.MAX_COMMUNITIES_PER_CADRE,
    )
    assert top.seed == 2**31 - 1
    assert PlanParams(yuan_per_hour_equivalent=p.MIN_YUAN_PER_HOUR).yuan_per_hour_equivalent == 1


@pytest.mark.parametrize(
    ("item", "name"),
    [
        ("seed=1" + "0" * 30, "seed"),
        ("max_travel_km=1e999", "max_travel_km"),
        ("gap_limit=nan", "gap_limit"),
    ],
)
def test_from_strings_refuses_huge_and_nan(item: str, name: str) -> None:
    with pytest.raises(ParameterError) as info:
        PlanParams.from_strings([item])
    assert info.value.name == name


@pytest.mark.parametrize(
    ("item", "english", "chinese"),
    [
        ("coverage_floor=2", "a share greater than 0, at most 1", "大于 0、不超过 1 的比例"),
        ("max_travel_km=-1", "a finite number 0 or more, at most", "不小于 0、不超过"),
        ("priority_weight=0", "a finite number greater than 0, at most", "大于 0、不超过"),
        ("seed=-1", "a whole number from 0 to 2,147,483,647", "0 到 2,147,483,647 之间的整数"),
        ("seed=x", "a whole number", "整数"),
        ("integer_solver=gurobi", "highs or cpsat", "highs 或 cpsat"),
        ("apply_funds=maybe", "true or false", "true 或 false"),
        ("no_such=1", "a parameter named one of max_travel_km", "名为以下之一的参数"),
    ],
)
def test_a_bad_parameter_reads_in_chinese(item: str, english: str, chinese: str) -> None:
    with pytest.raises(ParameterError) as info:
        PlanParams.from_strings([item])
    err, name = info.value, item.partition("=")[0]
    # English is as before; Chinese names the same parameter, with the expectation translated.
    assert str(err) == err.render("en") and english in str(err)
    zh = err.render("zh")
    assert f"参数 {name}=" in zh and chinese in zh
    assert english.split(" ")[1] not in zh.replace("max_travel_km", "")
