"""Recommended ties: which units should pair with which communities, and which should join
a street's alliance.

Both recommenders follow one skeleton (:mod:`.core`: the scope, unit caps, the CP-SAT
stage, the before/after table, :func:`recommend`); each gives only its own steps, one idea
per module:

* pairings (dual registration, the spec's tie 2): :mod:`.pair_params` (the parameters),
  :mod:`.pair_candidates` (unpaired units and communities, and the arcs each pairing adds),
  :mod:`.pair_values` (what a pairing is worth alone: exact or proxy), :mod:`.pair_choice`
  (the CP-SAT assignment), :mod:`.pair_result` (tables, text) and :mod:`.pairings` (the
  recommender, :func:`recommend_pairings`);
* alliances (the spec's tie 3): :mod:`.alliance_params`, :mod:`.alliance_gaps` (what each
  street lacks and who could supply it), :mod:`.alliance_cover` (one street's best
  members), :mod:`.alliance_result` and :mod:`.alliances` (the recommender,
  :func:`recommend_alliances`).

Examples
--------
>>> r = recommend_pairings("tests/data/example/dataset", PairingParams(max_new=0, min_partners=0))
>>> r.summary["new_pairings"]
0
"""

from matcher.analysis.recommend.alliance_cover import Cover, best_cover
from matcher.analysis.recommend.alliance_gaps import GAP_REASONS, street_candidates, street_gaps
from matcher.analysis.recommend.alliance_params import AllianceParams
from matcher.analysis.recommend.alliance_result import AllianceResult
from matcher.analysis.recommend.alliances import recommend_alliances
from matcher.analysis.recommend.core import (
    KPI_ROWS,
    SCOPE_KEYS,
    Judgement,
    Scope,
    before_after,
    format_before_after,
    recommend,
    skill_matrix,
    solve_stage,
    unit_caps,
    write_result,
)
from matcher.analysis.recommend.pair_candidates import Candidates, find_candidates, with_arcs
from matcher.analysis.recommend.pair_choice import choose_pairings
from matcher.analysis.recommend.pair_params import VALUE_MODES, PairingParams
from matcher.analysis.recommend.pair_result import PairingResult
from matcher.analysis.recommend.pair_values import exact_gains, proxy_values
from matcher.analysis.recommend.pairings import recommend_pairings

__all__ = [
    "GAP_REASONS",
    "KPI_ROWS",
    "SCOPE_KEYS",
    "VALUE_MODES",
    "AllianceParams",
    "AllianceResult",
    "Candidates",
    "Cover",
    "Judgement",
    "PairingParams",
    "PairingResult",
    "Scope",
    "before_after",
    "best_cover",
    "choose_pairings",
    "exact_gains",
    "find_candidates",
    "format_before_after",
    "proxy_values",
    "recommend",
    "recommend_alliances",
    "recommend_pairings",
    "skill_matrix",
    "solve_stage",
    "street_candidates",
    "street_gaps",
    "unit_caps",
    "with_arcs",
    "write_result",
]
