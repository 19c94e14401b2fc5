"""What-if scenarios: a base dataset and an ordered list of changes, in YAML or JSON.

A scenario file is checked against the JSON Schema shipped in
``matcher/schemas/scenario.schema.json`` and then against the dataset it changes; every
mistake is a :class:`ScenarioError` naming the file, the change (its number, from 1, and
type) and the field. Applying a scenario never touches the base dataset: it builds a new
one with :func:`matcher.inputs.dataset.dataset_from_frames`, so the data's own validation runs
on the result too.

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

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import numpy as np
import pandas as pd

from matcher.errors import DatasetError, MatcherError, ParameterError
from matcher.i18n import N_, SOURCE_LANG, Text, translator
from matcher.inputs.dataset import Dataset, dataset_from_frames, load_dataset
from matcher.inputs.schema import TABLES, TABLES_BY_NAME, Kind
from matcher.model.geo import GENERATOR_KM_PER_DEG_LAT, GENERATOR_KM_PER_DEG_LON_EQ
from matcher.params import PlanParams
from matcher.plans.planner import Plan
from matcher.solvers.outcomes import Duals
from matcher.solvers.parts import ray_session

__all__ = [
    "CHANGE_TYPES",
    "SCENARIO_SUFFIXES",
    "Change",
    "Scenario",
    "ScenarioError",
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

CHANGE_TYPES: tuple[str, ...] = ("scale_demand", "add", "remove", "update", "surge", "set")
"""The change types a scenario may list, in the order the schema documents them."""

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")

_DEMAND_FILTERS = ("district", "street", "community", "category", "priority", "demand")


class ScenarioError(MatcherError, ValueError):
    """A scenario that cannot be read or applied: names the file, change and field.

    Attributes
    ----------
    source
        The scenario file (or a label for an in-memory scenario).
    change
        The change's number, from 1, or ``None`` for the scenario as a whole.
    change_type
        The change's type, when known.
    field
        The field at fault as a dotted path inside the change (``where.district``,
        ``rows[2].hours``), or inside the scenario when ``change`` is ``None``.
    problem
        What is wrong and what was expected: a :class:`~matcher.i18n.Text`, so that the
        message (its ``args[0]``, also a ``Text``) can be shown in the reader's language.
    """

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        change: int | None = None,
        change_type: str | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.change = change
        self.change_type = change_type
        self.field = field
        self.problem = problem
        if change is None:
            where = Text(N_("scenario {source}"), source=source)
        elif change_type:
            where = Text(
                N_("scenario {source}, change {change} ({change_type})"),
                source=source,
                change=change,
                change_type=change_type,
            )
        else:
            where = Text(N_("scenario {source}, change {change}"), source=source, change=change)
        if field:
            where = Text(N_("{where}, field '{field}'"), where=where, field=field)
        super().__init__(Text(N_("{where}: {problem}"), where=where, problem=problem))

    def render(self, lang: str = SOURCE_LANG) -> str:
        """The message in ``lang``."""
        message = self.args[0]
        return message.render(lang) if isinstance(message, Text) else str(message)

    def to_dict(self) -> dict[str, object]:
        """The error as a JSON-ready dictionary."""
        return {
            "source": self.source,
            "change": self.change,
            "change_type": self.change_type,
            "field": self.field,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class Change:
    """One change of a scenario, as checked against the schema.

    Attributes
    ----------
    number
        Its position in the scenario, from 1 (as messages show it).
    type
        One of :data:`CHANGE_TYPES`.
    spec
        The change's fields (read-only), ``type`` included.
    """

    number: int
    type: str
    spec: Mapping[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        """A field of the change, or ``default``."""
        return self.spec.get(name, default)


@dataclass(frozen=True)
class StableSpec:
    """Re-plan against a previous plan (see :func:`matcher.analysis.replan.replan`).

    Attributes
    ----------
    previous
        The previous plan's folder.
    change_penalty
        Objective lost per hour changed against the previous plan. Default 0.
    pinned
        ``"all"``, ``"none"`` or the ``(supplier_kind, supplier_id, demand_id)`` keys
        kept exactly.
    """

    previous: Path
    change_penalty: float = 0.0
    pinned: str | tuple[tuple[str, str, str], ...] = "none"


@dataclass(frozen=True)
class Scenario:
    """A named, ordered list of changes to a base dataset.

    Build one with :func:`load_scenario` or :func:`scenario_from_mapping`.

    Attributes
    ----------
    name
        The scenario's name (its plan folder in a batch).
    changes
        The changes, in order.
    base
        The base dataset folder, or ``None`` when the caller supplies the dataset.
    description
        Free text.
    source
        The file it was read from (or a label), for messages.
    stable
        Stable re-planning against a previous plan, or ``None``.
    """

    name: str
    changes: tuple[Change, ...]
    base: Path | None = None
    description: str = ""
    source: str = "<scenario>"
    stable: StableSpec | None = field(default=None)

    def error(
        self, change: Change | None, problem: Text, field: str | None = None
    ) -> ScenarioError:
        """A :class:`ScenarioError` about one of this scenario's changes."""
        return ScenarioError(
            self.source,
            problem,
            change=None if change is None else change.number,
            change_type=None if change is None else _label(change),
            field=field,
        )


def _label(change: Change) -> str:
    table = change.get("table")
    return f"{change.type} {table}" if table else change.type


