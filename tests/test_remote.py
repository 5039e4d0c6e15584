"""A remote SPARQL 1.1 server as the store (``--store URL``): every test runs against Oxigraph's
own server and against Virtuoso, each started here on loopback ports and stopped by its
process id. Without Virtuoso (``apt-get install virtuoso-opensource-7-bin``) its cases skip;
``KG_REQUIRE_VIRTUOSO=1`` (set by ``.ci/run``) makes them fail instead."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, parse
from SPARQLWrapper import JSON, SPARQLWrapper

import virtuoso
from helpers import free_port, wait_until_up
from test_web_writes import BROKEN, LINK  # a valid cooperation link, and one without provider
from kg import Config, KnowledgeGraph, Source
from kg.errors import InputSyntaxError, QuerySyntaxError
from kg.namespaces import GRAPHS
from kg.store.http import RemoteStoreError
from kg.store.remote import RemoteStore

pytestmark = pytest.mark.slow  # remote SPARQL servers (Oxigraph's, Virtuoso)

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


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def remote(request, tmp_path_factory):
    """A server on loopback ports, new and empty: {"store": query URL, "store_update"}.
    Oxigraph's in memory, with its union default graph; Virtuoso on a database in a
    temporary folder, SPARQL Update granted (tests/virtuoso.py)."""
    if request.param == "oxigraph":
        port = free_port()
        process = _oxigraph(port)
        yield {"store": f"http://127.0.0.1:{port}/query",
               "store_update": f"http://127.0.0.1:{port}/update"}
        process.terminate()
        process.wait(10)
        process.stderr.close()
        return
    reason = virtuoso.missing()
    if reason:
        if virtuoso.required():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    server = virtuoso.start(tmp_path_factory.mktemp("virtuoso"))
    yield {"store": server.sparql, "store_update": server.sparql}
    server.stop()


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
    # ORDER BY STR(?label): the standard leaves the order of language-tagged literals open
    # (Oxigraph and Virtuoso differ there)
    for text in ("SELECT ?label WHERE { fipid:dcsd rdfs:label ?label } ORDER BY STR(?label)",
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


def test_a_large_load_there_infers_what_the_embedded_store_does(kg):
    """A load too large to follow incrementally: the file goes to the server while the
    reasoner works on a local copy; the server ends up with the file and the embedded
    store's entailments."""
    units = "".join(f"<http://e/unit{i}> a org:OrganizationalUnit ; org:unitOf fipid:meae .\n"
                    for i in range(400))
    source = Source("units.ttl", ("@prefix org: <http://www.w3.org/ns/org#> .\n"
                                  "@prefix fipid: <https://w3id.org/fr-indopacific/id/> .\n"
                                  + units).encode())
    embedded = KnowledgeGraph.open(Config.load({}, environ={}))
    before = len(kg)
    assert kg.load([source]) == embedded.load([source]) > 800  # the file and what it entails
    typed = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH fipg:inferred { ?u a org:Organization } " \
            "FILTER(STRSTARTS(STR(?u), 'http://e/unit')) }"
    assert [int(row["n"].value) for row in kg.query(typed).solutions] == \
        [int(row["n"].value) for row in embedded.query(typed).solutions] == [400]
    kg.update("DELETE WHERE { GRAPH fipg:user { ?u ?p ?o } }")
    assert len(kg) == before


def test_errors_of_the_remote_server_keep_its_message(kg, remote):
    with pytest.raises(QuerySyntaxError, match="refused"):
        kg.query("SELECT WHERE {")
    unreachable = RemoteStore(f"http://127.0.0.1:{free_port()}/query", timeout=2)
    with pytest.raises(RemoteStoreError, match="cannot reach"):
        unreachable.query("ASK {}")


@pytest.fixture(scope="module")
def app(remote, kg, make_shared_app):
    return make_shared_app(**remote, timeout=20)


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
    assert turtle.mimetype == "text/turtle"
    assert {str(t.subject) for t in parse(turtle.data, RdfFormat.TURTLE)} == {
        "<https://w3id.org/fr-indopacific/id/dcsd>"}
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


@pytest.mark.parametrize("path", ["/id/dcsd", "/ontology", "/map", "/dataset", "/network",
                                  "/reconcile?queries=%7B%22q0%22%3A%7B%22query%22%3A%22DCSD%22%7D%7D"])
def test_the_pages_read_the_remote_store_through_its_executor(app, path):
    answer = app.test_client().get(path, headers={"Accept": "text/html"})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]


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


