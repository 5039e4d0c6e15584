"""The walk of a SPARQL check's triple patterns from the nodes a variable is seeded with.

From a variable bound to some nodes, the check's patterns are followed outwards (predicates
forwards or backwards, variable predicates too), collecting the quads of a
:class:`~kg.validation.entail.View` the query can match: the check then runs on those quads
alone and finds the rows the whole graph gives for those nodes (see
:mod:`kg.validation.checks`). Quads keep their graph, for the patterns written inside
``GRAPH``. A walk that would read a hub whole (every triple of a predicate, every instance
of a class) is refused: :func:`walk` and :func:`reach` return None.
"""

from __future__ import annotations

from typing import Protocol

import rdflib
from pyoxigraph import BlankNode, Literal
from rdflib import Variable

from ..terms import to_ox
from .entail import View

class Check(Protocol):
    """What a walk reads of a :class:`kg.validation.checks.Check`: its triple patterns,
    the block each is written in, those inside ``GRAPH``, and its one-use variables."""

    patterns: tuple[tuple, ...]
    blocks: tuple[int, ...]
    graphed: frozenset[tuple]
    leaves: frozenset[str]


def walk(check: Check, view: View, root: Variable, touched: set) -> set | None:
    """The quads matching the check's patterns reachable from ``root`` bound to the
    touched terms; None when the walk cannot be complete without reading a hub whole
    (every triple of a touched predicate; every node with a constant value, such as the
    instances of a class) — its rows are then found from the other variables."""
    walked = _walk_bound(check, view, root, touched)
    return None if walked is None else walked[0]


def reach(check: Check, view: View, root: Variable, touched: set) -> dict | None:
    """The nodes each variable stands for on the walk of :func:`walk` (None likewise)."""
    walked = _walk_bound(check, view, root, touched)
    return None if walked is None else walked[1]


def _walk_bound(check: Check, view: View, root: Variable, touched: set) -> tuple | None:
    """The walk of :func:`walk`: the quads collected and the nodes of each variable."""
    bound: dict = {root: set(touched)}
    quads: set = set()
    todo = list(zip(check.blocks or [0] * len(check.patterns), check.patterns))
    while todo:
        steps = _next_steps(todo, bound)
        if not steps:
            break
        reached_by: dict = {}
        for step in steps:  # a pattern of each block reaching the same variable (UNION)
            todo.remove(step)
            found = _step(check, view, step[1], bound, quads)
            if found is None:
                return None
            if found[0] is not None:
                reached_by.setdefault(found[0], set()).update(found[1])
        for variable, nodes in reached_by.items():
            bound.setdefault(variable, set()).update(nodes)
    if any(isinstance(t, Variable) and t not in bound for _, pattern in todo for t in pattern):
        return None  # reachable from constants only: a hub would be read whole
    return quads, bound


def _step(check: Check, view: View, step: tuple, bound: dict, quads: set):
    """Walk one pattern from its reached end; the variable it reaches and the nodes, or
    (None, ()) when it reaches none; None when it would read a predicate whole."""
    s, p, o = step
    s_nodes, o_nodes = _values(s, bound), _values(o, bound)
    p_nodes = _values(p, bound)
    graphed = step in check.graphed  # one triple is not enough: its graph may not do
    if not _reached(s, bound) and not _reached(o, bound):  # reached by its predicate only
        if graphed or not {str(s), str(o)} <= check.leaves:
            return None
        for predicate in p_nodes:
            quads |= _matching(view, None, predicate, None, 1)
        return None, ()
    forward = _reached(s, bound)
    start, far = (s_nodes, o) if forward else (o_nodes, s)
    limit = 1 if (not graphed and str(far) in check.leaves
                  and (not isinstance(p, Variable) or str(p) in check.leaves)) else None
    reached, predicates = set(), set()
    for node in start:
        for predicate in (p_nodes if p_nodes is not None else [None]):
            for quad in _matching(view, node if forward else None, predicate,
                                  None if forward else node, limit):
                quads.add(quad)
                predicates.add(quad.predicate)
                reached.add(quad.object if forward else quad.subject)
    if isinstance(p, Variable) and p not in bound:
        bound[p] = predicates
    if isinstance(far, Variable) and far not in bound:
        return far, reached
    return None, ()


def _reached(term, bound: dict) -> bool:
    return isinstance(term, Variable) and term in bound


def _values(term, bound: dict):
    """The nodes ``term`` stands for: a constant itself, a reached variable its nodes."""
    if isinstance(term, Variable):
        return bound.get(term)
    return {to_ox(term)}


def _next_steps(todo: list, bound: dict) -> list:
    """The next (block, pattern) pairs to walk: from a reached variable, forwards first,
    ``rdf:type`` backwards last, never from a constant (a class, ``true``: a hub). When
    the best leads to an unreached variable, a pattern of every block leading there at
    the same rank comes along (the branches of a UNION reach it each their own way); of
    the patterns of one block, the one from the variable reached first (the root's
    nodes are all the nodes it stands for; a variable reached later may have been
    reached through a NOT EXISTS, by some of its nodes only)."""
    order = {variable: index for index, variable in enumerate(bound)}
    ranked = []
    for block, (s, p, o) in todo:
        if _reached(s, bound):
            ranked.append((0, o, order[s], block, (s, p, o)))
        elif _reached(o, bound):
            ranked.append((2 if p == rdflib.RDF.type else 1, s, order[o], block, (s, p, o)))
        elif _reached(p, bound):
            ranked.append((1, None, order[p], block, (s, p, o)))
    if not ranked:
        return []
    rank, far, _, block, step = min(ranked, key=lambda r: (r[0], r[2], str(r[4])))
    if not isinstance(far, Variable) or far in bound:
        return [(block, step)]
    chosen: dict = {}
    for r, f, start, b, st in sorted(ranked, key=lambda r: (r[2], str(r[4]))):
        if r == rank and f == far:
            chosen.setdefault(b, (b, st))
    return list(chosen.values())


def _matching(view: View, s, p, o, limit: int | None) -> set:
    """Quads of ``view`` matching the pattern (None: any), at most ``limit`` of them."""
    if isinstance(s, Literal) or isinstance(p, (Literal, BlankNode)):
        return set()
    found = set()
    for quad in view.quads(s, p, o):
        found.add(quad)
        if limit is not None and len(found) >= limit:
            break
    return found
