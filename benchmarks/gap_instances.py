"""Generalized assignment benchmark instances: a reader and the published optima.

The instances are not in the repository. They come from

- OR-Library (J. E. Beasley), http://people.brunel.ac.uk/~mastjjb/jeb/orlib/gapinfo.html:
  ``gap1.txt`` .. ``gap12.txt`` (Cattrysse's sixty small instances, five a file, posed
  as *maximisation* problems) and ``gapa.txt`` .. ``gapd.txt`` (Chu and Beasley's types
  A to D, minimisation);
- M. Yagiura's site, http://www.al.cm.is.nagoya-u.ac.jp/~yagiura/gap/: type E (and C, D
  again, up to 1,600 demands), minimisation;
- all of them, one instance a file and named as here (``c05100``, ``d20200``,
  ``gap1-0`` ...), with a table of best known values, in the ``data/`` folder of
  https://github.com/fontanf/generalizedassignmentsolver.

The format (OR-Library): ``m n``, then ``m`` rows of ``n`` costs, ``m`` rows of ``n``
efforts, and the ``m`` capacities; a multi-instance file starts with the number of
instances.

Usage, with the files in ``DIR``::

    from benchmarks.gap_instances import PUBLISHED, as_gap, read_instance

    cost, effort, capacity = read_instance(f"{DIR}/d20100")
    gap = as_gap(cost, effort, capacity)
    sense, optimum, note = PUBLISHED["d20100"]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from matcher.solvers.integer.gap import Gap

__all__ = ["PUBLISHED", "as_gap", "minimisation_value", "read_file", "read_instance"]

_F = npt.NDArray[np.float64]
Instance = tuple[_F, _F, _F]
"""Costs and efforts (units x demands) and capacities (per unit)."""


def read_instance(
    path: str | Path, maximise: bool = False
) -> Instance | list[tuple[str, Instance]]:
    """The instance in an OR-Library file, or the named instances of a multi-instance one.

    Parameters
    ----------
    path
        A one-instance file (``m n ...``) or an OR-Library multi-instance file
        (``gap1.txt`` .. ``gap12.txt``, ``gapa.txt`` .. ``gapd.txt``: the count first).
    maximise
        Whether the file poses a maximisation problem (``gap1`` .. ``gap12``): the costs
        are then turned into ``max(cost) - cost``, to be minimised (the same optimal
        assignments; see :func:`minimisation_value`).

    Returns
    -------
    tuple or list
        ``(cost, effort, capacity)``; for a multi-instance file a list of
        ``(name, instance)`` named as fontanf's files (``gap1-0`` .. ``gap1-4``; for
        ``gapa.txt``: ``a-0`` ...).
    """
    path = Path(path)
    values = [float(v) for v in path.read_text().split()]
    single = _parse(values, 0)
    if single is not None and single[1] == len(values):
        return _sense(single[0], maximise)
    count, at = int(values[0]), 1
    stem = path.stem
    out = []
    for k in range(count):
        parsed = _parse(values, at)
        if parsed is None:
            raise ValueError(f"{path}: instance {k} is cut short")
        inst, at = parsed
        out.append((f"{stem}-{k}", _sense(inst, maximise)))
    return out


def read_file(path: str | Path) -> list[tuple[str, Instance]]:
    """Every instance of ``path`` named, in the minimisation sense (``gap1`` .. ``gap12``
    and their one-instance files turned around)."""
    path = Path(path)
    maximise = path.name.startswith("gap") and path.name[3:4].isdigit()
    got = read_instance(path, maximise=maximise)
    return got if isinstance(got, list) else [(path.name, got)]


def _parse(values: list[float], at: int) -> tuple[Instance, int] | None:
    if at + 2 > len(values):
        return None
    m, n = int(values[at]), int(values[at + 1])
    end = at + 2 + 2 * m * n + m
    if m <= 0 or n <= 0 or end > len(values):
        return None
    body = np.asarray(values[at + 2 : end])
    cost = body[: m * n].reshape(m, n)
    effort = body[m * n : 2 * m * n].reshape(m, n)
    return (cost, effort, body[2 * m * n :]), end


def _sense(inst: Instance, maximise: bool) -> Instance:
    cost, effort, capacity = inst
    return (cost.max() - cost if maximise else cost), effort, capacity


def minimisation_value(max_optimum: float, cost: _F) -> float:
    """The minimisation optimum matching a maximisation one: ``n max(cost) - optimum``
    (every demand gets one option, so each contributes ``max(cost)`` once)."""
    return float(cost.shape[1] * cost.max() - max_optimum)


def as_gap(cost: _F, effort: _F, capacity: _F) -> Gap:
    """The instance as a :class:`~matcher.solvers.integer.gap.Gap` (every pair allowed)."""
    m, n = cost.shape
    agent = np.repeat(np.arange(m), n)
    job = np.tile(np.arange(n), m)
    return Gap(agent, job, effort.ravel().astype(float), cost.ravel().astype(float),
               capacity.astype(float), n)  # fmt: skip


_CDE = "Chu & Beasley 1997 (C, D), Yagiura et al. 2004 (E); min; best known, fontanf data.csv"
_MIN = {
    "c05100": 1931, "c05200": 3456, "c10100": 1402, "c10200": 2806, "c20100": 1243,
    "c20200": 2391, "d05100": 6353, "d05200": 12742, "d10100": 6347, "d10200": 12430,
    "d20100": 6185, "d20200": 12244, "e05100": 12681, "e05200": 24930, "e10100": 11577,
    "e10200": 23307, "e20100": 8436, "e20200": 22379,
}  # fmt: skip
_MAX = {
    1: (336, 327, 339, 341, 326), 2: (434, 436, 420, 419, 428), 3: (580, 564, 573, 570, 564),
    4: (656, 644, 673, 647, 664), 5: (563, 558, 564, 568, 559), 6: (761, 759, 758, 752, 747),
    7: (942, 949, 968, 945, 951), 8: (1133, 1134, 1141, 1117, 1127),
    9: (709, 717, 712, 723, 706), 10: (958, 963, 960, 947, 947),
    11: (1139, 1178, 1195, 1171, 1171), 12: (1451, 1449, 1433, 1447, 1446),
}  # fmt: skip

PUBLISHED: dict[str, tuple[str, float, str]] = {
    **{name: ("min", float(v), _CDE) for name, v in _MIN.items()},
    **{
        f"gap{k}-{i}": ("max", float(v), "OR-Library gapinfo (Cattrysse et al. 1994); max")
        for k, values in _MAX.items()
        for i, v in enumerate(values)
    },
}
"""Name -> (sense, published optimum or best known value, source). d20200's 12244 is the
best known value (lower bound 12235); the others are proven optima. For ``gap1`` ..
``gap12`` the value is of the maximisation problem: :func:`minimisation_value` turns it
into the cost of the converted instance."""
