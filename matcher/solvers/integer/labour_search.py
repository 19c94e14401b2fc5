"""A large-neighbourhood search for the labour model under its integer rules.

HiGHS's branch-and-bound on a whole city's labour model proves its bound slowly and,
with ``max_communities_per_cadre``, rarely improves on the repaired start. The search
improves the plan instead by re-solving small parts of it exactly: it frees every hour
given to the demands of a few neighbouring communities, and lets a small MIP (the same
model, :func:`~matcher.solvers.integer.labour_highs.labour_lp`) decide them again, with
each supplier's hours given elsewhere and each cadre's communities served elsewhere
held fixed. The small MIP starts from the current plan, so the plan never gets worse;
it is kept when it scores more.

A neighbourhood is a community drawn (seeded) by what it scores less than in the flow
optimum, with its nearest communities; or the communities where a cadre over its limit
served in the flow optimum (where the limit costs score); or a receiver demand drawn by
what it scores less than in the flow optimum, with the communities its suppliers could
leave for it at the most gain (its donors, often far from it: a chain of moves that
nearest-community sets never hold). Each holds as many communities as make about
:data:`TARGET_ARCS` arcs at first. When every community has been drawn without
improving the plan, the sets grow by half; when two small MIPs in a row stop at their
time limit, they shrink. A model small enough for one set is solved whole at once, which
proves it optimal; sets that would grow to every community end the search instead (the
whole model is then HiGHS's, from the repaired start, so that what it proves is the
same every run). The search ends with two steps over the whole model. The merge
(:meth:`LabourSearch.merge`, in the last :data:`MERGE_SHARE` of its time) is one MIP
over every community at once in which each cadre may serve only the communities it
serves in the flow optimum or in the best plan: the search's plan and the flow
optimum's structure combined, where the best of both is a short exact solve (on 60
communities at a limit of 2 it ends above HiGHS alone given four times the time, where
the neighbourhoods alone ended below; performance log). The reflow
(:meth:`LabourSearch.reflow`) re-solves every hour at once with the plan's structure
held (which cadre serves which community, which ``min_hours`` demand is open), a linear
program that finds the long cycles of shifted hours no set holds; it finishes what a
merge stopped by its time limit left. One thread: HiGHS
already spreads each small MIP over both cores, and a second thread drawing its own
neighbourhoods gained nothing (performance log).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from matcher.model.arcs import Problem
from matcher.model.rules import ActiveRules
from matcher.model.suppliers import CADRE
from matcher.params import PlanParams
from matcher.solvers.integer.highs import highs_in_time, quiet_highs, set_start
from matcher.solvers.integer.labour import LabourArcs

if TYPE_CHECKING:  # labour_highs imports this module
    from matcher.solvers.integer.labour_highs import LabourLP

__all__ = [
    "MERGE_SHARE",
    "POLISH_GAP",
    "RECEIVER_SHARE",
    "REFLOW_LIMIT_S",
    "SUB_GAP",
    "SUB_LIMIT_S",
    "TARGET_ARCS",
    "LabourSearch",
]

_I = npt.NDArray[np.int64]
_F = npt.NDArray[np.float64]

TARGET_ARCS = 1_500
"""Arcs a neighbourhood's MIP has at first: HiGHS solves such a model in a fraction of a
second."""

SUB_LIMIT_S = 0.3
"""Wall-second limit of one neighbourhood's MIP."""

SUB_GAP = 1e-4
"""Relative gap at which a neighbourhood's MIP stops (the whole model's stops at the
run's ``gap_limit``): closing the last hundredth of a percent of a part costs more time
than it gains while the plan is still improving fast."""

POLISH_GAP = 1e-6
"""The neighbourhoods' gap once every community has been drawn without a gain (the sets
then grow too): the last fractions of a point a part can still give, which
:data:`SUB_GAP` leaves behind in each part (performance log)."""

SPLIT_SHARE = 0.5
"""Share of the neighbourhoods drawn where a cadre over its limit in the flow optimum
served (:meth:`LabourSearch._around_split`); the others around a community drawn by its
loss."""

RECEIVER_SHARE = 1 / 3
"""Share of the neighbourhoods drawn around a receiver demand and its donors
(:meth:`LabourSearch._around_receiver`) while some demand scores less than in the flow
optimum; the others as before. On 60 communities at a limit of 2 the plan gained from
such sets alone, where the nearest and split-cadre sets stalled (performance log)."""

