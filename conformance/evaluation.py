"""Run query tests against a target: load the test's dataset, send the query, compare.

The dataset is given to the endpoint the protocol's way. Every data file is loaded in a
named graph called by its own IRI, and the request names the test's dataset with
``default-graph-uri`` (the ``qt:data`` files, merged) and ``named-graph-uri`` (the
``qt:graphData`` files). A test without ``qt:data`` names a graph that does not exist,
so its default graph is empty; a test without ``qt:graphData`` names no named graph, so
its dataset has none (SPARQL 1.1 Protocol §2.1.4). The same requests go to every target.

A query with its own ``FROM`` / ``FROM NAMED`` gets no protocol dataset (the protocol's
would override it); the graphs it names are loaded under their IRIs, as the W3C
harnesses of Jena, rdflib and Oxigraph do.

Queries are sent with ``BASE <canonical IRI of the .rq file>`` prepended (the protocol
has no base parameter), so relative IRIs resolve as the test expects.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urljoin

from pyoxigraph import DefaultGraph, NamedNode, Quad, RdfFormat, parse, serialize

from .compare import compare, order_keys
from .manifest import QueryTest, Suites
from .results import MEDIA_TYPES, Boolean, ResultParseError, Solutions, parse_result
from .targets import Target

#: The default graph of tests that have no ``qt:data``: a graph no test loads.
EMPTY_GRAPH = "urn:x-kg-conformance:empty-default-graph"

_FROM = re.compile(r"\bFROM\s+(NAMED\s+)?<([^>]*)>", re.IGNORECASE)
_RDF_FORMATS = {".ttl": RdfFormat.TURTLE, ".rdf": RdfFormat.RDF_XML, ".nt": RdfFormat.N_TRIPLES}


@dataclass(frozen=True)
class Outcome:
    """The verdict on one test for one target."""

    test: str  # QueryTest.short_id
    suite: str
    passed: bool
    reason: str = ""
    seconds: float = 0.0


@dataclass
class Prepared:
    """Everything about a test that does not depend on the target (computed once)."""

    test: QueryTest
    query: str
    params: list[tuple[str, str]]
    nquads: bytes
    accept: str | None
    expected: object | None
    order: list[str] | None


def prepare(test: QueryTest, suites: Suites) -> Prepared:
    """Read the test's files and build the request (raises on a broken test file)."""
    text = suites.local_path(test.query).read_text(encoding="utf-8")
    query = f"BASE <{test.query}>\n{text}"
    if test.is_syntax_test:
        return Prepared(test, query, [], b"", None, None, None)
    from_clause = [(bool(named), urljoin(test.query, iri))
                   for named, iri in _FROM.findall(_without_comments(text))]
    quads: list[Quad] = []
    params: list[tuple[str, str]] = []
    if from_clause:
        for _, iri in from_clause:
            quads += _read_graph(suites, iri, iri)
    else:
        for iri in test.data:
            quads += _read_graph(suites, iri, iri)
        for iri in test.graph_data:
            quads += _read_graph(suites, iri, iri)
        params += [("default-graph-uri", iri) for iri in test.data or (EMPTY_GRAPH,)]
        params += [("named-graph-uri", iri) for iri in test.graph_data]
    extension = test.result.rsplit(".", 1)[-1]
    expected = parse_result(suites.local_path(test.result).read_bytes(), MEDIA_TYPES[extension],
                            base_iri=test.result)
    accept = MEDIA_TYPES[extension]
    if extension in ("ttl", "rdf") and isinstance(expected, (Solutions, Boolean)):
        # results written in the rs: vocabulary: no server speaks that, XML is the reference
        accept = MEDIA_TYPES["srx"]
    order = order_keys(text) if isinstance(expected, Solutions) else None
    nquads = serialize(quads, format=RdfFormat.N_QUADS) if quads else b""
    return Prepared(test, query, params, nquads, accept, expected, order)


def _without_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _read_graph(suites: Suites, iri: str, graph: str) -> list[Quad]:
    path = suites.local_path(iri)
    if path is None or not path.is_file():
        raise FileNotFoundError(f"no local copy of {iri}")
    target = NamedNode(graph)
    # blank nodes renamed per file: two files both saying _:a mean two nodes (RDF merge)
    return [Quad(q.subject, q.predicate, q.object, target)
            for q in parse(path=str(path), format=_RDF_FORMATS[Path(path).suffix],
                           base_iri=iri, rename_blank_nodes=True)
            if q.graph_name == DefaultGraph()]


def run_test(prepared: Prepared, target: Target) -> Outcome:
    """Run one prepared test on ``target``."""
    test = prepared.test
    started = time.perf_counter()

    def outcome(passed: bool, reason: str = "") -> Outcome:
        return Outcome(test.short_id, test.suite, passed, reason,
                       round(time.perf_counter() - started, 4))

    target.reset()
    target.load(prepared.nquads)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if prepared.accept:
        headers["Accept"] = prepared.accept
    body = urlencode([("query", prepared.query)] + prepared.params).encode()
    response = target.request("POST", target.query_path, headers=headers, body=body)
    if test.is_syntax_test:
        if 400 <= response.status < 500:
            return outcome(True)
        return outcome(False, f"malformed query answered {response.status}, not 4xx")
    if response.status != 200:
        return outcome(False, f"HTTP {response.status}: {_excerpt(response.body)}")
    try:
        actual = parse_result(response.body, response.content_type or prepared.accept,
                              base_iri=test.query)
    except ResultParseError as exc:
        return outcome(False, f"unreadable answer: {exc}")
    reason = compare(prepared.expected, actual, order=prepared.order)
    return outcome(reason is None, reason or "")


def _excerpt(body: bytes, limit: int = 160) -> str:
    text = body.decode("utf-8", errors="replace").strip().replace("\n", " ")
    return text[:limit] + ("…" if len(text) > limit else "")


def run_all(suites: Suites, targets: list[Target]) -> dict[str, list[Outcome]]:
    """Every query test on every target; outcomes by target name, in manifest order."""
    results: dict[str, list[Outcome]] = {target.name: [] for target in targets}
    for test in suites.query_tests():
        try:
            prepared = prepare(test, suites)
        except (OSError, ValueError, SyntaxError) as exc:
            # a test the harness cannot read fails for every target, with the reason
            for target in targets:
                results[target.name].append(
                    Outcome(test.short_id, test.suite, False, f"harness: {exc}"))
            continue
        for target in targets:
            results[target.name].append(run_test(prepared, target))
    return results
