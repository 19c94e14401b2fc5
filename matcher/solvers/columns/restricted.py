"""The restricted network: the flow network's nodes, and the implicit arcs brought in.

The fixed arcs are ``class -> sink`` (hours better left unused), ``class -> group`` and
``cell -> sink``; the column generation brings in ``group -> cell`` and tie
``class -> cell`` arcs as they price out. A group that only one class reaches is no node
of its own: its arcs leave that class directly (see :class:`Layout`). (A source node
feeding the classes would be equivalent, but the network simplex then hangs every class
under it and moves larger subtrees per pivot: without it, the final master at generator
scale 0.3 solves in 9.8 s instead of 14.6 s.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.solvers.columns.network import Network
from matcher.solvers.netsimplex import NetworkSimplex

__all__ = ["Layout", "Master", "layout"]

_I = np.int64


@dataclass(frozen=True)
class Layout:
    """The nodes of the flow network: classes, shared groups, cells, then the sink.

    A group that only one class reaches is not a node: its arcs leave that class itself
    (the same arcs and scores, one node and one arc fewer). With cadres at coordinates of
    their own every group is such a group, and at generator scale 1.0 about half are.
    """

    n_c: int
    n_gn: int  # groups that are nodes (reached by two classes or more)
    n_e: int
    sink: int
    group_node: npt.NDArray[np.int64]  # per group: its node, or its one class's
    sk_arc: npt.NDArray[np.int64]  # the (class, skill) entries with a class -> group arc

    @property
    def cell0(self) -> int:
        """The first cell's node."""
        return self.n_c + self.n_gn


def layout(net: Network) -> Layout:
    """Number the nodes of ``net``'s flow network (see :class:`Layout`)."""
    n_c, n_g, n_e = net.n_classes, net.n_groups, net.n_cells
    shared = np.bincount(net.class_skill_group, minlength=n_g) > 1
    n_gn = int(shared.sum())
    group_node = np.zeros(n_g, dtype=_I)
    group_node[shared] = n_c + np.arange(n_gn, dtype=_I)
    sk_arc = np.flatnonzero(shared[net.class_skill_group])
    lone = np.flatnonzero(~shared[net.class_skill_group])
    group_node[net.class_skill_group[lone]] = net.class_skill_owner[lone]
    return Layout(n_c, n_gn, n_e, n_c + n_gn + n_e, group_node, sk_arc.astype(_I))


@dataclass
class Master:
    """The restricted network and the implicit arcs brought into it so far."""

    net: Network
    lay: Layout
    ns: NetworkSimplex
    n_fixed: int  # the fixed arcs, first in ``ns``
    # Node ids as int32 (< 2**28 nodes): at scale 5 the arcs brought in number 10 million.
    tail: list[npt.NDArray[np.int32]]
    head: list[npt.NDArray[np.int32]]

    def add(
        self,
        tail: npt.NDArray[np.int64],
        head: npt.NDArray[np.int64],
        cost: npt.NDArray[np.int64],
    ) -> int:
        """Add arcs to the network (none of them already in it); returns how many."""
        if len(tail) == 0:
            return 0
        # Above any cell's hours, so an arc never sits at its upper bound.
        cap = np.full(len(tail), int(self.net.cell_hours.max(initial=0)) + 1, dtype=_I)
        self.ns.add_arcs(tail, head, cap, cost)
        self.tail.append(tail.astype(np.int32))
        self.head.append(head.astype(np.int32))
        return len(tail)
