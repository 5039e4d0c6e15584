"""RDF terms across the two libraries: pyoxigraph (the store) and rdflib (pySHACL, reports).

>>> to_ox(to_rdflib(Literal("Douane", language="fr"))) == Literal("Douane", language="fr")
True
>>> to_rdflib(BlankNode("b1")).n3()
'_:b1'
"""

from __future__ import annotations

import rdflib
from pyoxigraph import BlankNode, DefaultGraph, Literal, NamedNode, Quad

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(term) -> rdflib.term.Node:
    """A pyoxigraph term as the rdflib term with the same value (blank node ids kept)."""
    if isinstance(term, NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
    raise TypeError(f"no rdflib form for {term!r}")


def to_ox(term: rdflib.term.Node):
    """An rdflib term as the pyoxigraph term with the same value (blank node ids kept)."""
    if isinstance(term, rdflib.URIRef):
        return NamedNode(str(term))
    if isinstance(term, rdflib.BNode):
        return BlankNode(str(term))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return Literal(str(term), language=term.language)
        return Literal(str(term), datatype=NamedNode(str(term.datatype or _XSD_STRING)))
    raise TypeError(f"no pyoxigraph form for {term!r}")


def graph_name(quad: Quad) -> str | None:
    """The IRI of a quad's graph, None for the default graph."""
    return None if isinstance(quad.graph_name, DefaultGraph) else quad.graph_name.value
