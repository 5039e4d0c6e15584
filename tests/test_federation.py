"""SERVICE: the allowlist and the map, through the API, the engine and the HTTP endpoint,
with a real local stand-in for Wikidata and a listener that records every connection."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from pathlib import Path

import pytest
from pyoxigraph import Store

from helpers import KGServer, LocalHTTP, http_get
from kg import Config, KnowledgeGraph
from kg.config import WIKIDATA_SERVICES
from kg.errors import ForbiddenFeatureError
from kg.sparql.federation import ServicePolicy
from kg.sparql.relay import Route, relay

pytestmark = pytest.mark.slow  # stand-in SPARQL servers

WIKIDATA = WIKIDATA_SERVICES[0]
JOIN = f"""SELECT ?country ?iso WHERE {{
  VALUES ?country {{ fipid:france fipid:madagascar }}
  ?country owl:sameAs ?item .
  SERVICE <{WIKIDATA}> {{ ?item wdt:P297 ?iso }}
}} ORDER BY ?iso"""


@pytest.fixture(scope="module")
def mapped(wikidata_standin):
    """The bundled graph with Wikidata's URL mapped to the stand-in."""
    return KnowledgeGraph.open(Config.load({"service_map": {WIKIDATA: wikidata_standin}},
                                           environ={}))


def test_a_service_query_joins_the_graph_with_wikidata(mapped):
    rows = [(row["country"].value.rsplit("/", 1)[1], row["iso"].value)
            for row in mapped.query(JOIN).solutions]
    assert rows == [("france", "FR"), ("madagascar", "MG")]


def test_a_service_nested_in_an_allowed_one_is_left_to_the_remote():
    # Wikidata's own label service, as queries copied from its query service use it: it is
    # part of the remote query, so it is neither refused nor rewritten (not run here: the
    # stand-in would try to fetch it)
    query = f"""SELECT ?item ?label WHERE {{
      SERVICE <{WIKIDATA}> {{
        ?item wdt:P297 "FR" .
        SERVICE wikibase:label {{ bd:serviceParam wikibase:language "en" }}
      }} }}"""
    rewritten = ServicePolicy(mapping={WIKIDATA: "http://127.0.0.1:9/query"}).rewrite(query)
    assert "SERVICE <http://127.0.0.1:9/query>" in rewritten
    assert "SERVICE wikibase:label" in rewritten


