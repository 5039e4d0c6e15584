"""Which graphs of a store hold asserted triples: every one but the inferred graph, which
the reasoner computes. On the bottom floor, because queries (``inference=false``), the
store and the reasoner all ask."""

from __future__ import annotations

from pyoxigraph import DefaultGraph, NamedNode, Store

from .namespaces import GRAPHS

#: The named graph of the entailments.
INFERRED = GRAPHS["inferred"]


def is_asserted_graph(graph) -> bool:
    """Whether a graph of the store holds asserted triples (every one but the inferred)."""
    return not (isinstance(graph, NamedNode) and graph.value == INFERRED)


def asserted_graphs(store: Store) -> list:
    """The store's default graph and every named graph of asserted triples.

    >>> from pyoxigraph import Quad
    >>> store = Store()
    >>> store.add(Quad(NamedNode("http://e/s"), NamedNode("http://e/p"), NamedNode("http://e/o"),
    ...                NamedNode(INFERRED)))
    >>> asserted_graphs(store)
    [<DefaultGraph>]
    """
    return [DefaultGraph()] + sorted(
        (graph for graph in store.named_graphs() if is_asserted_graph(graph)), key=str)
