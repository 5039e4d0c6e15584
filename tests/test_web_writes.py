"""Writes over HTTP against a real `kg serve` process (two named tokens, an on-disk store):
tokens, 422 reports, the change log, restarts, the Graph Store Protocol, /validate, LOAD,
the review queue — and no token in the server's log."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from helpers import LocalHTTP, free_port, kg_environment, wait_until_up
from kg.namespaces import GRAPHS

pytestmark = pytest.mark.slow  # `kg serve` processes

ALICE, BOB = "alice-7f3c9e1d2b", "bob-0a9b8c7d6e"
LINK = """INSERT DATA { fipid:h-link a fip:CooperationLink ;
    rdfs:label "DCSD training in Thailand (HTTP test)"@en ;
    fip:provider fipid:dcsd ; fip:beneficiary fipid:thailand ;
    fip:cooperationType fipid:cooptype-training ;
    fip:thematicDomain fipid:domain-forest-fire-management ;
    prov:wasDerivedFrom fipid:fs5-s030 . }"""
BROKEN = 'INSERT DATA { fipid:h-broken a fip:CooperationLink ; rdfs:label "no provider"@en }'
DUMP = "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g ?s ?p ?o"


LOADED = (b'<https://w3id.org/fr-indopacific/id/dcsd> '
          b'<http://www.w3.org/2004/02/skos/core#altLabel> "DCSD (loaded)" .\n')


class _Server:
    def __init__(self, data_dir, listener: LocalHTTP) -> None:
        self.data_dir, self.listener = data_dir, listener
        self.output = b""
        self.start()

    def start(self) -> None:
        self.port = free_port()
        env = kg_environment({"KG_UPDATE_TOKEN": f"alice:{ALICE},bob:{BOB}",
                              "KG_LOAD_ALLOWLIST": f"127.0.0.1:{self.listener.port}"})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kg", "--data-dir", str(self.data_dir), "serve", "--port",
             str(self.port), "--workers", "1"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/"
        wait_until_up(self.url + "sparql?query=ASK%7B%7D", self.process, what="kg serve")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.output += self.process.communicate(timeout=30)[0]

    def request(self, method: str, path: str, *, body: bytes | str | None = None,
                content_type: str | None = None, token: str | None = ALICE,
                accept: str | None = None) -> tuple[int, dict, bytes]:
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if accept:
            headers["Accept"] = accept
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read()

    def update(self, text: str, *, query: str = "", **options):
        form = urllib.parse.urlencode({"update": text})
        return self.request("POST", "sparql" + query, body=form,
                            content_type="application/x-www-form-urlencoded", **options)

    def ask(self, text: str) -> bool:
        status, _, body = self.request("GET", "sparql?" + urllib.parse.urlencode({"query": text}),
                                       token=None, accept="application/sparql-results+json")
        assert status == 200, body
        return json.loads(body)["boolean"]

    def dump(self) -> bytes:
        status, _, body = self.request("GET", "sparql?" + urllib.parse.urlencode({"query": DUMP}),
                                       token=None, accept="text/csv")
        assert status == 200
        return body


@pytest.fixture(scope="module")
def listener():
    """A local site that serves one N-Triples document and keeps every request."""
    server = LocalHTTP(lambda request: (200, "application/n-triples", LOADED))
    yield server
    server.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, listener):
    running = _Server(tmp_path_factory.mktemp("web-writes") / "store", listener)
    yield running
    running.stop()


# -- who may write --------------------------------------------------------------------------

@pytest.mark.parametrize("token, query", [(None, ""), ("not-the-token", ""),
                                          (ALICE, f"?access_token={ALICE}"),
                                          (ALICE, f"?x={BOB}")],
                         ids=["no token", "wrong token", "token named in the URL",
                              "token value in the URL"])
def test_writes_without_valid_credentials_are_refused_and_change_nothing(server, token, query):
    before = server.dump()
    status, headers, body = server.update(LINK, query=query, token=token)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert server.dump() == before


# -- refused and accepted changes -----------------------------------------------------------

def test_an_invalid_update_is_422_with_the_report_and_changes_nothing(server):
    before = server.dump()
    status, headers, body = server.update(BROKEN)
    assert status == 422 and headers["Content-Type"].startswith("application/json")
    report = json.loads(body)
    assert report["conforms"] is False and "not applied" in report["message"]
    assert {r["focusNode"] for r in report["results"] if r["severity"] == "Violation"} == {
        "https://w3id.org/fr-indopacific/id/h-broken"}
    status, headers, body = server.update(BROKEN, accept="text/turtle")
    assert status == 422 and b"sh:ValidationReport" in body and b"sh:conforms false" in body
    assert server.dump() == before


def test_a_valid_update_is_visible_logged_and_survives_a_restart(server):
    status, _, body = server.update(LINK, token=BOB)
    assert status == 200, body
    summary = json.loads(body)
    assert summary["status"] == "committed" and summary["added"] == 7
    assert server.ask("ASK { fipid:h-link fip:provider fipid:dcsd }")
    assert server.ask(f"ASK {{ GRAPH fipg:changes {{ <{summary['change']}> a prov:Activity ; "
                      "prov:wasAssociatedWith/rdfs:label \"bob\" ; fip:triplesAdded 7 } }")
    server.stop()
    server.start()
    assert server.ask("ASK { fipid:h-link fip:provider fipid:dcsd }")
    assert server.ask(f"ASK {{ GRAPH fipg:changes {{ <{summary['change']}> a fip:Change }} }}")


def test_insert_data_into_the_default_graph_lands_in_the_user_graph(server):
    status, _, body = server.request("POST", "sparql", body='INSERT DATA { fipid:dcsd '
                                     'rdfs:comment "written without GRAPH"@en }',
                                     content_type="application/sparql-update")
    assert status == 200, body
    assert server.ask(f'ASK {{ GRAPH <{GRAPHS["user"]}> {{ fipid:dcsd rdfs:comment '
                      f'"written without GRAPH"@en }} }}')


def test_curated_graphs_are_protected(server):
    status, _, body = server.update('INSERT DATA { GRAPH fipg:factsheet { fipid:dcsd '
                                    'skos:altLabel "DCSD (web)" } }')
    assert status == 403 and b"curated" in body


# -- the Graph Store Protocol ---------------------------------------------------------------

def test_graph_store_put_get_post_delete(server):
    graph = "data?graph=" + urllib.parse.quote("http://example.org/mine", safe="")
    turtle = "text/turtle"
    doc = '<https://w3id.org/fr-indopacific/id/dcsd> <http://www.w3.org/2004/02/skos/core#altLabel> "D1" .'
    assert server.request("PUT", graph, body=doc, content_type=turtle)[0] == 201
    status, headers, body = server.request("GET", graph, accept=turtle, token=None)
    assert status == 200 and b'"D1"' in body
    more = doc.replace('"D1"', '"D2"')
    assert server.request("POST", graph, body=more, content_type=turtle)[0] == 200
    assert server.ask('ASK { GRAPH <http://example.org/mine> { fipid:dcsd skos:altLabel "D1", "D2" } }')
    assert server.request("PUT", graph, body=more, content_type=turtle)[0] == 200
    assert not server.ask('ASK { GRAPH <http://example.org/mine> { fipid:dcsd skos:altLabel "D1" } }')
    assert server.request("DELETE", graph)[0] == 200
    assert server.request("GET", graph, token=None)[0] == 404
    status, _, _ = server.request("PUT", "data?graph=" + urllib.parse.quote(GRAPHS["ontology"]),
                                  body=doc, content_type=turtle)
    assert status == 403
    assert server.request("PUT", graph, body=doc, content_type=turtle, token=None)[0] == 401


# -- validating without writing -------------------------------------------------------------

def test_validate_answers_the_report_and_stores_nothing(server):
    before = server.dump()
    body = BROKEN.removeprefix("INSERT DATA {").removesuffix("}").replace(
        "fipid:", "<https://w3id.org/fr-indopacific/id/").replace(" a fip:CooperationLink",
        "> a <https://w3id.org/fr-indopacific/ontology#CooperationLink>").replace(
        "rdfs:label", "<http://www.w3.org/2000/01/rdf-schema#label>") + " ."
    status, headers, answer = server.request("POST", "validate", body=body,
                                             content_type="text/turtle", token=None)
    assert status == 200 and json.loads(answer)["conforms"] is False
    status, headers, answer = server.request("POST", "validate", body=body,
                                             content_type="text/turtle", token=None,
                                             accept="text/plain")
    assert b"do not conform" in answer and b"fipsh:CooperationLinkShape" in answer
    assert server.dump() == before


def test_json_ld_remote_contexts_are_never_fetched(server, listener):
    hits = len(listener.requests)
    document = json.dumps({"@context": listener.url + "context.jsonld",
                           "@id": "https://w3id.org/fr-indopacific/id/x", "name": "x"})
    for path, token in (("validate", None), ("data?default", ALICE)):
        status, _, body = server.request("POST" if path == "validate" else "PUT", path,
                                         body=document, content_type="application/ld+json",
                                         token=token)
        assert status == 400 and b"@context" in body
    assert len(listener.requests) == hits


# -- LOAD -----------------------------------------------------------------------------------

def test_load_is_refused_for_files_and_other_hosts(server, listener):
    hits = len(listener.requests)
    other = f"http://localhost:{listener.port}/data.nt"  # same listener, other name
    for update in ("LOAD <file:///etc/passwd>", f"LOAD <{other}>", f"LOAD SILENT <{other}>"):
        status, _, body = server.update(update)
        assert status == 403 and b"refused" in body and b"root:" not in body
    assert len(listener.requests) == hits


def test_load_from_an_allowed_host_is_validated_and_written(server, listener):
    status, _, body = server.update(f"LOAD <{listener.url}data.nt>")
    assert status == 200, body
    assert listener.requests[-1]["path"] == "/data.nt"
    assert server.ask('ASK { GRAPH fipg:user { fipid:dcsd skos:altLabel "DCSD (loaded)" } }')


# -- the review queue -----------------------------------------------------------------------

def test_quarantine_review_and_discard(server):
    before = server.dump()
    status, headers, body = server.update(BROKEN, query="?on-invalid=quarantine")
    assert status == 202 and json.loads(body)["status"] == "quarantined"
    pending = headers["Location"].rsplit("/", 1)[-1]
    status, _, body = server.request("GET", "review")
    assert [item["id"] for item in json.loads(body)["pending"]] == [pending]
    assert server.request("GET", "review", token=None)[0] == 401
    status, _, body = server.request("GET", f"review/{pending}")
    assert status == 200 and json.loads(body)["conforms"] is False
    assert server.request("POST", f"review/{pending}/accept")[0] == 422
    assert server.request("POST", f"review/{pending}/discard")[0] == 200
    assert json.loads(server.request("GET", "review")[2])["pending"] == []
    assert server.dump() == before


def test_tokens_never_reach_the_log(server):
    """The last test of the module: the tokens were sent in headers and in URLs above."""
    server.stop()
    assert b"access_token=***" in server.output
    assert ALICE.encode() not in server.output and BOB.encode() not in server.output
