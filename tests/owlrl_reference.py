"""The reference the inferred graph is checked against: owlrl with the rule groups
``kg.reasoning.reasoner`` runs, over the whole asserted graph as one rdflib graph — no selection of
premises, no incremental maintenance. Used by ``tests/test_reasoning.py`` and
``bench/reasoning.py``.
"""

from __future__ import annotations

import owlrl
import rdflib
from pyoxigraph import DefaultGraph, Quad, RdfFormat, Store

from kg.reasoning.reasoner import OWLRLRules
from kg.reasoning import is_asserted_graph



def rdflib_graph(store: Store, keep) -> rdflib.Graph:
    """The triples of the graphs of ``store`` for which ``keep(graph_name)`` holds, merged."""
    merged = Store()
    merged.extend(Quad(q.subject, q.predicate, q.object) for q in store if keep(q.graph_name))
    return rdflib.Graph().parse(data=merged.dump(format=RdfFormat.N_TRIPLES,
                                                 from_graph=DefaultGraph()), format="nt")


def entailments(store: Store) -> set:
    """owlrl's new triples over the asserted graphs of ``store`` (rdflib terms)."""
    graph = rdflib_graph(store, is_asserted_graph)
    before = set(graph)
    owlrl.DeductiveClosure(OWLRLRules, axiomatic_triples=False,
                           datatype_axioms=False).expand(graph)
    return set(graph) - before
