"""No server-side fetching on a client's behalf: SERVICE, LOAD, JSON-LD ``@context``, XML
external entities and ``owl:imports`` never reach ``file:``, loopback, link-local or private
addresses, nor hosts off the allowlist — not through a redirect, not through a DNS name that
resolves there, not through a name that resolves there only after it was checked. A loopback
socket that records every connection is the witness."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from helpers import LocalHTTP
from kg import Config, KnowledgeGraph
from kg.errors import LoadRefusedError, QueryEvaluationError
from kg.sparql import pinned
from kg.sparql.pinned import resolve_host
from kg.writes.writer import Writer

pytestmark = pytest.mark.slow  # an app and a stand-in site per case

WIKIDATA = "https://query.wikidata.org/sparql"


def _no_connection(connections) -> None:
    time.sleep(0.3)  # a connection attempt in flight would land by now
    assert connections == []


@pytest.fixture
def recorded(listener):
    """The listener's port and connections, and the URL on it."""
    port, connections = listener
    return port, connections, f"http://127.0.0.1:{port}/"


@pytest.mark.parametrize("target", [
    "http://localhost:{port}/sparql",  # a name that resolves to loopback
    "http://127.1:{port}/sparql", "http://2130706433:{port}/sparql",  # other spellings
    "http://[::1]:{port}/sparql", "http://[::ffff:127.0.0.1]:{port}/sparql",
    "http://0.0.0.0:{port}/sparql",
    "http://169.254.169.254/latest/meta-data/",  # link-local: the cloud metadata service
    "http://10.0.0.1/sparql", "http://192.168.1.1/sparql", "http://[fd00::1]/sparql",
    "file:///etc/passwd", "ftp://127.0.0.1:{port}/",
])
def test_an_allowlisted_service_that_is_not_public_is_refused(make_app, recorded, target):
    port, connections, _ = recorded
    target = target.format(port=port)
    app = make_app(workers=0, service_allowlist=(target,))
    response = app.test_client().get("/sparql", query_string={
        "query": f"SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}"})
    assert response.status_code == 400
    assert b"non-public address" in response.data or b"only http and https" in response.data
    _no_connection(connections)


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/", "http://evil.example/sparql",
                                    "https://query.wikidata.org.evil.example/sparql",
                                    "https://query.wikidata.org/sparql/../../x"])
def test_a_service_off_the_allowlist_is_refused(make_app, recorded, target):
    port, connections, _ = recorded
    target = target.format(port=port)
    app = make_app(workers=0)
    for query in (f"SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
                  f"SELECT * {{ SERVICE SILENT <{target}> {{ ?s ?p ?o }} }}",
                  "SELECT * { \\u0053ERVICE <" + target + "> { ?s ?p ?o } }",
                  f"SELECT * {{ BIND(<{target}> AS ?u) SERVICE ?u {{ ?s ?p ?o }} }}"):
        response = app.test_client().get("/sparql", query_string={"query": query})
        assert response.status_code == 400, query
    _no_connection(connections)


class _Redirector(http.server.BaseHTTPRequestHandler):
    """Answers every request with a redirect to ``target`` (a loopback address)."""

    target = ""
    hits: list

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


def test_a_service_that_redirects_is_not_followed_and_the_map_stays_secret(make_app, recorded):
    port, connections, target = recorded
    handler = type("Handler", (_Redirector,), {"target": target + "internal", "hits": []})
    redirector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    mapped = f"http://127.0.0.1:{redirector.server_port}/sparql"
    app = make_app(workers=1, timeout=10, service_map={WIKIDATA: mapped})
    try:
        response = app.test_client().get("/sparql", query_string={
            "query": f"SELECT * {{ SERVICE <{WIKIDATA}> {{ ?s ?p ?o }} }}"})
        assert response.status_code == 502
        assert f"SERVICE <{WIKIDATA}> failed: ".encode() in response.data
        assert mapped.encode() not in response.data  # the operator's map is not shown
    finally:
        redirector.shutdown()
        redirector.server_close()
    assert len(handler.hits) == 1  # the mapped endpoint was called, once
    _no_connection(connections)  # and its redirect was not followed


@pytest.fixture(scope="module")
def pages(make_shared_app):
    """The app, queries in this process (validation runs there)."""
    return make_shared_app(workers=0)


def _validate(pages, data: str, fmt: str):
    return pages.test_client().post("/validate/form", data={"data": data, "format": fmt},
                                    headers={"Accept": "text/html"})


@pytest.mark.parametrize("context", ["{url}context.jsonld", "file:///etc/passwd",
                                     "file:///proc/self/environ"])
def test_a_json_ld_context_is_never_fetched(pages, recorded, context):
    port, connections, url = recorded
    document = ('{"@context": "%s", "@id": "https://w3id.org/fr-indopacific/id/x", '
                '"name": "x"}' % context.format(url=url))
    response = _validate(pages, document, "jsonld")
    assert response.status_code == 400 and b"context" in response.data
    assert b"root:" not in response.data and b"PATH=" not in response.data
    _no_connection(connections)


@pytest.mark.parametrize("entity", ["{url}entity", "file:///etc/passwd"])
def test_xml_external_entities_are_never_resolved(pages, recorded, entity):
    port, connections, url = recorded
    document = f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY ext SYSTEM "{entity.format(url=url)}"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
  <rdf:Description rdf:about="https://w3id.org/fr-indopacific/id/x">
    <rdfs:label>&ext;</rdfs:label>
  </rdf:Description>
</rdf:RDF>"""
    response = _validate(pages, document, "rdfxml")
    assert response.status_code in (200, 400)
    assert b"root:" not in response.data
    _no_connection(connections)


def test_owl_imports_in_validated_data_are_not_followed(pages, recorded):
    port, connections, url = recorded
    document = f"""@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
