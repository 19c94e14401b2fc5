"""The integer rules: which apply to a run, and the data each rule needs.

Each rule is off unless the dataset or the run asks for it (the spec's "Integer rules"):

- ``min_hours`` -- a demand gets 0 hours or at least its ``min_hours`` (dataset column);
- ``max_communities_per_cadre`` -- a cadre serves at most that many communities (run);
- ``funds`` -- a demand with ``funds`` is funded in full or not at all, by ``funds``
  resources tied to it (dataset);
- ``lead_units`` -- every demand in ``lead_options.csv`` gets exactly one lead unit within
  the units' ``lead_capacity``, at least total cost (dataset);
- ``coverage_floor`` -- every community gets a share of what its tied suppliers could
  give it (run).

The constraints themselves live in :mod:`matcher.solvers.integer`, one function per rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from matcher.inputs.dataset import Dataset
from matcher.model.arcs import Problem
from matcher.params import PlanParams

__all__ = ["ActiveRules", "active_rules", "coverage_targets", "demand_reach", "funder_pairs"]


@dataclass(frozen=True)
class ActiveRules:
    """Which integer rules a run applies.

    Attributes
    ----------
    min_hours
        Per demand, its minimum (0 where none or where the rule is off).
    max_communities_per_cadre
        The run's limit, or ``None``.
    coverage_floor
        The run's share, or ``None``.
    funds
        Whether funds are planned (some demand asks for funds and the rule is on).
    leads
        Whether lead units are planned (``lead_options.csv`` given and the rule is on).
    """

    min_hours: np.ndarray
    max_communities_per_cadre: int | None
    coverage_floor: float | None
    funds: bool
    leads: bool

    @property
    def labour(self) -> bool:
        """Whether any rule changes the labour model (so the plain flow will not do)."""
        return (
            bool((self.min_hours > 0).any())
            or self.max_communities_per_cadre is not None
            or self.coverage_floor is not None
        )

    @property
    def any(self) -> bool:
        """Whether any integer rule applies."""
        return self.labour or self.funds or self.leads

    def names(self) -> list[str]:
        """The names of the rules that apply, for reports."""
        out = []
        if (self.min_hours > 0).any():
            out.append("min_hours")
        if self.max_communities_per_cadre is not None:
            out.append("max_communities_per_cadre")
        if self.coverage_floor is not None:
            out.append("coverage_floor")
        if self.funds:
            out.append("funds")
        if self.leads:
            out.append("lead_units")
        return out


def active_rules(dataset: Dataset, params: PlanParams) -> ActiveRules:
    """The integer rules that a dataset and a run's parameters ask for.

    Examples
    --------
    >>> from matcher.inputs.dataset import load_dataset
    >>> active_rules(load_dataset("tests/data/example/dataset"), PlanParams()).any
    False
    """
    demands = dataset.demands
    mins = demands["min_hours"].fillna(0).to_numpy(dtype=np.int64)
    if not params.apply_min_hours:
        mins = np.zeros(len(demands), dtype=np.int64)
    funds = bool(params.apply_funds and (demands["funds"].fillna(0) > 0).any())
    leads = bool(params.apply_leads and dataset.has("lead_options"))
    return ActiveRules(
        min_hours=mins,
        max_communities_per_cadre=params.max_communities_per_cadre,
        coverage_floor=params.coverage_floor,
        funds=funds,
        leads=leads,
    )


def demand_reach(problem: Problem) -> np.ndarray:
    """Per demand, the hours its tied suppliers could give it on their own.

    The smaller of the demand's hours and the summed hours of every supplier with a
    candidate arc to it (whatever the arc's score): what "the supply can reach".
    """
    arcs = problem.arcs
    n_d = len(problem.demand_ids)
    pair = np.unique(arcs.demand * max(len(problem.suppliers), 1) + arcs.supplier)
    dem = pair // max(len(problem.suppliers), 1)
    sup = pair % max(len(problem.suppliers), 1)
    tied = np.bincount(dem, weights=problem.suppliers.hours[sup], minlength=n_d)
    reach: np.ndarray = np.minimum(problem.demand_hours, tied.astype(np.int64))
    return reach


def coverage_targets(problem: Problem, share: float) -> np.ndarray:
    """Per community, the hours the coverage floor asks for: ``ceil(share * reach)``.

    ``reach`` sums :func:`demand_reach` over the community's demands.
    """
    reach = np.bincount(
        problem.demand_community,
        weights=demand_reach(problem),
        minlength=len(problem.community_ids),
    )
    # A hair below the product keeps 0.3 * 10 at 3, not 4, despite binary floating point.
    targets: np.ndarray = np.ceil(share * reach - 1e-9).astype(np.int64)
    return targets


def funder_pairs(dataset: Dataset) -> pd.DataFrame:
    """Which ``funds`` resource may fund which demand, per the spec's funder ties.

    A funder may fund a demand asking for funds when the demand's category is among the
    resource's categories (empty = any) and its unit is paired with the demand's
    community (tie 2), belongs to an alliance of the community's district and street
    (tie 3), is ``municipal`` (anywhere), or is ``district`` level in the community's
    district.

    Returns
    -------
    DataFrame
        ``resource, demand`` row positions (in ``resources`` and ``demands``), sorted.
    """
    res = dataset.resources
    demands = dataset.demands
    funders = np.flatnonzero((res["kind"] == "funds").to_numpy())
    asking = np.flatnonzero(demands["funds"].fillna(0).to_numpy(float) > 0)
    if len(funders) == 0 or len(asking) == 0:
        return pd.DataFrame({"resource": [], "demand": []}, dtype=np.int64)
    comms = dataset.communities
    place = {
        str(c): (str(d), str(s))
        for c, d, s in zip(comms["community_id"], comms["district"], comms["street"], strict=True)
    }
    units = dataset.units
    level = dict(zip(units["unit_id"].astype(str), units["level"].astype(str), strict=True))
    home = dict(zip(units["unit_id"].astype(str), units["district"].astype(str), strict=True))
    paired = set(
        zip(
            dataset.pairings["unit_id"].astype(str),
            dataset.pairings["community_id"].astype(str),
            strict=True,
        )
    )
    al = dataset.alliances
    alliance_place = {
        str(a): (str(d), str(s))
        for a, d, s in zip(al["alliance_id"], al["district"], al["street"], strict=True)
    }
    unit_places: dict[str, set[tuple[str, str]]] = {}
    members = dataset.alliance_members
    for a, u in zip(members["alliance_id"], members["unit_id"], strict=True):
        unit_places.setdefault(str(u), set()).add(alliance_place[str(a)])
    res_unit = res["unit_id"].astype(str).to_numpy()
    res_cats = res["categories"].astype(str).to_numpy()
    d_comm = demands["community_id"].astype(str).to_numpy()
    d_cat = demands["category"].astype(str).to_numpy()
    rows: list[tuple[int, int]] = []
    for r in funders:
        unit = str(res_unit[r])
        cats = set(filter(None, str(res_cats[r]).split(";")))
        for d in asking:
            if cats and d_cat[d] not in cats:
                continue
            cid = str(d_comm[d])
            if (
                (unit, cid) in paired
                or place[cid] in unit_places.get(unit, set())
                or level[unit] == "municipal"
                or (level[unit] == "district" and home[unit] == place[cid][0])
            ):
                rows.append((int(r), int(d)))
    return pd.DataFrame(rows, columns=["resource", "demand"], dtype=np.int64)
