"""What-if scenarios (``matcher.analysis.scenario``): files, each change type, errors, batches.

Each change type is checked on the spec's worked example against the same change made by
hand with pandas, and the scenario's plan against an LP optimum of the hand-changed
tables (``factories.lp_optimum``). Errors must name the file, the change and the field.
A batch run in two processes must give the same plans as one by one.
"""

from __future__ import annotations

import json
import math
import typing
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml
from factories import lp_optimum, reference_model
from plan_files import plan_files

from matcher.analysis.scenario import (
    CHANGE_TYPES,
    Scenario,
    apply_scenario,
    load_scenario,
    run_scenario,
    run_scenarios,
    scenario_dataset,
    scenario_from_mapping,
    scenario_params,
    scenario_schema,
)
from matcher.cli import main
from matcher.errors import ScenarioError
from matcher.inputs.dataset import Dataset, dataset_from_frames, load_dataset
from matcher.model.arcs import build_problem
from matcher.model.ties import TIES
from matcher.params import PlanParams

ROOT = Path(__file__).parents[2]
DATA = Path(__file__).parents[1] / "data"
SCEN = DATA / "scenarios"
EXAMPLE = DATA / "example" / "dataset"


@pytest.fixture(scope="module")
def example() -> Dataset:
    return load_dataset(EXAMPLE)


def sc(*changes: dict[str, Any]) -> Scenario:
    return scenario_from_mapping({"name": "t", "changes": list(changes)}, "test.yaml")


def assert_objective(actual: float, expected: float) -> None:
    assert abs(actual - expected) <= max(1e-6 * abs(expected), 1e-6), (actual, expected)


# --------------------------------------------------------------------------------------
# The schema and the files
# --------------------------------------------------------------------------------------


def test_schema_is_valid_and_lists_every_change_type_and_parameter() -> None:
    schema = scenario_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$defs"]["change"]["properties"]["type"]["enum"] == list(CHANGE_TYPES)
    params = schema["$defs"]["set"]["properties"]["params"]["properties"]
    assert list(params) == list(PlanParams.names())
    # Every parameter's JSON type accepts its default.
    hints = typing.get_type_hints(PlanParams)
    for name in PlanParams.names():
        jsonschema.validate(getattr(PlanParams(), name), params[name])
        assert name in hints


def test_schema_ships_with_the_package() -> None:
    from importlib import resources

    assert resources.files("matcher").joinpath("schemas/scenario.schema.json").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "schemas/*.json" in pyproject


@pytest.mark.parametrize(
    "path", sorted((ROOT / "datasets" / "scenarios").glob("*.yaml")), ids=lambda p: p.name
)
def test_demo_scenarios_load_and_apply(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.base is not None and scenario.base.is_dir()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, scenario_schema())
    changed = scenario_dataset(scenario)
    base = load_dataset(scenario.base)
    assert changed.content_hash != base.content_hash or not scenario.changes


def test_yaml_and_json_files_read_alike() -> None:
    a = load_scenario(SCEN / "more-supply.json")
    assert a.name == "more-supply"
    assert [c.type for c in a.changes] == ["add", "surge", "add", "set"]
    assert a.base == SCEN / "../example/dataset"
    b = load_scenario(SCEN / "double-care.yaml")
    assert b.changes[0].spec["where"] == {"category": "elderly_care"}