def _inferred_about(client, slug: str) -> set:
    """The inferred triples about fipid:<slug>, asked through an app's /sparql."""
    answer = client.get("/sparql", query_string={"query": "SELECT ?p ?o WHERE { GRAPH fipg:inferred "
                        f"{{ fipid:{slug} ?p ?o }} }}"}, headers={"Accept": JSON_RESULTS})
    return {(row["p"]["value"], row["o"]["value"]) for row in answer.json["results"]["bindings"]}


def test_gated_writes_are_validated_here_and_sent_there(make_app, remote, kg):
    """A write through the endpoint is validated by kg and reaches the remote server whole,
    with its change-log entry and its inferred triples, as on the embedded store; a write
    that breaks the shapes is refused (422) and the server is unchanged, quad for quad."""
    app = make_app(**remote, timeout=20, update_token=f"tester:{TOKEN}")
    embedded = make_app(timeout=20, update_token=f"tester:{TOKEN}")
    client, store = app.test_client(), RemoteStore(remote["store"])
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    before = store.dump()
    refused = client.post("/sparql", data={"update": BROKEN}, headers=bearer)
    assert refused.status_code == 422
    assert store.dump() == before
    count = client.get("/sparql", query_string={"query": COUNT})
    accepted = client.post("/sparql", data={"update": LINK}, headers=bearer)
    assert accepted.status_code == 200, accepted.data
    change = accepted.json["change"]
    assert store.query("ASK { GRAPH ?g { fipid:h-link fip:provider fipid:dcsd } }",
                       prefixes={"fipid": "https://w3id.org/fr-indopacific/id/",
                                 "fip": "https://w3id.org/fr-indopacific/ontology#"})
    logged = client.get("/sparql", query_string={"query": f"ASK {{ GRAPH fipg:changes {{ "
                        f"<{change}> a prov:Activity ; fip:triplesAdded 7 }} }}"},
                        headers={"Accept": JSON_RESULTS})
    assert logged.json["boolean"] is True
    same = embedded.test_client().post("/sparql", data={"update": LINK}, headers=bearer)
    assert same.status_code == 200, same.data
    inferred = _inferred_about(client, "h-link")
    assert inferred and inferred == _inferred_about(embedded.test_client(), "h-link")
    again = client.get("/sparql", query_string={"query": COUNT},
                       headers={"If-None-Match": count.headers["ETag"]})
    assert again.status_code == 200 and again.data != count.data  # the write bumped it


GEO, XSD = "http://www.opengis.net/ont/geosparql#", "http://www.w3.org/2001/XMLSchema#"


def test_terms_come_back_as_they_were_written(remote):
    """Language tags, datatypes and lexical forms the project writes come back exactly
    (Virtuoso keeps booleans as numbers and points as its own geometry type: kg puts the
    standard terms back); blank nodes are written (Virtuoso refuses them in INSERT DATA)."""
    store = RemoteStore(remote["store"], update_url=remote["store_update"])
    graph, subject = NamedNode("http://example.org/terms"), NamedNode("http://example.org/s")
    objects = [Literal("Direction", language="fr"), Literal("x", language="zh-hant-tw"),
               Literal("line\nbreak \"quoted\" é 😀 \\"), Literal("2020-01-01", datatype=NamedNode(XSD + "date")),
               Literal("2024-05", datatype=NamedNode(XSD + "gYearMonth")),
               Literal("2020-01-01T10:00:00Z", datatype=NamedNode(XSD + "dateTime")),
               Literal("42", datatype=NamedNode(XSD + "integer")),
               Literal("true", datatype=NamedNode(XSD + "boolean")),
               Literal("false", datatype=NamedNode(XSD + "boolean")),
               Literal("Point(2.5 48.25)", datatype=NamedNode(GEO + "wktLiteral")),
               Literal("x", datatype=NamedNode("http://example.org/custom")),
               NamedNode("http://example.org/ünicode")]
    written = [Quad(subject, NamedNode(f"http://example.org/p{i}"), term, graph)
               for i, term in enumerate(objects)]
    node = BlankNode()
    written += [Quad(subject, NamedNode("http://example.org/q"), node, graph),
                Quad(node, NamedNode("http://example.org/r"), Literal("inside"), graph)]
    try:
        store.write(added=written)
        back = store.quads_for_pattern(None, None, None, graph)
        assert {q for q in back if not isinstance(q.object, BlankNode) and
                not isinstance(q.subject, BlankNode)} == set(written[:-2])
        blank = [q for q in back if isinstance(q.object, BlankNode)]
        assert len(blank) == 1 and [q.object for q in back if isinstance(q.subject, BlankNode)
                                    ] == [Literal("inside")]
    finally:
        store.update(f"DROP SILENT GRAPH {graph}")


