"""What a SPARQL server used as the store (``--store``) does differently, and how kg meets it.

Each difference was found by running the server (docs/production.md lists them, under ``--store``).
A :class:`Dialect` is chosen from the ``Server`` header of the server's first answer:
Virtuoso's, or the standard one that Oxigraph's server (and any conformant server) needs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pyoxigraph import QueryResultsFormat, parse_query_results

_XSD_BOOLEAN = b"http://www.w3.org/2001/XMLSchema#boolean"
_WKT = b"http://www.opengis.net/ont/geosparql#wktLiteral"
_VIRTUOSO_GEOMETRY = b"http://www.openlinksw.com/schemas/virtrdf#Geometry"


@dataclass(frozen=True)
class Dialect:
    """How to talk to one kind of server.

    ``system_graphs``: named graphs the server makes for itself, which are not the project's
    data (kg's queries name the project's graphs as their dataset instead, see
    :meth:`kg.store.remote.RemoteStore.send`); ``graph_pattern``: what ``GRAPH ?g`` encloses to list
    the graphs; ``block``: the most triples one ``GRAPH`` block of an update may hold (0: no
    limit); ``batch``: the quads one request of a large write holds; ``graph_store``: the path
    (beside the query URL) of a Graph Store endpoint that adds an N-Quads document in one
    transaction, the server's bulk path; ``native``: the media types of answers the server writes as the standards say
    (others are asked as JSON and converted here).
    """

    name: str
    system_graphs: tuple[str, ...] = ()
    graph_pattern: str = "{}"
    block: int = 0
    native: frozenset[str] | None = None  # None: every format
    unmatchable: frozenset[str] = frozenset()
    batch: int = 100_000  # quads in one request of a large write
    graph_store: str | None = None  # a Graph Store endpoint that adds a dataset atomically

    def can_match(self, term) -> bool:
        """Whether a query may name ``term`` as a constant (Virtuoso fails on some literals)."""
        datatype = getattr(term, "datatype", None)
        return datatype is None or datatype.value not in self.unmatchable

    def hide(self, variable: str) -> str:
        """A FILTER that keeps the server's own graphs out of ``variable``, or nothing."""
        if not self.system_graphs:
            return ""
        return f"FILTER({variable} NOT IN ({', '.join(f'<{g}>' for g in self.system_graphs)}))"

    def repair(self, data: bytes) -> bytes:
        """An answer in which the server's stand-ins for standard terms are put back."""
        return data

    def writes(self, media_type: str) -> bool:
        """Whether the server writes answers in ``media_type`` as the standards say."""
        return self.native is None or media_type in self.native


class Virtuoso(Dialect):
    """OpenLink Virtuoso 7.2 (Debian's ``virtuoso-opensource-7``), as run here."""

    def repair(self, data: bytes) -> bytes:
        # it stores xsd:boolean as a number ("1"/"0") and geo:wktLiteral as its own
        # virtrdf:Geometry: the standard terms back (the values are equal)
        if _VIRTUOSO_GEOMETRY in data:
            data = data.replace(_VIRTUOSO_GEOMETRY, _WKT)
            # and writes WKT's keyword in capitals; the project's points come from
            # Wikidata, which writes Point( (the same value: WKT ignores case)
            for pattern, replacement in _POINT:
                data = pattern.sub(replacement, data)
        if _XSD_BOOLEAN in data:
            data = _BOOLEAN_JSON.sub(_boolean_word, _BOOLEAN_TERM.sub(_boolean_word, data))
            data = _BOOLEAN_XML.sub(lambda m: m.group(1) + (b"true" if m.group(2) == b"1"
                                                             else b"false"), data)
        if b"nodeID://" in data:  # its blank nodes, named as IRIs would be: _:b10000 again
            data = _BNODE.sub(rb"\1", data)
        if b"__ASK_RETVAL" in data[:200]:
            data = _ask_answer(data)
        return data