# --------------------------------------------------------------------------------------
# Each change type, against the same change made by hand
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "factor"),
    [
        ({}, 1.5),
        ({"district": "Gulou"}, 2),
        ({"street": "Cangxia"}, 0.5),
        ({"community": ["C-JUNMEN", "C-TANGBIAN"]}, 3),
        ({"category": "elderly_care"}, 2),
        ({"priority": [4, 5]}, 0.25),
        ({"demand": "D5"}, 0),
        ({"district": "Gulou", "category": "elderly_care", "priority": 5}, 2),
    ],
)
def test_scale_demand_filters(example: Dataset, where: dict[str, Any], factor: float) -> None:
    change: dict[str, Any] = {"type": "scale_demand", "factor": factor}
    if where:
        change["where"] = where
    new = apply_scenario(example, sc(change))
    d = example.demands.merge(example.communities, on="community_id")
    hit = pd.Series(True, index=d.index)
    columns = {"community": "community_id", "demand": "demand_id"}
    for key, value in where.items():
        values = value if isinstance(value, list) else [value]
        hit &= d[columns.get(key, key)].isin(values)
    expected = [
        math.floor(h * factor + 0.5) if m else h for h, m in zip(d["hours"], hit, strict=True)
    ]
    assert new.demands["hours"].tolist() == expected
    assert example.demands["hours"].tolist() == [16, 6, 10, 8, 4]  # the base is untouched


def test_scale_demand_lowers_min_hours_above_the_new_hours(example: Dataset) -> None:
    d = example.demands
    d["min_hours"] = [10, None, 2, 8, None]
    base = example.replace(demands=d)
    new = apply_scenario(base, sc({"type": "scale_demand", "factor": 0.5}))
    assert new.demands["hours"].tolist() == [8, 3, 5, 4, 2]
    assert new.demands["min_hours"].tolist() == [8, pd.NA, 2, 4, pd.NA]


def test_scenario_plan_equals_the_lp_of_the_hand_changed_tables(example: Dataset) -> None:
    scenario = load_scenario(SCEN / "double-care.yaml")
    result = run_scenario(scenario)
    tables = example.tables()
    d = tables["demands"]
    d.loc[d["category"] == "elderly_care", "hours"] *= 2
    assert_objective(result.objective, lp_optimum(reference_model(tables)))


def test_add_rows_to_each_kind_of_table(example: Dataset) -> None:
    new = apply_scenario(
        example,
        sc(
            {
                "type": "add",
                "table": "units",
                "rows": [
                    {
                        "unit_id": "U-NEW",
                        "name": "New unit",
                        "kind": "social_org",
                        "level": "none",
                        "district": "Taijiang",
                        "lat": 26.0537,
                        "lon": 119.3058,
                    }
                ],
            },
            {
                "type": "add",
                "table": "cadres",
                "rows": [{"cadre_id": "K6", "unit_id": "U-NEW", "skills": "legal_aid", "hours": 4}],
            },
            {
                "type": "add",
                "table": "demands",
                "rows": [
                    {
                        "demand_id": "D6",
                        "community_id": "C-TANGBIAN",
                        "category": "legal_aid",
                        "hours": 3,
                        "priority": 2,
                    }
                ],
            },
            {
                "type": "add",
                "table": "pairings",
                "rows": [{"unit_id": "U-NEW", "community_id": "C-TANGBIAN"}],
            },
            {
                "type": "add",
                "table": "alliances",
                "rows": [
                    {
                        "alliance_id": "A-2",
                        "name": "Wufeng",
                        "district": "Gulou",
                        "street": "Wufeng",
                    }
                ],
            },
            {
                "type": "add",
                "table": "alliance_members",
                "rows": [{"alliance_id": "A-2", "unit_id": "U-JCY"}],
            },
            {
                "type": "add",
                "table": "resources",
                "rows": [
                    {
                        "resource_id": "R2",
                        "unit_id": "U-NEW",
                        "kind": "service",
                        "categories": "",
                        "amount": 5,
                    }
                ],
            },
        ),
    )
    assert new.counts() == {
        "communities": 3,
        "units": 3,
        "cadres": 6,
        "demands": 6,
        "resources": 2,
        "pairings": 2,
        "alliances": 2,
        "alliance_members": 2,
    }
    problem = build_problem(new)
    sup = {sid: i for i, sid in enumerate(problem.suppliers.ids)}
    dem = {did: i for i, did in enumerate(problem.demand_ids)}
    arcs = problem.arcs
    tie = {
        (int(s), int(d)): TIES[t]
        for s, d, t in zip(arcs.supplier, arcs.demand, arcs.tie, strict=True)
    }
    # The new cadre reaches the new demand through the new pairing (15 km away).
    assert tie[sup["K6"], dem["D6"]] == "pairing"
    # Through the new alliance K5 (enterprise U-JCY) reaches Tangbian: K5 has no such
    # skill, K4 (same unit, elderly care) reaches D4 by residence first.
    assert tie[sup["K4"], dem["D4"]] == "residence"
    # The new service (any category) reaches every demand it is tied to.
    assert (sup["R2"], dem["D6"]) in tie


