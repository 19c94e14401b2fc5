"""The integer rules of a plan: labour with rules, funds, and lead units.

Three independent models (they share no decision), one module each:

- **labour** -- the flow's hours per candidate arc, plus one constraint family per rule
  (``min_hours``, ``max_communities_per_cadre``, ``coverage_floor``), as a MIP for HiGHS
  (:mod:`.labour_highs`, exact scores) or a CP-SAT model (:mod:`.labour_cpsat`, which
  also names the communities at fault). Both start from the flow optimum repaired to
  satisfy the rules (:mod:`.repair`, :mod:`.labour`), so a good plan exists at once
  even when the proof takes longer; with HiGHS a neighbourhood search
  (:mod:`.labour_search`) improves it before HiGHS runs for the bound;
- **funds** -- :mod:`.funds`: all-or-nothing funding of demands by several funders;
- **lead units** -- :mod:`.leads`: a generalized assignment problem, solved by HiGHS
  with a Lagrangian bound and local searches (:mod:`.gap`, :mod:`.gap_bound`) or by
  CP-SAT.

:func:`solve_integer` runs them in turn within the plan's ``time_limit_s``, one deadline
shared 3 : 1 : 2 (:func:`split_deadline`). A solver is not started when setting its
model up would not fit in the time left (HiGHS's presolve and CP-SAT's model building do
not check the limit), and a HiGHS run that overruns it is left behind
(:func:`.highs.run_until`): the repaired start is then the plan, with the flow optimum
as its bound. :mod:`.highs` and :mod:`.cpsat` hold how each solver is set up.

Importing this package loads CP-SAT; :mod:`matcher.solvers.outcomes` holds what it
returns, for modules that only read results.
"""

from matcher.solvers.integer.deadline import SHARES, split_deadline
from matcher.solvers.integer.funds import solve_funds
from matcher.solvers.integer.labour_cpsat import solve_labour
from matcher.solvers.integer.labour_highs import solve_labour_highs
from matcher.solvers.integer.leads import solve_leads, solve_leads_highs
from matcher.solvers.integer.repair import repair_flow
from matcher.solvers.integer.solve import solve_integer

__all__ = [
    "SHARES",
    "repair_flow",
    "solve_funds",
    "solve_integer",
    "solve_labour",
    "solve_labour_highs",
    "solve_leads",
    "solve_leads_highs",
    "split_deadline",
]
