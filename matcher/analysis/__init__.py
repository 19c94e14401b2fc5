"""What-if and why, on top of plans.

- :mod:`~matcher.analysis.scenario`: what-if scenarios (schema, changes, batch runner);
- :mod:`~matcher.analysis.compare`: KPI tables with deltas and plan diffs;
- :mod:`~matcher.analysis.replan`: stable re-planning (pins and a penalty per changed hour);
- :mod:`~matcher.analysis.explain`: assignment values, shortfalls, bottlenecks, summaries;
- :mod:`~matcher.analysis.recommend`: recommended pairings and alliances, one skeleton.
"""

__all__: list[str] = []