def test_add_refuses_unknown_columns_and_existing_ids(example: Dataset) -> None:
    with pytest.raises(ScenarioError) as e:
        apply_scenario(
            example,
            sc(
                {
                    "type": "add",
                    "table": "cadres",
                    "rows": [
                        {
                            "cadre_id": "K7",
                            "unit_id": "U-JCY",
                            "skills": "parking",
                            "hours": 3,
                            "hour": 4,
                        }
                    ],
                }
            ),
        )
    assert e.value.change == 1 and e.value.field == "rows[0].hour"
    with pytest.raises(ScenarioError) as e:
        apply_scenario(
            example,
            sc(
                {
                    "type": "add",
                    "table": "cadres",
                    "rows": [
                        {"cadre_id": "K2", "unit_id": "U-JCY", "skills": "parking", "hours": 3}
                    ],
                }
            ),
        )
    assert e.value.field == "rows[0].cadre_id" and "K2" in str(e.value)


def test_remove_by_id_key_and_filter(example: Dataset) -> None:
    new = apply_scenario(
        example,
        sc(
            {"type": "remove", "table": "cadres", "ids": ["K3"]},
            {
                "type": "remove",
                "table": "pairings",
                "rows": [{"unit_id": "U-MUNI", "community_id": "C-CANGXIA"}],
            },
            {"type": "remove", "table": "demands", "where": {"category": "digital_help"}},
        ),
    )
    assert new.cadres["cadre_id"].tolist() == ["K1", "K2", "K4", "K5"]
    assert len(new.pairings) == 0
    assert new.demands["demand_id"].tolist() == ["D1", "D2", "D3", "D4"]


def test_remove_with_references_needs_cascade(example: Dataset) -> None:
    change = {"type": "remove", "table": "units", "ids": ["U-JCY"]}
    with pytest.raises(ScenarioError) as e:
        apply_scenario(example, sc(change))
    assert e.value.field == "cascade" and "cadres" in str(e.value)
    new = apply_scenario(example, sc({**change, "cascade": True}))
    assert set(new.cadres["unit_id"]) == {"U-MUNI"}
    assert len(new.resources) == 0 and len(new.alliance_members) == 0
    # A removed community empties the optional home of its residents and drops its demands.
    new = apply_scenario(
        example,
        sc({"type": "remove", "table": "communities", "ids": ["C-TANGBIAN"], "cascade": True}),
    )
    assert new.cadres.set_index("cadre_id").at["K4", "home_community_id"] == ""
    assert "D4" not in set(new.demands["demand_id"])


def test_update_sets_integer_rules_in_the_data(example: Dataset) -> None:
    new = apply_scenario(
        example,
        sc(
            {"type": "update", "table": "demands", "ids": ["D1", "D3"], "values": {"min_hours": 6}},
            {
                "type": "update",
                "table": "units",
                "where": {"kind": "enterprise"},
                "values": {"lead_capacity": 2.5},
            },
        ),
    )
    assert new.demands["min_hours"].tolist() == [6, pd.NA, 6, pd.NA, pd.NA]
    assert new.units.set_index("unit_id")["lead_capacity"].to_dict()["U-JCY"] == 2.5
    with pytest.raises(ScenarioError) as e:
        apply_scenario(
            example,
            sc({"type": "update", "table": "cadres", "ids": ["K1"], "values": {"cadre_id": "K7"}}),
        )
    assert e.value.field == "values.cadre_id"