def test_the_endpoint_federates_through_the_map(make_app, wikidata_standin):
    app = make_app(workers=1, service_map={WIKIDATA: wikidata_standin})
    response = app.test_client().get("/sparql", query_string={"query": JOIN},
                                     headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.data
    bindings = json.loads(response.data)["results"]["bindings"]
    assert [b["iso"]["value"] for b in bindings] == ["FR", "MG"]


@pytest.mark.parametrize("template", [
    "SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE SILENT <{target}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ \\u0053ERVICE <{target}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE <{wikidata}> {{ SERVICE <{target}> {{ ?s ?p ?o }} }} }}",
])
def test_a_service_off_the_allowlist_is_refused_before_any_request(listener, template):
    port, connections = listener
    target = f"http://127.0.0.1:{port}/sparql"
    kg = KnowledgeGraph.open(Config.load({}, environ={}), load_bundled=False)
    query = template.format(target=target, wikidata="http://example.org/not-allowed")
    with pytest.raises(ForbiddenFeatureError, match="not allowed"):
        kg.query(query)
    time.sleep(0.3)
    assert connections == []


def test_an_allowlisted_service_on_a_private_address_is_refused(listener):
    port, connections = listener
    target = f"http://127.0.0.1:{port}/sparql"
    kg = KnowledgeGraph.open(Config.load({"service_allowlist": (target,)}, environ={}),
                             load_bundled=False)
    with pytest.raises(ForbiddenFeatureError, match="non-public address"):
        kg.query(f"SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}")
    time.sleep(0.3)
    assert connections == []


def test_only_the_operators_map_reaches_loopback(listener):
    port, connections = listener
    kg = KnowledgeGraph.open(Config.load(
        {"service_map": {WIKIDATA: f"http://127.0.0.1:{port}/sparql"}}, environ={}),
        load_bundled=False)
    with pytest.raises(Exception):  # the listener hangs up: the query fails, but it was sent
        list(kg.query(f"SELECT * {{ SERVICE <{WIKIDATA}> {{ ?s ?p ?o }} }}").solutions)
    deadline = time.monotonic() + 5
    while not connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(connections) == 1


def test_the_endpoint_refuses_a_service_off_the_allowlist(make_app, listener):
    port, connections = listener
    app = make_app(workers=0)
    response = app.test_client().get("/sparql", query_string={
        "query": f"SELECT * {{ SERVICE <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}"})
    assert response.status_code == 400 and b"not allowed" in response.data
    assert connections == []


@pytest.mark.parametrize("query, refused", [
    ("SELECT * { SERVICE ?endpoint { ?s ?p ?o } }", "full IRI"),
    ("SELECT * { SERVICE wd:Q42 { ?s ?p ?o } }", "full IRI"),
    ('SELECT * { SERVICE wikibase:label { bd:serviceParam wikibase:language "en" } }',
     "runs inside Wikidata's query service"),
    ("SELECT * { SERVICE <file:///etc/passwd> { ?s ?p ?o } }", "not allowed"),
])
def test_service_targets_that_are_not_iris_or_files_are_refused(query, refused):
    with pytest.raises(ForbiddenFeatureError, match=refused):
        ServicePolicy().rewrite(query)


def test_the_rewrite_touches_service_iris_only():
    policy = ServicePolicy(mapping={WIKIDATA: "http://mirror.example/sparql"})
    query = (f'SELECT * {{ ?s ?p "SERVICE <{WIKIDATA}>" . # SERVICE <{WIKIDATA}>\n'
             f"  ?s ?q <{WIKIDATA}> . SERVICE <{WIKIDATA}> {{ ?s ?p ?o }} }}")
    rewritten = policy.rewrite(query)
    assert rewritten.count("http://mirror.example/sparql") == 1
    assert rewritten.count(WIKIDATA) == 3  # the string, the comment and the object IRI
    # an allowlisted target that is not mapped is called as written (an IP literal here, so
    # that the address check needs no DNS look-up)
    public = ServicePolicy(allowlist=("http://8.8.8.8/sparql",))
    assert public.rewrite("ASK { SERVICE <http://8.8.8.8/sparql> {} }") == \
        "ASK { SERVICE <http://8.8.8.8/sparql> {} }"


def test_federation_can_be_switched_off():
    kg = KnowledgeGraph.open(Config.load({}, environ={"KG_SERVICE_ALLOWLIST": "none"}),
                             load_bundled=False)
    with pytest.raises(ForbiddenFeatureError, match="allowed: none"):
        kg.query(f"SELECT * {{ SERVICE <{WIKIDATA}> {{ ?s ?p ?o }} }}")


def test_wikidata_prefixes_are_predeclared(empty):
    query = ("SELECT * { ?item p:P31 ?statement . ?statement ps:P31 wd:Q6256 ; "
             "pq:P580 ?start . ?item wikibase:sitelinks ?n ; schema:name ?name . "
             "?x bd:serviceParam ?y ; wdt:P297 ?iso }")
    assert list(empty.query(query).solutions) == []


# -- DNS rebinding: the call goes to the address that was checked ---------------------------

ANSWER = json.dumps({"head": {"vars": ["x"]}, "results": {"bindings": [
    {"x": {"type": "literal", "value": "from the checked address"}}]}}).encode()


@pytest.fixture
def sparql_standin():
    """A local SPARQL endpoint that answers one solution and keeps the requests it got."""
    server = LocalHTTP(lambda request: (200, "application/sparql-results+json", ANSWER))
    yield server
    server.close()


def _service_url(rewritten: str) -> str:
    return re.search(r"SERVICE <([^>]+)>", rewritten)[1]


def test_an_allowlisted_name_is_resolved_once_and_pinned_to_what_was_checked(listener):
    # a hostile DNS server: a public address to the first question, then the loopback
    # address where the listener waits
    port, connections = listener
    target = f"http://rebind.invalid:{port}/sparql"
    asked = []

    def hostile(host: str) -> tuple[str, ...]:
        asked.append(host)
        return ("93.184.215.14",) if len(asked) == 1 else ("127.0.0.1",)

    policy = ServicePolicy(allowlist=(target,), resolve=hostile)
    rewritten = policy.rewrite(f"SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}")
    assert asked == ["rebind.invalid"]
    assert relay().route(_service_url(rewritten)) == Route(target, ("93.184.215.14",))
    assert connections == []
    # the same target checked again is refused as soon as its name resolves to loopback
    with pytest.raises(ForbiddenFeatureError, match="resolves to 127.0.0.1"):
        policy.rewrite(f"ASK {{ SERVICE <{target}> {{ }} }}")


def test_the_relay_calls_the_pinned_address_with_the_original_host(make_app, sparql_standin):
    # no resolver knows rebind.invalid: the call can only reach the stand-in if the relay
    # connects to the address of the route, never looking the name up again
    target = f"http://sparql.rebind.invalid:{sparql_standin.port}/sparql?key=1"
    url = relay().url(target, ("127.0.0.1",))
    app = make_app(workers=1, service_map={WIKIDATA: url})  # a worker process
    response = app.test_client().get("/sparql", query_string={
        "query": f"SELECT ?x {{ SERVICE <{WIKIDATA}> {{ ?x ?p ?o }} }}"},
        headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.data
    rows = json.loads(response.data)["results"]["bindings"]
    assert [row["x"]["value"] for row in rows] == ["from the checked address"]
    (request,) = sparql_standin.requests
    assert request["headers"]["Host"] == f"sparql.rebind.invalid:{sparql_standin.port}"
    assert request["path"] == "/sparql?key=1" and request["method"] == "POST"
    assert b"?x ?p ?o" in request["body"]


def test_a_name_that_does_not_resolve_fails_the_call_and_is_never_looked_up_again():
    target = "http://nowhere.invalid/sparql"
    policy = ServicePolicy(allowlist=(target,), resolve=lambda host: ())
    store = Store()
    failing = policy.rewrite(f"SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}")
    with pytest.raises(OSError) as failure:
        list(store.query(failing))
    assert "nowhere.invalid does not resolve" in policy.redact(str(failure.value))
    assert target in policy.redact(str(failure.value))
    assert relay().base not in policy.redact(str(failure.value))
    silent = policy.rewrite(f"SELECT * {{ SERVICE SILENT <{target}> {{ ?s ?p ?o }} }}")
    assert [row["s"] for row in store.query(silent)] == [None]  # one empty solution


TLS = Path(__file__).parent / "fixtures" / "tls"  # a certificate for sparql.rebind.invalid


@pytest.mark.parametrize("name, verified", [("sparql.rebind.invalid", True),
                                            ("other.rebind.invalid", False)])
def test_over_https_the_relay_sends_the_name_and_verifies_it(monkeypatch, name, verified):
    # the relay connects to the pinned address but asks for the name by SNI and checks
    # the certificate against the name (trusted here through SSL_CERT_FILE)
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "cert.pem"))
    server = LocalHTTP(lambda request: (200, "application/sparql-results+json", ANSWER),
                       tls=(TLS / "cert.pem", TLS / "key.pem"))
    try:
        target = f"https://{name}:{server.port}/sparql"
        url = relay().url(target, ("127.0.0.1",))
        query = f"SELECT ?x {{ SERVICE <{url}> {{ ?x ?p ?o }} }}"
        if verified:
            assert [str(row["x"]) for row in Store().query(query)] == [
                '"from the checked address"']
            assert server.requests[0]["headers"]["Host"] == f"{name}:{server.port}"
        else:
            with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
                list(Store().query(query))
            assert server.requests == []
        assert server.server_names == [name]
    finally:
        server.close()


