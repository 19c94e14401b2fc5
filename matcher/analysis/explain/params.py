"""What an explanation shows: :class:`ExplainParams`, checked when made.

>>> ExplainParams(nearest=2).method
'duals'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matcher import i18n
from matcher.errors import ParameterError
from matcher.i18n import LANGS, N_, Text

METHODS = ("duals", "resolve")


@dataclass(frozen=True)
class ExplainParams:
    """What an explanation shows; every field has a default and is checked.

    Attributes
    ----------
    nearest
        Suppliers listed per demand not fully met (the nearest first). Default 5.
    top
        Categories and units named per summary, bottlenecks per district. Default 3.
    method
        How marginal values are found: ``"duals"`` (the flow's potentials; one
        longest-path computation for every skill and district) or ``"resolve"`` (one
        re-solve per distinct supplier position; slow, for checking). Default ``"duals"``.
    langs
        Languages of the summaries, among :data:`matcher.i18n.LANGS` (English and every
        language with a catalogue). Default all of them.
    """

    nearest: int = 5
    top: int = 3
    method: str = "duals"
    langs: tuple[str, ...] = LANGS

    def __post_init__(self) -> None:
        for name in ("nearest", "top"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ParameterError(name, v, Text(N_("a whole number, 1 or more")))
        if self.method not in METHODS:
            raise ParameterError("method", self.method, " or ".join(METHODS))
        # i18n.LANGS at call time: the languages are the catalogues present.
        bad = [x for x in self.langs if x not in i18n.LANGS]
        if bad or not self.langs:
            raise ParameterError(
                "langs",
                bad[0] if bad else "",
                Text(N_("one or more of {langs}"), langs=", ".join(i18n.LANGS)),
            )


__all__: Sequence[str] = ("METHODS", "ExplainParams")
