"""/sparql through Flask's test client: the SPARQL 1.1 Protocol, negotiation, errors."""

from __future__ import annotations

import json

import pyoxigraph
import pytest
import rdflib



def parse_graph(data: bytes, media_type: str) -> rdflib.Graph:
    """Parse an answer with pyoxigraph (rdflib's JSON-LD parser warns), into rdflib."""
    fmt = pyoxigraph.RdfFormat.from_media_type(media_type)
    ntriples = pyoxigraph.serialize(pyoxigraph.parse(data, fmt), None,
                                    pyoxigraph.RdfFormat.N_TRIPLES)
    return rdflib.Graph().parse(data=ntriples, format="nt")

ASK = "ASK { ?s ?p ?o }"
TRUE = b'{"head":{},"boolean":true}'


@pytest.fixture(scope="module")
def app(make_shared_app):
    """The endpoint over the bundled graph, one query worker, small limits."""
    return make_shared_app(workers=1, timeout=20, max_body_size=4096, max_query_length=2000,
                           max_rows=500)


@pytest.fixture
def client(app):
    return app.test_client()


def test_get_query(client):
    response = client.get("/sparql", query_string={"query": ASK})
    assert response.status_code == 200 and response.data == TRUE
    assert response.mimetype == "application/sparql-results+json"


def test_post_form(client):
    response = client.post("/sparql", data={"query": ASK})
    assert response.status_code == 200 and response.data == TRUE


def test_post_sparql_query_body(client):
    response = client.post("/sparql", data=ASK, content_type="application/sparql-query")
    assert response.status_code == 200 and response.data == TRUE


