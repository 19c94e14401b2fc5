"""Exact labour plans at city scale: column generation over implicit candidate arcs.

At city scale the candidate arcs number in the tens of millions (every cadre times
every community within 5 km, times the demands there its skills fit), yet an optimal
plan uses a few hundred thousand. This solver never lists them all. It works on an
aggregated network whose optimum equals the plain model's, adds arcs only when the
current duals say they pay, and proves optimality by pricing every implicit arc.

One idea a module:

* :mod:`~matcher.solvers.columns.network`: the aggregated network (supplier classes,
  sites and groups, demand cells) and :func:`build_network`;
* :mod:`~matcher.solvers.columns.reach`: which communities each site and class reaches
  (compiled great-circle distances on a planar grid; borderline pairs decided by the
  plain model's distance);
* :mod:`~matcher.solvers.columns.parallel`: kernels run in fixed parts, so the plan does
  not depend on the number of threads;
* :mod:`~matcher.solvers.columns.restricted`: the flow network's nodes and the arcs
  brought into it;
* :mod:`~matcher.solvers.columns.pricing`: the implicit arcs that price out at the
  master's potentials;
* :mod:`~matcher.solvers.columns.master`: the column generation loop,
  :func:`solve_columns`, and its warm start;
* :mod:`~matcher.solvers.columns.duals`: potentials as marginal values and back;
* :mod:`~matcher.solvers.columns.bound`: an upper bound from any cell duals
  (:func:`dual_bound`);
* :mod:`~matcher.solvers.columns.disaggregate`: the flow handed back to suppliers and
  demands (:func:`overlap`, :func:`compact_problem`);
* :mod:`~matcher.solvers.columns.reasons`: each demand's reason without its arcs.

Importing this package loads numba; ``import matcher`` does not import it (the planner
does, when ``flow_solver`` asks for it).
"""

from __future__ import annotations

from matcher.solvers.columns.bound import dual_bound
from matcher.solvers.columns.disaggregate import compact_problem, overlap
from matcher.solvers.columns.master import WARM_FIRST_ROUND, WARM_SLACK, solve_columns
from matcher.solvers.columns.network import Network, build_network
from matcher.solvers.columns.parallel import PARTS
from matcher.solvers.columns.reach import BORDER, LOWER, MAX_SPAN_RAD
from matcher.solvers.outcomes import ColumnResult, Duals, NotApplicable

__all__ = [
    "BORDER",
    "LOWER",
    "MAX_SPAN_RAD",
    "PARTS",
    "WARM_FIRST_ROUND",
    "WARM_SLACK",
    "ColumnResult",
    "Duals",
    "Network",
    "NotApplicable",
    "build_network",
    "compact_problem",
    "dual_bound",
    "overlap",
    "solve_columns",
]
