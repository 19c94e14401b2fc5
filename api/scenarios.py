"""Runs with a scenario: the scenario's changes make a new stored dataset to plan.

``POST /runs`` with ``scenario`` checks the scenario (``matcher.analysis.scenario``) against the
run's dataset at once, so a wrong key, id or value is a 422 naming the change and the
field, never a failed run. The changed data are stored as a dataset of their own (found
again by content hash when the same change was made before), the run plans them, and the
run keeps the base dataset's id and the scenario, so that its history says what was
asked. The base dataset is never modified.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import matcher
from api import store
from api.db.models import DatasetRow
from api.errors import ApiError
from api.schemas import ScenarioCreate
from matcher.analysis.scenario import (
    apply_scenario,
    scenario_from_mapping,
    scenario_params,
)
from matcher.errors import ScenarioError
from matcher.i18n import N_, Text

__all__ = ["MAX_FACTOR", "MAX_SURGE", "apply_to_stored"]

MAX_SURGE = 500_000
"""Cadres one request may add by surges (a city five times Fuzhou's size)."""

MAX_FACTOR = 1000.0
"""Largest demand scaling one change may ask for over HTTP."""


def _too_large(changes: list[dict[str, Any]]) -> None:
    """Refuse changes whose size alone would tie up the server (the request thread applies
    them before the run is queued)."""
    for i, change in enumerate(changes):
        count, factor = change.get("count"), change.get("factor")
        if change.get("type") == "surge" and isinstance(count, int) and count > MAX_SURGE:
            field = "count"
            limit = Text(N_("at most {n} cadres per request"), n=f"{MAX_SURGE:,}")
        elif (
            change.get("type") == "scale_demand"
            and isinstance(factor, int | float)
            and factor > MAX_FACTOR
        ):
            field, limit = "factor", Text(N_("at most {n}"), n=f"{MAX_FACTOR:g}")
        else:
            continue
        raise ApiError(
            422,
            "invalid_scenario",
            Text(
                N_("scenario change {change} ({type}), field '{field}': {limit}"),
                change=i + 1,
                type=change["type"],
                field=field,
                limit=limit,
            ),
            [{"field": f"scenario.changes[{i}].{field}", "message": limit}],
        )


def _invalid(exc: ScenarioError) -> ApiError:
    field = "scenario"
    if exc.change is not None:
        field += f".changes[{exc.change - 1}]"
    if exc.field:
        field += f".{exc.field}"
    # The message and the problem are Texts: the error handler renders them in the
    # request's language.
    return ApiError(
        422,
        "invalid_scenario",
        exc.args[0],
        [{"field": field, "message": exc.problem}],
    )


def apply_to_stored(
    session: Session, dataset_id: str, body: ScenarioCreate, params: matcher.PlanParams
) -> tuple[str, matcher.PlanParams, dict[str, Any]]:
    """Apply a scenario to a stored dataset; store the result (once) and return its id.

    Returns the id of the changed dataset, the run parameters with the scenario's ``set``
    changes, and the scenario as the run records it.

    Raises
    ------
    ApiError
        422 naming the change and the field when the scenario does not fit the dataset.
    """
    _too_large(body.changes)
    document: dict[str, Any] = {"name": body.name, "changes": body.changes}
    if body.description:
        document["description"] = body.description
    try:
        scenario = scenario_from_mapping(document, "scenario")
        base = store.load_dataset(session, dataset_id)
        changed = apply_scenario(base, scenario)
        params = scenario_params(scenario, params)
    except ScenarioError as exc:
        raise _invalid(exc) from None
    existing = session.execute(
        select(DatasetRow.id).where(DatasetRow.content_hash == changed.content_hash)
    ).scalar_one_or_none()
    if existing is None:
        base_row = session.get(DatasetRow, dataset_id)
        name = f"{base_row.name if base_row else dataset_id} + scenario {scenario.name}"
        existing = uuid.uuid4().hex
        store.save_dataset(session, changed, existing, name[:300])
    return existing, params, document
