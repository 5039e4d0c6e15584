"""What the algebra of a check's query says about its rows (see :mod:`kg.validation.checks`).

Which variables every row binds (a ``VALUES`` clause may choose among them), which triple
patterns every row matches, which are written inside ``GRAPH`` (their graph matters), the
triple a row names whole (it is about that triple's value, as a shape's result is), and
where the ``WHERE`` group opens (a ``VALUES`` clause goes there).
"""

from __future__ import annotations

import re

from rdflib import Variable

from .scope import grouped_triple_patterns


def graphed_patterns(node) -> set[tuple]:
    """The triple patterns written inside a ``GRAPH`` block of an algebra ``node``."""
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue):
        if node.name == "Graph":
            return {triple for _, triple in grouped_triple_patterns(node["p"])}
        return set().union(*(graphed_patterns(value) for value in node.values()))
    if isinstance(node, (list, tuple)):
        return set().union(*(graphed_patterns(item) for item in node))
    return set()


def certain_variables(node, *, subjects: bool = False) -> set:
    """The variables a triple pattern binds in every solution of an algebra ``node``
    (those of OPTIONAL, BIND, VALUES and sub-queries are not: a VALUES clause joined on
    one of them would invent rows instead of choosing among them); with ``subjects``,
    those a pattern binds as its subject."""
    return _certain(node, lambda triple: {t for t in (triple[:1] if subjects else triple)
                                          if isinstance(t, Variable)})


def certain_patterns(node) -> set[tuple]:
    """The triple patterns that every solution of an algebra ``node`` matches."""
    return _certain(node, lambda triple: {tuple(triple)})


def _certain(node, pick) -> set:
    """What ``pick`` takes from the triple patterns every solution of ``node`` matches."""
    from rdflib.plugins.sparql.parserutils import CompValue

    if not isinstance(node, CompValue):
        return set()
    name = node.name

    def inner(key: str) -> set:
        return _certain(node[key], pick)

    if name == "BGP":
        return set().union(*(pick(triple) for triple in node["triples"]))
    if name == "Join":
        return inner("p1") | inner("p2")
    if name in ("LeftJoin", "Minus"):
        return inner("p1")
    if name == "Union":
        return inner("p1") & inner("p2")
    if name in ("SelectQuery", "Project", "Distinct", "Reduced", "OrderBy", "Slice",
                "Filter", "Extend", "Graph"):
        return inner("p")
    return set()  # a sub-query, VALUES, aggregates: nothing is certain


def named_triple(algebra, variables: tuple[str, ...]) -> tuple[str, str, str] | None:
    """The variables of a triple every row names whole: a pattern of projected variables
    only (``?node ?property ?text``), which every row matches. Its rows are about that
    triple's value (its path and value in the report), as a shape's results are."""
    for s, p, o in sorted(certain_patterns(algebra), key=str):
        if all(isinstance(t, Variable) and str(t) in variables for t in (s, p, o)):
            return str(s), str(p), str(o)
    return None


def where_offset(text: str) -> int:
    """The offset just inside the query's WHERE group, or -1 (comments skipped: their
    ``{variable}`` placeholders are not braces of the query)."""
    offset = 0
    for line in text.splitlines(keepends=True):
        if not line.lstrip().startswith("#"):
            match = re.search(r"\bWHERE\s*\{", line, re.IGNORECASE)
            if match:
                return offset + match.end()
        offset += len(line)
    return -1
