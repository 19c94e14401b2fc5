"""Recommend dual-registration pairings: which unit should register with which community.

A pairing ties every cadre and service of a unit to a community, whatever the distance
(the spec's tie 2). Planners choose pairings by hand; here they are chosen so that

* every community in scope has at least ``min_partners`` paired units (existing
  pairings count),
* no unit is paired with more than its cap (``max_communities``, or the unit's own
  ``max_communities`` column in ``units.csv``; existing pairings count),
* existing pairings stay, unless ``reconsider`` (then the pairings of the communities in
  scope are chosen afresh, the old ones being candidates like any other),
* the new pairings unlock the most value.

**Value of a pairing.** What a pairing is worth is the gain in the optimal plan's labour
objective when it is added (the exact min-cost flow, re-solved). Gains of several
pairings do not simply add up (they compete for the same cadres and demands), so:

1. each candidate (unit, community) gets a value: ``exact`` -- the true gain of adding
   that one pairing to the dataset, by re-solving the flow with its new arcs -- or
   ``proxy`` -- an estimate from the current optimal plan: the new arcs' hour scores
   minus the supplier's shadow price (0 for a supplier with hours left, else the lowest
   score it is used at), poured greedily into the community's *unmet* hours. The proxy
   counts complementarity of the unit's skills with the unmet demand, minus distance
   (in the hour score) and minus what the unit's cadres already do elsewhere;
   ``tests/test_pairings.py`` checks that its ranking agrees with the exact gains;
2. a CP-SAT assignment model chooses the set: lexicographically, (with ``balance``) the
   most even spread of pairings over districts, then the most total value less a small
   charge per km of unit-community distance (``km_penalty``), then (with ``balance``)
   the smallest largest unit load;
3. the dataset is re-planned with the chosen pairings: the true gain of the whole set is
   the plan's objective after minus before (:func:`matcher.analysis.recommend.before_after`).

Entry point: :func:`recommend_pairings`.
"""

from __future__ import annotations

import dataclasses
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
    unit_caps,
    write_result,
)
from matcher.errors import Finding, InfeasibleError, ParameterError, SolverError
from matcher.i18n import N_, Text, translator
from matcher.inputs.dataset import Dataset, load_dataset
from matcher.inputs.schema import UNIT_KINDS
from matcher.model.eligibility import Arcs, Problem, build_problem, csr, hour_score
from matcher.model.geo import haversine_km
from matcher.params import PlanParams
from matcher.plans.planner import Plan, plan
from matcher.solvers.flow import solve_flow

__all__ = [
    "VALUE_MODES",
    "Candidates",
    "PairingParams",
    "PairingResult",
    "choose_pairings",
    "exact_gains",
    "find_candidates",
    "proxy_values",
    "recommend_pairings",
    "with_arcs",
]

VALUE_MODES = ("auto", "exact", "proxy")
_VALUE_SCALE = 10_000  # values enter CP-SAT as whole 1e-4 units of objective


