"""Compare an actual result with the expected one; see :mod:`conformance.results` for the rules."""

from __future__ import annotations

import re

from pyoxigraph import (BlankNode, CanonicalizationAlgorithm, Dataset, DefaultGraph, NamedNode,
                        Quad)

from .results import RDF_TYPE, RS, Boolean, Graph, Result, Solutions, Term, as_text, normalize

_VARIABLE_PREDICATE = "urn:x-conformance:variable:"
_SOLUTION = NamedNode(RS + "solution")


def compare(expected: Result, actual: Result, *, order: list[str] | None = None) -> str | None:
    """None when ``actual`` matches ``expected``, else a short reason.

    ``order`` is None when the query does not order its solutions, the list of sort-key
    variables when it orders by plain variables, and ``[]`` when it orders by expressions
    (then whole rows must come in the expected order).
    """
    if type(expected) is not type(actual):
        return f"expected a {type(expected).__name__.lower()} result, got {type(actual).__name__.lower()}"
    if isinstance(expected, Boolean):
        return None if expected.value == actual.value else f"expected {expected.value}, got {actual.value}"
    if isinstance(expected, Graph):
        if _canonical(_graph_quads(expected.triples)) == _canonical(_graph_quads(actual.triples)):
            return None
        return (f"graphs not isomorphic: expected {len(expected.triples)} triples, "
                f"got {len(actual.triples)}")
    return _compare_solutions(expected, actual, order)


def _compare_solutions(expected: Solutions, actual: Solutions, order: list[str] | None) -> str | None:
    if expected.text or actual.text:
        expected, actual = _textual(expected), _textual(actual)
    if sorted(expected.variables) != sorted(actual.variables):
        return f"variables differ: expected {sorted(expected.variables)}, got {sorted(actual.variables)}"
    if len(expected.rows) != len(actual.rows):
        return f"expected {len(expected.rows)} solutions, got {len(actual.rows)}"
    if _canonical(_solution_quads(expected.rows)) != _canonical(_solution_quads(actual.rows)):
        return "solutions differ (as a bag, blank nodes up to isomorphism)"
    if order is not None:
        keys = order or sorted(expected.variables)
        for position, (want, got) in enumerate(zip(expected.rows, actual.rows)):
            if [_order_key(want.get(k)) for k in keys] != [_order_key(got.get(k)) for k in keys]:
                return f"order differs at solution {position + 1} (sort keys {keys})"
    return None


def _textual(solutions: Solutions) -> Solutions:
    if solutions.text:
        return solutions
    rows = [{name: as_text(term) for name, term in row.items()} for row in solutions.rows]
    return Solutions(solutions.variables, rows, text=True)


def _order_key(term: Term | None) -> str:
    # the bag comparison has matched blank nodes already: here any blank node will do
    if term is None:
        return "unbound"
    if isinstance(term, BlankNode):
        return "_:"
    return str(normalize(term))


def _solution_quads(rows: list[dict[str, Term]]) -> list[Quad]:
    quads = []
    for row in rows:
        node = BlankNode()
        quads.append(Quad(node, RDF_TYPE, _SOLUTION, DefaultGraph()))
        for name, term in row.items():
            quads.append(Quad(node, NamedNode(_VARIABLE_PREDICATE + name), normalize(term),
                              DefaultGraph()))
    return quads


def _graph_quads(triples) -> list[Quad]:
    return [Quad(s, p, normalize(o), DefaultGraph()) for s, p, o in triples]


def _canonical(quads: list[Quad]) -> set[str]:
    dataset = Dataset(quads)
    dataset.canonicalize(CanonicalizationAlgorithm.UNSTABLE)
    return {str(quad) for quad in dataset}


# -- ORDER BY ------------------------------------------------------------------------------

_MASK = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|'
                   r"'(?:[^'\\\n]|\\.)*'|<[^<>\"{}|^`\\\s]*>")
_COMMENT = re.compile(r"#[^\n]*")
_KEY = re.compile(r"^(?:(?:ASC|DESC)\s*\(\s*[?$](\w+)\s*\)|[?$](\w+))$", re.IGNORECASE)
_KEY_SPLIT = re.compile(r"(?:ASC|DESC)\s*\([^()]*\)|[?$]\w+|\S+", re.IGNORECASE)


def order_keys(query: str) -> list[str] | None:
    """The top-level sort keys of a query (see :func:`compare`).

    >>> order_keys("SELECT * { ?s ?p ?o } ORDER BY ?s DESC(?o) LIMIT 2")
    ['s', 'o']
    >>> order_keys("SELECT * { { SELECT ?s { ?s ?p ?o } ORDER BY ?s LIMIT 1 } }") is None
    True
    >>> order_keys("SELECT * { ?s ?p ?o } ORDER BY str(?o)")
    []
    """
    text = _COMMENT.sub(" ", _MASK.sub(lambda m: "X" * len(m.group()), query))
    depth, top = 0, []
    for char in text:  # keep only what is outside every { } group
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0:
            top.append(char)
    outer = "".join(top)
    match = re.search(r"\bORDER\s+BY\b(.*?)(?:\bLIMIT\b|\bOFFSET\b|\bVALUES\b|$)", outer,
                      re.IGNORECASE | re.DOTALL)
    if not match:
        return None
    keys = []
    for token in _KEY_SPLIT.findall(match.group(1)):
        key = _KEY.match(token)
        if not key:
            return []
        keys.append(key.group(1) or key.group(2))
    return keys
