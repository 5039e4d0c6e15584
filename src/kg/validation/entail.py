"""RDFS entailment over a part of the store, and the store as it would be after a change.

pySHACL validates with RDFS inference (``inference="rdfs"``): a value of ``fip:provider``
is an agent because of the property's range, a ``fip:Directorate`` is an ``org:Organization``
because of the class hierarchy. Incremental validation needs the same entailments on a few
hundred triples, fast, so :class:`Schema` keeps the schema (``rdfs:subClassOf``,
``rdfs:subPropertyOf``, ``rdfs:domain``, ``rdfs:range``) as closed lookup tables and applies
the RDFS instance rules (rdfs2, rdfs3, rdfs7, rdfs9) to given triples. :class:`View` reads the
store through a :class:`~kg.delta.Delta` not yet committed, over the data graphs only.

>>> from pyoxigraph import NamedNode as N
>>> RDFS_ = "http://www.w3.org/2000/01/rdf-schema#"
>>> schema = Schema([(N("http://e/Unit"), N(RDFS_ + "subClassOf"), N("http://e/Org")),
...                  (N("http://e/unitOf"), N(RDFS_ + "range"), N("http://e/Org"))])
>>> sorted(c.value for c in schema.types_from(N("http://e/unitOf"), subject=False))
['http://e/Org']
>>> sorted(c.value for c in schema.superclasses(N("http://e/Unit")))
['http://e/Org', 'http://e/Unit']
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Iterator

from pyoxigraph import DefaultGraph, Literal, Quad, Store, Variable

from ..namespaces import DOMAIN, RANGE, RDF_TYPE, SUBCLASS, SUBPROPERTY
from ..delta import Delta

#: Predicates whose triples make up the schema; a change to them changes every entailment.
SCHEMA_PREDICATES = frozenset({SUBCLASS, SUBPROPERTY, DOMAIN, RANGE})

Triple = tuple  # (subject, predicate, object) of pyoxigraph terms

_NODE = Variable("n")
# the predicates around ?n in each graph (?g unbound: the default graph); ?n is projected
# because pyoxigraph substitutes projected variables only
_PREDICATES_OUT = ("SELECT DISTINCT ?p ?g ?n WHERE { { GRAPH ?g { ?n ?p ?o } } UNION "
                   "{ ?n ?p ?o } }")
_PREDICATES_IN = ("SELECT DISTINCT ?p ?g ?n WHERE { { GRAPH ?g { ?s ?p ?n } } UNION "
                  "{ ?s ?p ?n } }")


def _closure(edges: dict, start) -> frozenset:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


class Schema:
    """The RDFS schema of a graph, closed, and the instance rules applied with it."""

    def __init__(self, triples: Iterable[Triple]) -> None:
        edges: dict[str, dict] = {name: defaultdict(set) for name in ("sub", "subp", "dom", "rng")}
        for s, p, o in triples:
            if isinstance(o, Literal):
                continue
            key = {SUBCLASS: "sub", SUBPROPERTY: "subp", DOMAIN: "dom", RANGE: "rng"}.get(p)
            if key:
                edges[key][s].add(o)
        self._sub, self._subp = edges["sub"], edges["subp"]
        self._supers: dict = {}
        self._superprops: dict = {}
        self._domains: dict = {}
        self._ranges: dict = {}
        for prop in set(edges["subp"]) | set(edges["dom"]) | set(edges["rng"]):
            for kind, table in (("dom", self._domains), ("rng", self._ranges)):
                classes = set()
                for sup in self.superproperties(prop):
                    for cls in edges[kind].get(sup, ()):
                        classes |= self.superclasses(cls)
                if classes:
                    table[prop] = frozenset(classes)
        #: Predicates whose objects get types by rdfs:range (directly or by a superproperty).
        self.ranged = frozenset(self._ranges)
        #: Predicates whose subjects get types by rdfs:domain.
        self.domained = frozenset(self._domains)

    @classmethod
    def from_store(cls, store: Store, *, exclude: frozenset = frozenset()) -> "Schema":
        """The schema triples of every graph of ``store`` except ``exclude``."""
        return cls((q.subject, q.predicate, q.object) for p in SCHEMA_PREDICATES
                   for q in store.quads_for_pattern(None, p, None)
                   if q.graph_name not in exclude)

    def superclasses(self, cls) -> frozenset:
        """``cls`` and every class it is a subclass of."""
        if cls not in self._supers:
            self._supers[cls] = _closure(self._sub, cls)
        return self._supers[cls]

    def superproperties(self, prop) -> frozenset:
        """``prop`` and every property it is a subproperty of."""
        if prop not in self._superprops:
            self._superprops[prop] = _closure(self._subp, prop)
        return self._superprops[prop]

    def types_from(self, prop, *, subject: bool) -> frozenset:
        """The classes a triple with ``prop`` gives its subject (domain) or object (range)."""
        return (self._domains if subject else self._ranges).get(prop, frozenset())

    def entail(self, triples: Iterable[Triple]) -> set[Triple]:
        """``triples`` and what RDFS entails from them with this schema (instance rules)."""
        out: set[Triple] = set()
        for s, p, o in triples:
            for sup in self.superproperties(p):
                out.add((s, sup, o))
            if p == RDF_TYPE:
                out.update((s, RDF_TYPE, c) for c in self.superclasses(o))
            out.update((s, RDF_TYPE, c) for c in self.types_from(p, subject=True))
            # as in pySHACL's RDFS closure (owlrl), a literal gets the range's types too:
            # `fip:quantity 20` makes "20" a schema:QuantitativeValue, which shapes then check
            out.update((o, RDF_TYPE, c) for c in self.types_from(p, subject=False))
        return out

    def types(self, view: "View", node, *, relevant: frozenset | None = None) -> frozenset:
        """Every type RDFS gives ``node`` in ``view``: asserted, by domain, by range.

        With ``relevant`` (the classes some reader cares about), a domain or range is looked
        for only if it would add one of them, or any type to a node that has none: that
        spares most look-ups (a country used as a beneficiary is already an agent).
        """
        found: set = set()
        for cls in view.objects(node, RDF_TYPE):
            found |= self.superclasses(cls)

        def wanted(classes: frozenset) -> bool:
            new = classes - found
            return bool(new) and (relevant is None or not found or bool(new & relevant))

        domained = [p for p in self.domained if wanted(self._domains[p])]
        for p in view.outgoing_predicates(node, domained):
            found |= self.types_from(p, subject=True)
        ranged = [p for p in self.ranged if wanted(self._ranges[p])]
        for p in view.incoming_predicates(node, ranged):
            found |= self.types_from(p, subject=False)
        return frozenset(found)


class View:
    """The triples of ``store`` (every graph but ``exclude``) as they are after ``delta``.

    A triple is in the view when some graph holds it: removing it from one graph while
    another keeps it removes nothing from the view.
    """

    def __init__(self, store: Store, delta: Delta | None = None, *,
                 exclude: frozenset = frozenset()) -> None:
        self.store, self.exclude = store, exclude
        delta = delta or Delta()
        self._removed = delta.removed
        self._out: dict = defaultdict(list)
        self._in: dict = defaultdict(list)
        for q in delta.added:
            if q.graph_name not in exclude:
                self._out[q.subject].append(q)
                self._in[q.object].append(q)

    def _kept(self, quads: Iterator[Quad]) -> Iterator[Quad]:
        return (q for q in quads if q.graph_name not in self.exclude and q not in self._removed)

    def stored(self, subject=None, predicate=None, obj=None) -> Iterator[Quad]:
        """The quads of the store matching the pattern that the view keeps (the delta's
        additions are not included)."""
        return self._kept(self.store.quads_for_pattern(subject, predicate, obj))

    def outgoing(self, node) -> set[tuple]:
        """(predicate, object) of every triple with ``node`` as subject (none for a literal)."""
        if isinstance(node, Literal):
            return set()
        found = {(q.predicate, q.object)
                 for q in self._kept(self.store.quads_for_pattern(node, None, None))}
        found.update((q.predicate, q.object) for q in self._out.get(node, ()))
        return found

    def objects(self, node, predicate) -> set:
        """The objects of the ``predicate`` triples with ``node`` as subject."""
        if isinstance(node, Literal):
            return set()
        found = {q.object for q in self._kept(self.store.quads_for_pattern(node, predicate, None))}
        found.update(q.object for q in self._out.get(node, ()) if q.predicate == predicate)
        return found

    def outgoing_predicates(self, node, predicates: Iterable) -> set:
        """Which of ``predicates`` have at least one triple with ``node`` as subject."""
        if isinstance(node, Literal):
            return set()
        return self._predicates(node, set(predicates), as_subject=True)

    def incoming(self, node, predicate) -> set:
        """The subjects of the ``predicate`` triples with ``node`` as object."""
        found = {q.subject for q in self._kept(self.store.quads_for_pattern(None, predicate, node))}
        found.update(q.subject for q in self._in.get(node, ()) if q.predicate == predicate)
        return found

    def incoming_predicates(self, node, predicates: Iterable) -> set:
        """Which of ``predicates`` have at least one triple with ``node`` as object."""
        return self._predicates(node, set(predicates), as_subject=False)

    def _predicates(self, node, predicates: set, *, as_subject: bool) -> set:
        added = self._out if as_subject else self._in
        found = {q.predicate for q in added.get(node, ()) if q.predicate in predicates}
        wanted = predicates - found
        if len(wanted) <= 3:
            for predicate in wanted:
                pattern = (node, predicate, None) if as_subject else (None, predicate, node)
                if next(self._kept(self.store.quads_for_pattern(*pattern)), None):
                    found.add(predicate)
            return found
        # one query instead of one look-up per predicate: Oxigraph's in-memory store finds
        # (?, p, o) by scanning the quads of o, so a hub node would be scanned many times
        rows = self.store.query(_PREDICATES_OUT if as_subject else _PREDICATES_IN,
                                substitutions={_NODE: node})
        for row in rows:
            predicate, graph = row["p"], row["g"] or DefaultGraph()
            if predicate in wanted and predicate not in found and graph not in self.exclude:
                pattern = (node, predicate, None, graph) if as_subject else \
                    (None, predicate, node, graph)
                if not self._removed or next(self._kept(self.store.quads_for_pattern(*pattern)),
                                             None):
                    found.add(predicate)
        return found

    def contains(self, triple: Triple) -> bool:
        """Whether some graph of the view holds ``triple``."""
        s, p, o = triple
        if any(q.predicate == p and q.object == o for q in self._out.get(s, ())):
            return True
        return next(self._kept(self.store.quads_for_pattern(s, p, o)), None) is not None

    def quads(self, subject=None, predicate=None, obj=None) -> Iterator[Quad]:
        """The quads of the view matching the pattern (None: any), each in its graph: a
        triple that two graphs hold comes twice (a check over named graphs tells them apart)."""
        yield from self.stored(subject, predicate, obj)
        added = self._out.get(subject, ()) if subject is not None else \
            self._in.get(obj, ()) if obj is not None else \
            (q for quads in self._out.values() for q in quads)
        for q in added:
            if (predicate is None or q.predicate == predicate) and (
                    obj is None or q.object == obj) and (subject is None or q.subject == subject):
                yield q
