"""Explanations of a succeeded run (``matcher.analysis.explain``): bottlenecks, one demand's
explanation, and plain-language summaries.

Served from the store (:mod:`api.artifacts`): the run's worker computes the bottlenecks
and the summaries (English and Chinese) once the plan is stored; a demand's explanation
is computed on its first request in a read worker and kept. The server only reads them
(503 with Retry-After when a read has to be computed and as many are being computed as
the server allows).

**What a key scoped to districts sees** (its districts: S). Nothing it is shown names a
demand or community outside S, nor describes one:

* bottlenecks: a row only when its ``district`` (the suppliers' district) is in S. In
  such a row, ``demand_id`` and ``community_id`` are null unless that demand is in S,
  ``gaining_demand_id`` and ``gaining_community_id`` likewise, and ``moves`` is null
  unless every demand it names is in S (a chain of moves with gaps would mislead). The
  figures (``marginal_value``, ``suppliers``, ``supplier_hours``) and the supplier of S
  to add the hour at stay;
* a demand's explanation: 403 for a demand outside S. Who serves the demand is listed
  as ``/assignments`` lists it; of its nearest suppliers, what they serve instead
  (``elsewhere``, ``serves_instead``) is listed only for demands in S, while their hour
  totals stay whole;
* summaries: those of the districts in S and of the communities in S;
* the report: 403 (``api/routes/reports.py``).

**Languages.** Summaries are kept in every language of :data:`matcher.i18n.LANGS`
(``?lang=``, else the request's ``Accept-Language``); a demand's explanation gives its
reason and what its suppliers serve instead in the request's language; errors too.

Suppliers are named as in ``/assignments``: by the demands they serve, whatever their
own district.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from api import artifacts, crud
from api.deps import (
    LangQuery,
    RowsLimit,
    RowsOffset,
    RunId,
    RunReadDep,
    SessionDep,
    Viewer,
    district_scope,
)
from api.errors import ApiError, request_lang, responses
from api.routes.results import check_dataset, succeeded_run
from api.schemas import AssignmentBase, DemandStatusPublic, Page
from matcher.analysis.explain import DemandExplanation, explanation_in
from matcher.i18n import N_, Text

__all__ = ["router"]

router = APIRouter(
    prefix="/runs",
    tags=["explanations"],
    responses={**responses(400, 401, 403, 413, 404, 409, 422), **artifacts.busy_response()},
)

DemandId = Annotated[str, Path(min_length=1, max_length=200, description="A demand's id.")]
District = Annotated[str | None, Query(max_length=200, description="Only this district.")]


class BottleneckPublic(BaseModel):
    """The marginal value of one more hour of a skill at the suppliers of a district."""

    rank: int = Field(description="1 = the most valuable hour.")
    skill: str
    district: str = Field(description="The suppliers' district (home community's, else unit's).")
    marginal_value: float = Field(
        description="What one more hour of the skill at the best supplier of the district "
        "adds to the optimal objective (0: it would stay unused)."
    )
    suppliers: int = Field(description="Suppliers of the district with the skill.")
    supplier_hours: int = Field(description="Their hours.")
    supplier_kind: str | None = Field(description="Where to add the hour (null when worth 0).")
    supplier_id: str | None
    demand_id: str | None = Field(description="The demand the new hour serves.")
    community_id: str | None
    gaining_demand_id: str | None = Field(
        description="The demand whose covered hours rise (null: the hour replaces a worse one)."
    )
    gaining_community_id: str | None
    moves: str | None = Field(description="The hours that move, e.g. '+1 K1->D3; -1 K2->D3'.")


class DemandDetailPublic(DemandStatusPublic):
    """A demand's status, with its community's name."""

    community_name: str


class ValuedAssignmentPublic(AssignmentBase):
    """An assignment with the value it adds to the objective."""

    priority: int
    hours: int
    km: float
    tie: str
    hour_score: float = Field(description="priority_weight * priority - travel_cost_per_km * km.")
    value: float = Field(description="hours * hour_score.")


class NearestSupplierPublic(BaseModel):
    """A supplier near a demand, and where its hours went."""

    rank: int
    supplier_kind: str
    supplier_id: str
    unit_id: str
    km: float
    tie: str = Field(description="Its tie to the demand's community ('' when none).")
    eligible: bool = Field(description="Whether it may serve the demand (skill and tie).")
    hour_score: float = Field(description="What an hour from it would score at this demand.")
    hours: int
    hours_here: int
    hours_elsewhere: int
    hours_left: int
    serves_instead: str = Field(description="Its other assignments, in the request's language.")


class DemandExplanationPublic(BaseModel):
    """Why a demand got the hours it got."""

    demand: DemandDetailPublic
    reason_text: str = Field(
        description="The reason in plain words, in the request's language ('' when met)."
    )
    assignments: list[ValuedAssignmentPublic] = Field(description="Who serves it.")
    nearest: list[NearestSupplierPublic] = Field(
        description="The nearest suppliers that could serve it (or, when none could, the "
        "nearest with its skill)."
    )
    elsewhere: list[ValuedAssignmentPublic] = Field(
        description="What those suppliers serve instead."
    )


class SummaryPublic(BaseModel):
    """A plain-language summary of a district or a community."""

    scope: Literal["district", "community"]
    id: str
    name: str
    lang: str = Field(description="The language of the text (one of the catalogues').")
    text: str


_NAMED = (("demand_id", "community_id"), ("gaining_demand_id", "gaining_community_id"))


def _scoped_row(row: dict[str, Any], named: dict[str, Any], districts: list[str]) -> dict[str, Any]:
    """A bottleneck row as a key of ``districts`` may see it (see the module's notes)."""
    out = dict(row)
    for demand, community in _NAMED:
        if out[demand] and named[demand] not in districts:
            out[demand] = out[community] = ""
    if out["moves"] and not set(named["moves"]) <= set(districts):
        out["moves"] = ""
    return out


@router.get("/{run_id}/bottlenecks", response_model=Page[BottleneckPublic])
def get_bottlenecks(
    read: RunReadDep,
    district: District = None,
    limit: RowsLimit = 100,
    offset: RowsOffset = 0,
) -> dict[str, Any]:
    """The marginal value of one more hour of each skill in each district, ranked (the
    most valuable first), with the supplier to add it at and the demands that would take
    it. 409 for a run whose labour model has integer rules (it has no marginal values)."""
    who = read.who
    run = succeeded_run(read.session, read.run_id)
    districts = district_scope(who, district)
    check_dataset(read.session, run)
    data = artifacts.read(read.request, run.id, artifacts.BOTTLENECKS).json()
    rows = []
    for row, named in zip(data["rows"], data["scope"], strict=True):
        if districts is not None and row["district"] not in districts:
            continue
        if who.districts is not None:
            row = _scoped_row(row, named, who.districts)
        rows.append({k: (None if v == "" else v) for k, v in row.items()})
    return {
        "items": rows[offset : offset + limit],
        "total": len(rows),
        "limit": limit,
        "offset": offset,
    }


@router.get("/{run_id}/demands/{demand_id}/explanation", response_model=DemandExplanationPublic)
def get_demand_explanation(
    run_id: RunId,
    demand_id: DemandId,
    request: Request,
    session: SessionDep,
    who: Viewer,
    nearest: Annotated[int, Query(ge=1, le=100, description="Suppliers to list.")] = 5,
) -> dict[str, Any]:
    """Why one demand got the hours it got: its status and reason, who serves it (with
    the value each assignment adds), the nearest suppliers that could have served it and
    what they serve instead. 404 for a demand not in the run; 403 for a demand outside a
    district-scoped key's districts. Computed on first request (in a read worker) and
    kept: 503 with Retry-After when as many reads are being computed as allowed."""
    run = succeeded_run(session, run_id)
    found = crud.demand_district(session, run_id, demand_id)
    if found is None:
        raise ApiError(
            404,
            "not_found",
            Text(N_("no demand with id {ident} in run {run}"), ident=repr(demand_id), run=run_id),
        )
    if not who.can_read_district(found):
        raise ApiError(
            403,
            "forbidden_district",
            Text(
                N_(
                    "demand {demand} is in district {district}; this key may read only "
                    "districts {districts}"
                ),
                demand=demand_id,
                district=found,
                districts=", ".join(who.districts or []),
            ),
        )
    check_dataset(session, run)
    name = artifacts.explanation_name(demand_id, nearest)
    out: dict[str, Any] = artifacts.read(request, run.id, name).json()
    if who.districts is not None:
        out = DemandExplanation.from_dict(out).scoped(who.districts).to_dict()
    out = explanation_in(out, request_lang(request))
    out["demand"]["funded"] = out["demand"].get("funded") or ""
    out["demand"]["reason"] = out["demand"].get("reason") or ""
    return out


@router.get("/{run_id}/summaries", response_model=list[SummaryPublic])
def get_summaries(
    read: RunReadDep,
    district: District = None,
    lang: LangQuery = None,
    scope: Annotated[
        Literal["district", "community"] | None,
        Query(description="Only district or only community summaries."),
    ] = None,
) -> list[dict[str, Any]]:
    """A few sentences per district and per community: hours demanded and covered,
    demands met, partial and unmet, the largest shortfalls with their main reason, the
    units giving the most hours and (districts) the bottleneck skill."""
    lang = lang or request_lang(read.request)
    run = succeeded_run(read.session, read.run_id)
    districts = district_scope(read.who, district)
    check_dataset(read.session, run)
    data = artifacts.read(read.request, run.id, artifacts.summaries_name(lang)).json()
    rows: list[dict[str, Any]] = []
    for row, where in zip(data["rows"], data["districts"], strict=True):
        if districts is not None and where not in districts:
            continue
        if scope is not None and row["scope"] != scope:
            continue
        rows.append(row)
    return rows
