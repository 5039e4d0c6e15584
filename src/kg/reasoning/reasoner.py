"""The reasoners, run on the OWL 2 RL rules that help and do not explode.

owlrl (https://github.com/RDFLib/OWL-RL) implements the rules of the OWL 2 RL profile
(https://www.w3.org/TR/owl2-profiles/#OWL_2_RL, section 4.3) in groups. :class:`OWLRLRules`
runs three of them: the property rules (prp-*), the class axiom rules (cax-*) and the schema
rules (scm-*); not the equality rules (eq-*: ``owl:sameAs`` links the project's IRIs to
Wikidata's, and smushing would copy every statement onto the Wikidata IRIs and back), not the
class-expression rules (cls-*), not the datatype rules (dt-*).

owlrl is given the axioms of the kinds :data:`AXIOM_PREDICATES` and :data:`PROPERTY_KINDS`
name (subclass and subproperty, domain and range, inverse, symmetric and transitive
properties, equivalent classes and properties), so of the groups it runs only the rules in
:data:`RULES` have anything to fire on, and the data triples those axioms can apply to
(:meth:`Schema.is_premise`): a triple whose predicate no axiom names, or a typing with a class
no axiom names, is the premise of none of them. Leaving those out (two thirds of the bundled
graph: texts, labels, provenance) shortens owlrl's cycles, which visit every triple given.

:func:`entail` runs owlrl, on small inputs (a write and what it joins with);
:func:`entail_in_bulk` runs reasonable, in Rust, on large ones (the whole store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import owlrl
import rdflib
import reasonable
from owlrl.OWLRL import OWLRL_Annotation_properties, OWLRL_Semantics
from pyoxigraph import Literal, NamedNode, Triple
from rdflib import OWL, RDF, RDFS

from ..namespaces import DOMAIN, PREFIXES, RANGE, RDF_TYPE, SUBCLASS, SUBPROPERTY
from ..terms import to_ox, to_rdflib

#: The OWL 2 RL rules that can fire on what owlrl is given (names as in the profile).
RULES = ("prp-dom", "prp-rng", "prp-symp", "prp-trp", "prp-spo1", "prp-eqp1", "prp-eqp2",
         "prp-inv1", "prp-inv2", "cax-sco", "cax-eqc1", "cax-eqc2", "scm-sco", "scm-eqc1",
         "scm-eqc2", "scm-spo", "scm-eqp1", "scm-eqp2", "scm-dom1", "scm-dom2", "scm-rng1",
         "scm-rng2")

_OWL = PREFIXES["owl"]
INVERSE = NamedNode(_OWL + "inverseOf")
EQUIVALENT_CLASS = NamedNode(_OWL + "equivalentClass")
EQUIVALENT_PROPERTY = NamedNode(_OWL + "equivalentProperty")
SAME_AS = NamedNode(_OWL + "sameAs")
TRANSITIVE = NamedNode(_OWL + "TransitiveProperty")
SYMMETRIC = NamedNode(_OWL + "SymmetricProperty")
#: The predicates of the axioms owlrl is given.
AXIOM_PREDICATES = frozenset({SUBCLASS, SUBPROPERTY, DOMAIN, RANGE, INVERSE, EQUIVALENT_CLASS,
                              EQUIVALENT_PROPERTY})
#: The kinds of property owlrl is told about (``?p rdf:type kind``).
PROPERTY_KINDS = frozenset({TRANSITIVE, SYMMETRIC})

# rdflib's namespace attributes are slow to look up (DefinedNamespace.__getattr__), and
# is_left_out runs once per entailment: look them up once
_REFLEXIVE = frozenset({RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentClass,
                        OWL.equivalentProperty})
_SAME_AS, _TYPE, _ANNOTATION = OWL.sameAs, RDF.type, OWL.AnnotationProperty
_THING = OWL.Thing
_BOUNDS = frozenset({OWL.Thing, OWL.Nothing})


class OWLRLRules(OWLRL_Semantics):
    """owlrl's OWL 2 RL closure with the property, class-axiom and schema rule groups only."""

    def one_time_rules(self) -> None:
        pass  # dt-* and the axioms about owl:Thing and the annotation properties

    def rules(self, t, cycle_num) -> None:
        self._properties(t, cycle_num)  # prp-*
        self._class_axioms(t, cycle_num)  # cax-*
        self._schema_vocabulary(t, cycle_num)  # scm-*

    def store_triple(self, t) -> None:
        if not is_left_out(*t):
            super().store_triple(t)


def is_left_out(s, p, o) -> bool:
    """Whether an entailment (rdflib terms) is left out on purpose: ``owl:sameAs``, and what
    is true of every class or property (noise in every answer)."""
    if p == _SAME_AS or isinstance(s, rdflib.Literal):
        return True
    if p in _REFLEXIVE and s == o or o == _THING or s in _BOUNDS:
        return True
    return p == _TYPE and o == _ANNOTATION and s in OWLRL_Annotation_properties


