"""Why the plan is what it is: assignment values, shortfalls, bottlenecks and summaries.

Entry point: :func:`explain` (everything at once, for ``matcher explain --out``); its
parts are public too: :func:`assignment_values`, :func:`demand_explanation` (and
:func:`demand_explanations` for many), :func:`bottlenecks` and :func:`summaries`. Each
takes a plan (a :class:`~matcher.plans.result.Plan` or a plan folder) and its dataset.

One idea per module:

* :mod:`~matcher.analysis.explain.params`: what an explanation shows
  (:class:`ExplainParams`);
* :mod:`~matcher.analysis.explain.context`: the plan against its problem (the flow the
  plan's assignments put on each candidate arc);
* :mod:`~matcher.analysis.explain.values`: the value each assignment adds, its hours
  times the arc's hour score (the objective's own terms);
* :mod:`~matcher.analysis.explain.demands`: why a demand falls short (its reason, the
  nearest suppliers that could serve it, and what they serve instead);
* :mod:`~matcher.analysis.explain.residual`: the residual network of the plan's flow and
  its longest paths to the sink;
* :mod:`~matcher.analysis.explain.marginal`: the best arc for one more hour per skill and
  district, from those paths or by re-solving;
* :mod:`~matcher.analysis.explain.bottlenecks`: the marginal value of one more hour of a
  skill in a district, ranked (its notes give the exact definition);
* :mod:`~matcher.analysis.explain.summaries`: a summary per district and community;
* :mod:`~matcher.analysis.explain.text`: the words, in every language of
  :data:`matcher.i18n.LANGS`;
* :mod:`~matcher.analysis.explain.explanation`: every part at once (:func:`explain`) and
  the reads the service keeps (:func:`stored_reads`).

>>> import matcher
>>> plan = matcher.plan("tests/data/example/dataset")
>>> ex = explain(plan, "tests/data/example/dataset", ExplainParams(langs=("en",)))
>>> list(ex.summaries["lang"].unique())
['en']
"""

from __future__ import annotations

from collections.abc import Sequence

from matcher.analysis.explain.bottlenecks import bottlenecks, supplier_districts
from matcher.analysis.explain.demands import (
    DemandExplanation,
    demand_explanation,
    demand_explanations,
)
from matcher.analysis.explain.explanation import (
    Explanation,
    StoredReads,
    explain,
    stored_reads,
)
from matcher.analysis.explain.params import ExplainParams
from matcher.analysis.explain.summaries import plain_summaries, summaries
from matcher.analysis.explain.text import explanation_in, format_bottlenecks
from matcher.analysis.explain.values import assignment_values

__all__: Sequence[str] = (
    "DemandExplanation",
    "ExplainParams",
    "Explanation",
    "StoredReads",
    "assignment_values",
    "bottlenecks",
    "demand_explanation",
    "demand_explanations",
    "explain",
    "explanation_in",
    "format_bottlenecks",
    "plain_summaries",
    "stored_reads",
    "summaries",
    "supplier_districts",
)
