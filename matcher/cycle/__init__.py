"""The quarterly cycle of the three lists, as pure rules the service stores cycles against:

- :mod:`~matcher.cycle.phases`: the phases, the moves between them, schedules;
- :mod:`~matcher.cycle.roles`: who may do what in which phase, one table;
- :mod:`~matcher.cycle.projects`: a plan's project list, and a planner's edits of the draft
  as a stable re-plan's inputs;
- :mod:`~matcher.cycle.delivery`: delivered hours, confirmed or rejected, and progress;
- :mod:`~matcher.cycle.ratings`: residents' ratings, once per person per project, and
  their aggregates;
- :mod:`~matcher.cycle.points`: cadre points from approved hours and ratings;
- :mod:`~matcher.cycle.carryover`: into the next quarter: demands carried over, suppliers'
  reliability.
"""

__all__: list[str] = []
