"""The reference the reasoner is checked against: owlrl, the OWL 2 RL implementation for
rdflib, limited to the rules ``kg.reasoning`` applies.

owlrl's rule groups are methods of ``OWLRL_Semantics``; the equality group (eq-*) and the
class-expression group (cls-*) are not run, the datatype rules (dt-*) neither, and the
triples ``kg.reasoning`` leaves out on purpose (``owl:sameAs``, reflexive subclass and
subproperty axioms, ``owl:Thing``/``owl:Nothing`` bounds, typing of the built-in annotation
properties, literals as subjects) are not stored. Used by ``tests/test_reasoning.py`` and
``bench/reasoning.py``.
"""

from __future__ import annotations

import owlrl
import rdflib
from owlrl.OWLRL import OWLRL_Annotation_properties, OWLRL_Semantics
from pyoxigraph import DefaultGraph, Quad, RdfFormat, Store
from rdflib import OWL, RDF, RDFS, Literal

from kg.reasoning import is_asserted_graph

_REFLEXIVE = {RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentClass, OWL.equivalentProperty}


class RestrictedOWLRL(OWLRL_Semantics):
    """OWL 2 RL in owlrl, without equality, class expressions and datatype rules."""

    def one_time_rules(self) -> None:
        pass  # dt-* and the axioms about owl:Thing and annotation properties

    def rules(self, t, cycle_num) -> None:
        self._properties(t, cycle_num)  # prp-*
        self._class_axioms(t, cycle_num)  # cax-*
        self._schema_vocabulary(t, cycle_num)  # scm-*

    def store_triple(self, t) -> None:
        s, p, o = t
        if p == OWL.sameAs or isinstance(s, Literal):
            return
        if p in _REFLEXIVE and s == o or o == OWL.Thing or s == OWL.Nothing:
            return
        if p == RDF.type and o == OWL.AnnotationProperty and s in OWLRL_Annotation_properties:
            return
        super().store_triple(t)


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
    owlrl.DeductiveClosure(RestrictedOWLRL, axiomatic_triples=False,
                           datatype_axioms=False).expand(graph)
    return set(graph) - before