MERGE_SHARE = 0.15
"""Share of the search's time kept for its merge step (:meth:`LabourSearch.merge`), when
there is one (a community limit, and the flow optimum known). What the merge does not
use goes to whatever follows the search."""

REFLOW_LIMIT_S = 1.0
"""Wall-second limit of the last step, :meth:`LabourSearch.reflow` (it takes a few
hundredths of a second on 150 communities)."""

LOSS_TOLERANCE = 1e-6
"""Score a demand must lack against the flow optimum to be a receiver (rounding aside)."""

_KM_PER_DEGREE = 111.0


class LabourSearch:
    """Improves a feasible labour plan by re-solving a few communities at a time.

    Parameters
    ----------
    problem, rules
        The labour model: its arcs and the integer rules in force.
    useful
        The arcs that get a variable (:func:`~matcher.solvers.integer.labour.labour_arcs`).
    params
        The run's parameters (``seed`` draws the neighbourhoods and seeds HiGHS).
    flow
        A plan meeting the rules: hours per arc of ``problem.arcs``.
    on_better
        Called with the new score after each improvement (to report progress).
    relaxed
        The flow optimum without the rules, if known: neighbourhoods are then drawn
        around communities in proportion to what they score less than there (where
        there is most to gain), else uniformly.

    Attributes
    ----------
    best
        The best plan so far (hours per arc).
    best_objective
        What it scores.
    stats
        Counters: ``neighbourhoods``, ``improvements``, ``communities_per_set``, and
        ``receiver_sets`` and ``receiver_improvements`` (of those drawn around a
        receiver demand), ``merged`` (1 when the merge improved the plan), ``reflowed``
        (1 when the last step did).
    proven
        Whether the model was small enough to be solved whole as one neighbourhood, to
        the run's ``gap_limit``: then :attr:`best` is optimal.
    sub_gap
        The neighbourhoods' relative gap now: :data:`SUB_GAP`, then :data:`POLISH_GAP`
        once the sets have grown.
    """

    def __init__(
        self,
        problem: Problem,
        rules: ActiveRules,
        useful: LabourArcs,
        params: PlanParams,
        flow: _I,
        on_better: Callable[[float], None] | None = None,
        relaxed: _I | None = None,
    ) -> None:
        from matcher.solvers.integer.labour_highs import rule_limits, rule_targets

        self.problem, self.rules, self.useful, self.params = problem, rules, useful, params
        self.on_better = on_better
        self.best = flow.copy()
        self.best_objective = float(np.dot(flow, problem.arcs.weight))
        self.proven = False
        self.stats: dict[str, int] = {
            "neighbourhoods": 0,
            "improvements": 0,
            "communities_per_set": 0,
            "receiver_sets": 0,
            "receiver_improvements": 0,
            "merged": 0,
            "reflowed": 0,
        }
        self.limits = rule_limits(problem, rules)
        self.targets = rule_targets(problem, rules)
        n_c = len(problem.community_ids)
        self.arc_comm = problem.demand_community[problem.arcs.demand]
        comm = self.arc_comm[useful.idx]
        order = np.argsort(comm, kind="stable")
        self.by_comm = useful.idx[order]
        self.comm_ptr = np.searchsorted(comm[order], np.arange(n_c + 1))
        self.active = np.flatnonzero(np.diff(self.comm_ptr) > 0)
        lat = problem.community_lat
        self.xy = np.column_stack(
            (lat * _KM_PER_DEGREE, problem.community_lon * _KM_PER_DEGREE * np.cos(np.radians(lat)))
        )
        self.cadre = problem.suppliers.kind == CADRE
        self.relaxed = relaxed
        self.relaxed_score = None if relaxed is None else self._score(relaxed)
        self.split, self.split_ptr, self.split_comm = self._split(relaxed)
        n_s = len(problem.suppliers.hours)
        self.sup_ptr = np.searchsorted(problem.arcs.supplier, np.arange(n_s + 1))
        self._h: Any = None
        self._lp: Any = None
        self.sub_gap = SUB_GAP
        arcs = problem.arcs
        n_d = len(problem.demand_hours)
        self.relaxed_demand = None if relaxed is None else self._demand_score(relaxed)
        dem = arcs.demand[useful.idx]
        by_dem = np.argsort(dem, kind="stable")
        self.by_dem = useful.idx[by_dem]
        self.dem_ptr = np.searchsorted(dem[by_dem], np.arange(n_d + 1))
        self._refresh()

    def _refresh(self) -> None:
        """Each supplier's hours given and communities served, under :attr:`best`."""
        sup = self.problem.arcs.supplier
        n_s = len(self.problem.suppliers.hours)
        self.used = np.bincount(sup, weights=self.best, minlength=n_s).astype(np.int64)
        self.served = self._served(np.flatnonzero(self.best > 0))

    def _score(self, flow: _I) -> npt.NDArray[np.float64]:
        """What ``flow`` scores per community."""
        n_c = len(self.problem.community_ids)
        score = np.bincount(self.arc_comm, weights=flow * self.problem.arcs.weight, minlength=n_c)
        return np.asarray(score, dtype=np.float64)

    def _demand_score(self, flow: _I) -> _F:
        """What ``flow`` scores per demand."""
        arcs = self.problem.arcs
        n_d = len(self.problem.demand_hours)
        score = np.bincount(arcs.demand, weights=flow * arcs.weight, minlength=n_d)
        return np.asarray(score, dtype=np.float64)

    def _draw_weights(self) -> npt.NDArray[np.float64] | None:
        """How likely each active community is to seed the next neighbourhood."""
        if self.relaxed_score is None:
            return None
        loss = np.maximum(self.relaxed_score - self._score(self.best), 0.0)[self.active]
        # Every community keeps some chance: a loss may be recovered next door.
        w = loss + max(float(loss.mean()), 1e-9) * 0.1
        return np.asarray(w / w.sum(), dtype=np.float64)

    def _split(self, relaxed: _I | None) -> tuple[_I, _I, _I]:
        """The cadres that serve more communities than their limit in ``relaxed`` (the
        flow optimum without the rules), and those communities (CSR, most hours first):
        where the limit costs score."""
        empty = np.zeros(0, dtype=np.int64)
        if relaxed is None or self.limits is None:
            return empty, np.zeros(1, dtype=np.int64), empty
        arcs = self.problem.arcs
        on = np.flatnonzero((relaxed > 0) & self.cadre[arcs.supplier])
        n_c = len(self.problem.community_ids)
        key = arcs.supplier[on] * n_c + self.arc_comm[on]
        pairs, inverse = np.unique(key, return_inverse=True)
        hours = np.bincount(inverse, weights=relaxed[on])
        owner = pairs // n_c
        count = np.bincount(owner, minlength=len(self.problem.suppliers.hours))
        over = count[owner] > self.limits[owner]
        pairs, hours, owner = pairs[over], hours[over], owner[over]
        order = np.lexsort((pairs, -hours, owner))
        split = np.unique(owner).astype(np.int64)
        ptr = np.r_[np.searchsorted(owner[order], split), len(order)].astype(np.int64)
        return split, ptr, (pairs[order] % n_c).astype(np.int64)

    def _around_split(self, rng: np.random.Generator, k: int) -> _I:
        """A neighbourhood where the limit costs score: the communities a cadre drawn
        among :attr:`split` served in the flow optimum, and the one it serves now; filled
        up with the communities nearest the first, ``k`` at least."""
        i = int(rng.integers(len(self.split)))
        s = int(self.split[i])
        comms = list(self.split_comm[self.split_ptr[i] : self.split_ptr[i + 1]][: max(k, 2)])
        arcs = np.arange(self.sup_ptr[s], self.sup_ptr[s + 1])
        now = np.unique(self.arc_comm[arcs[self.best[arcs] > 0]])
        chosen = np.unique(np.r_[np.array(comms, dtype=np.int64), now])
        chosen = chosen[np.isin(chosen, self.active)]
        if len(chosen) == 0:
            return self._nearest(int(self.active[rng.integers(len(self.active))]), k)
        if len(chosen) < k:
            near = self._nearest(int(chosen[0]), k + len(chosen))
            extra = near[~np.isin(near, chosen)][: k - len(chosen)]
            chosen = np.sort(np.r_[chosen, extra])
        return chosen

    def _receivers(self) -> tuple[_I, _F]:
        """The demands that score less under :attr:`best` than in the flow optimum, and
        how much less: where hours would gain most (none without the flow optimum)."""
        if self.relaxed_demand is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        loss = self.relaxed_demand - self._demand_score(self.best)
        on = np.flatnonzero(loss > LOSS_TOLERANCE)
        return on.astype(np.int64), np.asarray(loss[on], dtype=np.float64)

    def _around_receiver(self, rng: np.random.Generator, k: int, receivers: tuple[_I, _F]) -> _I:
        """A neighbourhood around a receiver demand drawn among ``receivers`` by its loss
        (:meth:`_receiver_set`)."""
        demands, loss = receivers
        return self._receiver_set(int(rng.choice(demands, p=loss / loss.sum())), k)

    def _receiver_set(self, demand: int, k: int) -> _I:
        """``demand``'s community and its donors: the communities where the suppliers
        with an arc to ``demand`` now give hours, those where moving the hours to it
        would gain most first (gain per hour times hours), then those where a cadre at
        its community limit serves (it must leave one to serve ``demand``), until the
        set has about as many arcs as ``k`` communities on average. A receiver worth
        opening (a ``min_hours`` demand needs many hours at once) then draws on cadres
        from far apart, which nearest-community sets never hold together."""
        home = int(self.problem.demand_community[demand])
        priority = self._donor_priority(demand)
        priority[home] = np.inf
        cand = np.flatnonzero(priority > 0)
        cand = cand[np.isin(cand, self.active)]
        order = cand[np.lexsort((cand, -priority[cand]))]  # ties by index: same sets every run
        per_comm = np.diff(self.comm_ptr)
        budget = k * float(per_comm[self.active].mean())
        fit = int(np.searchsorted(np.cumsum(per_comm[order]), budget, side="right"))
        take = max(fit, min(2, len(order)))  # the receiver's community and a donor at least
        chosen = order[:take]
        if len(chosen) < 2:  # no donors: the receiver's neighbours instead
            chosen = np.union1d(chosen, self._nearest(home, max(k, 2)))
        return np.sort(chosen).astype(np.int64)

    def _donor_priority(self, demand: int) -> _F:
        """Per community, what moving the hours that the suppliers with an arc to
        ``demand`` now give there to ``demand`` would gain, plus a token per arc by which a
        cadre at its community limit gives hours there (so that the set frees it): where
        its hours can come from."""
        arcs = self.problem.arcs
        n_c = len(self.problem.community_ids)
        into = self.by_dem[self.dem_ptr[demand] : self.dem_ptr[demand + 1]]
        sup = arcs.supplier[into]
        lo, runs = self.sup_ptr[sup], self.sup_ptr[sup + 1] - self.sup_ptr[sup]
        owner = np.repeat(np.arange(len(sup)), runs)  # each supplier's run of arcs
        out = np.arange(runs.sum()) + np.repeat(lo - (np.cumsum(runs) - runs), runs)
        on = self.best[out] > 0
        out, owner = out[on], owner[on]
        comm = self.arc_comm[out]
        gain = np.maximum(arcs.weight[into][owner] - arcs.weight[out], 0.0) * self.best[out]
        priority = np.bincount(comm, weights=gain, minlength=n_c).astype(np.float64)
        if self.limits is not None:
            s = sup[owner]
            full = self.cadre[s] & (self.served[s] >= self.limits[s])
            # A token per such arc: the more of them, the more cadres the set frees.
            priority += LOSS_TOLERANCE * np.bincount(comm[full], minlength=n_c)
        return priority

    def _served(self, arcs: _I) -> _I:
        """Per supplier, how many communities ``arcs`` (which carry hours) reach."""
        n_c = len(self.problem.community_ids)
        pairs = np.unique(self.problem.arcs.supplier[arcs] * n_c + self.arc_comm[arcs])
        return np.bincount(pairs // n_c, minlength=len(self.problem.suppliers.hours))

    def run(self, deadline: float, alive: Callable[[], bool] | None = None) -> _I:
        """Search until ``deadline`` (a ``time.perf_counter()`` value), or until
        ``alive()`` turns false, or until the sets would hold every community; returns
        :attr:`best`.

        A model small enough for one set is solved whole at once, from the start: that
        is a proof (:attr:`proven`), and the same plan every run. Otherwise, unless
        stopped by ``alive``, the search ends with :meth:`merge` (for at most
        :data:`MERGE_SHARE` of its time, before ``deadline``) and :meth:`reflow` (up to
        :data:`REFLOW_LIMIT_S` past ``deadline``).
        """
        n = len(self.active)
        if n == 0:
            return self.best
        per_comm = (self.comm_ptr[self.active + 1] - self.comm_ptr[self.active]).mean()
        k = int(min(n, max(2, round(TARGET_ARCS / per_comm))))
        if k == n:
            _, self.proven = self._solve(self.active, deadline)
            self.stats["neighbourhoods"] += 1
            return self.best
        rng = np.random.default_rng(self.params.seed)
        stall = unproven = 0
        weights = self._draw_weights()
        receivers = self._receivers()
        reserve = MERGE_SHARE * max(deadline - time.perf_counter(), 0.0) if self._merges() else 0.0
        sets_end = deadline - reserve
        while time.perf_counter() < sets_end and (alive is None or alive()):
            around_receiver = len(receivers[0]) > 0 and rng.random() < RECEIVER_SHARE
            if around_receiver:
                chosen = self._around_receiver(rng, k, receivers)
                self.stats["receiver_sets"] += 1
            elif len(self.split) and rng.random() < SPLIT_SHARE:
                chosen = self._around_split(rng, k)
            else:
                chosen = self._nearest(int(rng.choice(self.active, p=weights)), k)
            if len(chosen) == n:
                break  # the whole model: HiGHS's, from the repaired start
            improved, proven = self._solve(chosen, sets_end)
            self.stats["neighbourhoods"] += 1
            self.stats["communities_per_set"] = k
            if improved:
                self.stats["improvements"] += 1
                self.stats["receiver_improvements"] += int(around_receiver)
                stall = 0
                weights = self._draw_weights()
                receivers = self._receivers()
            elif proven:
                stall += 1
            if proven:
                unproven = 0
            elif time.perf_counter() < sets_end:
                unproven += 1
                if unproven >= 2:  # too hard to prove in time: smaller sets
                    k, unproven, stall = max(2, k * 2 // 3), 0, 0
            if stall > n:  # every community drawn, on average, with nothing to gain
                k, stall = min(n, k + max(1, k // 2)), 0
                self.sub_gap = POLISH_GAP
        if alive is None or alive():
            # Sets that reached every community end early: the merge keeps to its share,
            # and the rest goes to HiGHS's run on the whole model (its proof).
            self.merge(min(deadline, time.perf_counter() + reserve))
            self.reflow()
        return self.best

    def _nearest(self, seed_comm: int, k: int) -> _I:
        """``seed_comm`` and the communities nearest it (with arcs), ``k`` in all."""
        d = np.hypot(*(self.xy[self.active] - self.xy[seed_comm]).T)
        order = np.lexsort((self.active, d))  # ties by index: the same sets every run
        return np.sort(self.active[order[:k]])

    def _solve(self, chosen: _I, deadline: float) -> tuple[bool, bool]:
        """Re-solve the hours to the demands of ``chosen`` communities; keep them when
        they score more. Returns whether the plan improved and whether the small MIP
        was proven optimal."""
        from matcher.solvers.integer.labour_highs import labour_lp

        problem, flow = self.problem, self.best
        arcs = problem.arcs
        inside = np.concatenate(
            [self.by_comm[self.comm_ptr[c] : self.comm_ptr[c + 1]] for c in chosen]
        )
        sup = arcs.supplier[inside]
        given = flow[inside]
        left = self._left(inside)
        free = left[sup] > 0
        slots = None
        if self.limits is not None:
            # Communities a cadre serves outside the set count against its limit.
            slots = self.limits - (self.served - self._served(inside[given > 0]))
            free &= ~self.cadre[sup] | (slots[sup] > 0)
        cand = inside[free]
        sub, sub_useful = self._within(left, cand)
        targets = None
        if self.targets is not None:
            targets = np.zeros_like(self.targets)
            targets[chosen] = self.targets[chosen]
        model = labour_lp(sub, sub_useful, self.rules.min_hours, slots, targets)
        whole = len(chosen) == len(self.active)
        time_left = deadline - time.perf_counter()
        # The whole model as one neighbourhood is a proof: it gets the time left.
        limit = time_left if whole else min(SUB_LIMIT_S, time_left)
        gap = self.params.gap_limit if whole else self.sub_gap
        x, proven = self._run_mip(sub, sub_useful, model, limit, gap)
        if x is None:
            return False, proven
        return self._take(inside, cand, x), proven

    def _run_mip(
        self, sub: Problem, sub_useful: LabourArcs, model: LabourLP, limit: float, gap: float
    ) -> tuple[_I | None, bool]:
        """Run ``model`` (:func:`~.labour_highs.labour_lp` of ``sub`` on ``sub_useful``)
        on the seeded HiGHS instance from :attr:`best`, for ``limit`` seconds to the
        relative ``gap``. Returns the hours per arc of ``sub_useful.idx`` (``None`` when
        HiGHS has no feasible plan), and whether it proved them optimal."""
        import highspy

        from matcher.solvers.integer.labour_highs import start_values

        h = self._highs()
        h.clearModel()
        h.setOptionValue("time_limit", max(limit, 0.05))
        h.setOptionValue("mip_rel_gap", gap)
        h.passModel(model.lp)
        set_start(h, start_values(sub, sub_useful, model.cols, self.best))
        h.run()
        proven = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        if h.getInfo().primal_solution_status != highspy.kSolutionStatusFeasible:
            return None, proven
        n_x = len(sub_useful.idx)
        return np.rint(np.asarray(h.getSolution().col_value)[:n_x]).astype(np.int64), proven

    def _left(self, freed: _I) -> _I:
        """Each supplier's hours less those :attr:`best` gives on arcs other than
        ``freed``: what a model re-solving the arcs ``freed`` may hand out."""
        sup = self.problem.arcs.supplier[freed]
        n_s = len(self.problem.suppliers.hours)
        given = np.bincount(sup, self.best[freed], minlength=n_s)
        return np.asarray(self.problem.suppliers.hours - (self.used - given), dtype=np.int64)

    def _within(self, left: _I, cand: _I) -> tuple[Problem, LabourArcs]:
        """The problem with each supplier's hours ``left``, and the arcs ``cand`` each
        capped by its supplier's hours left and its demand's hours."""
        problem, arcs = self.problem, self.problem.arcs
        sub = dataclasses.replace(
            problem, suppliers=dataclasses.replace(problem.suppliers, hours=left)
        )
        cap = self.useful.cap.copy()
        cap[cand] = np.minimum(left[arcs.supplier[cand]], problem.demand_hours[arcs.demand[cand]])
        return sub, LabourArcs(cand, cap)

    def _take(self, inside: _I, cand: _I, x: _I) -> bool:
        """The best plan with the hours on arcs ``inside`` replaced by ``x`` on arcs
        ``cand`` (among them), if that scores more; whether it did."""
        weight = self.problem.arcs.weight
        before = float(np.dot(weight[inside], self.best[inside]))
        after = float(np.dot(weight[cand], x))
        if after <= before + 1e-9 * max(1.0, abs(before)):
            return False
        flow = self.best.copy()
        flow[inside] = 0
        flow[cand] = x
        self.best = flow
        self.best_objective = float(np.dot(flow, weight))
        self._refresh()
        if self.on_better is not None:
            self.on_better(self.best_objective)
        return True

    def _merges(self) -> bool:
        """Whether :meth:`merge` has a structure to combine: a community limit, and
        the flow optimum known."""
        return self.limits is not None and self.relaxed is not None

    def _merge_arcs(self) -> _I:
        """The arcs of the merge (:meth:`merge`): each cadre's arcs to the communities
        it serves in the flow optimum or in :attr:`best`, and every other supplier's."""
        idx = self.useful.idx
        assert self.relaxed is not None
        sup = self.problem.arcs.supplier[idx]
        key = sup * len(self.problem.community_ids) + self.arc_comm[idx]
        on = ((self.relaxed[idx] > 0) | (self.best[idx] > 0)) & self.cadre[sup]
        keep = ~self.cadre[sup] | np.isin(key, np.unique(key[on]))
        return np.asarray(idx[keep], dtype=np.int64)

    def merge(self, deadline: float) -> bool:
        """Re-solve the whole model as one MIP in which each cadre may serve only the
        communities it serves in the flow optimum or in :attr:`best`
        (:meth:`_merge_arcs`), from :attr:`best`, until ``deadline``, to a relative gap
        of :data:`POLISH_GAP`; keep its plan when it scores more. Whether the plan
        improved (never without a community limit or the flow optimum: the structure
        is then only which ``min_hours`` demand is open).

        The flow optimum's structure breaks every limit, and the search's plan keeps
        only part of it: combined, they hold the plans between the two, which the
        neighbourhoods (a few communities each) reach only one part at a time.
        """
        from matcher.solvers.integer.labour_highs import labour_lp

        if not self._merges():
            return False
        cand = self._merge_arcs()
        sub, sub_useful = self._within(self._left(self.useful.idx), cand)
        model = labour_lp(sub, sub_useful, self.rules.min_hours, self.limits, self.targets)
        limit = deadline - time.perf_counter()
        if not highs_in_time(model.nonzeros, limit):
            return False  # too large to set up in the time left: the plan stays as it is
        x, _ = self._run_mip(sub, sub_useful, model, limit, POLISH_GAP)
        if x is None:
            return False
        improved = self._take(self.useful.idx, cand, x)
        self.stats["merged"] = int(improved)
        return improved

    def reflow(self, limit: float = REFLOW_LIMIT_S) -> bool:
        """Re-solve every hour of :attr:`best` at once, its structure held: each cadre
        on the communities it serves (under ``max_communities_per_cadre``), each
        ``min_hours`` demand open or closed as it is. Whether the plan improved.

        What is left is a linear program on a network's rows (supplies, demands,
        communities' floors), whose optimal vertices give whole hours: it takes a
        fraction of a second on a city's model, and finds the long cycles of shifted
        hours (through cadres serving two communities, or suppliers of several
        categories) that no set of a few communities holds.
        """
        import highspy

        from matcher.solvers.integer.labour_highs import labour_lp

        problem, flow, idx = self.problem, self.best, self.useful.idx
        arcs = problem.arcs
        sup = arcs.supplier[idx]
        n_c = len(problem.community_ids)
        key = sup * n_c + self.arc_comm[idx]
        served = np.unique(key[(flow[idx] > 0) & self.cadre[sup]])
        got = np.bincount(arcs.demand, flow, minlength=len(problem.demand_hours))
        mins = self.rules.min_hours
        closed = (mins > 0) & (got == 0)
        held = self.cadre[sup] & (self.limits is not None)  # without a limit, cadres roam
        cand = idx[(~held | np.isin(key, served)) & ~closed[arcs.demand[idx]]]
        if not highs_in_time(2 * len(cand), limit):
            return False  # too large to set up in its time: the plan stays as it is
        # Hours given on arcs without a variable stay where they are.
        sub, sub_useful = self._within(self._left(idx), cand)
        model = labour_lp(sub, sub_useful, np.where(closed, 0, mins), None, self.targets)
        lp, cols = model.lp, model.cols
        lower = np.zeros(cols.n)
        lower[cols.n_x :] = 1.0  # the open demands' flags (the only others): they stay open
        lp.col_lower_ = lower
        lp.integrality_ = [highspy.HighsVarType.kContinuous] * cols.n
        if self._lp is None:
            self._lp = quiet_highs()
        h = self._lp
        h.clearModel()
        # Its LP time limit counts every run of the instance, hence one of its own.
        h.setOptionValue("time_limit", h.getRunTime() + limit)
        h.passModel(lp)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return False
        x = np.asarray(h.getSolution().col_value)[: len(cand)]
        whole = np.rint(x).astype(np.int64)
        if np.abs(x - whole).max(initial=0.0) > 1e-6:
            return False  # not a vertex: keep the plan as it is
        improved = self._take(idx, cand, whole)
        self.stats["reflowed"] += int(improved)
        return improved

    def _highs(self) -> Any:
        """One quiet HiGHS instance for every small MIP, seeded."""
        if self._h is None:
            self._h = quiet_highs()
            self._h.setOptionValue("random_seed", self.params.seed)
        return self._h
