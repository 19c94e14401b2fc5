"""Why the plan is what it is: assignment values, shortfalls, bottlenecks and summaries.

Entry point: :func:`explain` (everything at once, for ``matcher explain --out``); its
parts are public too: :func:`assignment_values`, :func:`demand_explanation`,
:func:`bottlenecks` and :func:`summaries`. Each takes a plan (a
:class:`~matcher.plans.planner.Plan`,
a :class:`~matcher.report.html.PlanTables`, or a plan folder) and its dataset.

**The value an assignment adds** is its hours times the arc's hour score,
``priority_weight * priority - travel_cost_per_km * km``: the objective's own terms, so
the values of a plan's assignments add up to its labour objective.

**A demand not fully met** is explained by its reason code (``demand_status.csv``), the
nearest suppliers that could have served it (tied to its community and with its skill;
when there are none, the nearest with its skill and no tie), and what those suppliers
serve instead, each with its hour score: an hour goes where it scores more. One
demand's explanation looks only at the plan's arcs and the arcs into that demand, found
by the planner's own rules, never at every candidate arc of the city.

**Bottlenecks: the marginal value of one more hour of skill s in district D.** Supply
is held by suppliers, not by districts, so the hour has to be placed at a supplier:

* a supplier *belongs to* a district: a cadre to its home community's district, else to
  its unit's; a service resource to its unit's;
* *one more hour of skill s at supplier x* is one more supplier exactly like x (the same
  unit, home, position and radius, hence the same ties and distances) with skill s only
  and one hour. For a supplier whose only skill is s this is the same as giving x one
  more hour;
* the marginal value of (s, D) is the largest gain of the optimal labour objective from
  one more hour of skill s at any one supplier of D with skill s; 0 when the hour would
  stay unused. It is exact (to the solver's rounding of scores, ``1/cost_scale`` per
  hour): an integer gain of the re-solved plan, not a rate.

It is computed from the optimal flow's potentials (``method="duals"``): with the
residual network of the plan's flow (the solver's integer costs), ``V[n]`` is the most
that one more unit arriving at node ``n`` can add on its way to the sink (a longest path;
the flow being optimal, the network has no cycle that adds value). These are the duals
of the right-hand side taken as a right derivative, the only ones that equal the gain of
a whole extra hour when the LP is degenerate (plain LP duals need not). One more hour at
supplier x for demand d then adds ``score(x, d) + V[d]``, and the best such arc is the
marginal value. The path behind it says which demand the new hour serves first, which
hours move, and whose covered hours rise (``gaining_demand_id``; empty when the new hour
only replaces a worse one). ``method="resolve"`` re-solves the flow once per distinct
supplier position instead (slow; for checking). ``tests/test_explain.py`` checks both
against a re-solve of the dataset with the extra hour, by the planner and by an
independent LP.

Marginal values are defined for the labour flow; a plan whose labour model has integer
rules (``min_hours``, ``max_communities_per_cadre``, ``coverage_floor``) has none and
:func:`bottlenecks` refuses it. Funds and lead units do not change the labour flow.

**Summaries** per district and per community, in any language of
:data:`matcher.i18n.LANGS` (English and every catalogue: ``"zh"``), from fixed sentences
translated by the catalogues: hours demanded and covered, coverage, demands met,
partial and unmet, the largest shortfalls by category with their main reason, the units
giving the most hours, and (districts) the bottleneck skill.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

from matcher import i18n
from matcher.errors import MatcherError, ParameterError
from matcher.i18n import LANGS, N_, SOURCE_LANG, Text, Translator, translator
from matcher.inputs.aliases import category_name, district_name, tie_name
from matcher.inputs.dataset import Dataset
from matcher.inputs.io import is_missing, plain_value, write_frame_csv
from matcher.inputs.names import display_name
from matcher.model.eligibility import (
    ALLIANCE,
    PAIRING,
    PROXIMITY,
    RESIDENCE,
    SUPPLIER_KINDS,
    TIES,
    Arcs,
    Problem,
    Suppliers,
    build_problem,
    csr_expand,
    hour_score,
    index_dataset,
)
from matcher.model.geo import haversine_km
from matcher.model.rules import active_rules
from matcher.params import PlanParams
from matcher.plans.planner import REASONS, Plan
from matcher.plans.reasons import reason_text, status_name
from matcher.report.html import PlanTables, plan_dataset, read_plan
from matcher.solvers.flow import solve_flow, useful_arcs

METHODS = ("duals", "resolve")

ASSIGNMENT_VALUE_COLUMNS = (
    "supplier_kind",
    "supplier_id",
    "unit_id",
    "demand_id",
    "community_id",
    "district",
    "category",
    "priority",
    "hours",
    "km",
    "tie",
    "hour_score",
    "value",
)
BOTTLENECK_COLUMNS = (
    "rank",
    "skill",
    "district",
    "marginal_value",
    "suppliers",
    "supplier_hours",
    "supplier_kind",
    "supplier_id",
    "demand_id",
    "community_id",
    "gaining_demand_id",
    "gaining_community_id",
    "moves",
)
NEAREST_COLUMNS = (
    "demand_id",
    "rank",
    "supplier_kind",
    "supplier_id",
    "unit_id",
    "km",
    "tie",
    "eligible",
    "hour_score",
    "hours",
    "hours_here",
    "hours_elsewhere",
    "hours_left",
    "serves_instead",
)
SUMMARY_COLUMNS = ("scope", "id", "name", "lang", "text")

_NEG = np.int64(-(2**62))  # "cannot reach the sink"
_UNREACHABLE = -(2**61)


class ExplainError(MatcherError, ValueError):
    """A plan cannot be explained as asked (an unknown demand, bottlenecks of an integer
    plan, assignments that do not fit the dataset). Its message is a
    :class:`~matcher.i18n.Text`: ``exc.args[0].render(lang)``."""


def _message(exc: Exception) -> str:
    """An error's message, a :class:`~matcher.i18n.Text` when it was raised as one (so
    that it can still be shown in any language)."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Text) else str(exc)


# ---- words of the explanations ---------------------------------------------------------


def _kind_name(kind: str, _: Translator) -> str:
    """A supplier kind as the reader's language writes it."""
    names = {
        "cadre": _.pgettext("supplier kind", "cadre"),
        "service": _.pgettext("supplier kind", "service"),
    }
    return names.get(kind, kind)


