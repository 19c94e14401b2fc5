"""Recommend street alliances: which units and enterprises should join forces on a street.

An alliance ties its members' cadres and services to every community of its district and
street (the spec's tie 3). This module finds, per street, the demand no tied supplier can
serve, and the alliance that would serve the most of it with the fewest members:

1. **gaps**: the optimal plan's ``demand_status`` names, for every demand not fully met,
   why; demands short for ``no_eligible_supplier`` (no supplier with the skill has any
   tie) or ``too_far`` (tied suppliers are too far to score) are what a new tie can fix.
   Their missing hours are summed per (street, category);
2. **candidates**: units standing within ``radius_km`` of some community of the street,
   not yet in an alliance of that street, whose suppliers have the category's skill and
   would score above zero there; a candidate's supply in a category is the hours of
   those suppliers;
3. **the cover**: per street, a CP-SAT model picks members ``z_u`` and covered hours
   ``h_g <= min(gap hours, sum of chosen members' supply in g)`` per gap ``g``, and
   maximizes ``W * sum(h) - sum(z)`` with ``W`` = (candidates + 1): an hour more
   always beats a member fewer, so this is lexicographic (most hours, then fewest
   members); a second stage keeps both and minimizes the members' total distance;
4. the alliances are added to the dataset (joining the street's existing alliance, if
   any, else as a new one) and the dataset is re-planned: before/after.

Entry point: :func:`recommend_alliances`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from matcher.analysis.recommend import (
    Scope,
    before_after,
    format_before_after,
    solve_stage,
    write_result,
)
from matcher.errors import ParameterError, SolverError
from matcher.i18n import N_, Text, translator
from matcher.inputs.dataset import Dataset, load_dataset
from matcher.inputs.schema import UNIT_KINDS
from matcher.model.eligibility import build_problem, hour_score
from matcher.model.geo import haversine_km
from matcher.params import PlanParams
from matcher.plans.planner import Plan, plan

__all__ = [
    "GAP_REASONS",
    "AllianceParams",
    "AllianceResult",
    "Cover",
    "best_cover",
    "recommend_alliances",
    "street_candidates",
    "street_gaps",
]

GAP_REASONS = ("no_eligible_supplier", "too_far")
"""Reasons of a demand's shortfall that a new tie can fix."""


