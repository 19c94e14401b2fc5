"""The plan: how it is made, what it holds, and how every face reads it.

- :mod:`~matcher.plans.planner`: ``plan(dataset, params) -> Plan``;
- :mod:`~matcher.plans.tables`: the plan's tables, columns and types, declared once;
- :mod:`~matcher.plans.result`: :class:`Plan`, written to a folder by ``Plan.write``;
- :mod:`~matcher.plans.reasons`, :mod:`~matcher.plans.kpis`: why a demand is not met,
  and the KPIs;
- :mod:`~matcher.plans.io`: ``read_plan(folder)``, the one reader of a plan folder;
- :mod:`~matcher.plans.diff`: ``diff_plans(a, b)``, the one plan diff;
- :mod:`~matcher.plans.text`: a plan in a few lines, in the reader's language.
"""

__all__: list[str] = []
