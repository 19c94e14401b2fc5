"""Solving the model to a proven optimum.

- :mod:`~matcher.solvers.flow`: the exact min-cost flow (OR-Tools) on listed arcs;
- :mod:`~matcher.solvers.parts`: independent parts of the flow, solved locally or on Ray;
- :mod:`~matcher.solvers.netsimplex`: an exact network simplex (numba) with warm starts;
- :mod:`~matcher.solvers.columns`: column generation over implicit arcs;
- :mod:`~matcher.solvers.integer`: the integer rules (HiGHS, CP-SAT), lead units as a
  generalized assignment;
- :mod:`~matcher.solvers.outcomes`: what the solvers return, readable without loading one;
- :mod:`~matcher.solvers.greedy`: the spreadsheet baseline for benchmarks.
"""

__all__: list[str] = []