@dataclass(frozen=True)
class AllianceParams:
    """Parameters of an alliance recommendation; every field has a default and is checked.

    Attributes
    ----------
    radius_km
        Candidate members stand (their unit's location) within this distance of some
        community of the street. Default 10.0.
    max_members
        At most this many new members per street (``None``: no limit). Default ``None``.
    unit_kinds
        Only units of these kinds may join (empty: every kind). Default empty.
    scope
        The communities whose streets are considered (default: all).
    time_limit_s
        Wall-clock limit of each CP-SAT stage, per street. Default 10.
    seed
        CP-SAT's random seed (one worker, so results are reproducible). Default 0.
    """

    radius_km: float = 10.0
    max_members: int | None = None
    unit_kinds: tuple[str, ...] = ()
    scope: Scope = field(default_factory=Scope)
    time_limit_s: float = 10.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (
            isinstance(self.radius_km, int | float)
            and not isinstance(self.radius_km, bool)
            and math.isfinite(self.radius_km)
            and self.radius_km > 0
        ):
            raise ParameterError(
                "radius_km", self.radius_km, Text(N_("a distance in km greater than 0"))
            )
        m = self.max_members
        if m is not None and (not isinstance(m, int) or isinstance(m, bool) or m < 1):
            raise ParameterError("max_members", m, Text(N_("a whole number, 1 or more")))
        bad = [k for k in self.unit_kinds if k not in UNIT_KINDS]
        if bad:
            raise ParameterError(
                "unit_kinds", bad[0], Text(N_("one of {names}"), names=", ".join(UNIT_KINDS))
            )
        if not (isinstance(self.time_limit_s, int | float) and self.time_limit_s > 0):
            raise ParameterError(
                "time_limit_s", self.time_limit_s, Text(N_("seconds greater than 0"))
            )
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ParameterError("seed", self.seed, Text(N_("a whole number, 0 or more")))

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dictionary."""
        return {
            "radius_km": self.radius_km,
            "max_members": self.max_members,
            "unit_kinds": list(self.unit_kinds),
            "scope": self.scope.describe(),
            "time_limit_s": self.time_limit_s,
            "seed": self.seed,
        }


def street_gaps(dataset: Dataset, before: Plan, scope_mask: np.ndarray) -> pd.DataFrame:
    """Per (district, street, category): the hours short for a reason a tie can fix.

    Returns
    -------
    DataFrame
        ``district, street, category, unmet_hours, demands, reasons`` (reasons
        ``;``-joined), sorted by district, street, category.
    """
    status = before.demand_status
    comms = dataset.communities
    street_of = dict(zip(comms["community_id"], comms["street"], strict=True))
    in_scope = set(comms["community_id"][scope_mask].tolist())
    gap = status[status["reason"].isin(GAP_REASONS) & status["community_id"].isin(in_scope)]
    gap = gap.assign(
        street=gap["community_id"].map(street_of),
        unmet_hours=gap["hours"] - gap["covered_hours"],
    )
    gap = gap[gap["unmet_hours"] > 0]
    cols = ["district", "street", "category", "unmet_hours", "demands", "reasons"]
    if gap.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    out = (
        gap.groupby(["district", "street", "category"], sort=True)
        .agg(
            unmet_hours=("unmet_hours", "sum"),
            demands=("demand_id", lambda s: ";".join(s)),
            reasons=("reason", lambda s: ";".join(sorted(set(s)))),
        )
        .reset_index()
    )
    out["unmet_hours"] = out["unmet_hours"].astype(np.int64)
    return out[cols]


def street_candidates(
    dataset: Dataset, gaps: pd.DataFrame, params: AllianceParams, plan_params: PlanParams
) -> pd.DataFrame:
    """Units that could fill each street's gaps, with their supply per gap category.

    Returns
    -------
    DataFrame
        ``district, street, unit_id, kind, km`` (unit to the nearest community of the
        street), ``category, supply_hours``: one row per candidate and gap category it
        can serve.
    """
    cols = ["district", "street", "unit_id", "kind", "km", "category", "supply_hours"]
    if gaps.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    problem = build_problem(dataset, plan_params)
    s = problem.suppliers
    comms, units = dataset.communities, dataset.units
    c_lat, c_lon = comms["lat"].to_numpy(float), comms["lon"].to_numpy(float)
    u_lat, u_lon = units["lat"].to_numpy(float), units["lon"].to_numpy(float)
    cat_index = {c: i for i, c in enumerate(problem.categories)}
    n_cat = len(problem.categories)
    skill = np.zeros((len(s), n_cat), dtype=bool)
    owner = np.repeat(np.arange(len(s)), np.diff(s.skill_ptr))
    skill[owner, s.skill_cat] = True
    members = dataset.alliance_members.merge(dataset.alliances, on="alliance_id")
    in_alliance = set(zip(members["district"], members["street"], members["unit_id"], strict=True))
    kinds = units["kind"].to_numpy(object)
    allowed = (
        np.isin(kinds, list(params.unit_kinds)) if params.unit_kinds else np.ones(len(units), bool)
    )
    demands = dataset.demands
    rows: list[dict[str, Any]] = []
    for (district_key, street_key), cell in gaps.groupby(["district", "street"], sort=True):
        district, street = str(district_key), str(street_key)
        where = np.flatnonzero(
            (comms["district"] == district).to_numpy() & (comms["street"] == street).to_numpy()
        )
        gap_ids = set(";".join(cell["demands"]).split(";"))
        dem = demands[demands["demand_id"].isin(gap_ids)]
        for u in range(len(units)):
            uid = str(units["unit_id"].iloc[u])
            if not allowed[u] or (district, street, uid) in in_alliance:
                continue
            km = haversine_km(np.full(len(where), u_lat[u]), np.full(len(where), u_lon[u]),
                              c_lat[where], c_lon[where])  # fmt: skip
            if km.min(initial=np.inf) > params.radius_km:
                continue
            sups = np.flatnonzero((s.unit == u) & (s.hours > 0))
            for cat in cell["category"].tolist():
                ci = cat_index[cat]
                own = sups[skill[sups, ci]]
                if len(own) == 0:
                    continue
                mine = dem[dem["category"] == cat]
                comm_rows = (
                    mine["community_id"]
                    .map(dict(zip(comms["community_id"], range(len(comms)), strict=True)))
                    .to_numpy(dtype=np.int64)
                )
                prio = mine["priority"].to_numpy(dtype=np.int64)
                # A supplier counts if an hour from it would score above zero on a gap demand.
                dist = haversine_km(
                    np.repeat(s.lat[own], len(comm_rows)),
                    np.repeat(s.lon[own], len(comm_rows)),
                    np.tile(c_lat[comm_rows], len(own)),
                    np.tile(c_lon[comm_rows], len(own)),
                ).reshape(len(own), len(comm_rows))
                score = hour_score(np.tile(prio, (len(own), 1)), dist, plan_params)
                useful = own[(score > 0).any(axis=1)]
                supply = int(s.hours[useful].sum())
                if supply > 0:
                    rows.append(
                        {
                            "district": district,
                            "street": street,
                            "unit_id": uid,
                            "kind": kinds[u],
                            "km": round(float(km.min()), 4),
                            "category": cat,
                            "supply_hours": supply,
                        }
                    )
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class Cover:
    """The chosen members of one street's alliance and what they cover."""

    members: tuple[str, ...]
    covered_hours: int
    covered: dict[str, int]
    km: float


