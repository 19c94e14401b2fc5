"""The scenario file: its data classes, its JSON Schema and the messages of its mistakes.

A scenario file is checked against the JSON Schema shipped in
``matcher/schemas/scenario.schema.json`` (read with :mod:`importlib.resources`); every
mistake is a :class:`~matcher.errors.ScenarioError` naming the file, the change (its
number, from 1, and type) and the field.

Examples
--------
>>> sc = scenario_from_mapping({"name": "t", "changes": [{"type": "set", "params": {"seed": 3}}]})
>>> sc.changes[0].type, sc.changes[0].get("params")["seed"]
('set', 3)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from matcher.errors import ParameterError, ScenarioError
from matcher.i18n import N_, Text
from matcher.params import PlanParams

__all__ = [
    "CHANGE_TYPES",
    "SCENARIO_SUFFIXES",
    "Change",
    "Scenario",
    "StableSpec",
    "load_scenario",
    "scenario_from_mapping",
    "scenario_schema",
    "validate_scenario_data",
]

CHANGE_TYPES: tuple[str, ...] = ("scale_demand", "add", "remove", "update", "surge", "set")
"""The change types a scenario may list, in the order the schema documents them."""

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")


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
        """A :class:`~matcher.errors.ScenarioError` about one of this scenario's changes."""
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