# --------------------------------------------------------------------------------------
# Reading and checking against the JSON Schema
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def scenario_schema() -> dict[str, Any]:
    """The scenario JSON Schema (draft 2020-12) shipped with the package."""
    text = resources.files("matcher").joinpath("schemas/scenario.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _path_text(parts: Sequence[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


_KIND_NAMES = {
    "string": N_("a text"),
    "number": N_("a number"),
    "integer": N_("a whole number"),
    "boolean": N_("true or false"),
    "array": N_("a list"),
    "object": N_("a mapping"),
    "null": N_("null"),
}


def _either(options: Sequence[str]) -> str:
    """``a or b or c``, a :class:`Text` when there are several (each option may itself be
    one)."""
    out = options[0]
    for option in options[1:]:
        out = Text(N_("{first} or {second}"), first=out, second=option)
    return out


def _expected(schema: Mapping[str, Any]) -> str:
    """What a schema asks for, in words: a :class:`Text`, or a value as the schema
    writes it."""
    if "const" in schema:
        return repr(schema["const"])
    if "enum" in schema:
        return Text(N_("one of {names}"), names=", ".join(str(v) for v in schema["enum"]))
    kinds = schema.get("type")
    if kinds is None and "oneOf" in schema:
        return _either([_expected(s) for s in schema["oneOf"]])

    def kind(k: object) -> str:
        name = _KIND_NAMES.get(str(k))
        return Text(name) if name else str(k)

    if isinstance(kinds, list):
        return _either([kind(k) for k in kinds])
    text = kind(kinds)
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if lo is not None and hi is not None:
        text = Text(N_("{kind} from {lo} to {hi}"), kind=text, lo=lo, hi=hi)
    elif lo is not None:
        text = Text(N_("{kind}, {lo} or more"), kind=text, lo=lo)
    if kinds == "array" and schema.get("minItems"):
        text = Text(N_("{kind} of at least {n} item(s)"), kind=text, n=schema["minItems"])
    return text


def _schema_error(error: Any, source: str, data: Any) -> ScenarioError:
    """Turn a jsonschema error into a message naming the change and the field."""
    path = list(error.absolute_path)
    change = change_type = None
    inner: list[str | int] = path
    if len(path) >= 2 and path[0] == "changes" and isinstance(path[1], int):
        change = path[1] + 1
        item = data["changes"][path[1]]
        if isinstance(item, Mapping) and isinstance(item.get("type"), str):
            change_type = item["type"]
            if isinstance(item.get("table"), str):
                change_type += f" {item['table']}"
        inner = path[2:]
    elif len(path) == 1 and path[0] == "changes":
        inner = path
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    instance = error.instance
    validator = error.validator
    field_path = _path_text(inner) or None
    if validator == "additionalProperties" and isinstance(instance, Mapping):
        allowed = list(schema.get("properties", {}))
        extra = sorted(str(k) for k in instance if k not in allowed)
        name = _path_text([*inner, extra[0]]) if extra else field_path
        problem = (
            Text(N_("unknown field; expected one of {names}"), names=", ".join(allowed))
            if allowed
            else Text(N_("unknown field"))
        )
        return ScenarioError(source, problem, change=change, change_type=change_type, field=name)
    if validator == "required":
        missing = next(
            (r for r in error.validator_value if r not in (instance or {})),
            error.validator_value[0],
        )
        return ScenarioError(
            source,
            Text(N_("missing; this field is required")),
            change=change,
            change_type=change_type,
            field=_path_text([*inner, missing]),
        )
    if validator == "enum" and inner == ["type"]:
        return ScenarioError(
            source,
            Text(
                N_("unknown change type {value}; expected one of {names}"),
                value=repr(instance),
                names=", ".join(CHANGE_TYPES),
            ),
            change=change,
            field="type",
        )
    if (
        validator == "oneOf"
        and isinstance(instance, Mapping)
        and "ids" in schema.get("properties", {})
    ):
        keys = [k for k in ("ids", "rows", "where") if k in schema["properties"]]
        return ScenarioError(
            source,
            Text(N_("give exactly one of {names}"), names=", ".join(keys)),
            change=change,
            change_type=change_type,
            field=field_path,
        )
    if validator in ("minProperties", "minItems") and not instance:
        return ScenarioError(
            source,
            Text(N_("is empty; give at least one")),
            change=change,
            change_type=change_type,
            field=field_path,
        )
    shown = json.dumps(instance, ensure_ascii=False, default=str)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ScenarioError(
        source,
        Text(N_("got {value}, expected {expected}"), value=shown, expected=_expected(schema)),
        change=change,
        change_type=change_type,
        field=field_path,
    )


def _best_error(errors: list[Any]) -> Any:
    """The most telling error: the deepest path, and inside a failed ``oneOf`` the
    alternative that got furthest."""
    from jsonschema.exceptions import best_match

    deepest = max(len(list(e.absolute_path)) for e in errors)
    candidates = [e for e in errors if len(list(e.absolute_path)) == deepest]
    best = best_match(candidates)
    # A oneOf over scalars/lists tells more as a whole than through one alternative.
    return best if best is not None else candidates[0]


def validate_scenario_data(data: Any, source: str = "<scenario>") -> None:
    """Check a scenario's parsed data against the JSON Schema.

    Raises
    ------
    ScenarioError
        Naming the change and field of the first problem found.
    """
    from jsonschema import Draft202012Validator

    if not isinstance(data, Mapping):
        raise ScenarioError(source, Text(N_("expected a mapping with a 'changes' list at the top")))
    validator = Draft202012Validator(scenario_schema())
    errors = list(validator.iter_errors(data))
    if not errors:
        return

    # Report the first change at fault (by position), its most specific error.
    def position(e: Any) -> tuple[int, int]:
        p = list(e.absolute_path)
        if len(p) >= 2 and p[0] == "changes" and isinstance(p[1], int):
            return (1, p[1])
        return (0, 0)

    first = min(position(e) for e in errors)
    group = [e for e in errors if position(e) == first]
    # if/then failures wrap the real errors: look inside them.
    flat: list[Any] = []
    for e in group:
        flat.extend(e.context or [e]) if e.validator in ("allOf",) else flat.append(e)
    raise _schema_error(_best_error(flat), source, data)


def scenario_from_mapping(
    data: Any, source: str = "<scenario>", *, base_dir: Path | None = None, name: str = ""
) -> Scenario:
    """Build a scenario from parsed YAML or JSON, checking it against the schema.

    Parameters
    ----------
    data
        The parsed document.
    source
        Its file (or a label), for messages.
    base_dir
        Folder that ``base`` and ``stable.previous`` are relative to (default: cwd).
    name
        The name when the document gives none (default ``"scenario"``).

    Raises
    ------
    ScenarioError
    """
    validate_scenario_data(data, source)
    root = base_dir or Path()
    changes = tuple(
        Change(i + 1, str(c["type"]), MappingProxyType(copy.deepcopy(dict(c))))
        for i, c in enumerate(data["changes"])
    )
    scenario = Scenario(
        name=str(data.get("name") or name or "scenario"),
        changes=changes,
        base=root / data["base"] if data.get("base") else None,
        description=str(data.get("description", "")),
        source=source,
        stable=_stable(data.get("stable"), root),
    )
    for change in changes:
        if change.type == "set":
            _check_set(scenario, change)
        if change.type == "surge":
            hours = change.get("hours")
            if isinstance(hours, list) and hours[0] > hours[1]:
                raise scenario.error(
                    change, Text(N_("expected [low, high] with low <= high")), "hours"
                )
    return scenario


def _stable(data: Mapping[str, Any] | None, root: Path) -> StableSpec | None:
    if data is None:
        return None
    pinned = data.get("pinned", "none")
    if not isinstance(pinned, str):
        pinned = tuple(
            (str(p.get("supplier_kind", "")), str(p["supplier_id"]), str(p["demand_id"]))
            for p in pinned
        )
    return StableSpec(
        previous=root / data["previous"],
        change_penalty=float(data.get("change_penalty", 0.0)),
        pinned=pinned,
    )


def _check_set(scenario: Scenario, change: Change) -> None:
    for name, value in change.get("params").items():
        try:
            PlanParams().replace(**{name: value})
        except ParameterError as exc:
            raise scenario.error(
                change,
                Text(
                    N_("got {value}, expected {expected}"), value=repr(value), expected=exc.expected
                ),
                f"params.{name}",
            ) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (``.yaml``, ``.yml`` or ``.json``) and check it.

    ``base`` and ``stable.previous`` are taken relative to the file's folder; the name
    defaults to the file's stem.

    Raises
    ------
    ScenarioError
        When the file cannot be read or parsed, or a field is wrong.
    """
    import yaml

    p = Path(path)
    source = str(p)
    if p.suffix.lower() not in SCENARIO_SUFFIXES:
        raise ScenarioError(source, Text(N_("expected a .yaml, .yml or .json file")))
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError(source, Text(N_("no such file"))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(source, Text(N_("cannot be read ({error})"), error=str(exc))) from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            source,
            Text(
                N_("not valid JSON: {problem} at line {line}, column {column}"),
                problem=exc.msg,
                line=exc.lineno,
                column=exc.colno,
            ),
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        text = (
            Text(
                N_("not valid YAML: {problem} at line {line}, column {column}"),
                problem=problem,
                line=mark.line + 1,
                column=mark.column + 1,
            )
            if mark
            else Text(N_("not valid YAML: {problem}"), problem=problem)
        )
        raise ScenarioError(source, text) from None
    return scenario_from_mapping(data, source, base_dir=p.parent, name=_safe_stem(p.stem))


def _safe_stem(stem: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in stem).lstrip("._-")
    return safe or "scenario"


# --------------------------------------------------------------------------------------
# Applying
# --------------------------------------------------------------------------------------


def scenario_params(scenario: Scenario, base: PlanParams | None = None) -> PlanParams:
    """The run parameters: ``base`` with the scenario's ``set`` changes, in order."""
    params = base or PlanParams()
    for change in scenario.changes:
        if change.type != "set":
            continue
        try:
            params = params.replace(**dict(change.get("params")))
        except ParameterError as exc:
            raise scenario.error(
                change,
                Text(
                    N_("got {value}, expected {expected}"),
                    value=repr(exc.value),
                    expected=exc.expected,
                ),
                f"params.{exc.name}",
            ) from None
    return params


def apply_scenario(dataset: Dataset, scenario: Scenario) -> Dataset:
    """A new, validated dataset: ``dataset`` with the scenario's data changes applied.

    ``set`` changes concern the run, not the data (see :func:`scenario_params`). The base
    dataset is left untouched.

    Raises
    ------
    ScenarioError
        When a change names an unknown id, column or value, or when its result does not
        validate as a dataset (the data's own errors are listed, attributed to the first
        change after which the data no longer validate).
    """
    tables = {name: dataset.table(name) for name in dataset}
    data_changes = [c for c in scenario.changes if c.type != "set"]
    for change in data_changes:
        tables = _apply_change(tables, scenario, change)
    source = f"{dataset.source} + scenario {scenario.name}"
    try:
        return dataset_from_frames(tables, source)
    except DatasetError:
        pass
    # Find which change broke the data: replay, validating after each one.
    tables = {name: dataset.table(name) for name in dataset}
    for change in data_changes:
        before = len(tables.get(str(change.get("table")), ())) if change.type == "add" else 0
        tables = _apply_change(tables, scenario, change)
        try:
            dataset_from_frames(tables, source)
        except DatasetError as exc:
            raise scenario.error(change, _not_valid(exc, change, before)) from None
    raise AssertionError("unreachable: the data validated change by change")  # pragma: no cover


class _IssueText(Text):
    """A validation issue's message as a :class:`Text`: rendered by the issue itself, in
    whichever language is asked for."""

    issue: Any

    def __new__(cls, issue: Any) -> _IssueText:
        # Not a marked message: render() asks the issue itself.
        self = cast(_IssueText, super().__new__(cls, "{issue}", issue=str(issue)))
        self.issue = issue
        return self

    def render(self, lang: str = SOURCE_LANG) -> str:
        return str(self.issue.text(lang))

    def __reduce__(self) -> tuple[object, ...]:
        return (_IssueText, (self.issue,))


def _added_row(issue: Any, change: Change, before: int) -> Text:
    """An issue's text, naming the change's own row when it is one the change added."""
    table = change.get("table")
    row = issue.row
    if change.type == "add" and issue.file == f"{table}.csv" and row and row - 2 >= before:
        return Text(
            N_("{issue} (rows[{index}] of this change)"),
            issue=_IssueText(issue),
            index=row - 2 - before,
        )
    return _IssueText(issue)


def _not_valid(exc: DatasetError, change: Change, before: int) -> Text:
    """The problem of a change whose data do not validate: every issue, one a line."""
    out = Text(N_("the changed data do not validate:"))
    for issue in exc.issues:
        out = Text(N_("{text}\n  - {issue}"), text=out, issue=_added_row(issue, change, before))
    if exc.truncated:
        out = Text(N_("{text}\n  ... and {n} more"), text=out, n=exc.truncated)
    return out


def _apply_change(
    tables: dict[str, pd.DataFrame], scenario: Scenario, change: Change
) -> dict[str, pd.DataFrame]:
    handler = {
        "scale_demand": _scale_demand,
        "add": _add,
        "remove": _remove,
        "update": _update,
        "surge": _surge,
    }[change.type]
    return handler(dict(tables), scenario, change)


def _table(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    frame = tables.get(name)
    if frame is not None:
        return frame.copy()
    cols = [c.name for c in TABLES_BY_NAME[name].columns]
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


_NOT_IN_DATASET = {
    "district": N_("district {value} is not in the dataset"),
    "street": N_("street {value} is not in the dataset"),
    "community": N_("community {value} is not in the dataset"),
    "category": N_("category {value} is not in the dataset"),
    "demand": N_("demand {value} is not in the dataset"),
    "unit": N_("unit {value} is not in the dataset"),
    "skill": N_("skill {value} is not in the dataset"),
}


def _known(
    scenario: Scenario, change: Change, field: str, values: list[Any], known: set[Any], what: str
) -> None:
    for i, v in enumerate(values):
        if v not in known:
            name = field if len(values) == 1 else f"{field}[{i}]"
            # A whole sentence per kind of thing; any other thing (a column) by its name.
            message = _NOT_IN_DATASET.get(what)
            problem = (
                Text(message, value=repr(v))
                if message
                else Text(N_("{what} {value} is not in the dataset"), what=what, value=repr(v))
            )
            raise scenario.error(change, problem, name)


def _scale_demand(
    tables: dict[str, pd.DataFrame], scenario: Scenario, change: Change
) -> dict[str, pd.DataFrame]:
    demands = _table(tables, "demands")
    comms = _table(tables, "communities")
    where = change.get("where", {})
    d_comm_id = _text(demands["community_id"])
    mask = np.ones(len(demands), dtype=bool)
    for key in _DEMAND_FILTERS:
        if key not in where:
            continue
        values = _as_list(where[key])
        field = f"where.{key}"
        if key in ("district", "street"):
            col = _text(comms[key])
            _known(scenario, change, field, values, set(col), key)
            inside = set(_text(comms["community_id"])[col.isin(values)])
            mask &= d_comm_id.isin(inside).to_numpy()
        elif key == "community":
            _known(scenario, change, field, values, set(_text(comms["community_id"])), key)
            mask &= d_comm_id.isin(values).to_numpy()
        elif key == "category":
            known = set(_text(demands["category"]))
            for name, column in (("cadres", "skills"), ("resources", "categories")):
                for cell in _text(_table(tables, name)[column]):
                    known.update(p.strip() for p in cell.split(";") if p.strip())
            _known(scenario, change, field, values, known, "category")
            mask &= _text(demands["category"]).isin(values).to_numpy()
        elif key == "priority":
            mask &= pd.to_numeric(demands["priority"]).isin(values).to_numpy()
        else:
            _known(scenario, change, field, values, set(_text(demands["demand_id"])), "demand")
            mask &= _text(demands["demand_id"]).isin(values).to_numpy()
    factor = float(change.get("factor"))
    hours = pd.to_numeric(demands["hours"]).to_numpy(dtype=float)
    new = np.where(mask, np.floor(hours * factor + 0.5), hours)
    demands["hours"] = new.astype(np.int64)
    if "min_hours" in demands:
        mh = pd.to_numeric(demands["min_hours"]).astype("Float64")
        low = np.minimum(mh.to_numpy(dtype=float, na_value=np.nan), new)
        demands["min_hours"] = pd.Series(low, index=demands.index).round().astype("Int64")
    tables["demands"] = demands
    return tables


def _columns(tables: Mapping[str, pd.DataFrame], table: str) -> list[str]:
    spec = [c.name for c in TABLES_BY_NAME[table].columns]
    extra = [c for c in _table(tables, table).columns if c not in spec]
    return spec + extra


def _check_columns(
    scenario: Scenario,
    change: Change,
    tables: Mapping[str, pd.DataFrame],
    table: str,
    names: Sequence[str],
    field: str,
) -> None:
    allowed = _columns(tables, table)
    for name in names:
        if name not in allowed:
            raise scenario.error(
                change,
                Text(
                    N_("unknown column of {table}; expected one of {names}"),
                    table=table,
                    names=", ".join(allowed),
                ),
                f"{field}.{name}",
            )


def _add(
    tables: dict[str, pd.DataFrame], scenario: Scenario, change: Change
) -> dict[str, pd.DataFrame]:
    table = str(change.get("table"))
    rows = list(change.get("rows"))
    for i, row in enumerate(rows):
        _check_columns(scenario, change, tables, table, list(row), f"rows[{i}]")
    spec = TABLES_BY_NAME[table]
    id_col = spec.id_column
    frame = _table(tables, table)
    if id_col:
        existing = set(_text(frame[id_col]))
        for i, row in enumerate(rows):
            if str(row.get(id_col, "")).strip() in existing:
                raise scenario.error(
                    change,
                    Text(N_("{table} already has the id {id}"), table=table, id=repr(row[id_col])),
                    f"rows[{i}].{id_col}",
                )
    new = pd.DataFrame([{k: ("" if v is None else v) for k, v in r.items()} for r in rows])
    tables[table] = pd.concat([frame.astype(object), new.astype(object)], ignore_index=True)
    return tables


def _select(
    tables: Mapping[str, pd.DataFrame], scenario: Scenario, change: Change, table: str
) -> np.ndarray:
    """Rows of ``table`` given by the change's ``ids``, ``rows`` or ``where``."""
    frame = _table(tables, table)
    spec = TABLES_BY_NAME[table]
    if change.get("ids") is not None:
        id_col = spec.id_column
        if id_col is None:
            raise scenario.error(
                change,
                Text(
                    N_("{table} has no id column; give rows with {names}"),
                    table=table,
                    names=", ".join(spec.key),
                ),
                "ids",
            )
        ids = [str(v) for v in change.get("ids")]
        _known(scenario, change, "ids", ids, set(_text(frame[id_col])), f"{table[:-1]} id")
        return _text(frame[id_col]).isin(ids).to_numpy()
    if change.get("rows") is not None:
        key: tuple[str, ...] = spec.key or ((spec.id_column,) if spec.id_column else ())
        mask = np.zeros(len(frame), dtype=bool)
        for i, row in enumerate(change.get("rows")):
            _check_columns(scenario, change, tables, table, list(row), f"rows[{i}]")
            missing = [k for k in key if k not in row]
            if missing:
                raise scenario.error(
                    change,
                    Text(
                        N_("missing; a row of {table} is named by {names}"),
                        table=table,
                        names=", ".join(key),
                    ),
                    f"rows[{i}].{missing[0]}",
                )
            hit = np.ones(len(frame), dtype=bool)
            for k in key:
                hit &= (_text(frame[k]) == str(row[k]).strip()).to_numpy()
            if not hit.any():
                shown = ", ".join(f"{k}={row[k]}" for k in key)
                raise scenario.error(
                    change,
                    Text(N_("no row of {table} has {values}"), table=table, values=shown),
                    f"rows[{i}]",
                )
            mask |= hit
        return mask
    where = change.get("where")
    _check_columns(scenario, change, tables, table, list(where), "where")
    mask = np.ones(len(frame), dtype=bool)
    for col, value in where.items():
        values = [str(v).strip() for v in _as_list(value)]
        text = _text(frame[col])
        kind = TABLES_BY_NAME[table].column(col).kind if col in _spec_names(table) else Kind.TEXT
        if kind in (Kind.INT, Kind.FLOAT):
            numbers = pd.to_numeric(frame[col], errors="coerce")
            hit = numbers.isin([float(v) for v in _as_list(value)]).to_numpy()
        else:
            present = set(text)
            if kind in (Kind.ID, Kind.REF, Kind.ENUM):
                _known(scenario, change, f"where.{col}", values, present, col)
            hit = text.isin(values).to_numpy()
        mask &= hit
    return mask


def _spec_names(table: str) -> set[str]:
    """The spec's column names of ``table``."""
    return {c.name for c in TABLES_BY_NAME[table].columns}


def _dependents(table: str) -> list[tuple[str, str, bool]]:
    """(table, column, optional) of every reference to ``table``."""
    return [
        (t.name, c.name, c.optional)
        for t in TABLES
        for c in t.columns
        if c.kind is Kind.REF and c.ref == table
    ]


def _remove(
    tables: dict[str, pd.DataFrame], scenario: Scenario, change: Change
) -> dict[str, pd.DataFrame]:
    table = str(change.get("table"))
    mask = _select(tables, scenario, change, table)
    cascade = bool(change.get("cascade", False))
    pending: list[tuple[str, np.ndarray]] = [(table, mask)]
    while pending:
        name, drop = pending.pop(0)
        frame = _table(tables, name)
        id_col = TABLES_BY_NAME[name].id_column
        gone = set(_text(frame[id_col])[drop]) if id_col else set()
        tables[name] = frame.loc[~drop].reset_index(drop=True)
        if not gone:
            continue
        for dep, col, optional in _dependents(name):
            if dep not in tables:
                continue
            other = tables[dep]
            refers = _text(other[col]).isin(gone).to_numpy()
            if not refers.any():
                continue
            if not cascade:
                first = _text(other[col])[refers].iloc[0]
                raise scenario.error(
                    change,
                    Text(
                        N_(
                            "{n} row(s) of {table} (column {column}) still refer to the removed "
                            "{removed}, e.g. {first}; remove them first or set cascade: true"
                        ),
                        n=int(refers.sum()),
                        table=dep,
                        column=col,
                        removed=name,
                        first=repr(first),
                    ),
                    "cascade",
                )
            if optional:
                other = other.copy()
                other[col] = other[col].astype(object).where(~refers, "")
                tables[dep] = other
            else:
                pending.append((dep, refers))
    return tables


def _update(
    tables: dict[str, pd.DataFrame], scenario: Scenario, change: Change
) -> dict[str, pd.DataFrame]:
    table = str(change.get("table"))
    values = dict(change.get("values"))
    _check_columns(scenario, change, tables, table, list(values), "values")
    id_col = TABLES_BY_NAME[table].id_column
    if id_col in values:
        raise scenario.error(
            change,
            Text(N_("an id cannot be updated; remove the row and add a new one")),
            f"values.{id_col}",
        )
    mask = _select(tables, scenario, change, table)
    frame = _table(tables, table).astype(object)
    for col, value in values.items():
        frame.loc[mask, col] = "" if value is None else value
    tables[table] = frame
    return tables


def _surge(
    tables: dict[str, pd.DataFrame], scenario: Scenario, change: Change
) -> dict[str, pd.DataFrame]:
    from matcher.inputs.generate import (
        GeneratorConfig,
        draw_cadre_hours,
        draw_cadre_units,
        place_cadres,
        unit_size,
    )

    units = _table(tables, "units")
    comms = _table(tables, "communities")
    cadres = _table(tables, "cadres")
    demands = _table(tables, "demands")
    source = change.get("from", {})
    mask = np.ones(len(units), dtype=bool)
    for key, col in (
        ("kind", "kind"),
        ("level", "level"),
        ("district", "district"),
        ("units", "unit_id"),
    ):
        if key not in source:
            continue
        values = [str(v) for v in _as_list(source[key])]
        text = _text(units[col])
        if key in ("district", "units"):
            _known(
                scenario,
                change,
                f"from.{key}",
                values,
                set(text),
                "unit" if key == "units" else "district",
            )
        mask &= text.isin(values).to_numpy()
    if not mask.any():
        raise scenario.error(change, Text(N_("no unit matches every filter given")), "from")
    known = set(_text(demands["category"]))
    for text in _text(cadres["skills"]):
        known.update(p.strip() for p in text.split(";") if p.strip())
    skills = [str(s).strip() for s in change.get("skills")]
    _known(scenario, change, "skills", skills, known, "skill")

    count = int(change.get("count"))
    prefix = str(change.get("id_prefix", f"S{change.number}-K"))
    width = max(4, len(str(count)))
    ids = [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]
    taken = set(_text(cadres["cadre_id"])) & set(ids)
    if taken:
        raise scenario.error(
            change,
            Text(
                N_("cadre id {id} exists already; choose another prefix"),
                id=repr(sorted(taken)[0]),
            ),
            "id_prefix",
        )

    shares = {
        k: float(change.get(k))
        for k in ("home_share", "home_in_unit_district_share", "explicit_location_share")
        if change.get(k) is not None
    }
    cfg = GeneratorConfig(**shares)  # type: ignore[arg-type]
    rng = np.random.default_rng(np.random.SeedSequence([int(change.get("seed", 0)), change.number]))
    pool = np.flatnonzero(mask)
    size = np.array(
        [
            unit_size(k, lv)
            for k, lv in zip(_text(units["kind"])[pool], _text(units["level"])[pool], strict=True)
        ]
    )
    unit = pool[draw_cadre_units(rng, size, count)]
    hours_spec = change.get("hours")
    if isinstance(hours_spec, list):
        hours = draw_cadre_hours(rng, count, int(hours_spec[0]), int(hours_spec[1]))
    else:
        hours = np.full(count, int(hours_spec), dtype=np.int64)

    # Communities grouped by district (the generator keeps them contiguous), on a plane.
    c_lat = pd.to_numeric(comms["lat"]).to_numpy(float)
    c_lon = pd.to_numeric(comms["lon"]).to_numpy(float)
    lat0 = float(c_lat.mean()) if len(c_lat) else 0.0
    lon0 = float(c_lon.mean()) if len(c_lon) else 0.0
    km_lon = GENERATOR_KM_PER_DEG_LON_EQ * math.cos(math.radians(lat0))
    c_district = _text(comms["district"]).to_numpy(object)
    names = sorted(set(c_district))
    code = {d: i for i, d in enumerate(names)}
    c_code = np.array([code[d] for d in c_district], dtype=np.int64)
    order = np.argsort(c_code, kind="stable")
    sorted_code = c_code[order]
    starts = np.searchsorted(sorted_code, np.arange(len(names) + 1), side="left")
    ends = np.searchsorted(sorted_code, np.arange(len(names) + 1), side="right")
    # The extra last district is empty: for units whose district has no community.
    starts[-1] = ends[-1] = 0
    u_district = _text(units["district"]).to_numpy(object)[unit]
    cadre_district = np.array([code.get(d, len(names)) for d in u_district], dtype=np.int64)
    outlying = np.array([d in cfg.outlying_districts for d in c_district[order]])
    u_lat = pd.to_numeric(units["lat"]).to_numpy(float)[unit]
    u_lon = pd.to_numeric(units["lon"]).to_numpy(float)[unit]
    home, x, y, own = place_cadres(
        rng,
        cfg,
        households=pd.to_numeric(comms["households"]).to_numpy(np.int64)[order],
        comm_x=(c_lon[order] - lon0) * km_lon,
        comm_y=(c_lat[order] - lat0) * GENERATOR_KM_PER_DEG_LAT,
        comm_weight=np.where(outlying, cfg.outlying_weight, 1.0),
        district_start=starts.astype(np.int64),
        district_end=ends.astype(np.int64),
        cadre_district=cadre_district,
        unit_x=(u_lon - lon0) * km_lon,
        unit_y=(u_lat - lat0) * GENERATOR_KM_PER_DEG_LAT,
    )
    comm_ids = _text(comms["community_id"]).to_numpy(object)[order]
    lat = np.round(lat0 + y / GENERATOR_KM_PER_DEG_LAT, 6)
    lon = np.round(lon0 + x / km_lon, 6)
    new = pd.DataFrame(
        {
            "cadre_id": ids,
            "unit_id": _text(units["unit_id"]).to_numpy(object)[unit],
            "skills": ";".join(skills),
            "hours": hours,
            "home_community_id": np.where(home >= 0, comm_ids[np.maximum(home, 0)], ""),
            "lat": np.where(own, lat, np.nan),
            "lon": np.where(own, lon, np.nan),
        }
    )
    tables["cadres"] = pd.concat([cadres.astype(object), new.astype(object)], ignore_index=True)
    return tables


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def scenario_dataset(scenario: Scenario, dataset: Dataset | None = None) -> Dataset:
    """The scenario's dataset: its changes applied to ``dataset`` or to its ``base``."""
    if dataset is None:
        if scenario.base is None:
            raise ScenarioError(
                scenario.source,
                Text(N_("the scenario names no base dataset; give one")),
                field="base",
            )
        dataset = load_dataset(scenario.base)
    return apply_scenario(dataset, scenario)


def run_scenario(
    scenario: Scenario,
    dataset: Dataset | None = None,
    params: PlanParams | None = None,
    warm_start: Duals | None = None,
) -> Plan:
    """Apply a scenario and plan it (stably against ``stable.previous`` when given).

    Parameters
    ----------
    scenario
        The scenario.
    dataset
        The dataset to change (default: the scenario's ``base``).
    params
        Base run parameters; the scenario's ``set`` changes apply on top.
    warm_start
        LP duals of a similar plan to start the column solver from (see
        :func:`matcher.plans.planner.plan`); a stable re-plan ignores them.
    """
    from matcher.analysis.replan import replan
    from matcher.plans.planner import plan

    ds = scenario_dataset(scenario, dataset)
    run_params = scenario_params(scenario, params)
    if scenario.stable is None:
        return plan(ds, run_params, warm_start=warm_start)
    return replan(
        ds,
        scenario.stable.previous,
        run_params,
        change_penalty=scenario.stable.change_penalty,
        pinned=scenario.stable.pinned,
    )


@dataclass(frozen=True)
class ScenarioOutcome:
    """One scenario of a batch: where its plan went, or why it failed.

    Attributes
    ----------
    name, source
        The scenario's name and file.
    out_dir
        Its plan folder (``None`` when it failed).
    error
        The message when it failed, else ``""``.
    summary
        Solver status, objective, coverage and wall seconds.
    """

    name: str
    source: str
    out_dir: Path | None
    error: str = ""
    summary: Mapping[str, Any] = field(default_factory=dict)


def _message(exc: MatcherError) -> str:
    """An error's message to carry across processes: a :class:`Text` when it is one (it
    pickles with its values), so that it can still be shown in the reader's language."""
    first = exc.args[0] if len(exc.args) == 1 else None
    if isinstance(first, Text):
        return first
    if isinstance(exc, ParameterError):
        return Text(
            N_("parameter {name}={value}: expected {expected}"),
            name=exc.name,
            value=repr(exc.value),
            expected=exc.expected,
        )
    return str(exc)


def _run_file(
    path: str, out_dir: str, params: PlanParams | None, warm_start: Duals | None = None
) -> ScenarioOutcome:
    """Run one scenario file into ``out_dir/<name>`` (a process pool's task)."""
    return _run_file_keeping(path, out_dir, params, warm_start)[0]


def _run_file_keeping(
    path: str, out_dir: str, params: PlanParams | None, warm_start: Duals | None = None
) -> tuple[ScenarioOutcome, Duals | None]:
    """:func:`_run_file`, and the plan's LP duals (``None`` if it failed or has none)."""
    import time

    start = time.perf_counter()
    scenario = load_scenario(path)
    folder = Path(out_dir) / scenario.name
    try:
        result = run_scenario(scenario, params=params, warm_start=warm_start)
    except MatcherError as exc:
        # Messages cross the process boundary, not exception objects.
        return ScenarioOutcome(scenario.name, path, None, error=_message(exc)), None
    result.write(folder)
    described = {
        "name": scenario.name,
        "source": path,
        "description": scenario.description,
        "base": None if scenario.base is None else str(scenario.base),
        "changes": [dict(c.spec) for c in scenario.changes],
        "params": result.params.to_dict(),
    }
    (folder / "scenario.json").write_text(
        json.dumps(described, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    k = result.kpis
    outcome = ScenarioOutcome(
        scenario.name,
        path,
        folder,
        summary={
            "status": k["solver_status"],
            "objective": k["objective"],
            "coverage": k["coverage"],
            "seconds": round(time.perf_counter() - start, 3),
            # Started from the duals: asked to, and planned by the column solver.
            "warm_start": warm_start is not None and result.duals is not None,
        },
    )
    return outcome, result.duals


def _ray_map(
    calls: list[tuple[str, str, PlanParams | None, Duals | None]], jobs: int, address: str | None
) -> Iterator[tuple[int, ScenarioOutcome]]:
    """Run ``_run_file`` on each call as a Ray task; yield (index, outcome) as they end.

    Ray is started, reused or reached as :func:`matcher.solvers.parts.ray_session` says.
    """
    with ray_session(address, jobs) as ray:
        task = ray.remote(num_cpus=1)(_run_file)
        refs = {task.remote(*call): i for i, call in enumerate(calls)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], ray.get(ref)


def run_scenarios(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    jobs: int = 1,
    params: PlanParams | None = None,
    progress: Any = None,
    engine: str = "local",
    ray_address: str | None = None,
    warm_start: bool = False,
    lang: str = SOURCE_LANG,
) -> tuple[list[ScenarioOutcome], Any]:
    """Run many scenario files, in parallel processes, and compare their plans.

    Every file is read and checked first, so a mistake stops the batch before any
    solve. Each plan goes to ``out_dir/<scenario name>/`` (with a ``scenario.json``);
    the comparison (against the first scenario) to ``out_dir/comparison.*``. Plans do
    not depend on ``jobs``: each scenario is solved exactly in its own process.

    Parameters
    ----------
    paths
        Scenario files; names must differ.
    out_dir
        The output folder.
    jobs
        Processes to use (1: in this process).
    params
        Base run parameters for every scenario.
    progress
        A callable given one line of text as each scenario finishes (or ``None``).
    engine
        ``"local"`` (processes of this machine) or ``"ray"``: each scenario a Ray task,
        on a local Ray instance of ``jobs`` CPUs, or on the cluster at ``ray_address``
        (or ``RAY_ADDRESS``). With a cluster, the scenario files, their datasets and
        ``out_dir`` must be on a filesystem every node sees. The plans are the same.
    ray_address
        A running Ray cluster's address (``ray://host:10001`` or ``host:6379``).
    warm_start
        Plan the first scenario first, in this process, and start the column solver of
        every other from its LP duals (:func:`matcher.plans.planner.plan`, ``warm_start``): at
        city scale, well under half the time for scenarios that change a district or a
        tenth of the cadres. Every plan is optimal either way; where a scenario's optimum
        is not unique its plan may be another optimal one than without (the same on
        every run). If the first scenario fails, the others start cold.
    lang
        The language of the ``progress`` lines (and of a failed scenario's message
        there). Default English.

    Returns
    -------
    (outcomes, comparison)
        One outcome per file, in the given order, and the
        :class:`~matcher.analysis.compare.Comparison` of the plans that succeeded (``None`` if
        none did).

    Raises
    ------
    ScenarioError
        A file that does not read or check, or two scenarios with one name.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from matcher.analysis.compare import compare_plans

    if jobs < 1:
        raise ParameterError("jobs", jobs, Text(N_("a whole number, 1 or more")))
    if engine not in ("local", "ray"):
        raise ParameterError("engine", engine, Text(N_("local or ray")))
    scenarios = [load_scenario(p) for p in paths]
    names: dict[str, str] = {}
    for sc in scenarios:
        if sc.name in names:
            raise ScenarioError(
                sc.source,
                Text(
                    N_(
                        "the name {name} is also used by {other}; names must differ (they "
                        "name the plan folders)"
                    ),
                    name=repr(sc.name),
                    other=names[sc.name],
                ),
                field="name",
            )
        names[sc.name] = sc.source
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    total = len(scenarios)
    results: dict[int, ScenarioOutcome] = {}

    def report(i: int, outcome: ScenarioOutcome) -> None:
        results[i] = outcome
        if progress is None:
            return
        _ = translator(lang)
        done = f"[{len(results)}/{total}] {outcome.name}"
        if outcome.error:
            error = outcome.error
            error = error.render(lang) if isinstance(error, Text) else error
            progress(_("{done}: failed: {error}").format(done=done, error=error))
        else:
            s = outcome.summary
            cov = _("n/a") if s["coverage"] is None else f"{100 * s['coverage']:.1f}%"
            progress(
                _(
                    "{done}: {status}, objective {objective}, coverage {coverage} ({seconds} s)"
                ).format(
                    done=done,
                    status=s["status"],
                    objective=f"{s['objective']:,.4f}",
                    coverage=cov,
                    seconds=f"{s['seconds']:.2f}",
                )
            )

    duals: Duals | None = None
    first = 0
    if warm_start:
        outcome, duals = _run_file_keeping(scenarios[0].source, str(out), params)
        report(0, outcome)
        first = 1
    rest = list(enumerate(scenarios))[first:]
    if engine == "ray" and rest:
        calls = [(sc.source, str(out.resolve()), params, duals) for _, sc in rest]
        for j, outcome in _ray_map(calls, jobs, ray_address):
            report(rest[j][0], outcome)
    elif jobs == 1 or len(rest) <= 1:
        for i, sc in rest:
            report(i, _run_file(sc.source, str(out), params, duals))
    else:
        # spawn: workers import matcher afresh, sharing no state with this process.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(rest)), mp_context=ctx) as pool:
            futures = {
                pool.submit(_run_file, sc.source, str(out), params, duals): i for i, sc in rest
            }
            for future in as_completed(futures):
                report(futures[future], future.result())
    outcomes = [results[i] for i in range(total)]
    done = [o for o in outcomes if o.out_dir is not None]
    comparison = None
    if done:
        comparison = compare_plans(
            [o.out_dir for o in done if o.out_dir is not None], names=[o.name for o in done]
        )
        comparison.write(out)
    return outcomes, comparison
