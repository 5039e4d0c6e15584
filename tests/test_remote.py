"""A remote SPARQL 1.1 server as the store (``--store URL``): Oxigraph's own server, started
here on loopback, stands for QLever, Virtuoso, GraphDB or Fuseki."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from pyoxigraph import BlankNode, NamedNode
from SPARQLWrapper import JSON, SPARQLWrapper

from conftest import free_port, wait_until_up
from test_web_writes import BROKEN, LINK  # a valid cooperation link, and one without provider
from kg import Config, KnowledgeGraph, Source
from kg.web.app import close_app, create_app
from kg.errors import InputSyntaxError, QuerySyntaxError
from kg.namespaces import GRAPHS
from kg.store.remote import RemoteStore, RemoteStoreError

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
JSON_RESULTS = "application/sparql-results+json"


def _oxigraph(port: int) -> subprocess.Popen:
    executable = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    process = subprocess.Popen([executable, "serve", "--bind", f"127.0.0.1:{port}",
                                "--union-default-graph"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_until_up(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", process,
                  what="Oxigraph's server")
    return process


@pytest.fixture(scope="module")
def remote():
    """Oxigraph's server in memory on a loopback port: {"store": query URL, "store_update"}."""
    port = free_port()
    process = _oxigraph(port)
    yield {"store": f"http://127.0.0.1:{port}/query",
           "store_update": f"http://127.0.0.1:{port}/update"}
    process.terminate()
    process.wait(10)
    process.stderr.close()


@pytest.fixture(scope="module")
def kg(remote):
    """The knowledge graph over the remote store (the bundled files loaded there once)."""
    return KnowledgeGraph.open(Config.load(remote, environ={}))


def test_bundled_files_are_loaded_there_once(kg, remote, bundled, caplog):
    assert len(kg) == len(bundled)
    assert kg.graph_names() == bundled.graph_names()
    with caplog.at_level("INFO", logger="kg"):
        again = KnowledgeGraph.open(Config.load(remote, environ={}))
    assert "bundled files not reloaded" in caplog.text and len(again) == len(bundled)


def test_the_inferred_graph_there_is_the_embedded_ones(kg, bundled):
    """Computed here from the server's triples (which are asserted is asked in batches, not
    one request per triple): the same entailments as on the embedded store."""
    def inferred(store) -> set:
        return {quad.triple for quad in store.quads_for_pattern(
            None, None, None, NamedNode(GRAPHS["inferred"]))}

    there, here = inferred(kg.store), inferred(bundled.store)
    assert len(there) == len(here) > 1000
    def named(triples: set) -> set:
        return {t for t in triples if not any(isinstance(term, BlankNode) for term in t)}

    assert named(there) == named(here)


def test_queries_answer_as_the_embedded_store_does(kg, bundled):
    for text in ("SELECT ?label WHERE { fipid:dcsd rdfs:label ?label } ORDER BY ?label",
                 "ASK { fipid:dcsd org:unitOf fipid:meae }",
                 "SELECT ?org WHERE { ?org a org:Organization } ORDER BY ?org"):
        mine, theirs = kg.query(text), bundled.query(text)
        if mine.is_boolean:
            assert mine.boolean == theirs.boolean
        else:
            assert [[row[v] for v in mine.variables] for row in mine.solutions] == \
                [[row[v] for v in theirs.variables] for row in theirs.solutions]
    described = kg.query("CONSTRUCT { fipid:dcsd ?p ?o } WHERE { fipid:dcsd ?p ?o }")
    assert set(described.raw) == set(bundled.query(
        "CONSTRUCT { fipid:dcsd ?p ?o } WHERE { fipid:dcsd ?p ?o }").raw)
    assert kg.stats().graphs == bundled.stats().graphs