@dataclass(frozen=True)
class PairingParams:
    """Parameters of a pairing recommendation; every field has a default and is checked.

    Attributes
    ----------
    min_partners
        Every community in scope ends with at least this many paired units (existing
        pairings count). Default 1.
    max_communities
        A unit is paired with at most this many communities in all (existing pairings
        count), unless its row in ``units.csv`` gives its own cap in ``cap_column``.
        Default 3.
    cap_column
        The extra column of ``units.csv`` holding per-unit caps (empty cells: the
        default). Default ``"max_communities"``.
    reconsider
        Choose the pairings of the communities in scope afresh: their existing pairings
        become candidates, kept only if chosen again. Default False (they stay).
    scope
        The communities to pair (default: all).
    value
        ``"exact"`` (re-solve per candidate), ``"proxy"`` (estimate from the current
        plan, see the module's notes) or ``"auto"``: exact when at most
        ``exact_limit`` candidates can add any arc, else proxy. Default ``"auto"``.
    exact_limit
        See ``value``. Default 100.
    balance
        Spread the pairings evenly over the districts in scope (in proportion to their
        communities, within one pairing where possible) before maximizing value, and
        then keep the largest unit load as small as the best value allows. Default False.
    max_new
        At most this many new pairings (``None``: no limit). Default ``None``.
    max_partners
        A community ends with at most this many paired units (``None``: no limit beyond
        the units' caps). Default ``None``.
    unit_kinds
        Only units of these kinds are paired (empty: every kind). Default empty.
    max_km
        Only units within this distance (km, unit to community) are candidates
        (``None``: any distance). Default ``None``.
    km_penalty
        Value charged per km between unit and community for each pairing, so that of
        pairings worth about the same the nearer is chosen, and one worth less than its
        charge is made only where a community needs a partner. Default 0.001 (a
        pairing 20 km away must unlock more than 0.02 of objective, a fiftieth of an
        hour of priority 1).
    time_limit_s
        Wall-clock limit of each CP-SAT stage. Default 30.
    seed
        CP-SAT's random seed (one worker, so the choice is reproducible). Default 0.
    """

    min_partners: int = 1
    max_communities: int = 3
    cap_column: str = "max_communities"
    reconsider: bool = False
    scope: Scope = field(default_factory=Scope)
    value: str = "auto"
    exact_limit: int = 100
    balance: bool = False
    max_new: int | None = None
    max_partners: int | None = None
    unit_kinds: tuple[str, ...] = ()
    max_km: float | None = None
    km_penalty: float = 0.001
    time_limit_s: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("min_partners", "max_communities", "exact_limit", "seed"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ParameterError(name, v, Text(N_("a whole number, 0 or more")))
        for name in ("max_new", "max_partners"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ParameterError(name, v, Text(N_("a whole number, 0 or more")))
        if self.max_partners is not None and self.max_partners < self.min_partners:
            raise ParameterError(
                "max_partners",
                self.max_partners,
                Text(N_("at least min_partners={n}"), n=self.min_partners),
            )
        if self.value not in VALUE_MODES:
            raise ParameterError(
                "value",
                self.value,
                Text(N_("{first} or {second}"), first=VALUE_MODES[0], second=VALUE_MODES[1]),
            )
        bad = [k for k in self.unit_kinds if k not in UNIT_KINDS]
        if bad:
            raise ParameterError(
                "unit_kinds", bad[0], Text(N_("one of {names}"), names=", ".join(UNIT_KINDS))
            )
        if self.max_km is not None and not (
            isinstance(self.max_km, int | float) and math.isfinite(self.max_km) and self.max_km > 0
        ):
            raise ParameterError("max_km", self.max_km, Text(N_("a distance in km greater than 0")))
        if not (
            isinstance(self.km_penalty, int | float)
            and math.isfinite(self.km_penalty)
            and self.km_penalty >= 0
        ):
            raise ParameterError("km_penalty", self.km_penalty, Text(N_("a number, 0 or more")))
        if not (isinstance(self.time_limit_s, int | float) and self.time_limit_s > 0):
            raise ParameterError(
                "time_limit_s", self.time_limit_s, Text(N_("seconds greater than 0"))
            )
        if not self.cap_column:
            raise ParameterError("cap_column", self.cap_column, Text(N_("a column name")))

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dictionary."""
        out = dataclasses.asdict(self)
        out["scope"] = self.scope.describe()
        out["unit_kinds"] = list(self.unit_kinds)
        return out


@dataclass(frozen=True)
class Candidates:
    """Candidate pairings and the arcs each would add.

    ``unit``, ``community``: indices into the dataset's units and communities; ``km``:
    unit to community. ``arc_pair`` says which candidate each new arc belongs to; the
    arcs (supplier, demand, km, weight) are those the pairing adds to the problem:
    skill-matching supplier-demand pairs with no tie yet and a positive hour score.
    """

    unit: np.ndarray
    community: np.ndarray
    km: np.ndarray
    existing: np.ndarray
    arc_pair: np.ndarray
    arc_supplier: np.ndarray
    arc_demand: np.ndarray
    arc_km: np.ndarray
    arc_weight: np.ndarray

    def __len__(self) -> int:
        return len(self.unit)


def find_candidates(
    problem: Problem,
    dataset: Dataset,
    scope_mask: np.ndarray,
    unit_mask: np.ndarray,
    max_km: float | None,
    existing_pairs: set[tuple[int, int]] | None = None,
) -> Candidates:
    """Every (unit, community in scope) not paired in ``dataset``, with the arcs it adds.

    ``existing_pairs`` marks candidates that were pairings before a ``reconsider``.
    """
    units, comms = dataset.units, dataset.communities
    unit_index = {u: i for i, u in enumerate(units["unit_id"].tolist())}
    comm_index = {c: i for i, c in enumerate(comms["community_id"].tolist())}
    paired = {
        (unit_index[u], comm_index[c])
        for u, c in zip(
            dataset.pairings["unit_id"].tolist(),
            dataset.pairings["community_id"].tolist(),
            strict=True,
        )
    }
    c_lat, c_lon = comms["lat"].to_numpy(float), comms["lon"].to_numpy(float)
    u_lat, u_lon = units["lat"].to_numpy(float), units["lon"].to_numpy(float)
    in_scope = np.flatnonzero(scope_mask)
    cand_u: list[int] = []
    cand_c: list[int] = []
    for u in np.flatnonzero(unit_mask).tolist():
        km = haversine_km(np.full(len(in_scope), u_lat[u]), np.full(len(in_scope), u_lon[u]),
                          c_lat[in_scope], c_lon[in_scope])  # fmt: skip
        for c, d in zip(in_scope.tolist(), km.tolist(), strict=True):
            if (u, c) not in paired and (max_km is None or d <= max_km):
                cand_u.append(u)
                cand_c.append(c)
    cu = np.asarray(cand_u, dtype=np.int64)
    cc = np.asarray(cand_c, dtype=np.int64)
    ckm = haversine_km(u_lat[cu], u_lon[cu], c_lat[cc], c_lon[cc]) if len(cu) else np.zeros(0)
    pair_pos = {(int(u), int(c)): k for k, (u, c) in enumerate(zip(cu, cc, strict=True))}

    # Arcs each candidate adds: suppliers of the unit x skill-matching demands of the
    # community, where no arc (no tie) exists yet.
    s = problem.suppliers
    n_cat = len(problem.categories)
    skill = np.zeros((len(s), n_cat), dtype=bool)
    owner = np.repeat(np.arange(len(s)), np.diff(s.skill_ptr))
    skill[owner, s.skill_cat] = True
    n_d = len(problem.demand_ids)
    have = np.unique(problem.arcs.supplier * max(n_d, 1) + problem.arcs.demand)
    sup_ptr, sup_items = csr(s.unit, np.arange(len(s), dtype=np.int64), len(units))
    dem_scope = np.flatnonzero(scope_mask[problem.demand_community] & (problem.demand_hours > 0))
    parts: list[tuple[np.ndarray, ...]] = []
    for u in np.unique(cu).tolist():
        sups = sup_items[sup_ptr[u] : sup_ptr[u + 1]]
        sups = sups[s.hours[sups] > 0]
        if len(sups) == 0 or len(dem_scope) == 0:
            continue
        si, dj = np.nonzero(skill[sups][:, problem.demand_category[dem_scope]])
        sup, dem = sups[si], dem_scope[dj]
        comm = problem.demand_community[dem]
        k = np.array([pair_pos.get((u, int(c)), -1) for c in comm], dtype=np.int64)
        keep = (k >= 0) & ~np.isin(sup * max(n_d, 1) + dem, have)
        sup, dem, comm, k = sup[keep], dem[keep], comm[keep], k[keep]
        km = haversine_km(s.lat[sup], s.lon[sup], c_lat[comm], c_lon[comm])
        w = hour_score(problem.demand_priority[dem], km, problem.params)
        pos = w > 0
        parts.append((k[pos], sup[pos], dem[pos], km[pos], w[pos]))
    if parts:
        ap, asup, adem, akm, aw = (np.concatenate(col) for col in zip(*parts, strict=True))
        order = np.lexsort((adem, asup, ap))
        ap, asup, adem, akm, aw = ap[order], asup[order], adem[order], akm[order], aw[order]
    else:
        ap = asup = adem = np.zeros(0, dtype=np.int64)
        akm = aw = np.zeros(0)
    before = existing_pairs or set()
    existing = np.array(
        [(int(u), int(c)) in before for u, c in zip(cu, cc, strict=True)], dtype=bool
    )
    return Candidates(cu, cc, ckm, existing, ap, asup, adem, akm, aw)


def with_arcs(problem: Problem, sup: np.ndarray, dem: np.ndarray, km: np.ndarray,
              weight: np.ndarray, tie: int = 1) -> Problem:  # fmt: skip
    """``problem`` with extra candidate arcs (a pairing's, by default tie ``pairing``)."""
    a = problem.arcs
    arcs = Arcs(
        supplier=np.concatenate((a.supplier, sup)),
        demand=np.concatenate((a.demand, dem)),
        km=np.concatenate((a.km, km)),
        tie=np.concatenate((a.tie, np.full(len(sup), tie, dtype=a.tie.dtype))),
        weight=np.concatenate((a.weight, weight)),
    )
    return dataclasses.replace(problem, arcs=arcs)


def exact_gains(
    problem: Problem, cands: Candidates, base_flow: np.ndarray, which: np.ndarray
) -> tuple[np.ndarray, list[dict[str, int]]]:
    """The true gain of adding each candidate in ``which`` alone, by re-solving the flow.

    Returns the gains (0 for candidates not in ``which`` or adding no arc) and, per
    candidate, the hours its new arcs carry into demands unmet before, by category.
    Adding arcs never lowers the optimum, so a gain below 0 can only be the solver's
    rounding (below 1e-6 per hour) and is reported as 0.
    """
    gains = np.zeros(len(cands))
    served: list[dict[str, int]] = [{} for _ in range(len(cands))]
    ptr, order = csr(cands.arc_pair, np.arange(len(cands.arc_pair)), len(cands))
    base_objective = float(np.dot(base_flow, problem.arcs.weight))
    covered = np.bincount(problem.arcs.demand, weights=base_flow, minlength=len(problem.demand_ids))
    unmet = covered < problem.demand_hours
    for k in which.tolist():
        idx = order[ptr[k] : ptr[k + 1]]
        if len(idx) == 0:
            continue
        aug = with_arcs(problem, cands.arc_supplier[idx], cands.arc_demand[idx],
                        cands.arc_km[idx], cands.arc_weight[idx])  # fmt: skip
        result = solve_flow(aug)
        gains[k] = max(result.objective - base_objective, 0.0)
        new_flow = result.flow[len(problem.arcs) :]
        by_cat: dict[str, int] = {}
        for d, h in zip(cands.arc_demand[idx].tolist(), new_flow.tolist(), strict=True):
            if h > 0 and unmet[d]:
                cat = problem.categories[problem.demand_category[d]]
                by_cat[cat] = by_cat.get(cat, 0) + int(h)
        served[k] = dict(sorted(by_cat.items()))
    return gains, served


def proxy_values(
    problem: Problem, cands: Candidates, flow: np.ndarray
) -> tuple[np.ndarray, list[dict[str, int]]]:
    """Estimated gain of each candidate alone, from the current optimal ``flow``.

    Each new arc's hour is worth its score minus the supplier's shadow price (0 when the
    supplier has hours left, else the lowest score among the arcs it is used on: what
    its last hour earns now) minus the demand's (0 when it is short, else the lowest
    score among the hours it gets: what a better hour would replace). Hours are poured,
    best worth first, into the community's unmet hours (or, for a met demand, its hours),
    each supplier giving at most its hours. Returns the values and the unmet hours
    served by category.
    """
    arcs = problem.arcs
    s = problem.suppliers
    used = np.bincount(arcs.supplier, weights=flow, minlength=len(s)).astype(np.int64)
    left = s.hours - used
    price = np.zeros(len(s))
    busy = flow > 0
    if busy.any():
        low = np.full(len(s), np.inf)
        np.minimum.at(low, arcs.supplier[busy], arcs.weight[busy])
        full = (left <= 0) & np.isfinite(low)
        price[full] = low[full]
    covered = np.bincount(arcs.demand, weights=flow, minlength=len(problem.demand_ids))
    resid = problem.demand_hours - covered.astype(np.int64)
    # A met demand's shadow price: the lowest score among the hours it gets (a better
    # supplier would replace those); an unmet demand's is 0.
    dem_price = np.zeros(len(problem.demand_ids))
    if busy.any():
        low_d = np.full(len(problem.demand_ids), np.inf)
        np.minimum.at(low_d, arcs.demand[busy], arcs.weight[busy])
        met = (resid <= 0) & np.isfinite(low_d)
        dem_price[met] = low_d[met]
    room = np.where(resid > 0, resid, problem.demand_hours)
    worth = cands.arc_weight - price[cands.arc_supplier] - dem_price[cands.arc_demand]
    useful = (worth > 0) & (room[cands.arc_demand] > 0)
    values = np.zeros(len(cands))
    served: list[dict[str, int]] = [{} for _ in range(len(cands))]
    idx = np.flatnonzero(useful)
    # Best worth first within each candidate; ties in file order of supplier, demand.
    idx = idx[np.lexsort((cands.arc_demand[idx], cands.arc_supplier[idx], -worth[idx],
                          cands.arc_pair[idx]))]  # fmt: skip
    start = 0
    while start < len(idx):
        k = int(cands.arc_pair[idx[start]])
        end = start
        while end < len(idx) and cands.arc_pair[idx[end]] == k:
            end += 1
        give: dict[int, int] = {}
        need: dict[int, int] = {}
        total = 0.0
        by_cat: dict[str, int] = {}
        for a in idx[start:end].tolist():
            sp, d = int(cands.arc_supplier[a]), int(cands.arc_demand[a])
            h = min(give.setdefault(sp, int(s.hours[sp])), need.setdefault(d, int(room[d])))
            if h <= 0:
                continue
            give[sp] -= h
            need[d] -= h
            total += h * float(worth[a])
            if resid[d] > 0:
                cat = problem.categories[problem.demand_category[d]]
                by_cat[cat] = by_cat.get(cat, 0) + h
        values[k] = total
        served[k] = dict(sorted(by_cat.items()))
        start = end
    return values, served


@dataclass(frozen=True)
class PairingResult:
    """A pairing recommendation and the plans that judge it.

    Attributes
    ----------
    pairings
        The dataset's ``pairings.csv`` after the recommendation (``unit_id``,
        ``community_id``) with a ``status`` column: ``existing`` or ``new``.
    recommendations
        One row per new (or, with ``reconsider``, dropped) pairing: unit, community,
        district, km, ``value`` (the value it was chosen by), ``value_kind``, the unmet
        hours it serves (total and by category) and ``status``.
    districts
        Per district in scope: communities, pairings before and after, pairings per
        community, communities below ``min_partners`` before and after.
    units
        Per unit with a pairing or a candidate: cap, load (communities paired) before
        and after.
    comparison
        :func:`matcher.analysis.recommend.before_after` of the plans without and with the
        recommended pairings.
    summary
        JSON-ready figures: counts, total value, the true gain of the set, parameters.
    dataset
        The dataset with the recommended pairings (validated), ready to plan.
    before, after
        The plans without and with them.
    """

    pairings: pd.DataFrame
    recommendations: pd.DataFrame
    districts: pd.DataFrame
    units: pd.DataFrame
    comparison: pd.DataFrame
    summary: dict[str, Any]
    dataset: Dataset = field(repr=False)
    before: Plan = field(repr=False)
    after: Plan = field(repr=False)

    @property
    def gain(self) -> float:
        """The true gain of the whole set: the plan's objective after minus before."""
        return float(self.after.objective - self.before.objective)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``pairings.csv`` (dataset format plus ``status``),
        ``pairing_recommendations.csv``, ``pairing_districts.csv``, ``pairing_units.csv``,
        ``before_after.csv`` and ``pairing_summary.json``."""
        tables = (
            ("pairings.csv", self.pairings),
            ("pairing_recommendations.csv", self.recommendations),
            ("pairing_districts.csv", self.districts),
            ("pairing_units.csv", self.units),
            ("before_after.csv", self.comparison),
        )
        return write_result(out_dir, tables, "pairing_summary.json", self.summary)

    def report(self, lang: str = "en") -> str:
        """A few lines for people, in ``lang``."""
        _ = translator(lang)
        s = self.summary
        # Whole sentences with and without dropped pairings: word order differs by language.
        head = (
            _(
                "Pairings for {scope}: {new} new, {dropped} dropped ({candidates} candidates, "
                "values {value_kind})"
            )
            if s["dropped_pairings"]
            else _("Pairings for {scope}: {new} new ({candidates} candidates, values {value_kind})")
        )
        # The summary keeps the scope in English (it is data); "every community" is a phrase.
        scope = s["scope"] if s["scope"] != Scope().describe() else _("all communities")
        lines = [
            head.format(
                scope=scope,
                new=s["new_pairings"],
                dropped=s["dropped_pairings"],
                candidates=f"{s['candidates']:,}",
                value_kind=s["value_kind"],
            ),
            _("  communities below {n} partner(s): {before} before, {after} after").format(
                n=s["min_partners"], before=s["short_before"], after=s["short_after"]
            ),
            _("  value chosen {value}; true gain of the set {gain}").format(
                value=f"{s['total_value']:,.4f}", gain=f"{s['gain']:,.4f}"
            ),
        ]
        row_text = _(
            "  {status} {unit} -> {community} ({district}), {km} km, value {value}, serves {served}"
        )
        for row in self.recommendations.head(15).to_dict("records"):
            lines.append(
                row_text.format(
                    status=f"{row['status']:<8}",
                    unit=row["unit_id"],
                    community=row["community_id"],
                    district=row["district"],
                    km=f"{row['km']:.2f}",
                    value=f"{row['value']:,.4f}",
                    served=row["served"] or "-",
                )
            )
        if len(self.recommendations) > 15:
            lines.append(_("  ... {n} more").format(n=len(self.recommendations) - 15))
        lines.append(_("Before/after:"))
        lines.append(format_before_after(self.comparison, lang))
        return "\n".join(lines)


def _served_text(served: dict[str, int]) -> str:
    return ";".join(f"{c}:{h}" for c, h in served.items())


def choose_pairings(
    cands: Candidates,
    values: np.ndarray,
    base_count: np.ndarray,
    base_load: np.ndarray,
    caps: np.ndarray,
    scope_mask: np.ndarray,
    districts: np.ndarray,
    params: PairingParams,
    units: pd.DataFrame,
    comms: pd.DataFrame,
    served: list[dict[str, int]],
    unmet: dict[tuple[int, str], int],
) -> tuple[np.ndarray, float]:
    """The CP-SAT assignment: which candidates to pair (boolean mask), and the value of
    the set as the model counts it.

    A candidate that serves unmet hours earns its value per hour served, and the hours
    that several chosen pairings serve in one (community, category) are capped at that
    cell's unmet hours: two units offering the same 30 hours of legal aid to a community
    that lacks 30 are not worth twice as much. A candidate whose value serves no unmet
    hours (it frees cadres elsewhere) earns its value as it is.
    """
    _check_room(cands, base_count, base_load, caps, scope_mask, params, units, comms)
    model = cp_model.CpModel()
    n = len(cands)
    y = [model.new_bool_var(f"y{k}") for k in range(n)]
    terms: list[Any] = []
    cells: dict[tuple[int, str], list[Any]] = {}
    for k in range(n):
        hours = sum(served[k].values())
        charge = params.km_penalty * float(cands.km[k])
        if hours <= 0:
            terms.append(round((values[k] - charge) * _VALUE_SCALE) * y[k])
            continue
        terms.append(-round(charge * _VALUE_SCALE) * y[k])
        per_hour = round(values[k] / hours * _VALUE_SCALE)
        for cat, h in served[k].items():
            z = model.new_int_var(0, h, f"z{k}_{cat}")
            model.add(z <= h * y[k])
            cells.setdefault((int(cands.community[k]), cat), []).append(z)
            terms.append(per_hour * z)
    for cell, zs in cells.items():
        model.add(sum(zs) <= unmet.get(cell, 0))
    by_comm: dict[int, list[int]] = {}
    by_unit: dict[int, list[int]] = {}
    for k in range(n):
        by_comm.setdefault(int(cands.community[k]), []).append(k)
        by_unit.setdefault(int(cands.unit[k]), []).append(k)
    for c in np.flatnonzero(scope_mask).tolist():
        need = params.min_partners - int(base_count[c])
        if need > 0:
            model.add(sum(y[k] for k in by_comm.get(c, [])) >= need)
    for u, ks in by_unit.items():
        model.add(sum(y[k] for k in ks) <= max(int(caps[u]) - int(base_load[u]), 0))
    if params.max_new is not None:
        model.add(sum(y) <= params.max_new)
    if params.max_partners is not None:
        for c in np.flatnonzero(scope_mask).tolist():
            room = max(params.max_partners - int(base_count[c]), 0)
            model.add(sum(y[k] for k in by_comm.get(c, [])) <= room)
    # One objective: value minus a small charge per km, so that among pairings of (nearly)
    # equal value the nearer unit is chosen, and a pairing worth nothing is made only
    # where a community needs a partner.
    stages: list[tuple[Any, bool]] = []
    if params.balance:
        stages.append((_balance_deviation(model, y, cands, base_count, scope_mask, districts),
                       False))  # fmt: skip
    objective = sum(terms)
    stages.append((objective, True))
    if params.balance:
        top = model.new_int_var(0, int(caps.max(initial=0)) + int(base_load.max(initial=0)), "top")
        for u, ks in by_unit.items():
            model.add(int(base_load[u]) + sum(y[k] for k in ks) <= top)
        stages.append((top, False))
    solver: cp_model.CpSolver | None = None
    for i, (expr, maximize) in enumerate(stages):
        if maximize:
            model.maximize(expr)
        else:
            model.minimize(expr)
        solver, status = solve_stage(model, params.time_limit_s, params.seed)
        if status == cp_model.INFEASIBLE:
            raise InfeasibleError(
                [
                    Finding(
                        "pairings",
                        Text(
                            N_(
                                "no set of pairings gives every community in scope {n} "
                                "partner(s) within the units' caps (and max_new); raise the "
                                "caps, lower min_partners or widen the candidate units"
                            ),
                            n=params.min_partners,
                        ),
                    )
                ]
            )
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise SolverError(
                Text(
                    N_("the pairing model ended with status {status}"),
                    status=solver.status_name(status),
                )
            )
        best = round(solver.objective_value)
        if i < len(stages) - 1:
            # The later stages keep this stage's best: a lexicographic objective.
            if maximize:
                model.add(expr >= best)
            else:
                model.add(expr <= best)
            model.clear_hints()  # type: ignore[no-untyped-call]
            for k in range(n):
                model.add_hint(y[k], bool(solver.value(y[k])))
    assert solver is not None
    chosen = np.array([bool(solver.value(v)) for v in y], dtype=bool)
    return chosen, solver.value(objective) / _VALUE_SCALE


def _balance_deviation(
    model: cp_model.CpModel,
    y: list[Any],
    cands: Candidates,
    base_count: np.ndarray,
    scope_mask: np.ndarray,
    districts: np.ndarray,
) -> Any:
    """A variable for the largest gap between a district's pairings and its even share.

    With ``C`` communities in scope, ``c_d`` of them in district ``d``, ``P_d`` its
    pairings and ``T`` all pairings in scope, the gap is ``|C * P_d - c_d * T|`` (in
    ``1/C`` pairings): at most ``C`` means within one pairing of the share.
    """
    in_scope = np.flatnonzero(scope_mask)
    names = sorted(set(districts[in_scope].tolist()))
    n_comm = len(in_scope)
    total = sum(int(base_count[c]) for c in in_scope) + sum(y)
    bound = n_comm * (len(y) + int(base_count[in_scope].sum()) + 1)
    dev = model.new_int_var(0, bound, "deviation")
    for name in names:
        cs = in_scope[districts[in_scope] == name]
        own = int(base_count[cs].sum()) + sum(
            y[k] for k in range(len(y)) if districts[cands.community[k]] == name
        )
        share = n_comm * own - len(cs) * total
        model.add(share <= dev)
        model.add(-share <= dev)
    return dev


def _check_room(
    cands: Candidates,
    base_count: np.ndarray,
    base_load: np.ndarray,
    caps: np.ndarray,
    scope_mask: np.ndarray,
    params: PairingParams,
    units: pd.DataFrame,
    comms: pd.DataFrame,
) -> None:
    """Name the communities that cannot reach ``min_partners`` whatever is chosen."""
    room = np.maximum(caps - base_load, 0)
    open_units = room[cands.unit] > 0
    avail = np.bincount(cands.community[open_units], minlength=len(comms))
    need = np.maximum(params.min_partners - base_count, 0) * scope_mask
    short = np.flatnonzero(avail < need)
    findings = []
    if len(short):
        ids = tuple(comms["community_id"].to_numpy(object)[short].tolist())
        findings.append(
            Finding(
                "pairings",
                Text(
                    N_(
                        "{n} communities have fewer candidate units with room under their cap "
                        "than the {partners} partner(s) asked for"
                    ),
                    n=len(short),
                    partners=params.min_partners,
                ),
                communities=ids,
            )
        )
    total_need = int(need.sum())
    total_room = int(room[np.unique(cands.unit[open_units])].sum()) if open_units.any() else 0
    if total_need > total_room:
        findings.append(
            Finding(
                "pairings",
                Text(
                    N_(
                        "the communities in scope need {need} more pairings, but the candidate "
                        "units have room for only {room} under their caps"
                    ),
                    need=total_need,
                    room=total_room,
                ),
            )
        )
    if params.max_new is not None and total_need > params.max_new:
        findings.append(
            Finding(
                "pairings",
                Text(
                    N_(
                        "max_new={max_new} is below the {need} pairings needed to give every "
                        "community in scope {partners} partner(s)"
                    ),
                    max_new=params.max_new,
                    need=total_need,
                    partners=params.min_partners,
                ),
            )
        )
    if findings:
        raise InfeasibleError(findings)


def recommend_pairings(
    dataset: Dataset | str | Path,
    params: PairingParams | None = None,
    plan_params: PlanParams | None = None,
) -> PairingResult:
    """Recommend unit-community pairings, and judge them by re-planning.

    Parameters
    ----------
    dataset
        A validated dataset, or a folder to load one from.
    params
        The recommendation's parameters (defaults if ``None``).
    plan_params
        The plan's parameters (ties' radius, weights ...; defaults if ``None``).

    Returns
    -------
    PairingResult

    Raises
    ------
    DatasetError
        If the dataset (or the units' cap column) does not validate.
    ParameterError
        If the scope names a district, street or community the dataset lacks.
    InfeasibleError
        If no choice gives every community in scope ``min_partners`` within the caps;
        it names the communities.

    Examples
    --------
    >>> r = recommend_pairings("tests/data/example/dataset")
    >>> r.summary["short_after"], r.gain >= 0
    (0, True)
    """
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    params = params or PairingParams()
    plan_params = plan_params or PlanParams()
    t0 = time.perf_counter()
    comms, units = ds.communities, ds.units
    scope_mask = params.scope.mask(comms)
    caps = unit_caps(ds, params.cap_column, params.max_communities)
    unit_mask = (
        units["kind"].isin(params.unit_kinds).to_numpy(dtype=bool)
        if params.unit_kinds
        else np.ones(len(units), dtype=bool)
    )
    unit_index = {u: i for i, u in enumerate(units["unit_id"].tolist())}
    comm_index = {c: i for i, c in enumerate(comms["community_id"].tolist())}
    pairs = ds.pairings
    pu = pairs["unit_id"].map(unit_index).to_numpy(dtype=np.int64)
    pc = pairs["community_id"].map(comm_index).to_numpy(dtype=np.int64)
    old = set(zip(pu.tolist(), pc.tolist(), strict=True))
    base = ds
    if params.reconsider:
        keep = ~scope_mask[pc]
        base = ds.replace(pairings=pairs[keep].reset_index(drop=True))
        pu, pc = pu[keep], pc[keep]
    base_count = np.bincount(pc, minlength=len(comms))
    base_load = np.bincount(pu, minlength=len(units))

    before = plan(ds, plan_params)
    problem = build_problem(base, plan_params)
    base_flow = solve_flow(problem)
    cands = find_candidates(problem, base, scope_mask, unit_mask, params.max_km,
                            old if params.reconsider else None)  # fmt: skip
    with_arcs_mask = np.bincount(cands.arc_pair, minlength=len(cands)) > 0
    mode = params.value
    if mode == "auto":
        mode = "exact" if int(with_arcs_mask.sum()) <= params.exact_limit else "proxy"
    if mode == "exact":
        values, served = exact_gains(problem, cands, base_flow.flow,
                                     np.flatnonzero(with_arcs_mask))  # fmt: skip
    else:
        values, served = proxy_values(problem, cands, base_flow.flow)
    t1 = time.perf_counter()
    unmet: dict[tuple[int, str], int] = {}
    covered = np.bincount(problem.arcs.demand, weights=base_flow.flow,
                          minlength=len(problem.demand_ids))  # fmt: skip
    resid = problem.demand_hours - covered.astype(np.int64)
    for d in np.flatnonzero(resid > 0).tolist():
        cell = (int(problem.demand_community[d]), problem.categories[problem.demand_category[d]])
        unmet[cell] = unmet.get(cell, 0) + int(resid[d])
    chosen, model_value = choose_pairings(cands, values, base_count, base_load, caps, scope_mask,
                                  comms["district"].to_numpy(object), params, units, comms,
                                  served, unmet)  # fmt: skip
    t2 = time.perf_counter()

    unit_ids = units["unit_id"].to_numpy(object)
    comm_ids = comms["community_id"].to_numpy(object)
    pick = np.flatnonzero(chosen)
    new_rows = pd.DataFrame(
        {"unit_id": unit_ids[cands.unit[pick]], "community_id": comm_ids[cands.community[pick]]}
    )
    base_pairs = base.pairings[["unit_id", "community_id"]]
    kept_again = cands.existing[pick]
    table = pd.concat([base_pairs, new_rows], ignore_index=True)
    status = ["existing"] * len(base_pairs) + [
        "existing" if e else "new" for e in kept_again.tolist()
    ]
    # Extra columns of the dataset's pairings (notes) are kept for the rows that stay.
    after_ds = ds.replace(
        source=f"{ds.source} (recommended pairings)",
        pairings=table.astype({"unit_id": object, "community_id": object}),
    )
    after = plan(after_ds, plan_params)
    t3 = time.perf_counter()
    table = table.assign(status=status)

    district = comms["district"].to_numpy(object)
    rec = pd.DataFrame(
        {
            "status": np.where(kept_again, "kept", "new"),
            "unit_id": unit_ids[cands.unit[pick]],
            "unit_name": units["name"].to_numpy(object)[cands.unit[pick]],
            "community_id": comm_ids[cands.community[pick]],
            "community_name": comms["name"].to_numpy(object)[cands.community[pick]],
            "district": district[cands.community[pick]],
            "km": np.round(cands.km[pick], 4),
            "value": np.round(values[pick], 6),
            "value_kind": mode,
            "served_hours": [sum(served[k].values()) for k in pick.tolist()],
            "served": [_served_text(served[k]) for k in pick.tolist()],
        }
    )
    rec = rec[rec["status"] == "new"].sort_values(
        ["value", "unit_id", "community_id"], ascending=[False, True, True], kind="stable"
    )
    dropped = sorted(old - set(zip(pu.tolist(), pc.tolist(), strict=True)) - {
        (int(cands.unit[k]), int(cands.community[k])) for k in pick.tolist()
    })  # fmt: skip
    if dropped:
        du = np.array([u for u, _ in dropped], dtype=np.int64)
        dc = np.array([c for _, c in dropped], dtype=np.int64)
        drop = pd.DataFrame(
            {
                "status": "dropped",
                "unit_id": unit_ids[du],
                "unit_name": units["name"].to_numpy(object)[du],
                "community_id": comm_ids[dc],
                "community_name": comms["name"].to_numpy(object)[dc],
                "district": district[dc],
                "km": np.round(
                    haversine_km(
                        units["lat"].to_numpy(float)[du],
                        units["lon"].to_numpy(float)[du],
                        comms["lat"].to_numpy(float)[dc],
                        comms["lon"].to_numpy(float)[dc],
                    ),
                    4,
                ),
                "value": np.nan,
                "value_kind": mode,
                "served_hours": 0,
                "served": "",
            }
        )
        rec = pd.concat([rec, drop], ignore_index=True)
    rec = rec.reset_index(drop=True)

    before_count = np.bincount(
        ds.pairings["community_id"].map(comm_index).to_numpy(dtype=np.int64), minlength=len(comms)
    )
    after_count = base_count + np.bincount(cands.community[pick], minlength=len(comms))
    before_load = np.bincount(
        ds.pairings["unit_id"].map(unit_index).to_numpy(dtype=np.int64), minlength=len(units)
    )
    after_load = base_load + np.bincount(cands.unit[pick], minlength=len(units))
    dist_rows = []
    for name in sorted(set(district[scope_mask].tolist())):
        m = scope_mask & (district == name)
        dist_rows.append(
            {
                "district": name,
                "communities": int(m.sum()),
                "pairings_before": int(before_count[m].sum()),
                "pairings_after": int(after_count[m].sum()),
                "per_community_before": round(float(before_count[m].mean()), 4),
                "per_community_after": round(float(after_count[m].mean()), 4),
                "short_before": int((before_count[m] < params.min_partners).sum()),
                "short_after": int((after_count[m] < params.min_partners).sum()),
            }
        )
    districts_table = pd.DataFrame(dist_rows)
    show = (before_load > 0) | (after_load > 0) | unit_mask
    units_table = pd.DataFrame(
        {
            "unit_id": unit_ids[show],
            "kind": units["kind"].to_numpy(object)[show],
            "level": units["level"].to_numpy(object)[show],
            "cap": caps[show],
            "load_before": before_load[show],
            "load_after": after_load[show],
            "new": (after_load - base_load)[show],
        }
    )
    short_before = int((before_count[scope_mask] < params.min_partners).sum())
    short_after = int((after_count[scope_mask] < params.min_partners).sum())
    summary = {
        "dataset": ds.source,
        "dataset_hash": ds.content_hash,
        "scope": params.scope.describe(),
        "min_partners": params.min_partners,
        "candidates": len(cands),
        "candidates_adding_arcs": int(with_arcs_mask.sum()),
        "value_kind": mode,
        "new_pairings": int((rec["status"] == "new").sum()),
        "dropped_pairings": len(dropped),
        "pairings_before": len(ds.pairings),
        "pairings_after": len(table),
        "short_before": short_before,
        "short_after": short_after,
        "sum_of_values": round(float(values[pick].sum()), 6),
        "total_value": round(float(model_value), 6),
        "objective_before": round(before.objective, 6),
        "objective_after": round(after.objective, 6),
        "gain": round(after.objective - before.objective, 6),
        "largest_unit_load": int(after_load.max(initial=0)),
        "params": params.to_dict(),
        "plan_params": plan_params.to_dict(),
        "seconds": {
            "values": round(t1 - t0, 4),
            "choose": round(t2 - t1, 4),
            "replan": round(t3 - t2, 4),
        },
    }
    return PairingResult(
        pairings=table,
        recommendations=rec,
        districts=districts_table,
        units=units_table,
        comparison=before_after(before, after),
        summary=summary,
        dataset=after_ds,
        before=before,
        after=after,
    )