@dataclass(frozen=True)
class ExplainParams:
    """What an explanation shows; every field has a default and is checked.

    Attributes
    ----------
    nearest
        Suppliers listed per demand not fully met (the nearest first). Default 5.
    top
        Categories and units named per summary, bottlenecks per district. Default 3.
    method
        How marginal values are found: ``"duals"`` (the flow's potentials; one
        longest-path computation for every skill and district) or ``"resolve"`` (one
        re-solve per distinct supplier position; slow, for checking). Default ``"duals"``.
    langs
        Languages of the summaries, among :data:`matcher.i18n.LANGS` (English and every
        language with a catalogue). Default all of them.
    """

    nearest: int = 5
    top: int = 3
    method: str = "duals"
    langs: tuple[str, ...] = LANGS

    def __post_init__(self) -> None:
        for name in ("nearest", "top"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ParameterError(name, v, Text(N_("a whole number, 1 or more")))
        if self.method not in METHODS:
            raise ParameterError("method", self.method, " or ".join(METHODS))
        # i18n.LANGS at call time: the languages are the catalogues present.
        bad = [x for x in self.langs if x not in i18n.LANGS]
        if bad or not self.langs:
            raise ParameterError(
                "langs",
                bad[0] if bad else "",
                Text(N_("one or more of {langs}"), langs=", ".join(i18n.LANGS)),
            )


# ---- the plan against its problem ------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """A plan with its dataset, parameters, indexed problem and flow on every arc."""

    tables: PlanTables
    dataset: Dataset
    params: PlanParams
    problem: Problem
    flow: np.ndarray

    @property
    def used(self) -> np.ndarray:
        a = self.problem.arcs
        n = len(self.problem.suppliers)
        return np.bincount(a.supplier, weights=self.flow, minlength=n).astype(np.int64)

    @property
    def covered(self) -> np.ndarray:
        a = self.problem.arcs
        n = len(self.problem.demand_ids)
        return np.bincount(a.demand, weights=self.flow, minlength=n).astype(np.int64)


def _tables(plan: Plan | PlanTables | str | Path) -> PlanTables:
    if isinstance(plan, PlanTables):
        return plan
    if isinstance(plan, Plan):
        return PlanTables.from_plan(plan)
    return read_plan(plan)


def _context(
    plan: Plan | PlanTables | str | Path,
    dataset: Dataset | str | Path | None,
    demand_id: str | None = None,
) -> _Context:
    """The plan against its problem; with ``demand_id``, a problem whose arcs are only
    the plan's and those into that demand (all one demand's explanation reads)."""
    tables = _tables(plan)
    ds = plan_dataset(tables, dataset)
    if isinstance(plan, Plan):
        params = plan.params
    else:
        params = PlanParams.from_mapping(tables.params) if tables.params else PlanParams()
    if demand_id is None:
        problem = build_problem(ds, params)
    else:
        problem = _problem_near(ds, params, tables.assignments, demand_id)
    return _Context(tables, ds, params, problem, _flow(problem, tables.assignments))


def _problem_near(
    dataset: Dataset, params: PlanParams, assignments: pd.DataFrame, demand_id: str
) -> Problem:
    """The problem with only some of its candidate arcs: those the plan's assignments
    use and those into ``demand_id``. Each is the arc :func:`build_problem` lists, found
    by the same rules (the first tie that holds, the skill, the same haversine and
    score), so what a demand's explanation says is the same; listing every arc instead
    grows with suppliers times communities in reach (18 GB at generator scale 1)."""
    ix = index_dataset(dataset, params)
    s = ix.suppliers
    n_s = len(s)
    sup_index = {
        (SUPPLIER_KINDS[int(k)], str(i)): j
        for j, (k, i) in enumerate(zip(s.kind, s.ids, strict=True))
    }
    dem_index = {str(d): j for j, d in enumerate(ix.demand_ids)}
    pairs = [
        (sup_index.get((str(k), str(i)), -1), dem_index.get(str(d), -1))
        for k, i, d in zip(
            assignments["supplier_kind"],
            assignments["supplier_id"],
            assignments["demand_id"],
            strict=True,
        )
    ]
    sup = np.asarray([p[0] for p in pairs], dtype=np.int64)
    dem = np.asarray([p[1] for p in pairs], dtype=np.int64)
    known = (sup >= 0) & (dem >= 0)  # the rest are no arcs: _flow says which
    sup, dem = sup[known], dem[known]
    if demand_id in dem_index:
        sup = np.concatenate((sup, np.arange(n_s, dtype=np.int64)))
        dem = np.concatenate((dem, np.full(n_s, dem_index[demand_id], dtype=np.int64)))
    n_d = max(len(ix.demand_ids), 1)
    key = np.unique(sup * n_d + dem)
    sup, dem = key // n_d, key % n_d
    comm = ix.demand_community[dem]
    # The skill: the demand's category among the supplier's.
    owner, cat = csr_expand(s.skill_ptr, s.skill_cat, sup)
    skilled = np.zeros(len(sup), dtype=bool)
    skilled[owner[cat == ix.demand_category[dem][owner]]] = True
    sup, dem, comm = sup[skilled], dem[skilled], comm[skilled]
    # The first tie that holds, in the spec's order (as first_ties keeps it).
    n_c = max(len(ix.community_ids), 1)
    unit_comm = s.unit[sup].astype(np.int64) * n_c + comm
    paired = np.isin(unit_comm, ix.pair_unit.astype(np.int64) * n_c + ix.pair_comm)
    allied = np.isin(unit_comm, ix.alliance_unit.astype(np.int64) * n_c + ix.alliance_comm)
    km = haversine_km(s.lat[sup], s.lon[sup], ix.community_lat[comm], ix.community_lon[comm])
    near = km <= s.radius_km[sup]
    tie = np.select(
        [s.home[sup] == comm, paired, allied, near],
        [RESIDENCE, PAIRING, ALLIANCE, PROXIMITY],
        default=-1,
    ).astype(np.int8)
    ok = tie >= 0
    sup, dem, km, tie = sup[ok], dem[ok], km[ok], tie[ok]
    arcs = Arcs(
        supplier=sup,
        demand=dem,
        km=km,
        tie=tie,
        weight=hour_score(ix.demand_priority[dem], km, params),
    )
    return ix.problem(arcs)


def _flow(problem: Problem, assignments: pd.DataFrame) -> np.ndarray:
    """Hours on each of ``problem.arcs`` from a plan's assignments."""
    s = problem.suppliers
    n_d = max(len(problem.demand_ids), 1)
    sup_index = {
        (SUPPLIER_KINDS[int(k)], str(i)): j
        for j, (k, i) in enumerate(zip(s.kind, s.ids, strict=True))
    }
    dem_index = {str(d): j for j, d in enumerate(problem.demand_ids)}
    keys = problem.arcs.supplier * n_d + problem.arcs.demand
    order = np.argsort(keys, kind="stable")
    flow = np.zeros(len(keys), dtype=np.int64)
    rows = zip(
        assignments["supplier_kind"].astype(str),
        assignments["supplier_id"].astype(str),
        assignments["demand_id"].astype(str),
        assignments["hours"],
        strict=True,
    )
    for row, (kind, sid, did, hours) in enumerate(rows, start=2):
        sup, dem = sup_index.get((kind, sid)), dem_index.get(did)
        pos = -1
        if sup is not None and dem is not None:
            key = sup * n_d + dem
            at = int(np.searchsorted(keys, key, sorter=order))
            if at < len(keys) and keys[order[at]] == key:
                pos = int(order[at])
        if pos < 0:
            raise ExplainError(
                Text(
                    N_(
                        "assignments.csv, row {row}: {kind} {supplier} cannot serve demand "
                        "{demand} in this dataset with the plan's parameters (no such "
                        "supplier, demand or tie); give the dataset the plan was made from"
                    ),
                    row=row,
                    kind=kind,
                    supplier=sid,
                    demand=did,
                )
            )
        flow[pos] += int(hours)
    return flow


# ---- assignment values -----------------------------------------------------------------


def assignment_values(
    plan: Plan | PlanTables | str | Path, dataset: Dataset | str | Path | None = None
) -> pd.DataFrame:
    """Every assignment with its tie, hour score and the value it adds to the objective.

    Parameters
    ----------
    plan
        A plan, its tables, or a plan folder.
    dataset
        The plan's dataset (default: the one its ``run.json`` names).

    Returns
    -------
    DataFrame
        The assignment's columns plus ``district``, ``priority``, ``hour_score``
        (``priority_weight * priority - travel_cost_per_km * km``) and ``value`` (hours
        times hour score), in the plan's order; ``value`` sums to the labour objective.
    """
    return _assignment_values(_context(plan, dataset))


def _assignment_values(ctx: _Context) -> pd.DataFrame:
    p = ctx.problem
    on = np.flatnonzero(ctx.flow > 0)
    s = p.suppliers
    sup, dem = p.arcs.supplier[on], p.arcs.demand[on]
    order = np.lexsort((s.row[sup], s.kind[sup], dem))
    on, sup, dem = on[order], sup[order], dem[order]
    score = p.arcs.weight[on]
    hours = ctx.flow[on]
    return pd.DataFrame(
        {
            "supplier_kind": np.asarray(SUPPLIER_KINDS, dtype=object)[s.kind[sup]],
            "supplier_id": s.ids[sup],
            "unit_id": p.unit_ids[s.unit[sup]],
            "demand_id": p.demand_ids[dem],
            "community_id": p.community_ids[p.demand_community[dem]],
            "district": p.community_district[p.demand_community[dem]],
            "category": np.asarray(p.categories, dtype=object)[p.demand_category[dem]],
            "priority": p.demand_priority[dem],
            "hours": hours,
            "km": np.round(p.arcs.km[on], 4),
            "tie": np.asarray(TIES, dtype=object)[p.arcs.tie[on]],
            "hour_score": np.round(score, 6),
            "value": np.round(hours * score, 6),
        },
        columns=list(ASSIGNMENT_VALUE_COLUMNS),
    )


# ---- demands not fully met -------------------------------------------------------------


@dataclass(frozen=True)
class DemandExplanation:
    """Why one demand got the hours it got.

    Attributes
    ----------
    demand
        Its row of ``demand_status`` (a dict), plus ``community_name``.
    reason_text
        The reason in plain English (empty for a met demand).
    assignments
        Who serves it, with hour score and value (:func:`assignment_values` columns).
    nearest
        The nearest suppliers that could serve it (``eligible``: tied to its community
        with its skill) or, when none could, the nearest with its skill; with their
        hour score here, and hours given here, elsewhere and left.
    elsewhere
        What those suppliers serve instead: their other assignments with hour scores.
    """

    demand: dict[str, Any]
    reason_text: str
    assignments: pd.DataFrame
    nearest: pd.DataFrame
    elsewhere: pd.DataFrame

    def to_dict(self, lang: str = SOURCE_LANG) -> dict[str, Any]:
        """JSON-ready: the demand, its reason, and the three tables as lists of rows; the
        reason and what the nearest suppliers serve instead in ``lang``."""
        data = {
            "demand": self.demand,
            "reason_text": self.reason_text,
            "assignments": _records(self.assignments),
            "nearest": _records(self.nearest),
            "elsewhere": _records(self.elsewhere),
        }
        return explanation_in(data, lang)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemandExplanation:
        """The explanation back from :meth:`to_dict` (what the service keeps)."""
        return cls(
            demand=dict(data["demand"]),
            reason_text=str(data["reason_text"]),
            assignments=pd.DataFrame(data["assignments"], columns=list(ASSIGNMENT_VALUE_COLUMNS)),
            nearest=pd.DataFrame(data["nearest"], columns=list(NEAREST_COLUMNS)),
            elsewhere=pd.DataFrame(data["elsewhere"], columns=list(ASSIGNMENT_VALUE_COLUMNS)),
        )

    def scoped(self, districts: Sequence[str]) -> DemandExplanation:
        """The explanation as a reader of ``districts`` may see it: what the suppliers
        serve instead is listed only in those districts (hour totals stay whole)."""
        keep = self.elsewhere["district"].isin(list(districts))
        elsewhere = self.elsewhere[keep].reset_index(drop=True)
        nearest = self.nearest.copy()
        nearest["serves_instead"] = [
            _instead(elsewhere[(elsewhere["supplier_kind"] == k) & (elsewhere["supplier_id"] == i)])
            for k, i in zip(nearest["supplier_kind"], nearest["supplier_id"], strict=True)
        ]
        return dataclasses.replace(self, elsewhere=elsewhere, nearest=nearest)

    def text(self, lang: str = SOURCE_LANG) -> str:
        """A few lines for people, in ``lang``."""
        _ = translator(lang)
        d = self.demand
        reason = str(d.get("reason") or "")
        head = dict(
            demand=d["demand_id"],
            category=category_name(str(d["category"]), lang),
            priority=d["priority"],
            community=d["community_name"],
            community_id=d["community_id"],
            district=d["district"],
            covered=f"{d['covered_hours']:,}",
            hours=f"{d['hours']:,}",
            status=status_name(str(d["status"]), _.lang),
        )
        if reason:
            first = _(
                "Demand {demand} ({category}, priority {priority}) in {community} "
                "({community_id}, {district}): {covered} of {hours} hours covered, {status} "
                "-- {reason}: {reason_text}"
            ).format(**head, reason=reason, reason_text=reason_text(reason, lang))
        else:
            first = _(
                "Demand {demand} ({category}, priority {priority}) in {community} "
                "({community_id}, {district}): {covered} of {hours} hours covered, {status}"
            ).format(**head)
        lines = [first]
        for r in _records(self.assignments):
            served = _(
                "served by {kind} {supplier} ({unit}, {tie}, {km} km): "
                "{hours} h x {score} = {value}"
            ).format(
                kind=_kind_name(r["supplier_kind"], _),
                supplier=r["supplier_id"],
                unit=r["unit_id"],
                tie=tie_name(str(r["tie"]), lang),
                km=f"{r['km']:.2f}",
                hours=r["hours"],
                score=f"{r['hour_score']:.4f}",
                value=f"{r['value']:.4f}",
            )
            lines.append("  " + served)
        if len(self.nearest):
            if bool(self.nearest["eligible"].any()):
                lines.append("  " + _("nearest suppliers that could serve it:"))
            else:
                lines.append("  " + _("nearest suppliers that have its skill:"))
        instead = [n["serves_instead"] for n in self.to_dict(lang)["nearest"]]
        for r, serves in zip(_records(self.nearest), instead, strict=True):
            values = dict(
                kind=_kind_name(r["supplier_kind"], _),
                supplier=r["supplier_id"],
                unit=r["unit_id"],
                tie=tie_name(str(r["tie"]), lang) if r["eligible"] else _("no tie"),
                km=f"{r['km']:.2f}",
                score=f"{r['hour_score']:.4f}",
                here=r["hours_here"],
                elsewhere=r["hours_elsewhere"],
                left=r["hours_left"],
            )
            if serves:
                line = _(
                    "{kind} {supplier} ({unit}, {tie}, {km} km, {score}/h here): {here} h "
                    "here, {elsewhere} h elsewhere, {left} h left; instead: {instead}"
                ).format(**values, instead=serves)
            else:
                line = _(
                    "{kind} {supplier} ({unit}, {tie}, {km} km, {score}/h here): {here} h "
                    "here, {elsewhere} h elsewhere, {left} h left"
                ).format(**values)
            lines.append("    " + line)
        return "\n".join(lines)


def demand_explanation(
    plan: Plan | PlanTables | str | Path,
    dataset: Dataset | str | Path | None,
    demand_id: str,
    params: ExplainParams | None = None,
) -> DemandExplanation:
    """Explain one demand: its reason, its suppliers, and the nearest that went elsewhere.

    Parameters
    ----------
    plan, dataset
        As for :func:`assignment_values`.
    demand_id
        The demand.
    params
        ``nearest``: how many suppliers to list.

    Raises
    ------
    ExplainError
        If the dataset has no such demand.
    """
    ctx = _context(plan, dataset, demand_id=demand_id)
    return _demand_explanation(ctx, demand_id, params or ExplainParams())


def _names(dataset: Dataset, table: str, key: str) -> dict[str, str]:
    frame = getattr(dataset, table)
    return dict(zip(frame[key].astype(str), frame["name"].astype(str), strict=True))


def _supplier_rows(values: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """Row positions of each supplier's assignments in ``values``."""
    if values.empty:
        return {}
    grouped = values.groupby(["supplier_kind", "supplier_id"], sort=False).indices
    out: dict[tuple[str, str], np.ndarray] = {}
    for key, rows in grouped.items():
        pair: tuple[Any, Any] = key  # type: ignore[assignment]
        out[(str(pair[0]), str(pair[1]))] = np.asarray(rows)
    return out


def _demand_explanation(
    ctx: _Context,
    demand_id: str,
    params: ExplainParams,
    values: pd.DataFrame | None = None,
    groups: dict[tuple[str, str], np.ndarray] | None = None,
) -> DemandExplanation:
    p = ctx.problem
    hit = np.flatnonzero(p.demand_ids == demand_id)
    if len(hit) == 0:
        raise ExplainError(
            Text(
                N_("demand {demand} is not in dataset {source}"),
                demand=repr(demand_id),
                source=ctx.dataset.source,
            )
        )
    d = int(hit[0])
    status = ctx.tables.demand_status
    row = status[status["demand_id"].astype(str) == demand_id]
    if len(row) == 0:
        raise ExplainError(
            Text(
                N_("demand {demand} is not in the plan's demand_status table"),
                demand=repr(demand_id),
            )
        )
    demand = {str(k): _clean(v) for k, v in row.iloc[0].to_dict().items()}
    demand["community_name"] = _names(ctx.dataset, "communities", "community_id").get(
        str(demand["community_id"]), ""
    )
    reason = str(demand.get("reason") or "")
    values = _assignment_values(ctx) if values is None else values
    own = values[values["demand_id"] == demand_id].reset_index(drop=True)

    s = p.suppliers
    a = p.arcs
    used = ctx.used
    arc_of = np.flatnonzero(a.demand == d)
    eligible = a.supplier[arc_of]
    c = int(p.demand_community[d])
    if len(eligible):
        cand, km = eligible, a.km[arc_of]
        tie = np.asarray(TIES, dtype=object)[a.tie[arc_of]]
        score = a.weight[arc_of]
        here = ctx.flow[arc_of]
        is_eligible = True
    else:
        owner = np.repeat(np.arange(len(s)), np.diff(s.skill_ptr))
        cand = np.unique(owner[s.skill_cat == p.demand_category[d]])
        km = haversine_km(
            s.lat[cand],
            s.lon[cand],
            np.full(len(cand), p.community_lat[c]),
            np.full(len(cand), p.community_lon[c]),
        )
        tie = np.full(len(cand), "", dtype=object)
        pw, tc = ctx.params.priority_weight, ctx.params.travel_cost_per_km
        score = pw * p.demand_priority[d] - tc * km
        here = np.zeros(len(cand), dtype=np.int64)
        is_eligible = False
    order = np.lexsort((s.row[cand], s.kind[cand], np.round(km, 9)))[: params.nearest]
    cand, km, tie, score, here = cand[order], km[order], tie[order], score[order], here[order]
    kinds = np.asarray(SUPPLIER_KINDS, dtype=object)[s.kind[cand]]
    groups = _supplier_rows(values) if groups is None else groups
    instead = []
    parts = []
    for k, sid in zip(kinds.tolist(), s.ids[cand].tolist(), strict=True):
        rows = groups.get((k, sid), np.zeros(0, dtype=np.int64))
        mine = values.iloc[rows]
        mine = mine[mine["demand_id"] != demand_id]
        parts.append(mine)
        instead.append(_instead(mine))
    elsewhere = (
        pd.concat(parts, ignore_index=True) if parts else values.iloc[:0].reset_index(drop=True)
    )
    nearest = pd.DataFrame(
        {
            "demand_id": demand_id,
            "rank": np.arange(1, len(cand) + 1),
            "supplier_kind": kinds,
            "supplier_id": s.ids[cand],
            "unit_id": p.unit_ids[s.unit[cand]],
            "km": np.round(km, 4),
            "tie": tie,
            "eligible": is_eligible,
            "hour_score": np.round(score, 6),
            "hours": s.hours[cand],
            "hours_here": here,
            "hours_elsewhere": used[cand] - here,
            "hours_left": s.hours[cand] - used[cand],
            "serves_instead": np.asarray(instead, dtype=object),
        },
        columns=list(NEAREST_COLUMNS),
    )
    return DemandExplanation(
        demand=demand,
        reason_text=reason_text(reason),
        assignments=own,
        nearest=nearest,
        elsewhere=elsewhere,
    )


def _instead(rows: pd.DataFrame | list[dict[str, Any]], lang: str = SOURCE_LANG) -> str:
    """A supplier's other assignments (a frame, or its records) as text, in ``lang``:
    demand, category, priority, hours, score."""
    _ = translator(lang)
    records = _records(rows) if isinstance(rows, pd.DataFrame) else rows
    return _.pgettext("list separator", "; ").join(
        _("{demand} ({category}, priority {priority}) {hours} h at {score}/h").format(
            demand=r["demand_id"],
            category=category_name(str(r["category"]), lang),
            priority=r["priority"],
            hours=r["hours"],
            score=f"{r['hour_score']:.4f}",
        )
        for r in records
    )


def explanation_in(data: dict[str, Any], lang: str) -> dict[str, Any]:
    """A demand's explanation as :meth:`DemandExplanation.to_dict` gives it (what the
    service keeps, in English) with its texts in ``lang``: the reason, and what each of
    the nearest suppliers serves instead (from ``elsewhere``). Works on the records
    themselves: no table is built, so the service answers a kept explanation at once."""
    mine: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in data["elsewhere"]:
        mine.setdefault((str(r["supplier_kind"]), str(r["supplier_id"])), []).append(r)
    nearest = [
        {
            **n,
            "serves_instead": _instead(
                mine.get((str(n["supplier_kind"]), str(n["supplier_id"])), []), lang
            ),
        }
        for n in data["nearest"]
    ]
    reason = str(data["demand"].get("reason") or "")
    return {**data, "reason_text": reason_text(reason, lang), "nearest": nearest}


def _clean(value: Any) -> Any:
    return plain_value(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: _clean(v) for k, v in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


# ---- bottlenecks -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Residual:
    """The residual network of an optimal flow and its longest paths to the sink.

    Nodes: suppliers ``0..S-1``, demands ``S..S+D-1``, source ``S+D``, sink ``S+D+1``.
    ``value[n]`` (solver units, exact integers) is the most one more unit at ``n`` adds on
    its way to the sink; ``true[n]`` the same path's gain in unrounded scores; ``succ[n]``
    and ``succ_arc[n]`` the next node and residual arc on that path (-1: none).
    """

    n_sup: int
    tail: np.ndarray
    head: np.ndarray
    orig: np.ndarray  # the candidate arc a residual arc stands for, or -1
    sign: np.ndarray  # +1 forward (one hour more), -1 backward (one hour less)
    value: np.ndarray
    true: np.ndarray
    succ: np.ndarray
    succ_arc: np.ndarray


def _costs(problem: Problem) -> np.ndarray:
    """The flow solver's integer cost of one hour on each arc (see ``solve_flow``)."""
    return np.maximum(np.rint(problem.arcs.weight * problem.params.cost_scale), 1.0).astype(
        np.int64
    )


def _residual(problem: Problem, flow: np.ndarray) -> _Residual | None:
    """Longest paths to the sink in the residual network; ``None`` if ``flow`` is not
    optimal for the solver's integer costs (some cycle would add value)."""
    a = problem.arcs
    n_s, n_d = len(problem.suppliers), len(problem.demand_ids)
    src, snk = n_s + n_d, n_s + n_d + 1
    n = n_s + n_d + 2
    cost = _costs(problem)
    useful = np.flatnonzero(useful_arcs(problem))
    busy = np.flatnonzero(flow > 0)
    sup_used = np.bincount(a.supplier, weights=flow, minlength=n_s).astype(np.int64)
    covered = np.bincount(a.demand, weights=flow, minlength=n_d).astype(np.int64)
    spare_s = np.flatnonzero(sup_used < problem.suppliers.hours)
    used_s = np.flatnonzero(sup_used > 0)
    open_d = np.flatnonzero(covered < problem.demand_hours)
    i64 = np.int64
    cols: list[list[np.ndarray]] = [[], [], [], [], [], []]

    def add(tl: Any, hd: Any, v: Any, tr: Any, o: Any, sg: int) -> None:
        tl = np.asarray(tl, i64)
        k = len(tl)
        for col, x, dt in zip(
            cols, (tl, hd, v, tr, o, sg), (i64, i64, i64, float, i64, np.int8), strict=True
        ):
            col.append(np.broadcast_to(np.asarray(x, dtype=dt), k))

    add(a.supplier[useful], n_s + a.demand[useful], cost[useful], a.weight[useful], useful, 1)
    add(n_s + a.demand[busy], a.supplier[busy], -cost[busy], -a.weight[busy], busy, -1)
    add(np.full(len(spare_s), src), spare_s, 0, 0.0, -1, 0)
    add(used_s, np.full(len(used_s), src), 0, 0.0, -1, 0)
    add(n_s + open_d, np.full(len(open_d), snk), 0, 0.0, -1, 0)
    add([src], [snk], 0, 0.0, -1, 0)
    tail, head, val, true, orig, sign = (np.concatenate(col) for col in cols)
    order = np.argsort(tail, kind="stable")
    tail, head, val, true, orig, sign = (x[order] for x in (tail, head, val, true, orig, sign))

    # Longest paths to the sink, by label correction from the sink (compiled): exact
    # integers, the same values as Bellman-Ford's rounds, whose n rounds over every arc
    # grew with the square of the city (10 s of 18 at generator scale 0.3). A path of n
    # arcs proves a cycle that adds value: the flow is not optimal.
    by_head = np.argsort(head, kind="stable")
    head_ptr = np.zeros(n + 1, dtype=i64)
    np.cumsum(np.bincount(head, minlength=n), out=head_ptr[1:])
    value = np.full(n, _NEG, dtype=i64)
    value[snk] = 0
    if not _longest_to_sink(n, snk, head_ptr, tail[by_head], val[by_head], value):
        return None
    # Cycles through the sink: an extra unit at the source, or at a demand that gets
    # hours, must not add value (else the hours it displaces were worth moving).
    if value[src] > 0 or (value[n_s : n_s + n_d][covered > 0] > 0).any():
        return None

    # The path behind each value: tight arcs, walked from the sink (fewest arcs first).
    reach = value[head] > _UNREACHABLE
    tight = np.flatnonzero(
        reach & (val + value[head] == value[tail]) & (value[tail] > _UNREACHABLE)
    )
    back = csr_matrix(
        (np.ones(len(tight)), (head[tight], tail[tight])), shape=(n, n)
    )  # the tight arcs reversed
    visit, pred = breadth_first_order(back, snk, directed=True, return_predecessors=True)
    succ = np.where(pred >= 0, pred, -1).astype(i64)
    key = tail[tight] * n + head[tight]
    korder = np.argsort(key)
    succ_arc = np.full(n, -1, dtype=i64)
    has = succ >= 0
    nodes = np.flatnonzero(has)
    at = np.searchsorted(key[korder], nodes * n + succ[nodes])
    succ_arc[nodes] = tight[korder[at]]
    true_value = np.full(n, -np.inf)
    true_value[snk] = 0.0
    for u in visit[1:].tolist():
        true_value[u] = true[succ_arc[u]] + true_value[succ[u]]
    return _Residual(n_s, tail, head, orig, sign, value, true_value, succ, succ_arc)


@numba.njit(cache=True)
def _longest_to_sink(
    n: int, snk: int, head_ptr: np.ndarray, tail: np.ndarray, val: np.ndarray, value: np.ndarray
) -> bool:
    """Longest paths to ``snk`` into ``value`` (given ``_NEG`` but at ``snk``), over the
    arcs grouped by head (``head_ptr``, their ``tail`` and ``val``): a queue of nodes
    whose value rose, whose arcs in are relaxed in turn. ``False`` when a path of ``n``
    arcs arises: only a cycle that adds value makes one (its nodes' values keep rising)."""
    arcs = np.zeros(n, dtype=np.int64)  # arcs of the path behind each value
    queued = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n + 1, dtype=np.int64)
    first, last, size = 0, 1, 1
    queue[0] = snk
    queued[snk] = True
    while size > 0:
        v = queue[first]
        first = (first + 1) % (n + 1)
        size -= 1
        queued[v] = False
        base = value[v]
        for k in range(head_ptr[v], head_ptr[v + 1]):
            u = tail[k]
            if u == snk:
                continue
            cand = val[k] + base
            if cand > value[u]:
                value[u] = cand
                arcs[u] = arcs[v] + 1
                if arcs[u] >= n:
                    return False
                if not queued[u]:
                    queued[u] = True
                    queue[last] = u
                    last = (last + 1) % (n + 1)
                    size += 1
    return True


def _path_moves(
    problem: Problem, res: _Residual, start_arc: int, named: list[int] | None = None
) -> tuple[list[str], int]:
    """The hour moves of one more hour on ``start_arc`` and the demand that gains (-1);
    the demands the moves name are appended to ``named`` when given."""
    s, a = problem.suppliers, problem.arcs
    moves = [f"+1 {s.ids[a.supplier[start_arc]]}->{problem.demand_ids[a.demand[start_arc]]}"]
    if named is not None:
        named.append(int(a.demand[start_arc]))
    node = res.n_sup + int(a.demand[start_arc])
    gaining = -1
    n_d = len(problem.demand_ids)
    while res.succ[node] >= 0:
        e = int(res.succ_arc[node])
        nxt = int(res.succ[node])
        if res.orig[e] >= 0:
            o = int(res.orig[e])
            sign = "+1" if res.sign[e] > 0 else "-1"
            moves.append(f"{sign} {s.ids[a.supplier[o]]}->{problem.demand_ids[a.demand[o]]}")
            if named is not None:
                named.append(int(a.demand[o]))
        if nxt == res.n_sup + n_d + 1 and res.n_sup <= node < res.n_sup + n_d:
            gaining = node - res.n_sup
        node = nxt
    return moves, gaining


def supplier_districts(problem: Problem, dataset: Dataset) -> np.ndarray:
    """The district each supplier belongs to: a cadre's home community's, else its unit's;
    a service resource's unit's."""
    unit_district = dataset.units["district"].astype(str).to_numpy(object)
    s = problem.suppliers
    out = unit_district[s.unit].copy()
    home = s.home >= 0
    out[home] = problem.community_district[s.home[home]]
    return np.asarray(out, dtype=object)


def bottlenecks(
    plan: Plan | PlanTables | str | Path,
    dataset: Dataset | str | Path | None = None,
    params: ExplainParams | None = None,
) -> pd.DataFrame:
    """The marginal value of one more hour of each skill in each district, ranked.

    See the module's notes for the exact definition. One row per (skill, district)
    with at least one supplier of that skill in that district.

    Parameters
    ----------
    plan, dataset
        As for :func:`assignment_values`; the plan must be optimal.
    params
        ``method``: ``"duals"`` (default) or ``"resolve"``.

    Returns
    -------
    DataFrame
        ``rank``, ``skill``, ``district``, ``marginal_value`` (the objective's gain),
        ``suppliers`` and ``supplier_hours`` of that skill there, the supplier to add the
        hour at (``supplier_kind``, ``supplier_id``), the demand the hour serves first
        (``demand_id``, ``community_id``), the demand whose covered hours rise
        (``gaining_demand_id``, ``gaining_community_id``; empty when the new hour only
        replaces a worse one) and the hours that move (``moves``). Empty supplier and
        demand columns where the value is 0. Sorted by value (largest first), then
        district and skill.

    Raises
    ------
    ExplainError
        If the plan's labour model has integer rules (marginal values are those of the
        labour flow), or the plan is not optimal.
    """
    return _bottlenecks(_context(plan, dataset), params or ExplainParams())


def _check_flow_plan(ctx: _Context) -> None:
    rules = active_rules(ctx.dataset, ctx.params)
    if rules.labour:
        names = [r for r in rules.names() if r not in ("funds", "lead_units")]
        raise ExplainError(
            Text(
                N_(
                    "marginal values are those of the labour flow; this plan's labour "
                    "model has integer rules ({rules}), so it has none"
                ),
                rules=", ".join(names),
            )
        )


def _bottlenecks(ctx: _Context, params: ExplainParams) -> pd.DataFrame:
    return _bottlenecks_named(ctx, params)[0]


def _bottlenecks_named(
    ctx: _Context, params: ExplainParams
) -> tuple[pd.DataFrame, list[tuple[str, ...]]]:
    """:func:`bottlenecks`, and per row every demand it names (``demand_id``,
    ``gaining_demand_id`` and the demands of ``moves``), for readers scoped to districts."""
    _check_flow_plan(ctx)
    p = ctx.problem
    s = p.suppliers
    res = _residual(p, ctx.flow)
    if res is None:
        raise ExplainError(
            Text(
                N_(
                    "the plan's flow is not optimal for this dataset and its parameters "
                    "(one more hour could be moved for more value), so its marginal values "
                    "are undefined"
                )
            )
        )
    districts = supplier_districts(p, ctx.dataset)
    owner = np.repeat(np.arange(len(s)), np.diff(s.skill_ptr))
    cell = pd.DataFrame({"district": districts[owner], "cat": s.skill_cat, "sup": owner})
    cell["hours"] = s.hours[owner]
    cells = (
        cell.groupby(["district", "cat"], sort=True)
        .agg(suppliers=("sup", "nunique"), supplier_hours=("hours", "sum"))
        .reset_index()
    )
    a = p.arcs
    useful = np.flatnonzero((a.weight > 0) & (p.demand_hours[a.demand] > 0))
    if params.method == "duals":
        best = _best_by_duals(p, res, districts, useful)
    else:
        best = _best_by_resolve(ctx, districts, useful, cells)
    rows = []
    for r in _records(cells):
        skill = p.categories[int(r["cat"])]
        found = best.get((str(r["district"]), int(r["cat"])))
        row: dict[str, Any] = {
            "skill": skill,
            "district": r["district"],
            "marginal_value": 0.0,
            "suppliers": int(r["suppliers"]),
            "supplier_hours": int(r["supplier_hours"]),
            "supplier_kind": "",
            "supplier_id": "",
            "demand_id": "",
            "community_id": "",
            "gaining_demand_id": "",
            "gaining_community_id": "",
            "moves": "",
            "_named": (),
        }
        if found is not None:
            gain, arc = found
            named: list[int] = []
            moves, gaining = _path_moves(p, res, arc, named)
            row["_named"] = tuple(dict.fromkeys(str(p.demand_ids[d]) for d in named))
            d = int(a.demand[arc])
            row.update(
                marginal_value=round(gain, 6),
                supplier_kind=SUPPLIER_KINDS[int(s.kind[a.supplier[arc]])],
                supplier_id=str(s.ids[a.supplier[arc]]),
                demand_id=str(p.demand_ids[d]),
                community_id=str(p.community_ids[p.demand_community[d]]),
                moves="; ".join(moves),
            )
            if gaining >= 0:
                row["gaining_demand_id"] = str(p.demand_ids[gaining])
                row["gaining_community_id"] = str(p.community_ids[p.demand_community[gaining]])
        rows.append(row)
    out = pd.DataFrame(rows, columns=[*(c for c in BOTTLENECK_COLUMNS if c != "rank"), "_named"])
    out = out.sort_values(
        ["marginal_value", "district", "skill"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    named_rows = [tuple(x) for x in out.pop("_named")]
    return out, named_rows


def _best_by_duals(
    p: Problem, res: _Residual, districts: np.ndarray, useful: np.ndarray
) -> dict[tuple[str, int], tuple[float, int]]:
    """Per (district, category): the best arc for one more hour and its true gain."""
    a = p.arcs
    n_s = len(p.suppliers)
    dv = res.value[n_s + a.demand[useful]]
    ok = dv > _UNREACHABLE
    arcs = useful[ok]
    gain = _costs(p)[arcs] + dv[ok]
    keep = gain > 0
    arcs, gain = arcs[keep], gain[keep]
    frame = pd.DataFrame(
        {
            "district": districts[a.supplier[arcs]],
            "cat": p.demand_category[a.demand[arcs]],
            "gain": gain,
            "arc": arcs,
        }
    )
    # Largest gain; of equal gains the first supplier, then demand, in file order.
    frame = frame.sort_values(["gain", "arc"], ascending=[False, True], kind="stable")
    first = frame.drop_duplicates(["district", "cat"])
    out: dict[tuple[str, int], tuple[float, int]] = {}
    for r in _records(first):
        arc = int(r["arc"])
        true_gain = float(a.weight[arc] + res.true[n_s + a.demand[arc]])
        out[(str(r["district"]), int(r["cat"]))] = (max(true_gain, 0.0), arc)
    return out


def _with_clone(problem: Problem, sup: int, arcs: np.ndarray) -> Problem:
    """``problem`` with one more supplier like ``sup``: one hour, on ``arcs`` only."""
    s = problem.suppliers
    a = problem.arcs
    new = len(s)

    def add(x: np.ndarray, v: Any) -> np.ndarray:
        return np.concatenate((x, np.asarray([v], dtype=x.dtype)))

    cat = problem.demand_category[a.demand[arcs[0]]] if len(arcs) else 0
    clone = Suppliers(
        kind=add(s.kind, s.kind[sup]),
        ids=add(s.ids, f"{s.ids[sup]}+1"),
        row=add(s.row, -1),
        unit=add(s.unit, s.unit[sup]),
        hours=add(s.hours, 1),
        lat=add(s.lat, s.lat[sup]),
        lon=add(s.lon, s.lon[sup]),
        home=add(s.home, s.home[sup]),
        radius_km=add(s.radius_km, s.radius_km[sup]),
        skill_ptr=add(s.skill_ptr, s.skill_ptr[-1] + 1),
        skill_cat=add(s.skill_cat, cat),
    )
    extra = Arcs(
        supplier=np.concatenate((a.supplier, np.full(len(arcs), new, dtype=a.supplier.dtype))),
        demand=np.concatenate((a.demand, a.demand[arcs])),
        km=np.concatenate((a.km, a.km[arcs])),
        tie=np.concatenate((a.tie, a.tie[arcs])),
        weight=np.concatenate((a.weight, a.weight[arcs])),
    )
    return dataclasses.replace(problem, suppliers=clone, arcs=extra)


def _best_by_resolve(
    ctx: _Context, districts: np.ndarray, useful: np.ndarray, cells: pd.DataFrame
) -> dict[tuple[str, int], tuple[float, int]]:
    """Per (district, category): the best gain by re-solving with each distinct clone."""
    p = ctx.problem
    a = p.arcs
    base = solve_flow(p).objective
    cat_of = p.demand_category[a.demand[useful]]
    out: dict[tuple[str, int], tuple[float, int]] = {}
    for r in _records(cells):
        district, cat = str(r["district"]), int(r["cat"])
        mine = useful[(cat_of == cat) & (districts[a.supplier[useful]] == district)]
        best: tuple[float, int] | None = None
        tried: set[tuple[Any, ...]] = set()
        for sup in np.unique(a.supplier[mine]).tolist():
            arcs = mine[a.supplier[mine] == sup]
            # Suppliers at the same place with the same ties have the same arcs.
            sig = (tuple(a.demand[arcs].tolist()), tuple(np.round(a.weight[arcs], 12)))
            if sig in tried:
                continue
            tried.add(sig)
            result = solve_flow(_with_clone(p, sup, arcs))
            gain = result.objective - base
            extra = result.flow[len(a) :]
            if gain > 1e-9 and (best is None or gain > best[0] + 1e-9):
                used = np.flatnonzero(extra > 0)
                best = (gain, int(arcs[used[0]] if len(used) else arcs[0]))
        if best is not None:
            out[(district, cat)] = best
    return out


# ---- summaries -------------------------------------------------------------------------


def _category(cat: str, lang: str) -> str:
    return category_name(cat, lang)


def _pct(covered: int, demanded: int, _: Translator) -> str:
    return f"{100 * covered / demanded:.1f}%" if demanded > 0 else _("n/a")


def _na(value: Any) -> bool:
    """A missing cell, as pandas' group-by leaves it out."""
    return is_missing(value)


@dataclass(frozen=True)
class _Facts:
    """What a summary says of a group of demands (a district's, a community's)."""

    demanded: int
    covered: int
    demands: int
    met: int
    partial: int
    unmet: int
    short: list[tuple[str, int, str]]  # largest unmet hours by category, main reason
    units: list[tuple[str, int]]  # units giving the most hours


class _Columns:
    """The columns the summaries read, as Python lists: a group's facts are then a few
    loops over its rows, not a dozen pandas calls (which cost milliseconds per group,
    minutes for every community of a city)."""

    def __init__(self, status: pd.DataFrame, assign: pd.DataFrame) -> None:
        self.hours = status["hours"].tolist()
        self.covered = status["covered_hours"].tolist()
        self.status = status["status"].tolist()
        self.category = status["category"].tolist()
        self.reason = status["reason"].tolist()
        self.unit = assign["unit_id"].tolist()
        self.unit_hours = assign["hours"].tolist()

    def facts(self, rows: Sequence[int], arows: Sequence[int], top: int) -> _Facts:
        """The facts of the status rows ``rows`` and assignment rows ``arows``."""
        counts: dict[Any, int] = {}
        by_cat: dict[Any, int] = {}
        by_reason: dict[Any, dict[Any, int]] = {}
        demanded = covered = 0
        for i in rows:
            demanded += self.hours[i]
            covered += self.covered[i]
            if not _na(self.status[i]):
                counts[self.status[i]] = counts.get(self.status[i], 0) + 1
            unmet = self.hours[i] - self.covered[i]
            cat, reason = self.category[i], self.reason[i]
            if unmet > 0 and not _na(cat):
                by_cat[cat] = by_cat.get(cat, 0) + unmet
                if not _na(reason):
                    mine = by_reason.setdefault(cat, {})
                    mine[reason] = mine.get(reason, 0) + unmet
        ranked = sorted(sorted(by_cat.items()), key=lambda kv: (-int(kv[1]), str(kv[0])))[:top]
        short = []
        for cat, hours in ranked:
            reason = sorted(
                sorted(by_reason[cat].items()),
                key=lambda kv: (-int(kv[1]), REASONS.index(kv[0]) if kv[0] in REASONS else 99),
            )[0][0]
            short.append((str(cat), int(hours), str(reason)))
        by_unit: dict[Any, int] = {}
        for j in arows:
            if not _na(self.unit[j]):
                by_unit[self.unit[j]] = by_unit.get(self.unit[j], 0) + self.unit_hours[j]
        units = [
            (str(u), int(h))
            for u, h in sorted(sorted(by_unit.items()), key=lambda kv: (-int(kv[1]), kv[0]))
        ][:top]
        met, partial, unmet = (int(counts.get(k, 0)) for k in ("met", "partial", "unmet"))
        return _Facts(int(demanded), int(covered), len(rows), met, partial, unmet, short, units)


def _summary_text(
    lang: str,
    name: str,
    facts: _Facts,
    unit_names: dict[str, str],
    bottleneck: dict[str, Any] | None,
    is_district: bool,
) -> str:
    _ = translator(lang)
    sep = _.pgettext("list separator", ", ")
    demanded, covered, n_demands = facts.demanded, facts.covered, facts.demands
    parts = [
        _.ngettext(
            "{name}: {covered} of {demanded} demanded hours covered ({pct}); {n} demand: "
            "{met} met, {partial} partial, {unmet} unmet.",
            "{name}: {covered} of {demanded} demanded hours covered ({pct}); {n} demands: "
            "{met} met, {partial} partial, {unmet} unmet.",
            n_demands,
        ).format(
            name=name,
            covered=f"{covered:,}",
            demanded=f"{demanded:,}",
            pct=_pct(covered, demanded, _),
            n=f"{n_demands:,}",
            met=f"{facts.met:,}",
            partial=f"{facts.partial:,}",
            unmet=f"{facts.unmet:,}",
        )
    ]
    if facts.short:
        items = sep.join(
            _("{category} {hours} h ({reason})").format(
                category=_category(c, lang),
                hours=f"{h:,}",
                reason=reason_text(r, lang, short=True),
            )
            for c, h, r in facts.short
        )
        parts.append(_("Largest shortfalls: {items}.").format(items=items))
    elif demanded > 0:
        parts.append(_("Every demanded hour is covered."))
    if facts.units:
        units = sep.join(
            _("{name} {hours} h").format(
                name=display_name(unit_names.get(u, u), lang), hours=f"{h:,}"
            )
            for u, h in facts.units
        )
        parts.append(_("Most hours from: {units}.").format(units=units))
    if bottleneck is not None:
        if bottleneck["marginal_value"] > 0:
            parts.append(
                _(
                    "Bottleneck: one more hour of {skill} from this district's suppliers "
                    "would add {value} to the objective."
                ).format(
                    skill=_category(str(bottleneck["skill"]), lang),
                    value=f"{bottleneck['marginal_value']:.2f}",
                )
            )
        elif is_district:
            parts.append(_("No bottleneck: one more hour of any skill here would add nothing."))
    # Sentences follow each other as the language writes them (a space in English,
    # nothing in Chinese).
    join = _.pgettext("two sentences in a row", "{first} {second}")
    return functools.reduce(lambda a, b: join.format(first=a, second=b), parts)


def summaries(
    plan: Plan | PlanTables | str | Path,
    dataset: Dataset | str | Path | None = None,
    params: ExplainParams | None = None,
    bottleneck_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A short plain-language summary per district and per community.

    Parameters
    ----------
    plan, dataset
        As for :func:`assignment_values`.
    params
        ``langs`` (any of :data:`matcher.i18n.LANGS`) and ``top`` (categories and units
        named).
    bottleneck_table
        From :func:`bottlenecks`, for each district's bottleneck skill; computed when
        ``None`` (and left out for a plan with labour integer rules).

    Returns
    -------
    DataFrame
        ``scope`` (``district`` or ``community``), ``id``, ``name``, ``lang``, ``text``;
        districts first (sorted), then communities in file order, per language.
    """
    params = params or ExplainParams()
    if bottleneck_table is not None:
        # Given the bottlenecks, the texts need the plan's tables only: indexing the plan
        # against every candidate arc would cost as much as the bottlenecks did.
        tables = _tables(plan)
        return _summaries(tables, plan_dataset(tables, dataset), params, bottleneck_table)
    ctx = _context(plan, dataset)
    try:
        bottleneck_table = _bottlenecks(ctx, params)
    except ExplainError:
        bottleneck_table = None
    return _summaries(ctx.tables, ctx.dataset, params, bottleneck_table)


def plain_summaries(
    plan: Plan | PlanTables | str | Path,
    dataset: Dataset | str | Path | None = None,
    params: ExplainParams | None = None,
) -> pd.DataFrame:
    """:func:`summaries` without the bottleneck sentences, from the plan's tables alone
    (the plan is not indexed against its candidate arcs: cheap at any scale)."""
    tables = _tables(plan)
    return _summaries(tables, plan_dataset(tables, dataset), params or ExplainParams(), None)


def _summaries(
    tables: PlanTables,
    dataset: Dataset,
    params: ExplainParams,
    bottleneck_table: pd.DataFrame | None,
) -> pd.DataFrame:
    status = tables.demand_status
    comm = dataset.communities
    district_of = dict(
        zip(comm["community_id"].astype(str), comm["district"].astype(str), strict=True)
    )
    assign = tables.assignments.copy()
    assign["district"] = assign["community_id"].astype(str).map(district_of)
    unit_names = _names(dataset, "units", "unit_id")
    comm_names = _names(dataset, "communities", "community_id")
    status_rows = status.groupby(status["community_id"].astype(str), sort=False).indices
    assign_rows = assign.groupby(assign["community_id"].astype(str), sort=False).indices
    none = np.zeros(0, dtype=np.int64)
    cols = _Columns(status, assign)
    # The facts of each district and community, once for every language.
    districts = sorted(set(status["district"].astype(str)))
    status_district = status["district"].to_numpy(object)
    assign_district = assign["district"].to_numpy(object)
    district_facts = {
        d: cols.facts(
            np.flatnonzero(status_district == d).tolist(),
            np.flatnonzero(assign_district == d).tolist(),
            params.top,
        )
        for d in districts
    }
    community_facts = {
        cid: cols.facts(
            np.asarray(status_rows[cid]).tolist(),
            np.asarray(assign_rows.get(cid, none)).tolist(),
            params.top,
        )
        for cid in comm["community_id"].astype(str)
        if cid in status_rows
    }
    rows: list[dict[str, str]] = []
    for lang in params.langs:
        for district in districts:
            top = None
            if bottleneck_table is not None:
                mine = bottleneck_table[bottleneck_table["district"] == district]
                top = {str(k): v for k, v in mine.iloc[0].items()} if len(mine) else None
            text = _summary_text(
                lang, district_name(district, lang), district_facts[district], unit_names, top, True
            )
            rows.append(
                {"scope": "district", "id": district, "name": district, "lang": lang, "text": text}
            )
        for cid, facts in community_facts.items():
            name = display_name(comm_names.get(cid, cid), lang)
            text = _summary_text(lang, name, facts, unit_names, None, False)
            rows.append({"scope": "community", "id": cid, "name": name, "lang": lang, "text": text})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


# ---- everything at once ----------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """A plan explained: assignment values, shortfalls, bottlenecks and summaries.

    Attributes
    ----------
    assignments
        :func:`assignment_values`.
    shortfalls
        One row per demand not fully met and per supplier listed for it (the
        ``nearest`` table of :func:`demand_explanation`, with the demand's ``status``,
        ``reason`` and unmet hours); a demand with no supplier listed has one row with
        empty supplier columns.
    bottlenecks
        :func:`bottlenecks`, or ``None`` for a plan with labour integer rules.
    summaries
        :func:`summaries` in every language asked for.
    notes
        Why a part is missing (each a :class:`~matcher.i18n.Text`: ``.render(lang)``).
    """

    assignments: pd.DataFrame
    shortfalls: pd.DataFrame
    bottlenecks: pd.DataFrame | None
    summaries: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``assignment_values.csv``, ``shortfalls.csv``, ``bottlenecks.csv`` (when
        computed) and ``summaries.csv`` into a folder; returns the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tables = {
            "assignment_values.csv": self.assignments,
            "shortfalls.csv": self.shortfalls,
            "summaries.csv": self.summaries,
        }
        if self.bottlenecks is not None:
            tables["bottlenecks.csv"] = self.bottlenecks
        paths = []
        for name, frame in tables.items():
            write_frame_csv(frame, out / name)
            paths.append(out / name)
        return paths


def explain(
    plan: Plan | PlanTables | str | Path,
    dataset: Dataset | str | Path | None = None,
    params: ExplainParams | None = None,
) -> Explanation:
    """Explain a plan: what each assignment adds, why each demand falls short, where one
    more hour of a skill is worth most, and a summary per district and community.

    Parameters
    ----------
    plan
        A :class:`~matcher.plans.planner.Plan`, its
        :class:`~matcher.report.html.PlanTables`, or a plan
        folder (``matcher plan --out``).
    dataset
        The plan's dataset, or a folder; default the one the plan's ``run.json`` names
        (its content hash must match the plan's).
    params
        What to show (:class:`ExplainParams`).

    Examples
    --------
    >>> import matcher
    >>> ex = explain(matcher.plan("tests/data/example/dataset"), "tests/data/example/dataset")
    >>> round(float(ex.assignments["value"].sum()), 4)
    139.6961
    """
    params = params or ExplainParams()
    ctx = _context(plan, dataset)
    values = _assignment_values(ctx)
    notes: list[str] = []
    try:
        table: pd.DataFrame | None = _bottlenecks(ctx, params)
    except ExplainError as exc:
        table = None
        notes.append(Text(N_("bottlenecks: {error}"), error=_message(exc)))
    status = ctx.tables.demand_status
    short_rows = []
    groups = _supplier_rows(values)
    for did in status.loc[status["status"] != "met", "demand_id"].astype(str):
        ex = _demand_explanation(ctx, did, params, values, groups)
        d = ex.demand
        head = {
            "demand_id": did,
            "community_id": d["community_id"],
            "district": d["district"],
            "category": d["category"],
            "status": d["status"],
            "reason": d["reason"] or "",
            "unmet_hours": int(d["hours"]) - int(d["covered_hours"]),
        }
        if len(ex.nearest):
            for r in _records(ex.nearest.drop(columns="demand_id")):
                short_rows.append({**head, **r})
        else:
            short_rows.append(dict(head))
    columns = [
        "demand_id",
        "community_id",
        "district",
        "category",
        "status",
        "reason",
        "unmet_hours",
        *[c for c in NEAREST_COLUMNS if c != "demand_id"],
    ]
    shortfalls = pd.DataFrame(short_rows, columns=columns)
    summaries_table = _summaries(ctx.tables, ctx.dataset, params, table)
    return Explanation(values, shortfalls, table, summaries_table, notes)


@dataclass(frozen=True)
class StoredReads:
    """A plan's bottlenecks and summaries from one look at the plan, as the service keeps
    them (see :func:`stored_reads`).

    Attributes
    ----------
    bottlenecks
        :func:`bottlenecks`, or ``None`` for a plan it refuses.
    bottleneck_error
        Why it refused (``""`` when it did not).
    bottleneck_demands
        Per row of ``bottlenecks``: every demand the row names (its ``demand_id``,
        ``gaining_demand_id`` and the demands of its ``moves``), in order of mention.
    summaries
        :func:`summaries` in the languages asked for.
    """

    bottlenecks: pd.DataFrame | None
    bottleneck_error: str
    bottleneck_demands: list[tuple[str, ...]]
    summaries: pd.DataFrame


def stored_reads(
    plan: Plan | PlanTables | str | Path,
    dataset: Dataset | str | Path | None = None,
    langs: tuple[str, ...] = LANGS,
) -> StoredReads:
    """Bottlenecks and summaries of a plan at once: the same tables as :func:`bottlenecks`
    and :func:`summaries` (default parameters), for the cost of one of them (the plan is
    indexed against its dataset once and its marginal values found once).

    Raises
    ------
    MatcherError
        What :func:`summaries` raises (a plan that does not fit the dataset).
    """
    ctx = _context(plan, dataset)
    try:
        table: pd.DataFrame | None
        table, named = _bottlenecks_named(ctx, ExplainParams())
        error = ""
    except ExplainError as exc:
        table, named, error = None, [], _message(exc)
    texts = _summaries(ctx.tables, ctx.dataset, ExplainParams(langs=langs), table)
    return StoredReads(table, error, named, texts)


def format_bottlenecks(table: pd.DataFrame, top: int | None = None, lang: str = SOURCE_LANG) -> str:
    """The ranked bottlenecks as lines for people, in ``lang``."""
    _ = translator(lang)
    rows = table if top is None else table.head(top)
    lines = [_("rank  value     skill / district -> where the hour goes")]
    for r in _records(rows):
        at = dict(
            kind=_kind_name(str(r["supplier_kind"]), _),
            supplier=r["supplier_id"],
            demand=r["demand_id"],
            gaining=r["gaining_demand_id"],
        )
        if not r["supplier_id"]:
            where = _("would stay unused")
        elif r["gaining_demand_id"]:
            where = _("at {kind} {supplier}: serves {demand}, {gaining} gains an hour").format(**at)
        else:
            where = _("at {kind} {supplier}: serves {demand}").format(**at)
        skill = category_name(str(r["skill"]), lang)
        lines.append(
            f"{r['rank']:>4}  {r['marginal_value']:>8.4f}  {skill} / {r['district']} -> {where}"
        )
    return "\n".join(lines)


__all__: Sequence[str] = (
    "DemandExplanation",
    "ExplainError",
    "ExplainParams",
    "Explanation",
    "StoredReads",
    "assignment_values",
    "bottlenecks",
    "demand_explanation",
    "display_name",
    "explain",
    "explanation_in",
    "format_bottlenecks",
    "plain_summaries",
    "stored_reads",
    "summaries",
    "supplier_districts",
)
