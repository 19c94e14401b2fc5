"""The co-construction tie graph: communities, units and alliances, and how they are tied.

Nodes are strings ``"community:<id>"``, ``"unit:<id>"`` and ``"alliance:<id>"`` (ids of
different tables may coincide) with a ``type`` attribute and the row's fields. Edges of
a ``networkx.MultiGraph``, keyed by relation:

- ``pairing``: unit -- community (dual registration);
- ``member``: unit -- alliance;
- ``covers``: alliance -- community (the alliance's district and street are the
  community's);
- ``residence``: unit -- community where some of the unit's cadres live, with
  ``cadres`` and ``hours`` attributes.

The relations are not the ties (:data:`matcher.model.arcs.TIES`), from which
they are read: ``pairing`` and ``residence`` are the ties of those names; the
``alliance`` tie is the path unit -``member``- alliance -``covers``- community
(:func:`community_ties`). Proximity ties are per supplier and distance; they live in
the candidate arcs (:mod:`matcher.model.arcs`), not here: this graph holds the
organizations.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from matcher.i18n import N_, Text
from matcher.inputs.dataset import Dataset
from matcher.inputs.io import is_missing
from matcher.model.ties import TIES

__all__ = [
    "ALLIANCE",
    "COMMUNITY",
    "RELATIONS",
    "UNIT",
    "build_graph",
    "community_ties",
    "graph_summary",
    "node",
    "ties_table",
    "untied_communities",
    "write_graph",
]

COMMUNITY, UNIT, ALLIANCE = "community", "unit", "alliance"
RELATIONS = ("pairing", "member", "covers", "residence")


def node(kind: str, ident: str) -> str:
    """The graph's node name for a row: ``node("unit", "U-1") == "unit:U-1"``."""
    return f"{kind}:{ident}"


def _attrs(row: Mapping[Any, Any], skip: tuple[str, ...]) -> dict[str, Any]:
    # GraphML cannot store None or NaN; leave such attributes out.
    return {k: v for k, v in row.items() if k not in skip and not _missing(v)}


def _missing(value: Any) -> bool:
    return is_missing(value) or value == ""


def build_graph(dataset: Dataset) -> nx.MultiGraph:
    """The tie graph of a dataset.

    Parameters
    ----------
    dataset
        A validated dataset.

    Returns
    -------
    networkx.MultiGraph
        Nodes and edges as described in the module docstring.

    Examples
    --------
    >>> from matcher.inputs.dataset import load_dataset
    >>> g = build_graph(load_dataset("tests/data/example/dataset"))
    >>> sorted(k for _, _, k in g.edges(keys=True))
    ['covers', 'member', 'pairing', 'residence', 'residence']
    """
    g = nx.MultiGraph(name=dataset.source)
    comms = dataset.communities
    for row in comms.to_dict("records"):
        g.add_node(node(COMMUNITY, row["community_id"]), type=COMMUNITY, **_attrs(row, ()))
    for row in dataset.units.to_dict("records"):
        attrs = _attrs(row, ("kind",))
        g.add_node(node(UNIT, row["unit_id"]), type=UNIT, unit_kind=row["kind"], **attrs)
    for row in dataset.alliances.to_dict("records"):
        g.add_node(node(ALLIANCE, row["alliance_id"]), type=ALLIANCE, **_attrs(row, ()))
    demanded = dataset.demands.groupby("community_id")["hours"].sum()
    for cid, hours in demanded.items():
        g.nodes[node(COMMUNITY, str(cid))]["hours_demanded"] = int(hours)

    for u, c in zip(dataset.pairings["unit_id"], dataset.pairings["community_id"], strict=True):
        g.add_edge(node(UNIT, u), node(COMMUNITY, c), key="pairing", relation="pairing")
    members = dataset.alliance_members
    for a, u in zip(members["alliance_id"], members["unit_id"], strict=True):
        g.add_edge(node(UNIT, u), node(ALLIANCE, a), key="member", relation="member")
    by_place = comms.groupby(["district", "street"])["community_id"].apply(list)
    alliances = dataset.alliances
    for aid, district, street in zip(
        alliances["alliance_id"], alliances["district"], alliances["street"], strict=True
    ):
        for cid in by_place.get((district, street), []):
            g.add_edge(
                node(ALLIANCE, aid),
                node(COMMUNITY, cid),
                key="covers",
                relation="covers",
            )
    cadres = dataset.cadres
    homes = cadres[cadres["home_community_id"] != ""]
    residence = homes.groupby(["unit_id", "home_community_id"], sort=True)["hours"].agg(
        ["count", "sum"]
    )
    for (u, c), n, h in zip(residence.index, residence["count"], residence["sum"], strict=True):
        g.add_edge(
            node(UNIT, str(u)),
            node(COMMUNITY, str(c)),
            key="residence",
            relation="residence",
            cadres=int(n),
            hours=int(h),
        )
    return g


