"""The quarterly cycle of the three lists, as pure rules: its phases and the moves between
them (:mod:`~matcher.cycle.phases`), who may do what in which phase
(:mod:`~matcher.cycle.roles`), and cadre points from delivered hours and ratings
(:mod:`~matcher.cycle.points`). The service stores cycles and asks these rules."""

__all__: list[str] = []
