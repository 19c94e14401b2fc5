"""Node potentials and marginal values (:class:`~matcher.solvers.outcomes.Duals`).

A plan's final potentials, read as marginal values (an hour more of each supplier, of
each demand), can start the column generation of a similar dataset, such as a what-if
scenario of it (see :func:`~matcher.solvers.columns.master.solve_columns`): the start's
values are turned back into potentials of the new network's nodes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.model.arcs import TieIndex
from matcher.solvers.columns.network import Network
from matcher.solvers.columns.restricted import Layout
from matcher.solvers.outcomes import Duals

__all__ = ["duals_of", "start_potentials", "supplier_keys"]

_I = np.int64
_KIND_NAMES = np.array(["cadre", "service"], dtype=object)
_START_MAX = 1e6  # score; far above any hour's worth


def supplier_keys(ix: TieIndex) -> pd.MultiIndex:
    """The suppliers' ``(kind, id)`` keys, as :class:`Duals` indexes its supplier values."""
    sup = ix.suppliers
    return pd.MultiIndex.from_arrays([_KIND_NAMES[sup.kind], sup.ids], names=["kind", "id"])


def duals_of(
    ix: TieIndex, net: Network, lay: Layout, pi: npt.NDArray[np.int64], scale: float
) -> Duals:
    """The marginal values that the final potentials ``pi`` give (see :class:`Duals`)."""
    sink = lay.sink
    class_of = net.class_of
    u = np.zeros(len(class_of))
    has = class_of >= 0
    u[has] = np.maximum(0, pi[class_of[has]] - pi[sink]) / scale
    cell_of = net.cell_of
    v = np.zeros(len(cell_of))
    has = cell_of >= 0
    v[has] = np.maximum(0, pi[sink] - pi[lay.cell0 + cell_of[has]]) / scale
    return Duals(
        supplier=pd.Series(u, index=supplier_keys(ix), name="value"),
        demand=pd.Series(v, index=pd.Index(ix.demand_ids, name="demand_id"), name="value"),
    )


def start_potentials(
    ix: TieIndex, net: Network, lay: Layout, start: Duals, scale: float
) -> npt.NDArray[np.int64]:
    """Node potentials from another plan's values, to price the first round at.

    A class takes the least value of its members that ``start`` knows (0 if none), a cell
    the greatest of its demands' (0 if none): the choices that price more arcs in, not
    fewer. A group node takes the least of its classes', as a class feeding it at the
    optimum would (its arc costs 0).
    """
    pi = np.zeros(lay.sink + 1, dtype=_I)
    # Clipped to what an int64 potential holds with room to spare: a start is only a guess.
    u = start.supplier.reindex(supplier_keys(ix)).to_numpy(dtype=np.float64)
    u = np.clip(u, 0.0, _START_MAX)
    class_of = net.class_of
    ok = (class_of >= 0) & np.isfinite(u)
    class_u = np.full(net.n_classes, np.inf)
    np.minimum.at(class_u, class_of[ok], u[ok])
    class_u[~np.isfinite(class_u)] = 0.0
    pi[: lay.n_c] = np.rint(class_u * scale).astype(_I)
    owner = net.class_skill_owner[lay.sk_arc]
    node = lay.group_node[net.class_skill_group[lay.sk_arc]]
    if len(node):
        gmin = np.full(lay.sink + 1, np.iinfo(_I).max, dtype=_I)
        np.minimum.at(gmin, node, pi[owner])
        gmin[gmin == np.iinfo(_I).max] = 0  # (every group node has two classes or more)
        pi[lay.n_c : lay.cell0] = gmin[lay.n_c : lay.cell0]
    v = np.clip(start.demand.reindex(pd.Index(ix.demand_ids)).to_numpy(np.float64), 0, _START_MAX)
    cell_of = net.cell_of
    ok = (cell_of >= 0) & np.isfinite(v)
    cell_v = np.zeros(net.n_cells)
    np.maximum.at(cell_v, cell_of[ok], v[ok])
    pi[lay.cell0 : lay.sink] = -np.rint(cell_v * scale).astype(_I)
    return pi
