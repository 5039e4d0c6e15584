"""The cooperation network: who cooperates with whom, on what, since when, as a networkx
graph for network analysis (networkx, Gephi) and for the ``/network`` page.

* **Nodes** are the agents of the cooperation links: every provider, funder, beneficiary,
  partner and implementer of a ``fip:CooperationLink``. Their ``group`` says which side
  they are on: ``france`` (France and its services: the fact sheet is about France's
  cooperation, and every provider of a link is one of them), ``state`` (a partner state:
  a ``schema:Country`` that provides no link) or ``organisation`` (everything else).
* **Edges** are the cooperation links, directed from each provider or funder to each
  beneficiary, partner or implementer of the same link (a multigraph: two agents can share
  several links; the edge key is the link's IRI). A link with no named counterpart (e.g.
  "the DCSD's international cooperation") connects nobody and leaves its agents alone.
  Each edge carries the link's label, domains, cooperation types, dates (``dcterms:date``
  of the link, of its events or of its agreement; ``year`` is the earliest), places
  (``prov:atLocation``, ``fip:covers``) and the sentence of the fact sheet it comes from.

Multi-valued attributes are lists; GraphML and GEXF hold one value per attribute, so
:func:`write_network` joins them with `` | `` there.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import IO

import networkx

from .errors import UsageError
from .web.content.reader import Reader
from .web.content.present import labels_of

#: The formats of ``kg export --network``.
NETWORK_FORMATS = ("graphml", "gexf", "json")
#: Roles an edge starts from, and roles it goes to.
SOURCE_ROLES = {"provider": "fip:provider", "funder": "fip:funder"}
TARGET_ROLES = {"beneficiary": "fip:beneficiary", "partner": "fip:partner",
                "implementer": "fip:implementer"}
#: The separator of several values in one GraphML or GEXF attribute.
JOIN = " | "

_ROLE_VALUES = " ".join(f'({path} "{role}")'
                        for role, path in {**SOURCE_ROLES, **TARGET_ROLES}.items())
_AGENTS = f"""SELECT DISTINCT ?agent ?role WHERE {{
  VALUES (?property ?role) {{ {_ROLE_VALUES} }}
  ?link a fip:CooperationLink ; ?property ?agent FILTER(isIRI(?agent)) }}"""
_EDGES = f"""SELECT DISTINCT ?link ?source ?sourceRole ?target ?targetRole WHERE {{
  VALUES (?sp ?sourceRole) {{ {" ".join(f'({p} "{r}")' for r, p in SOURCE_ROLES.items())} }}
  VALUES (?tp ?targetRole) {{ {" ".join(f'({p} "{r}")' for r, p in TARGET_ROLES.items())} }}
  ?link a fip:CooperationLink ; ?sp ?source ; ?tp ?target
  FILTER(isIRI(?source) && isIRI(?target) && ?source != ?target) }}"""
_FACTS = """SELECT DISTINCT ?link ?key ?value WHERE {
  ?link a fip:CooperationLink .
  { ?link fip:thematicDomain ?value BIND("domain" AS ?key) }
  UNION { ?link fip:cooperationType ?value BIND("cooperation_type" AS ?key) }
  UNION { ?link dcterms:date|fip:involvesEvent/dcterms:date|fip:underAgreement/dcterms:date
          ?value BIND("date" AS ?key) }
  UNION { ?link prov:atLocation|fip:covers ?value BIND("place" AS ?key) }
  UNION { ?link prov:wasDerivedFrom ?value BIND("sentence" AS ?key) }
  UNION { ?link prov:wasDerivedFrom/rdf:value ?value BIND("text" AS ?key) } }"""
#: Attributes whose values are IRIs: each gets a list of labels and a list of IRIs. (Not
#: "type": GEXF's edge type is directed or undirected.)
_NAMED = ("domain", "cooperation_type", "place")


def cooperation_network(kg: Reader) -> networkx.MultiDiGraph:
    """The cooperation network of ``kg`` (see the module's docstring)."""
    roles: dict[str, set[str]] = defaultdict(set)
    for row in kg.query(_AGENTS).solutions:
        roles[row["agent"].value].add(row["role"].value)
    states = _states(kg, roles)
    classes = _classes(kg, roles)
    facts = _facts(kg)
    labels = labels_of(kg, {*roles, *facts, *(iri for link in facts.values()
                                              for key in _NAMED for iri in link[key])})
    graph = networkx.MultiDiGraph(name="Cooperation links of FRS fact sheet No.5")
    for agent in sorted(roles):
        group = ("france" if "provider" in roles[agent]
                 else "state" if agent in states else "organisation")
        graph.add_node(agent, label=labels.get(agent, agent), group=group,
                       kind=classes.get(agent, ""), roles=sorted(roles[agent]))
    edges: dict[tuple[str, str, str], dict] = {}
    for row in kg.query(_EDGES).solutions:
        link, source, target = row["link"].value, row["source"].value, row["target"].value
        edge = edges.setdefault((source, target, link), {
            "source_role": [], "role": [], **_link_attributes(link, facts[link], labels)})
        for key, value in (("source_role", row["sourceRole"]), ("role", row["targetRole"])):
            if value.value not in edge[key]:
                edge[key].append(value.value)
    for (source, target, link), attributes in sorted(edges.items()):
        graph.add_edge(source, target, key=link, **attributes)
    return graph


def _states(kg: Reader, agents) -> set[str]:
    values = " ".join(f"<{iri}>" for iri in sorted(agents))
    return {row["agent"].value for row in kg.query(
        f"SELECT ?agent WHERE {{ VALUES ?agent {{ {values} }} ?agent a schema:Country }}"
    ).solutions}


def _classes(kg: Reader, agents) -> dict[str, str]:
    """The class each agent is stated to be (asserted, not inferred), as a prefixed name."""
    values = " ".join(f"<{iri}>" for iri in sorted(agents))
    rows = kg.query(f"""SELECT ?agent (MIN(STR(?class)) AS ?kind) WHERE {{
        VALUES ?agent {{ {values} }} ?agent a ?class FILTER(?class != prov:Agent)
    }} GROUP BY ?agent""", inference=False).solutions
    return {row["agent"].value: _local(row["kind"].value) for row in rows}


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _facts(kg: Reader) -> dict[str, dict[str, list[str]]]:
    facts: dict[str, dict[str, list[str]]] = defaultdict(
        lambda: {key: [] for key in (*_NAMED, "date", "sentence", "text")})
    for row in kg.query(_FACTS).solutions:
        values = facts[row["link"].value][row["key"].value]
        if row["value"].value not in values:
            values.append(row["value"].value)
    return facts


def _link_attributes(link: str, facts: dict[str, list[str]], labels: dict[str, str]) -> dict:
    attributes: dict = {"link": link, "label": labels.get(link, link)}
    for key in _NAMED:
        iris = sorted(facts[key], key=lambda iri: labels.get(iri, iri))
        attributes[key] = [labels.get(iri, iri) for iri in iris]
        attributes[f"{key}_iri"] = iris
    attributes["date"] = sorted(facts["date"])
    years = [int(date[:4]) for date in attributes["date"] if date[:4].isdigit()]
    if years:
        attributes["year"] = min(years)
    attributes["sentence"] = sorted(facts["sentence"])
    attributes["text"] = facts["text"]
    return attributes


def network_data(graph: networkx.MultiDiGraph) -> dict:
    """The network as networkx's node-link JSON (``nodes`` and ``edges``, lists kept)."""
    return networkx.node_link_data(graph, edges="edges")


def write_network(graph: networkx.MultiDiGraph, fmt: str, output: IO[bytes]) -> None:
    """Write ``graph`` as GraphML, GEXF 1.2 or node-link JSON (:data:`NETWORK_FORMATS`)."""
    if fmt == "json":
        output.write(json.dumps(network_data(graph), ensure_ascii=False, indent=1).encode())
    elif fmt == "graphml":
        networkx.write_graphml(_flat(graph), output, encoding="utf-8")
    elif fmt == "gexf":
        networkx.write_gexf(_flat(graph), output, encoding="utf-8", version="1.2draft")
    else:
        raise UsageError(f"unknown network format {fmt!r}; choose one of: "
                         f"{', '.join(NETWORK_FORMATS)}")


def _flat(graph: networkx.MultiDiGraph) -> networkx.MultiDiGraph:
    """A copy with lists joined into strings: GraphML and GEXF attributes hold one value."""
    flat = networkx.MultiDiGraph(name=graph.graph.get("name", ""))
    for node, data in graph.nodes(data=True):
        flat.add_node(node, **{k: _one(v) for k, v in data.items()})
    for source, target, key, data in graph.edges(keys=True, data=True):
        flat.add_edge(source, target, key=key, **{k: _one(v) for k, v in data.items()})
    return flat


def _one(value):
    return JOIN.join(value) if isinstance(value, list) else value
