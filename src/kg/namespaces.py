"""The project's IRIs and the prefixes predeclared for every query.

As on Wikidata's query service, queries may use these prefixes without declaring them
(Wikidata's own ``wd wdt p ps pq wikibase bd schema`` included); ``kg prefixes`` lists
them.
"""

from __future__ import annotations

from pyoxigraph import NamedNode

BASE = "https://w3id.org/fr-indopacific/"
ONTOLOGY_IRI = BASE + "ontology"
ONTOLOGY_NS = ONTOLOGY_IRI + "#"
ID_NS = BASE + "id/"
GRAPH_NS = BASE + "graph/"

#: Named graphs, one per source, the entailments of them all (``inferred``, kept by the
#: reasoner) and the server's records (``changes``, ``review``). The union of all of them is
#: the default graph of queries.
GRAPHS: dict[str, str] = {
    "ontology": GRAPH_NS + "ontology",
    "factsheet": GRAPH_NS + "factsheet",
    # the curators' background statements, kept apart so that the factsheet graph is
    # exactly what the sheet says
    "curation": GRAPH_NS + "curation",
    "wikidata": GRAPH_NS + "wikidata",
    "user": GRAPH_NS + "user",
    "inferred": GRAPH_NS + "inferred",
    "changes": GRAPH_NS + "changes",
    "review": GRAPH_NS + "review",
}

#: Graphs loaded from the bundled, curated files: writes need ``allow_curated_writes``.
CURATED_GRAPHS = frozenset(GRAPHS[name] for name in ("ontology", "factsheet", "curation",
                                                         "wikidata"))
#: Graphs the server writes itself (the reasoner's entailments, the change log, the review
#: queue): no request writes them, and validation leaves them out.
SERVER_GRAPHS = frozenset(GRAPHS[name] for name in ("inferred", "changes", "review"))
#: IRIs of accepted changes, pending (quarantined) changes and the agents that made them.
CHANGE_NS = BASE + "change/"
REVIEW_NS = BASE + "review/"
AGENT_NS = BASE + "agent/"

PREFIXES: dict[str, str] = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "org": "http://www.w3.org/ns/org#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "schema": "http://schema.org/",
    "time": "http://www.w3.org/2006/time#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vann": "http://purl.org/vocab/vann/",
    "sh": "http://www.w3.org/ns/shacl#",
    # Wikidata's, as its query service predeclares them, so that queries copied from
    # there run unchanged (inside SERVICE, or against the offline snapshot)
    "wd": "http://www.wikidata.org/entity/",
    "wdt": "http://www.wikidata.org/prop/direct/",
    "p": "http://www.wikidata.org/prop/",
    "ps": "http://www.wikidata.org/prop/statement/",
    "pq": "http://www.wikidata.org/prop/qualifier/",
    "wikibase": "http://wikiba.se/ontology#",
    "bd": "http://www.bigdata.com/rdf#",
    "geo": "http://www.opengis.net/ont/geosparql#",  # P625 coordinates are geo:wktLiteral
    "fip": ONTOLOGY_NS,
    "fipid": ID_NS,
    "fipg": GRAPH_NS,
}


_RDFS = PREFIXES["rdfs"]
#: The RDF and RDFS terms the code matches triples on (validation, reasoning, descriptions).
RDF_TYPE = NamedNode(PREFIXES["rdf"] + "type")
SUBCLASS, SUBPROPERTY = NamedNode(_RDFS + "subClassOf"), NamedNode(_RDFS + "subPropertyOf")
DOMAIN, RANGE = NamedNode(_RDFS + "domain"), NamedNode(_RDFS + "range")

def compact(iri: str, prefixes: dict[str, str] = PREFIXES) -> str:
    """Write ``iri`` as a prefixed name when a prefix fits, else as ``<iri>``.

    >>> compact("http://www.w3.org/ns/org#Organization")
    'org:Organization'
    >>> compact("http://example.org/x")
    '<http://example.org/x>'
    """
    best = ""
    for prefix, namespace in prefixes.items():
        if iri.startswith(namespace) and len(namespace) > len(prefixes.get(best, "")):
            local = iri[len(namespace):]
            if local and all(ch.isalnum() or ch in "_-." for ch in local) and local[-1] != ".":
                best = prefix
    if best:
        return f"{best}:{iri[len(prefixes[best]):]}"
    return f"<{iri}>"
