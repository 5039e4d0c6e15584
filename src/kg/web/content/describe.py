"""Descriptions the endpoint gives of itself (no Flask here).

* the SPARQL 1.1 Service Description (https://www.w3.org/TR/sparql11-service-description/)
  answered by ``GET /sparql`` without a query;
* the VoID description (https://www.w3.org/TR/void/) at ``/.well-known/void``;
* the queries that describe one entity, or the ontology, for linked-data dereferencing.

The counts are queried through the engine and cached per dataset version.
"""

from __future__ import annotations

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from ...config import Config
from ...namespaces import BASE, GRAPHS, ID_NS, ONTOLOGY_IRI, PREFIXES, RDF_TYPE
from ...reasoning import INFERRED, RULES
from ..routes import SPARQL
from .reader import EngineReader, Reader

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
_FORMATS_NS = "http://www.w3.org/ns/formats/"
_DCT = PREFIXES["dcterms"]
#: W3C identifiers (http://www.w3.org/ns/formats/) of the formats the endpoint writes.
FORMAT_IRIS = {"json": "SPARQL_Results_JSON", "xml": "SPARQL_Results_XML",
               "csv": "SPARQL_Results_CSV", "tsv": "SPARQL_Results_TSV",
               "turtle": "Turtle", "ntriples": "N-Triples", "rdfxml": "RDF_XML",
               "jsonld": "JSON-LD", "nquads": "N-Quads", "trig": "TriG"}
DATASET = NamedNode(BASE + "dataset")
WIKIDATA = NamedNode("http://www.wikidata.org/entity/")
_LICENSE = "https://creativecommons.org/licenses/by/4.0/"
OWL2_RL = "https://www.w3.org/TR/owl2-profiles/#OWL_2_RL"

_cache: dict[tuple, list[Triple]] = {}


def _node(iri: str) -> NamedNode:
    return NamedNode(iri)


def _cached(key: tuple, build) -> list[Triple]:
    if key not in _cache:
        _cache.clear()  # one version at a time is enough
        _cache[key] = build()
    return _cache[key]


def entity_query(iri: str) -> str:
    """CONSTRUCT the description of ``iri``: its triples both ways and its neighbours' labels.

    >>> "<https://w3id.org/fr-indopacific/id/dcsd> ?p ?o" in entity_query(ID_NS + "dcsd")
    True
    """
    return f"""CONSTRUCT {{ <{iri}> ?p ?o . ?s ?q <{iri}> . ?n rdfs:label ?label }}
WHERE {{
  {{ <{iri}> ?p ?o }} UNION {{ ?s ?q <{iri}> }}
  UNION {{ {{ <{iri}> ?p1 ?n }} UNION {{ ?n ?q1 <{iri}> }} ?n rdfs:label ?label }}
}}"""


def entity_quads_query(iri: str) -> str:
    """SELECT the quads of the description of ``iri``: the same triples as
    :func:`entity_query`, each with the named graph it is in, so that asserted triples
    (in their source graph) and inferred ones (in the inferred graph) are told apart.

    >>> "GRAPH ?g { <https://w3id.org/fr-indopacific/id/dcsd> ?p ?o }" in entity_quads_query(
    ...     ID_NS + "dcsd")
    True
    """
    return f"""SELECT DISTINCT ?s ?p ?o ?g WHERE {{
  {{ GRAPH ?g {{ <{iri}> ?p ?o }} BIND(<{iri}> AS ?s) }}
  UNION {{ GRAPH ?g {{ ?s ?p <{iri}> }} BIND(<{iri}> AS ?o) }}
  UNION {{ {{ <{iri}> ?p1 ?s }} UNION {{ ?s ?q1 <{iri}> }}
          GRAPH ?g {{ ?s rdfs:label ?o }} BIND(rdfs:label AS ?p) }}
}}"""


def ontology_query() -> str:
    """CONSTRUCT the ontology graph (the answer at the ontology IRI)."""
    return f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GRAPHS['ontology']}> {{ ?s ?p ?o }} }}"


def service_description(kg: EngineReader, config: Config) -> list[Triple]:
    """The ``sd:Service`` of the endpoint, with its default dataset and named graphs."""
    return _cached(("sd", id(kg), kg.engine.version, config.public_url),
                   lambda: _service_description(kg, config))


def _service_description(kg: EngineReader, config: Config) -> list[Triple]:
    endpoint = _node(config.public_url + SPARQL.path)
    sd = lambda term: _node(SD + term)  # noqa: E731 - a local shorthand
    triples = [Triple(endpoint, RDF_TYPE, sd("Service")),
               Triple(endpoint, sd("endpoint"), endpoint),
               Triple(endpoint, sd("supportedLanguage"), sd("SPARQL11Query")),
               Triple(endpoint, sd("feature"), sd("UnionDefaultGraph")),
               Triple(endpoint, sd("defaultEntailmentRegime"),
                      _node("http://www.w3.org/ns/entailment/Simple"))]
    triples += [Triple(endpoint, sd("resultFormat"), _node(_FORMATS_NS + name))
                for name in FORMAT_IRIS.values()]
    dataset, default_graph = BlankNode(), BlankNode()
    stats = kg.stats()
    triples += [Triple(endpoint, sd("defaultDataset"), dataset),
                Triple(dataset, RDF_TYPE, sd("Dataset")),
                Triple(dataset, sd("defaultGraph"), default_graph),
                Triple(default_graph, RDF_TYPE, sd("Graph")),
                Triple(default_graph, _node(VOID + "triples"), Literal(stats.triples))]
    for graph, count in stats.graphs.items():
        named, description = BlankNode(), BlankNode()
        triples += [Triple(dataset, sd("namedGraph"), named),
                    Triple(named, RDF_TYPE, sd("NamedGraph")),
                    Triple(named, sd("name"), _node(graph)),
                    Triple(named, sd("graph"), description),
                    Triple(description, RDF_TYPE, sd("Graph")),
                    Triple(description, _node(VOID + "triples"), Literal(count))]
    return triples