@pytest.mark.parametrize("accept, media_type", [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/tab-separated-values;q=0.9, text/csv;q=0.8", "text/tab-separated-values"),
    ("*/*", "application/sparql-results+json"),
    ("", "application/sparql-results+json"),
    # HTML first is a browser: it gets the query page, which runs the query (issue 7)
    ("text/html, */*;q=0.1", "text/html"),
    ("application/sparql-results+json, text/html;q=0.5", "application/sparql-results+json"),
])
def test_select_negotiation(client, accept, media_type):
    response = client.get("/sparql", query_string={"query": "SELECT ?x { BIND(1 AS ?x) }"},
                          headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == media_type
    assert response.headers["Vary"] == "Accept"


@pytest.mark.parametrize("accept, media_type", [
    ("text/turtle", "text/turtle"),
    ("application/n-triples", "application/n-triples"),
    ("application/ld+json", "application/ld+json"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/sparql-results+json, text/turtle;q=0.1", "text/turtle"),
    ("*/*", "text/turtle"),
])
def test_construct_negotiation(client, accept, media_type):
    response = client.get("/sparql", headers={"Accept": accept}, query_string={
        "query": "CONSTRUCT WHERE { fipid:dcsd ?p ?o }"})
    assert response.status_code == 200 and response.mimetype == media_type
    graph = parse_graph(response.data, media_type)
    assert len(graph) > 0


def test_format_parameter_overrides_accept(client):
    response = client.get("/sparql", query_string={"query": ASK, "format": "xml"},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.mimetype == "application/sparql-results+xml"


def test_not_acceptable_lists_what_is_available(client):
    response = client.get("/sparql", query_string={"query": ASK},
                          headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert b"application/sparql-results+xml" in response.data


@pytest.mark.parametrize("query_string, expected", [
    ({"query": "SELECT * WHERE { ?s ?p"}, b"1:"),
    ({"query": [ASK, ASK]}, b"more than one query"),
    ({"query": "SELECT (<http://example.org/nope>(1) AS ?x) {}"}, b"not supported"),
    ({"query": "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}, b"SERVICE"),
    ({"query": "LOAD <file:///etc/passwd>"}, b"LOAD is disabled"),
    ({"query": "SELECT * " + "{" * 300 + "}" * 300}, b"levels deep"),
    ({"query": "SELECT * { ?s ?p ?o }"}, b"more than 500 rows"),
])
def test_bad_requests_are_400_with_a_message(client, query_string, expected):
    response = client.get("/sparql", query_string=query_string)
    assert response.status_code == 400 and expected in response.data


def test_syntax_error_as_json_keeps_the_position(client):
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE {\n ?s ?p"},
                          headers={"Accept": "application/sparql-results+json"})
    body = json.loads(response.data)
    assert response.status_code == 400 and body["line"] == 2 and body["column"]


def test_post_without_query_is_400(client):
    assert client.post("/sparql", data={"x": "1"}).status_code == 400


@pytest.mark.parametrize("request_args", [
    {"data": {"update": "INSERT DATA { <http://e/a> <http://e/b> 1 }"}},
    {"data": "LOAD <file:///etc/passwd>", "content_type": "application/sparql-update"},
])
def test_updates_are_refused_read_only(client, request_args):
    response = client.post("/sparql", **request_args)
    assert response.status_code == 403 and b"read-only" in response.data


def test_unsupported_media_type(client):
    response = client.post("/sparql", data=ASK, content_type="text/plain")
    assert response.status_code == 415


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_wrong_method(client, method):
    response = getattr(client, method)("/sparql")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]


def test_too_long_query_and_body(client):
    long = "ASK {} #" + "x" * 3000
    assert client.get("/sparql", query_string={"query": long}).status_code == 413
    response = client.post("/sparql", data="ASK {}" + " " * 5000,
                           content_type="application/sparql-query")
    assert response.status_code == 413 and b"4096" in response.data


def test_dataset_parameters(client):
    ontology = "https://w3id.org/fr-indopacific/graph/ontology"
    query = "ASK { fipid:dcsd ?p ?o }"  # the entity is in the fact-sheet graph only
    only_ontology = client.get("/sparql", query_string={
        "query": query, "default-graph-uri": ontology})
    assert only_ontology.data.endswith(b"false}")
    named = client.get("/sparql", query_string={
        "query": "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }", "named-graph-uri": ontology,
        "default-graph-uri": ontology})
    assert [b["g"]["value"] for b in json.loads(named.data)["results"]["bindings"]] == [ontology]


def test_inference_parameter(client):
    """inference=false answers from the asserted graphs; anything but true/false is a 400."""
    query = "SELECT ?org WHERE { ?org a org:Organization ; fip:basedIn fipid:singapore }"

    def rows(**extra) -> int:
        response = client.get("/sparql", query_string={"query": query, **extra})
        assert response.status_code == 200
        return len(json.loads(response.data)["results"]["bindings"])

    assert (rows(), rows(inference="true"), rows(inference="false")) == (3, 3, 0)
    assert client.post("/sparql", data={"query": query, "inference": "false"}).data.count(
        b'"org"') == 1  # the head only
    bad = client.get("/sparql", query_string={"query": query, "inference": "no"})
    assert bad.status_code == 400 and b"inference=false" in bad.data


def test_cors_head_and_options(client):
    response = client.get("/sparql", query_string={"query": ASK},
                          headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    head = client.head("/sparql", query_string={"query": ASK})
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(TRUE))
    options = client.options("/sparql", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert options.status_code == 200
    assert "POST" in options.headers["Access-Control-Allow-Methods"]
    assert options.headers["Access-Control-Allow-Origin"] == "*"


SD = "http://www.w3.org/ns/sparql-service-description#"


@pytest.mark.parametrize("accept, rdf_format", [
    ("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
    ("application/n-triples", "nt"), (None, "turtle")])
def test_service_description(client, accept, rdf_format):
    response = client.get("/sparql", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    graph = parse_graph(response.data, accept or "text/turtle")
    service = rdflib.URIRef("http://127.0.0.1:7878/sparql")
    assert (service, rdflib.RDF.type, rdflib.URIRef(SD + "Service")) in graph
    assert (service, rdflib.URIRef(SD + "endpoint"), service) in graph
    assert (service, rdflib.URIRef(SD + "supportedLanguage"),
            rdflib.URIRef(SD + "SPARQL11Query")) in graph
    formats = set(graph.objects(service, rdflib.URIRef(SD + "resultFormat")))
    assert rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in formats
    names = set(graph.objects(None, rdflib.URIRef(SD + "name")))
    assert rdflib.URIRef("https://w3id.org/fr-indopacific/graph/factsheet") in names


def test_unknown_route_is_a_helpful_404(client):
    response = client.get("/nowhere", headers={"Accept": "application/json"})
    body = json.loads(response.data)
    assert response.status_code == 404 and "/sparql" in body["message"]