def best_cover(
    gaps: dict[str, int],
    supply: dict[str, dict[str, int]],
    km: dict[str, float],
    max_members: int | None = None,
    time_limit_s: float = 10.0,
    seed: int = 0,
) -> Cover:
    """The members that cover the most gap hours, then are fewest, then nearest.

    Parameters
    ----------
    gaps
        Unmet hours per category.
    supply
        Per candidate unit, its supply hours per category.
    km
        Per candidate unit, its distance to the street.
    max_members
        At most this many members.

    Examples
    --------
    >>> c = best_cover({"legal_aid": 10, "parking": 4},
    ...                {"U1": {"legal_aid": 6}, "U2": {"legal_aid": 10, "parking": 1},
    ...                 "U3": {"parking": 4}}, {"U1": 1.0, "U2": 2.0, "U3": 3.0})
    >>> c.members, c.covered_hours
    (('U2', 'U3'), 14)
    """
    names = sorted(supply)
    cats = sorted(gaps)
    if not names or not cats:
        return Cover((), 0, {}, 0.0)
    model = cp_model.CpModel()
    z = {u: model.new_bool_var(f"z_{u}") for u in names}
    h = {g: model.new_int_var(0, int(gaps[g]), f"h_{g}") for g in cats}
    for g in cats:
        model.add(h[g] <= sum(int(supply[u].get(g, 0)) * z[u] for u in names))
    if max_members is not None:
        model.add(sum(z.values()) <= max_members)
    weight = len(names) + 1  # > the most members: one hour outweighs every member
    first = weight * sum(h.values()) - sum(z.values())
    model.maximize(first)
    solver, status = solve_stage(model, time_limit_s, seed)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise SolverError(
            Text(
                N_("the alliance cover ended with status {status}"),
                status=solver.status_name(status),
            )
        )
    model.add(first >= round(solver.objective_value))
    model.clear_objective()  # type: ignore[no-untyped-call]
    model.minimize(sum(round(km[u] * 100) * z[u] for u in names))
    solver, status = solve_stage(model, time_limit_s, seed)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise SolverError(
            Text(
                N_("the alliance cover ended with status {status}"),
                status=solver.status_name(status),
            )
        )
    chosen = tuple(u for u in names if solver.value(z[u]))
    covered = {g: int(solver.value(h[g])) for g in cats if solver.value(h[g]) > 0}
    return Cover(chosen, sum(covered.values()), covered, round(sum(km[u] for u in chosen), 4))


