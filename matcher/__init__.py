"""Co-construction planner: match what communities need with what units can give.

The one entry point for a plan is :func:`plan`::

    >>> import matcher
    >>> p = matcher.plan("tests/data/example/dataset")
    >>> p.status, p.kpis["hours_covered"], p.kpis["hours_demanded"]
    ('optimal', 40, 44)
"""

from matcher.errors import DatasetError, MatcherError, ParameterError, SolverError, ValidationIssue
from matcher.inputs.dataset import Dataset, dataset_from_frames, load_dataset
from matcher.params import PlanParams
from matcher.plans.planner import plan
from matcher.plans.result import Plan
from matcher.progress import Progress, ProgressCallback
from matcher.solvers.outcomes import Duals

__all__ = [
    "Dataset",
    "DatasetError",
    "Duals",
    "MatcherError",
    "ParameterError",
    "Plan",
    "PlanParams",
    "Progress",
    "ProgressCallback",
    "SolverError",
    "ValidationIssue",
    "dataset_from_frames",
    "load_dataset",
    "plan",
]
__version__ = "0.1.0"