def entail(triples: Iterable[Triple]) -> set[Triple]:
    """What owlrl (:class:`OWLRLRules`) derives from ``triples`` that is not among them."""
    graph = rdflib.Graph()
    for triple in triples:
        graph.add(_rdflib(triple))
    given = len(graph)
    # improved_datatypes=False: owlrl would otherwise swap rdflib's literal conversions
    # process-wide while it runs, under the feet of a validation in another thread
    owlrl.DeductiveClosure(OWLRLRules, improved_datatypes=False, axiomatic_triples=False,
                           datatype_axioms=False).expand(graph)
    if len(graph) == given:
        return set()
    return {Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in graph} - set(triples)


def entail_in_bulk(triples: set[Triple]) -> set[Triple]:
    """What the same rules derive from ``triples`` that is not among them, for large inputs:
    the axioms closed by owlrl, then reasonable over the whole.

    reasonable (https://github.com/gtfierro/reasonable) is an OWL 2 RL reasoner in Rust, some
    thirty times faster than owlrl (1.3 s against 44 s at 100k triples), but it runs every
    rule: it is given no ``owl:sameAs`` (it would smush) and, like owlrl, only axioms of the
    kinds above, so only the rules in :data:`RULES` have anything to fire on, and what it
    adds beyond them (``owl:Thing`` typings) is left out as :func:`is_left_out` says. Its
    schema closure misses some scm-dom2 and scm-rng2 triples, so it is given the axioms
    already closed by owlrl.
    """
    axioms = {triple for triple in triples if is_axiom(triple)}
    given = [_rdflib(triple) for triple in triples if triple.predicate != SAME_AS]
    reasoner = reasonable.PyReasoner()
    reasoner.from_graph(given + [_rdflib(triple) for triple in entail(axioms)])
    known = set(given)  # reason() answers with what it was given too
    return {Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in reasoner.reason()
            if (s, p, o) not in known and not is_left_out(s, p, o)} - triples


def _rdflib(triple: Triple) -> tuple:
    return to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)


def is_axiom(triple: Triple) -> bool:
    """Whether a triple is an axiom of a kind owlrl is given."""
    return triple.predicate in AXIOM_PREDICATES or (
        triple.predicate == RDF_TYPE and triple.object in PROPERTY_KINDS)


@dataclass
class Schema:
    """The axioms of a model, and what they say about which triples the rules apply to."""

    axioms: set[Triple]
    #: properties whose triples are premises: those with a domain, range, inverse, super- or
    #: equivalent property, or typed transitive or symmetric
    properties: set = field(default_factory=set)
    #: classes whose typings are premises: those with a superclass or an equivalent class
    classes: set = field(default_factory=set)
    #: the transitive properties (prp-trp joins two of their triples)
    transitive: set = field(default_factory=set)
    _by_subject: dict = field(default_factory=dict)

    @classmethod
    def of(cls, axioms: Iterable[Triple]) -> "Schema":
        """The schema the given axioms make."""
        schema = cls(set(axioms))
        for axiom in schema.axioms:
            s, p, o = axiom.subject, axiom.predicate, axiom.object
            schema._by_subject.setdefault(s, []).append(axiom)
            if p in (DOMAIN, RANGE, SUBPROPERTY) or p == RDF_TYPE:
                schema.properties.add(s)
            elif p in (EQUIVALENT_PROPERTY, INVERSE):
                schema.properties |= {s, o}
                schema._by_subject.setdefault(o, []).append(axiom)
            elif p == SUBCLASS:
                schema.classes.add(s)
            elif p == EQUIVALENT_CLASS:
                schema.classes |= {s, o}
                schema._by_subject.setdefault(o, []).append(axiom)
        schema.transitive = {axiom.subject for axiom in schema.axioms
                              if axiom.predicate == RDF_TYPE and axiom.object == TRANSITIVE}
        return schema

    def is_premise(self, triple: Triple) -> bool:
        """Whether a rule owlrl is run with can use ``triple`` as a premise."""
        if triple.predicate == RDF_TYPE and triple.object in self.classes:
            return True
        return triple.predicate in self.properties or is_axiom(triple)

    def axioms_for(self, triples: Iterable[Triple]) -> set[Triple]:
        """The axioms that can apply to ``triples`` or to what follows from them: those
        about their predicates and classes, and, in turn, about the classes and properties
        those axioms name."""
        terms = set()
        for triple in triples:
            terms.add(triple.predicate)
            if triple.predicate == RDF_TYPE:
                terms.add(triple.object)
        found: set[Triple] = set()
        while terms:
            term = terms.pop()
            for axiom in self._by_subject.get(term, ()):
                if axiom not in found:
                    found.add(axiom)
                    terms |= {axiom.subject, axiom.object} - {term}
        return {axiom for axiom in found if not isinstance(axiom.object, Literal)}