#: Virtuoso's booleans as N-Triples or TSV terms, and as SPARQL JSON bindings
_BOOLEAN_TERM = re.compile(rb'"([01])"(\^\^<' + re.escape(_XSD_BOOLEAN) + rb'>)')
_BOOLEAN_JSON = re.compile(rb'("datatype": ?"' + re.escape(_XSD_BOOLEAN) +
                           rb'", ?"value": ?)"([01])"')

_POINT = ((re.compile(rb'"POINT\(([^"]*)"\^\^<' + re.escape(_WKT) + rb'>'),
           rb'"Point(\1"^^<' + _WKT + rb'>'),
          (re.compile(rb'("datatype": ?"' + re.escape(_WKT) + rb'", ?"value": ?")POINT\('),
           rb'\1Point('),
          (re.compile(rb'(<literal datatype="' + re.escape(_WKT) + rb'">)POINT\('), rb'\1Point('))
_BNODE = re.compile(rb'("type": ?"bnode", ?"value": ?"|<bnode>)nodeID://')
_BOOLEAN_XML = re.compile(rb'(<literal datatype="' + re.escape(_XSD_BOOLEAN) + rb'">)([01])(?=<)')


def _boolean_word(match: re.Match) -> bytes:
    if match.group(1).startswith(b'"datatype'):
        return match.group(1) + (b'"true"' if match.group(2) == b"1" else b'"false"')
    return (b'"true"' if match.group(1) == b"1" else b'"false"') + match.group(2)


def _ask_answer(data: bytes) -> bytes:
    """An ASK answered as one column ``__ASK_RETVAL`` (Virtuoso when its ``CaseMode`` is not
    2) rewritten as the boolean answer it stands for, in SPARQL JSON."""
    try:
        rows = list(parse_query_results(data, QueryResultsFormat.JSON))
    except SyntaxError:
        return data  # not JSON: left as it came (kg asks its own ASKs as JSON)
    return json.dumps({"head": {}, "boolean": bool(rows)}).encode()


STANDARD = Dialect("standard")

#: Oxigraph's server: POST /store adds an N-Quads document in one transaction (a syntax
#: error anywhere, nothing added), without the SPARQL parser's cost
OXIGRAPH = Dialect("Oxigraph", graph_store="store")

VIRTUOSO = Virtuoso(
    "Virtuoso",
    # the graphs a new Virtuoso 7.2 database holds before anything is loaded
    system_graphs=("http://www.openlinksw.com/schemas/virtrdf#",
                   "http://www.w3.org/ns/ldp#", "http://localuriqaserver/sparql"),
    # GRAPH ?g {} matches no graph in Virtuoso: the graphs are those holding a triple
    graph_pattern="{ ?s ?p ?o }",
    # its SPARQL parser runs out of stack ("memory exhausted") near 5,000 triples in one block
    block=2000,
    # and refuses a request text past about 10 MB ("SR578 ... string concatenation is too
    # large" at 100,000 quads, 15.5 MB)
    batch=25_000,
    # its CSV and TSV are not the standard's (quoted header, LF line ends, no ?variables);
    # its Turtle uses prefixes of its own (ns1:): asked as N-Triples, written here
    native=frozenset({"application/sparql-results+json", "application/sparql-results+xml",
                      "application/n-triples", "application/rdf+xml",
                      "application/ld+json", "application/json"}),
    # a query naming one of these literals fails (500: "Bad datatype code", "Cannot convert")
    unmatchable=frozenset({_WKT.decode(), "http://www.w3.org/2001/XMLSchema#time",
                           "http://www.w3.org/2001/XMLSchema#duration"}),
)


def dialect_for(server: str | None) -> Dialect:
    """The dialect of a server from its ``Server`` header."""
    name = (server or "").lower()
    return VIRTUOSO if name.startswith("virtuoso") else \
        OXIGRAPH if name.startswith("oxigraph") else STANDARD