def community_ties(g: nx.MultiGraph, community_id: str) -> list[dict[str, Any]]:
    """The units tied to a community, and through which tie.

    Ties are listed in the spec's order (residence, pairing, alliance), each unit once
    per tie; an alliance tie names the alliance it goes through.

    Parameters
    ----------
    g
        From :func:`build_graph`.
    community_id
        The community's id.

    Returns
    -------
    list of dict
        ``{"unit_id", "tie", "via", "cadres"}`` (``via`` the alliance id or ``None``;
        ``cadres`` the number of the unit's cadres living there, for residence).

    Raises
    ------
    KeyError
        If the community is not in the graph.
    """
    c = node(COMMUNITY, community_id)
    if c not in g:
        raise KeyError(
            Text(N_("no community {community} in the graph"), community=repr(community_id))
        )
    found: list[dict[str, Any]] = []

    def tie(unit: str, kind: str, via: str | None = None, cadres: int | None = None) -> None:
        found.append(
            {"unit_id": g.nodes[unit]["unit_id"], "tie": kind, "via": via, "cadres": cadres}
        )

    for _, other, key, data in g.edges(c, keys=True, data=True):
        if key in ("residence", "pairing"):  # a relation that is itself the tie of that name
            tie(other, key, cadres=data.get("cadres"))
        elif key == "covers":  # the alliance tie: unit -member- alliance -covers- community
            alliance = g.nodes[other]["alliance_id"]
            for _, unit, k2 in g.edges(other, keys=True):
                if k2 == "member":
                    tie(unit, "alliance", via=alliance)
    found.sort(key=lambda t: (TIES.index(t["tie"]), t["unit_id"], t["via"] or ""))
    return found


def untied_communities(g: nx.MultiGraph) -> list[str]:
    """Communities that no unit is tied to (no pairing, alliance or resident cadre).

    Such a community can only be served through proximity.
    """
    out = []
    for n, data in g.nodes(data=True):
        if data["type"] != COMMUNITY:
            continue
        tied = any(
            key in ("pairing", "residence")
            or (key == "covers" and any(k == "member" for _, _, k in g.edges(other, keys=True)))
            for _, other, key in g.edges(n, keys=True)
        )
        if not tied:
            out.append(data["community_id"])
    return sorted(out)


def graph_summary(g: nx.MultiGraph) -> dict[str, Any]:
    """Counts of nodes by type and edges by relation, components and untied communities."""
    types = Counter(d["type"] for _, d in g.nodes(data=True))
    relations = Counter(k for _, _, k in g.edges(keys=True))
    components = list(nx.connected_components(g))
    return {
        "nodes": {t: types.get(t, 0) for t in (COMMUNITY, UNIT, ALLIANCE)},
        "edges": {r: relations.get(r, 0) for r in RELATIONS},
        "components": len(components),
        "largest_component": max((len(c) for c in components), default=0),
        "untied_communities": len(untied_communities(g)),
    }


def write_graph(g: nx.MultiGraph, path: str | Path) -> Path:
    """Export the graph as GraphML (``.graphml``) or node-link JSON (``.json``).

    Raises
    ------
    ValueError
        For any other file suffix.
    """
    out = Path(path)
    if out.suffix == ".graphml":
        nx.write_graphml(g, out)
    elif out.suffix == ".json":
        data = nx.node_link_data(g, edges="links")
        out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    else:
        raise ValueError(
            Text(
                N_("export to .graphml or .json, not {suffix}"),
                suffix=repr(out.suffix or "no suffix"),
            )
        )
    return out


def ties_table(g: nx.MultiGraph) -> pd.DataFrame:
    """Every tie of the graph as rows ``source, target, relation`` (for quick reports)."""
    rows = [{"source": u, "target": v, "relation": k} for u, v, k in g.edges(keys=True)]
    return pd.DataFrame(rows, columns=["source", "target", "relation"])