def void_description(kg: EngineReader, config: Config) -> list[Triple]:
    """The VoID dataset: triples per named graph, class and property partitions, license,
    endpoint, and the owl:sameAs linkset to Wikidata."""
    return _cached(("void", id(kg), kg.engine.version, config.public_url),
                   lambda: _void_description(kg, config))


def _void_description(kg: EngineReader, config: Config) -> list[Triple]:
    void = lambda term: _node(VOID + term)  # noqa: E731 - a local shorthand
    stats = kg.stats()
    triples = [Triple(DATASET, RDF_TYPE, void("Dataset")),
               Triple(DATASET, _node(_DCT + "title"), Literal(
                   "France's security and police cooperation in the Indo-Pacific", language="en")),
               Triple(DATASET, _node(_DCT + "license"), _node(_license(kg))),
               Triple(DATASET, void("sparqlEndpoint"), _node(config.public_url + SPARQL.path)),
               Triple(DATASET, void("uriSpace"), Literal(ID_NS)),
               Triple(DATASET, void("vocabulary"), _node(ONTOLOGY_IRI)),
               Triple(DATASET, void("triples"), Literal(stats.triples)),
               Triple(DATASET, void("classes"), Literal(stats.classes)),
               Triple(DATASET, void("properties"), Literal(stats.properties)),
               Triple(DATASET, void("entities"), Literal(stats.typed_entities))]
    for graph, count in stats.graphs.items():
        triples += [Triple(DATASET, void("subset"), _node(graph)),
                    Triple(_node(graph), RDF_TYPE, void("Dataset")),
                    Triple(_node(graph), void("triples"), Literal(count))]
    if INFERRED in stats.graphs:
        triples += _inferred_subset(stats.graphs)
    for row in kg.query("SELECT ?c (COUNT(DISTINCT ?e) AS ?n) { ?e a ?c FILTER(isIRI(?c)) } "
                        "GROUP BY ?c ORDER BY ?c").solutions:
        partition = BlankNode()
        triples += [Triple(DATASET, void("classPartition"), partition),
                    Triple(partition, void("class"), row["c"]),
                    Triple(partition, void("entities"), Literal(int(row["n"].value)))]
    for row in kg.query("SELECT ?p (COUNT(*) AS ?n) { ?s ?p ?o } GROUP BY ?p "
                        "ORDER BY ?p").solutions:
        partition = BlankNode()
        triples += [Triple(DATASET, void("propertyPartition"), partition),
                    Triple(partition, void("property"), row["p"]),
                    Triple(partition, void("triples"), Literal(int(row["n"].value)))]
    links = next(iter(kg.query(
        "SELECT (COUNT(*) AS ?n) { ?s owl:sameAs ?o "
        "FILTER(STRSTARTS(STR(?o), 'http://www.wikidata.org/entity/')) }").solutions))
    linkset = _node(BASE + "dataset/wikidata-links")
    triples += [Triple(DATASET, void("subset"), linkset),
                Triple(linkset, RDF_TYPE, void("Linkset")),
                Triple(linkset, void("linkPredicate"), _node(PREFIXES["owl"] + "sameAs")),
                Triple(linkset, void("subjectsTarget"), DATASET),
                Triple(linkset, void("objectsTarget"), WIKIDATA),
                Triple(linkset, void("triples"), Literal(int(links["n"].value))),
                Triple(WIKIDATA, RDF_TYPE, void("Dataset")),
                Triple(WIKIDATA, void("uriSpace"), Literal(WIKIDATA.value)),
                Triple(WIKIDATA, void("sparqlEndpoint"),
                       _node("https://query.wikidata.org/sparql"))]
    return triples


def _inferred_subset(graphs: dict[str, int]) -> list[Triple]:
    """What tells the inferred subset from the asserted ones: its title, what it was derived
    from, and the rules that derived it (OWL 2 RL, a W3C recommendation)."""
    inferred = _node(INFERRED)
    triples = [Triple(inferred, _node(_DCT + "title"), Literal(
                   "Inferred triples: entailments of the ontology over the asserted graphs",
                   language="en")),
               Triple(inferred, _node(_DCT + "description"), Literal(
                   "Materialised with the OWL 2 RL rules " + ", ".join(
                       RULES) + " (computed by owlrl); owl:sameAs is not "
                   "applied (no smushing). Queries with inference=false leave it out.",
                   language="en")),
               Triple(inferred, _node(_DCT + "conformsTo"), _node(OWL2_RL))]
    triples += [Triple(inferred, _node(PREFIXES["prov"] + "wasDerivedFrom"), _node(graph))
                for graph in graphs if graph != INFERRED]
    return triples


def _license(kg: Reader) -> str:
    # the license the ontology header declares, so that it is stated once
    rows = list(kg.query(f"SELECT ?l {{ <{ONTOLOGY_IRI}> dcterms:license ?l }} LIMIT 1")
                .solutions)
    return rows[0]["l"].value if rows else _LICENSE
