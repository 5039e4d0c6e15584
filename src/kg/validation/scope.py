"""What the shapes read around a focus node, so that a change is validated where it matters.

Incremental validation (:mod:`kg.validation.incremental`) re-validates the nodes a change touches and
the nodes whose shapes *look at* them, on the part of the graph those shapes can read. This
module derives both from the shapes graph once: every step a shape may take from its focus
node — a predicate followed forwards or backwards — with the depth at which it is taken
(0: read on the focus node itself; 1: on a value node reached in one step; ...). Steps come
from ``sh:path`` (sequences, alternatives, inverse paths), ``sh:class`` (the type of a value
node), nested shapes (``sh:node``, ``sh:property``, ``sh:or``, ``sh:not``, qualified value
shapes...), targets (``sh:targetClass``, ``sh:targetObjectsOf``, SPARQL targets) and SPARQL
constraints, whose triple patterns are walked outwards from ``$this``. Steps under ``*`` or
``+`` are *transitive*: followed without a bound.

>>> import rdflib
>>> shapes = rdflib.Graph().parse(format="turtle", data='''
...     @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix e: <http://e/> .
...     e:S a sh:NodeShape ; sh:targetClass e:Link ;
...         sh:property [ sh:path e:provider ; sh:class e:Org ] .''')
>>> scope = analyse(shapes)
>>> sorted((p.value.rsplit("/", 1)[-1], forward, depth) for p, forward, depth in scope.reads)
[('22-rdf-syntax-ns#type', True, 0), ('22-rdf-syntax-ns#type', True, 1), ('provider', True, 0)]
>>> scope.depth
1
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count

from pyoxigraph import NamedNode
from rdflib import RDF, RDFS, BNode, Graph, Namespace, URIRef, Variable
from rdflib.collection import Collection
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, Path, SequencePath

SH = Namespace("http://www.w3.org/ns/shacl#")

#: A predicate followed forwards (subject to object) or backwards, and at which depth.
Read = tuple[NamedNode, bool, int]

_MAX_DEPTH = 12  # deeper (recursive shapes) is treated as unbounded: validate everything
_NESTED = (SH.node, SH.property, SH.qualifiedValueShape, SH["not"])
_LISTS = (SH["or"], SH["and"], SH.xone)


class UnboundedScope(Exception):
    """The shapes may read arbitrarily far (recursion, ``$PATH``, unknown constructs)."""


@dataclass(frozen=True)
class Scope:
    """The reads of a shapes graph; see the module docstring."""

    reads: frozenset[Read]
    transitive: frozenset[tuple[NamedNode, bool]]
    #: What is read on the nodes a transitive walk reaches (the walk's own steps included).
    after_transitive: frozenset[tuple[NamedNode, bool]] = frozenset()
    #: The steps of transitive walks with the depth at which the walk starts.
    walks: frozenset[Read] = frozenset()
    #: Every predicate may be followed forwards (``?this ?p ?o`` in SPARQL, sh:closed).
    any_forward: bool = False
    #: Every predicate may be followed backwards (``?s ?p ?this`` in SPARQL).
    any_backward: bool = False
    #: False when :func:`analyse` could not bound the reads: validate the whole graph.
    bounded: bool = True
    steps: frozenset[tuple[NamedNode, bool]] = field(init=False)
    depth: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", frozenset((p, f) for p, f, _ in self.reads))
        object.__setattr__(self, "depth", max((d for _, _, d in self.reads), default=0))

    def read_at_focus(self, predicate: NamedNode, forward: bool) -> bool:
        """Whether a shape reads ``predicate`` in this direction on its focus node itself."""
        if (self.any_forward if forward else self.any_backward):
            return True
        return (predicate, forward, 0) in self.reads

    def read_beyond_focus(self, predicate: NamedNode, forward: bool) -> bool:
        """Whether a shape reads ``predicate`` in this direction on a node a bounded number
        of steps away from its focus node."""
        if (self.any_forward if forward else self.any_backward) and self.depth > 0:
            return True
        return any(p == predicate and f == forward and d > 0 for p, f, d in self.reads)

    def read_after_transitive(self, predicate: NamedNode, forward: bool) -> bool:
        """Whether a shape reads ``predicate`` in this direction on a node it reached by a
        transitive walk (``$this org:subOrganizationOf+ ?x``), however far."""
        return (predicate, forward) in self.after_transitive


def analyse(shapes: Graph) -> Scope:
    """The reads of every shape of ``shapes`` (an unbounded scope if they cannot be bounded)."""
    walker = _Walker(shapes)
    try:
        for shape in _targeting_shapes(shapes):
            walker.targets(shape)
            walker.shape(shape, 0, ())
    except UnboundedScope:
        return Scope(frozenset(), frozenset(), bounded=False)
    ox = lambda steps: frozenset((NamedNode(str(p)), f) for p, f in steps)  # noqa: E731
    # the store speaks pyoxigraph: predicates become pyoxigraph terms
    return Scope(frozenset((NamedNode(str(p)), f, d) for p, f, d in walker.reads),
                 ox(walker.transitive), ox(walker.after_transitive),
                 frozenset((NamedNode(str(p)), f, d) for p, f, d in walker.walks),
                 walker.any_forward, walker.any_backward)


def _targeting_shapes(shapes: Graph) -> set:
    found = set()
    for predicate in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf,
                      SH.target):
        found.update(shapes.subjects(predicate, None))
    # implicit class targets: a shape that is also a class targets its instances
    for shape in set(shapes.subjects(RDF.type, SH.NodeShape)) | set(
            shapes.subjects(RDF.type, SH.PropertyShape)):
        if (shape, RDF.type, RDFS.Class) in shapes:
            found.add(shape)
    return found


class _Walker:
    def __init__(self, shapes: Graph) -> None:
        self.g = shapes
        self.reads: set[Read] = set()
        self.transitive: set[tuple[URIRef, bool]] = set()
        self.after_transitive: set[tuple[URIRef, bool]] = set()
        self.walks: set = set()  # the steps of transitive walks, with the depth they start at
        self.any_forward = self.any_backward = False
        self._beyond = False  # walking what is read after a transitive walk

    def read(self, predicate, forward: bool, depth: int) -> None:
        """Record one step."""
        self.reads.add((predicate, forward, depth))
        if self._beyond:
            self.after_transitive.add((predicate, forward))

    @contextmanager
    def beyond(self, on: bool = True):
        """Steps recorded inside the block are read after a transitive walk."""
        outer, self._beyond = self._beyond, self._beyond or on
        try:
            yield
        finally:
            self._beyond = outer

    # -- targets ---------------------------------------------------------------------------

    def targets(self, shape) -> None:
        if any(self.g.objects(shape, SH.targetClass)) or (shape, RDF.type, RDFS.Class) in self.g:
            self.read(RDF.type, True, 0)
        for predicate in self.g.objects(shape, SH.targetSubjectsOf):
            self.read(predicate, True, 0)
        for predicate in self.g.objects(shape, SH.targetObjectsOf):
            self.read(predicate, False, 0)
        for target in self.g.objects(shape, SH.target):
            select = self.g.value(target, SH.select)
            if select is None:
                raise UnboundedScope(f"target {target} of {shape} is not a SPARQL target")
            self.sparql(select, target, 0, root="this")

    # -- shapes ----------------------------------------------------------------------------

    def shape(self, shape, depth: int, stack: tuple) -> None:
        if depth > _MAX_DEPTH or shape in stack:
            raise UnboundedScope(f"shape {shape} nests too deep or recursively")
        stack = stack + (shape,)
        path = self.g.value(shape, SH.path)
        if path is not None:
            before = set(self.transitive)
            length = self.path(path, depth)
            for predicate in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals):
                for other in self.g.objects(shape, predicate):
                    self.read(other, True, depth)
            with self.beyond(self.transitive != before):
                self.constraints(shape, depth + length, stack, property_shape=True)
            for constraint in self.g.objects(shape, SH.sparql):
                self.sparql_constraint(constraint, depth, path_given=True)
        else:
            self.constraints(shape, depth, stack, property_shape=False)
            for constraint in self.g.objects(shape, SH.sparql):
                self.sparql_constraint(constraint, depth, path_given=False)
        if (shape, SH.closed, None) in self.g and any(
                o.toPython() is True for o in self.g.objects(shape, SH.closed)):
            self.any_forward = True

    def constraints(self, shape, depth: int, stack: tuple, *, property_shape: bool) -> None:
        """Constraints on the value nodes (property shape) or the focus node (node shape)."""
        if any(self.g.objects(shape, SH["class"])):
            self.read(RDF.type, True, depth)
        for predicate in _NESTED:
            for nested in self.g.objects(shape, predicate):
                self.shape(nested, depth, stack)
        for predicate in _LISTS:
            for head in self.g.objects(shape, predicate):
                for nested in Collection(self.g, head):
                    self.shape(nested, depth, stack)

    def path(self, path, depth: int, forward: bool = True) -> int:
        """Record the steps of a SHACL path taken from ``depth``; return how many hops."""
        if isinstance(path, URIRef):
            self.read(path, forward, depth)
            return 1
        inverse = self.g.value(path, SH.inversePath)
        if inverse is not None:
            return self.path(inverse, depth, not forward)
        alternatives = self.g.value(path, SH.alternativePath)
        if alternatives is not None:
            return max(self.path(item, depth, forward) for item in Collection(self.g, alternatives))
        for predicate in (SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath):
            inner = self.g.value(path, predicate)
            if inner is not None:
                with self._collecting() as steps:
                    hops = self.path(inner, depth, forward)
                if predicate != SH.zeroOrOnePath:
                    self._walk(steps)
                return hops
        if (path, RDF.first, None) in self.g:  # a sequence path
            hops = 0
            for item in Collection(self.g, path):
                hops += self.path(item, depth + hops, forward)
            return hops
        raise UnboundedScope(f"unknown SHACL path {path}")

    # -- SPARQL ----------------------------------------------------------------------------

    def sparql_constraint(self, constraint, depth: int, *, path_given: bool) -> None:
        select = self.g.value(constraint, SH.select) or self.g.value(constraint, SH.ask)
        if select is None:
            raise UnboundedScope(f"SPARQL constraint {constraint} has no sh:select")
        if "$PATH" in str(select):
            raise UnboundedScope("SPARQL constraints using $PATH are not analysed")
        self.sparql(select, constraint, depth, root="this")

    def sparql(self, text, node, depth: int, *, root: str) -> None:
        from rdflib.plugins.sparql import prepareQuery

        query = prepareQuery(str(text), initNs=self._prefixes(node))
        patterns = list(triple_patterns(query.algebra))
        distance = {Variable(root): depth}
        walked = set()  # variables reached through a transitive path
        changed = True
        while changed:
            changed = False
            for s, p, o in patterns:
                if s in distance and o in distance:
                    # a join between nodes already reached: a plain predicate is among the
                    # subject's own triples, but a path walks through other nodes
                    if not isinstance(p, URIRef):
                        with self.beyond(s in walked):
                            self._sparql_path(p, distance[s], True)
                    continue
                for start, end, forward in ((s, o, True), (o, s, False)):
                    if start in distance and end not in distance:
                        before = set(self.transitive)
                        with self.beyond(start in walked):
                            hops = self._sparql_path(p, distance[start], forward)
                        if isinstance(end, Variable):  # a constant is read where it is
                            distance[end] = distance[start] + hops
                            if start in walked or self.transitive != before:
                                walked.add(end)
                            changed = True

    def _sparql_path(self, path, depth: int, forward: bool) -> int:
        if isinstance(path, URIRef):
            self.read(path, forward, depth)
            return 1
        if isinstance(path, InvPath):
            return self._sparql_path(path.arg, depth, not forward)
        if isinstance(path, AlternativePath):
            return max(self._sparql_path(arg, depth, forward) for arg in path.args)
        if isinstance(path, SequencePath):
            hops = 0
            args = path.args if forward else list(reversed(path.args))
            for arg in args:
                hops += self._sparql_path(arg, depth + hops, forward)
            return hops
        if isinstance(path, MulPath):
            with self._collecting() as steps:
                hops = self._sparql_path(path.path, depth, forward)
            if path.mod != "?":
                self._walk(steps)
            return hops
        if isinstance(path, (Variable, NegatedPath, Path)):  # a variable, a negation: any
            if forward:
                self.any_forward = True
            else:
                self.any_backward = True
            return 1
        raise UnboundedScope(f"unknown SPARQL path {path!r}")

    @contextmanager
    def _collecting(self):
        """The steps (with their depth) recorded inside the block (also kept in ``reads``)."""
        outer, self.reads = self.reads, set()
        steps: set = set()
        try:
            yield steps
        finally:
            steps.update(self.reads)
            self.reads = outer | self.reads

    def _walk(self, steps: set) -> None:
        """Mark ``steps`` as the steps of a transitive walk."""
        self.walks.update(steps)
        self.transitive.update((p, f) for p, f, _ in steps)
        self.after_transitive.update((p, f) for p, f, _ in steps)

    def _prefixes(self, node) -> dict[str, str]:
        prefixes: dict[str, str] = {}
        for source in self.g.objects(node, SH.prefixes):
            for declaration in self.g.objects(source, SH.declare):
                prefix = self.g.value(declaration, SH.prefix)
                namespace = self.g.value(declaration, SH.namespace)
                if prefix is not None and namespace is not None:
                    prefixes[str(prefix)] = str(namespace)
        return prefixes


def triple_patterns(node):
    """Every triple pattern in a SPARQL algebra tree (BGPs, EXISTS filters, sub-queries)."""
    return (triple for _, triple in grouped_triple_patterns(node))


def grouped_triple_patterns(node):
    """Every triple pattern of :func:`triple_patterns` with the block it is written in
    (a number): the patterns of one block match together, in one solution."""
    return _grouped(node, count())


def _grouped(node, blocks):
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue):
        for key, value in node.items():
            if key == "triples" and isinstance(value, list):
                block = next(blocks)
                yield from ((block, tuple(t)) for t in value if len(t) == 3)
            else:
                yield from _grouped(value, blocks)
    elif isinstance(node, (list, tuple)) and not isinstance(node, (str, BNode)):
        for item in node:
            yield from _grouped(item, blocks)
    elif hasattr(node, "expr") or hasattr(node, "graph"):
        for attribute in ("expr", "graph", "other"):
            yield from _grouped(getattr(node, attribute, None), blocks)
