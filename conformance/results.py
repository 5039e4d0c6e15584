"""Parse expected and actual results into one shape and compare them as the specs require.

The comparison, and why:

* Solutions are a *bag*: each solution becomes a blank node of a result-set graph in the
  W3C ``rs:`` vocabulary, and two bags are equal when their graphs are isomorphic. That
  gives duplicates their weight and maps blank nodes *consistently across the whole
  result* (one label in two rows is the same node), stricter than a per-row mapping.
* Order is only checked when the query orders at the top level (``ORDER BY`` outside
  every group): the sequence of sort keys must match, so ties may come in any order.
  When a sort key is an expression the whole rows must come in the same order.
* Numeric and boolean literals are compared by datatype and value, not lexical form:
  the lexical form of a computed number (``2`` or ``2.0`` for a decimal) is left to the
  implementation by SPARQL 1.1 §17 and both forms denote the same term value. ``STR()``
  results are plain strings and stay exact. rdflib and Oxigraph's own runners normalise
  literals the same way before comparing.
* CSV loses datatypes and languages (SPARQL 1.1 CSV/TSV §3.2), so CSV is compared as text.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Union

from pyoxigraph import (BlankNode, Literal, NamedNode, QueryBoolean, QueryResultsFormat,
                        RdfFormat, parse, parse_query_results)

XSD = "http://www.w3.org/2001/XMLSchema#"
RS = "http://www.w3.org/2001/sw/DataAccess/tests/result-set#"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")

_INTEGER_TYPES = {XSD + name for name in (
    "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
    "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort",
    "unsignedByte")}
_FLOAT_TYPES = {XSD + "double", XSD + "float"}

Term = Union[NamedNode, BlankNode, Literal]


@dataclass
class Solutions:
    """A SELECT result: the projected variables and the rows (variable name -> term)."""

    variables: list[str]
    rows: list[dict[str, Term]]
    text: bool = False  # True when terms are CSV text, with types and languages lost


@dataclass
class Boolean:
    """An ASK result."""

    value: bool


@dataclass
class Graph:
    """A CONSTRUCT or DESCRIBE result."""

    triples: list[tuple[Term, Term, Term]]


Result = Union[Solutions, Boolean, Graph]

#: Media types the harness asks for, keyed by the extension of the expected result file.
MEDIA_TYPES = {
    "srx": "application/sparql-results+xml",
    "srj": "application/sparql-results+json",
    "tsv": "text/tab-separated-values",
    "csv": "text/csv",
    "ttl": "text/turtle",
    "rdf": "application/rdf+xml",
    "nt": "application/n-triples",
}

_RESULTS_FORMATS = {
    "application/sparql-results+xml": QueryResultsFormat.XML,
    "application/xml": QueryResultsFormat.XML,
    "text/xml": QueryResultsFormat.XML,
    "application/sparql-results+json": QueryResultsFormat.JSON,
    "application/json": QueryResultsFormat.JSON,
    "text/tab-separated-values": QueryResultsFormat.TSV,
}
_RDF_FORMATS = {
    "text/turtle": RdfFormat.TURTLE,
    "application/x-turtle": RdfFormat.TURTLE,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/n-triples": RdfFormat.N_TRIPLES,
    "text/plain": RdfFormat.N_TRIPLES,
    "application/ld+json": RdfFormat.JSON_LD,
    "application/n-quads": RdfFormat.N_QUADS,
    "application/trig": RdfFormat.TRIG,
}


class ResultParseError(ValueError):
    """A result document that cannot be read (expected file or server answer)."""


def parse_result(body: bytes, media_type: str, *, base_iri: str | None = None) -> Result:
    """Read a result document of ``media_type`` (parameters such as charset ignored).

    >>> parse_result(b'{"head":{},"boolean":true}', "application/sparql-results+json")
    Boolean(value=True)
    """
    media_type = media_type.split(";")[0].strip().lower()
    try:
        if media_type == "text/csv":
            return _parse_csv(body)
        if media_type in _RESULTS_FORMATS:
            parsed = parse_query_results(body, _RESULTS_FORMATS[media_type])
            if isinstance(parsed, QueryBoolean):
                return Boolean(bool(parsed))
            variables = [variable.value for variable in parsed.variables]
            rows = [{name: solution[name] for name in variables if solution[name] is not None}
                    for solution in parsed]
            return Solutions(variables, rows)
        if media_type in _RDF_FORMATS:
            triples = [(q.subject, q.predicate, q.object)
                       for q in parse(body, _RDF_FORMATS[media_type], base_iri=base_iri)]
            return _from_result_set_graph(triples)
    except (SyntaxError, ValueError, OSError) as exc:
        raise ResultParseError(f"cannot read {media_type}: {exc}") from exc
    raise ResultParseError(f"unsupported result media type {media_type!r}")


def _parse_csv(body: bytes) -> Solutions:
    reader = csv.reader(io.StringIO(body.decode("utf-8"), newline=""))
    header = next(reader, [])
    rows = []
    for record in reader:
        row = {}
        for name, cell in zip(header, record):
            if cell:
                # a blank node keeps its identity for isomorphism; the rest is plain text
                row[name] = BlankNode(cell[2:]) if cell.startswith("_:") else Literal(cell)
        rows.append(row)
    return Solutions(header, rows, text=True)


def _from_result_set_graph(triples: list[tuple[Term, Term, Term]]) -> Result:
    """Decode a result set written in the ``rs:`` vocabulary; other graphs stay graphs."""
    result_sets = [s for s, p, o in triples if p == RDF_TYPE and o == NamedNode(RS + "ResultSet")]
    if not result_sets:
        return Graph(triples)
    index: dict[tuple[Term, str], list[Term]] = {}
    for s, p, o in triples:
        index.setdefault((s, p.value), []).append(o)
    root = result_sets[0]
    if (root, RS + "boolean") in index:
        return Boolean(index[(root, RS + "boolean")][0].value == "true")
    variables = sorted(v.value for v in index.get((root, RS + "resultVariable"), []))
    numbered = []
    for solution in index.get((root, RS + "solution"), []):
        row = {}
        for binding in index.get((solution, RS + "binding"), []):
            name = index[(binding, RS + "variable")][0].value
            row[name] = index[(binding, RS + "value")][0]
        position = index.get((solution, RS + "index"))
        numbered.append((int(position[0].value) if position else 0, row))
    numbered.sort(key=lambda item: item[0])  # rs:index gives the order when there is one
    return Solutions(variables, [row for _, row in numbered])


def normalize(term: Term) -> Term:
    """The term with its numeric or boolean lexical form made canonical (see module doc).

    >>> normalize(Literal("2.50", datatype=NamedNode(XSD + "decimal"))).value
    '2.5'
    >>> normalize(Literal("01", datatype=NamedNode(XSD + "integer"))).value
    '1'
    """
    if not isinstance(term, Literal) or term.language:
        return term
    datatype = term.datatype.value
    lexical = term.value.strip()
    try:
        if datatype in _INTEGER_TYPES:
            canonical = str(int(lexical))
        elif datatype == XSD + "decimal":
            canonical = _decimal(lexical)
        elif datatype in _FLOAT_TYPES:
            canonical = _float(lexical)
        elif datatype == XSD + "boolean" and lexical in {"true", "false", "1", "0"}:
            canonical = "true" if lexical in {"true", "1"} else "false"
        else:
            return term
    except (ValueError, InvalidOperation):
        return term  # an ill-typed literal is compared as written
    return Literal(canonical, datatype=term.datatype)


def _decimal(lexical: str) -> str:
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", lexical):
        raise ValueError(lexical)
    value = Decimal(lexical).normalize()
    text = format(value, "f")
    return "0" if text in {"-0", "0"} else text


def _float(lexical: str) -> str:
    special = {"INF": "INF", "+INF": "INF", "-INF": "-INF", "NaN": "NaN"}
    if lexical in special:
        return special[lexical]
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", lexical):
        raise ValueError(lexical)
    value = float(lexical)
    return "NaN" if math.isnan(value) else repr(value)


def as_text(term: Term) -> Term:
    """The CSV rendering of a term (value only), for comparing with a CSV document."""
    if isinstance(term, BlankNode):
        return term
    return Literal(term.value)