<https://w3id.org/fr-indopacific/id/x> owl:imports <{url}ontology> ;
    sh:shapesGraph <{url}shapes> .
<{url}ontology> a owl:Ontology ; owl:imports <file:///etc/passwd> ."""
    response = _validate(pages, document, "turtle")
    assert response.status_code == 200 and b"root:" not in response.data
    _no_connection(connections)


def _load(app, source: str):
    return app.test_client().post("/sparql", data={"update": f"LOAD <{source}>"},
                                  headers={"Authorization": "Bearer s3cret-load"})


@pytest.mark.parametrize("allowed, source", [
    ((), "file:///etc/passwd"),
    (("127.0.0.1:{port}",), "file:///etc/passwd"),
    ((), "http://127.0.0.1:{port}/data.ttl"),  # off the allowlist
    (("example.org",), "http://127.0.0.1:{port}/data.ttl"),
    (("localhost:{port}",), "http://localhost:{port}/data.ttl"),  # a name for loopback
    (("127.0.0.1:{port}",), "http://127.0.0.1:{other}/data.ttl"),  # another port
    (("127.0.0.1:{port}",), "http://[::ffff:127.0.0.1]:{port}/data.ttl"),
])
def test_load_fetches_nothing_it_may_not(make_app, recorded, allowed, source):
    port, connections, _ = recorded
    values = {"port": port, "other": port + 1}
    app = make_app(workers=0, update_token="ops:s3cret-load",
                   load_allowlist=tuple(a.format(**values) for a in allowed))
    response = _load(app, source.format(**values))
    assert response.status_code == 403, response.data
    assert b"root:" not in response.data
    _no_connection(connections)


def test_load_from_an_allowed_host_does_not_follow_its_redirect(make_app, recorded):
    port, connections, target = recorded
    handler = type("Handler", (_Redirector,), {"target": target + "data.ttl", "hits": []})
    redirector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    app = make_app(workers=0, update_token="ops:s3cret-load",
                   load_allowlist=(f"127.0.0.1:{redirector.server_port}",))
    try:
        response = _load(app, f"http://127.0.0.1:{redirector.server_port}/data.ttl")
        assert 400 <= response.status_code < 500 and b"redirect" in response.data
    finally:
        redirector.shutdown()
        redirector.server_close()
    assert len(handler.hits) == 1
    _no_connection(connections)


# -- LOAD and DNS rebinding: the fetch goes to the address that was checked -----------------

# tagged: an untagged comment breaks the text-without-language check, which gates writes
DOCUMENT = b'<http://example.org/a> <http://www.w3.org/2000/01/rdf-schema#comment> "loaded"@en .\n'


def _writer(allowed: str, resolve=resolve_host) -> Writer:
    kg = KnowledgeGraph.open(Config.load({"load_allowlist": (allowed,)}, environ={}),
                             load_bundled=False)
    return Writer(kg, resolve=resolve)


@pytest.fixture
def document():
    """A local site serving one N-Triples document; keeps the requests it got."""
    server = LocalHTTP(lambda request: (200, "application/n-triples", DOCUMENT))
    yield server
    server.close()


def test_load_resolves_a_name_once_and_is_pinned_to_what_was_checked(recorded):
    # a hostile DNS server: a public address to the first question, then the loopback
    # address where the listener waits
    port, connections, _ = recorded
    source = f"http://data.rebind.invalid:{port}/data.nt"
    asked = []

    def hostile(host: str) -> tuple[str, ...]:
        asked.append(host)
        return ("93.184.215.14",) if len(asked) == 1 else ("127.0.0.1",)

    writer = _writer(f"data.rebind.invalid:{port}", hostile)
    assert writer.load_addresses(source) == ("93.184.215.14",)
    assert asked == ["data.rebind.invalid"]
    # asked again, the name now resolves to loopback: the LOAD is refused, nothing fetched
    with pytest.raises(LoadRefusedError, match="resolves to 127.0.0.1"):
        writer.update(f"LOAD <{source}>", agent="test")
    _no_connection(connections)


def test_the_fetch_connects_to_the_pinned_address_with_the_original_host(document):
    # no resolver knows data.rebind.invalid: the fetch reaches the site only because it
    # connects to the pinned address without looking the name up
    source = f"http://data.rebind.invalid:{document.port}/data.nt"
    with pinned.request(source, ("127.0.0.1",), timeout=10) as response:
        assert response.status == 200 and response.read() == DOCUMENT
    (request,) = document.requests
    assert request["headers"]["Host"] == f"data.rebind.invalid:{document.port}"
    assert request["path"] == "/data.nt"


def test_a_load_from_a_local_site_still_works(document):
    def resolver(host: str) -> tuple[str, ...]:
        raise AssertionError(f"an address written in the URL is not looked up ({host})")

    writer = _writer(f"127.0.0.1:{document.port}", resolver)
    outcome = writer.update(f"LOAD <{document.url}data.nt>", agent="test")
    assert outcome.status == "committed" and outcome.added == 1
    assert writer.kg.query('ASK { ?s rdfs:comment "loaded"@en }').boolean
    assert document.requests[0]["headers"]["Host"] == f"127.0.0.1:{document.port}"


def test_a_load_from_a_name_that_does_not_resolve_fails(listener):
    port, connections = listener
    writer = _writer(f"nowhere.invalid:{port}", lambda host: ())
    with pytest.raises(QueryEvaluationError, match="nowhere.invalid does not resolve"):
        writer.update(f"LOAD <http://nowhere.invalid:{port}/data.nt>", agent="test")
    outcome = writer.update(f"LOAD SILENT <http://nowhere.invalid:{port}/data.nt>",
                            agent="test")
    assert outcome.status == "unchanged"
    _no_connection(connections)
