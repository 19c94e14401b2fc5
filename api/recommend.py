"""Recommendation runs at the edge: request options to the library's parameters, the
worker's call of :func:`matcher.analysis.recommend.recommend_pairings` or
:func:`matcher.analysis.recommend.recommend_alliances`, and the result's tables to rows.

Nothing here recommends; the library does. A recommendation run is a row of ``runs``
(``kind`` ``pairings`` or ``alliances``), so the dispatcher queues, starts, cancels and
time-limits it like a plan run; its options and figures are in ``recommendations`` and
its tables in ``recommendation_rows`` (one JSON object per row, with the row's district).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session, sessionmaker

import matcher
from api.db.models import Recommendation, RecommendationRow, Run, utcnow
from api.db.session import rowcount, session_scope
from matcher.analysis.recommend import (
    SCOPE_KEYS,
    AllianceParams,
    AllianceResult,
    PairingParams,
    PairingResult,
    Scope,
    recommend_alliances,
    recommend_pairings,
)

__all__ = [
    "KINDS",
    "TABLES",
    "TABLE_NAMES",
    "TableSpec",
    "delete_recommendation",
    "json_ready",
    "library_params",
    "options_of",
    "recommend",
    "run_recommendation",
    "save_recommendation",
    "scope_from_options",
    "table_frame",
]

KINDS = ("pairings", "alliances")
"""The kinds of recommendation run (``runs.kind``; plan runs are ``plan``)."""


@dataclass(frozen=True)
class TableSpec:
    """One table of a recommendation result.

    Attributes
    ----------
    attribute
        The result's attribute holding the frame.
    district
        Where a row's district comes from: ``"column"`` (the table's own ``district``;
        empty = a city-wide row), ``"community"`` (its ``community_id``), ``"alliance"``
        (its ``alliance_id``'s alliance) or ``None``: the table is not by district (a
        key scoped to districts may not read it).
    file
        The file the CLI writes it to (the CSV download's name).
    description
        What a row is, for the API docs.
    """

    attribute: str
    district: str | None
    file: str
    description: str


TABLES: dict[str, dict[str, TableSpec]] = {
    "pairings": {
        "recommendations": TableSpec(
            "recommendations",
            "column",
            "pairing_recommendations.csv",
            "one row per new pairing (or, with reconsider, dropped one): unit, community, "
            "district, km, value, unmet hours served",
        ),
        "districts": TableSpec(
            "districts",
            "column",
            "pairing_districts.csv",
            "per district in scope: pairings before and after, per community, communities "
            "below min_partners",
        ),
        "units": TableSpec(
            "units",
            None,
            "pairing_units.csv",
            "per unit: cap and load (communities paired) before and after",
        ),
        "pairings": TableSpec(
            "pairings",
            "community",
            "pairings.csv",
            "the dataset's pairings after the recommendation, with status existing or new",
        ),
        "before_after": TableSpec(
            "comparison",
            "column",
            "before_after.csv",
            "plan KPIs without and with the recommended pairings (district empty: city-wide)",
        ),
    },
    "alliances": {
        "recommendations": TableSpec(
            "recommendations",
            "column",
            "alliance_recommendations.csv",
            "per street with gaps: the alliance joined or created, its recommended members, "
            "the gap hours and the hours they cover",
        ),
        "gaps": TableSpec(
            "gaps",
            "column",
            "alliance_gaps.csv",
            "per (district, street, category): hours short that a new tie can fix",
        ),
        "candidates": TableSpec(
            "candidates",
            "column",
            "alliance_candidates.csv",
            "units that could serve a street's gaps: distance and supply per category",
        ),
        "alliances": TableSpec(
            "alliances",
            "column",
            "alliances.csv",
            "the dataset's alliances after the recommendation, with status existing or new",
        ),
        "alliance_members": TableSpec(
            "alliance_members",
            "alliance",
            "alliance_members.csv",
            "the dataset's alliance members after the recommendation, with status",
        ),
        "before_after": TableSpec(
            "comparison",
            "column",
            "before_after.csv",
            "plan KPIs without and with the recommended alliances (district empty: city-wide)",
        ),
    },
}
"""The tables of each kind of result, by the name the API reads them under."""

TABLE_NAMES = tuple(dict.fromkeys(n for tables in TABLES.values() for n in tables))
"""Every table name of every kind, in order."""


def scope_from_options(scope: Mapping[str, Any] | None) -> Scope:
    """A :class:`matcher.analysis.recommend.Scope` from ``{"district": [...], "street": [...],
    "community_id": [...]}`` (omitted or null keys select everything)."""
    if not scope:
        return Scope()
    filters = tuple((k, tuple(str(v) for v in scope[k])) for k in SCOPE_KEYS if scope.get(k))
    return Scope(filters)


def library_params(kind: str, options: Mapping[str, Any]) -> PairingParams | AllianceParams:
    """The library's parameters of a ``kind`` recommendation from its request options
    (omitted or null options keep the library's defaults).

    Raises
    ------
    matcher.ParameterError
        Naming the option the library refuses.
    """
    values = {k: v for k, v in options.items() if v is not None}
    values["scope"] = scope_from_options(values.get("scope"))
    if "unit_kinds" in values:
        values["unit_kinds"] = tuple(values["unit_kinds"])
    if kind == "pairings":
        return PairingParams(**values)
    if kind == "alliances":
        return AllianceParams(**values)
    raise ValueError(f"unknown recommendation kind {kind!r}")


def options_of(params: PairingParams | AllianceParams) -> dict[str, Any]:
    """Every option of the library's parameters as JSON (what the run stores and shows;
    :func:`library_params` reads it back)."""
    out = {f.name: getattr(params, f.name) for f in fields(params)}
    out["scope"] = {key: list(values) for key, values in params.scope.filters}
    out["unit_kinds"] = list(params.unit_kinds)
    return {k: json_ready(v) for k, v in out.items()}


def recommend(
    kind: str,
    dataset: matcher.Dataset,
    options: Mapping[str, Any],
    plan_params: matcher.PlanParams,
) -> PairingResult | AllianceResult:
    """Run the library's recommender of ``kind`` (what the worker process does)."""
    params = library_params(kind, options)
    if isinstance(params, PairingParams):
        return recommend_pairings(dataset, params, plan_params)
    return recommend_alliances(dataset, params, plan_params)


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON: numpy scalars as Python ones, NaN and infinities as null
    (PostgreSQL's ``json`` refuses NaN)."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _districts(
    spec: TableSpec, frame: pd.DataFrame, dataset: matcher.Dataset, result: Any
) -> list[str | None]:
    """Each row's district by the table's rule (``None``: city-wide or not by district)."""
    if spec.district is None:
        return [None] * len(frame)
    if spec.district == "column":
        values = frame["district"].tolist()
    elif spec.district == "community":
        communities = dataset.communities
        lookup = dict(zip(communities["community_id"], communities["district"], strict=True))
        values = frame["community_id"].map(lookup).tolist()
    else:
        alliances = result.alliances
        lookup = dict(zip(alliances["alliance_id"], alliances["district"], strict=True))
        values = frame["alliance_id"].map(lookup).tolist()
    out: list[str | None] = []
    for v in values:
        text = json_ready(v)
        out.append(str(text) if text not in (None, "") else None)
    return out


def save_recommendation(
    session: Session,
    run_id: str,
    claim_token: str,
    kind: str,
    result: PairingResult | AllianceResult,
    dataset: matcher.Dataset,
    timings: Mapping[str, float],
) -> bool:
    """Write a recommendation's tables and figures and mark its run succeeded, in the
    session's transaction.

    Nothing is written (and ``False`` returned) unless the run is still ``running``
    under ``claim_token``: a cancelled, timed-out or interrupted run stays as it is.
    """
    t0 = time.perf_counter()
    summary = json_ready(result.summary)
    tables: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for name, spec in TABLES[kind].items():
        frame: pd.DataFrame = getattr(result, spec.attribute)
        columns = [str(c) for c in frame.columns]
        districts = _districts(spec, frame, dataset, result)
        for i, values in enumerate(frame.itertuples(index=False, name=None)):
            data = {c: json_ready(v) for c, v in zip(columns, values, strict=True)}
            rows.append(
                {
                    "run_id": run_id,
                    "table_name": name,
                    "row_no": i,
                    "district": districts[i],
                    "data": data,
                }
            )
        tables[name] = {"columns": columns, "rows": len(frame)}
    stored = {k: round(float(v), 4) for k, v in timings.items()}
    stored["store"] = round(time.perf_counter() - t0, 4)
    done = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == "running", Run.claim_token == claim_token)
        .values(status="succeeded", finished_at=utcnow(), timings=stored)
    )
    if rowcount(done) != 1:
        return False
    session.execute(
        update(Recommendation)
        .where(Recommendation.run_id == run_id)
        .values(
            summary=summary,
            tables=tables,
            objective_before=float(result.before.objective),
            objective_after=float(result.after.objective),
            gain=float(result.gain),
        )
    )
    for start in range(0, len(rows), 5000):
        session.execute(insert(RecommendationRow), rows[start : start + 5000])
    return True