def test_load_is_one_update_and_all_or_nothing(kg):
    before = len(kg)
    with pytest.raises(InputSyntaxError):
        kg.load([Source("good.ttl", b"<http://e/a> <http://e/p> 1 ."),
                 Source("bad.ttl", b"<http://e/b> <http://e/p> .")])
    assert len(kg) == before
    kg.load([Source("good.ttl", b"<http://e/a> <http://e/p> 1 .")])
    assert kg.query("ASK { GRAPH fipg:user { <http://e/a> <http://e/p> 1 } }").boolean
    kg.update("DELETE WHERE { GRAPH fipg:user { <http://e/a> ?p ?o } }")
    assert len(kg) == before


def test_errors_of_the_remote_server_keep_its_message(kg, remote):
    with pytest.raises(QuerySyntaxError, match="refused"):
        kg.query("SELECT WHERE {")
    unreachable = RemoteStore(f"http://127.0.0.1:{free_port()}/query", timeout=2)
    with pytest.raises(RemoteStoreError, match="cannot reach"):
        unreachable.query("ASK {}")


@pytest.fixture(scope="module")
def app(remote, kg):
    app = create_app({**remote, "timeout": 20})
    yield app
    close_app(app)


def test_the_endpoint_passes_queries_through(app, bundled):
    client = app.test_client()
    response = client.get("/sparql", query_string={"query": COUNT},
                          headers={"Accept": JSON_RESULTS})
    assert response.status_code == 200 and response.mimetype == JSON_RESULTS
    assert response.json["results"]["bindings"][0]["n"]["value"] == str(len(bundled))
    # the same query in another negotiated format, with the predeclared prefixes
    csv = client.get("/sparql", query_string={
        "query": "SELECT ?l WHERE { fipid:dcsd skos:altLabel ?l } ORDER BY ?l"},
        headers={"Accept": "text/csv"})
    assert csv.status_code == 200 and csv.data.startswith(b"l\r\nDCSD\r\n")
    turtle = client.get("/sparql", query_string={
        "query": "CONSTRUCT { fipid:dcsd ?p ?o } WHERE { fipid:dcsd ?p ?o }"})
    assert turtle.mimetype == "text/turtle" and b"/id/dcsd>" in turtle.data
    bad = client.get("/sparql", query_string={"query": "SELECT WHERE {"},
                     headers={"Accept": "application/json"})
    assert bad.status_code == 400 and "refused" in bad.json["message"]


def test_the_endpoint_streams_large_answers(app):
    client = app.test_client()
    response = client.get("/sparql", query_string={
        "query": "SELECT * WHERE { ?s ?p ?o . ?a ?b ?c } LIMIT 30000"},
        headers={"Accept": "text/tab-separated-values"})
    assert response.status_code == 200 and "Content-Length" not in response.headers
    assert response.data.count(b"\n") == 30001