def test_set_parameters_in_order_over_a_base() -> None:
    s = sc(
        {"type": "set", "params": {"max_travel_km": 3, "seed": 2}},
        {"type": "set", "params": {"max_travel_km": 4, "coverage_floor": 0.2}},
    )
    p = scenario_params(s, PlanParams(travel_cost_per_km=0.1))
    assert (p.max_travel_km, p.seed, p.coverage_floor, p.travel_cost_per_km) == (4, 2, 0.2, 0.1)
    with pytest.raises(ScenarioError) as e:
        sc({"type": "set", "params": {"coverage_floor": 2}})
    assert e.value.field == "params.coverage_floor" and e.value.change == 1


# --------------------------------------------------------------------------------------
# Surge
# --------------------------------------------------------------------------------------


def surge(example: Dataset, **fields: Any) -> pd.DataFrame:
    change = {"type": "surge", "count": 40, "skills": ["parking"], "hours": [3, 9], **fields}
    new = apply_scenario(example, sc(change)).cadres
    return new.iloc[len(example.cadres) :].reset_index(drop=True)


def test_surge_rows_follow_the_change(example: Dataset) -> None:
    new = surge(example, **{"from": {"kind": "government"}}, seed=1)
    assert new["cadre_id"].tolist() == [f"S1-K{i:04d}" for i in range(1, 41)]
    assert set(new["unit_id"]) == {"U-MUNI"}
    assert set(new["skills"]) == {"parking"}
    assert new["hours"].between(3, 9).all()
    homes = set(new["home_community_id"]) - {""}
    assert homes <= set(example.communities["community_id"])
    fixed = surge(example, hours=5, id_prefix="X")
    assert (fixed["hours"] == 5).all() and fixed["cadre_id"].iloc[0] == "X0001"


def test_surge_is_seeded(example: Dataset) -> None:
    a, b, c = (surge(example, seed=s) for s in (7, 7, 8))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_surge_places_homes_and_locations_as_the_generator_does(example: Dataset) -> None:
    # Everyone at home in the unit's district (Gulou: Military Gate, Tangbian).
    local = surge(
        example, home_share=1.0, home_in_unit_district_share=1.0, explicit_location_share=0.0
    )
    assert set(local["home_community_id"]) <= {"C-JUNMEN", "C-TANGBIAN"}
    assert local["lat"].isna().all()
    # Nobody at home; everyone with coordinates about 1 km (normal) around the unit.
    away = surge(
        example, **{"from": {"units": "U-JCY"}}, home_share=0.0, explicit_location_share=1.0
    )
    assert (away["home_community_id"] == "").all()
    unit = example.units.set_index("unit_id").loc["U-JCY"]
    dy = (away["lat"].astype(float) - unit["lat"]) * 110.574
    dx = (away["lon"].astype(float) - unit["lon"]) * 111.320 * math.cos(math.radians(26.08))
    km = np.hypot(dx, dy)
    assert km.max() < 6 and 0.3 < km.mean() < 2.5


def test_surge_refuses_unknown_units_skills_and_taken_ids(example: Dataset) -> None:
    for fields, field in (
        ({"from": {"units": ["U-NOPE"]}}, "from.units"),
        ({"from": {"district": "Nowhere"}}, "from.district"),
        ({"from": {"level": "street"}}, "from"),
        ({"skills": ["parkin"]}, "skills"),
    ):
        change = {"type": "surge", "count": 5, "skills": ["parking"], "hours": 4, **fields}
        with pytest.raises(ScenarioError) as e:
            apply_scenario(example, sc(change))
        assert e.value.field == field and e.value.change_type == "surge", fields
    taken = {
        "type": "add",
        "table": "cadres",
        "rows": [{"cadre_id": "Z0002", "unit_id": "U-JCY", "skills": "parking", "hours": 1}],
    }
    change = {"type": "surge", "count": 3, "skills": ["parking"], "hours": 4, "id_prefix": "Z"}
    with pytest.raises(ScenarioError) as e:
        apply_scenario(example, sc(taken, change))
    assert (e.value.change, e.value.field) == (2, "id_prefix") and "Z0002" in str(e.value)


