"""The tie graph: its nodes and edges, its public queries, and its exports."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from matcher.inputs.dataset import load_dataset
from matcher.model.arcs import build_problem, reachable_supply
from matcher.model.graph import (
    build_graph,
    community_ties,
    graph_summary,
    node,
    untied_communities,
    write_graph,
)


@pytest.fixture
def g(example_dir: Path) -> nx.MultiGraph:
    return build_graph(load_dataset(example_dir))


def test_nodes_carry_their_rows(g: nx.MultiGraph) -> None:
    c = g.nodes[node("community", "C-JUNMEN")]
    assert c["type"] == "community" and c["street"] == "Dongjie"
    assert c["hours_demanded"] == 20
    u = g.nodes[node("unit", "U-JCY")]
    assert u["type"] == "unit" and u["unit_kind"] == "enterprise"
    assert g.nodes[node("alliance", "A-DONGJIE")]["district"] == "Gulou"


def test_edges_by_relation(g: nx.MultiGraph) -> None:
    edges = {(u, v, k) for u, v, k in g.edges(keys=True)}
    norm = {(k, frozenset((u, v))) for u, v, k in edges}
    assert ("pairing", frozenset({"unit:U-MUNI", "community:C-CANGXIA"})) in norm
    assert ("member", frozenset({"unit:U-JCY", "alliance:A-DONGJIE"})) in norm
    assert ("covers", frozenset({"alliance:A-DONGJIE", "community:C-JUNMEN"})) in norm
    assert ("residence", frozenset({"unit:U-MUNI", "community:C-JUNMEN"})) in norm
    assert ("residence", frozenset({"unit:U-JCY", "community:C-TANGBIAN"})) in norm
    assert len(norm) == 5


def test_residence_edge_counts_cadres_and_hours(g: nx.MultiGraph) -> None:
    data = g.get_edge_data("unit:U-MUNI", "community:C-JUNMEN", key="residence")
    assert data["cadres"] == 1 and data["hours"] == 10


def test_community_ties_lists_each_tie_in_spec_order(g: nx.MultiGraph) -> None:
    ties = community_ties(g, "C-JUNMEN")
    assert [(t["tie"], t["unit_id"], t["via"]) for t in ties] == [
        ("residence", "U-MUNI", None),
        ("alliance", "U-JCY", "A-DONGJIE"),
    ]
    assert [(t["tie"], t["unit_id"]) for t in community_ties(g, "C-CANGXIA")] == [
        ("pairing", "U-MUNI")
    ]


def test_community_ties_unknown_community_raises(g: nx.MultiGraph) -> None:
    with pytest.raises(KeyError):
        community_ties(g, "NOPE")


def test_untied_communities(reasons_dir: Path, g: nx.MultiGraph) -> None:
    assert untied_communities(g) == []
    # In the reasons dataset, B has no pairing, alliance or resident cadre.
    assert untied_communities(build_graph(load_dataset(reasons_dir))) == ["B"]


def test_summary_counts(g: nx.MultiGraph) -> None:
    s = graph_summary(g)
    assert s["nodes"] == {"community": 3, "unit": 2, "alliance": 1}
    assert s["edges"] == {"pairing": 1, "member": 1, "covers": 1, "residence": 2}
    assert s["components"] == 1 and s["untied_communities"] == 0


def test_graphml_export_round_trips(tmp_path: Path, g: nx.MultiGraph) -> None:
    path = write_graph(g, tmp_path / "ties.graphml")
    back = nx.read_graphml(path, force_multigraph=True)
    assert set(back.nodes) == set(g.nodes)
    assert back.number_of_edges() == g.number_of_edges()
    assert back.nodes["community:C-JUNMEN"]["name"].endswith("(军门社区)")


def test_node_link_json_export(tmp_path: Path, g: nx.MultiGraph) -> None:
    path = write_graph(g, tmp_path / "ties.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    back = nx.node_link_graph(data, edges="links")
    assert back.number_of_edges() == g.number_of_edges()


def test_export_rejects_unknown_suffix(tmp_path: Path, g: nx.MultiGraph) -> None:
    with pytest.raises(ValueError, match="graphml"):
        write_graph(g, tmp_path / "ties.txt")


def test_reachable_supply_against_demand(example_dir: Path) -> None:
    table = reachable_supply(build_problem(load_dataset(example_dir)))
    row = table.set_index(["community_id", "category"]).loc[("C-CANGXIA", "parking")]
    # Only K2 (6 hours) can do parking in Cangxia, which asks for 10.
    assert (row["hours_demanded"], row["suppliers"], row["supply_hours"]) == (10, 1, 6)
    elderly = table.set_index(["community_id", "category"]).loc[("C-JUNMEN", "elderly_care")]
    # K1 (home), K4 (alliance) and R1 (alliance, 20 h): 10 + 12 + 20.
    assert (elderly["suppliers"], elderly["supply_hours"]) == (3, 42)
