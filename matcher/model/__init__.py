"""From a dataset to a model: places, ties, candidate arcs, integer rules, the tie graph."""