def test_etag_and_cache_over_the_remote_store(app):
    client = app.test_client()
    first = client.get("/sparql", query_string={"query": COUNT})
    again = client.get("/sparql", query_string={"query": COUNT},
                       headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_entity_pages_over_the_remote_store(app):
    client = app.test_client()
    page = client.get("/id/dcsd", headers={"Accept": "application/n-triples"})
    assert page.status_code == 200 and b"Directorate for Security" in page.data
    assert client.get("/id/no-such-thing", headers={"Accept": "text/turtle"}).status_code == 404


def test_kg_serve_with_a_remote_store(remote, kg, tmp_path):
    """`kg serve --store URL` over the real server, asked by a real SPARQL client."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", "--port", str(port), "--store", remote["store"],
         "--store-update", remote["store_update"]],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D", process,
                      what="kg serve --store")
        client = SPARQLWrapper(f"http://127.0.0.1:{port}/sparql")
        client.setQuery("SELECT ?label WHERE { fipid:meae rdfs:label ?label FILTER(LANG(?label) = 'en') }")
        client.setReturnFormat(JSON)
        rows = client.query().convert()["results"]["bindings"]
        assert rows[0]["label"]["value"] == "Ministry of Europe and Foreign Affairs"
        url = f"http://127.0.0.1:{port}/sparql?" + urllib.parse.urlencode({"query": COUNT})
        with urllib.request.urlopen(url, timeout=20) as response:
            assert int(json.load(response)["results"]["bindings"][0]["n"]["value"]) == len(kg)
    finally:
        process.terminate()
        process.wait(15)
        process.stdout.close()


def test_a_known_change_is_one_update_and_the_inferred_graph_follows(kg):
    from pyoxigraph import NamedNode, Quad

    user = NamedNode("https://w3id.org/fr-indopacific/graph/user")
    office = NamedNode("https://w3id.org/fr-indopacific/id/remote-test-office")
    typed = Quad(office, NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                 NamedNode("https://w3id.org/fr-indopacific/ontology#CentralOffice"), user)
    kg.apply(added=[typed])
    assert typed in kg.store
    # the reasoner wrote the superclass typing into the inferred graph of the remote store
    assert kg.query("ASK { GRAPH fipg:inferred { fipid:remote-test-office a org:Organization } }").boolean
    kg.apply(removed=[typed])
    assert typed not in kg.store
    assert not kg.query("ASK { fipid:remote-test-office ?p ?o }").boolean


TOKEN = "remote-7f3c9e1d2b"


def test_gated_writes_are_validated_here_and_sent_there(remote, kg):
    """A write through the endpoint is validated by kg and reaches the remote server whole;
    a write that breaks the shapes is refused (422) and the remote server is unchanged."""
    app = create_app({**remote, "timeout": 20, "update_token": f"tester:{TOKEN}"})
    client = app.test_client()
    store = RemoteStore(remote["store"])
    dump = "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g ?s ?p ?o"
    try:
        before = list(store.query(dump))
        refused = client.post("/sparql", data={"update": BROKEN},
                              headers={"Authorization": f"Bearer {TOKEN}"})
        assert refused.status_code == 422
        assert list(store.query(dump)) == before
        count = client.get("/sparql", query_string={"query": COUNT})
        accepted = client.post("/sparql", data={"update": LINK},
                               headers={"Authorization": f"Bearer {TOKEN}"})
        assert accepted.status_code == 200, accepted.data
        assert store.query("ASK { GRAPH ?g { fipid:h-link fip:provider fipid:dcsd } }",
                           prefixes={"fipid": "https://w3id.org/fr-indopacific/id/",
                                     "fip": "https://w3id.org/fr-indopacific/ontology#"})
        again = client.get("/sparql", query_string={"query": COUNT},
                           headers={"If-None-Match": count.headers["ETag"]})
        assert again.status_code == 200 and again.data != count.data  # the write bumped it
    finally:
        close_app(app)


def test_validation_over_a_mirror_gives_the_embedded_verdicts(kg):
    """Every shapes case, checked against the remote store through a mirror, gets the verdict
    (and the same focus nodes and shapes) it gets against the same data held locally."""
    from pyoxigraph import NamedNode, Quad, RdfFormat, Store, parse

    from kg.store.delta import Delta
    from kg.validation.incremental import Checker
    from kg.namespaces import GRAPHS, SERVER_GRAPHS
    from kg.store.remote import Mirror
    from test_shapes import CASE_FILES

    local = Store()
    local.extend(kg.store.quads_for_pattern())  # the same data, embedded
    exclude = frozenset(NamedNode(graph) for graph in SERVER_GRAPHS)
    user, checker = NamedNode(GRAPHS["user"]), Checker()

    def findings(store, delta):
        result = checker.check(store, delta, exclude=exclude)
        return result.conforms, sorted((str(f.focus_node), str(f.source_shape))
                                       for f in result.results)

    for path in CASE_FILES:
        delta = Delta(added=frozenset(Quad(q.subject, q.predicate, q.object, user)
                                      for q in parse(path=str(path), format=RdfFormat.TURTLE)))
        assert findings(Mirror(kg.store), delta) == findings(local, delta), path.name
