"""Counts that describe the store: triples per named graph, classes, properties, typed
entities. Read with any ``query`` function, so that the store and the pages (through the
engine) count alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Stats:
    """Counts that describe the store."""

    graphs: dict[str, int] = field(default_factory=dict)
    default_graph: int = 0
    classes: int = 0
    properties: int = 0
    typed_entities: int = 0

    @property
    def triples(self) -> int:
        """All quads in the store, every graph included."""
        return self.default_graph + sum(self.graphs.values())


def read_stats(query: Callable, default_graph: int) -> Stats:
    """The counts, from ``query`` (text -> :class:`kg.sparql.execute.QueryResult`) and the
    size of the store's default graph (which no SPARQL dataset can name)."""
    stats = Stats(default_graph=default_graph)
    for row in query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } "
                     "GROUP BY ?g ORDER BY ?g").solutions:
        stats.graphs[row["g"].value] = int(row["n"].value)
    counts = next(iter(query(_COUNTS_QUERY).solutions))
    stats.classes = int(counts["classes"].value)
    stats.properties = int(counts["properties"].value)
    stats.typed_entities = int(counts["entities"].value)
    return stats


_COUNTS_QUERY = """
SELECT (COUNT(DISTINCT ?class) AS ?classes) (COUNT(DISTINCT ?property) AS ?properties)
       (COUNT(DISTINCT ?entity) AS ?entities)
WHERE {
  { ?class a ?classType . VALUES ?classType { owl:Class rdfs:Class } FILTER(isIRI(?class)) }
  UNION { ?any a ?class }
  UNION { ?property a ?propertyType .
          VALUES ?propertyType { rdf:Property owl:ObjectProperty owl:DatatypeProperty
                                 owl:AnnotationProperty } }
  UNION { ?s ?property ?o }
  UNION { ?entity a ?type . FILTER(isIRI(?entity)) }
}
"""
