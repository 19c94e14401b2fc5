"""What-if scenarios: a base dataset and an ordered list of changes, in YAML or JSON.

The package holds three ideas: the scenario file (:mod:`.schema`: data classes, the JSON
Schema, messages), what its changes do to a dataset (:mod:`.changes`: one rule per change
type) and running scenarios, alone or in batches (:mod:`.runner`).

A scenario file is checked against the JSON Schema shipped in
``matcher/schemas/scenario.schema.json`` and then against the dataset it changes; every
mistake is a :class:`~matcher.errors.ScenarioError` naming the file, the change (its
number, from 1, and type) and the field. Applying a scenario never touches the base
dataset: it builds a new one with :func:`matcher.inputs.dataset.dataset_from_frames`, so
the data's own validation runs on the result too.

Change types (``type:``):

``scale_demand``
    Multiply the hours of the demands matching ``where`` (district, street, community,
    category, priority, demand; every filter given must hold). Hours are rounded half up;
    a ``min_hours`` above the new hours is lowered to them.
``add``
    Append ``rows`` to a ``table`` (demands, cadres, units, pairings, alliances,
    alliance_members, resources, lead_options, communities).
``remove``
    Remove rows by ``ids``, by key ``rows`` (tables without an id column) or by ``where``;
    rows referring to them are an error unless ``cascade: true``.
``update``
    Set column ``values`` of the rows given by ``ids`` or ``where`` (integer rules in the
    data: ``min_hours``, ``funds``, ``lead_capacity``, ...).
``surge``
    ``count`` new cadres from units matching ``from`` (kind, level, district, units) with
    ``skills`` and ``hours``, placed as :mod:`matcher.inputs.generate` places cadres, drawn from
    ``seed``.
``set``
    Run ``params`` (:class:`matcher.PlanParams` fields, including the integer rules
    ``max_communities_per_cadre`` and ``coverage_floor``).

Examples
--------
>>> from matcher.inputs.dataset import load_dataset
>>> sc = scenario_from_mapping(
...     {"name": "double-care", "changes": [
...         {"type": "scale_demand", "factor": 2, "where": {"category": "elderly_care"}},
...         {"type": "set", "params": {"max_travel_km": 3}}]})
>>> ds = load_dataset("tests/data/example/dataset")
>>> new = apply_scenario(ds, sc)
>>> int(new.demands["hours"].sum()) - int(ds.demands["hours"].sum())
24
>>> scenario_params(sc).max_travel_km
3.0
"""

from matcher.analysis.scenario.changes import apply_scenario, scenario_dataset, scenario_params
from matcher.analysis.scenario.runner import ScenarioOutcome, run_scenario, run_scenarios
from matcher.analysis.scenario.schema import (
    CHANGE_TYPES,
    SCENARIO_SUFFIXES,
    Change,
    Scenario,
    StableSpec,
    load_scenario,
    scenario_from_mapping,
    scenario_schema,
    validate_scenario_data,
)

__all__ = [
    "CHANGE_TYPES",
    "SCENARIO_SUFFIXES",
    "Change",
    "Scenario",
    "ScenarioOutcome",
    "StableSpec",
    "apply_scenario",
    "load_scenario",
    "run_scenario",
    "run_scenarios",
    "scenario_dataset",
    "scenario_from_mapping",
    "scenario_params",
    "scenario_schema",
    "validate_scenario_data",
]
