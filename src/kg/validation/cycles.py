"""The triples that form a cycle, for the report.

A hierarchy shape says "no node is its own ancestor" with a SPARQL constraint
``$this (p|^q)+ $this``; pySHACL reports the node, not the loop. The loop is what a
researcher has to break, so the report gives it: :func:`cycle_steps` reads the steps of such
constraints from the shapes, :func:`cycle_of` finds the shortest loop through a node.

>>> from pyoxigraph import NamedNode as N, Quad, Store
>>> from kg.validation.entail import View
>>> part = N("http://e/partOf")
>>> store = Store()
>>> store.extend([Quad(N("http://e/a"), part, N("http://e/b")),
...               Quad(N("http://e/b"), part, N("http://e/a"))])
>>> [(s.value[-1], o.value[-1]) for s, _, o in cycle_of(View(store), N("http://e/a"),
...                                                      ((part, True),))]
[('a', 'b'), ('b', 'a')]
"""

from __future__ import annotations

import re
from collections import deque

from pyoxigraph import NamedNode
from rdflib import Graph, URIRef, Variable
from rdflib.paths import AlternativePath, InvPath, MulPath

from .entail import View
from .scope import triple_patterns
from .validate import SH

#: A step of a chain: a predicate, followed forwards (subject to object) or backwards.
Step = tuple[NamedNode, bool]

_LOOP = re.compile(r"\$this\s.*\+\s*\$this", re.DOTALL)
_MOST_NODES = 10_000  # a walk that reaches this many nodes gives up (no loop shown)


def cycle_steps(shapes: Graph) -> dict:
    """For each shape whose SPARQL constraint is ``$this PATH+ $this``, the steps of PATH
    (IRIs and inverse IRIs, alternatives of them)."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql import prepareQuery

    found = {}
    for shape, constraint in shapes.subject_objects(SH.sparql):
        select = shapes.value(constraint, SH.select)
        if select is None or not _LOOP.search(str(select)):
            continue
        try:
            query = prepareQuery(str(select), initNs=dict(shapes.namespaces()))
        except ParseException:  # pySHACL reports an unusable constraint itself
            continue
        this = Variable("this")
        for s, path, o in triple_patterns(query.algebra):
            if s == o == this and isinstance(path, MulPath) and path.mod == "+":
                steps = _steps(path.path)
                if steps:
                    found[shape] = steps
    return found


def _steps(path) -> tuple[Step, ...] | None:
    if isinstance(path, URIRef):
        return ((NamedNode(str(path)), True),)
    if isinstance(path, InvPath) and isinstance(path.arg, URIRef):
        return ((NamedNode(str(path.arg)), False),)
    if isinstance(path, AlternativePath):
        parts = [_steps(arg) for arg in path.args]
        return None if None in parts else tuple(step for part in parts for step in part)
    return None  # a longer path: the loop is not shown


def cycle_of(view: View, start, steps: tuple[Step, ...]) -> list[tuple] | None:
    """The triples of a shortest loop from ``start`` back to it along ``steps`` in ``view``
    (as stored: an inverse step gives the triple the other way round); None if none."""
    came_from: dict = {start: None}
    queue = deque([start])
    while queue and len(came_from) < _MOST_NODES:
        node = queue.popleft()
        for predicate, forward in steps:
            nexts = view.objects(node, predicate) if forward else view.incoming(node, predicate)
            for other in sorted(nexts, key=str):
                triple = (node, predicate, other) if forward else (other, predicate, node)
                if other == start:
                    return _back(came_from, node) + [triple]
                if other not in came_from:
                    came_from[other] = (node, triple)
                    queue.append(other)
    return None


def _back(came_from: dict, node) -> list[tuple]:
    triples = []
    while came_from[node] is not None:
        node, triple = came_from[node]
        triples.append(triple)
    return triples[::-1]
