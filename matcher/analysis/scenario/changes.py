"""What a scenario changes: one rule per change type, applied to a dataset's tables.

Applying a scenario never touches the base dataset: it builds a new one with
:func:`matcher.inputs.dataset.dataset_from_frames`, so the data's own validation runs on the
result too. Each change type is one rule, ``tables, scenario, change -> tables``
(:data:`_RULES`); ``set`` changes concern the run, not the data (:func:`scenario_params`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from matcher.analysis.scenario.schema import Change, Scenario
from matcher.errors import DatasetError, ParameterError, ScenarioError
from matcher.i18n import N_, SOURCE_LANG, Text
from matcher.inputs.dataset import Dataset, dataset_from_frames, load_dataset
from matcher.inputs.schema import TABLES, TABLES_BY_NAME, Kind
from matcher.model.geo import GENERATOR_KM_PER_DEG_LAT, GENERATOR_KM_PER_DEG_LON_EQ
from matcher.params import PlanParams

__all__ = ["apply_scenario", "scenario_dataset", "scenario_params"]

_DEMAND_FILTERS = ("district", "street", "community", "category", "priority", "demand")


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
    return _RULES[change.type](dict(tables), scenario, change)


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
            raise _columns_error(
                scenario,
                change,
                N_("unknown column of {table}; expected one of {names}"),
                table,
                allowed,
                f"{field}.{name}",
            )


def _columns_error(
    scenario: Scenario,
    change: Change,
    message: str,
    table: str,
    names: Sequence[str],
    field: str,
) -> ScenarioError:
    """The scenario's error at ``field`` of ``change``: ``message`` (marked with ``N_``)
    about ``table`` and the column ``names`` it lists."""
    return scenario.error(change, Text(message, table=table, names=", ".join(names)), field)


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
            raise _columns_error(
                scenario,
                change,
                N_("{table} has no id column; give rows with {names}"),
                table,
                spec.key,
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
                raise _columns_error(
                    scenario,
                    change,
                    N_("missing; a row of {table} is named by {names}"),
                    table,
                    key,
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
    """The ``surge`` rule: ``count`` new cadres from the units ``from`` selects."""
    units = _table(tables, "units")
    cadres = _table(tables, "cadres")
    mask = _surge_units(units, scenario, change)
    skills = _surge_skills(cadres, _table(tables, "demands"), scenario, change)
    ids = _surge_ids(cadres, scenario, change)
    cfg = _surge_config(change)
    rng, unit, hours = _surge_draw(units, mask, change, len(ids))
    comm_ids, home, lat, lon, own = _surge_place(
        rng, _table(tables, "communities"), units, unit, cfg
    )
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


def _surge_units(units: pd.DataFrame, scenario: Scenario, change: Change) -> np.ndarray:
    """The units a surge draws from: every ``from`` filter holds."""
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
    return mask


def _surge_skills(
    cadres: pd.DataFrame, demands: pd.DataFrame, scenario: Scenario, change: Change
) -> list[str]:
    """The surge's skills, each a demand category or a skill some cadre has."""
    known = set(_text(demands["category"]))
    for text in _text(cadres["skills"]):
        known.update(p.strip() for p in text.split(";") if p.strip())
    skills = [str(s).strip() for s in change.get("skills")]
    _known(scenario, change, "skills", skills, known, "skill")
    return skills


def _surge_ids(cadres: pd.DataFrame, scenario: Scenario, change: Change) -> list[str]:
    """The new cadres' ids: ``id_prefix`` and a number, none taken already."""
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
    return ids


def _surge_config(change: Change) -> Any:
    """The generator's configuration, with the change's placement shares."""
    from matcher.inputs.generate import GeneratorParams

    shares = {
        k: float(change.get(k))
        for k in ("home_share", "home_in_unit_district_share", "explicit_location_share")
        if change.get(k) is not None
    }
    return GeneratorParams(**shares)  # type: ignore[arg-type]


def _surge_draw(
    units: pd.DataFrame, mask: np.ndarray, change: Change, count: int
) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    """The seeded draw of each new cadre's unit (by unit size) and hours, as the generator
    draws them; returns the generator to place the cadres with next."""
    from matcher.inputs.generate import draw_cadre_hours, draw_cadre_units, unit_size

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
    return rng, unit, hours


def _surge_place(
    rng: np.random.Generator, comms: pd.DataFrame, units: pd.DataFrame, unit: np.ndarray, cfg: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Place the new cadres of ``unit`` as the generator does: on a plane around the
    communities' mean, with the communities grouped by district (the generator keeps them
    contiguous). Returns the community ids in that order, each cadre's home (an index into
    them, or -1), its latitude and longitude, and whether it has a location of its own."""
    from matcher.inputs.generate import place_cadres

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
    return comm_ids, home, lat, lon, own


_Rule = Callable[[dict[str, pd.DataFrame], Scenario, Change], dict[str, pd.DataFrame]]

_RULES: dict[str, _Rule] = {
    "scale_demand": _scale_demand,
    "add": _add,
    "remove": _remove,
    "update": _update,
    "surge": _surge,
}
"""The rule of each data change type (``set`` changes the run: :func:`scenario_params`)."""


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
