"""From a dataset to a model: who may serve whom, and what an hour is worth.

- :mod:`~matcher.model.geo`: distances on the sphere and radius searches;
- :mod:`~matcher.model.arrays`: compressed rows and id positions;
- :mod:`~matcher.model.suppliers`: cadres and service resources as arrays, and where
  each stands;
- :mod:`~matcher.model.ties`: the four tie rules, in the spec's order;
- :mod:`~matcher.model.arcs`: candidate arcs, their hour scores, the :class:`Problem`;
- :mod:`~matcher.model.rules`: which integer rules apply;
- :mod:`~matcher.model.graph`: the networkx graph of communities, units and alliances.
"""

__all__: list[str] = []