@dataclass(frozen=True)
class AllianceResult:
    """An alliance recommendation and the plans that judge it.

    Attributes
    ----------
    gaps
        Per (district, street, category): hours short for ``no_eligible_supplier`` or
        ``too_far``.
    candidates
        Units that could serve those gaps: distance to the street and supply per
        category.
    recommendations
        Per street with gaps: the alliance joined or created, the recommended members,
        the gap hours, the hours they cover (total and by category), the categories left
        uncovered.
    alliances, alliance_members
        The dataset's tables after the recommendation, with a ``status`` column
        (``existing`` or ``new``).
    comparison
        :func:`matcher.analysis.recommend.before_after` of the plans without and with them.
    summary
        JSON-ready figures.
    dataset
        The dataset with the recommended alliances, ready to plan.
    before, after
        The plans without and with them.
    """

    gaps: pd.DataFrame
    candidates: pd.DataFrame
    recommendations: pd.DataFrame
    alliances: pd.DataFrame
    alliance_members: pd.DataFrame
    comparison: pd.DataFrame
    summary: dict[str, Any]
    dataset: Dataset = field(repr=False)
    before: Plan = field(repr=False)
    after: Plan = field(repr=False)

    @property
    def gain(self) -> float:
        """The plan's objective with the recommended alliances minus without."""
        return float(self.after.objective - self.before.objective)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``alliances.csv`` and ``alliance_members.csv`` (dataset format plus
        ``status``), ``alliance_gaps.csv``, ``alliance_candidates.csv``,
        ``alliance_recommendations.csv``, ``before_after.csv`` and
        ``alliance_summary.json``."""
        tables = (
            ("alliances.csv", self.alliances),
            ("alliance_members.csv", self.alliance_members),
            ("alliance_gaps.csv", self.gaps),
            ("alliance_candidates.csv", self.candidates),
            ("alliance_recommendations.csv", self.recommendations),
            ("before_after.csv", self.comparison),
        )
        return write_result(out_dir, tables, "alliance_summary.json", self.summary)

    def report(self, lang: str = "en") -> str:
        """A few lines for people, in ``lang``."""
        _ = translator(lang)
        s = self.summary
        # The summary keeps the scope in English (it is data); "every community" is a phrase.
        scope = s["scope"] if s["scope"] != Scope().describe() else _("all communities")
        lines = [
            _(
                "Alliances for {scope}: {streets} streets with demand no tied supplier can "
                "serve ({gap_hours} hours); {members} members recommended, covering "
                "{covered_hours} of those hours"
            ).format(
                scope=scope,
                streets=s["streets_with_gaps"],
                gap_hours=f"{s['gap_hours']:,}",
                members=s["new_members"],
                covered_hours=f"{s['covered_hours']:,}",
            ),
        ]
        for row in self.recommendations.to_dict("records"):
            values = {
                "district": row["district"],
                "street": row["street"],
                "alliance": row["alliance_id"],
                "members": row["members"] or _("(no candidate can help)"),
                "covered": row["covered_hours"],
                "gap": row["gap_hours"],
                "uncovered": row["uncovered"],
            }
            line = (
                _(
                    "  {district}/{street}: {alliance} + {members}; covers {covered} of {gap} h; "
                    "uncovered {uncovered}"
                )
                if row["uncovered"]
                else _("  {district}/{street}: {alliance} + {members}; covers {covered} of {gap} h")
            )
            lines.append(line.format(**values))
        lines.append(_("  true gain {gain}").format(gain=f"{s['gain']:,.4f}"))
        lines.append(_("Before/after:"))
        lines.append(format_before_after(self.comparison, lang))
        return "\n".join(lines)


def recommend_alliances(
    dataset: Dataset | str | Path,
    params: AllianceParams | None = None,
    plan_params: PlanParams | None = None,
) -> AllianceResult:
    """Recommend an alliance per street for the demand no tied supplier can serve.

    Parameters
    ----------
    dataset
        A validated dataset, or a folder to load one from.
    params
        The recommendation's parameters (defaults if ``None``).
    plan_params
        The plan's parameters (defaults if ``None``).

    Returns
    -------
    AllianceResult

    Examples
    --------
    >>> r = recommend_alliances("tests/data/reasons")
    >>> r.gain >= 0
    True
    """
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    params = params or AllianceParams()
    plan_params = plan_params or PlanParams()
    t0 = time.perf_counter()
    scope_mask = params.scope.mask(ds.communities)
    before = plan(ds, plan_params)
    gaps = street_gaps(ds, before, scope_mask)
    cands = street_candidates(ds, gaps, params, plan_params)
    t1 = time.perf_counter()

    alliances = ds.alliances[["alliance_id", "name", "district", "street"]]
    members = ds.alliance_members[["alliance_id", "unit_id"]]
    used_ids = set(alliances["alliance_id"].tolist())
    new_alliances: list[dict[str, Any]] = []
    new_members: list[dict[str, Any]] = []
    rec_rows: list[dict[str, Any]] = []
    for (district_key, street_key), cell in gaps.groupby(["district", "street"], sort=True):
        district, street = str(district_key), str(street_key)
        gap = dict(zip(cell["category"], cell["unmet_hours"].astype(int), strict=True))
        mine = cands[(cands["district"] == district) & (cands["street"] == street)]
        supply: dict[str, dict[str, int]] = {}
        km: dict[str, float] = {}
        for uid, cat, hours, dist in zip(
            mine["unit_id"].tolist(),
            mine["category"].tolist(),
            mine["supply_hours"].tolist(),
            mine["km"].tolist(),
            strict=True,
        ):
            supply.setdefault(str(uid), {})[str(cat)] = int(hours)
            km[str(uid)] = float(dist)
        cover = best_cover(gap, supply, km, params.max_members, params.time_limit_s, params.seed)
        existing = alliances[(alliances["district"] == district) & (alliances["street"] == street)]
        if cover.members and len(existing):
            alliance_id, created = str(existing["alliance_id"].iloc[0]), False
        elif cover.members:
            alliance_id = _new_id(district, street, used_ids)
            used_ids.add(alliance_id)
            created = True
            new_alliances.append(
                {
                    "alliance_id": alliance_id,
                    "name": f"{street} alliance (recommended)",
                    "district": district,
                    "street": street,
                }
            )
        else:
            alliance_id, created = "", False
        new_members += [{"alliance_id": alliance_id, "unit_id": u} for u in cover.members]
        rec_rows.append(
            {
                "district": district,
                "street": street,
                "alliance_id": alliance_id,
                "new_alliance": created,
                "members": ";".join(cover.members),
                "member_count": len(cover.members),
                "members_km": cover.km,
                "gap_hours": int(sum(gap.values())),
                "covered_hours": cover.covered_hours,
                "covered": ";".join(f"{c}:{h}" for c, h in cover.covered.items()),
                "uncovered": ";".join(
                    f"{c}:{gap[c] - cover.covered.get(c, 0)}"
                    for c in sorted(gap)
                    if gap[c] > cover.covered.get(c, 0)
                ),
            }
        )
    t2 = time.perf_counter()
    rec_cols = ["district", "street", "alliance_id", "new_alliance", "members", "member_count",
                "members_km", "gap_hours", "covered_hours", "covered", "uncovered"]  # fmt: skip
    recs = pd.DataFrame(rec_rows, columns=rec_cols)
    all_table = pd.concat(
        [alliances, pd.DataFrame(new_alliances, columns=list(alliances.columns))],
        ignore_index=True,
    )
    mem_table = pd.concat(
        [members, pd.DataFrame(new_members, columns=list(members.columns))], ignore_index=True
    )
    after_ds = ds.replace(
        source=f"{ds.source} (recommended alliances)",
        alliances=all_table.astype(object),
        alliance_members=mem_table.astype(object),
    )
    after = plan(after_ds, plan_params)
    t3 = time.perf_counter()
    all_table = all_table.assign(
        status=["existing"] * len(alliances) + ["new"] * len(new_alliances)
    )
    mem_table = mem_table.assign(status=["existing"] * len(members) + ["new"] * len(new_members))
    summary = {
        "dataset": ds.source,
        "dataset_hash": ds.content_hash,
        "scope": params.scope.describe(),
        "streets_with_gaps": len(recs),
        "gap_hours": int(gaps["unmet_hours"].sum()) if len(gaps) else 0,
        "candidates": int(cands["unit_id"].nunique()) if len(cands) else 0,
        "new_alliances": len(new_alliances),
        "new_members": len(new_members),
        "covered_hours": int(recs["covered_hours"].sum()) if len(recs) else 0,
        "objective_before": round(before.objective, 6),
        "objective_after": round(after.objective, 6),
        "gain": round(after.objective - before.objective, 6),
        "params": params.to_dict(),
        "plan_params": plan_params.to_dict(),
        "seconds": {
            "gaps": round(t1 - t0, 4),
            "cover": round(t2 - t1, 4),
            "replan": round(t3 - t2, 4),
        },
    }
    return AllianceResult(
        gaps=gaps,
        candidates=cands,
        recommendations=recs,
        alliances=all_table,
        alliance_members=mem_table,
        comparison=before_after(before, after),
        summary=summary,
        dataset=after_ds,
        before=before,
        after=after,
    )


def _new_id(district: str, street: str, used: set[str]) -> str:
    base = f"A-REC-{district}-{street}".replace(" ", "_")
    name, k = base, 2
    while name in used:
        name, k = f"{base}-{k}", k + 1
    return name
