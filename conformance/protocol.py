"""The SPARQL 1.1 Protocol tests (``sparql11/protocol/manifest.ttl``) as real HTTP exchanges.

The manifest describes each test in prose and the ``ht:`` vocabulary; each one is written
here as a list of requests with the expected answer, and :func:`manifest_entries` lets a
test check that every manifest entry has its case. Update cases run against the target's
update endpoint (ours takes updates with a bearer token, which the harness sends).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from pyoxigraph import NamedNode, Quad, RdfFormat, parse, serialize

from .manifest import MF, RDF, Suites, _Graph
from .results import Boolean, ResultParseError, parse_result
from .targets import Response, Target

KASEI = "http://kasei.us/2009/09/sparql/data/"

_TABULAR = {"application/sparql-results+xml", "application/sparql-results+json",
            "text/csv", "text/tab-separated-values"}
_BOOLEAN = {"application/sparql-results+xml", "application/sparql-results+json"}
_RDF = {"application/rdf+xml", "text/turtle", "application/n-triples", "application/xhtml+xml",
        "text/html"}  # the manifest allows RDFa, served as (X)HTML


@dataclass(frozen=True)
class Req:
    """One request of a case and what must come back.

    ``expect`` is ``"true"`` (an ASK answer true), ``"tabular"``, ``"boolean"`` or
    ``"RDF"`` (a 2xx in such a format), ``"2xx"`` or ``"4xx"``.
    """

    method: str
    endpoint: str  # "query" or "update": which of the target's paths
    expect: str
    query_string: str = ""  # already percent-encoded, as in the manifest
    body: str | bytes | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class Case:
    """One protocol test: the graphs to load first, then its requests in order."""

    id: str
    requests: tuple[Req, ...]
    graphs: tuple[int, ...] = ()  # which of data1..3.nt to load (as kasei.us graphs)
    updates: bool = False  # needs SPARQL Update on the target
    note: str = ""


def _q(iri_param: str, *numbers: int) -> str:
    return "&".join(f"{iri_param}={quote(KASEI + f'data{n}.rdf', safe='')}" for n in numbers)


_DATA0 = _q("default-graph-uri", 0)[: -len("0.rdf")] + "0.rdf"
_ASK_EMPTY = "ASK%20%7B%7D"
_DOCS = "\n".join(f"GRAPH <{KASEI}data{n}.rdf> {{ <{KASEI}data{n}.rdf> a foaf:Document }}"
                  for n in (1, 2, 3))
_PREFIXES = "PREFIX dc: <http://purl.org/dc/terms/>\nPREFIX foaf: <http://xmlns.com/foaf/0.1/>\n"
_BIB = "a <http://purl.org/dc/terms/BibliographicResource>"


def _update_dataset(case_id: str, query_string: str, graph: str, where: str, check: str,
                    absent: str = "", template: str = "?s a dc:BibliographicResource") -> Case:
    """An update case: insert three documents, copy some by a dataset-scoped INSERT, ASK.

    ``absent`` is what data3's document must not have in ``graph`` (not checked if empty).
    """
    update = (f"{_PREFIXES}DROP ALL ;\nINSERT DATA {{\n{_DOCS}\n}} ;\n"
              f"INSERT {{ GRAPH <{graph}> {{ {template} }} }}\nWHERE {{ {where} }}")
    unless = (f" FILTER NOT EXISTS {{ GRAPH <{graph}> {{ <{KASEI}data3.rdf> {absent} }} }}"
              if absent else "")
    ask = f"ASK {{ GRAPH <{graph}> {{ {check} }}{unless} }}"
    return Case(case_id, (
        Req("POST", "update", "2xx", query_string, update, "application/sparql-update"),
        Req("POST", "query", "true", "", ask, "application/sparql-query")), updates=True)


def _cases() -> tuple[Case, ...]:
    ask_both = (f"ASK {{ <{KASEI}data1.rdf> a ?type . <{KASEI}data2.rdf> a ?type . }}")
    ask_named = (f"ASK {{ GRAPH ?g1 {{ <{KASEI}data1.rdf> a ?type }} "
                 f"GRAPH ?g2 {{ <{KASEI}data2.rdf> a ?type }} }}")
    ask_full = (f"ASK {{ <{KASEI}data3.rdf> a ?type GRAPH ?g1 {{ <{KASEI}data1.rdf> a ?type }} "
                f"GRAPH ?g2 {{ <{KASEI}data2.rdf> a ?type }} }}")
    ask_from = (f"ASK FROM <{KASEI}data3.rdf> {{ GRAPH ?g1 {{ <{KASEI}data1.rdf> a ?type }} "
                f"GRAPH ?g2 {{ <{KASEI}data2.rdf> a ?type }} }}")
    direct, form = "application/sparql-query", "application/x-www-form-urlencoded"
    g_default = "http://example.org/protocol-update-dataset-test/"
    g_graphs = "http://example.org/protocol-update-dataset-graphs-test/"
    g_named = "http://example.org/protocol-update-dataset-named-graphs-test/"
    g_full = "http://example.org/protocol-update-dataset-full-test/"
    g_base = "http://example.org/protocol-base-test/"
    return (
        Case("query_post_form", (Req("POST", "query", "true", _DATA0, f"query={_ASK_EMPTY}", form),)),
        Case("query_dataset_default_graphs_get", (Req(
            "GET", "query", "true",
            f"query={quote(ask_both, safe='')}&{_q('default-graph-uri', 1, 2)}"),), graphs=(1, 2)),
        Case("query_dataset_default_graphs_post", (Req(
            "POST", "query", "true", _q("default-graph-uri", 1, 2), ask_both, direct),),
            graphs=(1, 2)),
        Case("query_dataset_named_graphs_post", (Req(
            "POST", "query", "true", _q("named-graph-uri", 1, 2), ask_named, direct),),
            graphs=(1, 2)),
        Case("query_dataset_named_graphs_get", (Req(
            "GET", "query", "true",
            f"query={quote(ask_named, safe='')}&{_q('named-graph-uri', 1, 2)}"),), graphs=(1, 2)),
        Case("query_dataset_full", (Req(
            "POST", "query", "true", f"{_q('default-graph-uri', 3)}&{_q('named-graph-uri', 1, 2)}",
            ask_full, direct),), graphs=(1, 2, 3)),
        Case("query_multiple_dataset", (Req(
            "POST", "query", "true", _q("named-graph-uri", 1, 2), ask_from, direct),),
            graphs=(1, 2, 3), note="the protocol's dataset must win over FROM"),
        Case("query_get", (Req("GET", "query", "true", f"query={_ASK_EMPTY}&{_DATA0}"),)),
        Case("query_content_type_select", (Req(
            "POST", "query", "tabular", _DATA0, "SELECT (1 AS ?value) {}", direct),)),
        Case("query_content_type_ask", (Req("POST", "query", "boolean", _DATA0, "ASK {}", direct),)),
        Case("query_content_type_describe", (Req(
            "POST", "query", "RDF", _DATA0, "DESCRIBE <http://example.org/>", direct),)),
        Case("query_content_type_construct", (Req(
            "POST", "query", "RDF", _DATA0, "CONSTRUCT { <s> <p> 1 } WHERE {}", direct),)),
        _update_dataset("update_dataset_default_graph", _q("using-graph-uri", 1), g_default,
                        "?s a foaf:Document", f"<{KASEI}data1.rdf> {_BIB}"),
        _update_dataset("update_dataset_default_graphs", _q("using-graph-uri", 1, 2), g_graphs,
                        "?s a foaf:Document",
                        f"<{KASEI}data1.rdf> {_BIB} . <{KASEI}data2.rdf> {_BIB}", _BIB),
        _update_dataset("update_dataset_named_graphs", _q("using-named-graph-uri", 1, 2), g_named,
                        "GRAPH ?g { ?s a foaf:Document }",
                        f"<{KASEI}data1.rdf> {_BIB} . <{KASEI}data2.rdf> {_BIB}", _BIB),
        _update_dataset("update_dataset_full",
                        f"{_q('using-graph-uri', 1)}&{_q('using-named-graph-uri', 2)}", g_full,
                        "{ GRAPH ?g { ?s a foaf:Document } BIND(?g AS ?in) } UNION "
                        "{ ?s a foaf:Document . BIND(\"default\" AS ?in) }",
                        f"<{KASEI}data1.rdf> <http://example.org/in> \"default\" . "
                        f"<{KASEI}data2.rdf> <http://example.org/in> <{KASEI}data2.rdf>", "?p ?o",
                        template="?s <http://example.org/in> ?in"),
        Case("update_post_form", (Req("POST", "update", "2xx", "", "update=CLEAR+ALL", form),),
             updates=True),
        Case("update_post_direct", (Req("POST", "update", "2xx", "", "CLEAR ALL",
                                        "application/sparql-update"),), updates=True),
        Case("update_base_uri", (
            Req("POST", "update", "2xx", "",
                f"CLEAR SILENT GRAPH <{g_base}> ;\nINSERT DATA {{ GRAPH <{g_base}> "
                "{ <http://example.org/s> <http://example.org/p> <test> } }",
                "application/sparql-update"),
            Req("POST", "query", "true", "",
                f"ASK {{ GRAPH <{g_base}> {{ <http://example.org/s> <http://example.org/p> ?o "
                'FILTER (isIRI(?o) && STR(?o) != "test") } }', direct)), updates=True),
        Case("query_post_direct", (Req("POST", "query", "true", "", "ASK {}", direct),)),
        Case("bad_query_method", (Req("PUT", "query", "4xx", f"query={_ASK_EMPTY}&{_DATA0}",
                                      None, form),)),
        Case("bad_multiple_queries", (Req(
            "GET", "query", "4xx", f"query={_ASK_EMPTY}&query=SELECT%20%2A%20%7B%7D"),)),
        Case("bad_query_wrong_media_type", (Req("POST", "query", "4xx", "", "ASK {}", "text/plain"),)),
        Case("bad_query_missing_form_type", (Req("POST", "query", "4xx", "", f"query={_ASK_EMPTY}"),)),
        Case("bad_query_missing_direct_type", (Req("POST", "query", "4xx", "", "ASK {}"),)),
        Case("bad_query_non_utf8", (Req("POST", "query", "4xx", "", "ASK {}".encode("utf-16"),
                                        "application/sparql-query; charset=UTF-16"),)),
        Case("bad_query_syntax", (Req("GET", "query", "4xx", "query=ASK%20%7B"),)),
        Case("bad_update_get", (Req("GET", "update", "4xx", "update=CLEAR%20ALL"),)),
        Case("bad_multiple_updates", (Req("POST", "update", "4xx", "",
                                          "update=CLEAR%20NAMED&update=CLEAR%20DEFAULT", form),)),
        Case("bad_update_wrong_media_type", (Req("POST", "update", "4xx", "", "CLEAR NAMED",
                                                 "text/plain"),)),
        Case("bad_update_missing_form_type", (Req("POST", "update", "4xx", "",
                                                  "update=CLEAR%20NAMED"),)),
        Case("bad_update_non_utf8", (Req("POST", "update", "4xx", "", "CLEAR NAMED".encode("utf-16"),
                                         "application/sparql-update; charset=UTF-16"),)),
        Case("bad_update_syntax", (Req("POST", "update", "4xx", "", "update=CLEAR%20XYZ", form),)),
        Case("bad_update_dataset_conflict", (Req(
            "POST", "update", "4xx", "using-named-graph-uri=http%3A%2F%2Fexample%2Fpeople",
            "PREFIX foaf: <http://xmlns.com/foaf/0.1/>\nWITH <http://example/addresses>\n"
            "DELETE { ?person foaf:givenName 'Bill' }\nINSERT { ?person foaf:givenName 'William' }\n"
            "WHERE { ?person foaf:givenName 'Bill' }", "application/sparql-update"),)),
    )


CASES: tuple[Case, ...] = _cases()


@dataclass
class ProtocolOutcome:
    """The verdict on one protocol case for one target."""

    id: str
    passed: bool
    reason: str = ""
    requests: list[str] = field(default_factory=list)


def manifest_entries(suites: Suites) -> list[str]:
    """The local names of the tests the protocol manifest lists, in order."""
    path = suites.sparql / "sparql11" / "protocol" / "manifest.ttl"
    graph = _Graph.load(path, suites.canonical_iri(path))
    return [entry.rsplit("#", 1)[-1] for entry in graph.list(graph.one(graph.root, MF + "entries"))
            if graph.one(entry, RDF + "type") == MF + "ProtocolTest"]


def run_case(case: Case, target: Target, suites: Suites) -> ProtocolOutcome:
    """Run one case on a fresh dataset."""
    target.reset()
    target.load(_graph_data(suites, case.graphs))
    outcome = ProtocolOutcome(case.id, True)
    for number, req in enumerate(case.requests, 1):
        path = target.query_path if req.endpoint == "query" else target.update_path
        headers = {"Content-Type": req.content_type} if req.content_type else {}
        body = req.body.encode() if isinstance(req.body, str) else req.body
        raw_path = path + ("?" + req.query_string if req.query_string else "")
        response = target.request(req.method, raw_path, headers=headers, body=body)
        outcome.requests.append(f"{req.method} {raw_path} -> {response.status} {response.content_type}")
        reason = _check(req.expect, response)
        if reason:
            outcome.passed, outcome.reason = False, f"request {number}: {reason}"
            break
    return outcome


def run_all(target: Target, suites: Suites) -> list[ProtocolOutcome]:
    """Every case, in manifest order."""
    return [run_case(case, target, suites) for case in CASES]


def _graph_data(suites: Suites, numbers: tuple[int, ...]) -> bytes:
    quads = []
    for n in numbers:
        path = suites.sparql / "sparql11" / "protocol" / f"data{n}.nt"
        graph = NamedNode(f"{KASEI}data{n}.rdf")
        quads += [Quad(q.subject, q.predicate, q.object, graph)
                  for q in parse(path=str(path), format=RdfFormat.N_TRIPLES)]
    return serialize(quads, format=RdfFormat.N_QUADS) if quads else b""


def _check(expect: str, response: Response) -> str | None:
    status = response.status
    if expect == "4xx":
        return None if 400 <= status < 500 else f"expected a 4xx status, got {status}"
    if not 200 <= status < 400:
        body = response.body[:160].decode("utf-8", errors="replace")
        return f"expected 2xx/3xx, got {status}: {body}"
    allowed = {"true": _BOOLEAN, "boolean": _BOOLEAN, "tabular": _TABULAR, "RDF": _RDF}.get(expect)
    if allowed is not None and response.content_type not in allowed:
        return f"{response.content_type or 'no media type'} is not a {expect} result format"
    if expect == "true":
        try:
            result = parse_result(response.body, response.content_type)
        except ResultParseError as exc:
            return str(exc)
        if result != Boolean(True):
            return f"expected the boolean true, got {result}"
    return None
