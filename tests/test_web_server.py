"""A real `kg serve` process on a loopback port, driven by real clients.

SPARQLWrapper and rdflib's SPARQLStore speak the protocol; raw sockets send what clients
would not (chunked bodies); a listener socket proves SERVICE and LOAD reach nobody.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper

from helpers import RUNAWAY, free_port, kg_environment, run_together, wait_until_up

pytestmark = pytest.mark.slow  # `kg serve` processes

TIMEOUT = 3  # seconds: the server's query timeout, low so that the runaway test is short


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The URL of a `kg serve` subprocess (2 query workers, 3 s timeout, 64 KiB bodies)."""
    port = free_port()
    env = kg_environment({"KG_TIMEOUT": str(TIMEOUT)})
    process = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", "--port", str(port), "--workers", "2",
         "--max-body-size", "65536"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, cwd=tmp_path_factory.mktemp("serve"))
    url = f"http://127.0.0.1:{port}/"
    wait_until_up(url + "sparql?query=ASK%7B%7D", process, what="kg serve")
    yield url
    process.terminate()
    output = process.communicate(timeout=30)[0].decode()
    assert f"serving {url}sparql" in output  # it logs the URLs it serves


def _get(url: str, **headers) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def _query_url(server: str, query: str) -> str:
    return server + "sparql?" + urllib.parse.urlencode({"query": query})


def test_readme_ask_example(server):
    status, body = _get(server + "sparql?query=ASK{?s%20?p%20?o}",
                        Accept="application/sparql-results+json")
    assert status == 200 and json.loads(body) == {"head": {}, "boolean": True}


@pytest.mark.parametrize("return_format", [JSON, XML, CSV])
def test_sparqlwrapper_select(server, return_format):
    client = SPARQLWrapper(server + "sparql")
    client.setQuery("SELECT ?label WHERE { fipid:dcsd rdfs:label ?label }")
    client.setReturnFormat(return_format)
    result = client.query().convert()
    if return_format == JSON:
        assert result["results"]["bindings"]
    elif return_format == XML:
        assert result.getElementsByTagName("result")
    else:
        assert result.decode().startswith("label\r\n")


def test_sparqlwrapper_construct_to_turtle(server):
    client = SPARQLWrapper(server + "sparql")
    client.setQuery("CONSTRUCT WHERE { fipid:dcsd ?p ?o }")
    client.setReturnFormat(TURTLE)
    graph = rdflib.Graph().parse(data=client.query().convert(), format="turtle")
    assert (rdflib.URIRef("https://w3id.org/fr-indopacific/id/dcsd"), None, None) in graph


def test_sparqlwrapper_post(server):
    client = SPARQLWrapper(server + "sparql")
    client.setMethod("POST")
    client.setQuery("ASK { ?s ?p ?o }")
    client.setReturnFormat(JSON)
    assert client.query().convert()["boolean"] is True


def test_rdflib_sparqlstore(server):
    graph = rdflib.Graph(store=SPARQLStore(server + "sparql", returnFormat="json"))
    rows = list(graph.query("SELECT ?o WHERE { <https://w3id.org/fr-indopacific/id/dcsd> "
                            "<http://www.w3.org/2000/01/rdf-schema#label> ?o }"))
    assert rows and all(isinstance(row[0], rdflib.Literal) for row in rows)


def _chunked_post(server: str, body: bytes) -> tuple[int, bytes]:
    parsed = urllib.parse.urlsplit(server)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    connection.putrequest("POST", "/sparql")
    connection.putheader("Content-Type", "application/sparql-query")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    for start in range(0, len(body), 8192):
        piece = body[start:start + 8192]
        connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    connection.send(b"0\r\n\r\n")
    response = connection.getresponse()
    result = response.status, response.read()
    connection.close()
    return result


def test_chunked_body_over_the_limit_is_413_not_truncated(server):
    # the truncated prefix `ASK {}` would be a valid query: it must not be answered 200
    status, body = _chunked_post(server, b"ASK {}" + b" " * 70_000 + b"FILTER(false)")
    assert status == 413 and b"65536" in body
    assert _chunked_post(server, b"ASK { ?s ?p ?o }")[0] == 200


def test_deep_nesting_is_400_and_the_server_stays_up(server):
    for opener in ("{", "(", "{ OPTIONAL {"):
        closer = {"{": "}", "(": ")", "{ OPTIONAL {": "}}"}[opener]
        query = "SELECT * { FILTER(" + opener * 2000 + closer * 2000 + ") }" \
            if opener == "(" else "SELECT * " + opener * 2000 + closer * 2000
        data = urllib.parse.urlencode({"query": query}).encode()
        request = urllib.request.Request(server + "sparql", data=data)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=60)
        with caught.value as error:
            assert error.code == 400 and b"levels deep" in error.read()
    assert _get(_query_url(server, "ASK {}"))[0] == 200


def test_unknown_function_is_400(server):
    status, body = _get(_query_url(server, "SELECT (<http://example.org/f>(1) AS ?x) {}"))
    assert status == 400 and b"not supported" in body


def test_timeout_is_503_and_a_concurrent_ask_is_answered(server):
    outcome = {}

    def runaway():
        started = time.monotonic()
        outcome["status"], outcome["body"] = _get(_query_url(server, RUNAWAY))
        outcome["after"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.5)
    status, body = _get(_query_url(server, "ASK { ?s ?p ?o }"))
    assert status == 200 and body.endswith(b"true}")
    assert "status" not in outcome  # answered while the runaway one runs
    thread.join(120)
    assert outcome["status"] == 503 and b"stopped after 3 s" in outcome["body"]
    assert outcome["after"] < 60
    # the pool recovers: a burst of queries is answered
    assert all(_get(_query_url(server, "ASK {}"))[0] == 200 for _ in range(5))


def test_every_worker_timed_out_at_once_is_503_and_the_pool_recovers(server):
    """Both workers run away: each query gets its 503 at the deadline (whichever worker, forked
    or not, runs it), and the workers that replace them answer at once."""
    outcomes = []

    def runaway():
        outcomes.append(_get(_query_url(server, RUNAWAY + " # together"))[0])

    run_together(runaway, 2, timeout=120)
    assert outcomes == [503, 503]
    assert all(_get(_query_url(server, "ASK { ?s ?p ?o }"))[0] == 200 for _ in range(5))


def test_service_and_load_are_refused_and_reach_nobody(server, listener):
    port, connections = listener
    target = f"http://127.0.0.1:{port}/"
    status, body = _get(_query_url(server, f"SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}"))
    assert status == 400 and b"SERVICE" in body
    status, body = _get(_query_url(server, f"SELECT * {{ SERVICE SILENT <{target}> {{}} }}"))
    assert status == 400
    for update in (f"LOAD <{target}>", "LOAD <file:///etc/passwd>"):
        data = urllib.parse.urlencode({"update": update}).encode()
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(urllib.request.Request(server + "sparql", data=data),
                                   timeout=60)
        caught.value.close()
        assert caught.value.code == 403
        status, body = _get(_query_url(server, update))  # sent as a query
        assert status == 400 and b"LOAD" in body and b"root:" not in body
    time.sleep(0.5)
    assert connections == []
