"""The cooperation network: kg export --network, read back by networkx, counted by SPARQL.

GEXF: no package reachable here ships the GEXF XML schema (networkx, gexfpy and the npm
package graphology-gexf carry none), so the file is checked by reading it back with
networkx and by its namespace, version and declared attributes instead of by the schema.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import networkx
import pytest

from kg.network import JOIN, cooperation_network

ROLES = "fip:provider|fip:funder|fip:beneficiary|fip:partner|fip:implementer"
#: The agents and the (link, from, to) pairs, counted by SPARQL alone.
AGENTS = f"""SELECT (COUNT(DISTINCT ?agent) AS ?n) WHERE {{
    ?link a fip:CooperationLink ; {ROLES} ?agent FILTER(isIRI(?agent)) }}"""
LINKS = """SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?link ?from ?to WHERE {
    ?link a fip:CooperationLink ; fip:provider|fip:funder ?from ;
          fip:beneficiary|fip:partner|fip:implementer ?to
    FILTER(isIRI(?from) && isIRI(?to) && ?from != ?to) } }"""
GEXF = "{http://www.gexf.net/1.2draft}"


def _count(kg, query: str) -> int:
    return int(next(iter(kg.query(query).solutions))["n"].value)


@pytest.fixture(scope="module")
def counts(bundled) -> tuple[int, int]:
    return _count(bundled, AGENTS), _count(bundled, LINKS)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict:
    """The three files `kg export --network` writes (one process each)."""
    import subprocess
    import sys

    from helpers import kg_environment

    folder = tmp_path_factory.mktemp("network")
    files = {}
    for fmt in ("graphml", "gexf", "json"):
        files[fmt] = folder / f"cooperation.{fmt}"
        subprocess.run([sys.executable, "-m", "kg", "export", "--network", fmt, "-o",
                        str(files[fmt])], check=True, capture_output=True, cwd=folder,
                       env=kg_environment(), timeout=120)
    return files


@pytest.mark.slow
def test_graphml_round_trips_with_the_sparql_counts(exported, counts):
    graph = networkx.read_graphml(exported["graphml"], force_multigraph=True)
    assert (graph.number_of_nodes(), graph.number_of_edges()) == counts
    assert counts[0] > 50 and counts[1] > 50  # the fact sheet's, not an empty export


def test_the_readme_networkx_example(exported):
    # the three lines of the README
    graph = networkx.read_graphml(exported["graphml"])
    hubs = sorted(graph.degree, key=lambda pair: pair[1], reverse=True)[:3]
    print([graph.nodes[node]["label"] for node, _ in hubs])
    assert graph.nodes[hubs[0][0]]["label"] == "France"


def test_an_edge_carries_its_domain_type_dates_places_and_sentence(exported):
    graph = networkx.read_graphml(exported["graphml"], force_multigraph=True)
    france, mongolia = ("https://w3id.org/fr-indopacific/id/" + slug
                        for slug in ("france", "mongolia"))
    edges = graph.get_edge_data(france, mongolia)
    link = edges["https://w3id.org/fr-indopacific/id/coop-mongolia-civil-protection"]
    assert link["domain"] == "civil protection" and "training" in link["cooperation_type"].split(JOIN)
    assert link["year"] == 2020 and link["date"] == "2020"
    assert "Mongolia" in link["place"] and link["role"] == "beneficiary"
    assert link["sentence"].endswith("/fs5-s026") and "Mongolia" in link["text"]
    assert graph.nodes[france]["group"] == "france"
    assert graph.nodes[mongolia]["group"] == "state"


def test_gexf_reads_back_in_networkx_with_the_same_counts(exported, counts):
    graph = networkx.read_gexf(exported["gexf"])
    assert (graph.number_of_nodes(), graph.number_of_edges()) == counts
    root = ET.parse(exported["gexf"]).getroot()
    assert root.tag == GEXF + "gexf" and root.get("version") == "1.2"
    declared = {a.get("title") for a in root.iter(GEXF + "attribute")}
    assert {"domain", "cooperation_type", "date", "year", "place", "sentence", "text", "group"} <= declared
    assert root.find(f"{GEXF}graph").get("defaultedgetype") == "directed"
    # GEXF's own edge attributes keep their meaning (type: directed, undirected or mutual)
    assert {edge.get("type") for edge in root.iter(GEXF + "edge")} <= {None, "directed"}


def test_json_is_node_link_data_with_lists(exported, counts):
    data = json.loads(exported["json"].read_text(encoding="utf-8"))
    graph = networkx.node_link_graph(data, edges="edges")
    assert (graph.number_of_nodes(), graph.number_of_edges()) == counts
    assert all(isinstance(edge["domain"], list) for edge in data["edges"])


def test_the_network_is_built_from_the_graph(bundled, counts):
    graph = cooperation_network(bundled)
    assert (graph.number_of_nodes(), graph.number_of_edges()) == counts
    # every edge names the link it is, and the link names its sentence
    assert all(key == data["link"] and data["sentence"]
               for _, _, key, data in graph.edges(keys=True, data=True))


def test_network_takes_no_graph(run_kg):
    done = run_kg("export", "--network", "graphml", "--graph", "https://example.org/g")
    assert done.returncode == 2 and b"takes no --graph" in done.stderr
