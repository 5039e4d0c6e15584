"""The OWL 2 RL rules the reasoner applies, as SPARQL that Oxigraph evaluates.

Each rule of the OWL 2 RL profile (https://www.w3.org/TR/owl2-profiles/#OWL_2_RL, section
4.3; names as there) is a head and a body of triple patterns. :class:`Evaluator` runs them
over a store whose union of graphs is the model: naively over everything, or semi-naively
from a set of changed triples (:class:`Rows`) given to one premise at a time as a ``VALUES``
block, the other premises evaluated under ``LATERAL`` (once per changed triple, with its
bindings: joining them on their own would scan, say, every ``rdf:type`` triple). Nothing
here knows which graph holds the entailments; :mod:`kg.reasoning` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from pyoxigraph import Literal, NamedNode, Store, Triple

from .namespaces import PREFIXES

Pattern = tuple[str, str, str]


@dataclass(frozen=True)
class Rule:
    """One OWL 2 RL rule: if every ``body`` pattern matches, ``head`` holds."""

    name: str
    head: Pattern
    body: tuple[Pattern, ...]

    @property
    def variables(self) -> list[str]:
        """The variables of the head, in order."""
        return [term for term in self.head if term.startswith("?")]


def _rule(name: str, head: str, *body: str) -> Rule:
    return Rule(name, tuple(head.split()), tuple(tuple(pattern.split()) for pattern in body))


SCO, SPO = "rdfs:subClassOf", "rdfs:subPropertyOf"
EQC, EQP = "owl:equivalentClass", "owl:equivalentProperty"

#: The rules, with their names in OWL 2 RL.
RULES: tuple[Rule, ...] = (
    _rule("prp-dom", "?x rdf:type ?c", "?p rdfs:domain ?c", "?x ?p ?y"),
    _rule("prp-rng", "?y rdf:type ?c", "?p rdfs:range ?c", "?x ?p ?y"),
    _rule("prp-symp", "?y ?p ?x", "?p rdf:type owl:SymmetricProperty", "?x ?p ?y"),
    _rule("prp-trp", "?x ?p ?z", "?p rdf:type owl:TransitiveProperty", "?x ?p ?y", "?y ?p ?z"),
    _rule("prp-spo1", "?x ?p2 ?y", f"?p1 {SPO} ?p2", "?x ?p1 ?y"),
    _rule("prp-eqp1", "?x ?p2 ?y", f"?p1 {EQP} ?p2", "?x ?p1 ?y"),
    _rule("prp-eqp2", "?x ?p1 ?y", f"?p1 {EQP} ?p2", "?x ?p2 ?y"),
    _rule("prp-inv1", "?y ?p2 ?x", "?p1 owl:inverseOf ?p2", "?x ?p1 ?y"),
    _rule("prp-inv2", "?y ?p1 ?x", "?p1 owl:inverseOf ?p2", "?x ?p2 ?y"),
    _rule("cax-sco", "?x rdf:type ?c2", f"?c1 {SCO} ?c2", "?x rdf:type ?c1"),
    _rule("cax-eqc1", "?x rdf:type ?c2", f"?c1 {EQC} ?c2", "?x rdf:type ?c1"),
    _rule("cax-eqc2", "?x rdf:type ?c1", f"?c1 {EQC} ?c2", "?x rdf:type ?c2"),
    _rule("scm-sco", f"?c1 {SCO} ?c3", f"?c1 {SCO} ?c2", f"?c2 {SCO} ?c3"),
    _rule("scm-eqc1", f"?c1 {SCO} ?c2", f"?c1 {EQC} ?c2"),
    _rule("scm-eqc1", f"?c2 {SCO} ?c1", f"?c1 {EQC} ?c2"),
    _rule("scm-eqc2", f"?c1 {EQC} ?c2", f"?c1 {SCO} ?c2", f"?c2 {SCO} ?c1"),
    _rule("scm-spo", f"?p1 {SPO} ?p3", f"?p1 {SPO} ?p2", f"?p2 {SPO} ?p3"),
    _rule("scm-eqp1", f"?p1 {SPO} ?p2", f"?p1 {EQP} ?p2"),
    _rule("scm-eqp1", f"?p2 {SPO} ?p1", f"?p1 {EQP} ?p2"),
    _rule("scm-eqp2", f"?p1 {EQP} ?p2", f"?p1 {SPO} ?p2", f"?p2 {SPO} ?p1"),
    _rule("scm-dom1", "?p rdfs:domain ?c2", "?p rdfs:domain ?c1", f"?c1 {SCO} ?c2"),
    _rule("scm-dom2", "?p1 rdfs:domain ?c", "?p2 rdfs:domain ?c", f"?p1 {SPO} ?p2"),
    _rule("scm-rng1", "?p rdfs:range ?c2", "?p rdfs:range ?c1", f"?c1 {SCO} ?c2"),
    _rule("scm-rng2", "?p1 rdfs:range ?c", "?p2 rdfs:range ?c", f"?p1 {SPO} ?p2"),
)

# axioms every class or property satisfies: true, but noise in every answer
_REFLEXIVE = {SCO, SPO, EQC, EQP}


def _iri(text: str) -> str:
    prefix, _, local = text.partition(":")
    return PREFIXES[prefix] + local


def _pattern(pattern: Pattern) -> str:
    return " ".join(pattern) + " ."


def _head_filter(rule: Rule) -> str:
    subject, predicate, obj = rule.head
    tests = []
    if subject.startswith("?"):
        tests.append(f"!isLiteral({subject})")
    if predicate.startswith("?"):
        tests.append(f"isIRI({predicate})")
    if predicate in _REFLEXIVE:
        tests.append(f"{subject} != {obj}")
    return f"FILTER({' && '.join(tests)})" if tests else ""


class BlankNodeInChange(Exception):
    """A changed triple holds a blank node, which a VALUES block cannot name."""


class Rows:
    """Triples given to a rule as the matches of one premise: a VALUES block in the query."""

    def __init__(self, triples: Iterable[Triple]) -> None:
        self.triples = list(triples)
        self._keys = {triple.predicate.value for triple in self.triples} | {
            (triple.predicate.value, triple.object.value) for triple in self.triples
            if isinstance(triple.object, NamedNode)}

    def could_match(self, pattern: Pattern) -> bool:
        """False when the premise's fixed predicate (and class) rule every triple out."""
        _, predicate, obj = pattern
        if predicate.startswith("?"):
            return bool(self.triples)
        if obj.startswith("?"):
            return _iri(predicate) in self._keys
        return (_iri(predicate), _iri(obj)) in self._keys

    def source(self, pattern: Pattern, bound: Iterable[str] = ()) -> str:
        """The premise matched against these triples only. Variables in ``bound`` already
        have a value (inside LATERAL, where a VALUES block may not bind them again): they
        are matched under another name and compared."""
        variables: list[str] = []
        rows: set[str] = set()
        for triple in self.triples:
            binding: dict[str, object] = {}
            for term, value in zip(pattern, (triple.subject, triple.predicate, triple.object)):
                if not term.startswith("?"):
                    if not (isinstance(value, NamedNode) and value.value == _iri(term)):
                        break
                elif binding.setdefault(term, value) != value:
                    break
            else:
                if any(not isinstance(value, (NamedNode, Literal)) for value in binding.values()):
                    raise BlankNodeInChange()
                variables = list(binding)
                rows.add("(" + " ".join(str(value) for value in binding.values()) + ")")
        if not rows:
            return "FILTER(false)"
        renamed = [f"?_{name[1:]}" if name in bound else name for name in variables]
        same = [f"sameTerm({new}, {name})" for new, name in zip(renamed, variables)
                if new != name]
        return (f"VALUES ({' '.join(renamed)}) {{ {' '.join(sorted(rows))} }}"
                + (f" FILTER({' && '.join(same)})" if same else ""))