# --------------------------------------------------------------------------------------
# Errors name the file, the change and the field
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "change", "field", "words"),
    [
        ("bad-field.yaml", 2, "where.distrct", "unknown field"),
        ("bad-id.yaml", 1, "ids[1]", "'K99' is not in the dataset"),
        ("bad-type.yaml", 1, "type", "unknown change type 'scale'"),
        ("bad-data.yaml", 2, None, "column 'priority': got '7'"),
        ("bad-param.yaml", 1, "params.max_travel_kms", "unknown field"),
        ("bad-yaml.yaml", None, None, "not valid YAML"),
    ],
)
def test_errors_name_file_change_and_field(
    file: str, change: int | None, field: str | None, words: str
) -> None:
    with pytest.raises(ScenarioError) as e:
        run_scenario(load_scenario(SCEN / file))
    err = e.value
    assert (err.change, err.field) == (change, field)
    assert words in str(err)
    assert str(err).startswith(f"scenario {SCEN / file}")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "scale_demand"}, "factor"),
        ({"type": "scale_demand", "factor": -1}, "factor"),
        ({"type": "scale_demand", "factor": 2, "where": {"priority": 9}}, "where.priority"),
        ({"type": "remove", "table": "cadres"}, None),
        ({"type": "remove", "table": "cadre", "ids": ["K1"]}, "table"),
        ({"type": "surge", "count": 0, "skills": ["parking"], "hours": 2}, "count"),
        ({"type": "surge", "count": 2, "skills": ["parking"], "hours": [5, 2]}, "hours"),
        ({"type": "add", "table": "cadres", "rows": []}, "rows"),
    ],
)
def test_schema_errors_point_at_the_field(change: dict[str, Any], field: str | None) -> None:
    with pytest.raises(ScenarioError) as e:
        scenario_from_mapping(
            {"changes": [{"type": "set", "params": {"seed": 1}}, change]}, "x.yaml"
        )
    assert (e.value.change, e.value.field) == (2, field), str(e.value)


def test_scale_demand_refuses_unknown_filter_values(example: Dataset) -> None:
    for where, field in (
        ({"district": "Gulu"}, "where.district"),
        ({"street": ["Dongjie", "Nope"]}, "where.street[1]"),
        ({"community": "C-X"}, "where.community"),
        ({"category": "elderly"}, "where.category"),
        ({"demand": "D77"}, "where.demand"),
    ):
        with pytest.raises(ScenarioError) as e:
            apply_scenario(example, sc({"type": "scale_demand", "factor": 2, "where": where}))
        assert e.value.field == field