def run_recommendation(
    factory: sessionmaker[Session],
    run_id: str,
    claim_token: str,
    dataset: matcher.Dataset,
    plan_params: matcher.PlanParams,
    load_seconds: float,
) -> None:
    """The worker's job for a recommendation run: recommend, then store the result.

    Errors propagate to the worker, which fails the run with the library's message (a
    contradiction's diagnosis names the communities at fault).
    """
    with session_scope(factory) as session:
        row = session.get(Recommendation, run_id)
        if row is None:
            raise ValueError(f"run {run_id} has no recommendation request")
        kind, options = row.kind, dict(row.options)
    result = recommend(kind, dataset, options, plan_params)
    seconds = result.summary.get("seconds", {})
    timings = {"load": load_seconds, **{str(k): float(v) for k, v in seconds.items()}}
    with session_scope(factory) as session:
        save_recommendation(session, run_id, claim_token, kind, result, dataset, timings)


def delete_recommendation(session: Session, run_id: str) -> None:
    """Remove a recommendation run's rows and request (before deleting the run)."""
    session.execute(delete(RecommendationRow).where(RecommendationRow.run_id == run_id))
    session.execute(delete(Recommendation).where(Recommendation.run_id == run_id))


def table_frame(columns: list[str], rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Stored rows as the library's frame (its columns, in its order)."""
    # JSON keeps 2.0 a float and 2 an int, so each column reads back with its dtype and
    # the CSV is written as the CLI writes it.
    return pd.DataFrame.from_records([[r.get(c) for c in columns] for r in rows], columns=columns)