# -- a SERVICE call that fails: one line naming the SERVICE IRI, at the edge ---------------

@pytest.fixture
def failing_standin():
    """A local SPARQL endpoint that fails every call (500)."""
    server = LocalHTTP(lambda request: (500, "text/plain", b"the remote is down"))
    yield server
    server.close()


def test_kg_query_reports_a_failing_service_in_one_line(run_kg, failing_standin):
    mapped = f"{failing_standin.url}secret-mirror"
    env = {"KG_SERVICE_MAP": f"{WIKIDATA}={mapped}"}
    query = f"SELECT ?x {{ SERVICE <{WIKIDATA}> {{ ?x ?p ?o }} }}"
    done = run_kg("--quiet", "query", "--format", "json", query, env=env)
    error = done.stderr.decode()
    assert done.returncode == 3, error
    assert error.splitlines() == [
        f"kg: error: SERVICE <{WIKIDATA}> failed: Error 500 Internal Server Error returned by "
        f"{WIKIDATA} with payload: the remote is down"]
    assert done.stdout == b""  # no half-written answer
    assert "secret-mirror" not in error and len(failing_standin.requests) == 1
    debug = run_kg("--quiet", "--debug", "query", f"ASK {{ SERVICE <{WIKIDATA}> {{ }} }}",
                   env=env)
    assert debug.returncode == 3 and b"Traceback" in debug.stderr


def test_the_endpoint_answers_502_naming_the_service_before_any_byte(tmp_path,
                                                                      failing_standin):
    # a real server process with a query worker: the answer is computed in full before its
    # first byte, so a SERVICE that fails gives a 502 and one line, not a cut answer
    mapped = f"{failing_standin.url}secret-mirror"
    server = KGServer(tmp_path, env={"KG_SERVICE_MAP": f"{WIKIDATA}={mapped}",
                                     "KG_WORKERS": "1"}).wait()
    try:
        query = urllib.parse.urlencode({"query": f"SELECT ?x {{ SERVICE <{WIKIDATA}> "
                                                 "{ ?x ?p ?o } }"})
        status, body = http_get(f"{server.url}sparql?{query}",
                                Accept="application/sparql-results+json")
    finally:
        server.stop()
    assert status == 502, body
    assert json.loads(body)["message"] == (
        f"SERVICE <{WIKIDATA}> failed: Error 500 Internal Server Error returned by "
        f"{WIKIDATA} with payload: the remote is down")
    assert b"secret-mirror" not in body and "Traceback" not in server.output()