def test_a_large_write_goes_in_batches_and_is_all_or_nothing(remote, monkeypatch):
    """Past the batch size a write is staged graph by graph and moved in one last request; a
    batch the server refuses leaves it as it was, staging graphs dropped."""
    store = RemoteStore(remote["store"], update_url=remote["store_update"])
    monkeypatch.setattr(RemoteStore, "batch", 40)
    graphs = [NamedNode(f"http://example.org/large/{n}") for n in range(2)]
    quads = [Quad(NamedNode(f"http://example.org/s{i}"), NamedNode("http://example.org/p"),
                  Literal(str(i), datatype=NamedNode(XSD + "integer")), graphs[i % 2])
             for i in range(150)]
    before = store.dump()
    bad = quads + [Quad(NamedNode("http://example.org/s"), NamedNode("http://example.org/p"),
                        Literal("not a number", datatype=NamedNode(XSD + "integer")), graphs[0])]
    bad.insert(10, Quad(NamedNode("http://example.org/x"), NamedNode("http://example.org/p"),
                        NamedNode("http://example.org/y"), graphs[1]))
    if store.dialect.name == "Virtuoso":  # it refuses an ill-typed literal: a failed batch
        with pytest.raises(QuerySyntaxError, match="refused"):
            store.write(added=bad)
        assert store.dump() == before
    try:
        store.write(added=quads)
        assert sorted(store.quads_for_pattern(None, None, None, graphs[0]) +
                      store.quads_for_pattern(None, None, None, graphs[1]),
                      key=str) == sorted(quads, key=str)
        assert not [g for g in store.named_graphs() if "staging" in g.value]
    finally:
        store.update(" ; ".join(f"DROP SILENT GRAPH {g}" for g in graphs))
    assert store.dump() == before


def test_validation_over_a_mirror_gives_the_embedded_verdicts(kg):
    """Every shapes case, checked against the remote store through a mirror, gets the verdict
    (and the same focus nodes and shapes) it gets against the same data held locally."""
    from pyoxigraph import NamedNode, Quad, RdfFormat, Store, parse

    from kg.delta import Delta
    from kg.validation.incremental import Checker
    from kg.namespaces import SERVER_GRAPHS
    from kg.store.mirror import Mirror
    from test_shapes import CASE_FILES, case_graph

    local = Store()
    local.extend(kg.store.quads_for_pattern())  # the same data, embedded
    exclude = frozenset(NamedNode(graph) for graph in SERVER_GRAPHS)
    checker = Checker()

    def findings(store, delta):
        result = checker.check(store, delta, exclude=exclude)
        return result.conforms, sorted((str(f.focus_node), str(f.source_shape))
                                       for f in result.results)

    for path in CASE_FILES:
        graph = NamedNode(case_graph(path))
        delta = Delta(added=frozenset(Quad(q.subject, q.predicate, q.object, graph)
                                      for q in parse(path=str(path), format=RdfFormat.TURTLE)))
        assert findings(Mirror(kg.store), delta) == findings(local, delta), path.name


def test_reading_the_whole_store_waits_as_long_as_a_write(monkeypatch):
    """The reasoner's copy of a store without a Graph Store endpoint (Virtuoso) is one
    SELECT of every quad: at 1M it outlives a query's timeout (kg load into Virtuoso
    failed after 30 s), so it waits as long as a write does."""
    from kg.store.dialect import dialect_for

    store = RemoteStore("http://127.0.0.1:9/sparql", timeout=30)
    store._dialect = dialect_for("Virtuoso/07.20.3229 (Linux) x86_64-pc-linux-gnu")
    asked = {}

    def read(text, accept, **options):
        asked.update(options)
        return json.dumps({"head": {"vars": ["s", "p", "o", "g"]}, "results": {"bindings": [
            {v: {"type": "uri", "value": f"http://example.org/{v}"} for v in "spog"}]}}).encode()

    monkeypatch.setattr(store, "_read", read)
    assert store.all_quads() == [Quad(*(NamedNode(f"http://example.org/{v}") for v in "spog"))]
    assert asked["timeout"] == store.write_timeout