def _query(rule: Rule, first: str, rest: Iterable[str], tail: str) -> str:
    # LATERAL: the rest is evaluated once per row of the first part, with its bindings,
    # instead of on its own and joined (which would scan every rdf:type triple)
    # CONSTRUCT: the engine builds the head triples itself (in Rust), not Python per row
    inner = " ".join([*rest, _head_filter(rule), tail])
    return f"CONSTRUCT {{ {_pattern(rule.head)} }} WHERE {{ {first} LATERAL {{ {inner} }} }}"


#: Templates of the test a head must pass: not in the model yet; in a given graph.
NEW = "FILTER NOT EXISTS {{ {head} }}"
IN_GRAPH = "FILTER EXISTS {{{{ GRAPH <{graph}> {{{{ {{head}} }}}} }}}}"


class Evaluator:
    """Evaluates rules over a store whose union of graphs is the model."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queries = 0  #: rule queries run

    def select(self, rule: Rule, text: str) -> set[Triple]:
        """The heads of ``rule`` for the solutions of ``text``."""
        self.queries += 1
        return set(self.store.query(text, prefixes=PREFIXES, use_default_graph_as_union=True))

    def derive_all(self) -> set[Triple]:
        """Every head not in the model yet, from the whole model (the naive first round)."""
        found: set[Triple] = set()
        for rule in RULES:
            first, *rest = (_pattern(premise) for premise in rule.body)
            found |= self.select(rule, _query(rule, first, rest,
                                              NEW.format(head=_pattern(rule.head))))
        return found

    def derive(self, delta: Rows, extra: Rows | None = None, *, keep: str = NEW,
               graph: NamedNode | None = None) -> set[Triple]:
        """The heads with a derivation that uses a triple of ``delta`` (read from ``graph``
        when they are stored there, else given as VALUES), the other premises matched in
        the model or, when given, in ``extra``. Heads are kept when they pass ``keep``
        (default: not in the model yet)."""
        found: set[Triple] = set()
        for rule in RULES:
            for index, premise in enumerate(rule.body):
                if not delta.could_match(premise):
                    continue
                first = (f"GRAPH <{graph.value}> {{ {_pattern(premise)} }}" if graph
                         else delta.source(premise))
                bound = {term for term in premise if term.startswith("?")}
                rest = [self._premise(other, extra, bound) for i, other in enumerate(rule.body)
                        if i != index]
                found |= self.select(rule, _query(rule, first, rest,
                                                  keep.format(head=_pattern(rule.head))))
        return found

    @staticmethod
    def _premise(pattern: Pattern, extra: Rows | None, bound: set[str]) -> str:
        if extra is None or not extra.could_match(pattern):
            return _pattern(pattern)
        return f"{{ {_pattern(pattern)} }} UNION {{ {extra.source(pattern, bound)} }}"

    def rederive(self, candidates: Rows) -> set[Triple]:
        """The candidates that follow in one step from the model."""
        found: set[Triple] = set()
        for rule in RULES:
            if candidates.could_match(rule.head):
                found |= self.select(rule, _query(rule, candidates.source(rule.head),
                                                  map(_pattern, rule.body), ""))
        return found