def test_cli_scenario_errors_exit_2_naming_file_change_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "scenario",
            "run",
            str(SCEN / "base.yaml"),
            str(SCEN / "bad-field.yaml"),
            "--out",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "bad-field.yaml, change 2 (scale_demand), field 'where.distrct'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "base").exists()  # nothing is solved before every file checks
    code = main(
        [
            "scenario",
            "run",
            str(SCEN / "base.yaml"),
            str(SCEN / "bad-id.yaml"),
            "--out",
            str(tmp_path),
            "--jobs",
            "1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "bad-id.yaml, change 1 (remove cadres), field 'ids[1]'" in err
    # The good scenario still ran.
    assert (tmp_path / "base" / "assignments.csv").is_file()


# --------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------


def test_batch_in_parallel_equals_one_by_one(tmp_path: Path) -> None:
    files = [SCEN / f for f in ("base.yaml", "double-care.yaml", "more-supply.json", "fewer.yaml")]
    lines: list[str] = []
    serial, _ = run_scenarios(files, tmp_path / "one", jobs=1)
    parallel, comparison = run_scenarios(files, tmp_path / "two", jobs=2, progress=lines.append)
    assert [o.name for o in parallel] == ["base", "double-care", "more-supply", "fewer"]
    assert not any(o.error for o in serial + parallel)
    for o in serial:
        assert plan_files(tmp_path / "one" / o.name) == plan_files(tmp_path / "two" / o.name)
    # Each one also equals a direct run of the scenario in this process.
    direct = run_scenario(load_scenario(SCEN / "more-supply.json"))
    assert direct.assignments.equals(
        pd.read_csv(
            tmp_path / "two" / "more-supply" / "assignments.csv",
            dtype={"supplier_id": str},
            keep_default_na=False,
        ).astype(direct.assignments.dtypes.to_dict())
    )
    assert sorted(line.split("]")[0] for line in lines) == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert comparison is not None and comparison.names[0] == "base"
    for name in ("comparison.csv", "comparison.json", "comparison.txt"):
        assert (tmp_path / "two" / name).is_file()
    described = json.loads((tmp_path / "two" / "fewer" / "scenario.json").read_text("utf-8"))
    assert [c["type"] for c in described["changes"]] == ["remove", "update"]


def test_a_warm_started_batch_reaches_the_same_optima(tmp_path: Path) -> None:
    """The first scenario plans cold, the others from its duals: the same objectives as
    a cold batch (each proven optimal), and the same plans however many processes."""
    files = [SCEN / f for f in ("base.yaml", "double-care.yaml", "more-supply.json", "fewer.yaml")]
    columns = PlanParams(flow_solver="columns")
    cold, _ = run_scenarios(files, tmp_path / "cold", jobs=1, params=columns)
    warm, comparison = run_scenarios(
        files, tmp_path / "warm", jobs=2, params=columns, warm_start=True
    )
    serial, _ = run_scenarios(files, tmp_path / "serial", jobs=1, params=columns, warm_start=True)
    assert not any(o.error for o in cold + warm + serial)
    assert [o.summary["warm_start"] for o in warm] == [False, True, True, True]
    assert not any(o.summary["warm_start"] for o in cold)
    for c, w in zip(cold, warm, strict=True):
        assert w.summary["status"] == "optimal"
        assert w.summary["objective"] == pytest.approx(c.summary["objective"], rel=1e-9)
    assert plan_files(tmp_path / "cold" / "base") == plan_files(tmp_path / "warm" / "base")
    for o in warm:
        assert plan_files(tmp_path / "warm" / o.name) == plan_files(tmp_path / "serial" / o.name)
    assert comparison is not None and comparison.names[0] == "base"


def test_cli_scenario_run_warm_start(tmp_path: Path) -> None:
    files = [str(SCEN / f) for f in ("base.yaml", "fewer.yaml")]
    options = ["--out", str(tmp_path), "--jobs", "1", "--quiet", "--warm-start"]
    code = main(["scenario", "run", *files, *options, "--param", "flow_solver=columns"])
    assert code == 0
    assert (tmp_path / "fewer" / "assignments.csv").is_file()


def test_batch_refuses_two_scenarios_with_one_name(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as e:
        run_scenarios([SCEN / "base.yaml", SCEN / "base.yaml"], tmp_path)
    assert e.value.field == "name"


def test_cli_scenario_run_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "scenario",
            "run",
            str(SCEN / "base.yaml"),
            str(SCEN / "fewer.yaml"),
            "--out",
            str(tmp_path),
            "--jobs",
            "1",
            "--param",
            "max_travel_km=4",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Comparison against base" in out and "[2/2]" in err
    table = pd.read_csv(tmp_path / "comparison.csv")
    assert table["plan"].tolist() == ["base", "fewer"]
    run = json.loads((tmp_path / "fewer" / "run.json").read_text(encoding="utf-8"))
    assert run["params"]["max_travel_km"] == 4
    assert main(["scenario", "check", str(SCEN / "more-supply.json")]) == 0
    assert "valid" in capsys.readouterr().out


def test_a_scenario_can_replan_stably_against_a_previous_plan(
    tmp_path: Path, example: Dataset
) -> None:
    before = run_scenario(load_scenario(SCEN / "base.yaml"))
    before.write(tmp_path / "prev")
    data = {
        "name": "stable",
        "base": str(EXAMPLE),
        "stable": {"previous": "prev", "change_penalty": 0.5, "pinned": "all"},
        "changes": [],
    }
    scenario = scenario_from_mapping(data, "stable.yaml", base_dir=tmp_path)
    again = run_scenario(scenario)
    pd.testing.assert_frame_equal(again.assignments, before.assignments)
    assert again.kpis["churn"]["hours_changed"] == 0
    assert again.kpis["replan"]["pinned_assignments"] == len(before.assignments)
    # The base dataset is never changed by applying a scenario.
    hash_before = example.content_hash
    apply_scenario(example, load_scenario(SCEN / "more-supply.json"))
    assert dataset_from_frames(example.tables()).content_hash == hash_before


# --------------------------------------------------------------------------------------
# Messages in Chinese
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "chinese"),
    [
        (
            "bad-field.yaml",
            "，第 2 项变更（scale_demand），字段“where.distrct”：未知字段；应为以下之一：",
        ),
        (
            "bad-id.yaml",
            "，第 1 项变更（remove cadres），字段“ids[1]”：cadre id 'K99' 不在数据集中",
        ),
        ("bad-type.yaml", "，第 1 项变更，字段“type”：未知的变更类型 'scale'；应为以下之一："),
        ("bad-data.yaml", "，第 2 项变更（add demands）：变更后的数据未通过校验：\n  - "),
        ("bad-yaml.yaml", "：不是有效的 YAML："),
    ],
)
def test_errors_in_chinese_keep_the_file_change_and_field(file: str, chinese: str) -> None:
    with pytest.raises(ScenarioError) as e:
        run_scenario(load_scenario(SCEN / file))
    zh = e.value.render("zh")
    assert zh.startswith(f"情景 {SCEN / file}{chinese}"), zh
    assert e.value.render("en") == str(e.value)


def test_a_bad_parameter_in_a_scenario_reads_in_chinese() -> None:
    with pytest.raises(ScenarioError) as e:
        sc({"type": "set", "params": {"coverage_floor": 2}})
    assert str(e.value) == (
        "scenario test.yaml, change 1 (set), field 'params.coverage_floor': got 2, "
        "expected a share greater than 0, at most 1"
    )
    assert e.value.render("zh") == (
        "情景 test.yaml，第 1 项变更（set），字段“params.coverage_floor”：填写的是 2，"
        "应为大于 0、不超过 1 的比例"
    )


def test_schema_wording_in_chinese() -> None:
    with pytest.raises(ScenarioError) as e:
        scenario_from_mapping(
            {"changes": [{"type": "surge", "count": 0, "skills": ["parking"], "hours": 2}]}, "x"
        )
    assert "expected a whole number from 1 to" in str(e.value)
    assert "应为1 到" in e.value.render("zh") and "之间的整数" in e.value.render("zh")


def test_cli_scenario_run_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(SCEN / "base.yaml"), str(SCEN / "bad-id.yaml")]
    code = main(["scenario", "run", *files, "--out", str(tmp_path), "--jobs", "1", "--lang", "zh"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("正在用 1 个进程 运行 2 个情景")
    assert "[2/2] bad-id：失败：情景 " in err
    assert "错误：情景 " in err and "cadre id 'K99' 不在数据集中" in err
    assert out.startswith("与 base 的比较\n指标")
